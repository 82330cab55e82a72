"""Noise estimate and perceptual hashes."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

skdata = pytest.importorskip("skimage.data")

from autocull.measure.hashes import dhash, hamming, phash  # noqa: E402
from autocull.measure.image import to_gray  # noqa: E402
from autocull.measure.noise import noise  # noqa: E402

PHOTOS = [
    "astronaut",
    "camera",
    "coffee",
    "chelsea",
    "rocket",
    "immunohistochemistry",
    "hubble_deep_field",
    "moon",
    "coins",
    "brick",
    "grass",
    "gravel",
    "retina",
    "clock",
    "cell",
]


def photo(name: str) -> np.ndarray:
    return getattr(skdata, name)()


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)


class TestNoise:
    @pytest.mark.parametrize("name", ["astronaut", "camera", "coffee", "moon", "chelsea"])
    def test_score_falls_and_sigma_rises_as_noise_grows(self, name):
        rng = np.random.default_rng(0)
        g = to_gray(photo(name))
        ms = [noise(np.clip(g + rng.normal(0, s / 255, g.shape).astype(np.float32), 0, 1)) for s in (0, 3, 8, 20)]
        assert all(b.score < a.score for a, b in zip(ms, ms[1:])), ms
        assert all(b.sigma > a.sigma for a, b in zip(ms, ms[1:])), ms

    def test_sigma_of_pure_noise_is_close_to_the_truth(self):
        rng = np.random.default_rng(0)
        img = np.clip(0.5 + rng.normal(0, 10 / 255, (256, 256)), 0, 1).astype(np.float32)
        assert noise(img).sigma == pytest.approx(10, rel=0.15)

    @pytest.mark.parametrize("shape", [(0, 0), (1, 1), (2, 2), (3, 3), (64, 64)])
    def test_uniform_and_tiny_images_are_clean(self, shape):
        m = noise(np.full(shape, 0.4, np.float32))
        assert math.isfinite(m.sigma) and m.sigma == pytest.approx(0, abs=1e-6) and m.score == pytest.approx(1)

    def test_rgb_and_gray_agree(self):
        im = photo("astronaut")
        assert noise(im).sigma == pytest.approx(noise(to_gray(im)).sigma, rel=1e-6)


class TestHashes:
    @pytest.mark.parametrize("fn", [phash, dhash])
    def test_hash_is_16_lowercase_hex_digits(self, fn):
        h = fn(photo("camera"))
        assert len(h) == 16 and h == h.lower() and int(h, 16) >= 0

    @pytest.mark.parametrize("fn", [phash, dhash])
    @pytest.mark.parametrize("name", PHOTOS)
    def test_jpeg_resave_keeps_the_hash(self, fn, name):
        im = photo(name)
        assert hamming(fn(im), fn(jpeg(im, 90))) <= 2

    # Scenes with low-frequency structure. Pure textures ("brick", "cell") have
    # none: every low DCT coefficient sits near the median and bits flip (up
    # to 22 on "brick"); bursts of textures need the pixel-level comparison.
    @pytest.mark.parametrize("fn", [phash, dhash])
    @pytest.mark.parametrize("name", [n for n in PHOTOS if n not in ("brick", "cell")])
    def test_small_shift_or_crop_moves_few_bits(self, fn, name):
        im = photo(name)
        h, w = im.shape[:2]
        cropped = im[h // 50 : h - h // 50, w // 50 : w - w // 50]
        d = max(1, min(h, w) // 100)
        a, b = im[d:, d:], im[:-d, :-d]  # the same frame shifted by 1 %
        # Unrelated photos sit around 32 bits apart; 12 leaves a clear gap.
        assert hamming(fn(im), fn(cropped)) <= 12
        assert hamming(fn(a), fn(b)) <= 12

    @pytest.mark.parametrize("fn", [phash, dhash])
    def test_different_photos_are_far_apart(self, fn):
        hashes = [fn(photo(n)) for n in PHOTOS]
        dists = [hamming(a, b) for i, a in enumerate(hashes) for b in hashes[i + 1 :]]
        assert np.median(dists) >= 24
        assert min(dists) >= 12

    def test_rgb_and_gray_agree(self):
        im = photo("coffee")
        assert phash(im) == phash(to_gray(im)) and dhash(im) == dhash(to_gray(im))

    def test_hamming(self):
        assert hamming("0000000000000000", "ffffffffffffffff") == 64
        assert hamming("00000000000000ff", "0000000000000000") == 8
        with pytest.raises(ValueError):
            hamming("00", "000")

    @pytest.mark.parametrize("shape", [(0, 0), (1, 1), (5, 3), (64, 64)])
    def test_tiny_and_uniform_images_hash(self, shape):
        img = np.full(shape, 0.5, np.float32)
        assert len(phash(img)) == 16 and len(dhash(img)) == 16
