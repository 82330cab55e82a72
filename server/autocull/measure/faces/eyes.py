"""Open, closed or uncertain: three cues per eye and a margin between them.

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

Cue 3, where the dark is (texture): an open eye's darkest parts, the iris,
the pupil and the upper lash line over them, sit on or above the line between
the eye corners; a closed eye's only dark feature is the lash line of the
lowered lid, which hangs *below* that line along the curve of the lid. The
darkness-weighted height of the eye's centre, in eye widths from the corner
line, is about -0.10 for open eyes and +0.05 for closed ones (medians). It
catches what fools the other two: a smiling or lowered face whose closed lid
the mesh draws open-shaped, thick lashes or mascara that look like an iris's
edges.

The three are added as evidence in units of their own spread; an eye is open
or closed only when the sum clears a margin, and a closed verdict also needs
the lids to be low (a laughing squint can hide the iris but keeps EAR up). In
between is ``uncertain`` (a squint, a half-blink): the photographer looks.

Some evidence for *open* is not trusted where it cannot be seen; it may still
argue closed. On a face pitched strongly down the closed lid's curve is seen
from above and looks open-shaped, and the brow's shadow and hair come down
over the eye, so neither the lids nor dark above the corner line prove an open
eye: only the iris itself can. On an eye in deep shadow (much darker than the
other eye) the mesh cannot see the lids, so the lids do not count for open.

A strongly turned head or an eye region too flat to show any detail
(sunglasses, hair, a hand, deep blur, a mesh that missed the eye) is
``uncertain``, never ``closed`` or ``open``.
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
# Where the dark is: darkness-weighted height below the corner line (eye widths, + = below),
# centred between the sets, per unit.
LOW_MID = -0.03
LOW_UNIT = 0.04
# Evidence at or beyond these margins decides; between them is uncertain.
OPEN_MARGIN = 1.5
CLOSED_MARGIN = -1.0
# A closed verdict also needs lids this low (a laugh can hide the iris).
CLOSED_EAR_MAX = 0.22
# Head turn (degrees, from the mesh's depth of the outer eye corners) beyond
# which the far eye is foreshortened and hidden: uncertain.
PROFILE_DEG = 40.0
# Head pitch (degrees, from the mesh's depth of forehead and chin; about 10 on a
# level face, more when the face is turned down): the lids' and where-the-dark-is
# open evidence is trusted fully up to PITCH_TRUSTED and not at all from
# PITCH_UNTRUSTED on (between, in proportion).
PITCH_TRUSTED = 15.0
PITCH_UNTRUSTED = 30.0
# Shadow: an eye whose light (75th percentile of its patch) is this share of the
# other eye's or more is trusted fully; at SHADE_UNTRUSTED or less its lids are not.
SHADE_TRUSTED = 0.6
SHADE_UNTRUSTED = 0.3
# Eye patch: the eye (corner to corner) is scaled to this many pixels.
_EYE_PX = 40
_PATCH_W, _PATCH_H = 64, 40
# Where-the-dark-is window: rows within this many pixels of the corner line (the
# iris's radius, ~0.2 eye widths, so brows, glasses rims and hair stay out) and
# columns within this many of the eye's centre (the iris, whichever way it looks).
_LOW_ROWS = 8
_LOW_COLS = 12
# Eye not seen: its centre flatter than this (p95 - p5 over the cheek level); called
# too dark (sunglasses, shadow) when also darker than this share of the cheek below it.
_DARK = 0.45
_FLAT = 0.2


@dataclass(frozen=True)
class EyeCues:
    ear: float
    iris: float  # gx/gy gradient energy ratio in the eye's centre
    dark: float  # patch median / cheek median
    contrast: float  # (p95 - p5) / cheek median
    low: float = LOW_MID  # darkness-weighted height below the corner line, eye widths (+ = below)
    light: float = 1.0  # 75th percentile of the patch (gray 0..1): how lit the eye region is

    def parts(self, lids_trust: float = 1.0, low_trust: float = 1.0) -> tuple[float, float, float]:
        """Lids, iris and where-the-dark-is evidence (> 0 leans open), each in units of its spread.

        The trusts (0..1) scale the lids' and the where-the-dark-is evidence
        *for open* only: where they cannot be seen they may still say closed.
        """
        lids = (self.ear - EAR_MID) / EAR_UNIT
        if lids > 0:
            lids *= min(1.0, max(0.0, lids_trust))
        iris = (math.log(max(self.iris, 1e-4)) - IRIS_MID) / IRIS_UNIT
        low = (LOW_MID - self.low) / LOW_UNIT
        if low > 0:
            low *= min(1.0, max(0.0, low_trust))
        return lids, iris, low

    def evidence(self, lids_trust: float = 1.0, low_trust: float = 1.0) -> float:
        """> 0 leans open, < 0 leans closed, in units of each cue's spread."""
        return sum(self.parts(lids_trust, low_trust))


# The cause given when an eye region is flat: no lash line, no iris, no lid.
NO_DETAIL = "no eye detail to see"


def ear(points: np.ndarray) -> float:
    """Eye aspect ratio of six (x, y) points in mesh order p1..p6."""
    p = np.asarray(points, dtype=np.float64)[:, :2]
    width = float(np.linalg.norm(p[0] - p[3]))
    if width <= 1e-6:
        return 0.0
    return float((np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])) / (2.0 * width))


def _depth_angle(landmarks: np.ndarray, first: int, last: int) -> float:
    """Degrees the line between two mesh points leans out of the image plane (from their depth difference)."""
    a, b = landmarks[first], landmarks[last]
    return math.degrees(math.atan2(float(b[2] - a[2]), float(np.linalg.norm(b[:2] - a[:2])) + 1e-6))


def yaw_degrees(landmarks: np.ndarray) -> float:
    """Head turn from the depth difference of the outer eye corners (0 = frontal, + = turned to image right)."""
    return _depth_angle(landmarks, 33, 263)


def pitch_degrees(landmarks: np.ndarray) -> float:
    """Head pitch from the depth difference of forehead (10) and chin (152): about 10 level, more turned down."""
    return _depth_angle(landmarks, 10, 152)


def eye_patch(gray: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Level patch around one eye from its corner points p1 and p4 in ``gray``'s pixels; the eye is _EYE_PX wide.

    The patch runs from p1 to p4 (image left to right on an upright face, for
    both eyes), so its rows run down the face whichever way the frame is turned.
    """
    a, b = np.asarray(first, dtype=np.float64), np.asarray(last, dtype=np.float64)
    width = float(np.linalg.norm(b - a))
    angle = math.atan2(float(b[1] - a[1]), float(b[0] - a[0]))
    s = max(width, 1e-3) / _EYE_PX
    c, n = math.cos(angle) * s, math.sin(angle) * s
    cx, cy = (a + b) / 2.0
    m = np.array(
        [[c, -n, cx - c * _PATCH_W / 2 + n * _PATCH_H / 2], [n, c, cy - n * _PATCH_W / 2 - c * _PATCH_H / 2]],
        dtype=np.float64,
    )
    src = gray
    if s > 1.5:  # shrinking: low-pass first so the patch is not aliased
        src = cv2.GaussianBlur(gray, (0, 0), 0.45 * s)
    return cv2.warpAffine(
        src, m, (_PATCH_W, _PATCH_H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )


def dark_height(patch: np.ndarray) -> float:
    """Darkness-weighted height of the eye's centre below the corner line, in eye widths (+ = below).

    Rows are averaged over the centre columns; a row's weight is the square of
    how much darker than the patch's median (the skin) it is. No dark row: neutral.
    """
    cy, cx = _PATCH_H // 2, _PATCH_W // 2
    rows = patch[cy - _LOW_ROWS : cy + _LOW_ROWS + 1, cx - _LOW_COLS : cx + _LOW_COLS].mean(axis=1)
    w = np.maximum(0.0, float(np.median(patch)) - rows.astype(np.float64)) ** 2
    total = float(w.sum())
    if total <= 1e-9:
        return LOW_MID
    offsets = np.arange(-_LOW_ROWS, _LOW_ROWS + 1, dtype=np.float64)
    return float((w * offsets).sum() / total) / _EYE_PX


def cues(gray: np.ndarray, points: np.ndarray) -> EyeCues:
    """All cues for one eye; ``points`` are its six landmarks in ``gray``'s pixels (float gray 0..1)."""
    patch = eye_patch(gray, points[0, :2], points[3, :2])
    x0, x1 = (_PATCH_W - _EYE_PX) // 2 + 4, (_PATCH_W + _EYE_PX) // 2 - 4
    y0, y1 = _PATCH_H // 2 - 8, _PATCH_H // 2 + 8
    core = patch[y0:y1, x0:x1]
    cheek = float(np.median(patch[_PATCH_H - 8 :, x0:x1])) + 1e-3
    gx = cv2.Sobel(patch, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(patch, cv2.CV_32F, 0, 1, ksize=3)
    cx0, cx1 = _PATCH_W // 2 - 10, _PATCH_W // 2 + 10
    cy0, cy1 = _PATCH_H // 2 - 6, _PATCH_H // 2 + 6
    ex = float(np.mean(gx[cy0:cy1, cx0:cx1] ** 2))
    ey = float(np.mean(gy[cy0:cy1, cx0:cx1] ** 2))
    iris = ex / (ey + 1e-6) if ex + ey > 1e-7 else 0.0
    p5, p50, p95 = np.percentile(core, (5, 50, 95))
    return EyeCues(
        ear=ear(points),
        iris=float(iris),
        dark=float(p50 / cheek),
        contrast=float((p95 - p5) / cheek),
        low=dark_height(patch),
        light=float(np.percentile(patch, 75)),
    )


def _ramp(x: float, trusted: float, untrusted: float) -> float:
    """1 at ``trusted``, 0 at ``untrusted``, linear between (either direction)."""
    t = (x - untrusted) / (trusted - untrusted)
    return min(1.0, max(0.0, t))


def trusts(*, pitch_deg: float = 10.0, shade: float = 1.0) -> tuple[float, float]:
    """How far the lids and where-the-dark-is may argue open (each 0..1).

    Both fade on a face turned down; the lids also fade on an eye in deep shadow.
    """
    down = _ramp(pitch_deg, PITCH_TRUSTED, PITCH_UNTRUSTED)
    return down * _ramp(shade, SHADE_TRUSTED, SHADE_UNTRUSTED), down


def eye_state(c: EyeCues, *, yaw_deg: float, pitch_deg: float = 10.0, shade: float = 1.0) -> EyeMetrics:
    """Open / closed / uncertain for one eye, with a short cause when uncertain.

    ``shade`` is this eye's light over the brighter eye's (1 = as lit as the other).
    """
    e = round(c.ear, 4)
    if abs(yaw_deg) > PROFILE_DEG:
        return EyeMetrics(ear=e, state="uncertain", why="profile")
    if c.contrast < _FLAT:  # no lash line, no iris: nothing to judge either way
        why = "eye region too dark to see" if c.dark < _DARK else NO_DETAIL
        return EyeMetrics(ear=e, state="uncertain", why=why)
    lids_trust, low_trust = trusts(pitch_deg=pitch_deg, shade=shade)
    v = c.evidence(lids_trust, low_trust)
    if v >= OPEN_MARGIN:
        return EyeMetrics(ear=e, state="open")
    if v <= CLOSED_MARGIN and c.ear <= CLOSED_EAR_MAX:
        return EyeMetrics(ear=e, state="closed")
    if c.evidence() >= OPEN_MARGIN:  # it would look open, but only by evidence that cannot be seen well here
        cause = "face turned down" if low_trust < 1.0 else "eye in shadow"
        return EyeMetrics(ear=e, state="uncertain", why=f"{cause}: iris not clearly seen")
    return EyeMetrics(ear=e, state="uncertain", why="half-closed or squinting")


def eye_states(
    left: EyeCues, right: EyeCues, *, yaw_deg: float, pitch_deg: float = 10.0
) -> tuple[EyeMetrics, EyeMetrics]:
    """Both eyes of one face; each eye's shadow is judged against the other, better-lit eye."""
    top = max(left.light, right.light, 1e-3)
    return (
        eye_state(left, yaw_deg=yaw_deg, pitch_deg=pitch_deg, shade=left.light / top),
        eye_state(right, yaw_deg=yaw_deg, pitch_deg=pitch_deg, shade=right.light / top),
    )


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
