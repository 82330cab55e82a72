"""Soak: eight clients at once against the real daemon, as a busy studio would use it.

Five clients speak gRPC and three speak JSON over HTTP (plain http.client POSTs,
as the Lua plugins do), on overlapping folders of small real images, mixing
StartJob/GetJob, Cull, Decide, GetStatus, SetPolicy and SendFeedback while jobs
run. Afterwards: the daemon is still up, every call got an answer (no timeout),
every finished job has exactly one decision per photo, the store passes
``PRAGMA integrity_check``, and the stored verdicts agree with the active policy.
"""

from __future__ import annotations

import http.client
import random
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from google.protobuf import json_format
from PIL import Image, ImageFilter

from autocull.v1 import autocull_pb2 as pb

from daemon import Daemon
from imagegen import resized, sample_rgb

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CLIENTS = 8
JSON_CLIENTS = 3
ROUNDS = 24
CALL_TIMEOUT = 60.0  # a call not answered within this is a failure ("no timeouts")
KEEP_QUALITY = (0.3, 0.45, 0.6, 0.75)
LAST_KEEP_QUALITY = 0.99  # sends all but a flawless photo to review: the last change moves verdicts, not only stars
TERMINAL = {"JOB_STATE_DONE", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"}


def _shoot(root: Path) -> dict[str, list[Path]]:
    """Three folders of eight small photos each: sharp, blurred and dark variants of bundled scenes."""
    scenes = ["astronaut", "coffee", "chelsea", "rocket", "camera", "immunohistochemistry", "hubble_deep_field", "cat"]
    folders: dict[str, list[Path]] = {}
    for f, name in enumerate(("card-a", "card-b", "card-c")):
        folder = root / name
        folder.mkdir(parents=True)
        folders[name] = []
        for i, scene in enumerate(scenes):
            img = Image.fromarray(resized(sample_rgb(scene), (768, 576)))
            if (i + f) % 3 == 1:
                img = img.filter(ImageFilter.GaussianBlur(4))
            elif (i + f) % 3 == 2:
                img = Image.fromarray((np.asarray(img) * 0.15).astype(np.uint8))
            path = folder / f"{i:02d}-{scene}.jpg"
            img.save(path, quality=88)
            folders[name].append(path)
    return folders


# ------------------------------------------------------------------ the two transports
class GrpcClient:
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        """Call with a JSON-shaped body and answer, like the JSON client, so both share one script."""
        stub = self.daemon.stub
        request_type = {
            "StartJob": pb.CullRequest,
            "GetJob": pb.GetJobRequest,
            "Cull": pb.CullRequest,
            "Decide": pb.DecideRequest,
            "GetStatus": pb.GetStatusRequest,
            "SetPolicy": pb.SetPolicyRequest,
            "SendFeedback": pb.SendFeedbackRequest,
        }[method]
        request = json_format.ParseDict(body, request_type())
        answer = getattr(stub, method)(request, metadata=self.daemon.meta, timeout=CALL_TIMEOUT)
        return json_format.MessageToDict(answer)


class JsonClient:
    """Calls over JSON as the Lua plugins do (a connection per call, like LrHttp and curl)."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    def call(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.daemon.state["http_port"], timeout=CALL_TIMEOUT)
        try:
            status, answer = self.daemon.http(method, body, conn=conn)
        finally:
            conn.close()
        if status != 200:
            raise AssertionError(f"{method}: HTTP {status}: {str(answer)[:300]}")
        return answer


# ------------------------------------------------------------------ one client's script
@dataclass
class Log:
    calls: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    jobs: list[tuple[list[str], list[str], str]] = field(default_factory=list)  # (asked, decided paths, state)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, client: Any, method: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """``client.call(method, body)``; a failure is kept for the assertions, never raised in the thread."""
        try:
            answer = client.call(method, body)
        except Exception as exc:  # noqa: BLE001 - every failure is collected and asserted on at the end
            with self.lock:
                self.errors.append(f"{method}: {type(exc).__name__}: {exc}"[:500])
            return None
        with self.lock:
            self.calls[method] += 1
        return answer


def _run_job(client: Any, log: Log, paths: list[str], reanalyze: bool = False) -> None:
    job = log.record(client, "StartJob", {"paths": paths, "reanalyze": reanalyze})
    if job is None:
        return
    decisions: list[dict[str, Any]] = list(job.get("decisions", []))
    for _ in range(600):
        if job.get("state") in TERMINAL and len(decisions) >= job.get("decisionsTotal", 0):
            break
        time.sleep(0.05)
        job = log.record(client, "GetJob", {"jobId": job["id"], "decisionsFrom": len(decisions)})
        if job is None:
            return
        decisions += job.get("decisions", [])
    with log.lock:
        log.jobs.append((paths, [d["path"] for d in decisions], job.get("state", "")))


def _client(n: int, client: Any, folders: dict[str, list[Path]], log: Log) -> None:
    rng = random.Random(n)
    names = sorted(folders)
    all_photos = [str(p) for ps in folders.values() for p in ps]
    for r in range(ROUNDS):
        # overlapping work: a folder, two folders, or a folder plus single files from another
        a, b = rng.sample(names, 2)
        paths = rng.choice(
            [
                [str(folders[a][0].parent)],
                [str(folders[a][0].parent), str(folders[b][0].parent)],
                [str(folders[a][0].parent)] + [str(p) for p in folders[b][:3]],
            ]
        )
        step = (n + r) % 6
        if step in (0, 3):
            _run_job(client, log, paths, reanalyze=step == 3)  # reading the images again: real decode work
        elif step == 1:
            log.record(client, "Cull", {"paths": paths})
        elif step == 2:
            log.record(client, "Decide", {"paths": paths})
        elif step == 4:
            value = rng.choice(KEEP_QUALITY)
            log.record(client, "SetPolicy", {"values": {"keep_quality": value}})
        else:
            items = [
                {"path": p, "rating": rng.randint(0, 5), "pick": rng.choice(["PICK_PICKED", "PICK_REJECTED"])}
                for p in rng.sample(all_photos, 4)
            ]
            answer = log.record(client, "SendFeedback", {"items": items, "source": f"soak-{n}"})
            if answer is not None and answer.get("stored") != len(items):
                with log.lock:
                    log.errors.append(f"SendFeedback stored {answer.get('stored')} of {len(items)}")
        log.record(client, "GetStatus", {})


# ------------------------------------------------------------------ the run
@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("soak")
    folders = _shoot(base / "shoots")
    # Faces are the measure stage's business (tested there); here they would only slow the first decodes.
    daemon = Daemon(base / "home", config="faces = false\n")
    try:
        log = Log()
        clients = [JsonClient(daemon) if n < JSON_CLIENTS else GrpcClient(daemon) for n in range(CLIENTS)]
        threads = [
            threading.Thread(target=_client, args=(n, c, folders, log), name=f"client-{n}")
            for n, c in enumerate(clients)
        ]
        started = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        hung = [t.name for t in threads if t.is_alive()]
        took = time.time() - started
        alive = daemon.proc.poll() is None
        # the last policy change lands while a job runs; once it is done, stored verdicts must follow it
        final = GrpcClient(daemon)
        final.call("SetPolicy", {"values": {"keep_quality": KEEP_QUALITY[0]}})
        job = final.call("StartJob", {"paths": [str(base / "shoots")], "reanalyze": True})
        while job.get("stage") != "analyzing" and job.get("state") not in TERMINAL:
            job = final.call("GetJob", {"jobId": job["id"]})
        policy = final.call("SetPolicy", {"values": {"keep_quality": LAST_KEEP_QUALITY}})
        policy["during"] = job.get("state") not in TERMINAL  # the change landed while the job ran
        while job.get("state") not in TERMINAL:
            time.sleep(0.05)
            job = final.call("GetJob", {"jobId": job["id"], "decisionsFrom": 10**6})
        status = final.call("GetStatus", {})
        decided = final.call("Decide", {"paths": []})
        all_photos = {str(p) for ps in folders.values() for p in ps}
    finally:
        exit_code = daemon.stop()
    db = sqlite3.connect(f"file:{daemon.home / 'autocull.db'}?mode=ro", uri=True)
    try:
        integrity = [row[0] for row in db.execute("PRAGMA integrity_check")]
        stored = {row[0] for row in db.execute("SELECT path FROM photos")}
    finally:
        db.close()
    return {
        "policy": policy,
        "log": log,
        "hung": hung,
        "took": took,
        "alive": alive,
        "exit_code": exit_code,
        "status": status,
        "decided": decided,
        "folders": folders,
        "all_photos": all_photos,
        "integrity": integrity,
        "stored": stored,
        "daemon_log": daemon.log(),
    }


def _expected(paths: list[str], folders: dict[str, list[Path]]) -> set[str]:
    out: set[str] = set()
    for p in paths:
        folder = next((ps for ps in folders.values() if str(ps[0].parent) == p), None)
        out |= {str(x) for x in folder} if folder is not None else {p}
    return out


def test_the_daemon_stays_up_and_answers_every_call(soak: dict[str, Any]) -> None:
    log: Log = soak["log"]
    assert not soak["hung"], f"clients still waiting: {soak['hung']}"
    assert soak["alive"], soak["daemon_log"][-3000:]
    assert not log.errors, log.errors[:10]
    for method in ("StartJob", "GetJob", "Cull", "Decide", "GetStatus", "SetPolicy", "SendFeedback"):
        assert log.calls[method] > 0, (method, log.calls)
    assert sum(log.calls.values()) >= CLIENTS * ROUNDS * 2
    assert soak["exit_code"] == 0, soak["daemon_log"][-3000:]
    print(f"\nsoak: {sum(log.calls.values())} calls in {soak['took']:.0f} s")  # a figure, not a check: see bench/


def test_every_photo_of_every_finished_job_has_exactly_one_decision(soak: dict[str, Any]) -> None:
    jobs = soak["log"].jobs
    assert len(jobs) >= CLIENTS  # about a third of all rounds start a job
    for asked, decided, state in jobs:
        assert state == "JOB_STATE_DONE", (asked, state)
        counts = Counter(decided)
        assert not [p for p, n in counts.items() if n > 1], f"decided twice: {asked}"
        assert set(decided) == _expected(asked, soak["folders"]), asked


def test_the_store_is_intact_and_holds_every_photo(soak: dict[str, Any]) -> None:
    assert soak["integrity"] == ["ok"]
    assert soak["stored"] == soak["all_photos"]
    decided = soak["decided"]["decisions"]
    assert {d["path"] for d in decided} == soak["all_photos"]
    assert all(d.get("verdict", "VERDICT_UNSPECIFIED") != "VERDICT_UNSPECIFIED" for d in decided)


def test_after_the_last_policy_change_status_counts_equal_a_decide_over_all_photos(soak: dict[str, Any]) -> None:
    assert soak["policy"]["during"] and soak["policy"].get("changed", 0) > 0  # it landed mid-job, and mattered
    status = soak["status"]["verdicts"]
    decided = soak["decided"]["counts"]
    keys = ("keep", "review", "reject")
    assert {k: status.get(k, 0) for k in keys} == {k: decided.get(k, 0) for k in keys}, (status, decided)
