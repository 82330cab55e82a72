"""Properties of the exposure metric, on scikit-image samples and on real photos.

Real photos are read in place from ../shared/testdata (see realphotos.py).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

skdata = pytest.importorskip("skimage.data")

from autocull.measure.exposure import exposure  # noqa: E402

from realphotos import LOW_KEY_FOREST, NORMAL_PHOTOS, VIVID, low_key, photo, photos, shift_ev  # noqa: E402

# Normal scenes (not low key, high key, space or documents).
NORMAL = ["astronaut", "coffee", "chelsea", "camera", "coins", "gravel", "grass", "brick"]
FIELDS = ("score", "mean", "median", "highlight_clip", "shadow_clip", "dynamic_range", "ev_offset", "highlight_ev")


def rgb(name: str) -> np.ndarray:
    a = getattr(skdata, name)()
    return a if a.ndim == 3 else np.repeat(a[:, :, None], 3, axis=2)


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
        # A single channel at the top used to count as blown; it keeps the detail
        # in the other two, so it is counted apart, on its channel.
        im = np.zeros((100, 100, 3), np.uint8)
        im[:30] = 255
        im[30:50, :, 0] = 252  # red channel at the top, luma dark
        m = exposure(im)
        assert m.highlight_clip == pytest.approx(0.3, abs=0.02)
        assert m.channel_clip == pytest.approx((0.2, 0.0, 0.0), abs=0.02)
        assert m.shadow_clip == pytest.approx(0.5, abs=0.02)

    def test_rgb_gray_and_float_agree(self):
        g = skdata.camera()
        a = exposure(np.repeat(g[:, :, None], 3, axis=2))
        b = exposure(g)
        c = exposure(g.astype(np.float32) / 255.0)
        assert a.label == b.label
        for f in FIELDS + ("channel_clip",):
            assert getattr(a, f) == pytest.approx(getattr(b, f), abs=1e-5)
        assert c.ev_offset == pytest.approx(a.ev_offset, abs=0.02) and c.label == a.label
        assert c.highlight_ev == pytest.approx(a.highlight_ev, abs=0.02)

    @pytest.mark.parametrize("shape", [(1, 1, 3), (2, 3, 3), (0, 0, 3), (50, 40, 3)])
    @pytest.mark.parametrize("value", [0, 128, 255])
    def test_uniform_and_tiny_images_are_defined(self, shape, value):
        m = exposure(np.full(shape, value, np.uint8))
        for v in [getattr(m, f) for f in FIELDS] + list(m.channel_clip):
            assert isinstance(v, float) and math.isfinite(v)
        assert m.label in ("under", "ok", "over")

    def test_bad_shape_is_refused(self):
        with pytest.raises(ValueError, match="shape"):
            exposure(np.zeros((4, 4, 2), np.uint8))


class TestBlownMeansDetailLost:
    @pytest.mark.parametrize("colour", [(255, 0, 0), (0, 255, 0), (40, 120, 255), (255, 255, 0), (255, 180, 120)])
    def test_a_saturated_colour_is_not_blown_but_noted_on_its_channels(self, colour):
        m = exposure(np.full((40, 40, 3), colour, np.uint8))
        assert m.highlight_clip == 0.0
        assert m.channel_clip == tuple(1.0 if c == 255 else 0.0 for c in colour)

    @pytest.mark.parametrize("colour", [(255, 255, 255), (252, 251, 250)])
    def test_white_is_blown(self, colour):
        m = exposure(np.full((40, 40, 3), colour, np.uint8))
        assert m.highlight_clip == 1.0 and m.channel_clip == (0.0, 0.0, 0.0)

    @pytest.mark.parametrize("rel", VIVID)
    def test_a_vivid_real_photo_keeps_its_detail(self, rel):
        m = exposure(photo(rel))
        assert max(m.channel_clip) > 0.1  # the premise: a channel is at the top on a tenth of the frame or more
        assert m.highlight_clip < 0.05 and m.label == "ok"

    @pytest.mark.parametrize("rel", NORMAL_PHOTOS)
    def test_a_real_photo_pushed_three_stops_reads_blown_and_over(self, rel):
        before = exposure(photo(rel))
        m = exposure(shift_ev(photo(rel), +3))
        assert m.label == "over" and m.highlight_clip > before.highlight_clip + 0.15


class TestDarkMeansNoUsableDetail:
    def test_a_low_key_photo_with_lit_leaves_is_not_under(self):
        m = exposure(photo(LOW_KEY_FOREST))
        assert m.ev_offset < -2.5  # the premise: its midtones are far below mid-grey
        assert m.label == "ok" and m.highlight_ev > -0.5
        assert m.score > 0.9

    @pytest.mark.parametrize("rel", NORMAL_PHOTOS)
    def test_a_low_key_rendering_is_not_under_but_the_same_darkening_by_exposure_is(self, rel):
        im = photo(rel)
        before = exposure(im)
        rendered = exposure(low_key(im, 3))  # tone curve: midtones down, white kept
        shifted = exposure(shift_ev(im, -3))  # everything down three stops
        assert rendered.ev_offset < before.ev_offset - 1.0  # the premise: visibly darker midtones
        assert rendered.label != "under"
        assert shifted.label == "under" and shifted.highlight_ev < -2.0
        assert rendered.score > shifted.score

    @pytest.mark.parametrize("rel", photos("camera") + photos("burst"))
    def test_every_real_photo_three_stops_under_reads_under(self, rel):
        m = exposure(shift_ev(photo(rel), -3))
        assert m.label == "under" and m.highlight_ev < -2.0

    @pytest.mark.parametrize("name", NORMAL)
    def test_highlights_follow_the_exposure_stop_for_stop(self, name):
        im = rgb(name)
        hl = [exposure(shift_ev(im, e)).highlight_ev for e in (-3, -2, -1)]
        assert np.diff(hl) == pytest.approx([1.0, 1.0], abs=0.1)

    def test_a_flat_mid_grey_frame_is_not_dark(self):
        m = exposure(np.full((64, 64, 3), 118, np.uint8))  # highlights only at mid-grey, midtones in place
        assert m.highlight_ev == pytest.approx(-2.0, abs=0.05)
        assert m.label == "ok" and m.score > 0.95


class TestHighKey:
    """White subjects exposed as white: nothing lost, nothing to review (speed is in bench/bench_measure.py)."""

    @staticmethod
    def page(paper: int) -> np.ndarray:
        import cv2

        im = np.full((900, 700, 3), paper, np.uint8)
        for row in range(60, 860, 28):  # lines of dark text on the paper
            cv2.putText(im, "the quick brown fox jumps over", (40, row), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (30, 30, 30), 2)
        return im

    def test_a_page_of_white_paper_is_not_over_exposed(self):
        m = exposure(self.page(235))  # paper at about 85 % reflectance, as a camera renders it
        assert m.ev_offset > 2.0 and m.highlight_clip < 0.01
        assert m.label == "ok"

    def test_the_same_page_blown_to_white_is(self):
        m = exposure(shift_ev(self.page(235), 1.5))
        assert m.highlight_clip > 0.5 and m.label == "over"
