"""Faces, eyes and face sharpness: real inference on real photos, through the public chain.

decode -> find_faces -> measure.analyze -> decide.decide, as the engine runs it.
Real face crops come from ../shared/testdata/faces (read in place, never copied).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from imagegen import make_exif, sample_rgb, save_jpeg, stored_for

from autocull.decide import decide
from autocull.decode import decode
from autocull.faces import find_faces, models_loaded
from autocull.measure import analyze
from autocull.policy import Policy
from autocull.records import Decision, FaceMetrics

FACES = Path(__file__).resolve().parents[2] / "shared" / "testdata" / "faces"
BURST = FACES.parent / "burst"
needs_faces = pytest.mark.skipif(not FACES.is_dir(), reason="shared/testdata/faces not present")


# ----------------------------------------------------------------- helpers --
def cull(path: Path, policy: Policy | None = None) -> tuple[tuple[FaceMetrics, ...], Decision]:
    decoded = decode(path)
    faces = find_faces(decoded)
    return faces, decide(analyze(decoded, faces=faces), policy or Policy(), path=str(path))


def read_rgb(path: Path) -> np.ndarray:
    return np.ascontiguousarray(decode(path).rgb)


def paste(background: np.ndarray, patch: np.ndarray, x: int, y: int) -> np.ndarray:
    out = background.copy()
    out[y:y + patch.shape[0], x:x + patch.shape[1]] = patch
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
        code = ("import autocull.faces as f, sys; assert f.models_loaded() == [], f.models_loaded(); "
                "assert 'mediapipe' not in sys.modules")
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
        # Known hard cases (see the issue report): a face in deep shadow and one looking down.
        assert len(called_open) <= 0.03 * len(rows), called_open
        assert len(kept) <= 0.03 * len(rows), kept
        assert closed >= 0.6 * len(rows)

    def test_open_eyes_are_open(self, results) -> None:  # type: ignore[no-untyped-def]
        rows = results["open"]
        not_open = [(n, f.eye_state, f.left_eye.ear) for n, f, _ in rows if f is not None and f.eye_state != "open"]
        closed = [n for n, f, _ in rows if f is not None and f.eye_state == "closed"]
        assert not closed
        assert len(not_open) <= 0.06 * len(rows), not_open  # squints behind glasses go to review

    def test_closed_faces_are_rejected_with_the_eyes_reason(self, results) -> None:  # type: ignore[no-untyped-def]
        for name, face, decision in results["closed"]:
            if face is not None and face.eye_state == "closed":
                assert decision.verdict == "reject", name
                assert "eyes closed" in decision.reasons[0] or any("eyes closed" in r for r in decision.reasons)
                assert "AutoCull|Faces|Eyes closed" in decision.keywords
            elif face is not None and face.eye_state == "uncertain":
                assert decision.verdict in ("review", "reject"), name


@needs_faces
class TestOrientation:
    NAMES = ("closed/closed_eye_0009.jpg_face_1.jpg", "closed/closed_eye_1322.jpg_face_1.jpg",
             "open/face_1.jpg", "open/face_173.jpg")

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
            path = save_jpeg(tmp_path / f"exif{orientation}.jpg", stored, exif=make_exif(orientation=orientation),
                             quality=95)
            decoded = decode(path)
            assert decoded.rgb.shape[:2] == pad.shape[:2]
            faces = find_faces(decoded)
            assert faces and faces[0].eye_state == want, (name, orientation)
            assert abs(faces[0].box.x - base[0].box.x) < 0.05 and abs(faces[0].box.y - base[0].box.y) < 0.05


@pytest.mark.skipif(not BURST.is_dir(), reason="shared/testdata/burst not present")
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
        assert any(r.startswith("main face soft") and "background is sharp" in r for r in decision.reasons), \
            decision.reasons

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
        assert decision.verdict != "reject", decision.reasons
        assert all(f.eye_state != "closed" for f in faces)
        assert sum(f.main for f in faces) == len(faces) or len(faces) <= 1  # a crowd of equals is one group


class TestWorkers:
    def test_threads_get_their_own_models_and_agree(self, tmp_path: Path) -> None:
        from concurrent.futures import ThreadPoolExecutor

        path = save_jpeg(tmp_path / "astronaut.jpg", sample_rgb("astronaut"))
        with ThreadPoolExecutor(2) as pool:
            runs = list(pool.map(lambda _: find_faces(decode(path)), range(4)))
        assert all(len(r) == 1 and r[0].eye_state == "open" for r in runs)
        assert {round(r[0].left_eye.ear, 3) for r in runs} == {round(runs[0][0].left_eye.ear, 3)}

    def test_a_missing_model_is_a_clear_per_file_error(self, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from autocull.errors import FileProblem
        from autocull.faces import FaceModelError

        path = save_jpeg(tmp_path / "astronaut.jpg", sample_rgb("astronaut"))
        monkeypatch.setenv("AUTOCULL_MODEL_DIR", str(tmp_path / "nowhere"))
        with ThreadPoolExecutor(1) as pool:  # a fresh thread: its models are not loaded yet
            with pytest.raises(FaceModelError, match="not found") as info:
                pool.submit(lambda: find_faces(decode(path))).result()
        assert isinstance(info.value, FileProblem)
