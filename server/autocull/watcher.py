"""Watched import folders: new photos are analysed and decided in the background.

watchdog's file-system events (inotify, FSEvents, ReadDirectoryChangesW) by default; its polling observer for a
folder on a network file system (where events miss other machines' writes) or when the folder asks for it.
Events only nominate files: a file is analysed once its size and mtime held still for the settle period
(``watch_settle``), so a copy in progress is never read half-way nor once per write. A polled folder waits
``max(watch_settle, watch_settle_network)``: a network client caches attributes for seconds, so a file another
machine still writes can look still for longer than the local period.

Three threads: watchdog's observers put events in an inbox; the settle thread turns them into nominations,
gone marks and ready files; the worker analyses ready files (``Engine.run``: decided and applied under the
active policy) and logs them in the change log plugins read with GetChanges. A file whose record is gone under
another name with the same size and content hash was moved: its record follows it, no decode. A failing file
is tried again with backoff up to the policy's ``watch_retries``, then given up until it changes.
On start (and on add) each folder's tree is compared with the store: what arrived, changed or went while the
daemon was down is caught up.
"""

from __future__ import annotations

import hashlib
import heapq
import logging
import os
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
from watchdog.observers.polling import PollingObserver

from . import ANALYZER_VERSION
from .engine import Cancelled, Engine, QuietProgress
from .errors import InvalidArgument
from .library import REPORT_MARKER, in_report, normalise_request_path, unreadable_name
from .paths import shown, within
from .store import WatchRow
from .watch.fstype import on_network
from .watch.rules import bad_name, is_candidate
from .watch.settle import Ready, Settler

log = logging.getLogger(__name__)

MODES = ("auto", "events", "polling")
BATCH = 200  # ready files per engine run: decisions reach the change log while a big copy is still settling
_EVENTS = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileAttribEvent,  # inotify's IN_ATTRIB: `touch`, or cp -p / rsync setting the mtime after the copy
    FileClosedEvent,
    FileMovedEvent,
    FileDeletedEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]


@dataclass(frozen=True)
class FolderInfo:
    path: str
    added_at: float
    active: bool
    mode: str  # as asked: auto | events | polling
    polling: bool  # what it runs on now
    photos: int


class _Inbox(FileSystemEventHandler):
    """watchdog calls this from its observer threads: hand the event over, nothing more."""

    def __init__(self, inbox: "queue.SimpleQueue[tuple[str, Any]]") -> None:
        self.inbox = inbox

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.inbox.put(("event", event))


def content_hash(path: str) -> str:
    """BLAKE2b of the whole file: with the size, what says a file that appeared is one that moved."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "blake2b").hexdigest()


class Watcher:
    def __init__(
        self, engine: Engine, interval: float, settle: Optional[float] = None, backoff: Optional[float] = None
    ) -> None:
        self.engine = engine
        self.interval = interval  # seconds between two looks of the polling observer
        self.settle: float = engine.config.watch_settle if settle is None else settle
        # polled folders (network shares, card readers): their attribute caches hide a write for seconds
        self.settle_polled: float = max(self.settle, getattr(engine.config, "watch_settle_network", self.settle))
        self.backoff: float = engine.config.watch_retry_backoff if backoff is None else backoff
        self.home = os.path.realpath(engine.home)
        self._stop = threading.Event()
        self._inbox: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._ready: queue.SimpleQueue[Ready] = queue.SimpleQueue()
        self._handler = _Inbox(self._inbox)
        self._lock = threading.Lock()
        self._observers: dict[bool, BaseObserver] = {}  # polling? -> observer
        self._watches: dict[str, tuple[bool, ObservedWatch]] = {}  # folder -> (polling, watch)
        self._retries: list[tuple[float, str]] = []  # heap of (when, path): failed files tried again
        self._hashing: queue.SimpleQueue[tuple[str, int, int]] = queue.SimpleQueue()  # stored photos lacking one
        self._threads: list[threading.Thread] = []
        self.tick = max(0.05, min(0.5, self.settle / 4))

    # ------------------------------------------------------------ folders --
    def add(self, path: str, mode: str = "auto") -> None:
        path = normalise_request_path(path)
        if mode not in MODES:
            raise InvalidArgument(f"watch mode {mode!r} is not one of {', '.join(MODES)}")
        if not os.path.isdir(path):
            raise InvalidArgument(f"{path}: not a folder")
        self.engine.store.add_watch(path, mode)
        self._unschedule(path)  # a new mode takes effect at once
        if self._threads:
            self._schedule(WatchRow(path, time.time(), True, mode))
            self._inbox.put(("catchup", path))

    def remove(self, path: str) -> None:
        path = normalise_request_path(path)
        if not self.engine.store.remove_watch(path):
            raise InvalidArgument(f"{path}: not watched")
        self._unschedule(path)

    def folders(self) -> list[FolderInfo]:
        with self._lock:
            polling = {p: w[0] for p, w in self._watches.items()}
        return [
            FolderInfo(
                r.path,
                r.added_at,
                r.active,
                r.mode,
                polling.get(r.path, r.mode == "polling"),
                self.engine.store.count_under(r.path),
            )
            for r in self.engine.store.watch_folders()
        ]

    def is_watching(self, path: str) -> bool:
        """The folder is scheduled with an observer now (False while it is missing, e.g. a card not inserted)."""
        with self._lock:
            return path in self._watches

    def _observer(self, polling: bool) -> BaseObserver:
        obs = self._observers.get(polling)
        if obs is None:
            obs = PollingObserver(timeout=self.interval) if polling else Observer()
            obs.daemon = True
            obs.start()
            self._observers[polling] = obs
        return obs

    def _schedule(self, row: WatchRow) -> None:
        """Start watching one folder with events, or polling when asked or on a network file system. A folder
        that cannot be watched with events (inotify's watch limit) is polled; one that is missing (a card not
        in the reader) is tried again later."""
        if not row.active or not os.path.isdir(row.path):
            return
        polling = row.mode == "polling" or (row.mode == "auto" and on_network(row.path))
        with self._lock:
            if row.path in self._watches:
                return
            try:
                watch = self._observer(polling).schedule(
                    self._handler,
                    row.path,
                    recursive=True,
                    event_filter=_EVENTS,
                )
            except OSError as exc:
                if polling:
                    raise
                log.warning("cannot watch %s with file-system events (%s); polling it instead", row.path, exc)
                polling = True
                watch = self._observer(True).schedule(
                    self._handler,
                    row.path,
                    recursive=True,
                    event_filter=_EVENTS,
                )
            self._watches[row.path] = (polling, watch)
        log.info("watching %s (%s)", row.path, "polling" if polling else "file-system events")

    def _unschedule(self, path: str) -> None:
        with self._lock:
            entry = self._watches.pop(path, None)
            if entry is not None:
                try:
                    self._observers[entry[0]].unschedule(entry[1])
                except (KeyError, OSError):  # the folder went away with its watch
                    pass

    # -------------------------------------------------------- life cycle --
    def start(self) -> None:
        for name, target in (
            ("watch-settle", self._settle_loop),
            ("watch-work", self._work_loop),
            ("watch-hash", self._hash_loop),
        ):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self._inbox.put(("stop", None))  # both threads sleep on their queue while idle: wake them
        self._ready.put(Ready("", 0, 0))
        self._hashing.put(("", 0, 0))
        for obs in list(self._observers.values()):
            obs.stop()
        for t in self._threads:
            t.join(timeout=10)
        for obs in list(self._observers.values()):
            obs.join(timeout=10)

    # ------------------------------------------------------- settle thread --
    def _settle_loop(self) -> None:
        """Idle, it sleeps on the inbox (waking only to look for missing folders and for due retries); while
        files settle it ticks, stat-ing them."""
        settler = Settler(self.settle)
        for row in self.engine.store.watch_folders():  # catch-up: what happened while the daemon was down
            try:
                self._schedule(row)
                self._catch_up(row.path, settler)
            except Exception:
                log.exception("could not start watching %s", row.path)
        last_check = time.monotonic()
        recheck = max(self.interval, 1.0)
        while not self._stop.is_set():
            first: Optional[tuple[str, Any]] = None
            try:
                first = self._inbox.get(timeout=self.tick if len(settler) else self._idle_wait(recheck))
            except queue.Empty:
                pass
            if self._stop.is_set():
                return
            try:
                self._drain(settler, first)  # the one waited for first, then whatever followed it, in order
                now = time.monotonic()
                self._due_retries(settler)
                for r in settler.tick(now):
                    self._ready.put(r)
                if now - last_check >= recheck:  # a card put back, a share mounted again
                    last_check = now
                    self._reschedule_missing(settler)
            except Exception:  # the watcher keeps watching whatever one round hit
                log.exception("watcher round failed")

    def _idle_wait(self, recheck: float) -> float:
        with self._lock:
            due = self._retries[0][0] - time.time() if self._retries else recheck
        return max(0.05, min(recheck, due))

    def _reschedule_missing(self, settler: Settler) -> None:
        """A folder that went away (card out, share unmounted) loses its watch; when it is back it is watched
        again and caught up."""
        for row in self.engine.store.watch_folders():
            with self._lock:
                known = row.path in self._watches
            here = os.path.isdir(row.path)
            if known and not here:
                self._unschedule(row.path)
                log.info("%s is not there any more (unmounted?); watching it again once it is back", row.path)
            elif not known and here and row.active:
                self._schedule(row)
                self._catch_up(row.path, settler)

    def _offline(self, path: str) -> bool:
        """The watched folder holding ``path`` is itself missing: a card pulled out or a share unmounted, not
        photos deleted, so nothing is marked gone."""
        with self._lock:
            roots = [r for r in self._watches if within(path, r)]
        return any(not os.path.isdir(r) for r in roots)

    def _drain(self, settler: Settler, first: Optional[tuple[str, Any]] = None) -> None:
        """Handle ``first`` (already taken from the inbox), then everything queued behind it, in arrival order:
        an overwrite by unlink and rewrite is a delete followed by a create, never the other way round."""
        gone: list[str] = []
        while True:
            if first is not None:
                (kind, item), first = first, None
            else:
                try:
                    kind, item = self._inbox.get_nowait()
                except queue.Empty:
                    break
            if kind == "stop":
                return
            if kind == "nominate":
                self._nominate(settler, item)
            elif kind == "catchup":
                self._catch_up(item, settler)
            else:
                self._on_event(item, settler, gone)
        if gone:
            n = self.engine.store.mark_gone(gone)
            if n:
                log.info("watcher: %d photos deleted or moved away (kept, marked gone)", n)

    def _on_event(self, event: FileSystemEvent, settler: Settler, gone: list[str]) -> None:
        src = os.fsdecode(event.src_path)
        dest = os.fsdecode(event.dest_path) if event.dest_path else ""
        if event.event_type in ("moved", "deleted") and self._offline(src):
            return
        if event.is_directory:
            if event.event_type in ("moved", "deleted"):
                store = self.engine.store
                gone += [p for p in [*store.stamps_under(src), *store.failures_under(src)] if not os.path.lexists(p)]
            if event.event_type in ("moved", "created"):
                for f in self._walk(dest or src):
                    self._nominate(settler, f)
            return
        if event.event_type in ("moved", "deleted"):
            settler.forget(src)
            if not os.path.lexists(src):
                gone.append(shown(src))  # a failure row of a badly named file is kept under its shown name
        target = dest if event.event_type == "moved" else src if event.event_type != "deleted" else ""
        if target and is_candidate(target, self.home):
            self._nominate(settler, target)
        elif target and bad_name(target, self.home):
            self._refuse_name(target)

    def _nominate(self, settler: Settler, path: str) -> None:
        if in_report(path):  # a review page's thumbnails written in a watched folder are not photos
            return
        settler.nominate(path, self.settle_polled if self._polled(path) else None)

    def _polled(self, path: str) -> bool:
        """Is ``path`` in a folder watched by polling (where a longer settle period applies)?"""
        with self._lock:
            return any(polling and within(path, root) for root, (polling, _) in self._watches.items())

    def _refuse_name(self, path: str) -> None:
        """A photo whose name is not valid UTF-8 cannot be stored nor named to a client: it is listed once as
        given up (BAD_PATH, under its name with the bad bytes escaped), never analysed."""
        name = shown(path)
        try:
            st = os.stat(path)
            known = self.engine.store.failure(name)
            if known is not None and (known.size, known.mtime_ns) == (st.st_size, st.st_mtime_ns):
                return
            problem = unreadable_name(path)
            self.engine.store.give_up(name, problem.code, problem.message, st.st_size, st.st_mtime_ns)
            log.warning("watcher cannot read %s: its name is not valid UTF-8", name)
        except OSError:
            pass  # gone already

    def _walk(self, folder: str, refused: Optional[list[str]] = None) -> list[str]:
        """The candidate photos under ``folder``; badly named ones are refused on the way (and their shown names
        added to ``refused``)."""
        out: list[str] = []
        for root, dirs, names in os.walk(folder):
            if REPORT_MARKER in names:  # a review page (``autocull report``): its thumbnails are not photos
                dirs[:] = []
                continue
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for n in names:
                p = os.path.join(root, n)
                if is_candidate(p, self.home):
                    out.append(p)
                elif bad_name(p, self.home):
                    self._refuse_name(p)
                    if refused is not None:
                        refused.append(shown(p))
        return out

    def _catch_up(self, folder: str, settler: Settler) -> None:
        """Compare the folder's tree with the store: new and changed files are nominated, stored photos whose
        file is missing are marked gone (a move is then found by the file that appeared)."""
        if not os.path.isdir(folder):
            return
        stamps = self.engine.store.stamps_under(folder)
        failures = self.engine.store.failures_under(folder)
        refused: list[str] = []
        present: set[str] = set()
        nominated = 0
        for path in self._walk(folder, refused):
            present.add(path)
            try:
                st = os.stat(path)
            except OSError:
                continue
            s, f = stamps.get(path), failures.get(path)
            if (
                s
                and not s.gone
                and (s.size, s.mtime_ns, s.analyzer_version) == (st.st_size, st.st_mtime_ns, ANALYZER_VERSION)
            ):
                if not s.hashed:  # analysed by a cull or before v4: hashed now, while the file is here to read
                    self._hashing.put((path, s.size, s.mtime_ns))
                continue
            if f and f.given_up and (f.size, f.mtime_ns) == (st.st_size, st.st_mtime_ns):
                continue
            self._nominate(settler, path)
            nominated += 1
        missing = [p for p, s in stamps.items() if not s.gone and p not in present and not os.path.lexists(p)]
        present.update(refused)
        missing += [p for p in failures if p not in present and p not in stamps and not os.path.lexists(p)]
        if missing:
            self.engine.store.mark_gone(missing)
        if nominated or missing:
            log.info("catch-up of %s: %d new or changed, %d gone", folder, nominated, len(missing))

    def _due_retries(self, settler: Settler) -> None:
        now = time.time()
        due: list[str] = []
        with self._lock:
            while self._retries and self._retries[0][0] <= now:
                due.append(heapq.heappop(self._retries)[1])
        for path in due:  # outside the lock: nominating looks up the folder's watch under it
            self._nominate(settler, path)

    def _retry_at(self, when: float, path: str) -> None:
        with self._lock:
            heapq.heappush(self._retries, (when, path))

    # -------------------------------------------------------- work thread --
    def _work_loop(self) -> None:
        while not self._stop.is_set():
            first = self._ready.get()
            if self._stop.is_set():
                return
            batch = [first]
            while len(batch) < BATCH:
                try:
                    batch.append(self._ready.get_nowait())
                except queue.Empty:
                    break
            try:
                self.process(batch)
            except Cancelled:  # the daemon is stopping; catch-up finds these files on the next start
                return
            except Exception:  # one failing round never stops the watcher; its files are tried again later
                log.exception("watcher could not process %d files; trying them again later", len(batch))
                for r in batch:
                    self._retry_at(time.time() + self.backoff, r.path)

    def process(self, batch: Sequence[Ready]) -> int:
        """Analyse and decide settled files: moved ones keep their record, given-up ones are left alone,
        the rest go through the engine. Returns how many photos were decided."""
        store = self.engine.store
        todo: list[Ready] = []
        moved: list[str] = []
        for r in batch:
            if not r.path:
                continue
            try:
                step = self._triage(r)
            except Exception as exc:  # one file's trouble stays with it: the rest of the batch goes on
                log.exception("watcher could not look at %s", shown(r.path))
                self._file_failed(r, exc)
                continue
            if step == "moved":
                moved.append(r.path)
            elif step == "analyse":
                todo.append(r)
        if moved:
            self.engine.verdicts.apply(moved)
            store.log_changes(moved)
            log.info("watcher: %d photos moved or restored, their analyses kept", len(moved))
        if not todo or self._stop.is_set():
            return len(moved)
        result = self.engine.run([r.path for r in todo], progress=QuietProgress(self._stop))
        by_path = {r.path: r for r in todo}
        ok = [d.path for d in result.decisions if not d.error_code and d.path in by_path]
        store.log_changes(ok)
        for path in ok:
            r = by_path[path]
            try:
                store.set_content_hash(path, r.size, r.mtime_ns, content_hash(path))
            except OSError:
                pass  # gone meanwhile: its move cannot be recognised, nothing else is lost
        policy = self.engine.policy
        for d in result.decisions:
            if d.error_code and d.path in by_path:
                r = by_path[d.path]
                f = store.schedule_retry(d.path, r.size, r.mtime_ns, policy.watch_retries, self.backoff)
                if f is not None and f.next_at is not None:
                    self._retry_at(f.next_at, d.path)
                elif f is not None:
                    log.warning("watcher gives up on %s after %d attempts: %s", d.path, f.attempts, f.message)
        if ok:
            log.info("watcher decided %d new photos", len(ok))
        return len(ok) + len(moved)

    def _triage(self, r: Ready) -> str:
        """What one settled file needs: "analyse", "moved" (its record followed it, or it came back from the
        trash: decide and log it) or "" (nothing: gone, touched only, given up, or settling again)."""
        store = self.engine.store
        if not is_candidate(r.path):  # a name the store cannot hold: listed as BAD_PATH, never analysed
            self._refuse_name(r.path)
            return ""
        try:
            st = os.stat(r.path)
        except OSError:
            return ""
        if (st.st_size, st.st_mtime_ns) != (r.size, r.mtime_ns):  # written to again: settle again
            self._inbox.put(("nominate", r.path))
            return ""
        back = store.revive(r.path, r.size, r.mtime_ns)  # restored from the trash, unchanged
        if store.get_valid(r.path, r.size, r.mtime_ns, ANALYZER_VERSION) is not None:
            return "moved" if back else ""  # revived: decided again and the plugins told; else only touched
        if not self._may_try(r):
            return ""
        try:
            if self._moved_here(r):
                return "moved"
        except OSError as exc:
            log.warning("could not read %s to tell whether it moved: %s", r.path, exc)
        return "analyse"

    def _file_failed(self, r: Ready, exc: Exception) -> None:
        """An unexpected error on one file goes to its failure lane (retried with backoff, then given up)."""
        name = shown(r.path)
        try:
            store = self.engine.store
            if name != r.path or isinstance(exc, UnicodeError):  # the name itself: no attempt can help
                store.give_up(name, "BAD_PATH", f"{name}: the file name cannot be used: {exc}", r.size, r.mtime_ns)
                return
            store.record_failure(name, "INTERNAL", f"{name}: {exc}")
            f = store.schedule_retry(name, r.size, r.mtime_ns, self.engine.policy.watch_retries, self.backoff)
            if f is not None and f.next_at is not None:
                self._retry_at(f.next_at, r.path)
        except Exception:
            log.exception("could not record the failure of %s", name)

    def _may_try(self, r: Ready) -> bool:
        """The failure lane: a file that failed as it is now waits for its next attempt or was given up."""
        f = self.engine.store.failure(r.path)
        if f is None:
            return True
        if (f.size, f.mtime_ns) != (r.size, r.mtime_ns):
            self.engine.store.clear_failure(r.path)  # changed since: a fresh start
            return True
        if f.given_up:
            return False
        if f.next_at is not None and f.next_at > time.time():
            self._retry_at(f.next_at, r.path)
            return False
        return True

    def _moved_here(self, r: Ready) -> bool:
        """Is this file a gone photo under a new name (same size and content hash)? Then its record moves.

        A gone photo without a stored hash (analysed by a cull, or before the watcher kept hashes, and gone before
        a catch-up could hash it) is taken only when it is the one gone photo of this size, mtime and extension:
        two exports of the same size written in the same tick are not told apart by a guess, they are analysed.
        """
        candidates = self.engine.store.gone_with_size(r.size, ANALYZER_VERSION)
        if not candidates:
            return False
        digest = content_hash(r.path)
        for old, _, stored_hash in candidates:
            if stored_hash == digest and not os.path.lexists(old):
                return self.engine.store.move_photo(old, r.path, r.size, r.mtime_ns, digest)
        ext = os.path.splitext(r.path)[1].lower()
        alike = [
            old
            for old, mtime_ns, stored_hash in candidates
            if not stored_hash and mtime_ns == r.mtime_ns and os.path.splitext(old)[1].lower() == ext
        ]
        if len(alike) == 1 and not os.path.lexists(alike[0]):
            return self.engine.store.move_photo(alike[0], r.path, r.size, r.mtime_ns, digest)
        return False

    # -------------------------------------------------------- hash thread --
    def _hash_loop(self) -> None:
        """Content hashes for stored photos that lack one, found by catch-up while their files are here: a later
        move of them is then recognised by content, not guessed from size and mtime. Reads one file at a time,
        off the settle and work threads."""
        while not self._stop.is_set():
            path, size, mtime_ns = self._hashing.get()
            if self._stop.is_set() or not path:
                continue
            try:
                st = os.stat(path)
                if (st.st_size, st.st_mtime_ns) == (size, mtime_ns):
                    self.engine.store.set_content_hash(path, size, mtime_ns, content_hash(path))
            except OSError:
                pass  # gone or unreadable meanwhile: its move falls back to the unique size + mtime match
            except Exception:
                log.exception("could not hash %s", path)
