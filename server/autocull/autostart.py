"""`autocull service install|uninstall|status|start`: the daemon started at login by the platform's own manager.

* Linux: a systemd user unit, ``~/.config/systemd/user/autocull.service``, ``systemctl --user enable --now``.
* macOS: a launchd agent, ``~/Library/LaunchAgents/org.autocull.daemon.plist``, ``launchctl bootstrap gui/<uid>``.
* Windows: a per-user scheduled task ``AutoCull`` with a logon trigger (``schtasks /Create /XML``). Chosen over a
  Startup-folder entry because a task needs no shortcut (a .lnk needs COM to write; a .cmd flashes a console),
  runs ``pythonw.exe`` with no window, can be started on demand (``schtasks /Run``), reports whether it is running
  (``schtasks /Query``), restarts after a crash, and runs as the logged-on user without storing a password
  (``InteractiveToken``). Its default three-day time limit would stop the daemon: it is set to none.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence
from xml.sax.saxutils import escape

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
def launchd_plist(launch: Launch) -> bytes:
    """The agent (launchd.plist(5)): run at login in the user's GUI session, relaunched after a crash only."""
    logs = os.path.join(launch.home, "logs", "launchd.log")
    return plistlib.dumps(
        {
            "Label": LABEL,
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
def task_xml(launch: Launch, user_id: str) -> str:
    """The task (Task Scheduler schema 1.2): at ``user_id``'s logon, as that user, no time limit, restarted on
    failure. ``Arguments`` is one command line, quoted by the MS C runtime's rules (``subprocess.list2cmdline``)."""
    command, *args = launch.argv()
    user = escape(user_id)
    return f"""<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.2" xmlns="{TASK_NS}">
  <RegistrationInfo>
    <Description>AutoCull photo culling daemon (autocull service install)</Description>
    <URI>\\{TASK}</URI>
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


@dataclass(frozen=True)
class Manager:
    """One platform's service manager: where the file goes and the commands around it."""

    kind: str  # "systemd", "launchd", "schtasks"
    path: Path  # the unit, plist or task XML we keep
    run: Run = _run

    def content(self, launch: Launch) -> bytes:
        if self.kind == "systemd":
            return systemd_unit(launch).encode("utf-8")
        if self.kind == "launchd":
            return launchd_plist(launch)
        return task_xml(launch, windows_user()).encode("utf-16")  # schtasks reads the XML as UTF-16 (BOM)

    def installed(self) -> bool:
        if self.kind == "schtasks":
            return self.run(["schtasks", "/Query", "/TN", TASK]).returncode == 0
        return self.path.is_file()

    def install(self, launch: Launch) -> None:
        """Write the file and register it; again is the same (the old registration is replaced)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(self.content(launch))
        if self.kind == "systemd":
            _check(self.run(["systemctl", "--user", "daemon-reload"]), "reloading systemd")
            _check(self.run(["systemctl", "--user", "enable", "--now", UNIT]), "enabling the unit")
        elif self.kind == "launchd":
            self.run(["launchctl", "bootout", _launchd_target()])  # not loaded yet: fine
            _check(self.run(["launchctl", "bootstrap", _launchd_domain(), str(self.path)]), "loading the agent")
        else:
            _check(self.run(["schtasks", "/Create", "/TN", TASK, "/XML", str(self.path), "/F"]), "creating the task")
            self.run(["schtasks", "/Run", "/TN", TASK])  # now, not only at the next logon

    def uninstall(self) -> bool:
        """Stop and remove; False when nothing was installed."""
        was = self.installed()
        if self.kind == "systemd":
            if was:
                self.run(["systemctl", "--user", "disable", "--now", UNIT])
            self.path.unlink(missing_ok=True)
            self.run(["systemctl", "--user", "daemon-reload"])
        elif self.kind == "launchd":
            self.run(["launchctl", "bootout", _launchd_target()])
            self.path.unlink(missing_ok=True)
        else:
            if was:
                self.run(["schtasks", "/End", "/TN", TASK])
                _check(self.run(["schtasks", "/Delete", "/TN", TASK, "/F"]), "deleting the task")
            self.path.unlink(missing_ok=True)
        return was

    def start(self) -> None:
        if self.kind == "systemd":
            _check(self.run(["systemctl", "--user", "start", UNIT]), "starting the unit")
        elif self.kind == "launchd":
            _check(self.run(["launchctl", "kickstart", _launchd_target()]), "starting the agent")
        else:
            _check(self.run(["schtasks", "/Run", "/TN", TASK]), "starting the task")


def _launchd_domain() -> str:
    return f"gui/{os.getuid()}"  # type: ignore[attr-defined,unused-ignore]  # macOS only


def _launchd_target() -> str:
    return f"{_launchd_domain()}/{LABEL}"


def manager_for(platform: str = sys.platform, home: Optional[Path] = None, user_home: Optional[Path] = None) -> Manager:
    """The manager of ``platform`` (sys.platform's values), its file under ``user_home`` (default: ~) or, for the
    task XML, under AutoCull's ``home``."""
    user = user_home or Path.home()
    if platform == "darwin":
        return Manager("launchd", user / "Library" / "LaunchAgents" / f"{LABEL}.plist")
    if platform == "win32":
        return Manager("schtasks", Path(home or user) / "autocull-task.xml")
    config = Path(os.environ.get("XDG_CONFIG_HOME") or user / ".config")
    return Manager("systemd", config / "systemd" / "user" / UNIT)


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
