"""Hand-held camera shake on real photos: longer shake reads less sharp, a doubled frame is not sharp.

The photos are the sharp and shallow depth-of-field ones of
``../shared/testdata/camera/`` at analysis size; the shake is synthetic but
shaped like a hand's (imagegen.shake_kernel: a path that curls, turns back
and lingers, leaving ghosts on the smear), the double a second copy of the
scene as a camera leaves when it rests at two places during the exposure.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from autocull.measure import sharpness, to_gray
from autocull.policy import Policy

from imagegen import doubled, shake_kernel
from realphotos import camera_labels, photo

LABELS = camera_labels()
UNBLURRED = sorted(f"camera/{info['label']}/{name}" for name, info in LABELS.items() if info["label"] != "blurred")
EXTENTS = (3, 6, 12, 24)  # px of the path's extent at 1280 px
PATHS = (1, 2, 3, 4, 5)
REVIEW = Policy().sharpness_review


def gray(rel: str) -> np.ndarray:
    return to_gray(photo(rel))


@pytest.mark.parametrize("rel", UNBLURRED)
def test_a_longer_shake_reads_less_sharp(rel):
    # Mean over five hand paths: one path's ghosts may line up with the scene.
    g = gray(rel)
    means = [sharpness(g).score]
    for extent in EXTENTS:
        shaken = [cv2.filter2D(g, -1, shake_kernel(extent, seed), borderType=cv2.BORDER_REFLECT) for seed in PATHS]
        means.append(float(np.mean([sharpness(s).score for s in shaken])))
    assert all(b <= a + 0.05 for a, b in zip(means, means[1:])), list(zip((0,) + EXTENTS, np.round(means, 2)))
    assert means[-1] < REVIEW, means  # a 24 px shake is never kept as sharp


def test_a_doubled_photo_is_not_read_sharp():
    # A photo plus a 40 % copy 6-12 px away, in four directions. What still
    # reads sharp is a structure nearly parallel to the shift (the wavy
    # facade shifted along its bands), where the copy hardly shows.
    cases, sharp_read, sharper = 0, [], []
    for rel in UNBLURRED:
        g = gray(rel)
        original = sharpness(g).score
        for offset in (6, 9, 12):
            for angle in (0, 35, 90, 140):
                m = sharpness(doubled(g, offset, angle, 0.4))
                cases += 1
                if m.score >= REVIEW:
                    sharp_read.append((rel, offset, angle, round(m.score, 2)))
                if m.score > original + 0.02:
                    sharper.append((rel, offset, angle, round(original, 2), round(m.score, 2)))
    assert not sharper, sharper  # a second copy never makes a frame sharper
    assert len(sharp_read) <= 0.1 * cases, sharp_read


def test_the_double_is_named_with_its_offset():
    # On a textured photo the copy is found and its offset read within a pixel.
    g = gray("camera/sharp/rbh-054.jpg")
    for offset, angle in ((6, 0), (9, 35), (12, 140)):
        m = sharpness(doubled(g, offset, angle, 0.4))
        assert abs(m.double_offset - offset) <= 1.0, (offset, angle, m)
        d = abs(m.double_angle - angle) % 180.0
        assert min(d, 180.0 - d) <= 10.0, (offset, angle, m)
