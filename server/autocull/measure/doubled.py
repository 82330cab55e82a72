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
from typing import Any, NamedTuple

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
# across it) the map may exceed the central peak's own shape (scaled to the
# side peak) by at most this share of the peak.
_ACROSS = 0.2
_NARROW = 0.35
# Fewer textured tiles than this: no reading (a few tiles of lines of text or
# bricks repeat without showing the lattice).
_MIN_TILES = 6
# A camera's double is in every part of the frame: at least this share of
# the textured tiles must show the peak at half its height or more (two
# parallel cables, a railing or a window frame are doubled in a few tiles only).
_SHARED = 0.5
# Offsets beyond this (px) are left to the edge rise.
_LAG_MAX = 24.0
# ... and this many times the largest |value| elsewhere on its ray (about
# 0.05 on photos, 0.2-0.3 on pages of text, whose letters repeat every few
# pixels).
_ABOVE_SCENE = 1.5
# ... read from 2.5 px out, and no nearer than this (px) to the peak itself.
_CLEAR_OF_PEAK = 3.0
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


def _form(ux: float | np.ndarray, uy: float | np.ndarray, xx: Any, xy: Any, yy: Any) -> Any:
    """The quadratic form u^T [[xx, xy], [xy, yy]] u: the autocorrelation of the gradient component along u."""
    return ux * ux * xx + 2.0 * ux * uy * xy + uy * uy * yy


class _Maps(NamedTuple):
    """Centred autocorrelations of gx, gy and their cross term (n x n), and the along-lag map ``rho``."""

    axx: np.ndarray
    ayy: np.ndarray
    axy: np.ndarray
    rho: np.ndarray

    def shape_along(self, ux: float, uy: float, ox: np.ndarray, oy: np.ndarray) -> np.ndarray:
        """Autocorrelation of the gradient component along (ux, uy) at offsets (ox, oy), normalised at zero.

        The shape of the central peak for that component: a copy of the scene
        repeats it around the side peak.
        """
        c = self.axx.shape[0] // 2

        def at(m: np.ndarray) -> np.ndarray:
            return _at(m, c + ox, c + oy)

        zero = _form(ux, uy, self.axx[c, c], self.axy[c, c], self.ayy[c, c])
        return _form(ux, uy, at(self.axx), at(self.axy), at(self.ayy)) / max(float(zero), 1e-30)


def _along_lag(spectra: TileSpectra) -> _Maps | None:
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
    along = _form(dx, dy, axx, axy, ayy) / r2
    at_zero = _form(dx, dy, axx[c, c], axy[c, c], ayy[c, c]) / r2
    rho = along / np.maximum(at_zero, 1e-30)
    rho[c, c] = 1.0
    f32 = np.float32
    return _Maps(axx.astype(f32), ayy.astype(f32), axy.astype(f32), rho.astype(f32))


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
    maps = _along_lag(spectra)
    if maps is None:
        return DoubledEdges()
    rho = maps.rho
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
        clear = peak - max(0.0, nearer)
        if clear < _MIN_PEAK or clear <= best_clear:
            continue
        # The scene's own structure along the same ray (letters or slats that
        # repeat every few pixels swing the map up and down): a copy stands
        # well clear of it.
        far = min(2.0, (c - 1) / d)
        near_end, far_start = max(1.0 - _CLEAR_OF_PEAK / d, 2.5 / d), 1.0 + _CLEAR_OF_PEAK / d
        t = np.concatenate([np.linspace(2.5 / d, near_end, 8), np.linspace(far_start, max(far, far_start), 8)])
        if peak < _ABOVE_SCENE * float(np.abs(_at(rho, c + vx * t, c + vy * t)).max()):
            continue
        # A copy of the scene repeats the central peak's own shape around the
        # side peak (narrow across an edge, long along it); a repeating
        # structure's ridge or stripe reaches further than that.
        ux, uy = vx / d, vy / d
        offs = np.array([2.0, 3.0, 4.0, max(6.0, _ACROSS * d)])
        ox = np.concatenate([ux * offs[:2], -ux * offs[:2], -uy * offs, uy * offs])
        oy = np.concatenate([uy * offs[:2], -uy * offs[:2], ux * offs, -ux * offs])
        around = _at(rho, ix + ox, iy + oy)
        expected = peak * maps.shape_along(ux, uy, ox, oy)
        if float(np.max(around - expected)) > _NARROW * peak:
            continue
        if _share_of_tiles(spectra, vx, vy, peak) < _SHARED:
            continue
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
