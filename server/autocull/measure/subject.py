"""Where the subject probably is when no face was found.

Cheap and robust: the subject is where the sharpest detail clusters. We take
the per-window detail map of :mod:`autocull.measure.sharpness` (gradient energy
above noise, weighted by how sharp the window is), keep windows above a
fraction of the strongest, and box the largest connected cluster. When detail
is everywhere (a landscape, a texture) or nowhere, the centre region is used.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from autocull.measure.image import as_gray
from autocull.measure.noise import estimate_sigma
from autocull.measure.sharpness import _S_HALF, _SLOPE, TileStats, tile_stats
from autocull.records import Box

__all__ = ["subject_region", "CENTRE_BOX"]

CENTRE_BOX = Box(x=0.25, y=0.25, w=0.5, h=0.5)
# A window is salient when its sharp-detail weight is >= this fraction of the
# 98th percentile of the frame.
_KEEP = 0.35
# Detail covering more than this fraction of the frame is no subject (texture,
# landscape); less than this minimum is noise.
_MAX_COVER = 0.6
_MIN_COVER = 0.005
# Boxes grow by this fraction of their size per side and are at least this big.
_GROW = 0.1
_MIN_SIDE = 0.15
_MIN_PIXELS = 32


def subject_region(
    gray: np.ndarray, *, noise_sigma: float | None = None, stats: TileStats | None = None
) -> tuple[Box, str]:
    """Normalised box around the main subject and how it was found.

    Parameters
    ----------
    gray : ndarray
        Gray (or RGB) image, uint8 or float 0..1.
    noise_sigma : float, optional
        Noise sigma (0..255) if already estimated.
    stats : TileStats, optional
        Whole-frame :func:`~autocull.measure.sharpness.tile_stats` of ``gray``
        if already computed (``analyze`` shares them).

    Returns
    -------
    (Box, str)
        The box in 0..1 frame coordinates and ``"saliency"`` when found from the
        sharp detail, else the centre half of the frame and ``"centre"``.
    """
    g = as_gray(gray)
    if min(g.shape) < _MIN_PIXELS:
        return CENTRE_BOX, "centre"
    if stats is None:
        sigma = estimate_sigma(g) if noise_sigma is None else noise_sigma
        stats = tile_stats(g, noise_sigma=sigma)
    ts = stats
    grad = ts.grad.sum(axis=2)
    if not np.any(ts.valid):
        return CENTRE_BOX, "centre"
    width = ts.width.min(axis=2)  # inf where no direction is valid
    sharp = 1.0 / (1.0 + (width / _S_HALF) ** _SLOPE)
    weight = grad * sharp
    top = float(np.quantile(weight, 0.98))
    if not math.isfinite(top) or top <= 0:
        return CENTRE_BOX, "centre"
    mask = weight >= _KEEP * top
    cover = float(mask.mean())
    if cover > _MAX_COVER or cover < _MIN_COVER:
        return CENTRE_BOX, "centre"
    mask = ndimage.binary_closing(mask, structure=np.ones((3, 3)), iterations=2) | mask
    labels, n = ndimage.label(mask)
    if n == 0:
        return CENTRE_BOX, "centre"
    mass = ndimage.sum(weight, labels, index=np.arange(1, n + 1))
    best = int(np.argmax(mass)) + 1
    ys, xs = np.nonzero(labels == best)
    rows, cols = mask.shape
    x0, x1 = xs.min() / cols, (xs.max() + 1) / cols
    y0, y1 = ys.min() / rows, (ys.max() + 1) / rows
    return _grow(x0, y0, x1, y1), "saliency"


def _grow(x0: float, y0: float, x1: float, y1: float) -> Box:
    w, h = x1 - x0, y1 - y0
    x0, x1 = x0 - _GROW * w, x1 + _GROW * w
    y0, y1 = y0 - _GROW * h, y1 + _GROW * h
    if x1 - x0 < _MIN_SIDE:
        c = (x0 + x1) / 2
        x0, x1 = c - _MIN_SIDE / 2, c + _MIN_SIDE / 2
    if y1 - y0 < _MIN_SIDE:
        c = (y0 + y1) / 2
        y0, y1 = c - _MIN_SIDE / 2, c + _MIN_SIDE / 2
    x0, y0 = max(0.0, x0), max(0.0, y0)
    x1, y1 = min(1.0, x1), min(1.0, y1)
    return Box(x=float(x0), y=float(y0), w=float(x1 - x0), h=float(y1 - y0))
