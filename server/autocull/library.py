"""The library side of the engine: which files are photos, what state a file is in, and what the store holds.

Split out of the engine so the parts that only look at the file system and the store can be used without the
app object: the per-file pipeline (``pipeline.py``) classifies a file with the same rule the engine uses,
and a process pool or a Ray driver can scan and check the cache before it sends any path to a worker.
Nothing here decodes an image or holds state; the store is passed in where it is needed.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional, Sequence

from . import ANALYZER_VERSION
from .errors import BadPath, FileMissing, FileProblem, FileVanished, InvalidArgument, NotAFile, file_problem
from .paths import absolute, encodable, shown
from .records import Analysis

if TYPE_CHECKING:  # the store is passed in; importing it here would only tie this module to SQLite at import
    from .store import Store

RAW_EXTENSIONS = frozenset(
    "cr2 cr3 crw nef nrw arw srf sr2 orf rw2 raf pef dng kdc dcr mrw 3fr erf mos raw rwl srw x3f gpr iiq".split()
)
IMAGE_EXTENSIONS = frozenset("jpg jpeg jpe png tif tiff heic heif".split()) | RAW_EXTENSIONS
# A folder holding this file is an AutoCull review page (``autocull report``): its thumbnails are not photos, so a
# scan never descends into it, even when the page was written inside a photo folder or a watched one.
REPORT_MARKER = ".autocull-report"


def in_report(path: str) -> bool:
    """Is ``path`` inside a review page's folder (a folder above it holds ``REPORT_MARKER``)? What the watcher
    asks of a file an event names, where a scan instead prunes the folder as it walks."""
    folder = os.path.dirname(path)
    while True:
        if os.path.isfile(os.path.join(folder, REPORT_MARKER)):
            return True
        parent = os.path.dirname(folder)
        if parent == folder:
            return False
        folder = parent


# ------------------------------------------------------------------ names --
def is_image_name(name: str) -> bool:
    """Files a folder scan picks up: known image extensions, no hidden or AppleDouble files."""
    if name.startswith("."):
        return False
    return name.rsplit(".", 1)[-1].lower() in IMAGE_EXTENSIONS if "." in name else False


def image_files(
    folder: str, *, top_level_only: bool = False, onerror: Optional[Callable[[OSError], None]] = None
) -> list[str]:
    """The photos a folder scan picks up (``is_image_name``), hidden subfolders and review pages (folders holding
    ``REPORT_MARKER``) skipped, in sorted order."""
    out: list[str] = []
    for root, dirs, names in os.walk(folder, onerror=onerror):
        if REPORT_MARKER in names:
            dirs[:] = []
            continue
        dirs[:] = [] if top_level_only else sorted(d for d in dirs if not d.startswith("."))
        out += [os.path.join(root, n) for n in sorted(names) if is_image_name(n)]
    return out


# ------------------------------------------------------------------ paths --
def normalise_request_path(raw: str) -> str:
    """A path from a request: must be absolute and plain text; made canonical, never trusted further."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidArgument("empty path")
    if "\x00" in raw:
        raise InvalidArgument("path contains a NUL byte")
    path = absolute(raw)
    if path is None:
        raise InvalidArgument(f"path must be absolute: {raw!r}")
    return path


def stat_photo(path: str, *, missing: type[FileProblem] = FileMissing) -> os.stat_result:
    """``os.stat`` of one photo's path; any way the OS refuses it is that file's FileProblem, never the request's."""
    try:
        return os.stat(path)
    except OSError as exc:
        raise file_problem(exc, path, missing=missing) from None
    except ValueError as exc:  # a name the OS cannot encode
        raise BadPath(f"{path}: not a usable file name ({exc})") from None


# ------------------------------------------------------------ file status --
FILE, FOLDER, OTHER = "file", "folder", "other"


@dataclass(frozen=True)
class FileStatus:
    """What one path is now: a regular ``file``, a ``folder`` or some ``other`` thing (FIFO, device, socket),
    with the size and modification time that key its stored analysis."""

    path: str
    kind: str
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str, st: os.stat_result) -> "FileStatus":
        kind = FOLDER if stat.S_ISDIR(st.st_mode) else FILE if stat.S_ISREG(st.st_mode) else OTHER
        return cls(path, kind, st.st_size, st.st_mtime_ns)


def file_status(path: str, *, missing: type[FileProblem] = FileMissing) -> FileStatus:
    """The status of a path a request names (gone: ``missing``, by default FILE_NOT_FOUND)."""
    return FileStatus.of(path, stat_photo(path, missing=missing))


def photo_status(path: str) -> FileStatus:
    """The status of a file about to be analysed: a regular file, else its FileProblem (a file the scan saw
    and that is gone now has VANISHED; a folder or a FIFO is NOT_A_FILE)."""
    status = file_status(path, missing=FileVanished)
    if status.kind == FOLDER:
        raise NotAFile(f"{path}: is a folder, not a photo")
    if status.kind != FILE:
        raise NotAFile(f"{path}: not a regular file")
    return status


# ------------------------------------------------------------------- scan --
def scan(paths: Sequence[str], *, top_level_only: bool = False) -> tuple[list[str], list[tuple[str, FileProblem]]]:
    """Expand folders into image files, each once, in order. Bad entries come back as (path, problem), never
    raised; a path that is not absolute plain text refuses the request (InvalidArgument)."""
    files: list[str] = []
    problems: list[tuple[str, FileProblem]] = []
    seen: set[str] = set()

    for raw in paths:
        path = normalise_request_path(raw)
        try:
            status = file_status(path)
        except FileProblem as exc:
            problems.append((path, exc))
            continue
        if status.kind == FOLDER:
            for f in _walk(path, top_level_only, problems):
                if f not in seen:
                    seen.add(f)
                    files.append(f)
        elif path not in seen:
            seen.add(path)
            files.append(path)
    return files, problems


def _walk(folder: str, top_level_only: bool, problems: list[tuple[str, FileProblem]]) -> list[str]:
    def onerror(exc: OSError) -> None:
        where = exc.filename or folder
        problems.append((where, file_problem(exc, where, doing="listing the folder")))

    found = image_files(folder, top_level_only=top_level_only, onerror=onerror)
    if all(encodable(f) for f in found):
        return found
    for f in found:  # a name no store or client can hold (not UTF-8): that file's error, never the whole cull's
        if not encodable(f):
            problems.append((shown(f), unreadable_name(f)))
    return [f for f in found if encodable(f)]


def unreadable_name(path: str) -> BadPath:
    """The error of a photo whose name is not valid UTF-8 (an old tool's Latin-1 name): it cannot be stored nor
    named to a client, so it is listed under its shown name (bad bytes as ``\\xe9``) and never analysed."""
    name = shown(path)
    return BadPath(f"{name}: the file name is not valid UTF-8 (written by an older tool?); rename the file to read it")


# ------------------------------------------------------------------ cache --
def cached_analysis(store: "Store", status: FileStatus) -> Optional[Analysis]:
    """The stored analysis of this file if it is still valid: same size and mtime, same analyzer version."""
    return store.get_valid(status.path, status.size, status.mtime_ns, ANALYZER_VERSION)


def remember(store: "Store", path: str, size: int, mtime_ns: int, analysis: Analysis) -> None:
    """Store a fresh analysis under this analyzer version, keyed by the file's size and mtime when read."""
    store.put_analysis(path, size, mtime_ns, ANALYZER_VERSION, analysis)


# ----------------------------------------------------------- burst windows --
def merge_windows(windows: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping or touching time windows as one."""
    out: list[tuple[float, float]] = []
    for lo, hi in sorted(windows):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def uncovered_windows(
    times: Sequence[float], gap: float, covered: list[tuple[float, float]]
) -> list[tuple[float, float]]:
    """The windows ± ``gap`` around ``times``, merged, without the parts already ``covered`` (merged)."""
    out: list[tuple[float, float]] = []
    for lo, hi in merge_windows([(t - gap, t + gap) for t in times]):
        for c_lo, c_hi in covered:
            if c_hi < lo or c_lo > hi:
                continue
            if c_lo > lo:
                out.append((lo, c_lo))
            lo = max(lo, c_hi)
            if lo >= hi:
                break
        if lo < hi or (lo == hi and not covered):
            out.append((lo, hi))
    return out
