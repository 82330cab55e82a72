"""Face Mesh (468 landmarks) in the LiteRT interpreter on an aligned square crop.

MediaPipe's own graph feeds the mesh a square of 1.5x the detector's box,
turned so the eyes lie level (the angle of the line between BlazeFace's two
eye key points). We do the same: the model was trained on such crops, and a
level crop is also what lets the eye-texture cue look at horizontal eyes
whatever the roll of the head (a frame turned 90 degrees included).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from . import models

SIZE = 192  # model input, px
SCALE = 1.5  # crop side / detector box side


@dataclass(frozen=True)
class AlignedFace:
    """The level 192x192 crop, its landmarks, and the map back to the source image.

    ``to_source`` is a 2x3 affine taking crop pixels to source-image pixels.
    ``landmarks`` are (468, 3) in crop pixels (z in the same scale, relative).
    ``presence`` is the model's face probability for the crop (0..1).
    """

    crop: np.ndarray
    to_source: np.ndarray
    landmarks: np.ndarray
    presence: float

    def source_points(self, idx: list[int] | tuple[int, ...] | None = None) -> np.ndarray:
        pts = self.landmarks[:, :2] if idx is None else self.landmarks[list(idx), :2]
        return pts @ self.to_source[:, :2].T + self.to_source[:, 2]


def crop_transform(centre: tuple[float, float], side: float, angle: float) -> np.ndarray:
    """2x3 affine from crop pixels (0..SIZE) to source pixels for a square of ``side`` turned by ``angle`` rad."""
    s = side / SIZE
    c, n = math.cos(angle) * s, math.sin(angle) * s
    half = SIZE / 2.0
    cx, cy = centre
    # source = centre + R(angle) @ (crop - half) * s
    return np.array([[c, -n, cx - c * half + n * half], [n, c, cy - n * half - c * half]], dtype=np.float64)


def roll_angle(keypoints: np.ndarray) -> float:
    """Angle (rad) of the line from the subject's right eye to the left eye (0 = level)."""
    (x0, y0), (x1, y1) = keypoints[0], keypoints[1]
    return math.atan2(y1 - y0, x1 - x0)


def aligned_crop(image: np.ndarray, to_source: np.ndarray) -> np.ndarray:
    """Sample the SIZE x SIZE crop described by ``to_source`` from ``image`` (black outside, as in training)."""
    return cv2.warpAffine(
        image,
        to_source,
        (SIZE, SIZE),
        flags=cv2.INTER_AREA | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )


def run_mesh(image: np.ndarray, to_source: np.ndarray) -> AlignedFace:
    """Landmarks of the face in the crop ``to_source`` of ``image`` (uint8 RGB)."""
    crop = aligned_crop(image, to_source)
    interp = models.mesh_interpreter()
    try:
        inp = interp.get_input_details()[0]
        interp.set_tensor(inp["index"], (crop.astype(np.float32) / 255.0)[None])
        interp.invoke()
        outs = interp.get_output_details()
        values = {int(np.prod(o["shape"])): interp.get_tensor(o["index"]) for o in outs}
    except (RuntimeError, ValueError) as exc:
        raise models.FaceModelError(f"face mesh failed: {exc}") from exc
    if 1404 not in values or 1 not in values:
        raise models.FaceModelError(f"face mesh model gave unexpected outputs {sorted(values)}")
    landmarks = values[1404].reshape(468, 3).astype(np.float64)
    logit = float(values[1].reshape(-1)[0])
    presence = 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit))))
    return AlignedFace(crop=crop, to_source=to_source, landmarks=landmarks, presence=presence)
