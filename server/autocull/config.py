"""Where AutoCull keeps its state, and the settings read from config.toml.

Everything lives under one home folder: the platform's user config dir by
default, ``AUTOCULL_HOME`` to override (tests use it). The home holds
``config.toml`` (settings), ``state.json`` (token + ports of the running daemon,
read by the plugins), ``autocull.db`` (SQLite) and ``logs/``.

The home holds one user's photo paths, decisions and token: it is 0700 and
every file AutoCull writes there 0600, and a home left loose by an older
version is tightened on start. Nothing outside the home (photos, sidecars)
has its mode changed: no process-wide umask.

On Windows POSIX modes mean nothing (``os.chmod`` only sets the read-only
flag, ``os.fchmod`` does not exist before Python 3.13): the default home is
under the user's ``%APPDATA%``, whose ACL (inherited by everything created in
it) already admits only that user, SYSTEM and Administrators, so no mode is
set there (``PRIVATE_MODES`` is False).
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import secrets
import sys
import tempfile
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Optional

from .budget import DEFAULT_PIXEL_BUDGET

log = logging.getLogger(__name__)

TOKEN_HEADER = "x-autocull-token"
STATE_FILE = "state.json"
CONFIG_FILE = "config.toml"
DB_FILE = "autocull.db"
LOG_DIR = "logs"
LOG_FILE = "autocull.log"
HOME_MODE = 0o700
FILE_MODE = 0o600
# POSIX permission bits make a file private here; on Windows the profile folder's ACL does (see above).
PRIVATE_MODES = os.name != "nt"


_OLD_CLIP_KEYS = {"clip_model": "model", "clip_weights": "pretrained"}
_CLIP_TEMPLATE = """
# Learned taste, content keywords and search (the 'clip' extra: pip install 'autocull[clip]').
[clip]
# enabled = true
# model = "ViT-B-32"                 # an open_clip model name
# pretrained = "laion2b_s34b_b79k"   # a tag open_clip downloads once, or the path of a local weights file
# model_config = ""                  # a JSON architecture file for a model open_clip does not know
# threads = 0                        # torch threads; 0 = one per core
# batch_size = 16
# vocabulary = ["people", "landscape", "food"]   # content keywords (default: about 30 labels)
"""


def _looks_like_file(pretrained: str) -> bool:
    from .taste.clip import is_weights_file

    return is_weights_file(pretrained)


def faces_installed() -> bool:
    """Whether MediaPipe is installed (found, not imported). pyproject leaves it out on Intel Macs, where no
    wheel that works with protobuf 7 exists: there photos are judged without face and eye checks, said once."""
    import importlib.util

    if importlib.util.find_spec("mediapipe") is not None:
        return True
    global _FACES_SAID
    if not _FACES_SAID:
        _FACES_SAID = True
        log.warning(
            "faces: off: MediaPipe is not installed (no wheel for %s %s); photos are judged without face and "
            "eye checks",
            sys.platform,
            platform.machine(),
        )
    return False


_FACES_SAID = False


def default_home() -> Path:
    """The platform's per-user folder; the plugins look in the same place."""
    env = os.environ.get("AUTOCULL_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    name = "autocull" if sys.platform.startswith("linux") else "AutoCull"
    return Path(platformdirs.user_config_dir(name, appauthor=False, roaming=True))


@dataclass
class Config:
    """Settings from ``config.toml``; every key optional."""

    host: str = "127.0.0.1"
    grpc_port: int = 50851
    http_port: int = 50852
    analysis_size: int = 1280  # long edge in px the measure stage sees (see decode.ANALYSIS_SIZE)
    max_pixels: int = 250_000_000  # larger images are refused (decompression-bomb guard)
    # Analysis worker processes; 0 = one per CPU core. 1 is still a process of its own: a file that crashes its
    # decoder costs that file, never the daemon.
    workers: int = 0
    # Seconds without work after which the worker processes (each with its own face models) are released; the
    # next file starts them again. 0 keeps them until the daemon stops.
    worker_idle_seconds: float = 180.0
    # Seconds one file may take in a worker before it is stopped and lands in the failure lane (a decoder that
    # hangs on a crafted or damaged file must not hold up the job, its cancel or the daemon's stop).
    file_timeout_seconds: float = 300.0
    # Decoded pixels all the workers hold at once (a huge image waits for room instead of every worker decoding
    # one at the same time); about 4 bytes a pixel, so the default is about 1 GB.
    pixel_budget: int = DEFAULT_PIXEL_BUDGET
    faces: bool = True  # run face detection and eye checks
    # Make a small JPEG of each photo while it is analysed (from the pixels already decoded), kept in the home's
    # thumbs/ folder for the review page (`autocull report`); false makes none there (the report then makes
    # those it needs by a reduced decode).
    thumbnails: bool = True
    watch_interval: float = 5.0  # seconds between two looks at a polled folder (network shares, card readers)
    # Seconds a new file's size and mtime must hold still before it is read (a copy in progress is never read).
    # A setting of the machine and its disks (a slow share needs longer), not of the photographer's taste.
    watch_settle: float = 2.0
    # The settle period of a polled folder (a network share, a card reader, or one asked to be polled): the real
    # one is max(watch_settle, watch_settle_network). NFS and SMB clients cache a file's attributes for 3-60 s
    # (NFS acregmin/acregmax), so a file another machine is still writing can show the same size and mtime for
    # longer than watch_settle; 30 s covers the usual cache defaults.
    watch_settle_network: float = 30.0
    watch_retry_backoff: float = 60.0  # seconds before a failed file is tried again; doubles with each attempt
    # The [clip] table (see taste.clip.ClipSettings): model, pretrained (a tag or a weights file), model_config,
    # threads, batch_size, vocabulary, enabled. Older flat keys clip_model / clip_weights are read into it.
    clip: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, home: Path) -> "Config":
        path = home / CONFIG_FILE
        if not path.exists():
            return cls(faces=faces_installed())
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        clip = dict(data.pop("clip", {}) or {})
        for old, new in _OLD_CLIP_KEYS.items():  # written by versions before the [clip] table
            value = data.pop(old, "")
            if value:
                clip.setdefault(new, value)
        for key in ("pretrained", "model_config"):  # a relative file is where config.toml is, not where we run
            value = clip.get(key)
            if isinstance(value, str) and value and (key == "model_config" or _looks_like_file(value)):
                clip[key] = (
                    str(home / Path(value).expanduser()) if not Path(value).expanduser().is_absolute() else value
                )
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{path}: unknown settings {sorted(unknown)}; known: {sorted(known)}")
        config = cls(**data, clip=clip)
        # (a bool is an int to Python: "pixel_budget = true" is refused, not read as 1)
        if not (_is_number(config.pixel_budget, whole=True) and config.pixel_budget > 0):
            raise ValueError(f"{path}: pixel_budget must be a whole number above 0, not {config.pixel_budget!r}")
        if not (_is_number(config.file_timeout_seconds) and config.file_timeout_seconds > 0):
            raise ValueError(f"{path}: file_timeout_seconds must be above 0, not {config.file_timeout_seconds!r}")
        if not (_is_number(config.workers, whole=True) and config.workers >= 0):
            raise ValueError(f"{path}: workers must be a whole number, 0 for one per CPU, not {config.workers!r}")
        if not isinstance(config.thumbnails, bool):  # "thumbnails = 1" or "yes" is refused, not read as true
            raise ValueError(f"{path}: thumbnails must be true or false, not {config.thumbnails!r}")
        if not (_is_number(config.worker_idle_seconds) and config.worker_idle_seconds >= 0):
            raise ValueError(
                f"{path}: worker_idle_seconds must be 0 (never release) or more, not {config.worker_idle_seconds!r}"
            )
        config.faces = config.faces and faces_installed()
        try:
            config.clip_settings()
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from None
        return config

    def clip_settings(self) -> Any:
        """The [clip] table as ``ClipSettings`` (AUTOCULL_CLIP=off in the environment turns CLIP off)."""
        from .taste.clip import ClipSettings

        return ClipSettings.from_table(self.clip)

    def write_default(self, home: Path) -> None:
        """Write a commented config.toml on first start so users can find the knobs."""
        path = home / CONFIG_FILE
        if path.exists():
            return
        lines = ["# AutoCull settings. Delete a line to get the default back.\n"]
        for key, value in asdict(self).items():
            if key != "clip":
                lines.append(f"{key} = {json.dumps(value)}\n")
        lines.append(_CLIP_TEMPLATE)
        atomic_write(path, "".join(lines), mode=FILE_MODE)

    def worker_count(self) -> int:
        """``workers``, or one per CPU this process may use (0), capped where the platform caps a pool."""
        count = self.workers if self.workers > 0 else usable_cpus()
        return min(count, MAX_WORKERS_WINDOWS) if sys.platform == "win32" else count


# ProcessPoolExecutor refuses more workers on Windows (WaitForMultipleObjects waits on at most 64 handles).
MAX_WORKERS_WINDOWS = 61


CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "<quota> <period>" or "max <period>"


def usable_cpus(cpu_max: Optional[Path] = None) -> int:
    """The CPUs this process may run on: an affinity mask or a container's CPU quota (``docker --cpus``),
    not the host's count."""
    counter = getattr(os, "process_cpu_count", None)  # 3.13
    if counter is not None:
        count = counter() or 1
    elif hasattr(os, "sched_getaffinity"):
        count = len(os.sched_getaffinity(0))
    else:
        count = os.cpu_count() or 1
    quota = cgroup_cpus(CGROUP_CPU_MAX if cpu_max is None else cpu_max)  # neither call above reads the quota
    return max(1, min(count, quota) if quota is not None else count)


def cgroup_cpus(cpu_max: Path) -> Optional[int]:
    """The CPUs a cgroup v2 quota allows (rounded up), None without a quota or a readable file."""
    try:
        quota, period = cpu_max.read_text().split()[:2]
        if quota == "max":
            return None
        return max(1, math.ceil(int(quota) / int(period)))
    except (OSError, ValueError, ZeroDivisionError):
        return None


def _is_number(value: Any, whole: bool = False) -> bool:
    """An int (or a float unless ``whole``) and not a bool."""
    return isinstance(value, int if whole else (int, float)) and not isinstance(value, bool)


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


THUMBS_DIR = "thumbs"  # the thumbnail cache (thumbs.ThumbCache)


def ensure_home(home: Path) -> Path:
    """Create the home (0700) and its logs folder, and tighten what an older version left readable."""
    home.mkdir(parents=True, exist_ok=True, mode=HOME_MODE)
    (home / LOG_DIR).mkdir(exist_ok=True, mode=HOME_MODE)
    for folder in (home, home / LOG_DIR):
        _tighten(folder, HOME_MODE)
    for path in owned_files(home):
        _tighten(path, FILE_MODE)
    _tighten_tree(home / THUMBS_DIR)
    return home


def _tighten_tree(folder: Path) -> None:
    """A cache folder (thumbnails) made private again, folders and files, when it was left loose (a backup
    restored with other modes): walked only then, so a start does not stat every thumbnail."""
    if not PRIVATE_MODES or folder.is_symlink() or not folder.is_dir():
        return
    if not folder.stat().st_mode & 0o777 & ~HOME_MODE:
        return
    for root, _dirs, files in os.walk(folder):
        _tighten(Path(root), HOME_MODE)
        for name in files:
            if not Path(root, name).is_symlink():
                _tighten(Path(root, name), FILE_MODE)


def owned_files(home: Path) -> list[Path]:
    """The files AutoCull writes in its home (those that exist): settings, state, the daemon's lock and pid, store +
    WAL/SHM, logs."""
    names = [CONFIG_FILE, STATE_FILE, "daemon.lock", "daemon.pid"]  # the last two: homelock's
    names += [DB_FILE + suffix for suffix in ("", "-wal", "-shm", "-journal")]
    found = [home / n for n in names]
    logs = home / LOG_DIR
    if logs.is_dir():
        found += sorted(logs.glob(LOG_FILE + "*"))
    return [p for p in found if p.is_file() and not p.is_symlink()]


def set_mode(fd: int, mode: int) -> None:
    """``os.fchmod`` where modes exist; on Windows the file keeps the ACL it inherited from its folder."""
    if PRIVATE_MODES:
        os.fchmod(fd, mode)


def _tighten(path: Path, mode: int) -> None:
    """chmod to ``mode`` when looser; a home we do not own is reported, not fatal."""
    if not PRIVATE_MODES:
        return
    try:
        if path.stat().st_mode & 0o777 & ~mode:
            os.chmod(path, mode)
    except OSError as exc:
        log.warning("could not make %s private (mode %o): %s", path, mode, exc)


def create_private(path: Path) -> None:
    """Make sure ``path`` exists as a 0600 file before a library (SQLite) creates it with the umask's mode."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        set_mode(fd, FILE_MODE)
    finally:
        os.close(fd)


class ChangedMeanwhile(OSError):
    """``atomic_write``'s ``still`` said the target changed since it was read: nothing was replaced."""


def atomic_write(
    path: Path,
    text: str | bytes,
    *,
    mode: int = 0o600,
    still: Optional[Callable[[], bool]] = None,
    sync_folder: bool = True,
) -> None:
    """Temp file in the same folder, fsync, rename, fsync the folder: a reader never sees half a file, and
    the rename survives a power cut (``sync_folder=False`` for a cache, whose loss costs only remaking it).
    ``text`` as str is written as UTF-8, bytes as they are.

    ``still``, checked just before the rename, says whether the target is still what ``text`` was made from
    (another program, e.g. darktable, may rewrite it meanwhile); when it is not, the temp file goes and
    ChangedMeanwhile is raised, so the caller merges again instead of overwriting their edit."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        set_mode(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(text.encode("utf-8") if isinstance(text, str) else text)
            fh.flush()
            os.fsync(fh.fileno())
        if still is not None and not still():
            raise ChangedMeanwhile(f"{path} changed while it was being rewritten")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if sync_folder:
        fsync_folder(path.parent)


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename in ``folder`` durable; where a folder cannot be opened or synced (Windows, some network
    file systems) the rename stands all the same."""
    try:
        fd = os.open(str(folder), os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def read_state(home: Path) -> Optional[dict[str, Any]]:
    try:
        return json.loads((home / STATE_FILE).read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def load_or_create_token(home: Path) -> str:
    """The token survives restarts so plugins keep working; made on first start."""
    state = read_state(home) or {}
    token = state.get("token")
    if isinstance(token, str) and len(token) >= 32:
        return token
    return secrets.token_urlsafe(32)


def write_state(home: Path, *, token: str, host: str, grpc_port: int, http_port: int, pid: int) -> None:
    state = {"token": token, "host": host, "grpc_port": grpc_port, "http_port": http_port, "pid": pid}
    atomic_write(home / STATE_FILE, json.dumps(state, indent=2), mode=0o600)


def clear_running(home: Path) -> None:
    """Keep the token on shutdown but drop the pid, so clients know nobody listens."""
    state = read_state(home)
    if state:
        state["pid"] = 0
        atomic_write(home / STATE_FILE, json.dumps(state, indent=2), mode=0o600)
