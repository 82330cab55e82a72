"""Analysis in worker processes (issue 16): real processes, real photos from ../shared/testdata.

What a user would notice: the pool gives the analyses the in-process pipeline gives; a worker killed mid-job
(a native crash, the OOM killer) costs no file; a file that kills every process reading it lands in the
failure lane with its reason while the others are analysed and the next job works; a cancelled job stops
sending files; the daemon starts no worker until there is work, culls through them, keeps answering after one
is killed, and lets them go when idle.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Optional, Sequence

import pytest

from autocull import library, pipeline
from autocull.config import Config
from autocull.engine import Engine
from autocull.pipeline import AnalysisSettings, FileResult
from autocull.records import Decision
from autocull.workers import FAULT_KILL_ON, ProcessAnalyzer

from daemon import Daemon
from imagegen import truncate_copy
from procs import descendants
from realphotos import TESTDATA, copies_of_faces, copy_photos
from test_pipeline import same

PHOTOS = (
    "camera/sharp/rbh-013.jpg",
    "camera/sharp/rbh-021.jpg",
    "burst/scenario-1/scenario-1-a.jpg",
    "burst/scenario-1/scenario-1-b.jpg",
    "faces/open/face_1.jpg",
    "faces/open/face_11.jpg",
    "raw/NIKON_D1X_UB20_O35.NEF",
)
FACES = sorted((TESTDATA / "faces" / "open").glob("*.jpg"))


class _Watch:
    """Progress that counts every file it is told about and can act on the first one."""

    def __init__(self, on_first=None) -> None:
        self.advanced: list[str] = []
        self._on_first = on_first
        self.stop = threading.Event()

    def stage(self, name: str, total: int) -> None:
        pass

    def advance(self, path: str) -> None:
        self.advanced.append(path)
        if len(self.advanced) == 1 and self._on_first is not None:
            self._on_first()

    def emit(self, decisions: Sequence[Decision]) -> None:
        pass

    def cancelled(self) -> bool:
        return self.stop.is_set()


@pytest.fixture
def engine(tmp_path):
    e = Engine.open(tmp_path / "home", Config(workers=2))
    yield e
    e.close()


def test_the_pool_gives_the_analyses_the_pipeline_gives_in_process(tmp_path):
    folder = copy_photos(tmp_path / "shoot", PHOTOS)
    paths = [str(folder / Path(rel).name) for rel in PHOTOS]
    truncate_copy(TESTDATA / PHOTOS[0], folder / "truncated.jpg", 0.3)
    paths += [str(folder / "truncated.jpg"), str(folder / "gone.jpg")]
    settings = AnalysisSettings(faces=Config.load(tmp_path).faces)
    here = {p: pipeline.attempt(p, settings) for p in paths}
    pool = ProcessAnalyzer(2)
    try:
        there = list(pool.analyze(paths, settings, lambda: False))
        assert pool.worker_pids() and all(pid != os.getpid() for pid in pool.worker_pids())
        models = pool.models_loaded()
    finally:
        pool.close()
    assert sorted(p for p, _ in there) == sorted(paths)  # each once
    for path, theirs in there:
        mine = here[path]
        assert type(theirs) is type(mine), (path, theirs)
        if isinstance(mine, FileResult):
            assert isinstance(theirs, FileResult)
            assert (theirs.size, theirs.mtime_ns) == (mine.size, mine.mtime_ns)
            assert same(theirs.analysis, mine.analysis), path
        else:
            assert (theirs.code, theirs.message) == (mine.code, mine.message)
    assert sum(isinstance(o, FileResult) for _, o in there) == len(PHOTOS)
    if settings.faces:  # the models were loaded in the workers, and the pool says so
        assert "face_landmark.tflite" in models
    assert not pool.running


def test_a_worker_killed_mid_job_costs_no_file(engine, tmp_path):
    files = copies_of_faces(tmp_path / "shoot", 24)
    killed: list[int] = []

    def kill_a_worker() -> None:
        pids = engine.analyzer.worker_pids()
        assert pids
        os.kill(pids[0], signal.SIGKILL)  # as the OOM killer would
        killed.append(pids[0])

    watch = _Watch(kill_a_worker)
    result = engine.run([str(tmp_path / "shoot")], progress=watch)
    assert killed and engine.analyzer.replaced == 1  # the job did see its worker die
    assert sorted(watch.advanced) == sorted(files)  # every file told once: none lost, none twice
    assert sorted(d.path for d in result.decisions) == sorted(files)
    assert [d for d in result.decisions if d.error_code] == []  # the killed worker's files were run again
    assert result.counts.analyzed == len(files)
    assert set(engine.store.analyses(files)) == set(files)
    assert killed[0] not in engine.analyzer.worker_pids()


def test_a_file_that_kills_its_worker_lands_in_the_failure_lane_and_the_next_job_works(engine, tmp_path, monkeypatch):
    files = copies_of_faces(tmp_path / "shoot", 10)
    poison = str(tmp_path / "shoot" / "poison-frame.jpg")  # a good photo: the fault seam is what kills
    shutil.copyfile(FACES[20], poison)
    monkeypatch.setenv(FAULT_KILL_ON, "poison-")
    result = engine.run([str(tmp_path / "shoot")])
    by_path = {d.path: d for d in result.decisions}
    assert set(by_path) == set(files) | {poison}
    bad = by_path[poison]
    assert bad.error_code == "CRASHED"
    assert "poison-frame.jpg: the decoder crashed on this file (worker process ended by signal SIGKILL" in (
        bad.error_message
    )
    assert [p for p in files if by_path[p].error_code] == []
    assert {f.path: f.code for f in engine.store.failures()} == {poison: "CRASHED"}
    assert engine.analyzer.replaced == 1

    later = copies_of_faces(tmp_path / "later", 6, prefix="later")  # the pool was replaced: the next job works
    again = engine.run([str(tmp_path / "later")])
    assert sorted(d.path for d in again.decisions if not d.error_code) == sorted(later)

    monkeypatch.delenv(FAULT_KILL_ON)  # the same file, once nothing kills it, is analysed like any other
    engine.analyzer.close()
    engine.analyzer = ProcessAnalyzer(2)
    retried = engine.run([poison])
    assert [d.error_code for d in retried.decisions] == [""]
    assert engine.store.failures() == []


def test_a_single_file_goes_through_a_worker_too(engine, tmp_path, monkeypatch):
    """``analyze_one`` (one file, e.g. from the watcher's path): a file that kills its process costs that file."""
    (good,) = copies_of_faces(tmp_path / "one", 1)
    poison = tmp_path / "one" / "poison.jpg"
    shutil.copyfile(FACES[3], poison)
    monkeypatch.setenv(FAULT_KILL_ON, "poison")
    with pytest.raises(Exception) as info:
        engine.analyze_one(str(poison))
    assert getattr(info.value, "code", "") == "CRASHED"
    analysis, cached = engine.analyze_one(good)
    assert not cached and engine.store.analyses([good])[good] == analysis


def test_cancel_stops_sending_files(tmp_path):
    files = copies_of_faces(tmp_path / "many", 8) * 5  # 40 tasks' worth of files
    pool = ProcessAnalyzer(2, batch=2)
    stop = threading.Event()
    got: list[str] = []
    try:
        for path, outcome in pool.analyze(files, AnalysisSettings(faces=False), stop.is_set):
            assert isinstance(outcome, FileResult)
            got.append(path)
            stop.set()  # cancelled after the first answer: what was in flight comes back, nothing more is sent
    finally:
        pool.close()
    in_flight = 2 * 2 * 2  # tasks in flight (2 per worker) x files per task
    assert 1 <= len(got) <= in_flight < len(files)


def _workers_of(pid: int) -> list[int]:
    """The daemon's analysis workers: forked by its forkserver, so its grandchildren."""
    return sorted(p for p, depth in descendants(pid).items() if depth == 2)


def _wait_job(d: Daemon, job_id: str, pb, timeout: float = 600) -> object:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = d.grpc("GetJob", pb.GetJobRequest(job_id=job_id))
        if job.state in (pb.JOB_STATE_CANCELLED, pb.JOB_STATE_DONE, pb.JOB_STATE_FAILED):
            return job
        time.sleep(0.1)
    raise AssertionError("job did not end: " + d.log())


@pytest.mark.e2e
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the daemon's workers in /proc")
def test_the_daemon_culls_through_workers_and_keeps_answering_after_one_is_killed(tmp_path):
    from autocull.v1 import autocull_pb2 as pb

    d = Daemon(tmp_path / "home", config="workers = 2\nworker_idle_seconds = 3\n")
    try:
        assert d.grpc("GetStatus", pb.GetStatusRequest()).version
        assert _workers_of(d.proc.pid) == []  # no worker before there is work
        files = copies_of_faces(tmp_path / "shoot", 30)
        job = d.grpc("StartJob", pb.CullRequest(paths=[str(tmp_path / "shoot")]))
        victim: Optional[int] = None
        deadline = time.time() + 300
        while victim is None and time.time() < deadline:
            progress = d.grpc("GetJob", pb.GetJobRequest(job_id=job.id))
            workers = _workers_of(d.proc.pid)
            if progress.done >= 1 and workers:
                victim = workers[0]
                os.kill(victim, signal.SIGKILL)
            time.sleep(0.05)
        assert victim is not None, d.log()
        assert d.grpc("GetStatus", pb.GetStatusRequest()).version  # answers while the job recovers
        done = _wait_job(d, job.id, pb)
        assert done.state == pb.JOB_STATE_DONE, done.message
        assert done.counts.total == len(files) and done.counts.failed == 0, d.log()
        assert done.done == len(files)
        assert "an analysis worker died" in d.log()
        status = d.grpc("GetStatus", pb.GetStatusRequest())
        assert status.photos_stored == len(files)

        later = copies_of_faces(tmp_path / "later", 4, prefix="later")
        answer = d.grpc("Cull", pb.CullRequest(paths=[str(tmp_path / "later")]))
        assert sorted(x.path for x in answer.decisions if not x.error.code) == sorted(later)

        deadline = time.time() + 60  # idle for worker_idle_seconds: the workers are let go
        while _workers_of(d.proc.pid) and time.time() < deadline:
            time.sleep(0.2)
        assert _workers_of(d.proc.pid) == []
        assert d.grpc("GetStatus", pb.GetStatusRequest()).photos_stored == len(files) + len(later)
    finally:
        assert d.stop() == 0, d.log()


# ------------------------------------------------------------------ the cache is checked as files are sent --
class _Recording:
    """The engine's own worker pool, recording when it is handed each path and when it answers each one."""

    def __init__(self, inner: ProcessAnalyzer, events: list[tuple[str, str]]) -> None:
        self.inner, self.events = inner, events

    def analyze(self, paths, settings, cancelled):
        def handed():
            for path in paths:
                self.events.append(("sent", path))
                yield path

        for path, outcome in self.inner.analyze(handed(), settings, cancelled):
            self.events.append(("answered", path))
            yield path, outcome

    def close(self) -> None:
        self.inner.close()


class _Events(_Watch):
    """Progress that writes into the same event list as the analyzer: "told" as ``advance`` hears of a file."""

    def __init__(self, events: list[tuple[str, str]]) -> None:
        super().__init__()
        self.events = events

    def advance(self, path: str) -> None:
        super().advance(path)
        self.events.append(("told", path))


def test_files_are_analysed_while_the_cache_of_later_ones_is_still_to_be_checked(tmp_path):
    """A big job starts analysing at once: the first answer comes before the last stored file is even checked
    (it used to come after every file had been checked), and stored files are told to progress as they are."""
    stored = copies_of_faces(tmp_path / "shoot", 4, prefix="z-stored")
    e = Engine.open(tmp_path / "home", Config(workers=1, faces=False))  # 1 worker: 2 tasks of 4 files in flight
    try:
        assert e.run(stored).counts.analyzed == 4
        new = copies_of_faces(tmp_path / "shoot", 14, prefix="a-new")
        events: list[tuple[str, str]] = []
        result = e.run(new + stored, progress=_Events(events), analyzer=_Recording(e.analyzer, events))
    finally:
        e.close()
    first_answer = events.index(("answered", new[0]))
    last_check = events.index(("told", stored[-1]))
    assert first_answer < last_check, events
    assert [p for kind, p in events if kind == "sent"] == new  # only what the store lacks, in order
    assert sorted(p for kind, p in events if kind == "told") == sorted(new + stored)  # each file once
    assert (result.counts.analyzed, result.counts.cached, result.counts.failed) == (14, 4, 0)
    assert [d.path for d in result.decisions] == new + stored


def test_stored_new_and_broken_files_mixed_are_each_answered_once(tmp_path):
    folder = tmp_path / "shoot"
    stored = copies_of_faces(folder, 12, prefix="frame")[::2]  # every other file analysed before
    e = Engine.open(tmp_path / "home", Config(workers=2, faces=False))
    try:
        assert e.run(stored).counts.analyzed == len(stored)
        every = sorted(str(p) for p in folder.glob("*.jpg"))
        broken = str(folder / "frame-005x.jpg")  # sorts among them; fails in the worker, not in the check
        truncate_copy(TESTDATA / PHOTOS[0], Path(broken), 0.3)
        every = sorted([*every, broken])
        watch = _Watch()
        result = e.run([str(folder)], progress=watch)
    finally:
        e.close()
    assert sorted(watch.advanced) == every  # told once each, stored or not
    assert (result.counts.cached, result.counts.analyzed, result.counts.failed) == (6, 6, 1)
    assert result.counts.total == len(every)
    assert [d.path for d in result.decisions if d.error_code] == [broken]
    assert sorted(d.path for d in result.decisions) == every
    assert {d.path for d in result.decisions if d.cached} == set(stored)


def test_a_long_run_of_stored_files_is_answered_before_the_files_after_it_are_looked_for(tmp_path):
    """1,100 stored files between two new ones: the first new one is analysed and answered before the run is
    checked to its end (checked files never pile up in memory waiting for the analyzer), and every file is
    answered once."""
    folder = tmp_path / "shoot"
    e = Engine.open(tmp_path / "home", Config(workers=1, faces=False))
    try:
        (seed,) = copies_of_faces(folder, 1, prefix="seed")
        (analysis, _) = e.analyze_one(seed)
        stored = []
        for k in range(1_100):  # stored as the engine would store them: same analysis, each file's own key
            dest = folder / f"m-stored-{k:04d}.jpg"
            shutil.copyfile(seed, dest)
            st = dest.stat()
            library.remember(e.store, str(dest), st.st_size, st.st_mtime_ns, analysis)
            stored.append(str(dest))
        first_new = copies_of_faces(folder, 2, prefix="a-new")[1]
        last_new = copies_of_faces(folder, 3, prefix="z-new")[2]
        files = [first_new, *stored, last_new]
        events: list[tuple[str, str]] = []
        result = e.run(files, progress=_Events(events), analyzer=_Recording(e.analyzer, events))
    finally:
        e.close()
    assert events.index(("answered", first_new)) < events.index(("told", stored[-1])), events[:20]
    assert [p for kind, p in events if kind == "sent"] == [first_new, last_new]
    assert sorted(p for kind, p in events if kind == "told") == sorted(files)
    assert (result.counts.analyzed, result.counts.cached, result.counts.failed) == (2, len(stored), 0)
    assert [d.path for d in result.decisions] == files
