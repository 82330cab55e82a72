"""The streak detector on real photos: length and direction of linear motion blur."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from autocull.decode import decode
from autocull.measure.image import to_gray
from autocull.measure.motion import motion_blur, streak_width
from autocull.measure.sharpness import sharpness

from imagegen import sample_rgb
from realphotos import TESTDATA
from test_sharpness import ALL, SHARP, angle_diff, gaussian, motion, photo

TEXTURED = ["astronaut", "camera", "coffee", "grass", "gravel", "page", "text"]


@pytest.mark.parametrize("name", TEXTURED)
@pytest.mark.parametrize("angle", [0, 30, 90, 135])
def test_streak_length_and_direction_are_found(name, angle):
    g = photo(name)
    for length in (15, 25, 41):
        m = motion_blur(motion(g, length, angle))
        assert m.found, (length, m)
        assert 0.8 * length <= m.length <= 1.1 * length, (length, m)
        assert angle_diff(m.angle, angle) < 10.0, (length, m)
    # Short streaks are left to the edge width (their dip is near scene
    # texture); when one is claimed, it must be right.
    m = motion_blur(motion(g, 9, angle))
    assert not m.found or (0.8 * 9 <= m.length <= 1.1 * 9 and angle_diff(m.angle, angle) < 10.0), m


@pytest.mark.parametrize("name", ALL)
def test_no_streak_is_claimed_on_sharp_or_defocused_photos(name):
    g = photo(name)
    for img in (g, gaussian(g, 1), gaussian(g, 3), gaussian(g, 5)):
        assert not motion_blur(img).found


@pytest.mark.parametrize("name", SHARP)
def test_periodic_texture_at_half_size_is_not_read_as_motion(name):
    # Bricks, a launch tower's cross-beams, text lines shrunk to half size put
    # cepstral dips where a streak would; their edges stay sharp every way.
    g = photo(name)
    half = cv2.resize(g, (g.shape[1] // 2, g.shape[0] // 2), interpolation=cv2.INTER_AREA)
    m = sharpness(half)
    assert m.motion_length == 0.0 and m.score > 0.8, m


def test_a_streak_buried_in_noise_is_not_given_a_length_it_does_not_show():
    rng = np.random.default_rng(1)
    g = motion(photo("astronaut"), 25, 30)
    noisy = np.clip(g + rng.normal(0, 20 / 255, g.shape).astype(np.float32), 0, 1)
    m = motion_blur(noisy, noise_sigma=20.0)
    assert not m.found or 0.8 * 25 <= m.length <= 1.1 * 25


def test_streak_width_matches_the_variance_of_a_box():
    assert streak_width(0.0) == 0.0
    assert streak_width(12.0) == pytest.approx(12.0 / np.sqrt(12.0))


def test_small_and_flat_images_are_defined():
    assert not motion_blur(np.zeros((40, 40), np.float32)).found
    assert not motion_blur(np.full((300, 300), 0.5, np.float32)).found
    with pytest.raises(ValueError):
        motion_blur(np.zeros((4, 4, 3), np.float32))


SHARED = TESTDATA


def test_no_streak_is_read_on_real_photos_that_have_none():
    # 200 real face crops (retouched skin, watermarks, hair) and real burst frames.
    files = sorted((SHARED / "faces").glob("*/*.jpg")) + sorted((SHARED / "burst").glob("*/*.[jJ][pP]*[gG]"))
    assert len(files) >= 200
    streaked = []
    for f in files:
        m = sharpness(to_gray(decode(f).rgb))
        if m.motion_length > 0:
            streaked.append((f.name, m.motion_length))
    assert not streaked


@pytest.mark.parametrize("name", ["text", "page", "astronaut", "camera", "rocket", "brick"])
def test_a_heavily_compressed_jpeg_grid_is_not_a_streak(name, tmp_path):
    # A JPEG at quality 10-40 seen at its stored size shows its 8 px block
    # grid, whose spectral comb puts cepstral dips where a streak's would be.
    from PIL import Image

    rgb = sample_rgb(name)
    sharp = sharpness(to_gray(rgb)).score
    for q in (10, 15, 25, 40):
        path = tmp_path / f"{name}-q{q}.jpg"
        Image.fromarray(rgb).save(path, quality=q)
        m = sharpness(to_gray(decode(path).rgb))
        assert m.motion_length == 0.0, (q, m)
        assert m.score > sharp - 0.3, (q, m.score, sharp)
