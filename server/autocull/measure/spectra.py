"""Power spectra of a frame's textured tiles, shared by the streak and the double-edge detectors.

Both read blur that the whole frame shares from the spectra of many tiles
(a camera's blur is the same in every tile, the scene is not), and the tiles'
FFTs are the larger part of their cost, so they are taken once per image.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["TileSpectra", "tile_spectra", "first_spectra", "hann", "hann_energy", "TILE", "TILE_MIN"]

# Tile size (px) and the smallest tile used when the image is small.
TILE, TILE_MIN = 128, 64
# At most this many tiles per image (stride widened beyond it); fewer than
# _MIN_TILES textured tiles is no reading (one tile's spectrum is its scene's).
_MAX_TILES = 64
_MIN_TILES = 4
# A tile takes part when its contrast (std of gray 0..1) is at least this and
# well above the noise.
_MIN_STD = 0.03
_NOISE_STD_FACTOR = 3.0


@dataclass(frozen=True)
class TileSpectra:
    """|FFT|^2 of the Hann-windowed, mean-removed textured n-px tiles of one image.

    ``power`` is (tiles, n, n // 2 + 1) float32 laid out as numpy's rfft2;
    callers must not write into it.
    """

    n: int
    power: np.ndarray

    @property
    def tiles(self) -> int:
        return int(self.power.shape[0])


@functools.lru_cache(maxsize=4)
def hann(n: int) -> np.ndarray:
    """2-D Hann window of an n-px tile (float32)."""
    return np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)


@functools.lru_cache(maxsize=4)
def hann_energy(n: int) -> float:
    """Sum of the squared window: white noise of variance v puts v times this into every bin."""
    return float(np.sum(hann(n).astype(np.float64) ** 2))


def _tile_origins(shape: tuple[int, int], n: int) -> list[tuple[int, int]]:
    """Top-left corners of the n-px tiles read: half-overlapping, or abutting when too many."""
    h, w = shape

    def starts(size: int, stride: int) -> list[int]:
        return list(range(0, size - n + 1, stride)) or [0]

    stride = n // 2
    if len(starts(h, stride)) * len(starts(w, stride)) > _MAX_TILES:
        stride = n
    return [(y, x) for y in starts(h, stride) for x in starts(w, stride)]


def tile_spectra(g: np.ndarray, n: int, noise_var: float) -> TileSpectra | None:
    """Spectra of the textured n-px tiles of gray ``g`` (0..1), or None when fewer than four are textured.

    ``noise_var`` is the noise variance (gray 0..1 units): a tile must stand
    well above it to count.
    """
    if min(g.shape) < n:
        return None
    # Contrast of every tile from views (cv2 in one pass each, no stacked copy);
    # only the textured ones are copied out, windowed in place and transformed.
    origins = _tile_origins(g.shape, n)
    stats = [cv2.meanStdDev(g[y : y + n, x : x + n]) for y, x in origins]
    mean = np.array([m[0, 0] for m, _ in stats])
    std = np.array([sd[0, 0] for _, sd in stats])
    keep = (std >= _MIN_STD) & (std >= _NOISE_STD_FACTOR * math.sqrt(max(noise_var, 0.0)))
    used = int(keep.sum())
    if used < _MIN_TILES:
        return None
    t = np.empty((used, n, n), np.float32)
    for i, k in enumerate(np.flatnonzero(keep)):
        y, x = origins[k]
        np.subtract(g[y : y + n, x : x + n], np.float32(mean[k]), out=t[i])
    t *= hann(n)
    return TileSpectra(n=n, power=_power_spectra(t))


def first_spectra(g: np.ndarray, noise_var: float, sizes: tuple[int, ...] = (TILE, TILE_MIN)) -> TileSpectra | None:
    """:func:`tile_spectra` at the first tile size that reads.

    Large tiles reach longer blur, small images need small ones.
    """
    for n in sizes:
        found = tile_spectra(g, n, noise_var)
        if found is not None:
            return found
    return None


def _power_spectra(t: np.ndarray) -> np.ndarray:
    """|rfft2|^2 of each (n, n) tile of ``t``, shape (k, n, n // 2 + 1) as numpy lays it out.

    cv2.dft of a real tile is about twice as fast as scipy's rfft2 (the
    measure's largest cost), but packs the half spectrum in place (CCS): inner
    columns hold (re, im) pairs; the zero and Nyquist columns, which are real
    signals' spectra along y, are packed down their own column. ``t`` is
    overwritten.
    """
    k, n, _ = t.shape
    h = n // 2
    for tile in t:
        cv2.dft(tile, dst=tile)
    np.square(t, out=t)
    power = np.empty((k, n, h + 1), np.float32)
    np.add(t[:, :, 1 : n - 1 : 2], t[:, :, 2 : n - 1 : 2], out=power[:, :, 1:h])
    for col, packed in ((0, t[:, :, 0]), (h, t[:, :, n - 1])):
        power[:, 0, col] = packed[:, 0]
        power[:, h, col] = packed[:, n - 1]
        np.add(packed[:, 1 : n - 1 : 2], packed[:, 2 : n - 1 : 2], out=power[:, 1:h, col])
        power[:, n - 1 : h : -1, col] = power[:, 1:h, col]
    return power
