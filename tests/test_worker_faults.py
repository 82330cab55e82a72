"""Worker pool faults beyond a crashing file (issue 16 review): real processes, real photos.

What a user would notice: the workers (and the forkserver) of a daemon killed with SIGKILL do not stay behind
holding memory; a file that hangs its decoder costs that file (with the reason) and not the job, its cancel or
the daemon's stop; workers that cannot start fail the job once with the cause instead of marking every file a
decoder crash.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from autocull.config import Config
from autocull.engine import Cancelled, Engine, QuietProgress
from autocull.errors import FailedPrecondition
from autocull.pipeline import AnalysisSettings
from autocull.workers import (
    FAULT_HANG_ON,
    FAULT_SLOW_ON,
    FAULT_WORKER_START,
    SLOW_SECONDS,
    ProcessAnalyzer,
    crash_reason,
)

from procs import descendants, state
from realphotos import TESTDATA, copies_of_faces

FACES = sorted((TESTDATA / "faces" / "open").glob("*.jpg"))


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="follows the processes in /proc")
def test_workers_and_forkserver_exit_when_the_daemon_is_killed(tmp_path):
    files = copies_of_faces(tmp_path / "shoot", 4)
    script = textwrap.dedent(
        """
        import sys, time
        from autocull.pipeline import AnalysisSettings
        from autocull.workers import ProcessAnalyzer
        pool = ProcessAnalyzer(2, idle_seconds=0)
        out = list(pool.analyze(sys.argv[1:], AnalysisSettings(faces=False), lambda: False))
        assert len(out) == len(sys.argv) - 1, out
        print("ready", flush=True)
        time.sleep(600)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", script, *files], stdout=subprocess.PIPE, text=True)
    left: dict[int, tuple[str, str]] = {}
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        under = list(descendants(child.pid))  # the workers, the forkserver (and its resource tracker)
        assert len(under) >= 3, under
        left = {p: s for p in under if (s := state(p)) is not None}
        child.send_signal(signal.SIGKILL)  # as the OOM killer or `kill -9` would end the daemon
        child.wait(timeout=30)
        deadline = time.monotonic() + 60  # generous: what matters is that they go, not how fast
        while time.monotonic() < deadline:
            left = {p: s for p, s in left.items() if (now := state(p)) is not None and now[0] != "Z" and now[1] == s[1]}
            if not left:
                break
            time.sleep(0.2)
        assert not left, f"still running after the daemon was killed: {sorted(left)}"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pid in left:  # what the defect left behind is not left running after the test
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def test_a_file_that_hangs_its_decoder_lands_in_the_failure_lane_and_the_others_are_analysed(tmp_path, monkeypatch):
    files = copies_of_faces(tmp_path / "shoot", 6)
    stuck = str(tmp_path / "shoot" / "hang-frame.jpg")  # a good photo: the fault seam is what hangs
    shutil.copyfile(FACES[20], stuck)
    monkeypatch.setenv(FAULT_HANG_ON, "hang-")
    engine = Engine.open(tmp_path / "home", Config(workers=2, file_timeout_seconds=2))
    try:
        result = engine.run([str(tmp_path / "shoot")])
        by_path = {d.path: d for d in result.decisions}
        assert set(by_path) == set(files) | {stuck}
        assert by_path[stuck].error_code == "CRASHED"
        assert "hang-frame.jpg: analysing this file took longer than 2 s" in by_path[stuck].error_message
        assert [p for p in files if by_path[p].error_code] == []
        assert {f.path: f.code for f in engine.store.failures()} == {stuck: "CRASHED"}
        later = copies_of_faces(tmp_path / "later", 3, prefix="later")  # the stuck pool was replaced: next job works
        again = engine.run([str(tmp_path / "later")])
        assert sorted(d.path for d in again.decisions if not d.error_code) == sorted(later)
    finally:
        engine.close()


def _in_thread(target) -> tuple[threading.Thread, list]:
    out: list = []

    def run() -> None:
        try:
            out.append(target())
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def _wait_until(condition, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_cancel_while_files_hang_returns_without_waiting_for_them(tmp_path, monkeypatch):
    files = copies_of_faces(tmp_path / "shoot", 8, prefix="hang")
    monkeypatch.setenv(FAULT_HANG_ON, "hang-")
    pool = ProcessAnalyzer(2, batch=1, file_timeout=3600)  # the deadline is far away: only the cancel ends it
    stop = threading.Event()
    try:
        thread, out = _in_thread(lambda: list(pool.analyze(files, AnalysisSettings(faces=False), stop.is_set)))
        assert _wait_until(lambda: len(pool.worker_pids()) == 2)
        time.sleep(1)  # both workers are inside a hanging file
        stop.set()
        thread.join(60)
        assert not thread.is_alive(), "the cancelled call still waits for the hung files"
        assert out == [[]]  # nothing was analysed, and nothing is said to be
        later = copies_of_faces(tmp_path / "later", 2, prefix="later")  # the pool still works for the next call
        assert [type(o).__name__ for _, o in pool.analyze(later, AnalysisSettings(faces=False), lambda: False)] == [
            "FileResult",
            "FileResult",
        ]
    finally:
        pool.close()


def test_engine_close_while_a_file_hangs_returns_and_the_job_ends_cancelled(tmp_path, monkeypatch):
    copies_of_faces(tmp_path / "shoot", 4, prefix="hang")
    monkeypatch.setenv(FAULT_HANG_ON, "hang-")
    engine = Engine.open(tmp_path / "home", Config(workers=2, file_timeout_seconds=3600))
    job, out = _in_thread(lambda: engine.run([str(tmp_path / "shoot")]))
    assert _wait_until(lambda: len(engine.analyzer.worker_pids()) == 2)
    time.sleep(1)
    closer, _ = _in_thread(engine.close)
    closer.join(60)
    assert not closer.is_alive(), "Engine.close waits for a hung file"
    job.join(60)
    assert not job.is_alive()
    assert len(out) == 1 and isinstance(out[0], Cancelled), out


def test_workers_that_cannot_start_fail_the_job_once_not_every_file(tmp_path, monkeypatch):
    files = copies_of_faces(tmp_path / "shoot", 5)
    monkeypatch.setenv(FAULT_WORKER_START, "1")
    engine = Engine.open(tmp_path / "home", Config(workers=2))
    try:
        with pytest.raises(FailedPrecondition) as info:
            engine.run([str(tmp_path / "shoot")])
        assert "analysis workers cannot start: RuntimeError: fault injected by AUTOCULL_FAULT_WORKER_START" in (
            info.value.message
        )
        assert engine.store.failures() == []  # no photo was blamed
        monkeypatch.delenv(FAULT_WORKER_START)  # the environment is mended: the same engine works
        result = engine.run([str(tmp_path / "shoot")])
        assert sorted(d.path for d in result.decisions if not d.error_code) == sorted(files)
    finally:
        engine.close()


def test_windows_crash_codes_are_said_in_words():
    assert "access violation" in crash_reason("a.jpg", 3221225477).message  # 0xC0000005
    assert "stack overflow" in crash_reason("a.jpg", 0xC00000FD).message
    assert "signal SIGKILL" in crash_reason("a.jpg", -9).message
    assert "exited with code 3" in crash_reason("a.jpg", 3).message


def test_a_caller_that_stops_while_a_batch_is_answered_stores_it_once(tmp_path):
    files = copies_of_faces(tmp_path / "shoot", 6)
    engine = Engine.open(tmp_path / "home", Config(workers=2))
    stored: list[str] = []
    store_results = engine._store_results

    def counting(results):
        stored.extend(r.path for r in results)
        return store_results(results)

    engine._store_results = counting  # type: ignore[method-assign]  # the real writer, counted
    try:
        answers = engine._analyze_all(files, False, QuietProgress())
        first = next(answers)  # the first of a stored batch ...
        answers.close()  # ... and the caller stops
        assert first[0] in files
        assert len(stored) == len(set(stored)) and stored, stored  # each analysis stored (and embedded) once
        assert set(engine.store.analyses(stored)) == set(stored)
    finally:
        engine.close()


def test_a_healthy_slow_file_queued_behind_another_is_not_taken_for_a_hang(tmp_path, monkeypatch):
    # One worker, one file a task: each file takes SLOW_SECONDS (under the deadline), and the executor moves the
    # next task into its call queue (where it counts as running) while the one ahead is still on the worker.
    files = copies_of_faces(tmp_path / "shoot", 3, prefix="slow")
    monkeypatch.setenv(FAULT_SLOW_ON, "slow-")
    pool = ProcessAnalyzer(1, batch=1, idle_seconds=0, file_timeout=1.5 * SLOW_SECONDS)
    try:
        out = list(pool.analyze(files, AnalysisSettings(faces=False), lambda: False))
        assert sorted(p for p, o in out if type(o).__name__ == "FileResult") == sorted(files)
        assert pool.replaced == 0, "a healthy slow job had its workers killed as hung"
    finally:
        pool.close()
