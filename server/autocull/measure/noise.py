"""Noise level of a frame: Immerkaer's fast estimator, edges excluded.

The estimate is the standard deviation of additive white Gaussian noise, in
0..255 units, measured at the resolution it is given (the analysis image).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from autocull.measure.image import as_gray
from autocull.records import NoiseMetrics

__all__ = ["noise", "estimate_sigma"]

# Immerkaer's mask: the difference of two Laplacians; it cancels image structure
# up to second order and leaves 36 * sigma^2 of white noise variance.
_IMMERKAER = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=np.float32)
# Fraction of pixels with the strongest Sobel gradient left out of the estimate
# (Tai & Yang 2008): edges and fine texture otherwise read as noise.
_EDGE_FRACTION = 0.10
# Sigma (0..255) at which the score is 0.5 on the analysis image; the score is
# 1 / (1 + (sigma / _SIGMA_HALF) ** 2): sigma 2 -> 0.9, 6 -> 0.5, 12 -> 0.2.
_SIGMA_HALF = 6.0
_MIN_SIDE = 3


def estimate_sigma(gray: np.ndarray) -> float:
    """Standard deviation of the white noise in ``gray``, in 0..255 units.

    Parameters
    ----------
    gray : ndarray
        2-D image, uint8 (0..255) or float (0..1); an RGB image is converted.

    Returns
    -------
    float
        >= 0; 0 for images smaller than 3x3. Lower is cleaner.

    References
    ----------
    J. Immerkaer, "Fast Noise Variance Estimation", CVIU 64(2), 1996.
    S.-C. Tai and S.-M. Yang, "A fast method for image noise estimation using
    Laplacian operator and adaptive edge detection", ISCCSP 2008.
    """
    g = as_gray(gray)
    if min(g.shape) < _MIN_SIDE:
        return 0.0
    planes = np.empty((4, *g.shape), np.float32)  # one block: fresh memory is paid per allocation and page
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, dst=planes[0], ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, dst=planes[1], ksize=3)
    return sigma_from_sobel(g, gx, gy, (planes[2], planes[3]))


def sigma_from_sobel(
    g: np.ndarray, gx: np.ndarray, gy: np.ndarray, scratch: tuple[np.ndarray, np.ndarray] | None = None
) -> float:
    """:func:`estimate_sigma` of a gray 0..1 image given its 3x3 Sobel derivatives.

    ``analyze`` already has the Sobel derivatives (for the tenengrad); only
    their interior is read, so the border rule they were computed with does
    not matter. ``scratch`` are two float32 work planes of ``g``'s shape
    (fresh image-sized memory costs more than the arithmetic done in it).
    """
    h, w = g.shape
    if h < _MIN_SIDE or w < _MIN_SIDE:
        return 0.0
    if scratch is None:
        planes = np.empty((2, *g.shape), np.float32)
        scratch = (planes[0], planes[1])
    inner = (slice(1, -1), slice(1, -1))
    mag, tmp = scratch[1][inner], scratch[0][inner]
    np.abs(gx[inner], out=mag)
    mag += np.abs(gy[inner], out=tmp)
    resp = cv2.filter2D(g, cv2.CV_32F, dst=scratch[0], kernel=_IMMERKAER, borderType=cv2.BORDER_REFLECT)[inner]
    resp = np.abs(resp, out=resp)
    if resp.size >= 100:
        sub = mag[:: max(1, mag.shape[0] // 256), :: max(1, mag.shape[1] // 256)]
        thr = np.float32(np.quantile(sub, 1.0 - _EDGE_FRACTION))
        # keep = mag <= thr, as a 1/0 float plane in place of mag: the masked mean without a mask copy
        keep = cv2.threshold(mag, float(thr), 1.0, cv2.THRESH_BINARY_INV, dst=mag)[1]
        count = cv2.countNonZero(keep)
        if count >= 16:
            return _sigma_of_mean(cv2.sumElems(cv2.multiply(resp, keep, dst=resp))[0] / count)
    return _sigma_of_mean(cv2.mean(resp)[0])


def _sigma_of_mean(mean_abs: float) -> float:
    """Noise sigma (0..255) from the mean absolute Immerkaer response (gray 0..1)."""
    return max(0.0, math.sqrt(math.pi / 2.0) * mean_abs / 6.0 * 255.0)


def noise(gray: np.ndarray, *, sigma: float | None = None) -> NoiseMetrics:
    """Noise level and a 0..1 cleanliness score.

    Parameters
    ----------
    gray : ndarray
        2-D image, uint8 or float in 0..1 (RGB is converted to luma).
    sigma : float, optional
        A noise sigma (0..255) already estimated with :func:`estimate_sigma`.

    Returns
    -------
    NoiseMetrics
        ``sigma`` in 0..255 units (lower is cleaner) and ``score`` in 0..1,
        1 = clean, 0.5 at sigma 6 on the analysis image.
    """
    s = estimate_sigma(gray) if sigma is None else float(sigma)
    if not math.isfinite(s):
        s = 0.0
    score = 1.0 / (1.0 + (s / _SIGMA_HALF) ** 2)
    return NoiseMetrics(sigma=s, score=float(score))
