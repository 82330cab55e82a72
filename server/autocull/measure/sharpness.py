"""Sharpness of a frame or a region, as a photographer means it.

What decides, in order (each a blur width in px at this resolution, the
largest wins; see :func:`measure_region`):

* The **main edges' rise** (:mod:`.edges`): how far the most contrasted edges
  take to rise from 10 % to 90 % of their step. Ghosts of the scene, double
  edges, defocus-disk rims and JPEG block edges are small steps on a long
  ramp and do not make it read sharp; where a region has too few main edges
  (a flat wall, the sky) the energy width below stands in.
* A long straight **streak** found from the tiles' cepstrum
  (:mod:`.motion`), whose sharp ends fool edge measures: it sets a floor of
  L / sqrt(12).
* A second sharp **copy of the scene** over the whole frame
  (:mod:`.doubled`, camera shake that rested in two places): sqrt(ab) d.

Energy width (the fallback, and what motion strength is read from): for an
edge blurred by a Gaussian of standard deviation ``s`` the ratio of gradient
energy to Laplacian energy is ``E|grad I|^2 / E[(lap I)^2] = 2 s^2``, whatever
the edge contrast. Both energies are measured with Gaussian derivative
filters of scale ``_SIGMA_D`` (whose own blur is subtracted in quadrature),
per tile and per gradient-orientation bin, less the share that white noise of
the measured level contributes, on cells with enough signal; the width is
that of the sharpest cells (a low rank), worst orientation. A sharp photo has
edges about one pixel wide at any resolution, so widths in analysis pixels
are size free for sharp photos.

The width maps to a 0..1 score with a log-logistic curve:
``score = 1 / (1 + (s / _S_HALF) ** _SLOPE)`` -> s = 1 px: 0.87, 1.5 px: 0.56,
2 px: 0.29, 3 px: 0.08.

Motion: defocus widens every direction alike; motion blur of length L along
m adds L^2/12 along m only. The cos(2 theta) component of the squared energy
widths along four directions gives the strength and the streak direction,
and the main edges' rise read per direction adds its own anisotropy (a
shaken frame's edges along the path stay sharper than those across it).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from autocull.measure.doubled import DoubledEdges, doubled_edges
from autocull.measure.edges import EdgePoints, edge_points, edge_spread
from autocull.measure.image import as_gray, padded_crop
from autocull.measure.motion import _BLOCKY, MotionBlur, blockiness, motion_blur, streak_width
from autocull.measure.noise import estimate_sigma
from autocull.measure.spectra import TILE_MIN, first_spectra
from autocull.records import Box, SharpnessMetrics

__all__ = ["sharpness", "edge_width_to_score", "TileStats", "tile_stats", "Filtered", "filter_bank"]

# Scale (px) of the Gaussian derivative filters; its blur is removed in quadrature.
_SIGMA_D = 1.0
# Residual blur (px^2) of the discrete filters on an ideal, pixel-sampled step,
# calibrated on rendered edges at random angles and sub-pixel phases.
_DISCRETE_VAR = 0.0
# Tiles: about this many along the long edge, clamped to these sizes in pixels.
_TILES_LONG = 20
_TILE_MIN, _TILE_MAX = 12, 64
# Energies are first averaged in bins of tile/_BINS_PER_TILE px, then over a
# Gaussian window of _WINDOW_SIGMA * tile px.
_BINS_PER_TILE = 4
_WINDOW_SIGMA = 0.5
_COARSE = 3.0
# A cell counts when its gradient energy exceeds this multiple of the noise's
# share and this absolute floor (mean |grad|^2 per pixel, gray 0..1, i.e. about
# a 2 % contrast edge crossing the tile).
_NOISE_MARGIN = 4.0
_ABS_FLOOR = 2e-5
# ... and at least this fraction of the strongest cells' energy (90th pct).
_REL_FLOOR = 0.1
# The frame's width is the width of the k-th sharpest cell, k = max(_MIN_RANK,
# _SHARP_FRACTION * valid cells): the in-focus part decides.
_SHARP_FRACTION = 0.05
_MIN_RANK = 3
# An orientation bin takes part when it has this share of the best bin's cells.
_BIN_SUPPORT = 0.0
# Width mapping: s at which the score is 0.5, and the log-logistic slope.
_S_HALF = 1.6
_SLOPE = 4.0
# Widths are reported clamped to this range (px).
_S_MIN, _S_MAX = 0.0, 50.0
# Motion: anisotropy b/a of the directional widths below this reads as 0
# (estimation noise of the four directions on defocused frames).
_MOTION_FLOOR = 0.15
# A streak found by its cepstrum counts when the edges along it are at least
# this much wider (px) than across it (or absent).
_STREAK_EDGE_MARGIN = 0.15
# ... or when the edges already read this blurred (px): no sharp frame is at stake.
_STREAK_TRUST_WIDTH = 1.0
# Pixels of context around a box measured on its own: the edge profiles' reach.
_CROP_MARGIN = 18
# Directional spread: narrowest / widest direction at or above _SPREAD_ISOTROPIC
# reads as no motion, _SPREAD_RANGE below it as clear motion.
_SPREAD_ISOTROPIC = 0.75
_SPREAD_RANGE = 0.4
# Motion only counts when the frame is not sharp: gate ramps from _GATE_LO to
# _GATE_HI px of edge width.
_GATE_LO, _GATE_HI = 1.1, 2.0


def edge_width_to_score(width: float) -> float:
    """Map an edge width (px, Gaussian sigma of the edge) to a 0..1 score.

    1 is sharp. ``1 / (1 + (width / 1.6) ** 4)``: 1 px -> 0.87, 2 px -> 0.29,
    3 px -> 0.08.
    """
    if not math.isfinite(width):
        return 0.0
    return float(1.0 / (1.0 + (max(width, 0.0) / _S_HALF) ** _SLOPE))


@functools.lru_cache(maxsize=4)
def _kernels(sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sampled Gaussian, first and second derivative kernels (for correlation)."""
    r = int(math.ceil(4.0 * sigma))
    t = np.arange(-r, r + 1, dtype=np.float64)
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g /= g.sum()
    d1 = t * g
    d1 /= np.sum(t * d1)  # correlation with a unit ramp gives 1
    d2 = (t * t - sigma * sigma) * g
    d2 -= g * d2.sum()  # zero response to a constant
    d2 /= np.sum(d2 * t * t / 2.0)  # correlation with t^2/2 gives 1
    return g.astype(np.float32), d1.astype(np.float32), d2.astype(np.float32)


_DIRECTIONS = tuple(math.radians(a) for a in (0.0, 45.0, 90.0, 135.0))


@functools.lru_cache(maxsize=4)
def _noise_gains(sigma: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Energy of unit white noise after each directional first/second derivative."""
    g, d1, d2 = (k.astype(np.float64) for k in _kernels(sigma))
    kx, ky = np.outer(g, d1), np.outer(d1, g)
    kxx, kyy, kxy = np.outer(g, d2), np.outer(d2, g), np.outer(d1, d1)
    first, second = [], []
    for t in _DIRECTIONS:
        c, s = math.cos(t), -math.sin(t)  # image y points down; angles are as displayed
        first.append(float(np.sum((c * kx + s * ky) ** 2)))
        second.append(float(np.sum((c * c * kxx + 2 * c * s * kxy + s * s * kyy) ** 2)))
    return tuple(first), tuple(second)


@dataclass(frozen=True)
class TileStats:
    """Per-window, per-direction energies of one gray image (internal currency).

    ``grad`` and ``lap`` are (rows, cols, directions) mean signal energies per
    pixel of the first and second directional derivatives (noise share
    removed, >= 0), over Gaussian windows of about one tile centred every
    ``step`` pixels; ``valid`` marks cells with enough signal; ``width`` the
    edge width (px) along each direction (inf when not valid).
    """

    tile: int
    step: int
    grad: np.ndarray
    lap: np.ndarray
    valid: np.ndarray
    width: np.ndarray


def _derivatives(g: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Gaussian derivatives gx, gy, gxx, gyy, gxy of ``g`` (into the planes of ``out`` if given)."""
    k0, k1, k2 = _kernels(_SIGMA_D)
    border = cv2.BORDER_REFLECT
    kernels = ((k1, k0), (k0, k1), (k2, k0), (k0, k2), (k1, k1))
    if out is None:
        return tuple(cv2.sepFilter2D(g, cv2.CV_32F, kx, ky, borderType=border) for kx, ky in kernels)
    return tuple(cv2.sepFilter2D(g, cv2.CV_32F, kx, ky, dst=o, borderType=border) for (kx, ky), o in zip(kernels, out))


@dataclass(frozen=True)
class Filtered:
    """Filter responses of a gray image, computed once and shared by every region.

    Filters are local, so the responses of a region of the frame are a slice
    of the frame's (given the filter's reach of real pixels or the frame's own
    reflected border around it): ``analyze`` filters the frame once and the
    subject or face boxes slice it instead of filtering their crops again
    (equal to filtering the crop up to float rounding: OpenCV's vector paths
    depend on where a pixel sits in its buffer, ~1e-7 relative).
    ``ders`` are the Gaussian derivatives gx, gy, gxx, gyy, gxy at
    ``_SIGMA_D``; ``lap`` the 4-neighbour Laplacian; ``sx``/``sy`` the 3x3
    Sobel derivatives (unscaled); all with reflected borders. ``scratch`` are
    two image-sized work planes for the products and the noise estimate.
    """

    gray: np.ndarray
    ders: tuple[np.ndarray, ...]
    lap: np.ndarray
    sx: np.ndarray
    sy: np.ndarray
    scratch: tuple[np.ndarray, np.ndarray]

    def region(self, y0: int, y1: int, x0: int, x1: int) -> "Filtered":
        """Views of every response over rows y0:y1, columns x0:x1."""
        sl = (slice(y0, y1), slice(x0, x1))
        return Filtered(
            gray=self.gray[sl],
            ders=tuple(d[sl] for d in self.ders),
            lap=self.lap[sl],
            sx=self.sx[sl],
            sy=self.sy[sl],
            scratch=(self.scratch[0][sl], self.scratch[1][sl]),
        )


def filter_bank(gray: np.ndarray) -> Filtered:
    """Every filter response the sharpness and noise measures read, of a gray 0..1 image.

    The ten planes are one allocation: fresh memory is paid per page touched,
    and one large block is mapped in large pages, three times cheaper than ten
    image-sized arrays (about 1.5 ms each at 1280 px).
    """
    g = as_gray(gray)
    planes = np.empty((10, *g.shape), np.float32)
    border = cv2.BORDER_REFLECT
    return Filtered(
        gray=g,
        ders=_derivatives(g, planes[:5]),
        lap=cv2.Laplacian(g, cv2.CV_32F, dst=planes[5], ksize=1, borderType=border),
        sx=cv2.Sobel(g, cv2.CV_32F, 1, 0, dst=planes[6], ksize=3, borderType=border),
        sy=cv2.Sobel(g, cv2.CV_32F, 0, 1, dst=planes[7], ksize=3, borderType=border),
        scratch=(planes[8], planes[9]),
    )


def _tile_size(long_edge: int) -> int:
    return int(np.clip(round(long_edge / _TILES_LONG), _TILE_MIN, _TILE_MAX))


def _product_means(
    ders: tuple[np.ndarray, ...], step: int, rows: int, cols: int, scratch: np.ndarray | None = None
) -> np.ndarray:
    """Bin means of the nine derivative products, (rows, cols, 9) float32.

    Each product goes through one reused buffer (``scratch`` if given) straight
    into its bin means: nine live image-sized temporaries cost more in fresh
    memory than in arithmetic.
    """
    gx, gy, gxx, gyy, gxy = (d[: rows * step, : cols * step] for d in ders)
    pairs = ((gx, gx), (gy, gy), (gx, gy), (gxx, gxx), (gyy, gyy), (gxy, gxy), (gxx, gyy), (gxx, gxy), (gyy, gxy))
    out = np.empty((rows, cols, len(pairs)), np.float32)
    buf = np.empty(gx.shape, np.float32) if scratch is None else scratch[: rows * step, : cols * step]
    for i, (a, b) in enumerate(pairs):
        np.multiply(a, b, out=buf)
        out[:, :, i] = buf if step == 1 else cv2.resize(buf, (cols, rows), interpolation=cv2.INTER_AREA)
    return out


def _smooth(m: np.ndarray, win: float) -> np.ndarray:
    if win <= 0.3 or min(m.shape[:2]) <= 1:
        return m
    chans = [
        cv2.GaussianBlur(np.ascontiguousarray(m[..., i]), (0, 0), win, borderType=cv2.BORDER_REFLECT)
        for i in range(m.shape[-1])
    ]
    return np.stack(chans, axis=-1)


def _directional(
    m: np.ndarray, rows: int, cols: int, noise_g: np.ndarray, noise_l: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free directional first/second derivative energies from the products."""
    nd = len(_DIRECTIONS)
    m = m.astype(np.float64).reshape(rows, cols, -1)
    grad = np.empty((rows, cols, nd))
    lapm = np.empty((rows, cols, nd))
    for i, t in enumerate(_DIRECTIONS):
        c, s_ = math.cos(t), -math.sin(t)
        grad[:, :, i] = c * c * m[..., 0] + s_ * s_ * m[..., 1] + 2 * c * s_ * m[..., 2]
        a_, b_, e_ = c * c, 2 * c * s_, s_ * s_  # d2 = a gxx + b gxy + e gyy
        lapm[:, :, i] = (
            a_ * a_ * m[..., 3]
            + e_ * e_ * m[..., 4]
            + b_ * b_ * m[..., 5]
            + 2 * a_ * e_ * m[..., 6]
            + 2 * a_ * b_ * m[..., 7]
            + 2 * e_ * b_ * m[..., 8]
        )
    return np.maximum(grad - noise_g, 0.0), np.maximum(lapm - noise_l, 0.0)


def _width(grad: np.ndarray, lap: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = grad / (2.0 * lap) - _SIGMA_D**2 - _DISCRETE_VAR
    s2 = np.where(np.isfinite(s2), s2, _S_MAX**2)
    return np.sqrt(np.clip(s2, _S_MIN**2, _S_MAX**2))


def tile_stats(gray: np.ndarray, *, noise_sigma: float = 0.0, tile: int | None = None, margin: int = 0) -> TileStats:
    """Per-window, per-direction derivative energies and edge widths.

    Parameters
    ----------
    gray : ndarray
        2-D float32 image in 0..1.
    noise_sigma : float
        White-noise sigma in 0..255 units; its expected energy is removed.
    tile : int, optional
        Window size in pixels (default from the long edge).
    margin : int
        Pixels around ``gray`` that only serve as filter context.
    """
    h0, w0 = gray.shape
    ders = _derivatives(as_gray(gray))
    if margin:
        sl = (slice(margin, h0 - margin), slice(margin, w0 - margin))
        ders = tuple(d[sl] for d in ders)
    return _tile_stats(ders, noise_sigma=noise_sigma, tile=tile)


def _tile_stats(
    ders: tuple[np.ndarray, ...], *, noise_sigma: float, tile: int | None, scratch: np.ndarray | None = None
) -> TileStats:
    """:func:`tile_stats` from the Gaussian derivatives of the region measured."""
    h, w = ders[0].shape
    if tile is None:
        tile = _tile_size(max(h, w))
    tile = max(1, min(tile, h, w))
    # Energies are averaged in small bins, then over smooth (Gaussian) windows
    # of about one tile: a hard tile border cuts the wide second-derivative
    # profile of an edge more than its narrow gradient profile.
    step = max(1, tile // _BINS_PER_TILE)
    rows, cols = h // step, w // step
    # Directional energies are quadratic forms of the derivatives, so window
    # means of nine products give every direction without per-direction maps.
    m = _product_means(ders, step, rows, cols, scratch)
    win = _WINDOW_SIGMA * tile / step
    ng, nl = (np.asarray(x) for x in _noise_gains(_SIGMA_D))
    var = (noise_sigma / 255.0) ** 2
    fine = _smooth(m, win)
    grad_s, lap_s = _directional(fine, rows, cols, ng * var, nl * var)
    floor = np.maximum(_ABS_FLOOR, _NOISE_MARGIN * ng * var)
    valid = grad_s > floor
    if np.any(valid):
        top = float(np.quantile(grad_s[valid], 0.9))
        valid &= grad_s >= _REL_FLOOR * top
    width = _width(grad_s, lap_s)
    # A window smaller than the blur sees the ends of a long (motion) blur as
    # sharp corners: the width of each cell is also read over a window
    # _COARSE times larger, and the larger of the two is kept. The ratio over
    # a mixed window is dominated by its sharpest content, so a sharp subject
    # in bokeh still reads sharp at the coarse scale.
    if _COARSE > 1 and min(rows, cols) > 1:
        coarse = _smooth(m, win * _COARSE)
        width = np.maximum(width, _width(*_directional(coarse, rows, cols, ng * var, nl * var)))
    width = np.where(valid, width, np.inf)
    return TileStats(tile=tile, step=step, grad=grad_s, lap=lap_s, valid=valid, width=width)


def _frame_width(ts: TileStats) -> tuple[float, np.ndarray]:
    """Width of the sharpest cells, worst orientation; and the per-bin widths."""
    counts = ts.valid.reshape(-1, len(_DIRECTIONS)).sum(axis=0)
    per_bin = np.full(len(_DIRECTIONS), np.nan)
    if counts.max(initial=0) == 0:
        return float("nan"), per_bin
    widths = ts.width.reshape(-1, len(_DIRECTIONS))
    for b in range(len(_DIRECTIONS)):
        n = int(counts[b])
        if n == 0 or n < _BIN_SUPPORT * counts.max():
            continue
        k = min(n, max(_MIN_RANK, int(math.ceil(_SHARP_FRACTION * n))))
        per_bin[b] = float(np.partition(widths[:, b], k - 1)[k - 1])
    return float(np.nanmax(per_bin)), per_bin


def _motion(per_direction: np.ndarray) -> tuple[float, float]:
    """Anisotropy of the per-direction widths: (strength 0..1, streak angle deg).

    Fits ``w(theta)^2 = a + b cos(2 (theta - m))`` to the widths along the four
    directions: motion blur of length L along m adds L^2/12 along m only
    (b = a for pure motion), defocus adds the same to every direction (b = 0).
    """
    if per_direction.size == 0 or not np.all(np.isfinite(per_direction)):
        return 0.0, 0.0
    w2 = per_direction**2 + _SIGMA_D**2  # total blur including the filter keeps a > 0
    ang = np.asarray(_DIRECTIONS)
    a = float(w2.mean())
    z = complex(np.sum(w2 * np.exp(2j * ang))) / (len(ang) / 2.0)
    if a <= 0:
        return 0.0, 0.0
    raw = abs(z) / a
    strength = float(np.clip((raw - _MOTION_FLOOR) / (1.0 - _MOTION_FLOOR), 0.0, 1.0))
    angle = (math.degrees(math.atan2(z.imag, z.real)) / 2.0) % 180.0
    return strength, angle


def _spread_motion(per_direction: tuple[float, ...]) -> float:
    """How directional the main edges' spread is, 0..1.

    Defocus spreads every direction alike (the narrowest direction reads at
    least three quarters of the widest on real defocused photos); a shaken or
    moving camera leaves the edges along its path sharper than those across
    it (a fifth to a half on real shaken photos).
    """
    read = [w for w in per_direction if math.isfinite(w)]
    if len(read) < 3 or max(read) <= 0:
        return 0.0
    ratio = min(read) / max(read)
    return float(np.clip((_SPREAD_ISOTROPIC - ratio) / _SPREAD_RANGE, 0.0, 1.0))


def _edges_agree(per_direction: np.ndarray, angle: float) -> bool:
    """Do the edges themselves show some blur along a streak found at ``angle``?

    Periodic structure (a tower's cross-beams, bricks) can mimic a streak's
    cepstral dip; a real streak always leaves edges along it wider than
    across it, or none at all.
    """
    nd = len(_DIRECTIONS)
    along = int(round(angle / (180.0 / nd))) % nd
    across = (along + nd // 2) % nd
    w_along, w_across = per_direction[along], per_direction[across]
    if not math.isfinite(w_along):
        return True
    return not math.isfinite(w_across) or w_along - w_across >= _STREAK_EDGE_MARGIN


def sharpness(gray: np.ndarray, *, box: Box | None = None, noise_sigma: float | None = None) -> SharpnessMetrics:
    """Sharpness of an image or of a box in it, 0..1 and size independent.

    Parameters
    ----------
    gray : ndarray
        Gray image, uint8 or float in 0..1; RGB/RGBA is converted with
        :func:`~autocull.measure.image.to_gray`.
    box : Box, optional
        Normalised region to measure (e.g. the subject); whole frame if None.
    noise_sigma : float, optional
        Noise sigma (0..255) of the frame if already known (see
        :func:`autocull.measure.noise.estimate_sigma`); estimated otherwise.
        Noise is never counted as detail.

    Returns
    -------
    SharpnessMetrics
        ``score`` 0..1, higher is sharper (0.5 at an edge width of 1.6 px);
        ``edge_width`` Gaussian sigma (px at this resolution) of the sharpest
        edges, lower is sharper (inf-free: capped at 50, NaN never);
        ``laplacian_var`` variance of the 4-neighbour Laplacian and
        ``tenengrad`` mean squared 3x3 Sobel magnitude (unscaled kernels), both
        raw on gray 0..1 and resolution dependent; ``motion`` 0..1 (1 = clear
        motion blur, 0 when the frame is sharp) and ``motion_angle`` in degrees
        of the streaks (0 = horizontal, counter-clockwise as displayed).

    References
    ----------
    J. M. Tenenbaum, "Accommodation in computer vision", PhD thesis, 1970.
    J. L. Pech-Pacheco et al., "Diatom autofocusing in brightfield microscopy:
    a comparative study", ICPR 2000 (variance of the Laplacian).
    J. H. Elder and S. W. Zucker, "Local scale control for edge detection and
    blur estimation", IEEE TPAMI 20(7), 1998 (blur scale from Gaussian
    derivatives).
    """
    return measure_region(gray, box=box, noise_sigma=noise_sigma).metrics


class Reading(NamedTuple):
    """What :func:`measure_region` read: the metrics, the window statistics (for the subject) and the double."""

    metrics: SharpnessMetrics
    stats: TileStats | None
    double: DoubledEdges


def measure_region(
    gray: np.ndarray,
    *,
    box: Box | None = None,
    noise_sigma: float | None = None,
    bank: Filtered | None = None,
    points: EdgePoints | None = None,
) -> Reading:
    """:func:`sharpness` plus the window statistics it used (for the subject) and, over a whole image, the double.

    ``bank`` is :func:`filter_bank` of ``gray`` and ``points`` its
    :func:`~autocull.measure.edges.edge_points` when the caller already has
    them (``analyze``): a box then slices them instead of filtering its crop.
    """
    g = as_gray(gray) if bank is None else bank.gray
    full_long = max(g.shape)
    if noise_sigma is None:
        noise_sigma = estimate_sigma(g)
    tile = _tile_size(full_long)
    y0, y1, x0, x1 = 0, g.shape[0], 0, g.shape[1]
    if box is not None and g.size:
        x0, y0, x1, y1 = box.pixels((g.shape[1], g.shape[0]))
        inner = min(y1 - y0, x1 - x0)
        tile = max(4, min(tile, inner // 4)) if inner >= 16 else max(1, inner)
    if (y1 - y0) * (x1 - x0) < 4 or min(y1 - y0, x1 - x0) < 3:
        return Reading(
            SharpnessMetrics(score=0.0, laplacian_var=0.0, tenengrad=0.0, edge_width=_S_MAX, edge_spread=-1.0),
            None,
            DoubledEdges(),
        )
    if bank is not None:
        f = bank.region(y0, y1, x0, x1)
        if points is None:
            points = edge_points(bank.gray, noise_sigma=noise_sigma, sx=bank.sx, sy=bank.sy)
        points = points.region(y0, y1, x0, x1)
    elif box is None:
        f = filter_bank(g)
        points = edge_points(g, noise_sigma=noise_sigma, sx=f.sx, sy=f.sy)
    else:
        # A margin of real (or, at the frame's edge, reflected) pixels makes the
        # crop's filter responses and edge profiles the frame's.
        margin = _CROP_MARGIN
        crop = padded_crop(g, box, margin)
        whole = filter_bank(crop)
        ch, cw = crop.shape
        f = whole.region(margin, ch - margin, margin, cw - margin)
        points = edge_points(crop, noise_sigma=noise_sigma, sx=whole.sx, sy=whole.sy).region(
            margin, ch - margin, margin, cw - margin
        )
    lap_var = float(cv2.meanStdDev(f.lap)[1][0, 0] ** 2)
    ten = (cv2.norm(f.sx, cv2.NORM_L2SQR) + cv2.norm(f.sy, cv2.NORM_L2SQR)) / f.sx.size
    ts = _tile_stats(f.ders, noise_sigma=noise_sigma, tile=tile, scratch=f.scratch[0])
    width, per_dir = _frame_width(ts)
    if not math.isfinite(width):
        width = _S_MAX
    motion, angle = _motion(per_dir)
    # The main edges' rise: ghosts, double edges and disk rims do not read
    # sharp there, nor does a soft subject's shading read as blur. Where the
    # region has enough main edges it decides; a flat region keeps the energy
    # width.
    spread = edge_spread(points)
    blur = width
    if spread.found:
        # Main edges in one direction only: a streak may have erased the others (a wall of bricks
        # shaken by one row's height); the energy width still reads their cells.
        blur = spread.width if spread.directions >= 2 else max(spread.width, width)
        motion = max(motion, _spread_motion(spread.per_direction))
    # Blur the whole region shares, read from its tiles' spectra: a long
    # straight streak (whose sharp ends fool edge measures) and a second sharp
    # copy of the scene (camera shake).
    spectra = None
    streak = MotionBlur()
    if min(f.gray.shape) >= 2 * TILE_MIN and blockiness(f.gray) < _BLOCKY:  # a JPEG grid mimics both
        spectra = first_spectra(f.gray, (noise_sigma / 255.0) ** 2)
        # (without full-size spectra it still tries its half-size pass, checking the grid itself)
        streak = motion_blur(f.gray, noise_sigma=noise_sigma, spectra=spectra)
    if streak.found and (width >= _STREAK_TRUST_WIDTH or _edges_agree(per_dir, streak.angle)):
        blur = max(blur, streak_width(streak.length))
        motion, angle = 1.0, streak.angle
    else:
        streak = MotionBlur()
    width = float(np.clip(blur, _S_MIN, _S_MAX))
    gate = float(np.clip((width - _GATE_LO) / (_GATE_HI - _GATE_LO), 0.0, 1.0))
    motion *= gate
    if motion <= 0.0:
        angle = 0.0
    metrics = SharpnessMetrics(
        score=edge_width_to_score(width),
        laplacian_var=lap_var,
        tenengrad=ten,
        edge_width=width,
        motion=float(motion),
        motion_angle=float(angle),
        motion_length=float(streak.length),
        edge_spread=float(np.clip(spread.width, _S_MIN, _S_MAX)) if spread.found else -1.0,
    )
    double = DoubledEdges()
    if box is None:
        # Camera shake doubles the whole frame: read over all of it (a box of
        # two parallel cables would look doubled on its own).
        double = doubled_edges(spectra)
        metrics = with_double(metrics, double)
    return Reading(metrics, ts, double)


def with_double(m: SharpnessMetrics, double: DoubledEdges) -> SharpnessMetrics:
    """``m`` with a second copy of the scene found over the frame taken into account.

    The copies blur every region of the frame alike, so a subject or a face
    is at least as blurred as the double makes it; when another blur reads
    wider, that is the cause to name and the double is not reported.
    """
    if not double.found:
        return m
    width = float(np.clip(double.width, _S_MIN, _S_MAX))
    score = edge_width_to_score(width)
    # Compared by score: a face judged on a finer view of the file has its width in that view's pixels.
    if score >= m.score:
        return m
    return dataclasses.replace(
        m, edge_width=width, score=score, double_offset=float(double.offset), double_angle=float(double.angle)
    )
