"""find_faces: detection -> mesh -> eyes and sharpness per face -> main subject.

Resolution. The analysis image (<= 1280 px) is enough to *find* faces, but a
face of 60 px there has eyes of 10 px and too few tiles to judge focus on.
A face whose box is under ``DETAIL_FACE_PX`` pixels at analysis size is
re-read through the pipeline's ``RegionReader`` so that it has about that many: 128
px is the face size the mesh model sees (a 192 px crop of 1.5x the box), so
more would not help the landmarks, and it gives the sharpness measure a few
dozen windows over the face. The eye-texture cue and the face's sharpness are
read from the same higher-resolution pixels. Faces that are already large are
judged on the analysis image (a photographer judges those at screen size too).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from autocull.errors import FileProblem
from autocull.measure.image import to_gray
from autocull.measure.noise import estimate_sigma
from autocull.measure.sharpness import sharpness
from autocull.records import Box, DecodedImage, FaceMetrics, RegionReader

from . import eyes, mesh, models
from .detect import Detection, detect, detect_turned
from .subject import main_faces

log = logging.getLogger(__name__)

# Face side (px) below which the face is re-read at a higher resolution.
DETAIL_FACE_PX = 128
# The mesh's face probability below which a detector box is noise (a pattern, a face on a T-shirt
# print stays: it is a face).
MIN_PRESENCE = 0.5
# The eye band a face's sharpness is read on, in shares of the span from the outer corner of
# one eye to the other: this much beyond each corner, above the eyes' centre line (the brows)
# and below it (the lower lids); under _BAND_MIN_PX on a side it is too small to read and the
# face box is used.
_BAND_SIDE = 0.15
_BAND_ABOVE = 0.35
_BAND_BELOW = 0.2
_BAND_TALL = _BAND_ABOVE + _BAND_BELOW
_BAND_MIN_PX = 24
# A face under this detector score with no eye detail in either eye is dropped (see _unsure);
# on 200 real face crops and the burst frames two faces score under it, both with eye detail.
UNSURE_SCORE = 0.6


@dataclass
class _View:
    """Pixels a face is judged on and how analysis-image pixels map into them."""

    rgb: np.ndarray
    scale: float  # view px per analysis px
    ox: float  # analysis-pixel position of the view's origin
    oy: float
    _gray: np.ndarray | None = None
    _sigma: float | None = None

    @property
    def gray(self) -> np.ndarray:
        if self._gray is None:
            self._gray = to_gray(self.rgb)
        return self._gray

    @property
    def sigma(self) -> float:
        if self._sigma is None:
            self._sigma = float(estimate_sigma(self.gray))
        return self._sigma

    def to_view(self, x: float, y: float) -> tuple[float, float]:
        return (x - self.ox) * self.scale, (y - self.oy) * self.scale

    def around(self, d: Detection) -> "_View":
        """The part of this view around one face (its turned mesh square), sharing the noise level.

        Keeps per-face work (gray, blur for the eye patches, sharpness) proportional to the face.
        """
        half = max(d.w, d.h) * mesh.SCALE * math.sqrt(2) / 2 + 4
        cx, cy = self.to_view(*d.centre)
        r = half * self.scale
        vh, vw = self.rgb.shape[:2]
        x0, y0 = max(0, int(cx - r)), max(0, int(cy - r))
        x1, y1 = min(vw, int(math.ceil(cx + r))), min(vh, int(math.ceil(cy + r)))
        sub = _View(self.rgb[y0:y1, x0:x1], self.scale, self.ox + x0 / self.scale, self.oy + y0 / self.scale)
        sub._sigma = self.sigma
        return sub


def find_faces(
    decoded: DecodedImage,
    region: RegionReader | None = None,
    *,
    gray: np.ndarray | None = None,
    sigma: float | None = None,
) -> tuple[FaceMetrics, ...]:
    """Every face in the upright frame with eyes, sharpness and main-subject flag, largest first.

    ``region`` reads the original at a higher resolution for small faces
    (``decode.region_reader``); without it, or when it fails, they are judged
    on the analysis image. ``gray`` (``to_gray`` of the frame) and ``sigma``
    (its ``estimate_sigma``) are what ``analyze`` already has: passed in, the
    frame is not converted and its noise not estimated a second time. Raises
    ``FaceModelError`` (a ``FileProblem``) when a model cannot load or fails on
    this image; the engine reports it for this file and carries on.
    """
    rgb = np.ascontiguousarray(decoded.rgb)
    h, w = rgb.shape[:2]
    try:
        whole = _View(rgb, 1.0, 0.0, 0.0, gray, sigma)
        faces = _trusted_faces(_measure_all(decoded, whole, detect(rgb), region), w, h)
        if not faces:  # none, or none worth judging by: the frame may be turned
            faces = _trusted_faces(_measure_all(decoded, whole, detect_turned(rgb), region), w, h)
    except cv2.error as exc:
        raise models.FaceModelError(f"face analysis failed: {exc}") from exc
    flags = main_faces([f.box for f, _ in faces], [size for _, size in faces])
    return tuple(dataclasses.replace(f, main=main) for (f, _), main in zip(faces, flags))


def _trusted_faces(measured: list[_Measured], w: int, h: int) -> list[tuple[FaceMetrics, float]]:
    """Records of the measured faces worth judging by (see :func:`_unsure`), each with its unrounded size."""
    out = []
    for m in measured:
        size = min(m[0].w * w, m[0].h * h) / min(w, h)
        face = _record(m, size, False)
        if not _unsure(face):
            out.append((face, size))
    return out


def _unsure(face: FaceMetrics) -> bool:
    """A detection too weak to judge a photo by: a low score and no eye detail in either eye.

    A blob of out-of-focus leaves can pass for a face at a score near the
    detector's floor; a real face, even a soft one, shows its eyes (or the
    detector is sure of it). Such a face would otherwise become the subject
    and reject a bokeh photo for a "face" that is not there.
    """
    flat = all(e.state == "uncertain" and e.why == eyes.NO_DETAIL for e in (face.left_eye, face.right_eye))
    return face.score < UNSURE_SCORE and flat


_Measured = tuple[Box, Detection, eyes.EyeCues, eyes.EyeCues, float, float, object, tuple]


def _measure_all(
    decoded: DecodedImage, whole: _View, found: list[Detection], region: RegionReader | None
) -> list[_Measured]:
    detail = _detail_view(decoded, [d for d in found if min(d.w, d.h) < DETAIL_FACE_PX], region)
    out = []
    for d in found:
        view = detail if detail is not None and min(d.w, d.h) < DETAIL_FACE_PX else whole
        m = _measure(view.around(d), d, whole.rgb.shape[:2])
        if m is not None:
            out.append(m)
    return out


def _measure(view: _View, d: Detection, frame: tuple[int, ...]) -> _Measured | None:
    h, w = frame[:2]
    side = max(d.w, d.h) * mesh.SCALE
    angle = mesh.roll_angle(d.keypoints)
    cx, cy = view.to_view(*d.centre)
    to_src = mesh.crop_transform((cx, cy), side * view.scale, angle)
    face = mesh.run_mesh(view.rgb, to_src)
    if face.presence < MIN_PRESENCE:
        log.debug("dropped a %s box at (%.0f, %.0f): mesh face probability %.2f", d.source, cx, cy, face.presence)
        return None
    left_pts = face.source_points(eyes.LEFT_EYE)
    right_pts = face.source_points(eyes.RIGHT_EYE)
    left, right = eyes.cues(view.gray, left_pts), eyes.cues(view.gray, right_pts)
    yaw = eyes.yaw_degrees(face.landmarks)
    pitch = eyes.pitch_degrees(face.landmarks)
    box = _norm_box(d, w, h)
    vx0, vy0 = view.to_view(d.x, d.y)
    vh, vw = view.gray.shape
    vbox = _eye_band(np.vstack([left_pts, right_pts]), vw, vh) or Box(
        x=vx0 / vw, y=vy0 / vh, w=d.w * view.scale / vw, h=d.h * view.scale / vh
    )
    sharp = sharpness(view.gray, box=vbox, noise_sigma=view.sigma)
    if sharp.motion_length and view.scale != 1.0:  # the detail view is finer than the analysis image
        sharp = dataclasses.replace(sharp, motion_length=sharp.motion_length / view.scale)
    # eye centres back in the frame, normalised, for display
    pts = [
        (float((p[:, 0].mean() / view.scale + view.ox) / w), float((p[:, 1].mean() / view.scale + view.oy) / h))
        for p in (left_pts, right_pts)
    ]
    return box, d, left, right, yaw, pitch, sharp, tuple(pts)


def _eye_band(points: np.ndarray, width: int, height: int) -> Box | None:
    """The band across both eyes, lids, lashes and brows, normalised to the view; None when too small to read.

    A portrait is judged sharp on its eyes: lashes, lids and brows are the
    face's crispest detail, while its cheeks and nose are long shading ramps
    whatever the focus (and a tight crop of a face is nothing but those).
    """
    x0, x1 = float(points[:, 0].min()), float(points[:, 0].max())
    cy = float(points[:, 1].mean())
    span = x1 - x0
    if span * _BAND_TALL < _BAND_MIN_PX:
        return None
    bx0, bx1 = max(0.0, x0 - _BAND_SIDE * span), min(float(width), x1 + _BAND_SIDE * span)
    by0, by1 = max(0.0, cy - _BAND_ABOVE * span), min(float(height), cy + _BAND_BELOW * span)
    if min(bx1 - bx0, by1 - by0) < _BAND_MIN_PX:
        return None
    return Box(x=bx0 / width, y=by0 / height, w=(bx1 - bx0) / width, h=(by1 - by0) / height)


def _record(m: _Measured, size: float, main: bool) -> FaceMetrics:
    box, d, left, right, yaw, pitch, sharp, pts = m
    le, re = eyes.eye_states(left, right, yaw_deg=yaw, pitch_deg=pitch)
    return FaceMetrics(
        box=box,
        score=round(d.score, 4),
        left_eye=le,
        right_eye=re,
        eye_state=eyes.face_state(le, re),
        sharpness=sharp,  # type: ignore[arg-type]
        size=round(size, 4),
        main=main,
        yaw=round(max(-1.0, min(1.0, yaw / 90.0)), 4),
        landmarks=pts,
    )


def _norm_box(d: Detection, w: int, h: int) -> Box:
    x0, y0 = max(0.0, d.x), max(0.0, d.y)
    x1, y1 = min(float(w), d.x + d.w), min(float(h), d.y + d.h)
    return Box(x=x0 / w, y=y0 / h, w=max(0.0, x1 - x0) / w, h=max(0.0, y1 - y0) / h)


def _detail_view(decoded: DecodedImage, small: list[Detection], region: RegionReader | None) -> _View | None:
    """One higher-resolution read covering every small face (one file read, not one per face).

    None when there are no small faces, no reader, or the source has no more pixels than the analysis image.
    """
    rgb = decoded.rgb
    h, w = rgb.shape[:2]
    full_w, full_h = decoded.full_size
    gain = min(full_w / w, full_h / h)
    if not small or region is None or gain < 1.05:
        return None
    boxes, want = [], 1.0
    for d in small:
        half = max(d.w, d.h) * mesh.SCALE * math.sqrt(2) / 2 + 2  # the turned crop square fits inside
        cx, cy = d.centre
        boxes.append((cx - half, cy - half, cx + half, cy + half))
        want = max(want, DETAIL_FACE_PX / max(1.0, min(d.w, d.h)))
    want = min(gain, want)
    x0, y0 = max(0.0, min(b[0] for b in boxes)), max(0.0, min(b[1] for b in boxes))
    x1, y1 = min(float(w), max(b[2] for b in boxes)), min(float(h), max(b[3] for b in boxes))
    min_side = int(math.ceil(min(x1 - x0, y1 - y0) * want))
    try:
        pixels = region(Box(x=x0 / w, y=y0 / h, w=(x1 - x0) / w, h=(y1 - y0) / h), min_side)
    except (FileProblem, ValueError, OSError) as exc:
        log.warning("could not re-read small faces at full resolution, judging them at analysis size: %s", exc)
        return None
    pixels = np.ascontiguousarray(pixels[:, :, :3], dtype=np.uint8)
    scale = pixels.shape[1] / max(1e-6, x1 - x0)
    return _View(pixels, scale, x0, y0)
