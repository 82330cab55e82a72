"""analyze(): wiring of the measure stage into one Analysis record."""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

skdata = pytest.importorskip("skimage.data")

from autocull.measure import analyze, subject_region, union_box  # noqa: E402
from autocull.records import Analysis, Box, DecodedImage, ExifInfo, EyeMetrics, FaceMetrics, SharpnessMetrics  # noqa: E402


def decoded(rgb: np.ndarray, full=(6000, 4000)) -> DecodedImage:
    return DecodedImage(rgb=rgb, full_size=full, format="JPEG", exif=ExifInfo(make="X", model="Y"), source="pixels")


def face(box: Box, *, main=True, sharp: float | None = None) -> FaceMetrics:
    eye = EyeMetrics(ear=0.3, state="open")
    sm = None if sharp is None else SharpnessMetrics(score=sharp, laplacian_var=0, tenengrad=0, edge_width=1)
    return FaceMetrics(box=box, score=0.9, left_eye=eye, right_eye=eye, eye_state="open", sharpness=sm, main=main)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skdata.astronaut()


class TestAnalyze:
    def test_fills_sizes_format_and_exif_from_the_decoded_image(self, astronaut):
        a = analyze(decoded(astronaut))
        assert (a.width, a.height) == (6000, 4000)
        assert a.analysis_size == (512, 512)
        assert a.format == "JPEG" and a.exif.make == "X" and a.source == "pixels"
        assert len(a.phash) == 16 and len(a.dhash) == 16

    def test_round_trips_through_json(self, astronaut):
        # Through JSON as the store does (from_dict of the raw asdict output
        # leaves the faces as dicts: tuples are not rebuilt, only lists).
        a = analyze(decoded(astronaut), faces=[face(Box(0.4, 0.1, 0.2, 0.25), sharp=0.8)])
        assert Analysis.from_dict(json.loads(json.dumps(a.to_dict()))) == a

    def test_faces_none_means_not_checked_and_empty_means_none_found(self, astronaut):
        assert analyze(decoded(astronaut)).faces_checked is False
        b = analyze(decoded(astronaut), faces=[])
        assert b.faces_checked is True and b.faces == ()
        assert b.subject_source in ("saliency", "centre")

    def test_main_faces_define_the_subject(self, astronaut):
        f1, f2 = face(Box(0.1, 0.1, 0.2, 0.2), sharp=0.3), face(Box(0.5, 0.5, 0.3, 0.3), sharp=0.9)
        other = face(Box(0.0, 0.8, 0.1, 0.1), main=False, sharp=0.1)
        a = analyze(decoded(astronaut), faces=[f1, f2, other])
        assert a.subject_source == "faces"
        # the box that holds both main faces (0.1..0.8 on each axis); the small non-main face is left out
        box = a.subject_box
        assert (box.x, box.y, box.w, box.h) == pytest.approx((0.1, 0.1, 0.7, 0.7))
        assert box == union_box([f1.box, f2.box])
        assert a.subject.score == 0.9  # the largest main face
        assert len(a.faces) == 3

    def test_a_group_takes_the_median_face(self, astronaut):
        faces = [face(Box(0.1 * i, 0.1, 0.1, 0.1), sharp=s) for i, s in enumerate([0.2, 0.9, 0.5, 0.7, 0.1])]
        assert analyze(decoded(astronaut), faces=faces).subject.score == 0.5

    def test_face_without_sharpness_is_measured_on_the_analysis_image(self, astronaut):
        a = analyze(decoded(astronaut), faces=[face(Box(0.4, 0.1, 0.2, 0.25))])
        assert a.subject_source == "faces" and 0.0 <= a.subject.score <= 1.0 and a.subject.edge_width < 50

    def test_bokeh_frame_keeps_a_sharp_subject(self):
        img = skdata.coffee()
        out = cv2.GaussianBlur(img, (0, 0), 6)
        h, w = img.shape[:2]
        out[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3] = img[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3]
        a = analyze(decoded(out), faces=[])
        assert a.subject_source == "saliency"
        b = a.subject_box
        # The box covers the sharp centre (overlap of at least half of it).
        ox = max(0.0, min(b.x + b.w, 2 / 3) - max(b.x, 1 / 3))
        oy = max(0.0, min(b.y + b.h, 2 / 3) - max(b.y, 1 / 3))
        assert ox * oy >= 0.5 / 9
        assert a.subject.score > 0.8 and a.sharpness.score > 0.7

    @pytest.mark.parametrize("shape", [(1, 1, 3), (3, 2, 3), (16, 16, 3), (40, 1, 3)])
    @pytest.mark.parametrize("value", [0, 255])
    def test_uniform_and_tiny_frames_are_defined(self, shape, value):
        a = analyze(decoded(np.full(shape, value, np.uint8), full=(shape[1], shape[0])))
        for v in (a.sharpness.score, a.subject.score, a.exposure.score, a.noise.sigma, a.exposure.ev_offset):
            assert math.isfinite(v)
        assert a.subject_source == "centre"


class TestSubjectRegion:
    def test_uniform_texture_falls_back_to_the_centre(self):
        rng = np.random.default_rng(0)
        box, source = subject_region(rng.random((300, 400)).astype(np.float32))
        assert source == "centre" and box == Box(0.25, 0.25, 0.5, 0.5)

    def test_box_is_inside_the_frame(self):
        box, _ = subject_region(skdata.camera())
        assert 0 <= box.x and 0 <= box.y and box.x + box.w <= 1 + 1e-9 and box.y + box.h <= 1 + 1e-9
