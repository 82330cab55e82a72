"""What the review page draws over a photo comes with its decision (issue 17): the subject box the sharpness was
measured on, where that box came from, the photo's upright size, and the direction of a motion blur or shake.

A photographer checks the overlay against the photo: the box must be the stored analysis' box and inside the
frame, the size the image's, a face photo's box from its faces, a blurred photo's streak lying the way the blur
runs on screen (the angle as displayed: 0 = horizontal, counter-clockwise, y up), a sharp or defocused photo
with none, a failed file with none of them. In-process and through the real daemon's Connect JSON (what the Lua
plugins and the report read). Real photos from ../shared/testdata.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from autocull.decide.photo import decide
from autocull.engine import Engine
from autocull.pipeline import AnalysisSettings, analyze_file
from autocull.policy import Policy
from autocull.records import Box, Decision, Streak, _from_dict, converter
from autocull.rpc.convert import decision_to_pb

from daemon import Daemon
from realphotos import TESTDATA, camera_labels, copy_photos

pytestmark = pytest.mark.shared_data

SHARP = "camera/sharp/rbh-054.jpg"
PNG = "camera/sharp/rbh-001.png"
SHAKEN = "camera/blurred/rbh-027.jpg"  # labels.json: blurred by motion (a hand-held shaken frame, streaks measured)
DEFOCUS = "camera/blurred/rbh-016.jpg"  # labels.json: blurred by defocus (no direction to draw)
FACE = "faces/open/" + sorted(p.name for p in (TESTDATA / "faces" / "open").glob("*.jpg"))[0]


@pytest.fixture(scope="module")
def shoot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = copy_photos(tmp_path_factory.mktemp("overlay") / "shoot", [SHARP, PNG, SHAKEN, DEFOCUS, FACE])
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a photo")
    return folder


@pytest.fixture(scope="module")
def culled(shoot: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Decision], dict[str, Any]]:
    """The decisions of a real cull by name, and the stored analyses they were made from."""
    eng = Engine.open(tmp_path_factory.mktemp("home"))
    try:
        decisions = {Path(d.path).name: d for d in eng.run([str(shoot)]).decisions}
        stored = {Path(p).name: a for p, a in eng.store.analyses([d.path for d in decisions.values()]).items()}
    finally:
        eng.close()
    return decisions, stored


def upright_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size  # none of these photos carries an EXIF orientation


def test_the_labels_say_what_the_blurred_photos_are() -> None:
    labels = camera_labels()
    assert labels[Path(SHAKEN).name]["kind"] == "motion" and labels[Path(DEFOCUS).name]["kind"] == "defocus"


def test_each_decision_carries_its_stored_box_source_and_size(culled, shoot: Path) -> None:
    decisions, stored = culled
    assert len(decisions) == 6
    for name, d in decisions.items():
        if name == "broken.jpg":
            continue
        a = stored[name]
        assert d.subject_box == a.subject_box and d.subject_source == a.subject_source, name
        b = d.subject_box
        assert b is not None and 0 <= b.x and 0 <= b.y and b.w > 0 and b.h > 0, (name, b)
        assert b.x + b.w <= 1 + 1e-9 and b.y + b.h <= 1 + 1e-9, (name, b)
        assert (d.width, d.height) == upright_size(shoot / name), name
        assert d.subject_source in ("faces", "saliency", "centre"), name
    assert decisions[Path(FACE).name].subject_source == "faces"
    assert decisions[Path(FACE).name].faces  # the box it was measured on is the face's
    face_box = decisions[Path(FACE).name].subject_box
    assert face_box is not None and face_box != Box(0.0, 0.0, 1.0, 1.0)


def test_a_shaken_photo_has_its_streak_and_a_sharp_or_defocused_one_none(culled) -> None:
    decisions, stored = culled
    shaken = decisions[Path(SHAKEN).name]
    assert shaken.verdict == "reject" and shaken.streak is not None
    said_kind = "shake" if "camera shake" in " ".join(shaken.reasons) else "motion"
    assert shaken.streak.kind == said_kind, shaken.reasons  # the overlay names the cause the reasons name
    # the streak drawn is the one the reason names: "streaks 2.3% of the frame long at 8°"
    said = re.search(r"streaks ([\d.]+)% of the frame long at (\d+)°", " ".join(shaken.reasons))
    assert said, shaken.reasons
    assert shaken.streak.length == pytest.approx(float(said.group(1)) / 100, abs=0.0006)
    assert round(shaken.streak.angle) % 180 == int(said.group(2)) % 180
    assert 0 < shaken.streak.length < 0.2 and 0 <= shaken.streak.angle < 180
    assert decisions[Path(DEFOCUS).name].streak is None  # blurred alike in every direction
    assert decisions[Path(SHARP).name].streak is None
    assert decisions[Path(SHARP).name].verdict != "reject"


def test_a_failed_file_has_none_of_them(culled) -> None:
    decisions, _ = culled
    d = decisions["broken.jpg"]
    assert d.error_code and d.subject_box is None and d.streak is None and d.subject_source == ""
    assert (d.width, d.height) == (0, 0)
    msg = decision_to_pb(d)
    assert not msg.HasField("subject_box") and not msg.HasField("streak") and msg.width == 0


def test_the_proto_carries_them(culled) -> None:
    decisions, _ = culled
    d = decisions[Path(SHAKEN).name]
    msg = decision_to_pb(d)
    assert d.subject_box is not None and d.streak is not None
    assert (msg.subject_box.x, msg.subject_box.y, msg.subject_box.w, msg.subject_box.h) == (
        d.subject_box.x,
        d.subject_box.y,
        d.subject_box.w,
        d.subject_box.h,
    )
    assert (msg.streak.kind, msg.streak.angle, msg.streak.length) == (d.streak.kind, d.streak.angle, d.streak.length)
    assert (msg.subject_source, msg.width, msg.height) == (d.subject_source, d.width, d.height)
    assert not decision_to_pb(decisions[Path(SHARP).name]).HasField("streak")


@pytest.mark.e2e
def test_the_daemon_answers_them_in_connect_json(culled, shoot: Path, tmp_path: Path) -> None:
    decisions, _ = culled
    daemon = Daemon(tmp_path / "home")
    try:
        answer = daemon.post("Cull", {"paths": [str(shoot)]})
    finally:
        daemon.stop()
    got = {Path(d["path"]).name: d for d in answer["decisions"]}
    assert set(got) == set(decisions)
    for name, j in got.items():
        d = decisions[name]
        assert j["width"] == d.width and j["height"] == d.height and j["subjectSource"] == d.subject_source, name
        if d.subject_box is None:
            assert "subjectBox" not in j and "streak" not in j, name
            continue
        box = j["subjectBox"]
        want = d.subject_box
        assert [box.get(k, 0.0) for k in "xywh"] == pytest.approx([want.x, want.y, want.w, want.h]), name
        if d.streak is None:
            assert "streak" not in j, name
        else:
            s = j["streak"]
            assert (s["kind"], s["angle"], s["length"]) == pytest.approx(
                (d.streak.kind, d.streak.angle, d.streak.length)
            ), name
    assert "streak" in got[Path(SHAKEN).name]
    assert json.dumps(answer)  # plain JSON all through


# ----------------------------------------------------------- the angle as displayed --
def streak_kernel(length: int, angle: float) -> np.ndarray:
    """A straight streak of ``length`` px at ``angle`` degrees as displayed: drawn point by point with the image's
    rows growing downwards, so a positive angle climbs to the right on screen."""
    k = np.zeros((length + 3, length + 3), np.float32)
    c = (length + 2) / 2
    a = math.radians(angle)
    for t in np.linspace(-length / 2, length / 2, 4 * length):
        k[int(round(c - t * math.sin(a))), int(round(c + t * math.cos(a)))] = 1.0
    return k / k.sum()


def decided(path: Path) -> Decision:
    return decide(analyze_file(str(path), AnalysisSettings(faces=False)).analysis, Policy(), path=str(path))


def angle_off(a: float, b: float) -> float:
    d = abs(a - b) % 180
    return min(d, 180 - d)


@pytest.fixture(scope="module")
def sharp_rgb() -> np.ndarray:
    with Image.open(TESTDATA / SHARP) as im:
        im.thumbnail((1280, 1280))  # analysis size: the streak's pixels are the measure's pixels
        return np.asarray(im.convert("RGB")).astype(np.float32)


@pytest.mark.parametrize("angle", [8, 45, 135])
def test_a_streak_reads_at_the_angle_it_runs_on_screen(sharp_rgb: np.ndarray, tmp_path: Path, angle: int) -> None:
    length = 31
    blurred = cv2.filter2D(sharp_rgb, -1, streak_kernel(length, angle), borderType=cv2.BORDER_REFLECT)
    path = tmp_path / f"streak{angle}.png"
    Image.fromarray(np.clip(blurred, 0, 255).astype(np.uint8)).save(path)
    d = decided(path)
    # the whole frame streaked: the reasons call it camera shake, and so does the overlay
    assert any("camera shake" in r for r in d.reasons) and d.streak is not None and d.streak.kind == "shake", d
    assert angle_off(d.streak.angle, angle) < 5, d.streak  # 45 is not read as 135 (y down), nor 8 as 172
    assert d.streak.length == pytest.approx(length / max(sharp_rgb.shape[:2]), rel=0.25)


@pytest.mark.parametrize("angle", [30, 120])
def test_a_doubled_frame_reads_as_shake_at_its_angle(sharp_rgb: np.ndarray, tmp_path: Path, angle: int) -> None:
    offset = 14.0
    a = math.radians(angle)
    shift = np.float32([[1, 0, offset * math.cos(a)], [0, 1, -offset * math.sin(a)]])  # up the screen for a > 0
    h, w = sharp_rgb.shape[:2]
    copy = cv2.warpAffine(sharp_rgb, shift, (w, h), borderMode=cv2.BORDER_REFLECT)
    path = tmp_path / f"double{angle}.png"
    Image.fromarray(np.clip(0.5 * sharp_rgb + 0.5 * copy, 0, 255).astype(np.uint8)).save(path)
    d = decided(path)
    assert d.streak is not None and d.streak.kind == "shake", d.reasons
    assert angle_off(d.streak.angle, angle) < 5, d.streak
    assert d.streak.length == pytest.approx(offset / max(w, h), rel=0.15)


# ----------------------------------------------------------------- records --
def test_both_record_readers_take_the_new_fields_and_old_rows_get_the_defaults() -> None:
    row = {
        "path": "/p/a.jpg",
        "verdict": "reject",
        "subject_box": {"x": 0.25, "y": 0.125, "w": 0.5, "h": 0.5},
        "subject_source": "saliency",
        "streak": {"kind": "motion", "angle": 12.5, "length": 0.03},
        "width": 4000,
        "height": 3000,
    }
    for read in (converter(Decision), lambda data: _from_dict(Decision, data)):
        d = read(json.loads(json.dumps(row)))
        assert d.subject_box == Box(0.25, 0.125, 0.5, 0.5) and d.streak == Streak("motion", 12.5, 0.03)
        assert (d.subject_source, d.width, d.height) == ("saliency", 4000, 3000)
        old = read({"path": "/p/a.jpg", "verdict": "keep"})
        assert (
            old.subject_box is None
            and old.streak is None
            and (old.width, old.height, old.subject_source)
            == (
                0,
                0,
                "",
            )
        )


def test_a_sharp_subject_gets_no_streak_even_with_a_faint_double(sharp_rgb: np.ndarray, tmp_path: Path) -> None:
    # a streak is drawn only where the reasons name a blur: a subject above its review line says "sharp"
    path = tmp_path / "sharp.png"
    Image.fromarray(sharp_rgb.astype(np.uint8)).save(path)
    analysis = analyze_file(str(path), AnalysisSettings(faces=False)).analysis
    faint = replace(analysis, subject=replace(analysis.subject, double_offset=3.0, double_angle=20.0))
    d = decide(faint, Policy(), path=str(path))
    assert d.verdict == "keep" and not any("shake" in r for r in d.reasons), d.reasons
    assert d.streak is None
