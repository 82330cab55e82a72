"""A budget of decoded pixels, so memory does not grow with the number of huge files.

The decode stage knows an image's pixel count from its header before it
allocates anything; it holds that many pixels from the budget while the full
size buffer exists. Ordinary photos (a 24 MP JPEG is draft-decoded at 1.5 MP)
hold a sliver and decode side by side on every worker; several huge ones
(a stitched panorama, a 150 MP medium-format RAW demosaiced) decode one after
another instead of all at once. Waiters are served in arrival order, so a big
image is not starved by a stream of small ones. A request larger than the
whole budget (possible only if ``max_pixels`` is set above it) waits until the
budget is empty and then runs alone: it is never refused here, the per-image
limit is the decode stage's job.

One budget per process by default (``SHARED``: tests, anything that decodes in
process). A pool of worker processes makes one budget from its multiprocessing
context (``PixelBudget(capacity, ctx)``: its state in shared memory, its lock a
process-shared one) and installs it in each worker (``install``), so the whole
pool holds at most the capacity whatever the number of workers. A worker killed
while holding pixels (or inside the lock, or while waiting on the condition)
leaves the budget stuck for good: the other workers of its pool may wait on it
forever. So a pool whose worker died is stopped as a whole (workers.py notices
the death even when the executor does not) and the new pool gets a new budget;
the figures below are read without the lock, so a lock a dead worker took with
it never blocks the daemon reading them.
"""

from __future__ import annotations

import ctypes
import threading
from contextlib import contextmanager
from typing import Any, Iterator, Optional

DEFAULT_PIXEL_BUDGET = 250_000_000
"""Decoded pixels in flight per pool of workers (or per process): one image at the default per-image limit
(250 MP), ~0.75-1 GB of 8-bit pixel buffers, which an 8 GB laptop affords while a browser and a photo editor
run next to it."""

MAX_WAITERS = 1024  # requests queued at once; one more waits for a place in the queue (never reached in practice)

# the state, in one array of int64 (shared memory for a pool's budget): counters, then the queue of tickets
_IN_USE, _PEAK, _NEXT, _WAITING, _QUEUE = 0, 1, 2, 3, 4


class PixelBudget:
    """A fair counting semaphore measured in pixels: for the threads of one process, or, made with a
    multiprocessing context, for the processes it is handed to when they start (pickled then, never after)."""

    def __init__(self, capacity: int = DEFAULT_PIXEL_BUDGET, ctx: Optional[Any] = None) -> None:
        if capacity <= 0:
            raise ValueError(f"pixel budget must be positive, not {capacity}")
        self.capacity = capacity
        size = _QUEUE + MAX_WAITERS
        if ctx is None:
            self._cond: Any = threading.Condition()
            self._state: Any = (ctypes.c_int64 * size)()
        else:
            self._cond = ctx.Condition(ctx.Lock())
            self._state = ctx.Array(ctypes.c_int64, size, lock=False)  # guarded by _cond's lock
        self.shared = ctx is not None

    def __getstate__(self) -> dict[str, Any]:
        if not self.shared:
            raise TypeError("a process-local pixel budget cannot be sent to another process")
        return self.__dict__

    # The figures: each one aligned int64 read whole, without the lock (see the module's docstring).
    @property
    def in_use(self) -> int:
        return int(self._state[_IN_USE])

    @property
    def peak(self) -> int:
        """Most pixels ever held at once (what the tests check)."""
        return int(self._state[_PEAK])

    @property
    def waiting(self) -> int:
        """Requests waiting for their turn or for room now."""
        return int(self._state[_WAITING])

    @contextmanager
    def hold(self, pixels: int) -> Iterator[int]:
        """Hold ``pixels`` (clamped to the capacity) for the block; waits, in arrival order, until they fit.
        Given back however the block ends (an exception included)."""
        need = max(0, min(int(pixels), self.capacity))
        s = self._state
        with self._cond:
            while s[_WAITING] >= MAX_WAITERS:
                self._cond.wait()
            ticket = s[_NEXT]
            s[_NEXT] += 1
            s[_QUEUE + s[_WAITING]] = ticket
            s[_WAITING] += 1
            try:
                while not (s[_QUEUE] == ticket and s[_IN_USE] + need <= self.capacity):
                    self._cond.wait()
            finally:
                self._leave(ticket)
                self._cond.notify_all()
            s[_IN_USE] += need
            s[_PEAK] = max(s[_PEAK], s[_IN_USE])
        try:
            yield need
        finally:
            with self._cond:
                s[_IN_USE] -= need
                self._cond.notify_all()

    def _leave(self, ticket: int) -> None:
        """Take ``ticket`` out of the queue (served, or given up by an exception while waiting)."""
        s = self._state
        count = s[_WAITING]
        at = next(k for k in range(count) if s[_QUEUE + k] == ticket)
        for k in range(at, count - 1):
            s[_QUEUE + k] = s[_QUEUE + k + 1]
        s[_WAITING] = count - 1


SHARED = PixelBudget()
"""This process's own budget: what decodes draw from unless a pool installed its shared one."""

_installed: Optional[PixelBudget] = None


def install(budget: Optional[PixelBudget]) -> None:
    """Make ``budget`` the one every decode in this process draws from (a worker, as it starts); None: back
    to ``SHARED``."""
    global _installed
    _installed = budget


def current() -> PixelBudget:
    """The budget decodes draw from here: the pool's, in a worker; else this process's own."""
    return _installed if _installed is not None else SHARED
