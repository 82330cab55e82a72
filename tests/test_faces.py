"""Faces, eyes and face sharpness: real inference on real photos, through the public chain.

decode -> measure.analyze (faces included) -> decide.decide, as the engine runs it.
Real face crops come from ../shared/testdata/faces (read in place, never copied).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from autocull.decide import decide
from autocull.decode import decode, region_reader
from autocull.measure import analyze
from autocull.measure.faces import eyes, find_faces, models_loaded
from autocull.policy import Policy
from autocull.records import Decision, DecodedImage, ExifInfo, FaceMetrics

from imagegen import make_exif, sample_rgb, save_jpeg, stored_for
from realphotos import shared_dir

FACES = shared_dir("faces")
BURST = shared_dir("burst")
needs_faces = pytest.mark.shared_data  # real face crops: missing ones fail, never skip


# ----------------------------------------------------------------- helpers --
def cull(path: Path, policy: Policy | None = None) -> tuple[tuple[FaceMetrics, ...], Decision]:
    decoded = decode(path)
    analysis = analyze(decoded, faces=True, region=region_reader(path, decoded))
    return analysis.faces, decide(analysis, policy or Policy(), path=str(path))


def read_rgb(path: Path) -> np.ndarray:
    return np.ascontiguousarray(decode(path).rgb)


def paste(background: np.ndarray, patch: np.ndarray, x: int, y: int) -> np.ndarray:
    out = background.copy()
    out[y : y + patch.shape[0], x : x + patch.shape[1]] = patch
    return out


def blurred(rgb: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(rgb, (0, 0), sigma)


def astronaut_head() -> np.ndarray:
    """The astronaut's head and shoulders (sharp, eyes open), 240 x 220 px."""
    return sample_rgb("astronaut")[20:260, 120:340]


def main_face(faces: tuple[FaceMetrics, ...]) -> FaceMetrics:
    mains = [f for f in faces if f.main]
    assert mains, "no main face"
    return max(mains, key=lambda f: f.size)


# ------------------------------------------------------------------- tests --
class TestAstronaut:
    def test_one_open_sharp_main_face_with_ear_about_0_3(self, tmp_path: Path) -> None:
        faces, decision = cull(save_jpeg(tmp_path / "astronaut.jpg", sample_rgb("astronaut")))
        assert len(faces) == 1
        face = faces[0]
        assert face.main and face.eye_state == "open"
        for eye in (face.left_eye, face.right_eye):
            assert eye.state == "open" and 0.25 <= eye.ear <= 0.36
        assert face.sharpness is not None and face.sharpness.score >= 0.45
        assert 0.3 < face.box.x + face.box.w / 2 < 0.6 and face.box.y < 0.4
        assert decision.verdict != "reject"
        assert not any("face" in r and "soft" in r for r in decision.reasons)

    def test_models_load_lazily_on_first_call(self) -> None:
        code = (
            "import autocull.measure.faces as f, sys; assert f.models_loaded() == [], f.models_loaded(); "
            "assert 'mediapipe' not in sys.modules"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
        assert models_loaded()  # this process has run find_faces above or below; at least loaded now
        assert "face_landmark.tflite" in models_loaded()


@pytest.fixture(scope="module")
def results() -> dict[str, list[tuple[str, FaceMetrics | None, Decision]]]:
    """Every real crop through the whole chain, once per test run."""
    out: dict[str, list[tuple[str, FaceMetrics | None, Decision]]] = {}
    for kind in ("closed", "open"):
        for path in sorted((FACES / kind).iterdir()):
            faces, decision = cull(path)
            out.setdefault(kind, []).append((path.name, faces[0] if faces else None, decision))
    return out


@needs_faces
class TestRealEyeSets:
    """Every closed face is closed or uncertain and not kept; every open face is open."""

    def test_a_face_is_found_in_every_crop(self, results) -> None:  # type: ignore[no-untyped-def]
        missing = [n for rows in results.values() for n, f, _ in rows if f is None]
        assert not missing

    def test_closed_eyes_are_never_called_open_and_never_kept(self, results) -> None:  # type: ignore[no-untyped-def]
        rows = results["closed"]
        called_open = [n for n, f, _ in rows if f is not None and f.eye_state == "open"]
        kept = [n for n, _, d in rows if d.verdict == "keep"]
        closed = sum(1 for _, f, _ in rows if f is not None and f.eye_state == "closed")
        # No tolerance: a kept photo with closed eyes is the one mistake a photographer will not forgive.
        # Doubtful faces (one eye in deep shadow, a face turned down, glasses) go to review instead.
        assert not called_open, called_open
        assert not kept, kept
        assert closed >= 0.7 * len(rows)  # 74 of 100 when written; the rest are uncertain

    def test_closed_eyes_stay_not_open_when_reframed(self, tmp_path: Path) -> None:
        """The same closed faces with a border and mirrored: the mesh lands a little differently, still never open.

        (A looking-down face with hair over the brow was called open this way when only the
        mesh's corner line and the dark above it argued open.)
        """
        opened = []
        for path in sorted((FACES / "closed").iterdir()):
            rgb = read_rgb(path)
            h, w = rgb.shape[:2]
            pad = np.pad(rgb, ((h // 4, h // 4), (w // 4, w // 4), (0, 0)), mode="edge")[:, ::-1]
            faces = find_faces(decode(save_jpeg(tmp_path / "reframed.jpg", np.ascontiguousarray(pad), quality=92)))
            if faces and faces[0].eye_state == "open":
                opened.append(path.name)
        assert not opened, opened

    def test_open_eyes_are_open(self, results) -> None:  # type: ignore[no-untyped-def]
        rows = results["open"]
        not_open = [(n, f.eye_state, f.left_eye.ear) for n, f, _ in rows if f is not None and f.eye_state != "open"]
        closed = [n for n, f, _ in rows if f is not None and f.eye_state == "closed"]
        assert not closed
        # 98 of 100 open when written; the two uncertain ones wear glasses (one laughing): review.
        assert len(not_open) <= 0.03 * len(rows), not_open

    def test_closed_faces_are_rejected_with_the_eyes_reason(self, results) -> None:  # type: ignore[no-untyped-def]
        for name, face, decision in results["closed"]:
            if face is not None and face.eye_state == "closed":
                assert decision.verdict == "reject", name
                assert "eyes closed" in decision.reasons[0] or any("eyes closed" in r for r in decision.reasons)
                assert "AutoCull|Faces|Eyes closed" in decision.keywords
            elif face is not None and face.eye_state == "uncertain":
                assert decision.verdict in ("review", "reject"), name


class TestEyePrinciples:
    """The rules behind the eye states, on hand-made cues (no models)."""

    @staticmethod
    def patch(draw: Callable[[np.ndarray], object]) -> np.ndarray:
        p = np.full((eyes._PATCH_H, eyes._PATCH_W), 0.7, np.float32)
        draw(p)
        return p

    def test_a_closed_lids_lash_line_hangs_below_the_corners_an_iris_does_not(self) -> None:
        cy, cx = eyes._PATCH_H // 2, eyes._PATCH_W // 2
        lash = self.patch(lambda p: cv2.ellipse(p, (cx, cy - 2), (18, 6), 0, 20, 160, 0.15, 2))  # smile-shaped line
        iris = self.patch(lambda p: cv2.circle(p, (cx + 3, cy - 2), 7, 0.15, -1))
        assert eyes.dark_height(lash) > 0.05
        assert eyes.dark_height(iris) < -0.03
        assert eyes.dark_height(self.patch(lambda p: None)) == eyes.LOW_MID  # nothing dark: no evidence

    @staticmethod
    def cues(**kw: float) -> eyes.EyeCues:
        base = {"ear": 0.30, "iris": 0.25, "dark": 0.7, "contrast": 0.7, "low": -0.10, "light": 0.6}
        base.update(kw)
        return eyes.EyeCues(**base)

    def test_open_lid_shape_and_dark_above_are_not_enough_on_a_face_turned_down(self) -> None:
        looks_open = self.cues(ear=0.29, iris=0.2, low=-0.12)  # no iris texture to speak of
        assert eyes.eye_state(looks_open, yaw_deg=0, pitch_deg=10).state == "open"
        down = eyes.eye_state(looks_open, yaw_deg=0, pitch_deg=32)
        assert down.state == "uncertain" and "turned down" in down.why
        with_iris = self.cues(ear=0.29, iris=1.5, low=-0.12)  # the iris itself is seen
        assert eyes.eye_state(with_iris, yaw_deg=0, pitch_deg=32).state == "open"
        closed = self.cues(ear=0.15, iris=0.05, low=0.08)  # turned down does not hide a closed eye
        assert eyes.eye_state(closed, yaw_deg=0, pitch_deg=32).state == "closed"

    def test_lids_alone_do_not_open_an_eye_in_deep_shadow(self) -> None:
        lit = self.cues(ear=0.32, iris=0.3, low=-0.04, light=0.7)
        shadowed = self.cues(ear=0.32, iris=0.3, low=-0.04, light=0.15)
        left, right = eyes.eye_states(lit, shadowed, yaw_deg=0, pitch_deg=10)
        assert left.state == "open"
        assert right.state == "uncertain" and "shadow" in right.why
        assert eyes.face_state(left, right) == "uncertain"

    def test_an_eye_region_without_detail_is_neither_open_nor_closed(self) -> None:
        flat = self.cues(ear=0.12, iris=2.0, low=-0.15, contrast=0.1, dark=0.95)  # skin only: the mesh missed
        state = eyes.eye_state(flat, yaw_deg=0)
        assert state.state == "uncertain" and "detail" in state.why


@needs_faces
class TestOrientation:
    NAMES = (
        "closed/closed_eye_0009.jpg_face_1.jpg",
        "closed/closed_eye_1322.jpg_face_1.jpg",
        "open/face_1.jpg",
        "open/face_173.jpg",
    )

    @pytest.mark.parametrize("name", NAMES)
    def test_turned_pixels_and_exif_orientation_give_the_same_eye_states(self, name: str, tmp_path: Path) -> None:
        src = FACES / name
        rgb = read_rgb(src)
        pad = np.pad(rgb, ((60, 60), (90, 90), (0, 0)), mode="edge")  # not square, so turns are visible
        base = find_faces(decode(save_jpeg(tmp_path / "up.jpg", pad, quality=95)))
        assert base, name
        want = base[0].eye_state
        for k in (1, 2, 3):
            faces = find_faces(decode(save_jpeg(tmp_path / f"rot{k}.jpg", np.rot90(pad, k).copy(), quality=95)))
            assert faces and faces[0].eye_state == want, (name, k, faces[0].eye_state if faces else None)
        for orientation in (3, 6, 8):
            stored = stored_for(pad, orientation)
            path = save_jpeg(
                tmp_path / f"exif{orientation}.jpg", stored, exif=make_exif(orientation=orientation), quality=95
            )
            decoded = decode(path)
            assert decoded.rgb.shape[:2] == pad.shape[:2]
            faces = find_faces(decoded)
            assert faces and faces[0].eye_state == want, (name, orientation)
            assert abs(faces[0].box.x - base[0].box.x) < 0.05 and abs(faces[0].box.y - base[0].box.y) < 0.05


class TestFaceSharpness:
    """The same real face pasted onto a real sharp / blurred background."""

    def background(self) -> np.ndarray:
        return read_rgb(BURST / "scenario-1" / "scenario-1-a.jpg")

    def test_blurred_face_on_sharp_background_is_a_missed_focus(self, tmp_path: Path) -> None:
        bg = self.background()
        img = paste(bg, blurred(astronaut_head(), 3.0), 300, 120)
        faces, decision = cull(save_jpeg(tmp_path / "soft_face.jpg", img, quality=95))
        face = main_face(faces)
        assert face.sharpness is not None and face.sharpness.score < 0.3
        assert decision.verdict == "reject"
        assert any(
            r.startswith("main face out of focus (focus missed") and "background is sharp" in r
            for r in decision.reasons
        ), decision.reasons

    def test_sharp_face_on_blurred_background_is_not_penalised(self, tmp_path: Path) -> None:
        bg = blurred(self.background(), 4.0)
        img = paste(bg, astronaut_head(), 300, 120)
        faces, decision = cull(save_jpeg(tmp_path / "bokeh.jpg", img, quality=95))
        face = main_face(faces)
        assert face.sharpness is not None and face.sharpness.score >= 0.45
        sharpness_reasons = [r for r in decision.reasons if "soft" in r or "motion blur" in r]
        assert not sharpness_reasons
        assert decision.verdict != "reject", decision.reasons  # (the harbour's sky may send it to review)

    def test_small_face_is_judged_on_a_higher_resolution_crop(self, tmp_path: Path) -> None:
        """A 4x frame: the face is ~60 px at analysis size; its sharpness comes from the full-size pixels."""
        bg = cv2.resize(self.background(), None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC)
        head = cv2.resize(astronaut_head(), None, fx=1.2, fy=1.2, interpolation=cv2.INTER_AREA)
        img = paste(bg, head, 1400, 700)
        faces, _ = cull(save_jpeg(tmp_path / "big.jpg", img, quality=95))
        assert faces and faces[0].sharpness is not None
        assert faces[0].eye_state == "open"
        assert faces[0].sharpness.score >= 0.45


class TestNoFacesAndManyFaces:
    @pytest.mark.parametrize("name", ["coffee", "rocket", "chelsea"])
    def test_a_photo_without_faces_falls_back_cleanly(self, name: str, tmp_path: Path) -> None:
        faces, decision = cull(save_jpeg(tmp_path / f"{name}.jpg", sample_rgb(name)))
        assert faces == ()
        assert not any("eyes" in r or "face" in r for r in decision.reasons)
        assert decision.face_count == 0

    @needs_faces
    def test_many_tiny_faces_do_not_reject(self, tmp_path: Path) -> None:
        crops = sorted((FACES / "open").iterdir())[:40]
        canvas = np.full((1600, 2400, 3), 128, np.uint8)
        for i, path in enumerate(crops):
            r, c = divmod(i, 8)
            face = cv2.resize(read_rgb(path), (90, 90), interpolation=cv2.INTER_AREA)
            canvas = paste(canvas, face, 150 + c * 280, 150 + r * 280)
        faces, decision = cull(save_jpeg(tmp_path / "crowd.jpg", canvas, quality=95))
        # A crowd must be seen as one: 12 of the 40 tight 90 px crops are found when written (at 150 px, 30);
        # fewer than 10 means the small-face pass (tiles) broke, and the rest below would test nothing.
        assert len(faces) >= 10, len(faces)
        assert decision.verdict != "reject", decision.reasons
        assert all(f.eye_state != "closed" for f in faces), [f.eye_state for f in faces]
        assert all(f.main for f in faces), [f.main for f in faces]  # a crowd of equals is one group
        assert decision.face_count == len(faces)


class TestWorkers:
    def test_threads_get_their_own_models_and_agree(self, tmp_path: Path) -> None:
        from concurrent.futures import ThreadPoolExecutor

        path = save_jpeg(tmp_path / "astronaut.jpg", sample_rgb("astronaut"))
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda _: find_faces(decode(path)), range(4)))
        assert all(len(r) == 1 and r[0].eye_state == "open" for r in runs)
        assert {round(r[0].left_eye.ear, 3) for r in runs} == {round(runs[0][0].left_eye.ear, 3)}

    def test_a_missing_model_is_a_clear_per_file_error(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from autocull.errors import FileProblem
        from autocull.measure.faces import FaceModelError

        path = save_jpeg(tmp_path / "astronaut.jpg", sample_rgb("astronaut"))
        monkeypatch.setenv("AUTOCULL_MODEL_DIR", str(tmp_path / "nowhere"))
        with ThreadPoolExecutor(1) as pool:  # a fresh thread: its models are not loaded yet
            with pytest.raises(FaceModelError, match="not found") as info:
                pool.submit(lambda: find_faces(decode(path))).result()
        assert isinstance(info.value, FileProblem)


def test_a_sharp_close_up_face_is_judged_on_its_eyes_not_its_shading() -> None:
    # A tight crop of a sharp face is mostly cheeks and nose: long shading ramps that read as blur
    # on any face. The lashes, lids and brows are what a photographer checks, and they are crisp.
    rgb = read_rgb(FACES / "closed" / "closed_eye_2139.jpg_face_1.jpg")
    faces = find_faces(DecodedImage(rgb=rgb, full_size=rgb.shape[1::-1], format="JPEG", exif=ExifInfo()))
    face = main_face(faces)
    assert face.sharpness is not None and face.sharpness.score > 0.8, face.sharpness
