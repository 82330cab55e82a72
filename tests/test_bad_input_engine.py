"""Bad input through the whole engine: each file gets a clear error and a failure-lane row;
the good photos in the same job are still decided."""

from __future__ import annotations

import os

import pytest

from autocull.engine import Engine
from autocull.records import Decision

from imagegen import png_bomb, sample_rgb, save_jpeg, truncate_copy, write_text


@pytest.fixture
def engine(tmp_path):
    eng = Engine.open(tmp_path / "home")
    yield eng
    eng.close()


def _by_name(decisions: list[Decision]) -> dict[str, Decision]:
    return {os.path.basename(d.path.rstrip(os.sep)): d for d in decisions}


def test_every_bad_input_gets_its_own_error_and_the_job_carries_on(engine, tmp_path):
    shoot = tmp_path / "shoot ünï cødé"
    shoot.mkdir()
    good = save_jpeg(shoot / "good photo ✓.jpg", sample_rgb("astronaut"))
    (shoot / "zero.jpg").write_bytes(b"")
    truncate_copy(good, shoot / "truncated.jpg", 0.4)
    write_text(shoot / "notes.jpg")
    png_bomb(shoot / "bomb.png")
    (shoot / "corrupt.nef").write_bytes(b"II*\x00" + os.urandom(4000))
    (shoot / "folder.jpg").mkdir()  # a folder passed as a file
    missing = str(shoot / "does-not-exist.jpg")
    res = engine.run([str(shoot), str(shoot / "folder.jpg"), missing])
    got = _by_name(res.decisions)

    assert got["good photo ✓.jpg"].verdict == "keep" and not got["good photo ✓.jpg"].error_code
    expected = {
        "zero.jpg": "EMPTY",
        "truncated.jpg": "CORRUPT",
        "notes.jpg": "UNSUPPORTED",
        "bomb.png": "TOO_LARGE",
        "corrupt.nef": "CORRUPT",
        "does-not-exist.jpg": "FILE_NOT_FOUND",
    }
    for name, code in expected.items():
        d = got[name]
        assert d.error_code == code, (name, d.error_code, d.error_message)
        assert d.verdict == "" and name in d.error_message, (name, d.verdict, d.error_message)
        assert d.reasons and "could not read" in d.reasons[0]
    # a folder named like a photo is walked as a folder (it is empty), never decoded
    assert "folder.jpg" not in got or got["folder.jpg"].error_code == ""
    lane = {os.path.basename(f.path): f for f in engine.store.failures()}
    for name, code in expected.items():
        assert lane[name].code == code and lane[name].attempts == 1
    assert res.counts.failed == len(expected) and res.counts.keep == 1

    engine.run([str(shoot)])  # failures are retried and counted, never cached as photos
    assert {os.path.basename(f.path): f.attempts for f in engine.store.failures()}["zero.jpg"] == 2


def test_a_folder_given_where_a_file_is_expected_is_a_clear_error(engine, tmp_path):
    folder = tmp_path / "album.jpg"
    folder.mkdir()
    with pytest.raises(Exception) as info:
        engine.analyze_one(str(folder))
    assert getattr(info.value, "code", "") == "NOT_A_FILE"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_file_without_read_permission(engine, tmp_path):
    p = save_jpeg(tmp_path / "locked.jpg", sample_rgb("coffee"))
    p.chmod(0)
    d = _by_name(engine.run([str(p)]).decisions)["locked.jpg"]
    assert d.error_code == "UNREADABLE" and "permission denied" in d.error_message


def test_a_file_deleted_during_the_job_is_reported_as_vanished(engine, tmp_path):
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    for i in range(6):
        save_jpeg(shoot / f"f{i}.jpg", sample_rgb("coffee"))
    victim = shoot / "f5.jpg"

    class DeleteOnStart:
        def stage(self, name: str, total: int) -> None:
            if name == "analyzing":
                victim.unlink()  # the scan saw it; the read will not find it

        def advance(self, path: str) -> None: ...
        def emit(self, decisions) -> None: ...
        def cancelled(self) -> bool:
            return False

    res = engine.run([str(shoot)], progress=DeleteOnStart())
    got = _by_name(res.decisions)
    assert got["f5.jpg"].error_code == "VANISHED"
    assert all(not got[f"f{i}.jpg"].error_code for i in range(5))
