"""The pixel helpers the measures share (measure/image.py) and the one box rule (records.Box)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from autocull.measure.image import LUMA, as_gray, padded_crop, to_gray, union_box, weighted_luma
from autocull.records import Box


class TestBoxPixels:
    def test_edges_go_outwards_to_whole_pixels(self) -> None:
        assert Box(0.25, 0.25, 0.5, 0.5).pixels((100, 60)) == (25, 15, 75, 45)
        assert Box(0.101, 0.0, 0.2, 1.0).pixels((100, 10)) == (10, 0, 31, 10)

    def test_a_box_over_the_edge_is_clipped_to_the_frame(self) -> None:
        assert Box(-0.5, 0.9, 2.0, 0.5).pixels((100, 10)) == (0, 9, 100, 10)

    def test_an_empty_box_is_still_one_pixel(self) -> None:
        assert Box(0.5, 0.5, 0.0, 0.0).pixels((10, 10)) == (5, 5, 6, 6)
        assert Box(1.0, 1.0, 0.1, 0.1).pixels((10, 10)) == (9, 9, 10, 10)


class TestBoxClamped:
    def test_a_box_over_the_edge_is_cut_to_the_frame(self) -> None:
        assert Box(-0.2, 0.5, 0.6, 0.8).clamped() == Box(0.0, 0.5, pytest.approx(0.4), 0.5)

    @pytest.mark.parametrize(
        "box",
        [Box(0.5, 0.5, 0.0, 0.2), Box(0.1, 0.1, -0.1, 0.2), Box(math.nan, 0.1, 0.2, 0.2), Box(1.5, 0.5, 0.2, 0.2)],
    )
    def test_empty_nonfinite_or_outside_boxes_are_refused(self, box: Box) -> None:
        with pytest.raises(ValueError):
            box.clamped()


class TestGray:
    def test_luma_weights_are_rec709_and_sum_to_one(self) -> None:
        assert LUMA == (0.2126, 0.7152, 0.0722) and sum(LUMA) == pytest.approx(1.0)

    def test_colour_uint8_gray_is_the_weighted_luma_bit_for_bit(self) -> None:
        rgb = np.random.default_rng(0).integers(0, 256, (37, 53, 3), dtype=np.uint8)
        f = rgb.astype(np.float32)
        expected = weighted_luma([f[:, :, 0], f[:, :, 1], f[:, :, 2]]) * np.float32(1.0 / 255.0)
        assert np.array_equal(to_gray(rgb), expected)

    def test_gray_float_input_is_read_in_place_by_as_gray_and_copied_by_to_gray(self) -> None:
        g = np.random.default_rng(0).random((20, 30), dtype=np.float32)
        assert as_gray(g) is g
        out = to_gray(g)
        assert np.array_equal(out, g) and not np.shares_memory(out, g)

    def test_a_single_plane_is_gray_already(self) -> None:
        plane = np.full((4, 5), 0.25, np.float32)
        assert weighted_luma([plane]) is plane


class TestBoxes:
    def test_padded_crop_has_the_same_margin_on_every_side(self) -> None:
        g = np.arange(100 * 80, dtype=np.float32).reshape(80, 100) / (100 * 80)
        crop = padded_crop(g, Box(0.0, 0.5, 0.3, 0.5), 6)  # touches the left and bottom edges
        x0, y0, x1, y1 = Box(0.0, 0.5, 0.3, 0.5).pixels((100, 80))
        assert crop.shape == (y1 - y0 + 12, x1 - x0 + 12)
        assert np.array_equal(crop[6:-6, 6:-6], g[y0:y1, x0:x1])

    def test_union_box_covers_every_box_within_the_frame(self) -> None:
        u = union_box([Box(0.1, 0.2, 0.2, 0.2), Box(0.6, 0.1, 0.6, 0.3)])
        assert u == Box(0.1, 0.1, pytest.approx(0.9), pytest.approx(0.3))
