"""Watched import folders: new photos are analysed and decided in the background.

watchdog's file-system events (inotify, FSEvents, ReadDirectoryChangesW) by default; its polling observer for a
folder on a network file system (where events miss other machines' writes) or when the folder asks for it.
Events only nominate files: a file is analysed once its size and mtime held still for the settle period
(``watch.settle``), so a copy in progress is never read half-way nor once per write.

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
from .engine import Cancelled, Engine, normalise_request_path
from .errors import InvalidArgument
from .store import WatchRow
from .watch.fstype import on_network
from .watch.rules import is_candidate
from .watch.settle import Ready, Settler

log = logging.getLogger(__name__)

MODES = ("auto", "events", "polling")
BATCH = 200  # ready files per engine run: decisions reach the change log while a big copy is still settling
_EVENTS = [
    FileCreatedEvent,
    FileModifiedEvent,
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


class _Stopping:
    """Progress for ``Engine.run``: the daemon stopping cancels the background run between photos."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop

    def stage(self, name: str, total: int) -> None:
        pass

    def advance(self, path: str) -> None:
        pass

    def emit(self, decisions: Sequence[Any]) -> None:
        pass

    def cancelled(self) -> bool:
        return self._stop.is_set()


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
        for name, target in (("watch-settle", self._settle_loop), ("watch-work", self._work_loop)):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        self._inbox.put(("stop", None))  # both threads sleep on their queue while idle: wake them
        self._ready.put(Ready("", 0, 0))
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
            try:
                first = self._inbox.get(timeout=self.tick if len(settler) else self._idle_wait(recheck))
                self._inbox.put(first)  # handled in order with whatever follows it
            except queue.Empty:
                pass
            if self._stop.is_set():
                return
            try:
                self._drain(settler)
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
            roots = [r for r in self._watches if path == r or path.startswith(r.rstrip(os.sep) + os.sep)]
        return any(not os.path.isdir(r) for r in roots)

    def _drain(self, settler: Settler) -> None:
        gone: list[str] = []
        while True:
            try:
                kind, item = self._inbox.get_nowait()
            except queue.Empty:
                break
            if kind == "stop":
                return
            if kind == "nominate":
                settler.nominate(item)
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
                gone += [p for p in self.engine.store.stamps_under(src) if not os.path.lexists(p)]
            if event.event_type in ("moved", "created"):
                for f in self._walk(dest or src):
                    settler.nominate(f)
            return
        if event.event_type in ("moved", "deleted"):
            settler.forget(src)
            if not os.path.lexists(src):
                gone.append(src)
        target = dest if event.event_type == "moved" else src if event.event_type != "deleted" else ""
        if target and is_candidate(target, self.home):
            settler.nominate(target)

    def _walk(self, folder: str) -> list[str]:
        out: list[str] = []
        for root, dirs, names in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            out += [p for n in names if is_candidate(p := os.path.join(root, n), self.home)]
        return out

    def _catch_up(self, folder: str, settler: Settler) -> None:
        """Compare the folder's tree with the store: new and changed files are nominated, stored photos whose
        file is missing are marked gone (a move is then found by the file that appeared)."""
        if not os.path.isdir(folder):
            return
        stamps = self.engine.store.stamps_under(folder)
        failures = self.engine.store.failures_under(folder)
        present: set[str] = set()
        nominated = 0
        for path in self._walk(folder):
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
                continue
            if f and f.given_up and (f.size, f.mtime_ns) == (st.st_size, st.st_mtime_ns):
                continue
            settler.nominate(path)
            nominated += 1
        missing = [p for p, s in stamps.items() if not s.gone and p not in present and not os.path.lexists(p)]
        if missing:
            self.engine.store.mark_gone(missing)
        if nominated or missing:
            log.info("catch-up of %s: %d new or changed, %d gone", folder, nominated, len(missing))

    def _due_retries(self, settler: Settler) -> None:
        now = time.time()
        with self._lock:
            while self._retries and self._retries[0][0] <= now:
                settler.nominate(heapq.heappop(self._retries)[1])

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
            try:
                st = os.stat(r.path)
            except OSError:
                continue
            if (st.st_size, st.st_mtime_ns) != (r.size, r.mtime_ns):  # written to again: settle again
                self._inbox.put(("nominate", r.path))
                continue
            back = store.revive(r.path, r.size, r.mtime_ns)  # restored from the trash, unchanged
            if store.get_valid(r.path, r.size, r.mtime_ns, ANALYZER_VERSION) is not None:
                if back:  # decided again under today's policy, and the plugins told
                    moved.append(r.path)
                continue  # otherwise touched, not changed: already decided
            if not self._may_try(r):
                continue
            try:
                if self._moved_here(r):
                    moved.append(r.path)
                    continue
            except OSError as exc:
                log.warning("could not read %s to tell whether it moved: %s", r.path, exc)
            todo.append(r)
        if moved:
            self.engine.verdicts.apply(moved)
            store.log_changes(moved)
            log.info("watcher: %d photos moved or restored, their analyses kept", len(moved))
        if not todo or self._stop.is_set():
            return len(moved)
        result = self.engine.run([r.path for r in todo], progress=_Stopping(self._stop))
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
        """Is this file a gone photo under a new name (same size and content hash)? Then its record moves."""
        candidates = self.engine.store.gone_with_size(r.size, ANALYZER_VERSION)
        if not candidates:
            return False
        digest = content_hash(r.path)
        for old, mtime_ns, stored_hash in candidates:
            # Without a stored hash (analysed by a cull, not the watcher) the same mtime stands in for it:
            # a rename or move keeps it.
            same = stored_hash == digest if stored_hash else mtime_ns == r.mtime_ns
            if same and not os.path.lexists(old):
                return self.engine.store.move_photo(old, r.path, r.size, r.mtime_ns, digest)
        return False
