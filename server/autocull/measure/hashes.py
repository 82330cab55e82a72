"""Perceptual hashes for near-duplicate and burst detection (64 bits, hex)."""
from __future__ import annotations

import cv2
import numpy as np

from autocull.measure.sharpness import to_gray

__all__ = ["phash", "dhash", "hamming"]

_PHASH_SIZE = 32  # area-resized side before the DCT
_HASH_SIDE = 8  # 8 x 8 = 64 bits


def _bits_to_hex(bits: np.ndarray) -> str:
    value = 0
    for b in bits.ravel():
        value = (value << 1) | int(bool(b))
    return f"{value:016x}"


def _resize(gray: np.ndarray, w: int, h: int) -> np.ndarray:
    g = to_gray(gray)
    if g.size == 0:
        return np.zeros((h, w), np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_AREA if g.shape[1] >= w and g.shape[0] >= h else cv2.INTER_LINEAR)


def phash(gray: np.ndarray) -> str:
    """DCT perceptual hash: 16 lowercase hex digits (64 bits).

    The image is area-resized to 32x32, transformed with a 2-D DCT, and each
    coefficient of the top-left 8x8 block is compared with that block's
    median. Similar images differ in few bits (see :func:`hamming`).

    References
    ----------
    C. Zauner, "Implementation and Benchmarking of Perceptual Image Hash
    Functions", 2010; the ``imagehash`` library (same bit layout).
    """
    small = _resize(gray, _PHASH_SIZE, _PHASH_SIZE)
    coeffs = cv2.dct(np.ascontiguousarray(small, dtype=np.float32))[:_HASH_SIDE, :_HASH_SIDE]
    return _bits_to_hex(coeffs > np.median(coeffs))


def dhash(gray: np.ndarray) -> str:
    """Difference hash: 16 hex digits; bit = right neighbour brighter (9x8 grid).

    References
    ----------
    N. Krawetz, "Kind of Like That", The Hacker Factor Blog, 2013.
    """
    small = _resize(gray, _HASH_SIDE + 1, _HASH_SIDE)
    return _bits_to_hex(small[:, 1:] > small[:, :-1])


def hamming(a: str, b: str) -> int:
    """Number of differing bits between two hex hashes of equal length (0..64)."""
    if len(a) != len(b):
        raise ValueError(f"hashes differ in length: {len(a)} vs {len(b)}")
    return int(bin(int(a, 16) ^ int(b, 16)).count("1"))
