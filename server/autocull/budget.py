"""A process-wide budget of decoded pixels, so memory does not grow with the number of huge files.

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
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from contextlib import contextmanager
from typing import Iterator

DEFAULT_PIXEL_BUDGET = 250_000_000
"""Decoded pixels in flight per process: one image at the default per-image limit (250 MP), ~0.75-1 GB of
8-bit pixel buffers, which an 8 GB laptop affords while a browser and a photo editor run next to it."""


class PixelBudget:
    """A fair counting semaphore measured in pixels."""

    def __init__(self, capacity: int = DEFAULT_PIXEL_BUDGET) -> None:
        if capacity <= 0:
            raise ValueError(f"pixel budget must be positive, not {capacity}")
        self.capacity = capacity
        self._in_use = 0
        self._peak = 0
        self._cond = threading.Condition()
        self._queue: deque[int] = deque()
        self._tickets = itertools.count()

    @property
    def in_use(self) -> int:
        with self._cond:
            return self._in_use

    @property
    def peak(self) -> int:
        """Most pixels ever held at once (what the tests check)."""
        with self._cond:
            return self._peak

    @contextmanager
    def hold(self, pixels: int) -> Iterator[int]:
        """Hold ``pixels`` (clamped to the capacity) for the block; waits, in arrival order, until they fit."""
        need = max(0, min(int(pixels), self.capacity))
        with self._cond:
            ticket = next(self._tickets)
            self._queue.append(ticket)
            try:
                self._cond.wait_for(lambda: self._queue[0] == ticket and self._in_use + need <= self.capacity)
            finally:
                self._queue.remove(ticket)
                self._cond.notify_all()
            self._in_use += need
            self._peak = max(self._peak, self._in_use)
        try:
            yield need
        finally:
            with self._cond:
                self._in_use -= need
                self._cond.notify_all()


SHARED = PixelBudget()
"""The budget every decode in this process draws from."""
