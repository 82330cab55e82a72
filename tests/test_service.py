"""`autocull service`: the files that start the daemon at login, checked against each format, and `start` starting
a real daemon that outlives the command (what the plugins call when nobody answers).

This container has no systemd user manager (PID 1 is not systemd, `systemctl --user` cannot reach a bus): the
unit is validated by `systemd-analyze verify --user` (which fails on a missing executable or a bad line), and the
part that enables it in a real user manager runs only where `systemctl --user` answers; it says so when skipped.
launchd and Task Scheduler are not here either: their files are checked against Apple's launchd.plist(5) keys and
the Task Scheduler 1.2 schema's required elements.
"""

from __future__ import annotations

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
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("grpc_port = 0\nhttp_port = 0\n")
    cli = [sys.executable, "-m", "autocull", "--home", str(home), "service"]
    try:
        for _ in range(2):  # installing again is the same install
            assert subprocess.run(cli + ["install", "--wait", "90"], timeout=180).returncode == 0
        status = subprocess.run(cli + ["status"], capture_output=True, text=True, timeout=60)
        assert status.returncode == 0 and "installed: yes" in status.stdout and "running: pid" in status.stdout
    finally:
        subprocess.run(cli + ["uninstall"], timeout=120)
    assert not autostart.manager_for().path.exists()
    assert "installed: no" in subprocess.run(cli + ["status"], capture_output=True, text=True, timeout=60).stdout


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
        ("c:/users/ann/appdata/local/microsoft/windowsapps/pythonsoftwarefoundation.python.3.12_qbz5n2kfra8p0/"
         "python.exe",),
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
