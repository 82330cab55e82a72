"""Tilted horizon: how far a frame is turned from level, read from its lines.

Two kinds of evidence say which way is level. A *horizon* is one long,
straight, near-horizontal boundary (sea or land against sky, a far shore)
that crosses most of the frame; *vertical architecture* is several long
near-vertical edges (walls, door frames, poles) that agree. Either is only a
reference when it dominates: a frame of curves, texture, faces or lines drawn
at deliberate angles (diagonals, stairs) has no level to miss, and gives none.

Method, at a working size of :data:`_WORK` px on the long edge (a 300 px
segment there fixes its angle to 0.1 degree): light Gaussian smoothing, Canny
edges with thresholds taken from the frame's own gradient distribution
(floored above noise), then straight segments from OpenCV's Fast Line Detector
(Lee et al. 2014), which fits a line to each run of edge pixels. It is used
for speed: about 2 ms at 640 px, where the LSD detector takes 7 ms and a
probabilistic Hough transform 10 ms.

* Horizon: near-horizontal segments (within :data:`_MAX_TILT` of level) are
  grouped into collinear families around each of the longest ones, each
  family's line refitted to its members (length-weighted total least squares).
  The family whose union spans the largest share of the frame width is the
  horizon when it spans :data:`_HORIZON_SPAN` of the width, separates two
  differently bright regions (an overhead wire or a cable is a thin line with
  the same sky on both sides: not a horizon), and no other boundary family at
  a different angle spans nearly as much (a far shore behind hills that rise
  to one side: ambiguous, so none).
* Verticals: a camera pointed up or down makes world verticals converge
  (keystoning), so their mean angle is not the roll. Upright verticals meet at
  a vanishing point on the frame's vertical centre line (taking the principal
  point at the centre, true for uncropped frames), and a rolled camera turns
  that point about the centre by the roll. So the vanishing point is fitted
  (length-weighted least squares on the segments' homogeneous lines, Hartley &
  Zisserman 2004 sec. 8.6, outliers dropped in rounds) and the tilt is the
  angle of the line from the centre to it. Two lines always meet somewhere, so
  agreement means more: at least :data:`_VERT_MIN_SEGMENTS` segments within
  :data:`_VERT_INLIER_DEG` of it, summing to :data:`_VERT_SPAN` frame heights
  and most of the near-vertical length.

When both are found and agree, the reading with the stronger evidence is
reported; when they disagree by more than :data:`_AGREE_DEG`, one of them is
not a level reference (a sloping shore, a perspective edge) and the smaller
tilt is reported: a wrong tilt note is worse than a missed one.

Limits: any straight boundary across most of the frame is taken for a
horizon, so a quay or a table edge receding in perspective reads as a tilted
horizon (a review note at most, never a reject). Verticals assume an
uncropped frame.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from autocull.records import TiltMetrics

__all__ = ["tilt"]

# Working size: long edge in px (never upscaled). Enough for 0.1 degree on a
# line crossing a third of the frame; 4x fewer pixels than the 1280 px frame.
_WORK = 640
# Frames whose short side (working px) is under this carry no line to read.
_MIN_SIDE = 32
# Gaussian smoothing before edge detection (working px).
_SMOOTH_SIGMA = 1.0
# Canny thresholds on the L1 Sobel magnitude of the 8-bit image: the high one
# is _CANNY_REL x the median magnitude (busy frames keep only their strong
# edges), never under _CANNY_FLOOR (a JPEG's or sensor's noise stays below it);
# the low one is half the high one.
_CANNY_REL = 4.0
_CANNY_FLOOR = 40.0
# Shortest segment kept, as a share of the long edge (and never under 12 px).
_MIN_SEG = 0.04
# Lines further than this from level (or vertical) are not a level reference:
# diagonals, stairs, a roof.
_MAX_TILT = 15.0
# Horizon: each of the _SEEDS longest near-level segments seeds a family; a
# segment joins when both its ends lie within _COLLINEAR x the long edge
# (3.2 px at 640 px: a far shore bends by that much) of the family's line,
# never under 1 px. The family must span _HORIZON_SPAN of the frame width.
_SEEDS = 8
_COLLINEAR = 0.005
_HORIZON_SPAN = 0.5
# A second family at another angle (differing by more than _AGREE_DEG) that
# spans _RIVAL of the first's span makes the horizon ambiguous: none.
_RIVAL = 0.67
# Horizon boundary test: mean gray in bands _BAND_NEAR.._BAND_FAR px above and
# below the line (clear of a wire up to about 5 px thick) must differ by at
# least _STEP_MIN (gray 0..1) along _STEP_AGREE of the line.
_BAND_NEAR, _BAND_FAR = 3, 9
_STEP_MIN = 0.04
_STEP_AGREE = 0.7
# Verticals: a segment agrees with the vanishing point when its direction is
# within _VERT_INLIER_DEG of the line to it; at least _VERT_MIN_SEGMENTS
# agreeing segments, summing to _VERT_SPAN frame heights and _VERT_SHARE of
# the near-vertical length; the vanishing point at least _VP_MIN_DIST long
# edges from the centre (nearer means the lines fan out: no common vertical).
_VERT_INLIER_DEG = 1.0
_VERT_MIN_SEGMENTS = 4
_VERT_SPAN = 2.0
_VERT_SHARE = 0.5
_VP_MIN_DIST = 1.0
# Horizon and verticals agree when their tilts differ by at most this.
_AGREE_DEG = 1.0


_NONE = TiltMetrics()


def tilt(gray: np.ndarray) -> TiltMetrics:
    """Tilt of a frame from its dominant horizon or vertical architecture.

    Parameters
    ----------
    gray : ndarray
        (H, W) gray image, float in 0..1 (the analysis image; any size, it is
        read at a long edge of at most 640 px). Integer images are scaled by
        their dtype's range; NaN is read as 0, values are clipped to 0..1.
        Not modified.

    Returns
    -------
    TiltMetrics
        ``angle`` in degrees (positive: rotated counter-clockwise as
        displayed; 0 is level, larger ``|angle|`` is worse), the ``kind`` of
        evidence and its ``strength`` (0..1, higher is more dominant). A
        frame without a dominant straight line (curves, texture, deliberate
        diagonals, uniform, tiny) gives ``TiltMetrics()``: ``found`` False.

    Raises
    ------
    ValueError
        If ``gray`` is not 2-D.

    References
    ----------
    J. H. Lee et al., "Outdoor place recognition in urban environments using
    straight lines", ICRA 2014 (the Fast Line Detector).
    R. Hartley, A. Zisserman, "Multiple View Geometry", 2nd ed., 2004, sec.
    8.6 (vanishing points).
    """
    g = np.asarray(gray)
    if g.ndim != 2:
        raise ValueError(f"expected a 2-D gray image, got shape {g.shape}")
    g = _working(g)
    if min(g.shape) < _MIN_SIDE:
        return _NONE
    g8 = cv2.convertScaleAbs(cv2.GaussianBlur(g, (0, 0), _SMOOTH_SIGMA), alpha=255.0)
    segments = _segments(g8)
    if len(segments) == 0:
        return _NONE
    gs = g8.astype(np.float32) / 255.0
    horizon = _horizon(segments, gs)
    verticals = _verticals(segments, gs.shape)
    if horizon.found and verticals.found:
        if abs(horizon.angle - verticals.angle) <= _AGREE_DEG:
            return horizon if horizon.strength >= verticals.strength else verticals
        return horizon if abs(horizon.angle) <= abs(verticals.angle) else verticals
    return horizon if horizon.found else verticals


def _working(gray: np.ndarray) -> np.ndarray:
    """``gray`` as float32 0..1 with a long edge of at most _WORK px.

    Halved with a Gaussian pyramid while it is twice that or more (cheaper
    than an area resize of the whole frame), then area-resized to _WORK.
    """
    a = np.asarray(gray)
    g: np.ndarray
    if a.dtype == np.bool_:
        g = a.astype(np.float32)
    elif np.issubdtype(a.dtype, np.integer):
        g = a.astype(np.float32) / np.float32(np.iinfo(a.dtype).max)
    else:
        g = a.astype(np.float32, copy=False)
    if g.size == 0:
        return np.zeros((0, 0), np.float32)
    while max(g.shape) >= 2 * _WORK:
        g = cv2.pyrDown(g)
    h, w = g.shape
    if max(h, w) > _WORK:
        scale = _WORK / max(h, w)
        g = cv2.resize(g, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    else:
        g = g.copy()
    cv2.patchNaNs(g, 0.0)
    return np.clip(g, 0.0, 1.0, out=g)


def _segments(g8: np.ndarray) -> np.ndarray:
    """Straight segments (N, 4) as x1, y1, x2, y2 in working px."""
    gx = cv2.Sobel(g8, cv2.CV_16S, 1, 0)
    gy = cv2.Sobel(g8, cv2.CV_16S, 0, 1)
    mag = np.abs(gx[::2, ::2].astype(np.int32)) + np.abs(gy[::2, ::2].astype(np.int32))
    counts = np.cumsum(np.bincount(mag.ravel()))
    median = float(np.searchsorted(counts, counts[-1] / 2.0))
    high = max(_CANNY_FLOOR, _CANNY_REL * median)
    edges = cv2.Canny(gx, gy, high / 2.0, high)
    min_len = max(12, round(_MIN_SEG * max(g8.shape)))
    fld = cv2.ximgproc.createFastLineDetector(
        length_threshold=min_len, distance_threshold=1.5, canny_aperture_size=0, do_merge=False
    )
    found = fld.detect(edges)
    if found is None:
        return np.zeros((0, 4), np.float64)
    return np.asarray(found, dtype=np.float64).reshape(-1, 4)


def _angles(seg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Length, tilt from level and tilt from vertical (degrees, CCW positive)."""
    dx = seg[:, 2] - seg[:, 0]
    dy = seg[:, 3] - seg[:, 1]
    length = np.hypot(dx, dy)
    # Orient each segment rightwards (for level) / upwards (for vertical);
    # image y grows downwards, so "rises to the right" is -dy.
    s = np.where(dx < 0, -1.0, 1.0)
    level = np.degrees(np.arctan2(-dy * s, dx * s))
    u = np.where(dy > 0, -1.0, 1.0)
    vertical = np.degrees(np.arctan2(-dx * u, -dy * u))
    return length, level, vertical


def _horizon(seg: np.ndarray, gs: np.ndarray) -> TiltMetrics:
    """The dominant horizon among the segments, or none (``gs``: working gray)."""
    h, w = gs.shape
    length, level, _ = _angles(seg)
    near = np.abs(level) < _MAX_TILT
    if not near.any():
        return _NONE
    seg, length = seg[near], length[near]
    tol = max(1.0, _COLLINEAR * max(h, w))
    # Each of the longest segments seeds a family of collinear segments; the
    # family's line is refitted to all its members (twice: members join as
    # the line settles).
    families: list[tuple[float, float, np.ndarray]] = []  # (span, angle, members)
    taken = np.zeros(len(seg), bool)
    for i in np.argsort(-length)[:_SEEDS]:
        if taken[i]:
            continue  # already in a family: it would seed the same one
        members = _collinear(seg, seg[i], tol)
        for _ in range(2):
            line = _fit_line(seg[members], length[members])
            members = _collinear(seg, line, tol)
            if not members.any():
                break
        x1, y1, x2, y2 = line
        angle = math.degrees(math.atan2(-(y2 - y1), x2 - x1))
        taken |= members
        if members.any() and abs(angle) < _MAX_TILT:
            families.append((_span(seg[members], w), angle, members))
    # The widest family that is a boundary wins; it is ambiguous when another
    # boundary family at a different angle spans nearly as much.
    families.sort(key=lambda f: -f[0])
    best: tuple[float, float, np.ndarray] | None = None
    for span, angle, members in families:
        if best is None:
            if span < _HORIZON_SPAN:
                return _NONE
            if _is_boundary(gs, seg[members]):
                best = (span, angle, members)
        elif span < _RIVAL * best[0]:
            break
        elif abs(angle - best[1]) > _AGREE_DEG and _is_boundary(gs, seg[members]):
            return _NONE
    if best is None:
        return _NONE
    return TiltMetrics(angle=float(best[1]), kind="horizon", strength=float(min(1.0, best[0])))


def _collinear(seg: np.ndarray, line: np.ndarray, tol: float) -> np.ndarray:
    """Mask of segments with both ends within ``tol`` px of ``line``."""
    x1, y1, x2, y2 = line
    dx, dy = x2 - x1, y2 - y1
    n = math.hypot(dx, dy)
    if n == 0:
        return np.zeros(len(seg), bool)
    nx, ny = -dy / n, dx / n
    d1 = np.abs((seg[:, 0] - x1) * nx + (seg[:, 1] - y1) * ny)
    d2 = np.abs((seg[:, 2] - x1) * nx + (seg[:, 3] - y1) * ny)
    mask: np.ndarray = (d1 <= tol) & (d2 <= tol)
    return mask


def _span(seg: np.ndarray, width: int) -> float:
    """Share of ``width`` covered by the union of the segments' x-extents."""
    if len(seg) == 0:
        return 0.0
    lo = np.minimum(seg[:, 0], seg[:, 2])
    hi = np.maximum(seg[:, 0], seg[:, 2])
    order = np.argsort(lo)
    covered, end = 0.0, -math.inf
    for a, b in zip(lo[order], hi[order]):
        if b <= end:
            continue
        covered += b - max(a, end)
        end = b
    return covered / max(width, 1)


def _fit_line(seg: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Total-least-squares line through the segments' ends, as two points."""
    pts = np.concatenate([seg[:, :2], seg[:, 2:]])
    wt = np.concatenate([weight, weight])
    c = (pts * wt[:, None]).sum(0) / wt.sum()
    d = pts - c
    cov = (d * wt[:, None]).T @ d
    _, vecs = np.linalg.eigh(cov)
    u = vecs[:, 1]  # direction of largest spread
    if u[0] < 0:
        u = -u
    return np.array([c[0] - 100 * u[0], c[1] - 100 * u[1], c[0] + 100 * u[0], c[1] + 100 * u[1]])


def _is_boundary(gs: np.ndarray, seg: np.ndarray) -> bool:
    """True when the line separates two differently bright regions.

    Compares mean gray in bands on either side, clear of the line itself: a
    thin line (a wire, a cable, a painted stripe) has the same surroundings
    on both sides. The sign may change along the line (sky above a dark
    shore on one side, a dark hill above bright water on the other).
    """
    h, w = gs.shape
    n = np.maximum(2, (np.hypot(seg[:, 2] - seg[:, 0], seg[:, 3] - seg[:, 1]) // 4).astype(int))
    owner = np.repeat(np.arange(len(seg)), n)
    t = np.concatenate([np.linspace(0.0, 1.0, k) for k in n])
    xs = seg[owner, 0] + t * (seg[owner, 2] - seg[owner, 0])
    ys = seg[owner, 1] + t * (seg[owner, 3] - seg[owner, 1])
    offs = np.arange(_BAND_NEAR, _BAND_FAR + 1)[:, None]
    xi = np.clip(np.rint(xs).astype(int), 0, w - 1)[None, :]
    above = gs[np.clip(np.rint(ys - offs).astype(int), 0, h - 1), xi].mean(0)
    below = gs[np.clip(np.rint(ys + offs).astype(int), 0, h - 1), xi].mean(0)
    return float(np.mean(np.abs(above - below) >= _STEP_MIN)) >= _STEP_AGREE


def _verticals(seg: np.ndarray, shape: tuple[int, int]) -> TiltMetrics:
    """The roll read from agreeing near-vertical segments, or none."""
    h, w = shape
    length, _, vert = _angles(seg)
    near = np.abs(vert) < _MAX_TILT
    if near.sum() < _VERT_MIN_SEGMENTS:
        return _NONE
    seg, length = seg[near], length[near]
    half = max(h, w) / 2.0
    cx, cy = w / 2.0, h / 2.0
    p1 = np.column_stack([(seg[:, 0] - cx) / half, (seg[:, 1] - cy) / half, np.ones(len(seg))])
    p2 = np.column_stack([(seg[:, 2] - cx) / half, (seg[:, 3] - cy) / half, np.ones(len(seg))])
    lines = np.cross(p1, p2)
    lines /= np.hypot(lines[:, 0], lines[:, 1])[:, None]
    mid = (p1 + p2) / 2.0
    direction = p2[:, :2] - p1[:, :2]
    direction /= np.hypot(direction[:, 0], direction[:, 1])[:, None]
    inlier = np.ones(len(seg), bool)
    vp = np.zeros(3)
    for tol in (4.0, 2.0, _VERT_INLIER_DEG, _VERT_INLIER_DEG):
        if inlier.sum() < 2:
            return _NONE
        lw = lines[inlier] * np.sqrt(length[inlier])[:, None]
        _, vecs = np.linalg.eigh(lw.T @ lw)
        vp = vecs[:, 0]
        to_vp = vp[None, :2] - vp[2] * mid[:, :2]
        to_vp /= np.maximum(np.hypot(to_vp[:, 0], to_vp[:, 1]), 1e-12)[:, None]
        cos = np.abs((to_vp * direction).sum(1))
        resid = np.degrees(np.arccos(np.clip(cos, 0.0, 1.0)))
        inlier = resid <= tol
    n_in = int(inlier.sum())
    if n_in < _VERT_MIN_SEGMENTS:
        return _NONE
    if abs(vp[2]) > 1e-12 and math.hypot(vp[0], vp[1]) / abs(vp[2]) < 2.0 * _VP_MIN_DIST:
        return _NONE
    span = float(length[inlier].sum()) / h
    share = float(length[inlier].sum() / length.sum())
    if span < _VERT_SPAN or share < _VERT_SHARE:
        return _NONE
    vx, vy = vp[0], vp[1]
    if vy > 0:
        vx, vy = -vx, -vy
    angle = math.degrees(math.atan2(-vx, -vy))
    if abs(angle) >= _MAX_TILT:
        return _NONE
    return TiltMetrics(angle=float(angle), kind="verticals", strength=float(min(1.0, span / (2 * _VERT_SPAN)) * share))
