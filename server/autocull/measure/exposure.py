"""Exposure of a frame: where its tones sit relative to a mid-grey exposure."""

from __future__ import annotations

import math

import cv2
import numpy as np

from autocull.measure.image import as_rgb, as_rgb01, weighted_luma
from autocull.records import ExposureMetrics

__all__ = ["exposure", "linear_luminance"]

# Clipping: a pixel is blown when its luma is >= 250/255 -- detail lost. All
# three channels at the top imply that; one saturated channel (a red flower, a
# blue sky) does not: the other two still carry the texture. Such pixels are
# counted per channel in ``channel_clip``, for a note. Crushed when luma <= 5/255.
_HIGH_CLIP = 250.0 / 255.0
_LOW_CLIP = 5.0 / 255.0
# Anchor of ev_offset: the interquartile mean of linear luminance of a
# well-exposed frame. 0.18 is the photographic mid-grey (18 % reflectance,
# sRGB level 118); the interquartile mean (mean of the 25th..75th percentile
# band) ignores a blown sky or a dark foreground of up to a quarter of the frame.
_MID_GREY = 0.18
_TRIM = 0.25
# Anchor of highlight_ev: a normal exposure puts the textured highlights two
# stops above mid-grey (zone VII of the zone system, 0.72 linear, half a stop
# under white). The frame's highlights are its brightest 0.5 %: enough pixels
# that a few specular points do not count, few enough that the lit leaves of a
# low-key forest do.
_HIGHLIGHT_REF = 4.0 * _MID_GREY
_HIGHLIGHT_Q = 0.995
# Floor for log of luminance (about 1/4096: below 12-bit black).
_LUM_FLOOR = 1.0 / 4096.0
# Labels: "under" when the highlights (highlight_ev) sit more than _EV_MARGIN
# below where a normal exposure puts them and the midtones (ev_offset) are
# more than _EV_MARGIN under mid-grey too: a low median alone (low key, night
# with lit windows) is not under-exposed, and neither is a flat frame whose
# midtones are in place (fog, a grey card). "over" when
# ev_offset > +_EV_MARGIN and more than _OVER_CLIP of the frame is blown, or
# when ev_offset > _EV_WHITE: a blown sky alone leaves the interquartile mean
# near mid-grey, and a bright scene without clipping (snow, a page of white
# paper, a white backdrop: diffuse white sits about 2.3 EV over mid-grey) is
# high key, not over-exposed.
_EV_MARGIN = 1.0
_OVER_CLIP = 0.02
_EV_WHITE = 2.5
# Score: Gaussian fall-off (sigma in stops) with how far the frame is off --
# on the bright side the midtones; on the dark side the highlights, counted in
# full once the midtones are _EV_MARGIN under and in proportion before (so the
# score has no step where the label changes) -- times a clipping penalty that
# reaches 0 at _CLIP_FULL of the frame clipped.
_EV_SIGMA = 1.5
_CLIP_FREE = 0.01
_CLIP_FULL = 0.5


def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float32, copy=False)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


# uint8 code value -> linear light and -> gamma-encoded 0..1 (exactly v / 255 in
# float32, as the float path computes it): cv2.LUT reads them in one pass per
# channel, where converting the frame to float first costs ten times more.
_LIN_LUT = np.where(
    np.arange(256) / 255.0 <= 0.04045,
    np.arange(256) / 255.0 / 12.92,
    ((np.arange(256) / 255.0 + 0.055) / 1.055) ** 2.4,
).astype(np.float32)
_GAMMA_LUT = np.arange(256, dtype=np.float32) / 255.0
# Statistics are taken on every _STRIDE-th pixel in each direction (exact
# enough for fractions and percentiles, 4x cheaper).
_STRIDE = 2


def _channels(arr: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Gamma-encoded 0..1 and linear channels (float32) of an (H, W, 1|3) image."""
    if arr.dtype == np.uint8:
        chans = [np.ascontiguousarray(arr[:, :, c]) for c in range(arr.shape[2])]
        return [cv2.LUT(c, _GAMMA_LUT) for c in chans], [cv2.LUT(c, _LIN_LUT) for c in chans]
    f = as_rgb01(arr)
    lin = _srgb_to_linear(f)
    return [f[:, :, c] for c in range(f.shape[2])], [lin[:, :, c] for c in range(lin.shape[2])]


def linear_luminance(rgb: np.ndarray) -> np.ndarray:
    """Relative luminance Y (sRGB decoded to linear, Rec.709 weights), 0..1."""
    f = as_rgb01(rgb)
    if f.dtype == np.float32 and f.shape[2] == 1:
        return _srgb_to_linear(f[:, :, 0])
    lin = _srgb_to_linear(f)
    return weighted_luma([lin[:, :, 0], lin[:, :, 1], lin[:, :, 2]])


def exposure(rgb: np.ndarray) -> ExposureMetrics:
    """Exposure metrics of an sRGB frame, judged as a photographer reads it.

    Too dark means even the highlights sit far below where a normal exposure
    puts them, not that the median is low; blown means detail lost (luma at the
    top), not one saturated colour channel.

    Parameters
    ----------
    rgb : ndarray
        (H, W, 3) uint8 sRGB (or float 0..1, or a gray (H, W) image).

    Returns
    -------
    ExposureMetrics
        ``mean``/``median`` luma 0..1 (gamma-encoded); ``highlight_clip`` (luma
        >= 250/255) and ``shadow_clip`` (luma <= 5/255) fractions 0..1 (lower is
        better); ``channel_clip`` fractions 0..1 per red, green, blue channel at
        the top where the luma is not (saturated colour, detail kept);
        ``dynamic_range`` in stops between the 1st and 99th percentile of
        linear luminance; ``ev_offset`` = log2(interquartile mean of linear
        luminance / 0.18), 0 is a mid-grey exposure, negative darker;
        ``highlight_ev`` = log2(99.5th percentile of linear luminance / 0.72),
        0 where a normal exposure puts textured highlights, negative darker;
        ``label`` "under" / "ok" / "over"; ``score`` 0..1, 1 = well exposed.

    References
    ----------
    ITU-R BT.709-6 (luma weights); IEC 61966-2-1 (sRGB transfer function);
    ISO 2720 / the 18 % grey convention of reflected-light metering; A. Adams,
    *The Negative* (1981), zone VII = textured highlights, two stops over zone V.
    """
    arr = as_rgb(rgb)
    if min(arr.shape[:2]) >= 2 * _STRIDE:
        arr = arr[::_STRIDE, ::_STRIDE]
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        return ExposureMetrics(
            score=0.0,
            label="under",
            mean=0.0,
            median=0.0,
            highlight_clip=0.0,
            shadow_clip=0.0,
            dynamic_range=0.0,
            ev_offset=-math.log2(_MID_GREY / _LUM_FLOOR),
            highlight_ev=-math.log2(_HIGHLIGHT_REF / _LUM_FLOOR),
        )
    gamma, lin = _channels(arr)
    y = weighted_luma(gamma)
    ylin = weighted_luma(lin)
    n = y.size
    mean = float(y.mean(dtype=np.float64))
    median = _median(y.ravel())
    blown = y >= _HIGH_CLIP
    high = float(np.count_nonzero(blown)) / n
    chan = (0.0, 0.0, 0.0)
    if len(gamma) == 3:
        kept = ~blown
        r, g, b = (float(np.count_nonzero((c >= _HIGH_CLIP) & kept)) / n for c in gamma)
        chan = (r, g, b)
    low = float(np.count_nonzero(y <= _LOW_CLIP)) / n
    flat = ylin.ravel()
    p1, p25, p75, p99, top = _quantiles(flat, (0.01, _TRIM, 1.0 - _TRIM, 0.99, _HIGHLIGHT_Q))
    dr = math.log2(max(float(p99), _LUM_FLOOR) / max(float(p1), _LUM_FLOOR))
    band = flat[(flat >= p25) & (flat <= p75)]
    iqm = float(band.mean(dtype=np.float64)) if band.size else float(np.median(flat))
    ev = math.log2(max(iqm, _LUM_FLOOR) / _MID_GREY)
    hl = math.log2(max(top, _LUM_FLOOR) / _HIGHLIGHT_REF)
    if hl < -_EV_MARGIN and ev < -_EV_MARGIN:
        label = "under"
    elif (ev > _EV_MARGIN and high > _OVER_CLIP) or ev > _EV_WHITE:
        label = "over"
    else:
        label = "ok"
    off = ev if ev > 0 else min(hl, 0.0) * min(-ev / _EV_MARGIN, 1.0)
    clip = max(high, low)
    clip_pen = float(np.clip((clip - _CLIP_FREE) / (_CLIP_FULL - _CLIP_FREE), 0.0, 1.0))
    score = math.exp(-0.5 * (off / _EV_SIGMA) ** 2) * (1.0 - clip_pen)
    return ExposureMetrics(
        score=float(score),
        label=label,
        mean=mean,
        median=median,
        highlight_clip=high,
        shadow_clip=low,
        dynamic_range=float(dr),
        ev_offset=float(ev),
        highlight_ev=float(hl),
        channel_clip=chan,
    )


# Order statistics. np.median / np.quantile partition the data at the ranks
# they need and also at the minimum and maximum (looking for NaNs, which a
# luma plane cannot hold), one call each: one partition at just the needed
# ranks is two to three times cheaper. The arithmetic after it is numpy's,
# so the values are the same to the bit.


def _neighbours(n: int, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """numpy's 'linear' quantile ranks around (n - 1) * q: floor, next and the virtual index."""
    virtual = (n - 1) * q
    prev = np.floor(virtual)
    nxt = prev + 1
    top = virtual >= n - 1
    prev[top] = nxt[top] = n - 1
    return prev.astype(np.intp), nxt.astype(np.intp), virtual


def _lerp(lo: np.ndarray, hi: np.ndarray, gamma: np.ndarray | float) -> np.ndarray:
    """numpy's quantile interpolation (numpy.lib._function_base_impl._lerp)."""
    diff = hi - lo
    out = lo + diff * gamma
    return np.where(np.asarray(gamma) >= 0.5, hi - diff * (1 - gamma), out)


def _quantiles(flat: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """``np.quantile(flat, list(qs))`` of a NaN-free 1-D array."""
    prev, nxt, virtual = _neighbours(flat.size, np.asarray(qs, dtype=np.float64))
    part = np.partition(flat, np.unique(np.concatenate((prev, nxt))))
    return [float(v) for v in _lerp(part[prev], part[nxt], virtual - np.where(virtual >= flat.size - 1, -1, prev))]


def _median(flat: np.ndarray) -> float:
    """``np.median(flat)`` of a NaN-free 1-D array, one partition at the middle rank(s)."""
    n = flat.size
    mid = [n // 2 - 1, n // 2] if n % 2 == 0 else [n // 2]
    part = np.partition(flat, mid)
    return float(part[mid].mean())  # float32 mean, as np.median
