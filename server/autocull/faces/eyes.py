"""Open, closed or uncertain: two cues per eye and a margin between them.

Cue 1, the lids (geometry): the eye aspect ratio (EAR) of six mesh landmarks,
``(|p2-p6| + |p3-p5|) / (2 |p1-p4|)`` (Soukupova & Cech, "Real-time eye blink
detection using facial landmarks", CVWW 2016). It is cheap but it depends on
the person, the head's pitch and the mesh's guess: on the real test sets
(CEW closed, UTKFace open) the per-eye EAR of closed eyes reaches 0.29 while
open eyes go down to 0.23, so EAR alone cannot separate them.

Cue 2, the iris (texture): an open eye shows a dark iris whose sides are
*vertical* edges; a closed eye shows skin crossed by the *horizontal* lash
line. On a level patch of the eye (scaled so the eye is always the same
width) the ratio of horizontal to vertical gradient energy in its centre is
about 0.12 for closed eyes and 0.86 for open ones (medians, see the tests'
report), and it fails on other faces than EAR does.

The two are added as evidence in units of their own spread; an eye is open
or closed only when the sum clears a margin, and a closed verdict also needs
the lids to be low (a laughing squint can hide the iris but keeps EAR up). In
between is ``uncertain`` (a squint, a half-blink): the photographer looks.
A strongly turned head or an eye region that is too dark or flat to show
either cue (sunglasses, hair, a hand) is ``uncertain``, never ``closed``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from autocull.records import EyeMetrics

# Mesh indices p1..p6 (outer corner, two upper lid points, inner corner, two
# lower lid points). "left" is the eye on the image's left in an upright
# frontal face (the subject's right eye).
LEFT_EYE = (33, 160, 158, 133, 153, 144)
RIGHT_EYE = (362, 385, 387, 263, 373, 380)

# Evidence: EAR centred between the sets, per unit of its spread.
EAR_MID = 0.235
EAR_UNIT = 0.03
# Iris cue: ln(gx/gy energy ratio) centred between the sets, per unit.
IRIS_MID = math.log(0.25)
IRIS_UNIT = 0.8
# Evidence at or beyond these margins decides; between them is uncertain.
OPEN_MARGIN = 1.0
CLOSED_MARGIN = -1.0
# A closed verdict also needs lids this low (a laugh can hide the iris).
CLOSED_EAR_MAX = 0.22
# Head turn (degrees, from the mesh's depth of the outer eye corners) beyond
# which the far eye is foreshortened and hidden: uncertain.
PROFILE_DEG = 40.0
# Eye patch: the eye (corner to corner) is scaled to this many pixels.
_EYE_PX = 40
_PATCH_W, _PATCH_H = 64, 40
# Covered eye: patch median darker than this share of the cheek below it and
# flatter than this (p95 - p5 over the cheek level).
_DARK = 0.45
_FLAT = 0.2


@dataclass(frozen=True)
class EyeCues:
    ear: float
    iris: float  # gx/gy gradient energy ratio in the eye's centre
    dark: float  # patch median / cheek median
    contrast: float  # (p95 - p5) / cheek median

    @property
    def evidence(self) -> float:
        """> 0 leans open, < 0 leans closed, in units of each cue's spread."""
        lids = (self.ear - EAR_MID) / EAR_UNIT
        iris = (math.log(max(self.iris, 1e-4)) - IRIS_MID) / IRIS_UNIT
        return lids + iris


def ear(points: np.ndarray) -> float:
    """Eye aspect ratio of six (x, y) points in mesh order p1..p6."""
    p = np.asarray(points, dtype=np.float64)[:, :2]
    width = float(np.linalg.norm(p[0] - p[3]))
    if width <= 1e-6:
        return 0.0
    return float((np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2.0 * width))


def yaw_degrees(landmarks: np.ndarray) -> float:
    """Head turn from the depth difference of the outer eye corners (0 = frontal, + = turned to image right)."""
    a, b = landmarks[33], landmarks[263]
    return math.degrees(math.atan2(float(b[2] - a[2]), float(np.linalg.norm(b[:2] - a[:2])) + 1e-6))


def eye_patch(gray: np.ndarray, outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Level patch around one eye from corner points in ``gray``'s pixels; the eye is _EYE_PX wide."""
    a, b = (outer, inner) if outer[0] <= inner[0] else (inner, outer)
    width = float(np.linalg.norm(b - a))
    angle = math.atan2(float(b[1] - a[1]), float(b[0] - a[0]))
    s = max(width, 1e-3) / _EYE_PX
    c, n = math.cos(angle) * s, math.sin(angle) * s
    cx, cy = (a + b) / 2.0
    m = np.array([[c, -n, cx - c * _PATCH_W / 2 + n * _PATCH_H / 2],
                  [n, c, cy - n * _PATCH_W / 2 - c * _PATCH_H / 2]], dtype=np.float64)
    src = gray
    if s > 1.5:  # shrinking: low-pass first so the patch is not aliased
        src = cv2.GaussianBlur(gray, (0, 0), 0.45 * s)
    return cv2.warpAffine(src, m, (_PATCH_W, _PATCH_H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def cues(gray: np.ndarray, points: np.ndarray) -> EyeCues:
    """Both cues for one eye; ``points`` are its six landmarks in ``gray``'s pixels (float gray 0..1)."""
    patch = eye_patch(gray, points[0, :2], points[3, :2])
    x0, x1 = (_PATCH_W - _EYE_PX) // 2 + 4, (_PATCH_W + _EYE_PX) // 2 - 4
    y0, y1 = _PATCH_H // 2 - 8, _PATCH_H // 2 + 8
    core = patch[y0:y1, x0:x1]
    cheek = float(np.median(patch[_PATCH_H - 8:, x0:x1])) + 1e-3
    gx = cv2.Sobel(patch, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(patch, cv2.CV_32F, 0, 1, ksize=3)
    cx0, cx1 = _PATCH_W // 2 - 10, _PATCH_W // 2 + 10
    cy0, cy1 = _PATCH_H // 2 - 6, _PATCH_H // 2 + 6
    ex = float(np.mean(gx[cy0:cy1, cx0:cx1] ** 2))
    ey = float(np.mean(gy[cy0:cy1, cx0:cx1] ** 2))
    iris = ex / (ey + 1e-6) if ex + ey > 1e-7 else 0.0
    p5, p50, p95 = np.percentile(core, (5, 50, 95))
    return EyeCues(ear=ear(points), iris=float(iris), dark=float(p50 / cheek), contrast=float((p95 - p5) / cheek))


def eye_state(c: EyeCues, *, yaw_deg: float) -> EyeMetrics:
    """Open / closed / uncertain for one eye, with a short cause when uncertain."""
    e = round(c.ear, 4)
    if abs(yaw_deg) > PROFILE_DEG:
        return EyeMetrics(ear=e, state="uncertain", why="profile")
    if c.dark < _DARK and c.contrast < _FLAT:
        return EyeMetrics(ear=e, state="uncertain", why="eye region too dark to see")
    v = c.evidence
    if v >= OPEN_MARGIN:
        return EyeMetrics(ear=e, state="open")
    if v <= CLOSED_MARGIN and c.ear <= CLOSED_EAR_MAX:
        return EyeMetrics(ear=e, state="closed")
    return EyeMetrics(ear=e, state="uncertain", why="half-closed or squinting")


def face_state(left: EyeMetrics, right: EyeMetrics) -> str:
    """One state for the face: open when both are; closed when one is and the other is not seen open.

    One open and one closed eye (a wink, or one cue fooled) is uncertain.
    """
    states = {left.state, right.state}
    if states == {"open"}:
        return "open"
    if "closed" in states and "open" not in states:
        return "closed"
    return "uncertain"
