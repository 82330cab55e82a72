"""Doubled edges: a shaken frame holding two (or more) sharp copies of the scene.

A camera that shakes during the exposure lingers where its path turns, so a
hand-held frame often holds a few sharp copies of the scene a few pixels
apart (and video frames averaged over a moving camera hold one per frame).
Every copy is sharp, so nothing local reads soft: edge widths, edge rises in
texture and Laplacian energy all call such a frame sharp, while a
photographer sees at once that it is doubled.

Method. The autocorrelation of the image's gradient is that of the sharp
scene's gradient (narrow: natural edges decorrelate within a pixel or two
across them) convolved with the autocorrelation of the blur kernel, which for
two copies at offset ``d`` with shares ``a`` and ``b`` has side peaks at
``+-d`` of height ``ab / (a^2 + b^2)`` of the central one. We take it from the
mean power spectrum of the frame's textured tiles (shared with the streak
detector), reading along each lag only the gradient component along that lag
(so a long straight edge, whose gradient is across it, does not make a ridge
through the origin), normalised by its value at zero lag. A double is a side
peak that stands clear of the values nearer the origin on its ray and of its
neighbours across the ray (a periodic texture makes ridges and stripes, not an
isolated peak), and that is not one of a lattice (half and twice the lag
lower): bricks, tiles and lines of text repeat, a double does not.

References
----------
Y. Shih, D. Krishnan, F. Durand, W. T. Freeman, "Reflection removal using
ghosting cues", CVPR 2015 (a two-copy kernel found as the side peak of the
autocorrelation of an image's derivatives).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from autocull.measure.spectra import TileSpectra

__all__ = ["DoubledEdges", "doubled_edges"]

# Offsets searched (px): below _LAG_MIN the kernel's own spread and the
# scene's edge profiles overlap; beyond n / 4 twice the offset leaves the map.
_LAG_MIN = 4.0
# A side peak counts at this height above the larger of zero and the lowest
# value nearer the origin on its ray, and above its neighbours across the ray
# (measured: sharp photos and pages of text below 0.13, copies of 25-40 %
# at 6-12 px 0.19-0.45).
_MIN_PEAK = 0.18
# Around the peak (2-4 px along its ray, 2-6 px and a fifth of the offset
# across it) the map must fall to this share of the peak.
_ACROSS = 0.2
_NARROW = 0.5
# Fewer textured tiles than this: no reading (a few tiles of lines of text or
# bricks repeat without showing the lattice).
_MIN_TILES = 6
# A camera's double is in every part of the frame: at least this share of
# the textured tiles must show the peak at half its height or more (two
# parallel cables, a railing or a window frame are doubled in a few tiles only).
_SHARED = 0.5
# Offsets beyond this (px) are left to the edge rise.
_LAG_MAX = 24.0
# A lattice: the value at half or twice the lag reaching this share of the peak.
_LATTICE = 0.5


@dataclass(frozen=True)
class DoubledEdges:
    """A second copy of the scene found in a frame (``offset`` 0 when none).

    ``offset`` in px of the input, ``angle`` in degrees (0 = horizontal,
    counter-clockwise as displayed), ``peak`` the side peak's height (0..0.5;
    a copy of share b beside one of share a gives ab / (a^2 + b^2)).
    """

    offset: float = 0.0
    angle: float = 0.0
    peak: float = 0.0

    @property
    def found(self) -> bool:
        return self.offset > 0.0

    @property
    def width(self) -> float:
        """Blur sigma (px) of the two-copy kernel: sqrt(ab) * offset, ab from the peak height."""
        if not self.found:
            return 0.0
        r = min(max(self.peak, 0.0), 0.5)
        return self.offset * math.sqrt(r / (1.0 + 2.0 * r))


@functools.lru_cache(maxsize=4)
def _lags(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Angular frequencies (wy, wx) of an rfft2 layout and the centred lag grid (dy, dx, |d|) of an n map."""
    wy = (np.fft.fftfreq(n) * 2.0 * np.pi)[:, None]
    wx = (np.fft.rfftfreq(n) * 2.0 * np.pi)[None, :]
    k = np.arange(n) - n // 2
    dy, dx = np.meshgrid(k, k, indexing="ij")
    return wy, wx, dy.astype(np.float64), dx.astype(np.float64), np.hypot(dx, dy)


def _along_lag(spectra: TileSpectra) -> np.ndarray | None:
    """Autocorrelation of the gradient component along each lag, normalised at zero lag, centred (n x n)."""
    n = spectra.n
    wy, wx, dy, dx, lag = _lags(n)
    power = spectra.power.astype(np.float64)
    # Every textured tile counts alike: a tile's power over its gradient energy.
    energy = (power * (wx * wx + wy * wy)).sum(axis=(1, 2), keepdims=True)
    if not np.all(energy > 0):
        power = power[energy[:, 0, 0] > 0]
        energy = energy[energy[:, 0, 0] > 0]
        if power.size == 0:
            return None
    mean = (power / energy).mean(axis=0)
    axx = np.fft.fftshift(np.fft.irfft2(mean * wx * wx, s=(n, n)))
    ayy = np.fft.fftshift(np.fft.irfft2(mean * wy * wy, s=(n, n)))
    axy = np.fft.fftshift(np.fft.irfft2(mean * wx * wy, s=(n, n)))
    c = n // 2
    r2 = np.maximum(lag * lag, 1e-12)
    along = (dx * dx * axx + 2.0 * dx * dy * axy + dy * dy * ayy) / r2
    at_zero = (dx * dx * axx[c, c] + 2.0 * dx * dy * axy[c, c] + dy * dy * ayy[c, c]) / r2
    rho = along / np.maximum(at_zero, 1e-30)
    rho[c, c] = 1.0
    return rho.astype(np.float32)


def doubled_edges(spectra: TileSpectra | None) -> DoubledEdges:
    """The strongest second copy of the scene in a frame, from its tiles' spectra.

    Parameters
    ----------
    spectra : TileSpectra or None
        :func:`~autocull.measure.spectra.first_spectra` of the frame (or box);
        None (too few textured tiles) reads as no double.

    Returns
    -------
    DoubledEdges
        ``found`` when a side peak of the gradient autocorrelation stands
        clear; ``width`` is then the blur sigma the two copies amount to.
    """
    if spectra is None or spectra.tiles < _MIN_TILES:
        return DoubledEdges()
    rho = _along_lag(spectra)
    if rho is None:
        return DoubledEdges()
    n = spectra.n
    c = n // 2
    _, _, dy, dx, lag = _lags(n)
    # Candidates: local maxima in the upper half plane (the map is symmetric), high enough to matter.
    local_max = rho >= cv2.dilate(rho, np.ones((3, 3), np.uint8))
    half = (dy < 0) | ((dy == 0) & (dx > 0))
    cand = local_max & half & (rho >= _MIN_PEAK) & (lag >= _LAG_MIN) & (lag <= min(n / 4, _LAG_MAX))
    best = DoubledEdges()
    best_clear = 0.0
    for iy, ix in zip(*np.nonzero(cand)):
        vx, vy, d = float(dx[iy, ix]), float(dy[iy, ix]), float(lag[iy, ix])
        peak = float(rho[iy, ix])
        lattice = max(float(_at(rho, c + 2 * vx, c + 2 * vy)[0]), float(_at(rho, c + vx / 2, c + vy / 2)[0]))
        if lattice >= _LATTICE * peak:
            continue  # a repeating texture (or a lag that is a multiple of the real one)
        f = np.linspace(min(1.5 / d, 0.5), 0.8, 10)
        nearer = float(_at(rho, c + vx * f, c + vy * f).min())
        # A copy's peak is as narrow as the scene's own: it falls away within a
        # few pixels along and across its ray; a repeating structure's ridge
        # or stripe does not.
        ux, uy = vx / d, vy / d
        offs = np.array([2.0, 3.0, 4.0, max(6.0, _ACROSS * d)])
        px = np.concatenate([ix + ux * offs[:2], ix - ux * offs[:2], ix - uy * offs, ix + uy * offs])
        py = np.concatenate([iy + uy * offs[:2], iy - uy * offs[:2], iy + ux * offs, iy - ux * offs])
        around = float(_at(rho, px, py).max())
        clear = peak - max(0.0, nearer)
        if clear >= _MIN_PEAK and around <= _NARROW * peak and clear > best_clear \
                and _share_of_tiles(spectra, vx, vy, peak) >= _SHARED:
            best_clear = clear
            best = DoubledEdges(offset=d, angle=math.degrees(math.atan2(-vy, vx)) % 180.0, peak=peak)
    return best


def _share_of_tiles(spectra: TileSpectra, vx: float, vy: float, peak: float) -> float:
    """Share of the tiles whose own along-lag gradient autocorrelation at (vx, vy) is at least half ``peak``."""
    n = spectra.n
    wy, wx, _, _, _ = _lags(n)
    d = math.hypot(vx, vy)
    along = ((wx * vx + wy * vy) / d) ** 2
    # rfft2 keeps half the spectrum: the inner columns stand for two bins each.
    both = np.full(wx.shape, 2.0)
    both[:, 0] = 1.0
    if n % 2 == 0:
        both[:, -1] = 1.0
    weight = (along * both)[None]
    power = spectra.power.astype(np.float64)
    at_zero = (power * weight).sum(axis=(1, 2))
    at_lag = (power * weight * np.cos(wx * vx + wy * vy)[None]).sum(axis=(1, 2))
    ok = at_zero > 0
    if not np.any(ok):
        return 0.0
    rho = at_lag[ok] / at_zero[ok]
    return float(np.mean(rho >= 0.5 * peak))


def _at(m: np.ndarray, x: float | np.ndarray, y: float | np.ndarray) -> np.ndarray:
    """Bilinear values of map ``m`` at (x, y) (0 outside)."""
    xs = np.atleast_1d(np.asarray(x, np.float32))[None, :]
    ys = np.atleast_1d(np.asarray(y, np.float32))[None, :]
    return cv2.remap(m, xs, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)[0]
