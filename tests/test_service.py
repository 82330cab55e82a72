"""`autocull service`: the files that start the daemon at login, checked against each format, and `start` starting
a real daemon that outlives the command (what the plugins call when nobody answers).

This container has no systemd user manager (PID 1 is not systemd, `systemctl --user` cannot reach a bus): the
unit is validated by `systemd-analyze verify --user` (which fails on a missing executable or a bad line), and the
part that enables it in a real user manager runs only where `systemctl --user` answers; it says so when skipped.
launchd and Task Scheduler are not here either: their files are checked against Apple's launchd.plist(5) keys and
the Task Scheduler 1.2 schema's required elements.
"""

from __future__ import annotations

import dataclasses
import json
import os
import plistlib
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from autocull import autostart
from autocull.autostart import Launch

ROOT = Path(__file__).resolve().parents[1]
SPACED = Launch(python=r"C:\Program Files\Python 3.11\pythonw.exe", home=r"C:\Users\Ann Lee\AppData\Roaming\AutoCull")
POSIX = Launch(python=sys.executable, home="/tmp/photo home/50% $HOME")


# ------------------------------------------------------------------ systemd
def _verify(unit: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return subprocess.run(
        ["systemd-analyze", "verify", "--user", str(unit)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, XDG_RUNTIME_DIR=str(runtime)),
    )


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_unit_verifies_and_runs_this_interpreter(tmp_path: Path) -> None:
    unit = tmp_path / "autocull.service"
    unit.write_text(autostart.systemd_unit(POSIX))
    done = _verify(unit, tmp_path)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    text = unit.read_text()
    # the home with a space, '%' and '$' reaches the daemon literally: quoted, specifier and variable doubled
    assert f'ExecStart="{sys.executable}" "-m" "autocull" "--home" "/tmp/photo home/50%% $$HOME" "serve"' in text
    assert "WantedBy=default.target" in text and "Restart=on-failure" in text
    # the check can fail: an interpreter that is not there is refused
    unit.write_text(autostart.systemd_unit(Launch(python="/nonexistent/python3", home="/tmp/h")))
    bad = _verify(unit, tmp_path)
    assert bad.returncode != 0 and "not executable" in bad.stderr


def _user_manager() -> bool:
    if shutil.which("systemctl") is None:
        return False
    done = subprocess.run(["systemctl", "--user", "is-system-running"], capture_output=True, text=True, timeout=30)
    return done.stdout.strip() in ("running", "degraded")


@pytest.mark.e2e
@pytest.mark.skipif(not _user_manager(), reason="no systemd user manager here (`systemctl --user` has no bus)")
def test_installed_unit_starts_the_daemon_and_uninstall_removes_it(tmp_path: Path) -> None:
    """In the developer's real user manager, under a unit name of its own: their autocull.service (if any) is
    neither overwritten nor uninstalled."""
    from autocull.cli import answering

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("grpc_port = 0\nhttp_port = 0\n")
    own = autostart.manager_for()
    own_before = own.path.read_bytes() if own.path.exists() else None
    manager = autostart.manager_for(name=f"autocull-test-{os.getpid()}.service")
    launch = Launch(python=sys.executable, home=str(home))  # PYTHONPATH is not the unit's: needs the install
    try:
        for _ in range(2):  # installing again is the same install
            assert manager.install(launch) is True
        assert manager.installed()
        deadline = time.monotonic() + 90
        while not answering(home, "http_port") and time.monotonic() < deadline:
            time.sleep(0.2)
        assert answering(home, "http_port"), (home / "logs" / "autocull.log").read_text()
    finally:
        manager.uninstall()
    assert not manager.path.exists() and not manager.installed()
    assert (own.path.read_bytes() if own.path.exists() else None) == own_before


# ------------------------------------------------------------------ launchd
def test_launchd_plist_has_the_keys_launchd_needs() -> None:
    agent = plistlib.loads(autostart.launchd_plist(POSIX))
    assert agent["Label"] == "org.autocull.daemon"
    assert agent["ProgramArguments"] == [sys.executable, "-m", "autocull", "--home", POSIX.home, "serve"]
    assert agent["RunAtLoad"] is True
    assert agent["KeepAlive"] == {"SuccessfulExit": False}  # relaunched after a crash, not after a clean stop
    assert agent["StandardErrorPath"] == os.path.join(POSIX.home, "logs", "launchd.log")
    documented = {  # launchd.plist(5)
        "Label": str,
        "ProgramArguments": list,
        "RunAtLoad": bool,
        "KeepAlive": (bool, dict),
        "LimitLoadToSessionType": (str, list),
        "ProcessType": str,
        "StandardOutPath": str,
        "StandardErrorPath": str,
    }
    for key, value in agent.items():
        assert key in documented and isinstance(value, documented[key]), key
    assert agent["ProcessType"] in ("Background", "Standard", "Adaptive", "Interactive")
    assert set(agent["KeepAlive"]) <= {"SuccessfulExit", "NetworkState", "PathState", "OtherJobEnabled", "Crashed"}


# ------------------------------------------------------------------ Task Scheduler
def test_task_xml_follows_the_task_scheduler_schema() -> None:
    ns = {"t": autostart.TASK_NS}
    text = autostart.task_xml(SPACED, r"OFFICE\Ann Lee & Co")
    task = ET.fromstring(text.encode("utf-16"))  # as schtasks reads it: UTF-16 with its declaration
    assert task.tag == f"{{{autostart.TASK_NS}}}Task" and task.get("version") == "1.2"
    for required in ("t:Triggers", "t:Settings", "t:Actions", "t:Principals"):
        assert task.find(required, ns) is not None, required
    trigger = task.find("t:Triggers/t:LogonTrigger", ns)
    assert trigger is not None and trigger.findtext("t:UserId", namespaces=ns) == r"OFFICE\Ann Lee & Co"
    principal = task.find("t:Principals/t:Principal", ns)
    assert principal is not None and principal.findtext("t:LogonType", namespaces=ns) == "InteractiveToken"
    assert principal.get("id") == task.find("t:Actions", ns).get("Context")  # type: ignore[union-attr]
    # no time limit: the default (72 h) would stop the daemon after three days
    assert task.findtext("t:Settings/t:ExecutionTimeLimit", namespaces=ns) == "PT0S"
    exe = task.find("t:Actions/t:Exec", ns)
    assert exe is not None
    assert exe.findtext("t:Command", namespaces=ns) == SPACED.python  # Command takes the path as it is
    arguments = exe.findtext("t:Arguments", namespaces=ns)
    assert arguments == r'-m autocull --home "C:\Users\Ann Lee\AppData\Roaming\AutoCull" serve'


def test_windows_task_runs_the_windowless_interpreter(tmp_path: Path) -> None:
    (tmp_path / "python.exe").write_bytes(b"")
    (tmp_path / "pythonw.exe").write_bytes(b"")
    assert autostart.windowless(str(tmp_path / "python.exe")) == str(tmp_path / "pythonw.exe")
    assert autostart.windowless("/usr/bin/python3") == "/usr/bin/python3"


def test_each_platform_has_its_manager_and_file(tmp_path: Path) -> None:
    mac = autostart.manager_for("darwin", user_home=tmp_path)
    assert mac.kind == "launchd" and mac.path == tmp_path / "Library/LaunchAgents/org.autocull.daemon.plist"
    win = autostart.manager_for("win32", home=tmp_path / "AutoCull", user_home=tmp_path)
    assert win.kind == "schtasks" and win.path.parent == tmp_path / "AutoCull"
    linux = autostart.manager_for("linux", user_home=tmp_path)
    assert linux.kind == "systemd" and linux.path.name == "autocull.service"


# ------------------------------------------------------------------ start on demand
@pytest.mark.e2e
def test_start_spawns_a_daemon_that_outlives_the_command(tmp_path: Path) -> None:
    """No service installed: `service start` runs `autocull serve` detached, waits for it, and says where it is."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("grpc_port = 0\nhttp_port = 0\n")
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "xdg"), PYTHONPATH=str(ROOT / "server"))
    cli = [sys.executable, "-m", "autocull", "--home", str(home), "service"]
    before = subprocess.run(cli + ["status"], capture_output=True, text=True, env=env, timeout=60)
    assert before.returncode == 3 and "installed: no" in before.stdout and "running: no" in before.stdout
    pid = 0
    try:
        started = subprocess.run(cli + ["start", "--wait", "120"], capture_output=True, text=True, env=env, timeout=180)
        assert started.returncode == 0, started.stdout + started.stderr
        state = json.loads((home / "state.json").read_text())
        pid = state["pid"]
        assert f"running: pid {pid}" in started.stdout
        again = subprocess.run(cli + ["start"], capture_output=True, text=True, env=env, timeout=60)
        assert again.returncode == 0 and f"running: pid {pid}" in again.stdout  # no second daemon
        status = subprocess.run(cli + ["status"], capture_output=True, text=True, env=env, timeout=60)
        assert status.returncode == 0 and f"HTTP {state['http_port']}" in status.stdout
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and json.loads((home / "state.json").read_text()).get("pid"):
                time.sleep(0.2)
    assert json.loads((home / "state.json").read_text())["pid"] == 0  # it stopped cleanly on SIGTERM


# ------------------------------------------------------------------ the Microsoft Store's Python
STORE = r"C:\Program Files\WindowsApps\PythonSoftwareFoundation.Python.3.11_3.11.2544.0_x64__qbz5n2kfra8p0"


@pytest.mark.parametrize(
    "paths",
    [
        (r"C:\Users\Ann\AppData\Local\Microsoft\WindowsApps\python3.11.exe",),  # the app-execution alias
        (STORE + r"\python3.11.exe",),
        # a venv made from it: the venv's python.exe is not in the package, the interpreter it runs is
        (r"C:\Users\Ann\autocull-venv\Scripts\python.exe", STORE + r"\python3.11.exe", STORE),
        (
            "c:/users/ann/appdata/local/microsoft/windowsapps/pythonsoftwarefoundation.python.3.12_qbz5n2kfra8p0/"
            "python.exe",
        ),
    ],
)
def test_the_store_python_is_recognised_and_warned_about_on_windows(paths: tuple[str, ...]) -> None:
    assert autostart.store_python(*paths)
    warning = autostart.store_python_warning(paths, platform="win32")
    assert "Microsoft Store" in warning and "python.org" in warning and "state.json" in warning
    assert autostart.store_python_warning(paths, platform="linux") == ""  # the folder redirect is Windows' only


@pytest.mark.parametrize(
    "paths",
    [
        (r"C:\Users\Ann\AppData\Local\Programs\Python\Python311\python.exe",),  # python.org's per-user install
        (r"C:\Users\Ann\autocull-venv\Scripts\python.exe", r"C:\Program Files\Python312\python.exe"),
        (r"D:\Apps\WindowsAppsBackup\python.exe",),  # a name that only contains the word
    ],
)
def test_other_windows_pythons_get_no_warning(paths: tuple[str, ...]) -> None:
    assert not autostart.store_python(*paths)
    assert autostart.store_python_warning(paths, platform="win32") == ""


# ------------------------------------------------------------------ the managers' commands (a fake OS boundary)
class FakeRun:
    """Stands in for the manager commands (launchctl, systemctl, schtasks), the one boundary these tests cannot
    cross on Linux: records each command and answers from ``script`` (first matching prefix, consumed once when
    it is a list) or exit 0."""

    def __init__(self, script: dict[tuple[str, ...], object] | None = None) -> None:
        self.script = dict(script or {})
        self.calls: list[list[str]] = []

    def __call__(self, cmd: "list[str] | tuple[str, ...]") -> subprocess.CompletedProcess[str]:
        cmd = [str(c) for c in cmd]
        self.calls.append(cmd)
        for prefix, answer in self.script.items():
            if tuple(cmd[: len(prefix)]) == prefix:
                if isinstance(answer, list):
                    answer = answer.pop(0) if len(answer) > 1 else answer[0]
                code, err = answer  # type: ignore[misc]
                return subprocess.CompletedProcess(cmd, code, "", err)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    def ran(self, *prefix: str) -> int:
        return sum(1 for c in self.calls if tuple(c[: len(prefix)]) == prefix)


def test_launchd_install_makes_the_home_and_logs_and_retries_a_bootstrap_that_races_bootout(tmp_path: Path) -> None:
    """launchd opens StandardOutPath (<home>/logs/launchd.log) itself and makes no folder: without the home the
    first start fails. And `bootstrap` right after `bootout` can fail once with "5: Input/output error"."""
    home = tmp_path / "new home" / "AutoCull"
    run = FakeRun({("launchctl", "bootstrap"): [(5, "Bootstrap failed: 5: Input/output error"), (0, "")]})
    pauses: list[float] = []
    manager = autostart.manager_for("darwin", user_home=tmp_path, run=run)
    manager = dataclasses.replace(manager, pause=pauses.append)
    assert manager.install(Launch(python=sys.executable, home=str(home))) is True
    assert (home / "logs").is_dir()
    assert plistlib.loads(manager.path.read_bytes())["StandardOutPath"] == str(home / "logs" / "launchd.log")
    assert run.ran("launchctl", "bootstrap") == 2 and len(pauses) == 1
    # a bootstrap that keeps failing is reported with launchctl's words, after a bounded number of tries
    stuck = dataclasses.replace(manager, run=FakeRun({("launchctl", "bootstrap"): (5, "Input/output error")}))
    with pytest.raises(autostart.ServiceError, match="Input/output error"):
        stuck.install(Launch(python=sys.executable, home=str(home)))
    assert stuck.run.ran("launchctl", "bootstrap") == autostart.BOOTSTRAP_TRIES  # type: ignore[attr-defined]


def test_every_manager_makes_the_home_before_registering(tmp_path: Path) -> None:
    for platform in ("linux", "win32"):
        home = tmp_path / platform / "AutoCull"
        manager = autostart.manager_for(platform, home=home, user_home=tmp_path / platform, run=FakeRun())
        manager.install(Launch(python=sys.executable, home=str(home)))
        assert (home / "logs").is_dir(), platform


def test_a_test_named_unit_leaves_autocull_s_own_registration_alone(tmp_path: Path) -> None:
    own = autostart.manager_for("linux", user_home=tmp_path, run=FakeRun())
    test = autostart.manager_for("linux", user_home=tmp_path, run=FakeRun(), name="autocull-test-1.service")
    assert test.path.parent == own.path.parent and test.path.name == "autocull-test-1.service"
    test.install(Launch(python=sys.executable, home=str(tmp_path / "h")))
    assert ["systemctl", "--user", "enable", "--now", "autocull-test-1.service"] in test.run.calls  # type: ignore
    assert not own.path.exists()
    mac = autostart.manager_for("darwin", user_home=tmp_path, name="org.autocull.test")
    assert plistlib.loads(mac.content(POSIX))["Label"] == "org.autocull.test"
    assert mac.path.name == "org.autocull.test.plist"


# ------------------------------------------------------------------ Windows: Startup-folder fallback
DENIED = (1, "ERROR: Access is denied.\n")


def test_startup_entry_starts_the_windowless_daemon_and_returns() -> None:
    home = r"C:\Users\Zoë Lee\AppData\Roaming\AutoCull 100%"
    text = autostart.startup_cmd(Launch(python=r"C:\Program Files\Python 3.11\pythonw.exe", home=home))
    lines = text.split("\r\n")  # a batch file: CRLF
    assert lines[0] == "@echo off" and lines[1] == "chcp 65001 >nul"  # the file is UTF-8: 'ë' arrives intact
    # `start ""`: the empty title, then the command; the batch returns at once and its console closes
    assert lines[2] == (
        r'start "" "C:\Program Files\Python 3.11\pythonw.exe" -m autocull --home '
        r'"C:\Users\Zoë Lee\AppData\Roaming\AutoCull 100%%" serve'  # '%' doubled: cmd expands it in a batch
    )
    assert lines[3:] == [""]


def test_a_refused_task_falls_back_to_a_startup_entry_that_uninstall_and_status_know(tmp_path: Path) -> None:
    run = FakeRun({("schtasks", "/Create"): DENIED, ("schtasks", "/Query"): (1, "ERROR: cannot find the file")})
    manager = autostart.manager_for("win32", home=tmp_path / "AutoCull", user_home=tmp_path, run=run)
    assert manager.startup == tmp_path / "AppData/Roaming/Microsoft/Windows/Start Menu/Programs/Startup/AutoCull.cmd"
    launch = Launch(python=r"C:\Python311\pythonw.exe", home=str(tmp_path / "AutoCull"))
    assert manager.install(launch) is False  # the caller starts the daemon now: the entry runs at the next login
    assert manager.startup.read_bytes().decode("utf-8") == autostart.startup_cmd(launch)
    assert manager.installed() and "Startup-folder entry" in manager.registration()
    assert manager.start() is False and run.ran("schtasks", "/Run") == 0
    assert manager.uninstall() is True and not manager.startup.exists()
    assert not manager.installed() and run.ran("schtasks", "/Delete") == 0


def test_a_task_that_can_be_made_replaces_an_older_startup_entry(tmp_path: Path) -> None:
    run = FakeRun()
    manager = autostart.manager_for("win32", home=tmp_path / "AutoCull", user_home=tmp_path, run=run)
    assert manager.startup is not None
    manager.startup.parent.mkdir(parents=True)
    manager.startup.write_text("old")
    assert manager.install(Launch(python=r"C:\Python311\pythonw.exe", home=str(tmp_path / "AutoCull"))) is True
    assert not manager.startup.exists()  # else the login would start a second daemon beside the task
    assert run.ran("schtasks", "/Run", "/TN", "AutoCull") == 1


def test_a_task_refused_for_another_reason_is_reported_not_replaced(tmp_path: Path) -> None:
    run = FakeRun({("schtasks", "/Create"): (1, "ERROR: The task XML is malformed.")})
    manager = autostart.manager_for("win32", home=tmp_path / "AutoCull", user_home=tmp_path, run=run)
    with pytest.raises(autostart.ServiceError, match="malformed"):
        manager.install(Launch(python=r"C:\Python311\pythonw.exe", home=str(tmp_path / "AutoCull")))
    assert manager.startup is not None and not manager.startup.exists()


# ------------------------------------------------------------------ a manager that will not start it
@pytest.mark.e2e
def test_start_falls_back_to_a_detached_serve_when_the_manager_refuses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed, but the manager refuses to start it (macOS with Login Items off: kickstart "Could not find
    service"; `systemctl --user` without a bus over ssh): `service start` runs the daemon itself and says so."""
    from autocull import cli

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("grpc_port = 0\nhttp_port = 0\n")
    run = FakeRun({("launchctl", "kickstart"): (113, 'Could not find service "org.autocull.daemon" in domain')})
    manager = autostart.manager_for("darwin", user_home=tmp_path, run=run)
    manager.path.parent.mkdir(parents=True)
    manager.path.write_bytes(manager.content(Launch(sys.executable, str(home))))  # installed
    monkeypatch.setattr(autostart, "manager_for", lambda *a, **k: manager)
    monkeypatch.setenv("PYTHONPATH", str(ROOT / "server"))
    pid = 0
    try:
        code = cli.main(["--home", str(home), "service", "start", "--wait", "120"])
        out = capsys.readouterr()
        assert "Could not find service" in out.err and "starting `autocull serve` detached instead" in out.err
        assert code == 0, out.out + out.err
        pid = json.loads((home / "state.json").read_text())["pid"]
        assert f"running: pid {pid}" in out.out and run.ran("launchctl", "kickstart") == 1
    finally:
        if pid:
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and json.loads((home / "state.json").read_text()).get("pid"):
                time.sleep(0.2)
