"""Eyes that cannot be seen are never called closed: sunglasses, a hand across the face.

Real inference on scikit-image's astronaut with her eyes covered (dark lenses, or
a soft band of her skin tone laid across both eyes like fingers). Nothing is
drawn to look like a shut eye: the covers hide the eyes, and the expected answer
is "uncertain" (the photographer looks), never "closed" (a reject).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from autocull.decide import decide
from autocull.decode import decode
from autocull.measure import analyze
from autocull.measure.faces import find_faces
from autocull.policy import Policy

from imagegen import sample_rgb, save_jpeg


def _eye_centres(rgb: np.ndarray, tmp: Path) -> list[tuple[int, int]]:
    faces = find_faces(decode(save_jpeg(tmp / "uncovered.jpg", rgb)))
    assert len(faces) == 1 and faces[0].eye_state == "open"  # the premise: open and found
    h, w = rgb.shape[:2]
    return [(int(x * w), int(y * h)) for x, y in faces[0].landmarks[:2]]


def sunglasses(rgb: np.ndarray, tmp: Path) -> np.ndarray:
    out = rgb.copy()
    (x0, y0), (x1, y1) = _eye_centres(rgb, tmp)
    r = max(6, int(0.22 * abs(x1 - x0)))
    for x, y in ((x0, y0), (x1, y1)):
        cv2.ellipse(out, (x, y), (int(r * 1.45), r), 0, 0, 360, (16, 18, 22), -1, cv2.LINE_AA)
    cv2.line(out, (x0, y0), (x1, y1), (25, 25, 25), max(2, r // 5), cv2.LINE_AA)
    return out


def hand_over_eyes(rgb: np.ndarray, tmp: Path) -> np.ndarray:
    """A soft-edged band of skin across both eyes, like fingers: her cheek colour, shading and grain."""
    out = rgb.astype(np.float32)
    (x0, y0), (x1, y1) = _eye_centres(rgb, tmp)
    span = abs(x1 - x0)
    band_h = max(8, int(0.55 * span))
    xa, xb = min(x0, x1) - int(0.6 * span), max(x0, x1) + int(0.6 * span)
    ya = (y0 + y1) // 2 - band_h // 2
    cheek = out[max(y0, y1) + int(0.5 * span) : max(y0, y1) + int(0.7 * span), x0 - span // 4 : x0 + span // 4]
    tone = np.median(cheek.reshape(-1, 3), axis=0)
    shade = 0.85 + 0.15 * np.sin(np.linspace(0.2, np.pi - 0.2, band_h))[:, None, None]  # rounded fingers
    grain = np.random.default_rng(0).normal(0.0, 3.0, (band_h, xb - xa, 1))
    cover = out.copy()
    cover[ya : ya + band_h, xa:xb] = tone * shade + grain
    mask = np.zeros(rgb.shape[:2], np.float32)
    mask[ya : ya + band_h, xa:xb] = 1.0
    mask = cv2.GaussianBlur(mask, (0, 0), 2.0)[..., None]
    return np.clip(mask * cover + (1 - mask) * out, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("cover", [sunglasses, hand_over_eyes], ids=["sunglasses", "hand"])
def test_hidden_eyes_are_uncertain_never_closed(cover, tmp_path: Path) -> None:
    path = save_jpeg(tmp_path / "covered.jpg", cover(sample_rgb("astronaut"), tmp_path))
    decoded = decode(path)
    faces = find_faces(decoded)
    assert faces, "a face with covered eyes is still a face"
    face = max(faces, key=lambda f: f.size)
    assert face.left_eye.state != "closed" and face.right_eye.state != "closed", face
    assert face.eye_state == "uncertain", face
    d = decide(analyze(decoded, faces=faces), Policy(), path=str(path))
    assert d.verdict != "reject" or not any("closed" in r for r in d.reasons), d.reasons
    assert not any("Eyes closed" in k for k in d.keywords), d.keywords
