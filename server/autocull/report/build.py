"""The review page's builder: stored decisions in, ``index.html`` plus ``thumbs/<n>.jpg`` out.

Decisions are taken one at a time (a cull's pages as they come) and kept only as the few fields the page shows,
so a 5,000-photo report holds a few MB. Thumbnails come from the home's cache (``thumbs.ThumbCache``); only the
missing ones are made, in parallel processes, by a reduced decode. They are copied, not linked, into the report:
the report stays whole when the user moves it or the cache is cleared, and the cache stays private (0600).

A report folder may come from someone else, so the builder trusts none of it: a link or odd file where its own
files go is refused before anything is written, and it deletes only regular files with its own names. The new
thumbnails go into a temp folder swapped in with ``index.html`` at the end, so a cancelled or failed run leaves
the previous page whole.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import stat
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Optional

from ..config import usable_cpus
from ..errors import FileProblem
from ..library import REPORT_MARKER
from ..thumbs import ThumbCache
from ..workers import FAULT_HANG_ON, FILE_TIMEOUT, SLICE, _exit_with_parent, _kill_pool

INDEX = "index.html"
THUMBS = "thumbs"
CSV = "autocull.csv"
OWN_THUMB = re.compile(r"\d+\.jpg")  # the only names the builder writes in thumbs/, so the only ones it deletes
# extensions a browser shows itself: the lightbox opens the original file; anything else shows the thumbnail
BROWSER_SHOWS = frozenset({"jpg", "jpeg", "jpe", "png", "webp", "gif"})
VERDICTS = {0: "failed", 1: "keep", 2: "review", 3: "reject"}
PICKS = {2: "picked", 3: "rejected"}
LABELS = {2: "red", 3: "yellow", 4: "green", 5: "blue", 6: "purple"}
EYES = {1: "open", 2: "closed", 3: "uncertain"}
SCORES = ("quality", "sharpness", "subject_sharpness", "exposure", "noise", "preference")


class NotAReportFolder(Exception):
    """The output folder holds other files and is not an earlier report: writing there could clobber them."""


@dataclass(frozen=True)
class Built:
    """What was written: the page, how many photos, thumbnails reused from the cache, made now, and missing; the
    old thumbnails folder when it held files AutoCull did not write (kept, not deleted)."""

    index: Path
    photos: int
    reused: int
    made: int
    missing: int
    kept: Optional[Path] = None


def check_own_names(output: Path) -> None:
    """Refuse a folder whose page files (marker, index.html, autocull.csv, thumbs/) are links or the wrong kind
    (lstat, never followed): writing or deleting through them would reach files that are not the report's."""
    for name in (REPORT_MARKER, INDEX, CSV, THUMBS):
        try:
            mode = os.lstat(output / name).st_mode
        except FileNotFoundError:
            continue
        folder = name == THUMBS
        if stat.S_ISLNK(mode):
            what = "a symbolic link"
        elif folder and not stat.S_ISDIR(mode):
            what = "not a folder"
        elif not folder and not stat.S_ISREG(mode):
            what = "not a regular file"
        else:
            continue
        raise NotAReportFolder(
            f"{output / name} is {what}; a report folder holds only what AutoCull wrote there, so nothing was "
            "written. Remove it or choose another folder with -o"
        )


def prepare(output: Path) -> Path:
    """Make ``output`` a report folder (marker first, so a cull running meanwhile already skips it); nothing old
    is deleted here (that waits for the new page). Refuses a non-empty folder that is not a report, and a report
    folder with links where its own files go. A link given as ``output`` is judged by the folder it names."""
    output = Path(output).resolve()
    if output.exists():
        if not output.is_dir():
            raise NotAReportFolder(f"{output} is not a folder; choose another with -o")
        check_own_names(output)
        if not os.path.lexists(output / REPORT_MARKER) and any(output.iterdir()):
            raise NotAReportFolder(f"{output} is not empty and not an AutoCull report; choose another folder with -o")
    output.mkdir(parents=True, exist_ok=True)
    marker = output / REPORT_MARKER
    if not os.path.lexists(marker):
        with open(marker, "x", encoding="utf-8") as fh:  # never written through an existing (hard-linked) file
            fh.write("AutoCull review page: folder scans skip this folder.\n")
    return output


def _new_name(folder: Path, prefix: str, suffix: str = "") -> Path:
    return folder / f"{prefix}{secrets.token_hex(4)}{suffix}"


def new_file(folder: Path, prefix: str, suffix: str = "") -> tuple[int, Path]:
    """A new temp file in ``folder`` with the mode of any file the user makes (0666 less the umask): the page and
    its table are to open and share, unlike mkstemp's 0600."""
    while True:
        path = _new_name(folder, prefix, suffix)
        try:
            return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666), path
        except FileExistsError:
            continue


def new_folder(folder: Path, prefix: str) -> Path:
    """A new temp folder in ``folder`` with the umask's mode (unlike mkdtemp's 0700)."""
    while True:
        path = _new_name(folder, prefix)
        try:
            path.mkdir(0o777)
            return path
        except FileExistsError:
            continue


def remove_own(folder: Path) -> int:
    """Delete the builder's own thumbnails (regular files named ``<n>.jpg``) in ``folder``, and the folder once
    empty; how many other entries were left in it (never followed, never deleted)."""
    left = 0
    if not stat.S_ISDIR(os.lstat(folder).st_mode):  # swapped for a link meanwhile: never followed
        return 1
    with os.scandir(folder) as entries:
        for e in entries:
            if OWN_THUMB.fullmatch(e.name) and e.is_file(follow_symlinks=False):
                os.unlink(e.path)
            else:
                left += 1
    if not left:
        folder.rmdir()
    return left


def box(b: Any) -> Optional[dict[str, float]]:
    """A normalised Box as the page draws it, or None when unset (all zero)."""
    if b.w <= 0 or b.h <= 0:
        return None
    return {"x": round(b.x, 4), "y": round(b.y, 4), "w": round(b.w, 4), "h": round(b.h, 4)}


def photo_entry(n: int, d: Any) -> dict[str, Any]:
    """The fields of one Decision the page shows (the rest of it is not kept)."""
    name = os.path.basename(d.path)
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    scores = {k: round(d.scores[k].value, 4) for k in SCORES if k in d.scores}
    faces = []
    for f in d.faces:
        where = box(f.box)
        if where is not None:
            faces.append({**where, "eye": EYES.get(f.eye_state, ""), "note": f.note, "main": f.main})
    entry: dict[str, Any] = {
        "n": n,
        "name": name,
        "path": d.path,
        "url": Path(d.path).as_uri() if os.path.isabs(d.path) else "",
        "showable": ext in BROWSER_SHOWS,
        "verdict": VERDICTS.get(d.verdict, "failed"),
        "stars": d.stars,
        "pick": PICKS.get(d.pick, ""),
        "label": LABELS.get(d.color_label, ""),
        "reasons": list(d.reasons),
        "quality": round(d.quality, 4),
        "scores": scores,
        "time": d.capture_time,
        "camera": d.camera,
        "burst": d.burst_id,
        "burstSize": d.burst_size,
        "burstRank": d.burst_rank,
        "burstBest": d.burst_best,
        "bracket": d.bracket,
        "w": d.width,
        "h": d.height,
        "faces": faces,
        "subject": box(d.subject_box),
        "subjectSource": d.subject_source,
        "streak": None,
        "error": {"code": d.error.code, "message": d.error.message} if d.error.code else None,
        "thumb": None,
        "thumbError": "",
    }
    if d.HasField("streak") and d.streak.kind:
        entry["streak"] = {"kind": d.streak.kind, "angle": d.streak.angle, "length": d.streak.length}
    if entry["subject"] is not None:
        entry["subject"]["source"] = d.subject_source
    return entry


_hang_on: Optional[str] = None  # the test-only fault seam of workers.FAULT_HANG_ON, in a thumbnail worker


def _init_thumb_worker(hang_on: Optional[str]) -> None:
    """Ctrl+C is the parent's (it kills the pool); the hang seam (tests only: a file on a hung share)."""
    global _hang_on
    _hang_on = hang_on
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()  # a killed `report` (kill -9, the OOM killer) takes its thumbnail workers along


def _make_thumb(home: str, path: str) -> str:
    """In a worker process: make the thumbnail of ``path`` in the home's cache; its location."""
    if _hang_on and _hang_on in path:
        while True:
            time.sleep(3600)
    return str(ThumbCache(Path(home)).make(path))


def timeout_reason(path: str, seconds: float) -> str:
    return (
        f"{path}: making its thumbnail took longer than {seconds:g} s, so it was stopped (the file may be on a "
        "hung network share; the limit is file_timeout_seconds in config.toml)"
    )


def _problem(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, FileProblem) else f"{type(exc).__name__}: {exc}"


class ReportBuilder:
    """Collects decisions (``add``), then makes the missing thumbnails and writes the page (``finish``)."""

    def __init__(self, home: Path, output: Path, file_timeout: float = FILE_TIMEOUT) -> None:
        self.home = Path(home)
        self.output = prepare(Path(output))
        self.staging: Optional[Path] = new_folder(self.output, ".thumbs.new-")  # thumbs/ once the page is written
        self.file_timeout = file_timeout  # seconds one thumbnail may take (config.file_timeout_seconds)
        self.cache = ThumbCache(self.home)
        self.photos: list[dict[str, Any]] = []
        self.missing: list[dict[str, Any]] = []  # entries whose thumbnail is still to be made
        self.reused = 0
        self.made = 0

    def add(self, d: Any) -> None:
        """One decision: kept as its page entry, its cached thumbnail copied now (no image is read)."""
        entry = photo_entry(len(self.photos) + 1, d)
        self.photos.append(entry)
        try:
            cached = self.cache.get(d.path)
        except FileProblem as exc:
            entry["thumbError"] = str(exc)
            return
        if cached is not None and self._placed(entry, cached):
            self.reused += 1
        elif entry["error"] is not None:  # the file failed: its reason is on the tile; do not read it again
            entry["thumbError"] = entry["error"]["message"] or entry["error"]["code"]
        else:
            self.missing.append(entry)

    def _placed(self, entry: dict[str, Any], thumb: Path) -> bool:
        """``_place`` a cached thumbnail; False when it went meanwhile (the daemon replaced it with a newer one
        of an edited photo): then it is made like a missing one."""
        try:
            self._place(entry, thumb)
        except FileNotFoundError:
            return False
        return True

    def _place(self, entry: dict[str, Any], thumb: Path) -> None:
        assert self.staging is not None, "the page was written or discarded"
        shutil.copyfile(thumb, self.staging / f"{entry['n']}.jpg")
        entry["thumb"] = f"{THUMBS}/{entry['n']}.jpg"
        if not entry["w"] or not entry["h"]:  # decided before sizes were stored: the thumbnail has the aspect
            from PIL import Image

            try:
                with Image.open(thumb) as im:
                    entry["w"], entry["h"] = im.size
            except OSError:
                pass

    def make_missing(self) -> None:
        """The thumbnails the cache lacks, made in parallel; a photo that cannot be read, or whose thumbnail
        takes longer than ``file_timeout``, gets its reason (the pool is then killed and the rest go on in a new
        one: a worker stuck on a hung share is never waited for)."""
        todo = deque(self.missing)
        while todo:
            todo = self._one_pool(todo)
        self.missing = []

    def _one_pool(self, todo: deque[dict[str, Any]]) -> deque[dict[str, Any]]:
        """Make thumbnails in one pool until all are made or one hangs or kills its worker; what is left. No more
        are submitted than there are workers, so each starts at once and its clock starts when it is submitted.
        Each pool settles at least one photo, so the rounds end."""
        workers = max(1, min(usable_cpus(), len(todo)))
        pool = ProcessPoolExecutor(workers, initializer=_init_thumb_worker, initargs=(os.environ.get(FAULT_HANG_ON),))
        running: dict[Future[str], tuple[dict[str, Any], float]] = {}
        healthy = False
        try:
            while todo or running:
                while todo and len(running) < workers:
                    entry = todo.popleft()
                    try:
                        running[pool.submit(_make_thumb, str(self.home), entry["path"])] = (entry, time.monotonic())
                    except BrokenProcessPool as exc:  # a worker died meanwhile: its photos fail below
                        if not running:  # (none in flight: this one carries the pool's end, so the rounds end)
                            entry["thumbError"] = f"no thumbnail: {_problem(exc)}"
                            return todo
                        todo.appendleft(entry)
                        break
                done, _ = wait(running, timeout=SLICE, return_when=FIRST_COMPLETED)
                broken = False
                for fut in done:
                    entry, _ = running.pop(fut)
                    try:
                        self._place(entry, Path(fut.result()))
                        self.made += 1
                    except Exception as exc:  # the file's problem, or a worker lost: this photo only
                        entry["thumbError"] = f"no thumbnail: {_problem(exc)}"
                        broken = broken or isinstance(exc, BrokenProcessPool)
                now = time.monotonic()
                overdue = [f for f, (_, since) in running.items() if now - since > self.file_timeout]
                for fut in overdue:
                    entry, _ = running.pop(fut)
                    entry["thumbError"] = f"no thumbnail: {timeout_reason(entry['path'], self.file_timeout)}"
                if overdue or broken:  # the rest start again in a new pool
                    return deque(e for e, _ in running.values()) + todo
            healthy = True
            return todo
        finally:
            if healthy:
                pool.shutdown(wait=True)
            else:
                _kill_pool(pool)

    def finish(self) -> Built:
        """Make the missing thumbnails, then put the page in place: the new thumbnails folder swapped in for the
        old and ``index.html`` replaced atomically, rolled back if either fails; then the old thumbnails go."""
        self.make_missing()
        staging = self.staging
        assert staging is not None, "the page was written or discarded"
        index, thumbs = self.output / INDEX, self.output / THUMBS
        fd, tmp = new_file(self.output, ".index.", ".html")
        old: Optional[Path] = None
        swapped = False
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(render_page(self.photos))
            check_own_names(self.output)  # nothing put a link there while the cull ran
            if os.path.lexists(thumbs):
                old = _new_name(self.output, ".thumbs.old-")
                os.rename(thumbs, old)
            os.rename(staging, thumbs)
            swapped = True
            os.replace(tmp, index)
        except BaseException:
            tmp.unlink(missing_ok=True)
            if swapped:
                os.rename(thumbs, staging)
            if old is not None and not os.path.lexists(thumbs):
                os.rename(old, thumbs)
            raise
        self.staging = None
        kept = None
        if old is not None and remove_own(old):
            kept = old
        missing = sum(1 for p in self.photos if p["thumb"] is None)
        return Built(index, len(self.photos), self.reused, self.made, missing, kept)

    def discard(self) -> None:
        """No page after all (the cull was cancelled or failed): remove the new thumbnails; the previous page, if
        any, is left as it was."""
        if self.staging is not None and self.staging.is_dir():
            remove_own(self.staging)
        self.staging = None


def embed_json(data: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: <, > and & escaped, so no file name or reason can
    close the script element or start markup."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _asset(name: str) -> str:
    return resources.files("autocull.report").joinpath("assets", name).read_text(encoding="utf-8")


def render_page(photos: list[dict[str, Any]]) -> str:
    """The whole page: template with its CSS and JS inlined (one file, offline) and the data embedded last."""
    page = _asset("page.html")
    page = page.replace("/*@CSS@*/", _asset("page.css")).replace("/*@JS@*/", _asset("page.js"))
    head, tail = page.split("@DATA@", 1)  # the data goes in last: nothing is replaced inside it
    return head + embed_json({"version": 1, "photos": photos}) + tail
