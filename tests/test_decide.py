"""The decide stage is a pure function of (analysis, policy): test its rules directly."""

from __future__ import annotations

import dataclasses

import pytest

from autocull.decide import decide, quality_score
from autocull.measure.exposure import exposure
from autocull.policy import Policy
from autocull.records import (
    Analysis,
    Box,
    ExifInfo,
    ExposureMetrics,
    EyeMetrics,
    FaceMetrics,
    NoiseMetrics,
    ScoreValue,
    SharpnessMetrics,
)

from realphotos import LOW_KEY_FOREST, NORMAL_PHOTOS, VIVID, photo, shift_ev


def _sharp(score: float, motion: float = 0.0) -> SharpnessMetrics:
    return SharpnessMetrics(score=score, laplacian_var=0.01, tenengrad=0.02, edge_width=1.0, motion=motion)


def _analysis(
    subject: float = 0.9,
    whole: float = 0.9,
    ev: float = 0.0,
    label: str = "ok",
    faces: tuple = (),
    source: str = "saliency",
    hi_clip: float = 0.0,
) -> Analysis:
    return Analysis(
        width=4000,
        height=3000,
        format="JPEG",
        exif=ExifInfo(),
        sharpness=_sharp(whole),
        subject=_sharp(subject),
        subject_box=Box(0.3, 0.3, 0.4, 0.4),
        subject_source=source,
        exposure=ExposureMetrics(
            score=0.9,
            label=label,
            mean=0.4,
            median=0.4,
            highlight_clip=hi_clip,
            shadow_clip=0.0,
            dynamic_range=8.0,
            ev_offset=ev,
        ),
        noise=NoiseMetrics(sigma=2.0, score=0.95),
        phash="0" * 16,
        dhash="0" * 16,
        faces=faces,
        faces_checked=True,
    )


def _face(state: str, *, main: bool, size: float = 0.3, sharp: float = 0.9) -> FaceMetrics:
    ear = {"open": 0.3, "closed": 0.08, "uncertain": 0.17}[state]
    eye = EyeMetrics(ear=ear, state=state)
    return FaceMetrics(
        box=Box(0.4, 0.2, 0.2, 0.3),
        score=0.9,
        left_eye=eye,
        right_eye=eye,
        eye_state=state,
        sharpness=_sharp(sharp),
        size=size,
        main=main,
    )


def test_a_sharp_well_exposed_photo_is_kept_with_a_reason():
    d = decide(_analysis(), Policy(), path="/p/a.jpg")
    assert d.verdict == "keep" and d.pick == "picked" and d.stars >= 1
    assert d.reasons and d.reasons[0].startswith("keep:")
    assert "AutoCull|Keep" in d.keywords


def test_a_soft_subject_is_rejected_with_the_numbers_in_the_reason():
    d = decide(_analysis(subject=0.1, whole=0.1), Policy())
    assert d.verdict == "reject" and d.pick == "rejected" and d.stars == 0 and d.color_label == "red"
    assert "0.10 < 0.25" in d.reasons[0]
    assert "subject out of focus" in d.reasons[0] and "AutoCull|Reject|Out of focus" in d.keywords


def test_directional_blur_of_the_whole_frame_is_named_camera_shake():
    a = dataclasses.replace(_analysis(subject=0.1, whole=0.1), subject=_sharp(0.1, motion=0.8))
    d = decide(a, Policy())
    assert "blurred by camera shake" in d.reasons[0] and "AutoCull|Reject|Camera shake" in d.keywords


def test_directional_blur_of_the_subject_alone_is_named_subject_motion():
    a = dataclasses.replace(_analysis(subject=0.1, whole=0.9), subject=_sharp(0.1, motion=0.8))
    d = decide(a, Policy())
    assert "subject blurred by subject motion" in d.reasons[0] and "AutoCull|Reject|Subject motion" in d.keywords


def test_a_doubled_frame_is_named_camera_shake_with_the_offset():
    doubled = dataclasses.replace(_sharp(0.05), double_offset=8.6, double_angle=40.0)
    d = decide(dataclasses.replace(_analysis(subject=0.05, whole=0.05), subject=doubled, sharpness=doubled), Policy())
    assert d.verdict == "reject"
    assert "camera shake (double edges, ~9 px)" in d.reasons[0] and "AutoCull|Reject|Camera shake" in d.keywords


def test_slight_blur_goes_to_review_with_its_kind():
    d = decide(_analysis(subject=0.35, whole=0.35), Policy())
    assert d.verdict == "review" and "subject slightly out of focus: sharpness 0.35 < 0.45" in d.reasons[0]
    assert "AutoCull|Review|Out of focus" in d.keywords


def test_bokeh_is_not_penalised_when_the_subject_is_sharp():
    d = decide(_analysis(subject=0.9, whole=0.2), Policy())
    assert d.verdict == "keep"
    assert any("not penalised" in r for r in d.reasons)


def test_main_face_soft_while_background_sharp_says_focus_missed():
    faces = (_face("open", main=True, sharp=0.15),)
    d = decide(_analysis(subject=0.15, whole=0.85, faces=faces, source="faces"), Policy())
    assert d.verdict == "reject" and "main face out of focus (focus missed" in d.reasons[0]
    assert "background is sharp" in d.reasons[0] and "AutoCull|Reject|Missed focus" in d.keywords


def test_closed_eyes_on_the_main_face_reject_and_on_a_minor_face_review():
    main_closed = (_face("closed", main=True), _face("open", main=False, size=0.1))
    d = decide(_analysis(faces=main_closed, source="faces"), Policy())
    assert d.verdict == "reject" and "AutoCull|Faces|Eyes closed" in d.keywords
    minor_closed = (
        _face("open", main=True),
        _face("closed", main=False, size=0.1),
        _face("open", main=False, size=0.1),
    )
    d = decide(_analysis(faces=minor_closed, source="faces"), Policy())
    assert d.verdict == "review" and "1 of 3 faces has closed eyes" in d.reasons[0]


def test_uncertain_eyes_go_to_review_never_reject():
    d = decide(_analysis(faces=(_face("uncertain", main=True),), source="faces"), Policy())
    assert d.verdict == "review" and "uncertain" in d.reasons[0]


def test_tiny_faces_below_the_policy_size_do_not_count():
    tiny = tuple(_face("closed", main=False, size=0.01) for _ in range(12))
    assert decide(_analysis(faces=tiny), Policy()).verdict == "keep"


def test_exposure_far_off_rejects_and_says_too_dark():
    d = decide(_analysis(ev=-4.0, label="under"), Policy())
    assert d.verdict == "reject" and d.reasons[0].startswith("too dark")
    assert decide(_analysis(ev=-2.0, label="under"), Policy()).verdict == "review"


def _exposed(e: ExposureMetrics) -> Analysis:
    """A sharp, clean frame with the given exposure: only the exposure rules can object."""
    return dataclasses.replace(_analysis(), exposure=e)


def _metrics(**kw) -> ExposureMetrics:
    base = {
        "score": 0.9,
        "label": "ok",
        "mean": 0.4,
        "median": 0.4,
        "highlight_clip": 0.0,
        "shadow_clip": 0.0,
        "dynamic_range": 8.0,
        "ev_offset": 0.0,
        "highlight_ev": 0.0,
    }
    return ExposureMetrics(**{**base, **kw})


def test_too_dark_is_read_on_the_highlights_and_the_reason_gives_both_numbers():
    d = decide(_exposed(_metrics(label="under", ev_offset=-3.1, highlight_ev=-3.4)), Policy())
    assert d.verdict == "reject" and "AutoCull|Reject|Underexposed" in d.keywords
    assert d.reasons[0] == "too dark: no usable detail (highlights at -3.4 EV, midtones -3.1 EV; line −2.5 EV)"
    d = decide(_exposed(_metrics(label="under", ev_offset=-3.1, highlight_ev=-1.8)), Policy())
    assert d.verdict == "review" and d.reasons[0].startswith("dark: highlights at -1.8 EV")


def test_a_low_median_with_the_highlights_in_place_is_kept_as_low_key():
    d = decide(_exposed(_metrics(ev_offset=-3.3, highlight_ev=-0.1)), Policy())
    assert d.verdict == "keep" and "low key" in d.reasons[0]


def test_a_row_stored_before_highlights_were_measured_is_judged_on_its_midtones():
    stored = _exposed(_metrics(label="under", ev_offset=-3.0)).to_dict()
    del stored["exposure"]["highlight_ev"], stored["exposure"]["channel_clip"]
    old = Analysis.from_dict(stored)
    assert old.exposure.highlight_ev is None and old.exposure.channel_clip == (0.0, 0.0, 0.0)
    d = decide(old, Policy())
    assert d.verdict == "reject" and d.reasons[0].startswith("too dark") and "-3.0 EV" in d.reasons[0]


def test_a_saturated_channel_is_a_note_after_the_reasons_never_a_review():
    d = decide(_exposed(_metrics(channel_clip=(0.2, 0.0, 0.0))), Policy())
    assert d.verdict == "keep" and not any("Review|" in k for k in d.keywords)
    assert d.reasons[1:] == ["red channel saturated on 20% of the frame (detail kept)"]
    blown = decide(_exposed(_metrics(highlight_clip=0.18, channel_clip=(0.0, 0.06, 0.3))), Policy())
    assert blown.verdict == "review" and "AutoCull|Review|Clipped highlights" in blown.keywords
    assert blown.reasons == [
        "highlights clipped: 18% of the frame lost detail (line 12%)",
        "green and blue channels saturated on 6% and 30% of the frame (detail kept)",
    ]
    assert decide(_exposed(_metrics(channel_clip=(0.2, 0.0, 0.0))), Policy(channel_clip_note=1.0)).reasons[1:] == []


# ------------------------------------------------- exposure on real photos --
@pytest.mark.parametrize("rel", VIVID)
def test_a_saturated_colour_photo_is_not_reviewed_for_clipping(rel):
    d = decide(_exposed(exposure(photo(rel))), Policy())
    assert d.verdict == "keep", d.reasons
    assert not any("highlights" in k or "Overexposed" in k for k in d.keywords)
    assert any("channel saturated" in r for r in d.reasons[1:])


def test_a_low_key_photo_with_texture_is_kept():
    d = decide(_exposed(exposure(photo(LOW_KEY_FOREST))), Policy())
    assert d.verdict == "keep", d.reasons
    assert "low key" in d.reasons[0]


@pytest.mark.parametrize("rel", NORMAL_PHOTOS)
def test_real_photos_three_stops_off_are_flagged(rel):
    im = photo(rel)
    dark = decide(_exposed(exposure(shift_ev(im, -3))), Policy())
    assert dark.verdict == "reject" and "AutoCull|Reject|Underexposed" in dark.keywords
    assert dark.reasons[0].startswith("too dark: no usable detail")
    bright = decide(_exposed(exposure(shift_ev(im, +3))), Policy())
    assert bright.verdict != "keep"
    assert {"Overexposed", "Blown highlights", "Clipped highlights"} & {k.split("|")[-1] for k in bright.keywords}


def test_missing_terms_drop_out_and_the_weights_renormalise():
    p = Policy()
    base = {"subject_sharpness": ScoreValue(0.8, 0), "exposure": ScoreValue(0.6, 0), "noise": ScoreValue(1.0, 0)}
    expected = (0.45 * 0.8 + 0.25 * 0.6 + 0.10 * 1.0) / (0.45 + 0.25 + 0.10)
    assert quality_score(base, p) == pytest.approx(expected, abs=1e-4)
    with_eyes = dict(base, eyes=ScoreValue(0.0, 0))
    assert quality_score(with_eyes, p) < quality_score(base, p)


@pytest.mark.parametrize("subject,ev,label", [(0.05, 0, "ok"), (0.4, 0, "ok"), (0.9, -5, "under"), (0.9, 3, "over")])
def test_every_decision_has_reasons(subject, ev, label):
    assert decide(_analysis(subject=subject, ev=ev, label=label), Policy()).reasons


def test_a_found_streak_is_described_by_its_share_of_the_frame_and_direction():
    streaked = dataclasses.replace(_sharp(0.05, motion=1.0), motion_length=32.0, motion_angle=30.0)
    a = dataclasses.replace(_analysis(subject=0.05, whole=0.05), subject=streaked, analysis_size=(1280, 853))
    d = decide(a, Policy())
    assert d.verdict == "reject"
    assert "camera shake (streaks 2.5% of the frame long at 30°)" in d.reasons[0], d.reasons


def test_subject_motion_is_named_only_from_the_subject_s_own_streaks():
    # A subject soft without direction on a sharp frame whose background carries some
    # motion reading is a missed focus, not a moving subject.
    a = dataclasses.replace(
        _analysis(subject=0.1, whole=0.9), subject=_sharp(0.1, motion=0.0), sharpness=_sharp(0.9, motion=0.7)
    )
    d = decide(a, Policy())
    assert "out of focus (focus missed" in d.reasons[0] and "AutoCull|Reject|Missed focus" in d.keywords
