"""Verdicts on real camera photos: what a photographer rejects, keeps and never penalises.

``../shared/testdata/camera/`` holds real photos blurred by the camera
(defocus, hand-held shake, frames of a moving video camera), sharp photos and
shallow depth-of-field photos, labelled by eye (labels.json). They are culled
here as a photographer would cull them: the real engine (decode, faces,
measure, bursts, decide) with the default policy, on a store in a temporary
home. These tests guard the principle on real photos; the thresholds were not
tuned to make exactly these files pass (see bench/eval_sharpness.py for how
the measure reads them leave-one-scene-out, and for photos it gets wrong).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autocull.config import Config
from autocull.engine import Engine

from realphotos import TESTDATA, camera_labels

CAMERA = TESTDATA / "camera"
BLUR_WORDS = ("out of focus", "camera shake", "subject motion", "focus missed")


LABELS = camera_labels()


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Every photo of camera/ culled in one run, as `autocull cull` would (read in place, never copied)."""
    home = tmp_path_factory.mktemp("home")
    engine = Engine.open(home, Config(faces=True))
    try:
        paths = [str(CAMERA / info["label"] / name) for name, info in LABELS.items()]
        for p in paths:
            assert Path(p).is_file(), f"shared test data missing: {p}"
        result = engine.run(paths)
    finally:
        engine.close()
    by_name = {Path(d.path).name: d for d in result.decisions}
    assert set(by_name) == set(LABELS)
    return by_name


def _names(label: str) -> list[str]:
    return sorted(n for n, info in LABELS.items() if info["label"] == label)


def _sharpness_reasons(d) -> list[str]:
    return [r for r in d.reasons if any(w in r for w in BLUR_WORDS) or "sharpness" in r]


@pytest.mark.parametrize("name", _names("blurred"))
def test_a_blurred_photo_is_rejected_and_the_reason_names_the_blur(verdicts, name):
    d = verdicts[name]
    assert d.verdict == "reject", (d.verdict, d.reasons)
    assert any(w in d.reasons[0] for w in BLUR_WORDS), d.reasons


@pytest.mark.parametrize("name", [n for n in _names("blurred") if LABELS[n]["kind"] in ("motion", "defocus")])
def test_motion_and_defocus_are_told_apart(verdicts, name):
    reason = verdicts[name].reasons[0]
    if LABELS[name]["kind"] == "motion":
        assert "camera shake" in reason or "subject motion" in reason, reason
    else:
        assert "out of focus" in reason, reason


@pytest.mark.parametrize("name", _names("sharp"))
def test_a_sharp_photo_is_not_rejected_nor_doubted_for_sharpness(verdicts, name):
    d = verdicts[name]
    assert d.verdict != "reject", d.reasons
    if d.verdict == "review":  # kept unless another cause is named
        assert not _sharpness_reasons(d), d.reasons


@pytest.mark.parametrize("name", _names("bokeh"))
def test_a_sharp_subject_on_a_blurred_background_is_never_rejected(verdicts, name):
    d = verdicts[name]
    assert d.verdict != "reject", d.reasons
    assert not _sharpness_reasons(d), d.reasons
