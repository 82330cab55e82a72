"""XMP sidecars: AutoCull's verdicts merged into the photo's ``.xmp`` beside it, never over what is there.

Who reads them: tools that open a folder (Photo Mechanic, digiKam, Capture One, exiftool) and darktable or
Lightroom Classic when they *import* the folder. A catalog that already holds the photo does not re-read a
sidecar another program changed (darktable only with "look for updated XMP files on startup", Lightroom only
with Metadata > Read Metadata from Files): there the plugins are the way in.

What we write (python-xmp-toolkit over Exempi, the locked libxmp of ``taste.ratings``):

* ``xmp:Rating`` — -1 when the decision's pick is "rejected" (darktable and Bridge read -1 as a reject),
  else the decision's stars.
* ``xmp:Label`` — the colour's name as Lightroom writes it ("Red", "Yellow"…); removed when the decision has
  no label and the label there is the one we wrote.
* ``dc:subject`` (flat words) and ``lr:hierarchicalSubject`` ('A|B|C'): our keywords. Our old ones (under the
  policy's keyword_root / content_root, or recorded as ours) are replaced; every other keyword stays.
* ``autocull:*`` (http://autocull.app/ns/1.0/): verdict, quality, reasons, policy version, and what we wrote
  (rating, label, keywords, flat words we added), so the next write tells "set by hand" from "set by us".

A rating or label that differs from what we last wrote (or that was there before we ever wrote) was set by
the photographer or another tool: it is kept unless the policy says ``xmp_overwrite_hand``. darktable's
``darktable:colorlabels`` always counts as the photographer's label (we never write it). Every other field
stays as it was: the merge edits a parsed copy of the old packet and serializes that.

Writing is temp file in the same folder + fsync + rename + fsync of the folder (``config.atomic_write``): a
kill leaves the old sidecar or the new one, and the temp name (``.name.xmp.XXXX``) is hidden and does not end
in ``.xmp``. A sidecar another program rewrote between our read and our rename (its size, mtime or inode
changed) is merged again from its new content, never overwritten.

Names: a photo's own photo.ext.xmp first; Adobe's photo.xmp only for a proprietary RAW that is the one RAW of
its stem and whose stem is not itself a file here (IMG_1.CR2.jpg never takes IMG_1.CR2's IMG_1.CR2.xmp).

Apply does not write here itself: it queues for ``SidecarWriter``, one background thread, so no disk write
happens under the verdict lock.
The photo itself is never opened for writing. A sidecar we cannot parse, a read-only sidecar or folder: that
photo's error, the others go on.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

from .config import ChangedMeanwhile, atomic_write
from .errors import AutoCullError, FileProblem, file_problem
from .paths import within
from .records import Decision
from .taste.ratings import _LOCK, NS_DARKTABLE, NS_XMP, RatingsError, _libxmp, _read_sidecar

log = logging.getLogger(__name__)

NS_AUTOCULL = "http://autocull.app/ns/1.0/"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_LR = "http://ns.adobe.com/lightroom/1.0/"
MODES = ("off", "watched", "always")
NAMES = ("darktable", "adobe")
TRIES = 5  # merges of one sidecar another program keeps rewriting, before it is left to them
LABEL_TEXT = {"red": "Red", "yellow": "Yellow", "green": "Green", "blue": "Blue", "purple": "Purple"}
# Proprietary RAWs: the formats whose XMP lives only in a sidecar, and so the ones Adobe names photo.xmp.
# engine.RAW_EXTENSIONS minus DNG: Lightroom writes a DNG's XMP into the DNG (as for JPEG and TIFF) and never
# names a sidecar IMG_1.xmp for it, and a DNG converted beside its IMG_1.CR2 would otherwise claim the CR2's.
RAW_EXTENSIONS = frozenset(
    "cr2 cr3 crw nef nrw arw srf sr2 orf rw2 raf pef kdc dcr mrw 3fr erf mos raw rwl srw x3f gpr iiq mef mfw".split()
)


class NotCulled(FileProblem):
    """No stored decision for the photo (never culled, or it failed): nothing to write."""

    code = "NOT_CULLED"


class NotWritable(FileProblem):
    """The sidecar or its folder is read-only (or the OS refused the write): it is left as it was."""

    code = "NOT_WRITABLE"


@dataclass(frozen=True)
class SidecarSettings:
    """The policy's sidecar keys (see policy.py): whether hand-set values are overwritten, the new-name style."""

    overwrite_hand: bool = False
    default_name: str = "darktable"  # "darktable": photo.ext.xmp, "adobe": photo.xmp (RAWs only)
    keyword_roots: tuple[str, ...] = ("AutoCull",)

    @classmethod
    def of(cls, policy: Any) -> "SidecarSettings":
        return cls(
            overwrite_hand=bool(policy.xmp_overwrite_hand),
            default_name=str(policy.xmp_sidecar_name),
            keyword_roots=tuple(dict.fromkeys((policy.keyword_root, policy.content_root))),
        )


@dataclass(frozen=True)
class SidecarResult:
    """One photo's outcome: the sidecar (empty when none was chosen), whether it changed, and why not."""

    path: str
    sidecar: str = ""
    written: bool = False
    unchanged: bool = False  # our fields were already there as they would be written: nothing rewritten
    error_code: str = ""
    error_message: str = ""


# ------------------------------------------------------------------ naming
@dataclass(frozen=True)
class Folder:
    """One folder's listing, indexed once per write (a folder of 10,000 photos is listed once, not per photo)."""

    names: frozenset[str]
    lower: frozenset[str]  # the names in lower case: "is this a file here" ignores case, as macOS and Windows do
    stems: dict[str, tuple[str, ...]]  # lower-case stem -> the photos (not sidecars) with it
    dt_style: int  # sidecars named photo.ext.xmp by photos that own their stem
    adobe_style: int  # sidecars named photo.xmp

    @classmethod
    def of(cls, names: Sequence[str]) -> "Folder":
        stems: dict[str, list[str]] = {}
        for n in names:
            if not n.lower().endswith(".xmp"):
                stems.setdefault(os.path.splitext(n)[0].lower(), []).append(n)
        frozen = {k: tuple(v) for k, v in stems.items()}
        lower = {n.lower(): n for n in names}
        dt = adobe = 0
        for n in lower:
            if not n.endswith(".xmp"):
                continue
            if n[:-4] in lower and "." in n[:-4]:
                # A JPEG beside its RAW has photo.jpg.xmp in either style: no evidence of the folder's style.
                dt += _owns(lower[n[:-4]], frozen, frozenset(lower))
            elif n[:-4] in frozen:
                adobe += 1
        return cls(frozenset(names), frozenset(lower), frozen, dt, adobe)

    def style(self, default: str) -> str:
        """The name style the folder's sidecars already use (by count), else ``default``."""
        if self.dt_style == self.adobe_style:
            return default
        return "darktable" if self.dt_style > self.adobe_style else "adobe"


def is_raw(name: str) -> bool:
    """A proprietary RAW: its XMP can live only in a sidecar, so Lightroom names it photo.xmp."""
    return os.path.splitext(name)[1].lower().lstrip(".") in RAW_EXTENSIONS


def _owns(base: str, stems: dict[str, tuple[str, ...]], lower: frozenset[str]) -> bool:
    """Whether photo ``base`` may use Adobe's photo.xmp.

    Only a proprietary RAW, the one RAW with its stem, and only when the stem is not itself a file here: Lightroom
    names photo.xmp for RAWs alone (a JPEG, TIFF, PSD or DNG carries its XMP inside; a JPEG beside its RAW
    gets photo.jpg.xmp), and an export IMG_1.CR2.jpg must not take IMG_1.CR2.xmp, darktable's sidecar of
    IMG_1.CR2, or the two would overwrite each other's verdicts."""
    stem = os.path.splitext(base)[0].lower()
    if not is_raw(base) or stem in lower:
        return False
    return [n for n in stems.get(stem, ()) if is_raw(n)] == [base]


def choose_sidecar(photo: str, folder: Folder, default: str) -> str:
    """The sidecar to merge into: the one the photo already has (darktable's photo.ext.xmp first, then Adobe's
    photo.xmp when the photo owns that stem), else a new one named as the folder's sidecars are, else
    ``default``."""
    where, base = os.path.split(photo)
    stem = os.path.splitext(base)[0]
    for name in (base + ".xmp", base + ".XMP"):
        if name in folder.names:
            return os.path.join(where, name)
    owns = _owns(base, folder.stems, folder.lower)
    if owns:
        for name in (stem + ".xmp", stem + ".XMP"):
            if name in folder.names:
                return os.path.join(where, name)
    adobe = folder.style(default) == "adobe" and owns
    return os.path.join(where, stem + ".xmp" if adobe else base + ".xmp")


# ------------------------------------------------------------------ merge
def _text(meta: Any, ns: str, name: str) -> str:
    return str(meta.get_property(ns, name)).strip() if meta.does_property_exist(ns, name) else ""


def _items(meta: Any, ns: str, name: str) -> list[str]:
    if not meta.does_property_exist(ns, name):
        return []
    return [str(meta.get_array_item(ns, name, i)) for i in range(1, meta.count_array_items(ns, name) + 1)]


def _set_items(meta: Any, ns: str, name: str, values: Sequence[str], *, ordered: bool = False) -> None:
    if meta.does_property_exist(ns, name):
        meta.delete_property(ns, name)
    kind = {"prop_array_is_ordered": True} if ordered else {"prop_value_is_array": True}
    for v in values:
        meta.append_array_item(ns, name, v, kind)


def _set_text(meta: Any, ns: str, name: str, value: str) -> None:
    if value:
        meta.set_property(ns, name, value)
    elif meta.does_property_exist(ns, name):
        meta.delete_property(ns, name)


def _rating_of(d: Decision) -> int:
    return -1 if d.pick == "rejected" else max(0, min(5, int(d.stars)))


def _ours(word: str, roots: Sequence[str]) -> bool:
    return any(word == r or word.startswith(r + "|") for r in roots)


def merge(meta: Any, d: Decision, settings: SidecarSettings) -> None:
    """Put ``d`` into the parsed packet ``meta`` in place; every field not ours stays."""
    # Rating and label: once we recorded what we wrote, any other value there now (0 stars, an emptied or
    # removed label included) was set by hand; before we ever wrote, only a real value (not 0 = unrated) is.
    rating = _text(meta, NS_XMP, "Rating")
    if meta.does_property_exist(NS_AUTOCULL, "Rating"):
        hand_rating = rating != _text(meta, NS_AUTOCULL, "Rating")
    else:
        hand_rating = rating not in ("", "0")
    if settings.overwrite_hand or not hand_rating:
        new = str(_rating_of(d))
        meta.set_property(NS_XMP, "Rating", new)
        meta.set_property(NS_AUTOCULL, "Rating", new)

    label = _text(meta, NS_XMP, "Label")
    if meta.does_property_exist(NS_AUTOCULL, "Label"):
        hand_label = label != _text(meta, NS_AUTOCULL, "Label")
    else:
        hand_label = label != ""
    hand_label = hand_label or bool(_items(meta, NS_DARKTABLE, "colorlabels"))
    if settings.overwrite_hand or not hand_label:
        new = LABEL_TEXT.get(d.color_label, "")
        _set_text(meta, NS_XMP, "Label", new)
        meta.set_property(NS_AUTOCULL, "Label", new)  # recorded even when empty: "no label" is what we wrote

    # keywords: drop ours (under our roots, or recorded as written by us), keep theirs, add today's
    old_ours = set(_items(meta, NS_AUTOCULL, "Keywords"))
    added_before = set(_items(meta, NS_AUTOCULL, "AddedSubjects"))
    hier = [k for k in _items(meta, NS_LR, "hierarchicalSubject") if k not in old_ours]
    hier = [k for k in hier if not _ours(k, settings.keyword_roots)]
    flat = [w for w in _items(meta, NS_DC, "subject") if w not in added_before]
    theirs = set(flat)
    words = [part for k in d.keywords for part in k.split("|")]
    added = [w for w in dict.fromkeys(words) if w not in theirs]
    _set_items(meta, NS_LR, "hierarchicalSubject", list(dict.fromkeys(hier + list(d.keywords))))
    _set_items(meta, NS_DC, "subject", flat + added)
    _set_items(meta, NS_AUTOCULL, "Keywords", list(d.keywords))
    _set_items(meta, NS_AUTOCULL, "AddedSubjects", added)
    for name in ("lr:hierarchicalSubject", "dc:subject"):  # an empty bag says nothing: leave none behind
        ns, local = (NS_LR, name[3:]) if name.startswith("lr:") else (NS_DC, name[3:])
        if meta.does_property_exist(ns, local) and not meta.count_array_items(ns, local):
            meta.delete_property(ns, local)

    meta.set_property(NS_AUTOCULL, "Verdict", d.verdict)
    meta.set_property(NS_AUTOCULL, "Quality", f"{d.quality:.3f}")
    meta.set_property(NS_AUTOCULL, "PolicyVersion", str(d.policy_version))
    _set_items(meta, NS_AUTOCULL, "Reasons", d.reasons, ordered=True)


# ------------------------------------------------------------------ write
def _writable(path: str, what: str) -> None:
    """Refuse a sidecar or folder the photographer made read-only (no write bit for anyone): the OS would let
    root (or the folder's owner, by rename) replace it, but a read-only file says "leave me alone"."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise file_problem(exc, path, doing=f"checking the {what}") from None
    if not mode & 0o222:
        raise NotWritable(f"{path}: the {what} is read-only; its sidecar was left as it was")


def write_one(
    d: Decision,
    folder_index: Folder,
    settings: SidecarSettings,
    libxmp: Any,
    *,
    meanwhile: Optional[Callable[[str], None]] = None,
) -> SidecarResult:
    """Merge ``d`` into its photo's sidecar. Raises FileProblem (RatingsError for a sidecar that does not parse).

    Another program (darktable rewrites its sidecar on every history change) may rewrite the sidecar between
    our read and our rename: its (size, mtime_ns, inode) is checked just before the rename and, when it
    changed, the merge is done again from the new content (``TRIES`` times), never over their edit.
    ``meanwhile(sidecar)`` runs between the read and the rename: the tests make that other program's edit there.
    """
    photo = d.path
    if d.error_code or not d.verdict:
        raise NotCulled(f"{photo}: no decision to write ({d.error_message or 'not culled'})")
    try:
        st = os.stat(photo)
    except OSError as exc:
        raise file_problem(exc, photo) from None
    if not stat.S_ISREG(st.st_mode):
        raise NotCulled(f"{photo}: not a photo file")
    sidecar = choose_sidecar(photo, folder_index, settings.default_name)
    target = os.path.realpath(sidecar)  # a linked sidecar is written where it lives, the link kept
    folder = os.path.dirname(target)
    _writable(folder, "folder")
    _writable(target, "sidecar")
    for _ in range(TRIES):
        try:
            return _merge_into(d, photo, sidecar, target, st.st_mode, settings, libxmp, meanwhile)
        except ChangedMeanwhile:
            continue  # another program rewrote the sidecar while we merged: merge again from what it wrote
    raise NotWritable(f"{target}: another program kept rewriting the sidecar; it was left as that program wrote it")


def _signature(path: str) -> tuple[int, int, int] | None:
    """(size, mtime_ns, inode) of the sidecar, None when there is none: what tells us another program changed it."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino


def _merge_into(
    d: Decision,
    photo: str,
    sidecar: str,
    target: str,
    photo_mode: int,
    settings: SidecarSettings,
    libxmp: Any,
    meanwhile: Optional[Callable[[str], None]],
) -> SidecarResult:
    """One read-merge-write; raises ChangedMeanwhile when the sidecar changed after it was read."""
    seen = _signature(target)
    with _LOCK:
        if seen is not None:
            meta = _read_sidecar(libxmp, target, photo)
            before = meta.serialize_to_str(use_compact_format=True)
            mode = os.stat(target).st_mode & 0o7777
        else:
            meta, before, mode = libxmp.XMPMeta(), "", (photo_mode & 0o666) | 0o600  # as the photo, ours to rewrite
        merge(meta, d, settings)
        text = meta.serialize_to_str(use_compact_format=True)
    if meanwhile is not None:
        meanwhile(target)
    if _signature(target) != seen:
        raise ChangedMeanwhile(target)
    if text == before:
        return SidecarResult(photo, sidecar, written=False, unchanged=True)
    try:
        atomic_write(Path(target), text, mode=mode, still=lambda: _signature(target) == seen)
    except ChangedMeanwhile:
        raise
    except OSError as exc:
        raise NotWritable(f"{target}: cannot write the sidecar ({exc.strerror or exc})") from None
    return SidecarResult(photo, sidecar, written=True)


def _register(libxmp: Any) -> None:
    for uri, prefix in ((NS_AUTOCULL, "autocull"), (NS_LR, "lr"), (NS_DC, "dc")):
        libxmp.XMPMeta.register_namespace(uri, prefix)


def write_sidecars(decisions: Iterable[Decision], settings: SidecarSettings) -> list[SidecarResult]:
    """Merge each decision into its photo's sidecar; one photo's problem is its result, never an exception.

    Raises ``RatingsUnavailable`` only when XMP cannot be written on this machine at all (no Exempi).
    """
    libxmp = _libxmp()
    with _LOCK:
        _register(libxmp)
    listings: dict[str, Folder] = {}
    out: list[SidecarResult] = []
    for d in decisions:
        folder = os.path.dirname(d.path)
        try:
            if folder not in listings:
                try:
                    listings[folder] = Folder.of(os.listdir(folder))
                except OSError as exc:
                    raise file_problem(exc, folder, doing="listing the photo's folder") from None
            out.append(write_one(d, listings[folder], settings, libxmp))
        except (FileProblem, RatingsError) as exc:
            out.append(SidecarResult(d.path, error_code=exc.code, error_message=exc.message))
        except AutoCullError:
            raise
        except Exception as exc:  # Exempi refusing a value, a full disk: this photo's error, never the cull's
            log.exception("writing the XMP sidecar of %s", d.path)
            out.append(SidecarResult(d.path, error_code="INTERNAL", error_message=f"{d.path}: {exc}"))
    return out


def under(path: str, folders: Iterable[str]) -> bool:
    """Whether ``path`` lies in one of ``folders`` (at any depth)."""
    return any(within(path, f) for f in folders)


def missing_decision(path: str) -> SidecarResult:
    """The result for a photo the store has no decision for."""
    return SidecarResult(path, error_code=NotCulled.code, error_message=f"{path}: not culled yet (run autocull cull)")


def lacking(paths: Sequence[str], decided: Iterable[Decision]) -> list[SidecarResult]:
    """Results for the ``paths`` that have no decision among ``decided``."""
    have = {d.path for d in decided}
    return [missing_decision(p) for p in paths if p not in have]


def summary(results: Sequence[SidecarResult]) -> tuple[int, int]:
    """(written, failed)."""
    return sum(r.written for r in results), sum(1 for r in results if r.error_code)


# ------------------------------------------------------------------ background writer
@dataclass
class _Batch:
    seq: int
    decisions: list[Decision]
    settings: SidecarSettings
    version: int
    ticket: Optional["Ticket"]  # an on-demand write waits for its results; apply's writes have none


class Ticket:
    """The results of one on-demand batch (``autocull xmp write``), once the writer got to it."""

    def __init__(self) -> None:
        self._done = threading.Event()
        self._results: list[SidecarResult] = []
        self._error: Optional[BaseException] = None

    def _finish(self, results: list[SidecarResult], error: Optional[BaseException] = None) -> None:
        self._results, self._error = results, error
        self._done.set()

    def wait(self) -> list[SidecarResult]:
        """The batch's results; raises what made XMP unwritable on this machine (no Exempi)."""
        self._done.wait()
        if self._error is not None:
            raise self._error
        return self._results


class SidecarWriter:
    """The one thread that writes sidecars, fed by apply in the order it stores verdicts.

    Why a thread: sidecar writes are disk (or network share) work, and apply holds the verdict lock; a policy
    change with sidecars on over 50,000 photos would otherwise block every Decide, GetChanges and job for
    minutes. Apply stores the verdicts under its lock and only queues them here (never waits). Work made stale
    is skipped: a batch of an older policy version than the newest one apply announced (``supersede``), and
    a photo queued again later (its newer decision is written then). On-demand batches (with a Ticket) are
    always written, in queue order. ``flush`` waits until everything queued so far is done.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._queue: deque[_Batch] = deque()
        self._latest: dict[str, int] = {}  # path -> the last batch that holds it
        self._queued = self._done = 0  # batch numbers
        self._version = 0
        self._thread: Optional[threading.Thread] = None
        self._closed = False
        self._down = ""  # why XMP cannot be written on this machine, logged once

    def supersede(self, version: int) -> None:
        """A new policy version is active: queued work of older versions is not written."""
        with self._cond:
            self._version = max(self._version, version)

    def submit(
        self, decisions: Sequence[Decision], settings: SidecarSettings, version: int, *, wait: bool = False
    ) -> Optional[Ticket]:
        """Queue these decisions' sidecars (made under policy ``version``); never blocks on the writing."""
        ticket = Ticket() if wait else None
        with self._cond:
            if self._closed:
                if ticket is not None:
                    ticket._finish([], AutoCullError("the sidecar writer is stopped (the daemon is shutting down)"))
                return ticket
            self._queued += 1
            batch = _Batch(self._queued, list(decisions), settings, version, ticket)
            for d in batch.decisions:
                self._latest[d.path] = batch.seq
            self._queue.append(batch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sidecars", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return ticket

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Wait until everything queued before this call is written (or skipped). False on timeout."""
        with self._cond:
            target = self._queued
            return self._cond.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: Optional[float] = None) -> None:
        """Write what is queued (up to ``timeout`` seconds), drop the rest with a warning, stop the thread."""
        finished = self.flush(timeout)
        with self._cond:
            dropped = sum(len(b.decisions) for b in self._queue)
            for b in self._queue:
                if b.ticket is not None:
                    b.ticket._finish([], AutoCullError("the sidecar writer stopped before this write"))
            self._queue.clear()
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if not finished and dropped:
            log.warning("stopping: %d XMP sidecars were not written (autocull xmp write PATH… writes them)", dropped)
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return
                batch = self._queue.popleft()
                if batch.ticket is None:
                    todo = [
                        d
                        for d in batch.decisions
                        if batch.version >= self._version and self._latest.get(d.path) == batch.seq
                    ]
                else:
                    todo = batch.decisions
            try:
                self._write(batch, todo)
            finally:
                with self._cond:
                    for d in batch.decisions:
                        if self._latest.get(d.path) == batch.seq:
                            del self._latest[d.path]
                    self._done = batch.seq
                    self._cond.notify_all()

    def _write(self, batch: _Batch, todo: list[Decision]) -> None:
        try:
            results = write_sidecars(todo, batch.settings) if todo else []
        except Exception as exc:  # no Exempi on this machine: said once; the verdicts are stored all the same
            if batch.ticket is not None:
                batch.ticket._finish([], exc)
            elif str(exc) != self._down:
                self._down = str(exc)
                log.error("XMP sidecars are on but cannot be written: %s", exc)
            return
        if batch.ticket is not None:
            batch.ticket._finish(results)
            return
        for r in results:
            if r.error_code:
                log.warning("XMP sidecar not written (%s): %s", r.error_code, r.error_message)
