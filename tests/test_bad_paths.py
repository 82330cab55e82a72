"""Paths the OS refuses (too long, through a file, a symlink loop) are one per-file error each.

Named directly among good photos, in a folder, or met by the decoder: each gets its own
BAD_PATH error and the good photos in the same request still get their decisions (the real
engine, and the real daemon over JSON and gRPC).
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from autocull.decode import decode
from autocull.engine import Engine
from autocull.errors import BadPath, FileProblem, FileUnreadable, FileVanished, file_problem
from autocull.v1 import autocull_pb2 as pb

from daemon import Daemon
from imagegen import resized, sample_rgb, save_jpeg

GOOD = 12
SCENES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "immunohistochemistry")


def _good_photos(folder: Path) -> list[Path]:
    """Twelve small real photos (six scenes, each upright and mirrored) so the test stays quick."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(GOOD):
        rgb = resized(sample_rgb(SCENES[i % len(SCENES)]), (480, 360))
        out.append(save_jpeg(folder / f"good_{i:02d}.jpg", rgb[:, ::-1] if i >= len(SCENES) else rgb))
    return out


def _bad_paths(root: Path, photo: Path) -> dict[str, str]:
    """One path per errno: too long, through a file, a symlink that points at itself."""
    loops = root / "links"
    loops.mkdir(parents=True, exist_ok=True)
    loop = loops / "loop.jpg"
    loop.symlink_to(loop)
    return {"ENAMETOOLONG": str(root / ("x" * 300 + ".jpg")), "ENOTDIR": str(photo) + "/inside.jpg", "ELOOP": str(loop)}


@pytest.fixture(scope="module")
def shoot(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], dict[str, str]]:
    root = tmp_path_factory.mktemp("paths")
    photos = _good_photos(root / "shoot")
    return photos, _bad_paths(root, photos[0])


@pytest.mark.parametrize(
    "no, cls, code",
    [
        (errno.ENAMETOOLONG, BadPath, "BAD_PATH"),
        (errno.ENOTDIR, BadPath, "BAD_PATH"),
        (errno.ELOOP, BadPath, "BAD_PATH"),
        (errno.EACCES, FileUnreadable, "UNREADABLE"),
        (errno.EIO, FileUnreadable, "UNREADABLE"),
    ],
)
def test_an_os_error_maps_by_errno_to_one_file_code(no: int, cls: type, code: str) -> None:
    problem = file_problem(OSError(no, os.strerror(no)), "/photos/a.jpg")
    assert type(problem) is cls and problem.code == code and problem.message.startswith("/photos/a.jpg: ")


def test_a_missing_file_is_missing_when_named_and_vanished_once_seen() -> None:
    gone = OSError(errno.ENOENT, "No such file or directory")
    assert file_problem(gone, "/p/a.jpg").code == "FILE_NOT_FOUND"
    assert isinstance(file_problem(gone, "/p/a.jpg", missing=FileVanished), FileVanished)


def test_per_file_codes_never_share_a_name_with_a_request_level_error() -> None:
    from autocull import errors

    classes = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.AutoCullError)]
    file_codes = {c.code for c in classes if issubclass(c, FileProblem)}
    request_codes = {c.code for c in classes if not issubclass(c, FileProblem) and c is not errors.AutoCullError}
    assert file_codes and request_codes and not file_codes & request_codes, file_codes & request_codes


def test_engine_named_bad_paths_are_per_file_errors_among_the_good_decisions(tmp_path, shoot) -> None:
    photos, bad = shoot
    engine = Engine.open(tmp_path / "home")
    try:
        res = engine.run([str(p) for p in photos] + list(bad.values()))
        by_path = {d.path: d for d in res.decisions}
        for p in photos:
            d = by_path[str(p)]
            assert not d.error_code and d.verdict in ("keep", "review", "reject"), (p, d.error_message)
        for why, path in bad.items():
            d = by_path[os.path.normpath(path)]
            assert d.error_code == "BAD_PATH" and d.verdict == "", (why, d.error_code, d.error_message)
            assert d.error_message.startswith(os.path.normpath(path)), d.error_message
        assert len(res.decisions) == GOOD + 3 and res.counts.failed == 3
        lane = {f.path: f.code for f in engine.store.failures()}
        assert {lane[os.path.normpath(p)] for p in bad.values()} == {"BAD_PATH"}
        assert engine.queue_depth == 0
    finally:
        engine.close()


def test_a_symlink_loop_inside_a_folder_is_a_per_file_error(tmp_path, caplog) -> None:
    folder = tmp_path / "card"
    folder.mkdir()
    save_jpeg(folder / "fine.jpg", resized(sample_rgb("coffee"), (480, 320)))
    (folder / "loop.jpg").symlink_to(folder / "loop.jpg")
    (folder / "a.jpg").symlink_to(folder / "b.jpg")  # a two-link loop too
    (folder / "b.jpg").symlink_to(folder / "a.jpg")
    engine = Engine.open(tmp_path / "home")
    try:
        got = {Path(d.path).name: d for d in engine.run([str(folder)]).decisions}
    finally:
        engine.close()
    assert got["fine.jpg"].verdict and not got["fine.jpg"].error_code
    for name in ("loop.jpg", "a.jpg", "b.jpg"):
        assert got[name].error_code == "BAD_PATH" and "loop" in got[name].error_message, got[name]
    assert "Traceback" not in caplog.text and "internal error" not in caplog.text


def test_the_decoder_reports_bad_paths_itself(shoot) -> None:
    _, bad = shoot
    for why, path in bad.items():
        with pytest.raises(BadPath) as info:
            decode(path)
        assert info.value.code == "BAD_PATH" and info.value.message.startswith(path), (why, info.value.message)


def test_queue_depth_is_exact_and_never_negative_under_concurrent_jobs(tmp_path, shoot) -> None:
    import threading

    photos, bad = shoot
    engine = Engine.open(tmp_path / "home")
    seen: list[int] = []
    try:
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(0.002):
                seen.append(engine.queue_depth)

        watcher = threading.Thread(target=watch)
        watcher.start()
        jobs = [
            threading.Thread(
                target=engine.run,
                args=([str(p) for p in photos] + list(bad.values()),),
                kwargs={"analyze_only": True, "reanalyze": True},
            )
            for _ in range(3)
        ]
        for t in jobs:
            t.start()
        for t in jobs:
            t.join(300)
        stop.set()
        watcher.join()
    finally:
        engine.close()
    assert max(seen) > 0 and min(seen) >= 0 and max(seen) <= 3 * GOOD
    assert engine.queue_depth == 0


# ------------------------------------------------------------------ daemon --
@pytest.mark.e2e
def test_daemon_job_and_cull_with_bad_paths_end_done_with_every_good_decision(tmp_path, shoot) -> None:
    photos, bad = shoot
    paths = [str(p) for p in photos] + list(bad.values())
    daemon = Daemon(tmp_path / "home")
    try:
        status, job = daemon.http("StartJob", {"paths": paths})
        assert status == 200, job
        decisions: list[dict] = []
        deadline = time.time() + 300
        while time.time() < deadline:
            status, job = daemon.http("GetJob", {"jobId": job["id"], "decisionsFrom": len(decisions)})
            assert status == 200, job
            decisions += job["decisions"]
            if job["state"] in ("JOB_STATE_DONE", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
                break
            time.sleep(0.2)
        assert job["state"] == "JOB_STATE_DONE", job.get("message")
        good = [d for d in decisions if "error" not in d]  # a message field: absent when the file is fine
        failed = {d["path"]: d["error"]["code"] for d in decisions if "error" in d}
        assert len(good) == GOOD and all(d["verdict"] != "VERDICT_UNSPECIFIED" for d in good)
        assert failed == {p: "BAD_PATH" for p in bad.values()}

        resp = daemon.grpc("Cull", pb.CullRequest(paths=paths))  # the blocking call answered 400 before
        assert sum(1 for d in resp.decisions if not d.error.code) == GOOD
        assert {d.path: d.error.code for d in resp.decisions if d.error.code} == failed
        assert resp.counts.failed == 3
        assert "Traceback" not in daemon.log()
    finally:
        daemon.stop()


def test_a_folder_holding_a_name_that_is_not_utf8_is_culled_with_that_file_failed(tmp_path, shoot) -> None:
    # An old tool's Latin-1 name (b"caf\xe9.jpg") in a folder: it cannot be stored nor sent to a client, so it
    # fails alone as BAD_PATH under its shown name; the job, its neighbours and the daemon carry on.
    photos, _ = shoot
    folder = tmp_path / "latin"
    folder.mkdir()
    good = folder / "good.jpg"
    good.write_bytes(photos[0].read_bytes())
    with open(os.path.join(os.fsencode(folder), b"caf\xe9.jpg"), "wb") as fh:
        fh.write(photos[1].read_bytes())
    shown = str(folder / "caf\\xe9.jpg")
    daemon = Daemon(tmp_path / "home")
    try:
        resp = daemon.grpc("Cull", pb.CullRequest(paths=[str(folder)]))
        assert {d.path: d.error.code for d in resp.decisions} == {str(good): "", shown: "BAD_PATH"}
        assert "not valid UTF-8" in next(d.error.message for d in resp.decisions if d.error.code)
        status, job = daemon.http("StartJob", {"paths": [str(folder)]})
        assert status == 200, job
        deadline = time.time() + 120
        while job["state"] not in ("JOB_STATE_DONE", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
            assert time.time() < deadline, job
            time.sleep(0.2)
            status, job = daemon.http("GetJob", {"jobId": job["id"]})
            assert status == 200, job
        assert job["state"] == "JOB_STATE_DONE" and job["counts"]["failed"] == 1, job
        assert "Traceback" not in daemon.log()
    finally:
        daemon.stop()


@pytest.mark.parametrize("raw", ["~/Pictures/a.jpg", "~root/a.jpg", "~"])
def test_a_request_path_starting_with_a_tilde_is_refused_not_expanded_to_the_daemons_user(raw: str) -> None:
    """'~' names a home of the daemon's machine user (or another user's, '~root'): the client expands its own
    '~' (the CLI does) before sending, so a request still holding one is not absolute."""
    from autocull.engine import normalise_request_path
    from autocull.errors import InvalidArgument

    with pytest.raises(InvalidArgument, match="must be absolute"):
        normalise_request_path(raw)
