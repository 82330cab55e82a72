"""`autocull service install|uninstall|status|start`: the daemon started at login by the platform's own manager.

* Linux: a systemd user unit, ``~/.config/systemd/user/autocull.service``, ``systemctl --user enable --now``.
* macOS: a launchd agent, ``~/Library/LaunchAgents/org.autocull.daemon.plist``, ``launchctl bootstrap gui/<uid>``.
* Windows: a per-user scheduled task ``AutoCull`` with a logon trigger (``schtasks /Create /XML``). Chosen over a
  Startup-folder entry because a task needs no shortcut (a .lnk needs COM to write; a .cmd flashes a console),
  runs ``pythonw.exe`` with no window, can be started on demand (``schtasks /Run``), reports whether it is running
  (``schtasks /Query``), restarts after a crash, and runs as the logged-on user without storing a password
  (``InteractiveToken``). Its default three-day time limit would stop the daemon: it is set to none. Where Task
  Scheduler refuses a standard user the task ("Access is denied"), a Startup-folder entry ``AutoCull.cmd`` is
  written instead (``startup_cmd``); uninstall and status know both.

Every file is made by a pure function of a ``Launch`` (testable anywhere); the side effects are the few manager
commands in ``Manager``. The command is this interpreter running ``-m autocull --home <home> serve``, so a venv's
install starts the venv's daemon with the home the plugins read.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence
from xml.sax.saxutils import escape

from .config import ensure_home

LABEL = "org.autocull.daemon"  # launchd
UNIT = "autocull.service"  # systemd
TASK = "AutoCull"  # Task Scheduler
TASK_NS = "http://schemas.microsoft.com/windows/2004/02/mit/task"


@dataclass(frozen=True)
class Launch:
    """How the daemon is started: the interpreter and the home it serves."""

    python: str
    home: str

    def argv(self) -> list[str]:
        return [self.python, "-m", "autocull", "--home", self.home, "serve"]


def windowless(python: str) -> str:
    """On Windows, ``pythonw.exe`` beside ``python.exe`` (no console window); the interpreter itself elsewhere."""
    folder, name = os.path.split(python)
    if name.lower() == "python.exe":
        candidate = os.path.join(folder, "pythonw.exe")
        if os.path.isfile(candidate):
            return candidate
    return python


def store_python(*paths: str) -> bool:
    """One of ``paths`` (the interpreter, the one a venv was made from, its prefix) is the Microsoft Store's Python:
    its app-execution alias under ``...\\WindowsApps\\`` or its package folder
    ``PythonSoftwareFoundation.Python.3.x_<id>``. Such a Python writes under %APPDATA% into a per-package
    LocalCache folder instead, so state.json (token, ports) is not at %APPDATA%\\AutoCull, where the plugins look
    for it. A venv made from it runs the same package, so its base counts."""
    for path in paths:
        folded = path.replace("/", "\\").lower()
        if "\\windowsapps\\" in folded or "pythonsoftwarefoundation.python" in folded:
            return True
    return False


STORE_PYTHON_WARNING = (
    "this is the Microsoft Store's Python ({python}): it redirects files under %APPDATA% to its own LocalCache "
    "folder, so the plugins cannot find the daemon's state.json (token and ports) in %APPDATA%\\AutoCull. Install "
    "Python from python.org (https://www.python.org/downloads/windows/) and make the venv with it."
)


def store_python_warning(paths: Sequence[str] = (), platform: str = sys.platform) -> str:
    """The warning to print when the daemon would run on the Store's Python on Windows, else ''. ``paths``:
    default this interpreter, the one its venv was made from, and its prefix."""
    paths = paths or (sys.executable, getattr(sys, "_base_executable", ""), sys.base_prefix)
    if platform == "win32" and store_python(*paths):
        return STORE_PYTHON_WARNING.format(python=paths[0])
    return ""


def launch_here(home: Path) -> Launch:
    python = windowless(sys.executable) if os.name == "nt" else sys.executable
    return Launch(python=python, home=str(Path(home).expanduser().absolute()))


# ------------------------------------------------------------------ systemd
def _systemd_word(word: str) -> str:
    """One ExecStart word, double-quoted (systemd.service "Command lines"): backslash and quote escaped, and the
    specifier '%' and variable '$' doubled so a path holding them is taken literally."""
    text = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{text}"'


def systemd_unit(launch: Launch) -> str:
    """The user unit: started with the user's session, restarted after a crash, not after a clean stop."""
    return (
        "[Unit]\n"
        "Description=AutoCull photo culling daemon\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={' '.join(_systemd_word(w) for w in launch.argv())}\n"
        "Restart=on-failure\n"
        "RestartSec=5\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


# ------------------------------------------------------------------ launchd
def launchd_plist(launch: Launch, label: str = LABEL) -> bytes:
    """The agent (launchd.plist(5)): run at login in the user's GUI session, relaunched after a crash only."""
    logs = os.path.join(launch.home, "logs", "launchd.log")
    return plistlib.dumps(
        {
            "Label": label,
            "ProgramArguments": launch.argv(),
            "RunAtLoad": True,
            "KeepAlive": {"SuccessfulExit": False},
            "LimitLoadToSessionType": "Aqua",
            "ProcessType": "Background",
            "StandardOutPath": logs,
            "StandardErrorPath": logs,
        }
    )


# ------------------------------------------------------------------ Task Scheduler
def task_xml(launch: Launch, user_id: str, name: str = TASK) -> str:
    """The task (Task Scheduler schema 1.2): at ``user_id``'s logon, as that user, no time limit, restarted on
    failure. ``Arguments`` is one command line, quoted by the MS C runtime's rules (``subprocess.list2cmdline``)."""
    command, *args = launch.argv()
    user = escape(user_id)
    return f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="{TASK_NS}">
  <RegistrationInfo>
    <Description>AutoCull photo culling daemon (autocull service install)</Description>
    <URI>\\{escape(name)}</URI>
  </RegistrationInfo>
  <Triggers>
    <LogonTrigger>
      <Enabled>true</Enabled>
      <UserId>{user}</UserId>
    </LogonTrigger>
  </Triggers>
  <Principals>
    <Principal id="Author">
      <UserId>{user}</UserId>
      <LogonType>InteractiveToken</LogonType>
      <RunLevel>LeastPrivilege</RunLevel>
    </Principal>
  </Principals>
  <Settings>
    <MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>
    <DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>
    <StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>
    <AllowHardTerminate>true</AllowHardTerminate>
    <StartWhenAvailable>false</StartWhenAvailable>
    <RunOnlyIfNetworkAvailable>false</RunOnlyIfNetworkAvailable>
    <IdleSettings>
      <StopOnIdleEnd>false</StopOnIdleEnd>
      <RestartOnIdle>false</RestartOnIdle>
    </IdleSettings>
    <AllowStartOnDemand>true</AllowStartOnDemand>
    <Enabled>true</Enabled>
    <Hidden>false</Hidden>
    <RunOnlyIfIdle>false</RunOnlyIfIdle>
    <ExecutionTimeLimit>PT0S</ExecutionTimeLimit>
    <RestartOnFailure>
      <Interval>PT1M</Interval>
      <Count>3</Count>
    </RestartOnFailure>
  </Settings>
  <Actions Context="Author">
    <Exec>
      <Command>{escape(command)}</Command>
      <Arguments>{escape(subprocess.list2cmdline(args))}</Arguments>
    </Exec>
  </Actions>
</Task>
"""


STARTUP_FOLDER = Path("Microsoft", "Windows", "Start Menu", "Programs", "Startup")


def startup_cmd(launch: Launch) -> str:
    """The Startup-folder entry used when Task Scheduler refuses the task: a batch file that starts the
    windowless interpreter and returns (``start ""``), so its console is gone at once. A .cmd rather than a .vbs
    run by wscript (which would show no console at all): Windows is retiring VBScript, and a .cmd is plain text
    cmd reads the same way everywhere. Arguments are quoted by the C runtime's rules; '%' is doubled because cmd
    expands it even inside quotes in a batch file; the file is UTF-8 and switches the console code page to it so
    a non-ASCII user name in the home arrives intact."""
    line = subprocess.list2cmdline(launch.argv()).replace("%", "%%")
    return f'@echo off\r\nchcp 65001 >nul\r\nstart "" {line}\r\n'


def windows_user() -> str:
    domain, user = os.environ.get("USERDOMAIN", ""), os.environ.get("USERNAME", "")
    return f"{domain}\\{user}" if domain else user


# ------------------------------------------------------------------ managers
Run = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _run(cmd: Sequence[str]) -> "subprocess.CompletedProcess[str]":
    try:
        return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
    except FileNotFoundError as exc:
        return subprocess.CompletedProcess(list(cmd), 127, "", f"{cmd[0]}: not found ({exc})")


class ServiceError(RuntimeError):
    """A manager command failed: its output says why."""


def _check(done: "subprocess.CompletedProcess[str]", doing: str) -> None:
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip()
        raise ServiceError(f"{doing} failed ({' '.join(map(str, done.args))}, exit {done.returncode}): {said}")


ACCESS_DENIED = ("access is denied", "0x80070005")  # schtasks' words and the HRESULT (E_ACCESSDENIED)
BOOTSTRAP_TRIES = 5  # `launchctl bootstrap` right after `bootout` can fail "5: Input/output error" for a moment


def denied(done: "subprocess.CompletedProcess[str]") -> bool:
    """A manager command failed because this user may not do it (schtasks /Create for a standard user)."""
    said = f"{done.stdout}\n{done.stderr}".lower()
    return done.returncode != 0 and any(word in said for word in ACCESS_DENIED)


@dataclass(frozen=True)
class Manager:
    """One platform's service manager: where the file goes and the commands around it.

    ``name`` is the unit/label/task name (tests use their own so a developer's real registration is never
    touched); ``startup`` is the Windows Startup-folder entry used when Task Scheduler refuses the task."""

    kind: str  # "systemd", "launchd", "schtasks"
    path: Path  # the unit, plist or task XML we keep
    run: Run = _run
    name: str = ""
    startup: Optional[Path] = None
    pause: Callable[[float], None] = time.sleep

    @property
    def label(self) -> str:
        return self.name or {"systemd": UNIT, "launchd": LABEL}.get(self.kind, TASK)

    def content(self, launch: Launch) -> bytes:
        if self.kind == "systemd":
            return systemd_unit(launch).encode("utf-8")
        if self.kind == "launchd":
            return launchd_plist(launch, self.label)
        return task_xml(launch, windows_user(), self.label).encode("utf-16")  # schtasks reads UTF-16 (BOM)

    def _task_exists(self) -> bool:
        return self.run(["schtasks", "/Query", "/TN", self.label]).returncode == 0

    def installed(self) -> bool:
        if self.kind == "schtasks":
            return self._task_exists() or bool(self.startup and self.startup.is_file())
        return self.path.is_file()

    def registration(self) -> str:
        """What is registered, in words (for `status` and `install`)."""
        if self.kind == "schtasks" and self.startup and self.startup.is_file() and not self._task_exists():
            return f"Startup-folder entry ({self.startup})"
        return f"{self.kind} ({self.path})"

    def install(self, launch: Launch) -> bool:
        """Write the file and register it; again is the same (the old registration is replaced). The home (and its
        logs folder, where launchd opens the agent's output before the daemon runs) is made first. True when the
        manager started the daemon too; False when the caller must start it now (a Startup-folder entry runs only
        at the next login)."""
        ensure_home(Path(launch.home))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(self.content(launch))
        if self.kind == "systemd":
            _check(self.run(["systemctl", "--user", "daemon-reload"]), "reloading systemd")
            _check(self.run(["systemctl", "--user", "enable", "--now", self.label]), "enabling the unit")
        elif self.kind == "launchd":
            self.run(["launchctl", "bootout", self._launchd_target()])  # not loaded yet: fine
            for attempt in range(BOOTSTRAP_TRIES):
                done = self.run(["launchctl", "bootstrap", _launchd_domain(), str(self.path)])
                if done.returncode == 0:
                    break
                if attempt + 1 < BOOTSTRAP_TRIES:
                    self.pause(0.5)  # bootout finishes asynchronously: "Bootstrap failed: 5: Input/output error"
            _check(done, "loading the agent")
        else:
            made = self.run(["schtasks", "/Create", "/TN", self.label, "/XML", str(self.path), "/F"])
            if denied(made) and self.startup is not None:
                # a standard user may be refused a logon-triggered task: the Startup folder needs no right
                self.startup.parent.mkdir(parents=True, exist_ok=True)
                self.startup.write_bytes(startup_cmd(launch).encode("utf-8"))
                return False
            _check(made, "creating the task")
            if self.startup is not None:
                self.startup.unlink(missing_ok=True)  # a task now: the older fallback would start a second one
            self.run(["schtasks", "/Run", "/TN", self.label])  # now, not only at the next logon
        return True

    def uninstall(self) -> bool:
        """Stop and remove; False when nothing was installed."""
        was = self.installed()
        if self.kind == "systemd":
            if was:
                self.run(["systemctl", "--user", "disable", "--now", self.label])
            self.path.unlink(missing_ok=True)
            self.run(["systemctl", "--user", "daemon-reload"])
        elif self.kind == "launchd":
            self.run(["launchctl", "bootout", self._launchd_target()])
            self.path.unlink(missing_ok=True)
        else:
            if self._task_exists():
                self.run(["schtasks", "/End", "/TN", self.label])
                _check(self.run(["schtasks", "/Delete", "/TN", self.label, "/F"]), "deleting the task")
            if self.startup is not None:
                self.startup.unlink(missing_ok=True)
            self.path.unlink(missing_ok=True)
        return was

    def start(self) -> bool:
        """Have the manager start the daemon now: True when asked, False when this registration cannot (a
        Startup-folder entry); ServiceError when the manager refused (the caller can start it itself)."""
        if self.kind == "systemd":
            _check(self.run(["systemctl", "--user", "start", self.label]), "starting the unit")
        elif self.kind == "launchd":
            _check(self.run(["launchctl", "kickstart", self._launchd_target()]), "starting the agent")
        elif self._task_exists():
            _check(self.run(["schtasks", "/Run", "/TN", self.label]), "starting the task")
        else:
            return False
        return True

    def _launchd_target(self) -> str:
        return f"{_launchd_domain()}/{self.label}"


def _launchd_domain() -> str:
    return f"gui/{os.getuid()}"  # type: ignore[attr-defined,unused-ignore]  # macOS only


def manager_for(
    platform: str = sys.platform,
    home: Optional[Path] = None,
    user_home: Optional[Path] = None,
    *,
    name: str = "",
    run: Run = _run,
) -> Manager:
    """The manager of ``platform`` (sys.platform's values), its file under ``user_home`` (default: ~) or, for the
    task XML, under AutoCull's ``home``. ``name``: the unit/label/task name (default AutoCull's own)."""
    user = user_home or Path.home()
    if platform == "darwin":
        label = name or LABEL
        return Manager("launchd", user / "Library" / "LaunchAgents" / f"{label}.plist", run, name)
    if platform == "win32":
        appdata = os.environ.get("APPDATA") if user_home is None else None  # a given user_home is a test's
        startup = Path(appdata or user / "AppData" / "Roaming") / STARTUP_FOLDER / f"{name or TASK}.cmd"
        return Manager("schtasks", Path(home or user) / "autocull-task.xml", run, name, startup)
    config = Path(os.environ.get("XDG_CONFIG_HOME") or user / ".config")
    return Manager("systemd", config / "systemd" / "user" / (name or UNIT), run, name)


# ------------------------------------------------------------------ start without a manager
def spawn_detached(launch: Launch) -> "subprocess.Popen[bytes]":
    """`autocull serve` outliving the caller (a plugin's short-lived shell): its own session on POSIX, detached
    with no console window on Windows; its output goes to the daemon's log, not to the caller."""
    kwargs: dict = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    if os.name == "nt":
        flags = getattr(subprocess, "DETACHED_PROCESS", 0x8) | getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0x200)
        kwargs["creationflags"] = flags | getattr(subprocess, "CREATE_NO_WINDOW", 0x08000000)
    else:
        kwargs["start_new_session"] = True
    return subprocess.Popen(launch.argv(), close_fds=True, **kwargs)


def on_path(name: str) -> bool:
    return shutil.which(name) is not None
