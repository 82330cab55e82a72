"""Watched import folders: new photos are analysed and decided in the background.

Polling, not file-system events: it works the same on network shares and
memory-card readers, and a file is only taken once its size and mtime have
held still between two scans (so a copy in progress is never read half-way).
Decisions land in the store's change log; plugins fetch them with GetChanges.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Optional

from .engine import Engine, normalise_request_path
from .errors import InvalidArgument

log = logging.getLogger(__name__)


class Watcher:
    def __init__(self, engine: Engine, interval: float) -> None:
        self.engine = engine
        self.interval = interval
        self._stop = threading.Event()
        self._seen: dict[str, tuple[int, int]] = {}  # path -> (size, mtime) at the previous scan
        self._thread: Optional[threading.Thread] = None

    def add(self, path: str) -> None:
        path = normalise_request_path(path)
        if not os.path.isdir(path):
            raise InvalidArgument(f"{path}: not a folder")
        self.engine.store.add_watch(path)

    def remove(self, path: str) -> None:
        if not self.engine.store.remove_watch(normalise_request_path(path)):
            raise InvalidArgument(f"{path}: not watched")

    def folders(self) -> list[tuple[str, float, bool, int]]:
        return [(p, t, a, len(self.engine.store.paths_under(p))) for p, t, a in self.engine.store.watch_folders()]

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.scan_once()
            except Exception:  # the watcher keeps watching whatever one scan hit
                log.exception("watch scan failed")

    def scan_once(self) -> int:
        """Analyse and decide the photos that are new, changed and settled. Returns how many."""
        ready: list[str] = []
        for folder, _, active in self.engine.store.watch_folders():
            if not active or not os.path.isdir(folder):
                continue
            files, _ = self.engine.scan([folder])
            for f in files:
                try:
                    st = os.stat(f)
                except OSError:
                    continue
                sig = (st.st_size, st.st_mtime_ns)
                settled = self._seen.get(f) == sig
                self._seen[f] = sig
                if (
                    settled
                    and st.st_size > 0
                    and self.engine.store.get_valid(f, st.st_size, st.st_mtime_ns, _analyzer()) is None
                ):
                    ready.append(f)
        if not ready or self._stop.is_set():
            return 0
        result = self.engine.run(ready)
        self.engine.store.log_changes(d.path for d in result.decisions if not d.error_code)
        log.info("watcher decided %d new photos", len(ready))
        return len(ready)


def _analyzer() -> str:
    from . import ANALYZER_VERSION

    return ANALYZER_VERSION
