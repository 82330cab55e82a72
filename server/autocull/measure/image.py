"""Pixel helpers every measure shares: one luma, one gray conversion, boxes as pixels.

Luma is the Rec.709 weighted sum of the gamma-encoded channels (what a viewer
sees), defined once here (:data:`LUMA`, :func:`weighted_luma`). :func:`to_gray`
is the one conversion of an image to gray 0..1; :func:`as_gray` is the same
without a copy when the input already is gray 0..1 (``analyze`` converts once
and every metric reads that array). A normalised :class:`~autocull.records.Box`
becomes pixels by its own rule (:meth:`~autocull.records.Box.pixels`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from autocull.records import Box

__all__ = ["LUMA", "weighted_luma", "to_gray", "as_gray", "as_rgb", "as_rgb01", "padded_crop", "union_box"]

# Rec.709 luma weights, applied to gamma-encoded values (what a viewer sees).
LUMA = (0.2126, 0.7152, 0.0722)
# Weighted uint8 code values, computed as the float32 formula of weighted_luma does.
_LUMA_LUT = tuple(np.arange(256, dtype=np.float32) * w for w in LUMA)


def weighted_luma(channels: Sequence[np.ndarray]) -> np.ndarray:
    """Rec.709 weighted sum of float32 R, G, B planes, as float32; a single plane is gray already and returned as is."""
    if len(channels) == 1:
        return channels[0]
    r, g, b = channels
    return (r * LUMA[0] + g * LUMA[1] + b * LUMA[2]).astype(np.float32, copy=False)


def to_gray(image: np.ndarray) -> np.ndarray:
    """Luma of an image as float32 in 0..1.

    Parameters
    ----------
    image : ndarray
        (H, W) or (H, W, 1|3|4) array; uint8 / uint16 are scaled by their range,
        float is taken as 0..1 (and clipped). Alpha is ignored.

    Returns
    -------
    ndarray
        (H, W) float32 in 0..1: Rec.709 weights on the gamma-encoded values.
        Always a new array.
    """
    g = as_gray(image)
    return g.copy() if np.shares_memory(g, np.asarray(image)) else g


def as_gray(image: np.ndarray) -> np.ndarray:
    """:func:`to_gray` that returns a float32 gray input in 0..1 as is (no copy).

    The measure functions take either colour or gray; ``analyze`` converts
    once and every metric then reuses that gray image, so the common case is a
    quick range check instead of a 4 MB copy, NaN scan and clip per metric.
    Callers must not write into the result.
    """
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3:
        if a.shape[2] not in (3, 4):
            raise ValueError(f"expected (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
        a = a[:, :, :3]
    elif a.ndim != 2:
        raise ValueError(f"expected a 2-D gray or 3-D colour image, got shape {a.shape}")
    if a.dtype == np.uint8:
        scale = 1.0 / 255.0
    elif a.dtype == np.uint16:
        scale = 1.0 / 65535.0
    elif a.dtype == np.bool_:
        a = a.astype(np.float32)
        scale = 1.0
    elif np.issubdtype(a.dtype, np.integer):
        raise ValueError(f"unsupported integer dtype {a.dtype}; use uint8, uint16 or float")
    else:
        scale = 1.0
    if (
        a.ndim == 2
        and a.dtype == np.float32
        and a.size
        and a.strides[1] == a.itemsize
        and 0.0 <= a.min()
        and a.max() <= 1.0
    ):
        return a  # already gray 0..1 (a NaN makes min/max NaN and fails the test)
    if a.ndim == 3 and a.dtype == np.uint8 and a.size:
        # weighted_luma, bit for bit, without converting the frame to float:
        # each channel's weighted value comes from a table, in the same order.
        r, gr, b = cv2.split(np.ascontiguousarray(a))
        g: np.ndarray = cv2.LUT(r, _LUMA_LUT[0])
        term = cv2.LUT(gr, _LUMA_LUT[1])
        g += term
        g += cv2.LUT(b, _LUMA_LUT[2], dst=term)
        g *= np.float32(scale)
        return g
    if a.ndim == 3:
        f = a.astype(np.float32)
        g = weighted_luma([f[:, :, 0], f[:, :, 1], f[:, :, 2]])
    else:
        g = a.astype(np.float32)
    if scale != 1.0:
        return g * np.float32(scale)  # integer input: already within 0..1
    if g is a:
        g = g.copy()
    g = np.nan_to_num(g, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(g, 0.0, 1.0, out=g)


def as_rgb(image: np.ndarray) -> np.ndarray:
    """(H, W, 1|3) view of an image (alpha dropped); refuses other shapes and dtypes."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected (H, W), (H, W, 3) or (H, W, 4), got shape {np.shape(image)}")
    if a.dtype not in (np.uint8, np.uint16, np.bool_) and not np.issubdtype(a.dtype, np.floating):
        raise ValueError(f"unsupported dtype {a.dtype}; use uint8, uint16 or float 0..1")
    return a[:, :, :3]


def as_rgb01(image: np.ndarray) -> np.ndarray:
    """:func:`as_rgb` as float32 channels in 0..1 (integers scaled by their range, floats clipped, NaN read as 0)."""
    a = as_rgb(image)
    if a.dtype == np.uint8:
        f = a.astype(np.float32) / 255.0
    elif a.dtype == np.uint16:
        f = a.astype(np.float32) / 65535.0
    else:
        f = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(f, 0.0, 1.0)


def padded_crop(gray: np.ndarray, box: Box, pad: int) -> np.ndarray:
    """The pixels of ``box`` in a 2-D image with ``pad`` pixels of context on every side.

    Context is the image's own pixels where it has them, reflected at its
    edges where not, so the margins are equal on all sides.
    """
    h, w = gray.shape
    x0, y0, x1, y1 = box.pixels((w, h))
    px0, py0 = max(0, x0 - pad), max(0, y0 - pad)
    px1, py1 = min(w, x1 + pad), min(h, y1 + pad)
    crop = gray[py0:py1, px0:px1]
    top, left = pad - (y0 - py0), pad - (x0 - px0)
    bottom, right = pad - (py1 - y1), pad - (px1 - x1)
    if min(crop.shape) >= 2:
        crop = cv2.copyMakeBorder(crop, top, bottom, left, right, cv2.BORDER_REFLECT)
    else:
        crop = np.pad(crop, ((top, bottom), (left, right)), mode="edge")
    return np.ascontiguousarray(crop)


def union_box(boxes: Sequence[Box]) -> Box:
    """Smallest normalised box containing all ``boxes`` (clipped to 0..1)."""
    x0 = max(0.0, min(b.x for b in boxes))
    y0 = max(0.0, min(b.y for b in boxes))
    x1 = min(1.0, max(b.x + b.w for b in boxes))
    y1 = min(1.0, max(b.y + b.h for b in boxes))
    return Box(x=x0, y=y0, w=max(0.0, x1 - x0), h=max(0.0, y1 - y0))
