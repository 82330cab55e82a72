"""When a file being written is complete: its size and mtime held still for the settle period.

An event only nominates a file: a created event fires before the copy ends, and
a slow copy writes for seconds. Each tick stats the nominated files; one is ready
once the same (size, mtime) has been seen for ``settle`` seconds, and it is
handed out once (a later event nominates it again, and the store then tells
whether it changed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class Seen:
    size: int
    mtime_ns: int
    since: float  # when this (size, mtime) was first seen


@dataclass(frozen=True)
class Ready:
    path: str
    size: int
    mtime_ns: int


class Settler:
    """Nominated files and the signature each last showed. Not thread-safe: one thread owns it."""

    def __init__(self, settle: float, stat: Callable[[str], os.stat_result] = os.stat) -> None:
        self.settle = settle
        self._stat = stat
        self._seen: dict[str, Optional[Seen]] = {}
        self._longer: dict[str, float] = {}  # path -> its own settle period, when longer than the default

    def nominate(self, path: str, settle: Optional[float] = None) -> None:
        """Watch ``path`` until it settles; ``settle`` overrides the period for it (a network share's files wait
        out its attribute cache)."""
        self._seen.setdefault(path, None)
        if settle is not None and settle > self.settle:
            self._longer[path] = settle

    def forget(self, path: str) -> None:
        self._seen.pop(path, None)
        self._longer.pop(path, None)

    def __len__(self) -> int:
        return len(self._seen)

    def tick(self, now: float) -> list[Ready]:
        """Stat every nominated file; the ones settled are returned and forgotten, the vanished dropped."""
        ready: list[Ready] = []
        for path, before in list(self._seen.items()):
            try:
                st = self._stat(path)
            except (OSError, ValueError):  # gone, or renamed before it settled: its new name gets its own event
                self.forget(path)
                continue
            if before is None or (before.size, before.mtime_ns) != (st.st_size, st.st_mtime_ns):
                self._seen[path] = Seen(st.st_size, st.st_mtime_ns, now)
                continue
            # An empty file may be a copy not begun: it waits ten periods, then goes (and fails as EMPTY).
            settle = self._longer.get(path, self.settle)
            if now - before.since >= settle * (1 if st.st_size > 0 else 10):
                ready.append(Ready(path, st.st_size, st.st_mtime_ns))
                self.forget(path)
        return ready
