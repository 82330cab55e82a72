"""A blocking cull that does not finish answers why (issue 12, item 4 and "a failed blocking Cull
is reported as INVALID_ARGUMENT"): SIGTERM during a Cull answers UNAVAILABLE ("daemon shutting
down") over gRPC and JSON, never OK with 0 decisions; `autocull cull` says so and exits non-zero;
a job that fails for an internal reason answers INTERNAL. Real daemon, real photos.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import grpc
import pytest

from autocull.v1 import autocull_pb2 as pb

from daemon import Daemon

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _slow_folder(folder: Path, n: int = 40) -> Path:
    """``n`` paths of one large real JPEG (hard links): the store has none of them, so each is read
    and measured, several seconds in all."""
    from PIL import Image
    from skimage import data

    folder.mkdir(parents=True)
    first = folder / "frame_000.jpg"
    Image.fromarray(data.astronaut()).resize((3000, 3000)).save(first, quality=90)
    for i in range(1, n):
        (folder / f"frame_{i:03d}.jpg").hardlink_to(first)
    return folder


def _until(predicate: Callable[[], bool], timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while not predicate():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def _analysing(d: Daemon) -> bool:
    """A job runs and has read at least one image: the cull is under way, far from done."""
    status = d.grpc("GetStatus", pb.GetStatusRequest())
    return status.jobs_running >= 1 and status.decodes >= 1


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, dict[str, Any]]:
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["answer"] = call()
        except Exception as exc:  # the answer under test
            result["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    return t, result


def _sigterm_when_analysing(d: Daemon) -> None:
    _until(lambda: _analysing(d))
    d.proc.send_signal(signal.SIGTERM)
    assert d.proc.wait(60) == 0


def test_sigterm_during_a_blocking_cull_over_grpc_answers_unavailable(tmp_path):
    folder = _slow_folder(tmp_path / "big")
    d = Daemon(tmp_path / "home")
    try:
        t, result = _in_thread(lambda: d.grpc("Cull", pb.CullRequest(paths=[str(folder)])))
        _sigterm_when_analysing(d)
        t.join(60)
        assert "answer" not in result, f"OK with {len(result['answer'].decisions)} decisions"
        err = result["error"]
        assert isinstance(err, grpc.RpcError)
        assert err.code() == grpc.StatusCode.UNAVAILABLE and "daemon shutting down" in err.details()
    finally:
        d.stop()


def test_sigterm_during_a_blocking_cull_over_json_answers_503_unavailable(tmp_path):
    folder = _slow_folder(tmp_path / "big")
    d = Daemon(tmp_path / "home")

    def cull() -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", d.state["http_port"], timeout=120)
        conn.request(
            "POST",
            "/autocull.v1.AutoCull/Cull",
            json.dumps({"paths": [str(folder)]}).encode(),
            {"Content-Type": "application/json", "x-autocull-token": d.token},
        )
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())

    try:
        t, result = _in_thread(cull)
        _sigterm_when_analysing(d)
        t.join(60)
        assert "error" not in result, result.get("error")
        status, body = result["answer"]
        assert status == 503 and body["code"] == "unavailable", body
        assert "daemon shutting down" in body["message"]
    finally:
        d.stop()


def test_autocull_cull_says_the_daemon_stopped_and_exits_non_zero(tmp_path):
    folder = _slow_folder(tmp_path / "big")
    d = Daemon(tmp_path / "home")
    try:
        cli = subprocess.Popen(
            [sys.executable, "-m", "autocull", "cull", str(folder)],
            env=dict(os.environ, AUTOCULL_HOME=str(d.home)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _sigterm_when_analysing(d)
        out, err = cli.communicate(timeout=120)
        assert cli.returncode != 0, out
        assert "daemon shutting down" in err or "daemon stopped" in err, err
        assert " photos: " not in out  # no summary of a part that reads like a result
        assert "Traceback" not in err
    finally:
        d.stop()


def _two_photos(shoot: Path) -> Path:
    from PIL import Image
    from skimage import data

    shoot.mkdir()
    Image.fromarray(data.astronaut()).save(shoot / "a.jpg", quality=90)
    Image.fromarray(data.coffee()).save(shoot / "b.jpg", quality=90)
    return shoot


def test_a_blocking_cull_that_fails_answers_the_cause_not_invalid_argument(tmp_path):
    """Another program broke autocull.db so that no verdict can be stored (a trigger that aborts every write
    of one): the job fails inside, an internal error, which a client must not be told is its own bad argument."""
    shoot = _two_photos(tmp_path / "shoot")
    d = Daemon(tmp_path / "home", config="faces = false\n")
    try:
        assert d.grpc("Cull", pb.CullRequest(paths=[str(shoot)])).counts.total == 2
        with sqlite3.connect(d.home / "autocull.db") as db:
            db.execute(
                "CREATE TRIGGER broken BEFORE UPDATE OF verdict ON photos "
                "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
            )
        with pytest.raises(grpc.RpcError) as info:
            d.grpc("Cull", pb.CullRequest(paths=[str(shoot)]))
        assert info.value.code() == grpc.StatusCode.INTERNAL, info.value.details()
        assert "internal error" in info.value.details() and "disk says no" in info.value.details()
        status, body = d.http("Cull", {"paths": [str(shoot)]})
        assert status == 500 and body["code"] == "internal", body
        assert d.grpc("GetStatus", pb.GetStatusRequest()).version  # and the daemon serves on
    finally:
        d.stop()


def test_a_damaged_stored_analysis_is_analysed_again_not_an_error_forever(tmp_path):
    """A row of autocull.db damaged by another program: that photo is read again and its row written anew."""
    shoot = _two_photos(tmp_path / "shoot")
    d = Daemon(tmp_path / "home", config="faces = false\n")
    try:
        first = d.grpc("Cull", pb.CullRequest(paths=[str(shoot)]))
        with sqlite3.connect(d.home / "autocull.db") as db:
            db.execute("UPDATE photos SET analysis='{' WHERE path=?", (str(shoot / "b.jpg"),))
        again = d.grpc("Cull", pb.CullRequest(paths=[str(shoot)]))
        assert (again.counts.total, again.counts.failed, again.counts.analyzed) == (2, 0, 1)
        assert [x.verdict for x in again.decisions] == [x.verdict for x in first.decisions]
        assert d.grpc("Cull", pb.CullRequest(paths=[str(shoot)])).counts.analyzed == 0  # the row is whole again
    finally:
        d.stop()
