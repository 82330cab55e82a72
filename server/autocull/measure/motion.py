"""Linear motion blur: its length and direction, read from the cepstrum.

Why a second method beside the edge width of :mod:`.sharpness`: a streak of
length L turns every edge along the motion into a ramp L px long, and a thin
line into a bar with two *sharp* ends. Edge-width estimates see those ends and
read a long streak as narrower than a short one (on text, brick, gravel a
25 px streak read sharper than a 15 px one). The streak leaves a different,
unmistakable trace: the spectrum of a box blur has zeros every 1/L along the
motion, so the log spectrum is periodic there and its Fourier transform (the
power cepstrum) has a negative peak at a displacement of L px along the
motion (Rom 1975; Cannon 1976). A sharp scene has cepstral structure only at
short lags (strokes, grain, texture); a long negative peak is a streak.

Method: Hann-windowed tiles of the gray image (skipping flat ones), the mean
of their cepstra (a streak over the frame adds up at one displacement, scene
structure does not), minus the mean of each ring of equal lag (isotropic
texture is not motion), then the deepest negative value in an annulus of lags.
A second pass at half resolution reaches streaks longer than a tile allows.
White noise fills the spectral zeros, so a noise floor is added before the
logarithm: a streak buried in noise is left to the edge-width method.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import fft as sfft

from autocull.measure.spectra import TILE, TILE_MIN, TileSpectra, first_spectra, hann_energy

__all__ = ["MotionBlur", "motion_blur", "streak_width", "blockiness"]

# An image (or subject box) under two small tiles on its short side is not read.
_TILE, _TILE_MIN = TILE, TILE_MIN
# Lags searched, in tile px: below _LAG_MIN scene texture dominates; beyond
# tile/_LAG_SPAN the Hann window hides the spectral zeros.
_LAG_MIN = 5
_LAG_SPAN = 2.5
# Floor added to the power spectrum before the log, relative to its mean.
_REL_FLOOR = 1e-3
# Depth a negative cepstral peak needs (ring mean removed): scene texture
# reaches about -0.045 at lags up to ten, about -0.015 beyond fifteen; a streak
# gives about -0.07 to -0.3 (less for very long ones).
_DEPTH_SHORT, _DEPTH_LONG = -0.08, -0.022
_LAG_SHORT, _LAG_LONG = 8.0, 20.0
# Shortest streak length (tile px) a long dip may be a multiple of.
_FUNDAMENTAL_MIN = 2.5
# Beyond the cepstral dip, the power along the streak must be this much lower
# (mean natural log) than across it, in wedges of +-_WEDGE_DEG.
_MIN_DAMPING = 0.5
_WEDGE_DEG = 20.0
# A frame this blocky (see blockiness) is not read for streaks: its JPEG grid
# mimics them. Camera files are analysed well below their stored size, where
# the grid is gone (1.0-1.1); quality 25 at stored size reads 1.3-1.8.
_BLOCKY = 1.25
# The half-resolution pass covers lags from here (level-0 px) up: only
# streaks too long for a full-resolution tile.
_LONG_FROM = 32


@dataclass(frozen=True)
class MotionBlur:
    """A linear streak found in an image (``length`` 0 when none was found).

    ``length`` in px of the input image, ``angle`` in degrees (0 = horizontal,
    counter-clockwise as displayed), ``depth`` the cepstral peak (negative;
    deeper is clearer), ``tiles`` how many tiles were read.
    """

    length: float = 0.0
    angle: float = 0.0
    depth: float = 0.0
    tiles: int = 0

    @property
    def found(self) -> bool:
        return self.length > 0.0


@functools.lru_cache(maxsize=4)
def _geometry(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ring index, lag, angle and the half-plane mask of an n-tile cepstrum."""
    k = np.fft.fftfreq(n, 1.0 / n)
    dy, dx = np.meshgrid(k, k, indexing="ij")
    lag = np.hypot(dx, dy)
    ring = np.rint(lag).astype(np.intp)
    angle = np.degrees(np.arctan2(-dy, dx)) % 180.0  # image y points down
    half = (dy < 0) | ((dy == 0) & (dx > 0))
    return ring, lag, angle, half


def _mean_log_spectrum(spectra: TileSpectra, noise_var: float) -> np.ndarray:
    """Mean over the tiles of their log power spectra, with the noise floor added first."""
    power = spectra.power
    # White noise of variance v puts v * sum(hann^2) into every frequency bin.
    floor = np.maximum(_REL_FLOOR * power.mean(axis=(1, 2), keepdims=True), noise_var * hann_energy(spectra.n))
    logged = np.add(power, floor.astype(np.float32))
    # The mean of the tiles' cepstra is the cepstrum of their mean log spectrum.
    return np.log(logged, out=logged).mean(axis=0)


@functools.lru_cache(maxsize=4)
def _freq_geometry(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Radius (cycles/px) and direction (deg, as displayed) of each rfft2 bin."""
    fy, fx = np.meshgrid(np.fft.fftfreq(n), np.fft.rfftfreq(n), indexing="ij")
    return np.hypot(fx, fy), np.degrees(np.arctan2(-fy, fx)) % 180.0


def _damping(log_spec: np.ndarray, n: int, lag: float, angle: float) -> float:
    """Mean log power lost along ``angle`` against across it, beyond the streak's first zeros.

    A streak of length L divides the power along it by about (pi f L)^2 for
    f > 1/L and leaves the other direction alone; a periodic texture (bricks,
    blinds) that mimics the cepstral dip keeps its fine detail both ways.
    """
    radius, direction = _freq_geometry(n)
    band = (radius >= min(1.5 / max(lag, 1.0), 0.2)) & (radius <= 0.4)

    def wedge(centre: float) -> float:
        d = np.abs((direction - centre + 90.0) % 180.0 - 90.0)
        m = band & (d <= _WEDGE_DEG)
        return float(log_spec[m].mean()) if np.any(m) else 0.0

    return wedge(angle + 90.0) - wedge(angle)


def _depth_line(lag: np.ndarray) -> np.ndarray:
    f = np.clip((lag - _LAG_SHORT) / (_LAG_LONG - _LAG_SHORT), 0.0, 1.0)
    return _DEPTH_SHORT + f * (_DEPTH_LONG - _DEPTH_SHORT)


def _deepest(c: np.ndarray, n: int, lo: float, hi: float) -> tuple[float, float, float, float]:
    """(depth relative to the line, depth, lag, angle) of a streak's dip in a cepstrum.

    The deepest ring-relative dip in the annulus ``lo..hi`` says whether there
    is a streak. A streak of length L dips at every multiple of L, and the
    deepest one found can be a multiple (short streaks have their first dip
    below ``lo``): the length is the smallest D/k whose multiples up to D all
    dip at least half as deep as D.
    """
    ring, lag, angle, half = _geometry(n)
    counts = np.bincount(ring.ravel())
    ring_mean = np.bincount(ring.ravel(), weights=c.ravel()) / np.maximum(counts, 1)
    rel = c - ring_mean[ring]
    sel = half & (lag >= lo) & (lag <= hi)
    if not np.any(sel):
        return 0.0, 0.0, 0.0, 0.0
    score = np.where(sel, rel / -_depth_line(lag), np.inf)  # <= -1 means deep enough
    iy, ix = np.unravel_index(int(np.argmin(score)), score.shape)
    depth = float(rel[iy, ix])
    dy, dx = (iy + n // 2) % n - n // 2, (ix + n // 2) % n - n // 2

    def at(y: float, x: float) -> float:  # deepest of the four pixels around a point
        return min(
            float(rel[yy % n, xx % n]) for yy in {math.floor(y), math.ceil(y)} for xx in {math.floor(x), math.ceil(x)}
        )

    length = float(lag[iy, ix])
    for k in range(int(length / _FUNDAMENTAL_MIN), 1, -1):
        if depth < 0 and all(at(dy * j / k, dx * j / k) <= 0.5 * depth for j in range(1, k)):
            length /= k
            break
    return float(score[iy, ix]), depth, length, float(angle[iy, ix])


def motion_blur(gray: np.ndarray, *, noise_sigma: float = 0.0, spectra: TileSpectra | None = None) -> MotionBlur:
    """Length and direction of a linear motion blur over ``gray``, if any.

    Parameters
    ----------
    gray : ndarray
        2-D float32 gray image in 0..1.
    noise_sigma : float
        Noise sigma (0..255) of the image; spectral zeros below the noise do
        not count.
    spectra : TileSpectra, optional
        :func:`~autocull.measure.spectra.first_spectra` of ``gray`` when the
        caller already has it (the double-edge detector reads the same); the
        caller has then also checked the frame is not too blocky to read.

    Returns
    -------
    MotionBlur
        ``length`` > 0 when the textured tiles, taken together, show a
        streak; sharp parts elsewhere are the caller's concern (measure a
        subject box on its own).
    """
    g = np.asarray(gray, dtype=np.float32)
    if g.ndim != 2:
        raise ValueError(f"expected a 2-D gray image, got shape {g.shape}")
    noise_var = (noise_sigma / 255.0) ** 2
    if min(g.shape) < 2 * _TILE_MIN or (spectra is None and blockiness(g) >= _BLOCKY):
        return MotionBlur()
    best = (0.0, 0.0, 0.0, 0.0)
    scale_best, tiles_read = 1, 0
    level: np.ndarray
    level, scale = g, 1
    while min(level.shape) >= 2 * _TILE_MIN:
        lo = _LAG_MIN if scale == 1 else _LONG_FROM / scale
        # The large tile reaches longer streaks; small images need the small one.
        sizes = tuple(n for n in (_TILE, _TILE_MIN) if lo < n / _LAG_SPAN)
        found_spectra = (
            spectra if scale == 1 and spectra is not None else first_spectra(level, noise_var / (scale * scale), sizes)
        )
        if found_spectra is not None:
            n = found_spectra.n
            tiles_read += found_spectra.tiles
            log_spec = _mean_log_spectrum(found_spectra, noise_var / (scale * scale))
            # The mean of the tiles' cepstra is the cepstrum of their mean log spectrum.
            found = _deepest(sfft.irfft2(log_spec, s=(n, n)), n, lo, n / _LAG_SPAN)
            damping = _damping(log_spec, n, found[2], found[3])
            if found[0] < best[0] and damping >= _MIN_DAMPING:
                best, scale_best = found, scale
        if scale >= 2 or max(level.shape) < 2 * _TILE:
            break
        level = cv2.resize(level, (level.shape[1] // 2, level.shape[0] // 2), interpolation=cv2.INTER_AREA)
        scale *= 2
    score, depth, lag, angle = best
    if score > -1.0:
        return MotionBlur(depth=depth, tiles=tiles_read)
    # A streak of length L (px) has spectral zeros every 1/L: its peak sits at lag L.
    return MotionBlur(length=lag * scale_best, angle=angle, depth=depth, tiles=tiles_read)


def blockiness(gray: np.ndarray) -> float:
    """How much stronger the steps are on an 8 px grid than elsewhere (1 = no grid).

    A JPEG seen at its stored size with heavy compression (quality 40 or
    less) shows its 8 px block grid; the grid's comb of spectral lines puts
    cepstral dips at 8, 16, 24... px along the axes, where a streak's would
    be. The smaller of the horizontal and vertical ratios of the strongest
    column phase (mod 8) to the median phase.
    """
    ratios = []
    for a in (gray[::2], gray[:, ::2].T):  # every other line is plenty for a mean per phase
        d = np.abs(np.diff(a, axis=1))
        w = d.shape[1] // 8 * 8
        if w < 16:
            return 1.0
        phase = d[:, :w].reshape(d.shape[0], -1, 8).mean(axis=(0, 1))
        ratios.append(float(phase.max() / max(float(np.median(phase)), 1e-9)))
    return min(ratios)


def streak_width(length: float) -> float:
    """Edge width (Gaussian sigma, px) equivalent to a streak of ``length`` px.

    A streak of L px spreads a point with variance L^2 / 12: the same second
    moment as a Gaussian of that sigma, so streaks and defocus share one scale.
    """
    return max(length, 0.0) / math.sqrt(12.0)
