"""Properties of the exposure metric."""
from __future__ import annotations

import math

import numpy as np
import pytest

skdata = pytest.importorskip("skimage.data")

from autocull.measure.exposure import exposure  # noqa: E402

# Normal scenes (not low key, high key, space or documents).
NORMAL = ["astronaut", "coffee", "chelsea", "camera", "coins", "gravel", "grass", "brick"]


def rgb(name: str) -> np.ndarray:
    a = getattr(skdata, name)()
    return a if a.ndim == 3 else np.repeat(a[:, :, None], 3, axis=2)


def shift_ev(image: np.ndarray, ev: float) -> np.ndarray:
    """Scale linear light by 2**ev (as a camera exposure change), clip, re-encode."""
    v = image.astype(np.float64) / 255.0
    lin = np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4) * 2.0**ev
    lin = np.clip(lin, 0.0, 1.0)
    out = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)
    return np.round(out * 255.0).astype(np.uint8)


class TestLabels:
    @pytest.mark.parametrize("name", NORMAL)
    def test_normal_scene_is_ok_darker_is_under_brighter_is_over(self, name):
        im = rgb(name)
        assert exposure(im).label == "ok"
        assert exposure(shift_ev(im, -2)).label == "under"
        assert exposure(shift_ev(im, +2)).label == "over"

    def test_dark_scene_with_bright_highlights_is_not_under(self):
        rng = np.random.default_rng(0)
        im = (rng.random((200, 300, 3)) * 30).astype(np.uint8)  # night
        im[50:70, 100:140] = 255  # lit windows
        im[120:125, 20:200] = 240
        m = exposure(im)
        assert m.ev_offset < -2
        assert m.label == "ok"

    def test_blown_sky_alone_is_not_over(self):
        im = rgb("coffee").copy()
        im[: im.shape[0] // 5] = 255
        m = exposure(im)
        assert m.highlight_clip > 0.15
        assert m.label == "ok"


class TestValues:
    @pytest.mark.parametrize("name", NORMAL + ["moon", "rocket", "page"])
    def test_ev_offset_moves_monotonically_with_exposure(self, name):
        im = rgb(name)
        evs = [exposure(shift_ev(im, e)).ev_offset for e in (-3, -2, -1, 0, 1, 2)]
        assert all(b > a for a, b in zip(evs, evs[1:])), evs

    def test_mid_grey_frame_is_at_zero_ev(self):
        im = np.full((64, 64, 3), 118, np.uint8)  # sRGB 118 = 18 % linear
        m = exposure(im)
        assert abs(m.ev_offset) < 0.05
        assert m.label == "ok" and m.score > 0.95

    @pytest.mark.parametrize("name", NORMAL)
    def test_score_is_best_near_the_original(self, name):
        im = rgb(name)
        s = {e: exposure(shift_ev(im, e)).score for e in (-3, 0, 3)}
        assert s[0] > s[-3] and s[0] > s[3]

    def test_clip_fractions(self):
        im = np.zeros((10, 10, 3), np.uint8)
        im[:3] = 255
        im[3:5, :, 0] = 252  # max channel clipped
        m = exposure(im)
        assert m.highlight_clip == pytest.approx(0.5, abs=0.11)
        assert m.shadow_clip == pytest.approx(0.5, abs=0.11)

    def test_rgb_gray_and_float_agree(self):
        g = skdata.camera()
        a = exposure(np.repeat(g[:, :, None], 3, axis=2))
        b = exposure(g)
        c = exposure(g.astype(np.float32) / 255.0)
        assert a.label == b.label
        for f in ("score", "mean", "median", "highlight_clip", "shadow_clip", "dynamic_range", "ev_offset"):
            assert getattr(a, f) == pytest.approx(getattr(b, f), abs=1e-5)
        assert c.ev_offset == pytest.approx(a.ev_offset, abs=0.02) and c.label == a.label

    @pytest.mark.parametrize("shape", [(1, 1, 3), (2, 3, 3), (0, 0, 3), (50, 40, 3)])
    @pytest.mark.parametrize("value", [0, 128, 255])
    def test_uniform_and_tiny_images_are_defined(self, shape, value):
        m = exposure(np.full(shape, value, np.uint8))
        for v in (m.score, m.mean, m.median, m.highlight_clip, m.shadow_clip, m.dynamic_range, m.ev_offset):
            assert math.isfinite(v)
        assert m.label in ("under", "ok", "over")

    def test_bad_shape_is_refused(self):
        with pytest.raises(ValueError, match="shape"):
            exposure(np.zeros((4, 4, 2), np.uint8))
