"""The per-file pipeline: one path and the analysis settings in, one file's result (or its per-file error) out.

This is the unit of work a pool of worker processes or a Ray cluster runs: a pure function of the file's
bytes and the settings, with picklable arguments and results (frozen dataclasses), no store, no engine, no
threads of its own. Decode and measure are imported on first use, so importing this module stays cheap (the
daemon's start-up imports it through the engine); their models (the face detector and mesh) load on first
use and are kept per thread (``measure.faces.models``), so a worker process loads them once.

The engine keeps what needs the app: the cache check before (``library.cached_analysis``), the store write
and the CLIP embedding after (the embedding from ``FileResult.clip_rgb``, the same decode's pixels at the size
CLIP needs, so a file is decoded once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Optional, Protocol, Sequence, Union

import numpy as np

from .errors import AutoCullError, FileProblem
from .library import photo_status
from .records import Analysis

log = logging.getLogger(__name__)

ANALYSIS_SIZE = 1280  # decode.ANALYSIS_SIZE (not imported: decode pulls in Pillow at import)


@dataclass(frozen=True)
class AnalysisSettings:
    """What changes an analysis or what comes back with it; everything else is the file's bytes."""

    analysis_size: int = ANALYSIS_SIZE  # long edge in px the measure stage sees
    max_pixels: int = 250_000_000  # larger images are refused (decompression-bomb guard)
    faces: bool = True  # run face detection and eye checks
    clip_size: int = 0  # long edge in px of the pixels returned for the CLIP encoder; 0: none wanted
    thumb_size: int = 0  # long edge in px of the thumbnail JPEG returned for the review page; 0: none wanted


@dataclass(frozen=True)
class FileResult:
    """One analysed file: its analysis, the size and mtime it had when read (the store's cache key), and the
    upright RGB pixels at ``AnalysisSettings.clip_size`` for the CLIP encoder and the thumbnail JPEG at
    ``AnalysisSettings.thumb_size`` (each None when none was asked or making it failed)."""

    path: str
    size: int
    mtime_ns: int
    analysis: Analysis
    clip_rgb: Optional[np.ndarray] = field(default=None, compare=False, repr=False)
    thumb_jpeg: Optional[bytes] = field(default=None, compare=False, repr=False)


Outcome = Union[FileResult, AutoCullError]


class Analyzer(Protocol):
    """Runs the per-file pipeline on many files somewhere else: worker processes on this machine, or a Ray
    cluster. The engine keeps the cache check before and the store writes after; an analyzer only analyses."""

    def analyze(
        self, paths: Iterable[str], settings: AnalysisSettings, cancelled: Callable[[], bool]
    ) -> Iterator[tuple[str, Outcome]]:
        """Yield (path, outcome) once for every path it submitted, as they finish, with a bounded number in
        flight (memory stays flat on 100,000 files); once ``cancelled()`` it submits no more, and the paths it
        never submitted are not yielded. A file that crashes or kills its worker yields that file's error.

        ``paths`` is pulled as there is room for more (a few tasks' worth ahead at most), never all at once:
        the caller checks its cache as the analyzer asks, so the first file is analysed while the last is
        still to be checked."""
        ...

    def close(self) -> None:
        """Release the workers (idempotent)."""
        ...


def attempt_batch(paths: Sequence[str], settings: AnalysisSettings) -> list[Outcome]:
    """``attempt`` on several files in one call: what one task sent to a worker carries, so the cost of a
    round trip is shared by a few files."""
    return [attempt(path, settings) for path in paths]


def analyze_file(path: str, settings: AnalysisSettings) -> FileResult:
    """Decode and measure one file. Raises the file's FileProblem (vanished, a folder, unreadable, corrupt,
    too large...) for a file that cannot be used; anything else raised is a defect, not the file's fault."""
    from .decode import decode, region_reader
    from .measure import analyze

    status = photo_status(path)
    decoded = decode(path, analysis_size=settings.analysis_size, max_pixels=settings.max_pixels)
    analysis = analyze(decoded, faces=settings.faces, region=region_reader(path, decoded))
    return FileResult(
        path,
        status.size,
        status.mtime_ns,
        analysis,
        _clip_or_none(path, decoded.rgb, settings.clip_size),
        _thumb_or_none(path, decoded.rgb, settings.thumb_size),
    )


def _clip_or_none(path: str, rgb: np.ndarray, long_edge: int) -> Optional[np.ndarray]:
    """The pixels for CLIP, or None when none are wanted or making them failed: a failure to make the CLIP
    vector costs the vector, not the photo (its analysis is already made). Logged with the traceback here,
    since in a worker process or on Ray nobody else sees it."""
    if long_edge <= 0:
        return None
    try:
        return clip_pixels(rgb, long_edge)
    except Exception:  # MemoryError included: the analysis-size image fitted, its smaller copy for CLIP did not
        log.exception("%s: could not make the pixels for its CLIP vector; analysed without one", path)
        return None


def _thumb_or_none(path: str, rgb: np.ndarray, long_edge: int) -> Optional[bytes]:
    """The thumbnail JPEG from the pixels already decoded (never a second decode), or None when none is wanted
    or making it failed: like the CLIP pixels, a failure costs the thumbnail (made later by a reduced decode),
    not the photo. Logged here, since in a worker process or on Ray nobody else sees it."""
    if long_edge <= 0:
        return None
    from .thumbs import encode

    try:
        return encode(rgb, long_edge)
    except Exception:  # MemoryError included, as for the CLIP pixels
        log.exception("%s: could not make its thumbnail; analysed without one", path)
        return None


def attempt(path: str, settings: AnalysisSettings) -> Outcome:
    """``analyze_file`` that returns the file's error instead of raising it: what a batch of files sent to a
    worker process or a Ray task answers, so one bad file never costs the others their results."""
    try:
        return analyze_file(path, settings)
    except Exception as exc:  # MemoryError included: one file that does not fit costs that file
        problem = as_problem(path, exc)
        if not isinstance(exc, (FileProblem, MemoryError)):  # a defect: its traceback is only here (a worker)
            log.exception("%s: internal error while analysing it", path)
        return problem


def as_problem(path: str, exc: BaseException) -> AutoCullError:
    """The error a failed file is reported with: its FileProblem as it is, running out of memory as that file's
    problem, anything else as an INTERNAL error (a defect: logged with its traceback by whoever caught it)."""
    if isinstance(exc, FileProblem):
        return exc
    if isinstance(exc, MemoryError):
        return FileProblem(f"{path}: not enough memory to read this image")
    return AutoCullError(f"{path}: internal error: {exc}")


def clip_pixels(rgb: np.ndarray, long_edge: int) -> np.ndarray:
    """The analysis pixels scaled down to ``long_edge`` for CLIP (which sees far fewer), so a result carries
    what the encoder needs and not the full analysis image across a process boundary."""
    from PIL import Image

    from .decode import _fit

    im = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    return np.asarray(_fit(im, long_edge))
