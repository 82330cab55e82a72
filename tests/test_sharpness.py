"""Properties of the sharpness metric on real photos (scikit-image sample data)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

skdata = pytest.importorskip("skimage.data")

from autocull.measure.image import to_gray  # noqa: E402
from autocull.measure.sharpness import sharpness  # noqa: E402
from autocull.records import Box  # noqa: E402

# Sharp originals. "clock" is a motion-blurred photo and "cell" a soft micrograph:
# they take part in the monotonicity tests but not in the "sharp original" ones.
SHARP = [
    "astronaut",
    "camera",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "moon",
    "page",
    "text",
    "coins",
    "brick",
    "grass",
    "gravel",
]
ALL = SHARP + ["retina", "clock", "cell"]


def photo(name: str) -> np.ndarray:
    return to_gray(getattr(skdata, name)())


def gaussian(g: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(g, (0, 0), sigma) if sigma > 0 else g


def motion_kernel(length: int, angle_deg: float) -> np.ndarray:
    """Line kernel of ``length`` px at ``angle_deg`` (as displayed, counter-clockwise)."""
    k = np.zeros((length + 2, length + 2), np.float32)
    c = (length + 1) / 2
    dx = math.cos(math.radians(angle_deg)) * (length - 1) / 2
    dy = -math.sin(math.radians(angle_deg)) * (length - 1) / 2
    for t in np.linspace(-1, 1, 8 * length):
        k[int(round(c + t * dy)), int(round(c + t * dx))] += 1
    return k / k.sum()


def motion(g: np.ndarray, length: int, angle: float) -> np.ndarray:
    return cv2.filter2D(g, -1, motion_kernel(length, angle))


def angle_diff(a: float, b: float) -> float:
    d = abs(a - b) % 180.0
    return min(d, 180.0 - d)


class TestGaussianBlur:
    @pytest.mark.parametrize("name", ALL)
    def test_score_falls_monotonically_as_blur_grows(self, name):
        g = photo(name)
        scores = [sharpness(gaussian(g, s)).score for s in (0, 0.5, 1, 2, 3, 5)]
        # 0.05: the rank statistic over windows jitters a little on frames
        # that are already blurred ("clock" moves 0.09 -> 0.12 at sigma 0.5).
        assert all(b <= a + 0.05 for a, b in zip(scores, scores[1:])), scores
        assert scores[-1] < scores[0] or scores[0] < 0.2

    @pytest.mark.parametrize("name", SHARP)
    def test_sharp_photo_scores_high_and_heavy_blur_low(self, name):
        g = photo(name)
        assert sharpness(g).score > 0.85
        assert sharpness(gaussian(g, 5)).score < 0.3

    def test_synthetic_edges_read_their_blur_width(self):
        # Discs rendered with 8x supersampling: a blur of sigma s reads about s px.
        rng = np.random.default_rng(0)
        big = np.zeros((2048, 2048), np.float32)
        for _ in range(40):
            c = (int(rng.integers(0, 2048)), int(rng.integers(0, 2048)))
            cv2.circle(big, c, int(rng.integers(40, 400)), float(rng.random()), -1)
        img = cv2.resize(big, (256, 256), interpolation=cv2.INTER_AREA)
        for s in (1.5, 2.0, 3.0):
            w = sharpness(gaussian(img, s)).edge_width
            assert 0.7 * s < w < 1.3 * s, (s, w)


def _cases(names: list[str]) -> list[tuple[str, int]]:
    return [(n, a) for a in (0, 30, 90, 135) for n in names]


class TestMotionBlur:
    # "clock" is already motion-blurred (horizontally): a second, crossing
    # blur is another property, left out here.
    @pytest.mark.parametrize("name", SHARP + ["retina", "cell"])
    @pytest.mark.parametrize("angle", [0, 30, 90, 135])
    def test_score_falls_monotonically_with_length(self, name, angle):
        # Up to streaks of 41 px on a 512 px photo: long straight streaks turn
        # thin lines into bars with sharp ends, which edge widths alone misread.
        g = photo(name)
        lengths = (3, 7, 15, 25, 41)
        scores = [sharpness(g).score] + [sharpness(motion(g, n, angle)).score for n in lengths]
        assert all(b <= a + 0.05 for a, b in zip(scores, scores[1:])), list(zip((0,) + lengths, scores))

    @pytest.mark.parametrize("name", ["text", "page", "brick", "astronaut"])
    @pytest.mark.parametrize("angle", [20, 110, 160])
    def test_score_falls_monotonically_at_off_axis_angles(self, name, angle):
        g = photo(name)
        lengths = (5, 9, 19, 33)
        scores = [sharpness(g).score] + [sharpness(motion(g, n, angle)).score for n in lengths]
        assert all(b <= a + 0.05 for a, b in zip(scores, scores[1:])), list(zip((0,) + lengths, scores))

    @pytest.mark.parametrize(("name", "angle"), _cases(SHARP))
    def test_long_motion_blur_is_never_called_sharp(self, name, angle):
        assert sharpness(motion(photo(name), 25, angle)).score < 0.8

    @pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "hubble_deep_field", "coins", "moon"])
    @pytest.mark.parametrize("angle", [0, 30, 90, 135])
    def test_motion_reads_higher_than_defocus_with_the_right_angle(self, name, angle):
        g = photo(name)
        m = sharpness(motion(g, 25, angle))
        # A Gaussian blur of similar (or worse) sharpness.
        d = next(
            sharpness(gaussian(g, s)) for s in (2, 2.5, 3, 4, 5, 7) if sharpness(gaussian(g, s)).score <= m.score + 0.05
        )
        assert m.motion > d.motion + 0.3, (m, d)
        assert angle_diff(m.motion_angle, angle) < 15.0, m.motion_angle

    def test_sharp_photo_has_no_motion(self):
        for name in SHARP:
            assert sharpness(photo(name)).motion < 0.2, name


class TestSizeIndependence:
    @pytest.mark.parametrize("name", SHARP)
    def test_half_size_scores_close_to_full_size(self, name):
        # A sharp photo has ~1 px edges at any resolution, so the score barely
        # moves (0.1 allows the rank statistic to move on fewer windows). A
        # blurred photo does get sharper at half size: its blur halves in px.
        g = photo(name)
        half = cv2.resize(g, (g.shape[1] // 2, g.shape[0] // 2), interpolation=cv2.INTER_AREA)
        assert abs(sharpness(g).score - sharpness(half).score) < 0.1

    @pytest.mark.parametrize("name", ["astronaut", "coffee", "rocket", "hubble_deep_field"])
    def test_upsampled_photo_reads_blurrier_in_pixels(self, name):
        # A 3x linear upsampling turns even a pixel-sharp step into a 3 px
        # ramp (sigma 3 / sqrt(12) = 0.87 px): the sharpest edges of the
        # upsampled photo read at least about that, and wider than before.
        g = photo(name)
        up = cv2.resize(g, (g.shape[1] * 3, g.shape[0] * 3), interpolation=cv2.INTER_LINEAR)
        before, after = sharpness(g).edge_width, sharpness(up).edge_width
        assert after >= 0.8 and after > before + 0.3, (before, after)


class TestInputs:
    def test_rgb_and_gray_agree(self):
        rgb = skdata.astronaut()
        a, b = sharpness(rgb), sharpness(to_gray(rgb))
        assert a.score == pytest.approx(b.score, abs=1e-6)
        assert a.edge_width == pytest.approx(b.edge_width, abs=1e-6)

    def test_uint8_and_float_agree(self):
        u = skdata.camera()
        a, b = sharpness(u), sharpness(u.astype(np.float32) / 255.0)
        assert a.score == pytest.approx(b.score, abs=1e-6)

    @pytest.mark.parametrize("shape", [(64, 64), (1, 1), (2, 5), (7, 3), (0, 0), (16, 300)])
    @pytest.mark.parametrize("value", [0.0, 0.5, 1.0])
    def test_uniform_and_tiny_images_are_defined(self, shape, value):
        m = sharpness(np.full(shape, value, np.float32))
        for v in (m.score, m.edge_width, m.laplacian_var, m.tenengrad, m.motion, m.motion_angle):
            assert math.isfinite(v)
        assert 0.0 <= m.score <= 0.5

    def test_bad_shape_is_refused_with_the_shape_in_the_message(self):
        with pytest.raises(ValueError, match=r"\(4, 4, 2\)"):
            sharpness(np.zeros((4, 4, 2), np.uint8))


class TestNoise:
    @pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "moon", "camera"])
    def test_blurred_photo_with_noise_still_scores_low(self, name):
        rng = np.random.default_rng(0)
        g = gaussian(photo(name), 4)
        for sigma in (2, 5, 10):
            noisy = np.clip(g + rng.normal(0, sigma / 255, g.shape).astype(np.float32), 0, 1)
            assert sharpness(noisy).score < 0.4, sigma


class TestBokeh:
    @pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket"])
    def test_sharp_centre_on_blurred_background_keeps_a_high_score(self, name):
        g = photo(name)
        h, w = g.shape
        out = gaussian(g, 6)
        y0, y1, x0, x1 = h // 3, 2 * h // 3, w // 3, 2 * w // 3
        out[y0:y1, x0:x1] = g[y0:y1, x0:x1]
        box = Box(x=x0 / w, y=y0 / h, w=(x1 - x0) / w, h=(y1 - y0) / h)
        whole, subj = sharpness(out), sharpness(out, box=box)
        assert subj.score > 0.8
        assert whole.score > 0.7
        assert sharpness(gaussian(g, 6), box=box).score < 0.3

    @pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea"])
    def test_panned_subject_stays_sharp_while_streaked_background_reads_as_motion(self, name):
        g = photo(name)
        h, w = g.shape
        out = motion(g, 25, 0)
        y0, y1, x0, x1 = h // 4, 3 * h // 4, w // 4, 3 * w // 4
        out[y0:y1, x0:x1] = g[y0:y1, x0:x1]
        box = Box(x=x0 / w, y=y0 / h, w=(x1 - x0) / w, h=(y1 - y0) / h)
        assert sharpness(out, box=box).score > 0.8
        assert sharpness(motion(g, 25, 0), box=box).score < 0.3


class TestFewEdgeDirections:
    def test_a_streak_along_one_of_two_edge_directions_is_not_hidden(self):
        # A scene of upright rectangles has edges in two directions only; a
        # horizontal streak widens one and leaves the other sharp, and the
        # frame must read blurred, not as sharp as its untouched edges.
        rng = np.random.default_rng(3)
        img = np.full((720, 960), 0.5, np.float32)
        for _ in range(150):
            x0, y0 = rng.integers(0, 960), rng.integers(0, 720)
            img[y0 : y0 + rng.integers(8, 120), x0 : x0 + rng.integers(8, 120)] = rng.uniform(0.1, 0.9)
        assert sharpness(img).score > 0.85
        for length in (9, 15, 25):
            streaked = cv2.filter2D(
                img, -1, np.full((1, length), 1.0 / length, np.float32), borderType=cv2.BORDER_REFLECT
            )
            assert sharpness(streaked).score < 0.45, length
