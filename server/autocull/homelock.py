"""One daemon per home: a lock file in the home, taken before anything else is opened, held until exit.

Two plugins (or a double click) running `autocull service start` at once would otherwise start two daemons on one
home; the second would open the store (catching verdicts up, queueing sidecars) before failing to bind. Light to
import: `service start` asks whether a daemon holds the home without loading the engine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

from .config import FILE_MODE, atomic_write

LOCK_FILE = "daemon.lock"  # held by the one daemon serving a home, from before the store opens to its exit
PID_FILE = "daemon.pid"  # who holds it (Windows locks the lock file's bytes against reading)
LOCK_WAIT = 2.0  # a second daemon waits this long (a `service start` probe holds the lock for an instant)


class HomeBusy(SystemExit):
    """Another daemon holds this home's lock: this one must not open the store (it would catch up verdicts and
    queue sidecars beside the other) nor bind ports."""

    def __init__(self, home: Path, pid: int) -> None:
        who = f"pid {pid}" if pid else "pid unknown"
        super().__init__(
            f"autocull: another AutoCull daemon serves this home ({who}): {home}. "
            "Use it (`autocull service status`) or stop it first."
        )
        self.pid = pid


def _lock(home: Path, timeout: float) -> Any:
    from filelock import FileLock  # pure Python; fcntl.flock on POSIX, msvcrt.locking on Windows

    return FileLock(str(home / LOCK_FILE), timeout=timeout, mode=FILE_MODE)  # private, as the home's other files


def _recorded_pid(home: Path) -> int:
    try:
        return int((home / PID_FILE).read_text(encoding="ascii").strip() or 0)
    except (OSError, ValueError):
        return 0


def take_home(home: Path, timeout: float = LOCK_WAIT) -> Any:
    """This process's hold on ``home`` as its one daemon (released by ``.release()`` or at exit, also a crash's:
    the OS drops the lock with the process); HomeBusy naming the holder when another daemon has it."""
    from filelock import Timeout

    lock = _lock(home, timeout)
    try:
        lock.acquire()
    except Timeout:
        raise HomeBusy(home, _recorded_pid(home)) from None
    atomic_write(home / PID_FILE, str(os.getpid()), mode=FILE_MODE)
    return lock


def holder(home: Path) -> Optional[int]:
    """The pid of the daemon holding ``home`` (0 when it has not said yet), None when no daemon holds it. Checked
    by taking the lock for an instant: a daemon starting meanwhile waits LOCK_WAIT for it."""
    from filelock import Timeout

    if not (home / LOCK_FILE).exists():
        return None
    lock = _lock(home, 0)
    try:
        lock.acquire()
    except Timeout:
        return _recorded_pid(home)
    lock.release()
    return None
