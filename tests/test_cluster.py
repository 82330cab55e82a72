"""Culling on a Ray cluster (issue 16, the `[cluster]` extra): a real local Ray with 2 CPUs, real photos.

What a photographer relies on: a cull on Ray gives the verdicts a plain cull gives; the store on this machine holds
the analyses (a second run reads them and sends Ray nothing); a bad file, a file a node does not see, or a file
that kills its worker fails alone with its reason; a bad address or a missing Ray is said clearly; cancelling
stops sending work. Ray is required here (`make test` installs the extra): without it these tests fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import pytest

from autocull import cluster, pipeline
from autocull.engine import Engine
from autocull.errors import InvalidArgument

from daemon import Daemon
from imagegen import truncate_copy
from realphotos import TESTDATA, copy_photos

try:
    import ray
except ImportError:  # a skip would pass while guarding nothing
    pytest.fail("ray is not installed: pip install -e '.[cluster]' (`make test` installs it)", pytrace=False)

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

# Real photos: a camera JPEG, two frames of a burst, a face crop (faces and eyes measured).
PHOTOS = (
    "camera/sharp/rbh-013.jpg",
    "burst/scenario-1/scenario-1-a.jpg",
    "burst/scenario-1/scenario-1-b.jpg",
    "faces/open/face_1.jpg",
)


@pytest.fixture(scope="module")
def ray_address() -> Any:
    """One local Ray instance with 2 CPUs for the module (its start-up is the cost: a few seconds), shut down at
    the end. Its workers inherit this environment, so they import this checkout's autocull."""
    context = ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield context.address_info["gcs_address"]
    ray.shutdown()


@pytest.fixture(scope="module")
def shoot(tmp_path_factory) -> Path:
    """Copies of the real photos (the store keys on path, size and mtime) and a truncated one beside them."""
    folder = copy_photos(tmp_path_factory.mktemp("shoot"), PHOTOS)
    truncate_copy(TESTDATA / PHOTOS[0], folder / "truncated.jpg", 0.3)
    return folder


def verdicts(decisions: Sequence[Any]) -> dict[str, tuple]:
    """What the photographer sees of each photo: verdict, reasons, stars, burst place, or the failure's code."""
    return {d.path: (d.error_code, d.verdict, tuple(d.reasons), d.stars, d.burst_rank, d.burst_size) for d in decisions}


@pytest.fixture(scope="module")
def plain(shoot, tmp_path_factory) -> dict[str, tuple]:
    """The same files culled on this machine's own workers: what Ray must agree with."""
    engine = Engine.open(tmp_path_factory.mktemp("plain-home"))
    try:
        return verdicts(engine.run([str(shoot), str(shoot / "missing.jpg")]).decisions)
    finally:
        engine.close()


def test_a_cull_on_ray_gives_the_plain_verdicts_and_the_store_here_holds_the_analyses(
    ray_address, shoot, plain, tmp_path
):
    engine = Engine.open(tmp_path / "home")
    analyzer = cluster.RayAnalyzer(ray_address)
    try:
        first = engine.run([str(shoot), str(shoot / "missing.jpg")], analyzer=analyzer)
        assert verdicts(first.decisions) == plain
        good = [str(shoot / Path(rel).name) for rel in PHOTOS]
        assert analyzer.sent == len(good) + 1  # the photos and the truncated one; the missing one never left
        assert first.counts.analyzed == len(good) and first.counts.failed == 2
        failed = {Path(d.path).name: (d.error_code, d.error_message) for d in first.decisions if d.error_code}
        assert failed["truncated.jpg"][0] == "CORRUPT" and "truncated.jpg" in failed["truncated.jpg"][1]
        assert failed["missing.jpg"][0] == "FILE_NOT_FOUND"
        assert set(engine.store.analyses(good)) == set(good)  # stored on this machine, by this engine
        lane = {Path(f.path).name: f.code for f in engine.store.failures()}
        assert lane["truncated.jpg"] == "CORRUPT"

        second = engine.run([str(shoot)], analyzer=analyzer)
        # the photos from the store: no Ray task for them; only the corrupt file is read again, as a plain cull
        # reads it again (a failure is not cached)
        assert analyzer.sent == len(good) + 2
        assert second.counts.cached == len(good) and second.counts.analyzed == 0
        assert verdicts(second.decisions) == {p: v for p, v in plain.items() if p in verdicts(second.decisions)}
    finally:
        analyzer.close()
        engine.close()
    assert ray.is_initialized()  # the analyzer left the Ray it found as it was


def test_a_path_a_worker_does_not_see_is_that_files_not_found(ray_address, shoot, monkeypatch):
    """Workers read the files themselves. A path they cannot see fails alone: here a relative path, which this
    process (its working folder the shoot) sees and a Ray worker (working in its own folder) does not."""
    analyzer = cluster.RayAnalyzer(ray_address)
    settings = pipeline.AnalysisSettings()
    name = Path(PHOTOS[1]).name
    gone = str(shoot / "gone-before-the-worker-came.jpg")
    monkeypatch.chdir(shoot)
    try:
        got = dict(analyzer.analyze([name, gone, str(shoot / name)], settings, lambda: False))
    finally:
        analyzer.close()
    assert got[name].code == "FILE_NOT_FOUND"
    assert "every node must see the photos under the same path" in got[name].message
    assert got[gone].code == "VANISHED" and gone in got[gone].message  # missing everywhere: the worker's own error
    assert isinstance(got[str(shoot / name)], pipeline.FileResult)


def crash_on_crash_jpg(paths: Sequence[str], settings: pipeline.AnalysisSettings) -> list[pipeline.Outcome]:
    """The per-file pipeline in a worker that dies (as a native decoder crash or the OOM killer ends it) when
    its batch holds a file named crash.jpg."""
    if any(p.endswith("crash.jpg") for p in paths):
        os._exit(1)
    return pipeline.attempt_batch(paths, settings)


def test_a_file_that_kills_its_worker_fails_alone_and_its_batch_mates_are_analysed(ray_address, shoot, tmp_path):
    crash = tmp_path / "crash.jpg"
    shutil.copyfile(shoot / Path(PHOTOS[0]).name, crash)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import this test module
    analyzer = cluster.RayAnalyzer(ray_address, batch=3, task=crash_on_crash_jpg)
    paths = [str(shoot / Path(PHOTOS[1]).name), str(crash), str(shoot / Path(PHOTOS[2]).name)]
    try:
        got = dict(analyzer.analyze(paths, pipeline.AnalysisSettings(), lambda: False))
    finally:
        analyzer.close()
    assert set(got) == set(paths)
    assert got[str(crash)].code == "CRASHED"
    assert "the worker analysing this file died" in got[str(crash)].message
    assert all(isinstance(got[p], pipeline.FileResult) for p in paths if p != str(crash))
    assert analyzer.sent == 3 + 3  # the batch once, then each of its files alone


def hang_on_hang_jpg(paths: Sequence[str], settings: pipeline.AnalysisSettings) -> list[pipeline.Outcome]:
    """The per-file pipeline in a worker whose decoder hangs when its batch holds a file named hang.jpg."""
    if any(p.endswith("hang.jpg") for p in paths):
        time.sleep(3600)
    return pipeline.attempt_batch(paths, settings)


def test_a_file_that_hangs_its_worker_times_out_alone_and_its_batch_mates_are_analysed(ray_address, shoot, tmp_path):
    hang = tmp_path / "hang.jpg"
    shutil.copyfile(shoot / Path(PHOTOS[0]).name, hang)
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    analyzer = cluster.RayAnalyzer(ray_address, batch=3, task=hang_on_hang_jpg, file_timeout=1)
    paths = [str(shoot / Path(PHOTOS[1]).name), str(hang), str(shoot / Path(PHOTOS[2]).name)]
    try:
        got = dict(analyzer.analyze(paths, pipeline.AnalysisSettings(faces=False), lambda: False))
    finally:
        analyzer.close()
    assert set(got) == set(paths)
    assert got[str(hang)].code == "CRASHED"
    assert "hang.jpg: analysing this file took longer than 1 s" in got[str(hang)].message
    assert all(isinstance(got[p], pipeline.FileResult) for p in paths if p != str(hang))


def test_cancel_stops_sending_work(ray_address, shoot):
    analyzer = cluster.RayAnalyzer(ray_address, batch=1)
    path = str(shoot / Path(PHOTOS[1]).name)
    settings = pipeline.AnalysisSettings(faces=False)
    many = [path] * 20
    try:
        assert list(analyzer.analyze(many, settings, lambda: True)) == [] and analyzer.sent == 0
        seen: list[str] = []
        for p, outcome in analyzer.analyze(many, settings, lambda: bool(seen)):
            assert isinstance(outcome, pipeline.FileResult)
            seen.append(p)
    finally:
        analyzer.close()
    assert len(seen) == analyzer.sent  # every file sent is answered ...
    assert analyzer.sent <= analyzer.in_flight() < len(many)  # ... and none was sent after the cancel


def test_ray_addresses_are_checked():
    for good in ("auto", "10.0.0.5:6379", "ray://head.studio.lan:10001", "[::1]:6379", " auto "):
        assert cluster.check_address(good) == good.strip()
    for bad in ("", "/etc/passwd", "../x:1", "auto; rm -rf /", "head:99999", "head", "http://head:80", "[zz]:1"):
        with pytest.raises(InvalidArgument, match="not a Ray address"):
            cluster.check_address(bad)
    # A private Ray started by the loopback-only daemon would bind the LAN address (Ray rewrites 127.0.0.1 to
    # the machine's reachable address): refused, with what to do instead.
    with pytest.raises(InvalidArgument, match="ray start --head"):
        cluster.check_address("local")


def test_a_cluster_nobody_runs_is_said_in_one_line():
    probe = subprocess.run(  # its own process: this one has joined the module's Ray
        [sys.executable, "-c", "from autocull.cluster import RayAnalyzer; RayAnalyzer('127.0.0.1:9')"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    last = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else ""
    assert probe.returncode == 1
    assert last.startswith("autocull.errors.FailedPrecondition: could not join the Ray cluster at 127.0.0.1:9")


def cli(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autocull", *args],
        env=dict(os.environ, AUTOCULL_HOME=str(home)),
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.e2e
def test_cull_ray_through_the_daemon_gives_the_plain_verdicts_and_the_daemon_keeps_the_store(
    ray_address, shoot, plain, tmp_path
):
    home = tmp_path / "home"
    daemon = Daemon(home)
    try:
        run = cli(home, "cull", "--json", "--ray", ray_address, str(shoot), str(shoot / "missing.jpg"))
        assert run.returncode == 0, run.stderr + daemon.log()
        answer = json.loads(run.stdout)
        got = {
            d["path"]: (
                d.get("error", {}).get("code", ""),
                {"VERDICT_KEEP": "keep", "VERDICT_REVIEW": "review", "VERDICT_REJECT": "reject"}.get(d["verdict"], ""),
                tuple(d["reasons"]),
                d["stars"],
                d["burstRank"],
                d["burstSize"],
            )
            for d in answer["decisions"]
        }
        assert {p: v[0] for p, v in got.items()} == {p: v[0] for p, v in plain.items()}
        assert {p: v[1:] for p, v in got.items() if not v[0]} == {p: v[1:] for p, v in plain.items() if not v[0]}
        assert int(answer["counts"]["analyzed"]) == len(PHOTOS)

        again = cli(home, "cull", "--json", "--ray", ray_address, str(shoot))
        assert again.returncode == 0, again.stderr
        counts = json.loads(again.stdout)["counts"]
        assert int(counts["cached"]) == len(PHOTOS) and int(counts.get("analyzed", 0)) == 0  # the daemon's store

        bad = cli(home, "cull", "--ray", "/etc/passwd", str(shoot))
        assert bad.returncode == 1 and "not a Ray address: '/etc/passwd'" in bad.stderr
        assert daemon.proc.poll() is None
    finally:
        daemon.stop()
