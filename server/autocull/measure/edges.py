"""Edge spread: how far a frame's main edges take to rise from 10 % to 90 % of their step.

Why beside the edge width of :mod:`.sharpness`: that width is a ratio of
gradient to Laplacian energy, and the Laplacian answers to whatever is
sharpest in a window, however faint. Real camera blur is full of faint sharp
things: hand-held shake lingers at the ends of its path and leaves a sharp
ghost of the scene on top of the smear; a defocus disk has a hard rim; video
frames averaged over a moving camera stack several sharp copies. Energy ratios
read all of those as sharp (measured: 0.86-0.96 on real shaken photos). A
photographer looks at the main, contrasted edges and asks how far each one
takes to go from dark to light: a ghost is a small step on a long ramp, so the
ramp decides.

Method. Edge points are the local maxima of the Sobel gradient along its own
direction. Along that direction, a profile of +-``_REACH`` px is read through
each point. From the point the profile is followed up while it keeps rising
and down while it keeps falling (turns smaller than the noise, or than
``_TURN_SHARE`` of the step, are ignored); the two ends are the step's
plateaus, their difference the step's contrast. The rise is the distance
between the 10 % and the 90 % crossings of the step, so a ghost step, a
double edge (two steps in a row) and a ramp all count with their full
extent, and noise or a JPEG block edge, which make small steps, do not take
part. Main edges are those whose step is at least ``_MAIN_STEP`` of the
frame's large steps (95th percentile). The spread of a region is the rise
that ``_QUANTILE`` of its main edges beats, each weighted by its step squared
(the in-focus part decides, so bokeh is not penalised, and among its edges
the most contrasted count most), read per gradient direction; the second
worst direction is kept, so a streak, which leaves edges along it sharp, is
not hidden by them (and one odd direction on a sharp frame is not enough to
condemn it).

The rise of a Gaussian edge of sigma ``s`` is 2.563 ``s`` (2 x 1.2816), and
that of a pixel-sampled ideal step about ``_SHARP_RISE`` px (removed in
quadrature), so the spread is reported as a sigma in px, the unit of
:func:`~autocull.measure.sharpness.edge_width_to_score`.

How the constants were set (nothing here is fitted to a test file):
``_SHARP_RISE`` on rendered discs (8x supersampled), blurred by Gaussians
and disks of known size: sigma 1, 1.5, 2, 3 px read 1.0, 1.5, 2.0, 3.0.
``_QUANTILE``, ``_MAIN_STEP`` and the weight from a grid, judged on the
sharp and shallow depth-of-field photos of scikit-image and of
``shared/testdata/camera`` degraded by defocus disks, hand-path shake,
lingering ghosts, averaged video frames and double copies, and on pages of
rendered text: the lowest quantile at which every sharp photo still reads
sharp at its own size and at half size (the in-focus part decides); a larger
one reads more of real shake but calls soft-subject photos (a cat's fur, the
moon's craters) blurred. ``bench/eval_sharpness.py`` re-picks the quantile
leave-one-scene-out on the real camera photos: 14 of 15 held-out scenes pick
this one.

References
----------
P. Marziliano, F. Dufaux, S. Winkler, T. Ebrahimi, "A no-reference perceptual
blur metric", ICIP 2002 (edge width between the extrema around an edge).
ISO 12233 (10-90 % edge rise of the edge spread function).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["EdgePoints", "EdgeSpread", "edge_points", "edge_spread", "RISE_PER_SIGMA"]

# Profile half-length (px): the longest rise that can be read; a longer one
# reads as at least this long.
_REACH = 16
# Points read per frame: candidates above the gradient floor, then edge
# points after non-maximum suppression (thinned by position beyond these
# counts; both below OpenCV's remap limit of 32767 rows).
_CANDIDATES = 24000
_MAX_POINTS = 10000
# A candidate's Sobel magnitude (gray 0..1, unscaled 3x3 kernels) must exceed
# this floor and this multiple of the noise's own Sobel magnitude.
_MAG_FLOOR = 0.02
_MAG_NOISE = 14.0
# ... and this share of the frame's 99th percentile magnitude.
_MAG_REL = 0.05
# Candidates are read on every _GRID-th pixel of every _GRID-th row.
_GRID = 2
# Turns of the profile smaller than this (gray 0..1), or than this multiple of
# the noise sigma, do not end a step.
_TURN_FLOOR = 0.006
_TURN_NOISE = 3.0
# ... nor turns smaller than this share of the step found with that tolerance.
_TURN_SHARE = 0.08
# Main edges: step at least this share of the region's 95th percentile step,
# and at least this many noise sigmas.
_MAIN_STEP = 0.3
_STEP_NOISE = 6.0
# The spread is the rise that this share of the main edges beats, each edge
# weighted by its step to this power (the main, contrasted edges decide).
_QUANTILE = 0.1
_WEIGHT_POWER = 2.0
# A direction takes part with at least this many main edges and this share of the contrast.
_MIN_PER_DIRECTION = 15
_MIN_DIRECTION_SHARE = 0.1
# Fewer main edges than this in a region: no reading (NaN).
_MIN_EDGES = 12
# 10-90 % rise of a Gaussian edge per sigma, and of an ideal pixel-sampled step (px).
RISE_PER_SIGMA = 2.0 * 1.2816
_SHARP_RISE = 1.2
_DIRECTIONS = 4
_REMAP_MAX = 32767


@dataclass(frozen=True)
class EdgePoints:
    """The edge points of one gray image and what their profiles showed (internal currency).

    Parallel arrays: ``x``, ``y`` pixel position; ``step`` the contrast of
    the step through the point (gray 0..1); ``rise`` its 10-90 % rise in px;
    ``direction`` the gradient direction bin (0 = horizontal gradient,
    1 = 45 degrees, 2 = vertical, 3 = 135, as displayed).
    """

    x: np.ndarray
    y: np.ndarray
    step: np.ndarray
    rise: np.ndarray
    direction: np.ndarray
    noise: float  # noise sigma, gray 0..1

    def region(self, y0: int, y1: int, x0: int, x1: int) -> "EdgePoints":
        """The points inside rows y0:y1, columns x0:x1 (their profiles may reach outside)."""
        m = (self.y >= y0) & (self.y < y1) & (self.x >= x0) & (self.x < x1)
        return EdgePoints(self.x[m], self.y[m], self.step[m], self.rise[m], self.direction[m], self.noise)


@dataclass(frozen=True)
class EdgeSpread:
    """How blurred the main edges of a region are.

    ``width`` the spread as a Gaussian sigma in px (NaN when the region has
    too few main edges to say); ``per_direction`` the sigma read along each
    of the four gradient directions (NaN where too few).
    """

    width: float
    per_direction: tuple[float, ...]

    @property
    def found(self) -> bool:
        return math.isfinite(self.width)

    @property
    def directions(self) -> int:
        """How many gradient directions had enough main edges to read."""
        return sum(math.isfinite(w) for w in self.per_direction)


_NONE = EdgeSpread(width=float("nan"), per_direction=(float("nan"),) * _DIRECTIONS)


def edge_points(
    gray: np.ndarray, *, noise_sigma: float = 0.0, sx: np.ndarray | None = None, sy: np.ndarray | None = None
) -> EdgePoints:
    """Edge points of a gray 0..1 float32 image and the rise of the step through each.

    ``sx``, ``sy`` are the image's unscaled 3x3 Sobel derivatives if the
    caller has them; ``noise_sigma`` is in 0..255 units.
    """
    g = np.asarray(gray, dtype=np.float32)
    if g.ndim != 2:
        raise ValueError(f"expected a 2-D gray image, got shape {g.shape}")
    noise = max(0.0, float(noise_sigma)) / 255.0
    empty = np.zeros(0, np.float32)
    none = EdgePoints(empty, empty, empty, empty, np.zeros(0, np.int8), noise)
    if min(g.shape) < 2 * 3 + 1 or max(g.shape) >= _REMAP_MAX:
        return none  # OpenCV's remap reads sources under 32767 px a side (analysis images are far smaller)
    if sx is None or sy is None:
        sx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT)
        sy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT)
    found = _maxima(sx, sy, max(_MAG_FLOOR, _MAG_NOISE * noise))
    if found is None:
        return none
    x, y, ux, uy = found
    t = np.arange(-_REACH, _REACH + 1, dtype=np.float32)
    mx = x[:, None] + ux[:, None] * t
    my = y[:, None] + uy[:, None] * t
    prof = cv2.remap(g, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    step, rise = _rise(prof, max(_TURN_FLOOR, _TURN_NOISE * noise))
    # Gradient direction as displayed (y down), folded to 0..180 and binned.
    angle = np.degrees(np.arctan2(-uy, ux)) % 180.0
    direction = (np.floor((angle + 90.0 / _DIRECTIONS) / (180.0 / _DIRECTIONS)) % _DIRECTIONS).astype(np.int8)
    return EdgePoints(x, y, step, rise, direction, noise)


def _maxima(sx: np.ndarray, sy: np.ndarray, floor: float) -> tuple[np.ndarray, ...] | None:
    """Gradient maxima along the gradient: positions and unit directions (float32), or None."""
    h, w = sx.shape
    mag = cv2.magnitude(sx, sy)
    # Edges far fainter than the frame's strongest are never main edges: a
    # blurred step of the same contrast as a sharp one still has a tenth of its
    # slope at sigma 5 px.
    if mag.size:
        floor = max(floor, _MAG_REL * float(np.quantile(mag[::4, ::4], 0.99)))
    b = 2  # the 3x3 Sobel of a reflected border is not an edge of the scene
    # Every other pixel of every other row: an edge crosses several, and a
    # frame of fine texture or noise does not flood the search.
    # OpenCV takes a scalar for src2; its stubs only list arrays.
    mask = cv2.compare(mag[b : h - b : _GRID, b : w - b : _GRID], floor, cv2.CMP_GT)  # type: ignore[call-overload]
    pts = cv2.findNonZero(mask)
    if pts is None:
        return None
    pts = pts.reshape(-1, 2) * _GRID
    if len(pts) > _CANDIDATES:
        pts = pts[_thinned(pts[:, 0], pts[:, 1], _CANDIDATES)]
    xi, yi = pts[:, 0] + b, pts[:, 1] + b
    x, y = xi.astype(np.float32), yi.astype(np.float32)
    m = mag[yi, xi]
    ux, uy = sx[yi, xi] / m, sy[yi, xi] / m
    # Non-maximum suppression: larger than the magnitude one pixel either way along the gradient.
    nx = np.stack([x + ux, x - ux], axis=1)
    ny = np.stack([y + uy, y - uy], axis=1)
    around = cv2.remap(mag, nx, ny, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    keep = (m >= around[:, 0]) & (m >= around[:, 1])  # both of a tie: the grid may hold only one of them
    if not np.any(keep):
        return None
    x, y, ux, uy = x[keep], y[keep], ux[keep], uy[keep]
    if len(x) > _MAX_POINTS:
        s = _thinned(x, y, _MAX_POINTS)
        x, y, ux, uy = x[s], y[s], ux[s], uy[s]
    return x, y, ux.astype(np.float32), uy.astype(np.float32)


def _thinned(x: np.ndarray, y: np.ndarray, limit: int) -> np.ndarray:
    """Mask keeping about ``limit`` of the points, chosen by their position alone.

    Every k-th point in scan order would shift the whole sample when one
    point comes or goes (a float rounding in a filter is enough), and move
    the low quantile with it; a hash of the position keeps the same pixels.
    """
    h = (x.astype(np.uint64) * np.uint64(0x9E3779B1)) ^ (y.astype(np.uint64) * np.uint64(0x85EBCA77))
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(0x2C1B3C6D) >> np.uint64(16)) & np.uint64(0xFFFFFFFF)
    # A share of the hash range, not a modulus: about ``limit`` points, and a
    # smaller limit keeps a subset of a larger one's.
    return h < np.uint64(int(limit / len(x) * 2.0**32))


def _ends(prof: np.ndarray, turn: np.ndarray) -> tuple[np.ndarray, ...]:
    """Where the step through the centre ends on either side: (end_up, hi, end_down, lo).

    A side ends at the first sample that turns back by more than ``turn``
    (per profile) from the extreme reached so far.
    """
    n, length = prof.shape
    c = length // 2
    rows = np.arange(n)
    up = prof[:, c:]
    top = np.maximum.accumulate(up, axis=1)
    turned = up < top - turn[:, None]
    end_up = np.where(turned.any(axis=1), turned.argmax(axis=1), up.shape[1])  # first sample past the top
    down = prof[:, c::-1]
    bottom = np.minimum.accumulate(down, axis=1)
    turned = down > bottom + turn[:, None]
    end_down = np.where(turned.any(axis=1), turned.argmax(axis=1), down.shape[1])
    return end_up, top[rows, end_up - 1], end_down, bottom[rows, end_down - 1]


def _rise(prof: np.ndarray, turn: float) -> tuple[np.ndarray, np.ndarray]:
    """Step contrast and 10-90 % rise (px) of profiles read along the gradient (rising through the centre)."""
    n, length = prof.shape
    c = length // 2
    rows = np.arange(n)
    # A first pass with the noise's tolerance finds the step; a turn back of
    # less than _TURN_SHARE of that step does not end it (a shaken stroke's
    # smear has bumps where the camera lingered), a larger one does (the next
    # feature, or the far side of a line).
    end_up, hi, end_down, lo = _ends(prof, np.full(n, turn, prof.dtype))
    end_up, hi, end_down, lo = _ends(prof, np.maximum(turn, _TURN_SHARE * (hi - lo)))
    step = hi - lo
    idx = np.arange(length)[None, :]
    inside = (idx > (c - end_down)[:, None]) & (idx < (c + end_up)[:, None])
    q = (prof - lo[:, None]) / np.maximum(step, 1e-9)[:, None]
    q = np.where(inside, q, np.where(idx < c, 0.0, 1.0))
    q = np.maximum.accumulate(q, axis=1)  # a double edge's dip between its steps does not cross back

    def crossing(level: float) -> np.ndarray:
        i = np.argmax(q >= level, axis=1)
        i0 = np.maximum(i - 1, 0)
        a, b = q[rows, i0], q[rows, i]
        frac = np.where(b > a, (level - a) / np.maximum(b - a, 1e-9), 0.0)
        return i0 + np.clip(frac, 0.0, 1.0)

    return step.astype(np.float32), (crossing(0.9) - crossing(0.1)).astype(np.float32)


def edge_spread(points: EdgePoints) -> EdgeSpread:
    """Spread of the main edges among ``points`` (a frame's, or :meth:`EdgePoints.region` of a box).

    Returns
    -------
    EdgeSpread
        ``width`` the blur sigma (px) of the main edges, lower is sharper,
        about 0 for a sharp photo at any resolution; NaN when there are
        fewer than a dozen main edges (a flat region).
    """
    if points.step.size < _MIN_EDGES:
        return _NONE
    large = float(np.quantile(points.step, 0.95))
    main = points.step >= max(_MAIN_STEP * large, _STEP_NOISE * points.noise)
    if int(main.sum()) < _MIN_EDGES:
        return _NONE
    step, rise, direction = points.step[main], points.rise[main], points.direction[main]
    weight = step**_WEIGHT_POWER  # the more contrasted an edge, the more it says
    total = float(step.sum())
    per = []
    for d in range(_DIRECTIONS):
        sel = direction == d
        if int(sel.sum()) >= _MIN_PER_DIRECTION and float(step[sel].sum()) >= _MIN_DIRECTION_SHARE * total:
            per.append(_weighted_quantile(rise[sel], weight[sel], _QUANTILE))
        else:
            per.append(float("nan"))
    read = sorted(r for r in per if math.isfinite(r))
    if len(read) >= 3:
        r = read[-2]  # one odd direction on a sharp frame is not enough to condemn it
    elif len(read) == 2:
        r = read[-1]  # two directions: a streak along one leaves only the other sharp
    else:
        r = _weighted_quantile(rise, weight, _QUANTILE)
    return EdgeSpread(
        width=sigma_of_rise(r), per_direction=tuple(sigma_of_rise(v) if math.isfinite(v) else float("nan") for v in per)
    )


def sigma_of_rise(rise: float) -> float:
    """Gaussian sigma (px) whose edge, pixel-sampled, rises 10-90 % over ``rise`` px."""
    return math.sqrt(max(rise * rise - _SHARP_RISE * _SHARP_RISE, 0.0)) / RISE_PER_SIGMA


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values, kind="stable")
    v, cw = values[order], np.cumsum(weights[order], dtype=np.float64)
    return float(np.interp(q * cw[-1], cw, v))
