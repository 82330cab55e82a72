"""Face boxes with BlazeFace: short range first, full range for small faces.

What was found on this project's test material (see tests/test_faces*.py and
the issue report): BlazeFace short range (128 px input) finds faces down to
about 12 % of the frame's long edge and tolerates faces turned 90/180/270
degrees; the full-range sparse model (192 px input) loads in the same Tasks
``FaceDetector`` and reaches about 5 %, but misses a third to half of tight
portrait crops (it is trained for distant faces). Neither finds a 40-90 px
face in a 1280 px group frame. So the passes are, in order:

1. short range on the whole frame (portraits, the common case);
2. full range on the whole frame (medium-distance faces);
3. unless a large face was already found, full range on overlapping 2x2
   tiles, which reaches faces of about 3 % of the long edge (the default
   ``min_face_size`` is 4 % of the short side);
4. if still no face (after the mesh has dropped detector noise), short range
   on the frame turned 90/180/270 degrees (``detect_turned``: a camera without
   orientation sensor, a person lying down).

When the surest upright face scores under 0.8 the frame is also tried turned
(BlazeFace boxes a face lying sideways or upside down, but with its key points
in the wrong place) and the orientation with the surest face wins.
Overlapping boxes from different passes are merged, the earlier pass wins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from . import models
from .quiet import inference_logs_hidden

log = logging.getLogger(__name__)

# A face this large (short side / frame short side) makes the tile pass moot:
# the subject is clear, and faces small enough to need tiles are minor.
_LARGE_FACE = 0.15
# Tiles: a grid of 2x2 with this overlap (fraction of a tile), and only when
# the frame's long edge has at least this many pixels.
_TILE_GRID = 2
_TILE_OVERLAP = 0.25
_TILE_MIN_LONG = 640
# Tiles see more texture at a higher zoom: a stricter confidence keeps noise out.
_TILE_CONFIDENCE = 0.6
# Below this best score the frame is also tried turned by 90/180/270 degrees,
# and a turned result must beat the upright one by this margin.
_SURE = 0.8
_TURN_MARGIN = 0.1
# Two boxes are the same face when their IoU exceeds this, or one's centre lies in the other.
_SAME_IOU = 0.3


@dataclass(frozen=True)
class Detection:
    """One face box in analysis-image pixels (upright frame).

    ``keypoints`` are BlazeFace's six points (right eye, left eye, nose tip,
    mouth, right ear, left ear — the subject's right/left), shape (6, 2), x/y px.
    """

    x: float
    y: float
    w: float
    h: float
    score: float
    keypoints: np.ndarray
    source: str  # "short" | "full" | "tile" | "rot90" | "rot180" | "rot270"

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


def detect(rgb: np.ndarray) -> list[Detection]:
    """All faces in an upright uint8 RGB image, largest first."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected uint8 (H, W, 3) RGB, got {rgb.dtype} {rgb.shape}")
    h, w = rgb.shape[:2]
    found = _run(models.SHORT_RANGE, rgb, "short")
    found = _merge(found, _run(models.FULL_RANGE, rgb, "full"))
    short_side = min(h, w)
    if max(h, w) >= _TILE_MIN_LONG and not any(min(d.w, d.h) >= _LARGE_FACE * short_side for d in found):
        found = _merge(found, _tiles(rgb))
    if found and max(d.score for d in found) < _SURE:
        found = _best_orientation(rgb, found)
    return sorted(found, key=lambda d: d.w * d.h, reverse=True)


def _best_orientation(rgb: np.ndarray, upright: list[Detection]) -> list[Detection]:
    """Faces that are only weakly found upright may be sideways or upside down.

    BlazeFace still boxes a turned face, but its key points then follow an
    upright template and are wrong, so the mesh crop would be turned wrongly.
    The detector is much surer in the right orientation (0.9 vs 0.55 on a
    face upside down), so the frame is re-run turned and the surest wins.
    """
    best, best_score = upright, max(d.score for d in upright) + _TURN_MARGIN
    for k in (1, 2, 3):
        turned = _rotated(rgb, k)
        if turned and max(d.score for d in turned) > best_score:
            best, best_score = turned, max(d.score for d in turned)
    return best


def detect_turned(rgb: np.ndarray) -> list[Detection]:
    """Pass 4, for frames where the upright passes found no real face: the frame turned 90/180/270."""
    for k in (1, 2, 3):
        found = _rotated(rgb, k)
        if found:
            return sorted(found, key=lambda d: d.w * d.h, reverse=True)
    return []


def _run(model: str, rgb: np.ndarray, source: str, *, min_score: float = 0.0) -> list[Detection]:
    import mediapipe as mp

    h, w = rgb.shape[:2]
    image = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
    try:
        with inference_logs_hidden(model):
            result = models.detector(model).detect(image)
    except (RuntimeError, ValueError) as exc:
        raise models.FaceModelError(f"face detection ({model}) failed: {exc}") from exc
    out = []
    for det in result.detections:
        score = float(det.categories[0].score) if det.categories else 0.0
        if score < min_score:
            continue
        bb = det.bounding_box
        kp = np.array([[k.x * w, k.y * h] for k in det.keypoints], dtype=np.float64).reshape(-1, 2)
        if kp.shape[0] < 2 or bb.width <= 0 or bb.height <= 0:
            continue
        out.append(
            Detection(float(bb.origin_x), float(bb.origin_y), float(bb.width), float(bb.height), score, kp, source)
        )
    return out


def _tiles(rgb: np.ndarray) -> list[Detection]:
    """Full range on overlapping tiles, boxes mapped back to the frame."""
    h, w = rgb.shape[:2]
    n = _TILE_GRID
    tw = int(np.ceil(w / (n - (n - 1) * _TILE_OVERLAP)))
    th = int(np.ceil(h / (n - (n - 1) * _TILE_OVERLAP)))
    found: list[Detection] = []
    for i in range(n):
        for j in range(n):
            x0 = min(int(round(j * tw * (1 - _TILE_OVERLAP))), w - tw)
            y0 = min(int(round(i * th * (1 - _TILE_OVERLAP))), h - th)
            tile = rgb[y0 : y0 + th, x0 : x0 + tw]
            dets = _run(models.FULL_RANGE, tile, "tile", min_score=_TILE_CONFIDENCE)
            shifted = [
                Detection(d.x + x0, d.y + y0, d.w, d.h, d.score, d.keypoints + (x0, y0), "tile")
                for d in dets
                if not _cut_by_edge(d, tile.shape, x0, y0, (h, w))
            ]
            found = _merge(found, shifted)
    return found


def _cut_by_edge(d: Detection, tile_shape: tuple[int, ...], x0: int, y0: int, frame: tuple[int, int]) -> bool:
    """A box touching an inner tile edge is a partial face; the neighbouring tile sees it whole."""
    th, tw = tile_shape[:2]
    h, w = frame
    margin = 2.0
    return bool(
        (d.x <= margin and x0 > 0)
        or (d.y <= margin and y0 > 0)
        or (d.x + d.w >= tw - margin and x0 + tw < w)
        or (d.y + d.h >= th - margin and y0 + th < h)
    )


def _rotated(rgb: np.ndarray, k: int) -> list[Detection]:
    """Short range on the frame turned k x 90 degrees counter-clockwise, mapped back upright."""
    h, w = rgb.shape[:2]
    turned = _turn(rgb, k)
    out = []
    for d in _run(models.SHORT_RANGE, turned, f"rot{90 * k}"):
        corners = np.array([[d.x, d.y], [d.x + d.w, d.y + d.h]])
        back = _unrotate(corners, k, w, h)
        kp = _unrotate(d.keypoints, k, w, h)
        x0, y0 = back.min(axis=0)
        x1, y1 = back.max(axis=0)
        out.append(Detection(float(x0), float(y0), float(x1 - x0), float(y1 - y0), d.score, kp, d.source))
    return out


def _turn(rgb: np.ndarray, k: int) -> np.ndarray:
    """``np.rot90(rgb, k)`` as a contiguous image, by OpenCV's rotate: the same pixels, several times faster
    than NumPy's strided copy (what the detector needs is a contiguous buffer)."""
    code = {1: cv2.ROTATE_90_COUNTERCLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_CLOCKWISE}.get(k % 4)
    return np.ascontiguousarray(rgb) if code is None else cv2.rotate(np.ascontiguousarray(rgb), code)


def _unrotate(pts: np.ndarray, k: int, w: int, h: int) -> np.ndarray:
    """Points in ``np.rot90(img, k)`` pixel coordinates -> the original image's."""
    x, y = np.asarray(pts, dtype=np.float64).T
    if k % 4 == 1:  # rotated size (h, w): x' = y, y' = w - x
        return np.stack([w - y, x], axis=1)
    if k % 4 == 2:
        return np.stack([w - x, h - y], axis=1)
    if k % 4 == 3:  # x' = h - y, y' = x
        return np.stack([y, h - x], axis=1)
    return np.stack([x, y], axis=1)


def _iou(a: Detection, b: Detection) -> float:
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    union = a.w * a.h + b.w * b.h - inter
    return inter / union if union > 0 else 0.0


def _inside(p: tuple[float, float], d: Detection) -> bool:
    return d.x <= p[0] <= d.x + d.w and d.y <= p[1] <= d.y + d.h


def same_face(a: Detection, b: Detection) -> bool:
    return _iou(a, b) > _SAME_IOU or _inside(a.centre, b) or _inside(b.centre, a)


def _merge(kept: list[Detection], new: list[Detection]) -> list[Detection]:
    """``kept`` plus the boxes of ``new`` that are not already there."""
    out = list(kept)
    for d in new:
        if not any(same_face(d, k) for k in out):
            out.append(d)
    return out
