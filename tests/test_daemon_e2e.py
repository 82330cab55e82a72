"""End to end: the real daemon on a free loopback port, real SQLite, real photos.

Culls a folder over gRPC and over JSON/HTTP, checks the token and browser guards,
changes the policy without reading an image again, cancels a job, and stops the
daemon with SIGTERM mid-job leaving a consistent store.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import grpc
import numpy as np
import pytest
from PIL import Image, ImageFilter

from autocull.v1 import autocull_pb2 as pb

from daemon import Daemon

pytestmark = pytest.mark.e2e


def _photos(folder: Path) -> dict[str, Path]:
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    # four different scenes, so no two of them form a look-alike burst
    files = {
        "sharp": (Image.fromarray(data.astronaut()), "astronaut.jpg"),
        "coffee": (Image.fromarray(data.coffee()), "coffee.jpg"),
        "blurred": (Image.fromarray(data.chelsea()).filter(ImageFilter.GaussianBlur(6)), "chelsea blurred é.jpg"),
        "dark": (Image.fromarray((np.asarray(data.rocket()) * 0.05).astype(np.uint8)), "rocket-dark.jpg"),
    }
    out = {}
    for key, (img, name) in files.items():
        img.save(folder / name, quality=92)
        out[key] = folder / name
    return out


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path / "home")
    yield d
    d.stop()


def test_state_file_is_private_and_daemon_listens_on_loopback_only(daemon):
    mode = (daemon.home / "state.json").stat().st_mode & 0o777
    assert mode == 0o600
    assert daemon.state["host"] == "127.0.0.1"


def test_cull_over_grpc_gives_a_decision_with_reasons_for_every_photo(daemon, tmp_path):
    photos = _photos(tmp_path / "shoot")
    resp = daemon.grpc("Cull", pb.CullRequest(paths=[str(tmp_path / "shoot")]))
    by_name = {Path(d.path).name: d for d in resp.decisions}
    assert set(by_name) == {p.name for p in photos.values()}
    for d in resp.decisions:
        assert d.reasons, d.path
        assert d.verdict != pb.VERDICT_UNSPECIFIED and not d.error.code
        assert 0 <= d.stars <= 5
    assert by_name[photos["sharp"].name].verdict == pb.VERDICT_KEEP
    blurred = by_name[photos["blurred"].name]
    assert blurred.verdict == pb.VERDICT_REJECT and blurred.pick == pb.PICK_REJECTED
    assert any("out of focus" in r for r in blurred.reasons), blurred.reasons  # a Gaussian blur: no direction
    assert any(k.startswith("AutoCull|Reject|") for k in blurred.keywords)
    assert by_name[photos["dark"].name].verdict in (pb.VERDICT_REJECT, pb.VERDICT_REVIEW)
    assert any("dark" in r for r in by_name[photos["dark"].name].reasons)
    assert by_name[photos["sharp"].name].scores["sharpness"].value > blurred.scores["sharpness"].value


def test_json_over_http_uses_the_proto_json_mapping_and_jobs_poll_to_the_end(daemon, tmp_path):
    photos = _photos(tmp_path / "shoot")
    status, job = daemon.http("StartJob", {"paths": [str(tmp_path / "shoot")]})
    assert status == 200 and job["id"]
    decisions = []
    for _ in range(600):
        status, job = daemon.http("GetJob", {"jobId": job["id"], "decisionsFrom": len(decisions)})
        assert status == 200
        decisions += job["decisions"]
        if job["state"] in ("JOB_STATE_DONE", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"):
            break
        time.sleep(0.1)
    assert job["state"] == "JOB_STATE_DONE"
    assert len(decisions) == len(photos) == job["decisionsTotal"]
    d = next(d for d in decisions if d["path"] == str(photos["blurred"]))
    assert d["verdict"] == "VERDICT_REJECT" and d["pick"] == "PICK_REJECTED"
    assert isinstance(d["stars"], int) and d["reasons"]


def test_requests_without_the_token_or_from_a_browser_are_refused(daemon):
    status, body = daemon.http("GetStatus", {}, {"X-AutoCull-Token": None})
    assert status == 401 and body["code"] == "unauthenticated" and "state.json" in body["message"]
    status, body = daemon.http("GetStatus", {}, {"X-AutoCull-Token": "wrong"})
    assert status == 401
    status, body = daemon.http("GetStatus", {}, {"Origin": "https://evil.example"})
    assert status == 403 and body["code"] == "permission_denied"
    status, body = daemon.http("GetStatus", {}, {"Host": "evil.example"})
    assert status == 403
    with pytest.raises(grpc.RpcError) as info:
        daemon.grpc("GetStatus", pb.GetStatusRequest(), metadata=())
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as info:
        daemon.grpc("GetStatus", pb.GetStatusRequest(), metadata=daemon.meta + (("origin", "https://x"),))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    status, body = daemon.http("GetStatus", {})
    assert status == 200 and body["version"]


def test_bad_requests_get_clear_errors(daemon):
    status, body = daemon.http("Cull", {"paths": ["relative/path.jpg"]})
    assert status == 400 and "absolute" in body["message"]
    status, body = daemon.http("SetPolicy", {"values": {"no_such_knob": 1}})
    assert status == 400 and "no_such_knob" in body["message"]
    status, body = daemon.http("NoSuchMethod", {})
    assert status == 501
    status, body = daemon.http("GetJob", {"jobId": "nope"})
    assert status == 404


def test_policy_change_redecides_without_reading_any_image(daemon, tmp_path):
    photos = _photos(tmp_path / "shoot")
    first = daemon.grpc("Cull", pb.CullRequest(paths=[str(tmp_path / "shoot")]))
    decodes = daemon.grpc("GetStatus", pb.GetStatusRequest()).decodes
    assert decodes == len(photos)
    sharp = next(d for d in first.decisions if d.path == str(photos["sharp"]))
    assert sharp.verdict == pb.VERDICT_KEEP and sharp.quality < 1.0
    # a keep line above the sharp photo's own quality: it must now go to review
    req = pb.SetPolicyRequest()
    req.values.update({"keep_quality": 1.0})
    resp = daemon.grpc("SetPolicy", req)
    assert resp.redecided == len(photos) and resp.changed >= 1
    again = daemon.grpc("Cull", pb.CullRequest(paths=[str(tmp_path / "shoot")]))
    sharp2 = next(d for d in again.decisions if d.path == str(photos["sharp"]))
    assert sharp2.verdict == pb.VERDICT_REVIEW and sharp2.cached
    assert any("quality low" in r for r in sharp2.reasons)
    assert daemon.grpc("GetStatus", pb.GetStatusRequest()).decodes == decodes  # no image read again
    decided = daemon.grpc("Decide", pb.DecideRequest(paths=[str(tmp_path / "shoot")]))
    assert {d.path for d in decided.decisions} == {str(p) for p in photos.values()}
    assert daemon.grpc("GetStatus", pb.GetStatusRequest()).decodes == decodes


def _many(folder: Path, n: int) -> None:
    from skimage import data

    folder.mkdir(parents=True)
    big = Image.fromarray(data.astronaut()).resize((3000, 3000))
    for i in range(n):
        big.rotate(i % 4 * 90).save(folder / f"frame_{i:03d}.jpg", quality=90)


def test_a_job_can_be_cancelled(daemon, tmp_path):
    _many(tmp_path / "big", 40)
    job = daemon.grpc("StartJob", pb.CullRequest(paths=[str(tmp_path / "big")]))
    time.sleep(0.5)
    daemon.grpc("CancelJob", pb.CancelJobRequest(job_id=job.id))
    for _ in range(600):
        job = daemon.grpc("GetJob", pb.GetJobRequest(job_id=job.id))
        if job.state in (pb.JOB_STATE_CANCELLED, pb.JOB_STATE_DONE, pb.JOB_STATE_FAILED):
            break
        time.sleep(0.1)
    assert job.state == pb.JOB_STATE_CANCELLED
    assert job.done < 40


def test_sigterm_mid_job_exits_cleanly_and_leaves_a_consistent_store(tmp_path):
    d = Daemon(tmp_path / "home")
    _many(tmp_path / "big", 40)
    d.grpc("StartJob", pb.CullRequest(paths=[str(tmp_path / "big")]))
    time.sleep(1.0)
    assert d.stop() == 0
    db = sqlite3.connect(tmp_path / "home" / "autocull.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = db.execute("SELECT path, analysis FROM photos").fetchall()
    for _, analysis in rows:
        json.loads(analysis)  # every stored row is complete
    assert len(rows) < 40
    state = json.loads((tmp_path / "home" / "state.json").read_text())
    assert state["pid"] == 0  # clients can tell nobody listens any more


def test_watched_folder_photos_are_decided_in_the_background_and_served_by_cursor(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("watch_interval = 0.2\n")
    d = Daemon(home)
    try:
        inbox = tmp_path / "import"
        inbox.mkdir()
        status, body = d.http("AddWatchFolder", {"path": str(inbox)})
        assert status == 200 and body["folders"][0]["path"] == str(inbox)
        status, first = d.http("GetChanges", {"cursor": ""})
        assert status == 200 and first["decisions"] == []
        photos = _photos(tmp_path / "card")
        os.replace(photos["blurred"], inbox / photos["blurred"].name)  # lands as an import would
        decisions, cursor = [], first["nextCursor"]
        for _ in range(300):
            status, page = d.http("GetChanges", {"cursor": cursor})
            decisions += page["decisions"]
            cursor = page["nextCursor"]
            if decisions:
                break
            time.sleep(0.1)
        assert [x["path"] for x in decisions] == [str(inbox / photos["blurred"].name)]
        assert decisions[0]["verdict"] == "VERDICT_REJECT" and decisions[0]["reasons"]
        status, again = d.http("GetChanges", {"cursor": cursor})
        assert again["decisions"] == []  # nothing is served twice past the cursor
    finally:
        d.stop()


def test_bursts_call_groups_near_duplicates_and_names_the_best(daemon, tmp_path):
    from skimage import data

    shoot = tmp_path / "shoot"
    shoot.mkdir()
    astro = Image.fromarray(data.astronaut())
    astro.save(shoot / "a1.jpg", quality=92)
    astro.crop((4, 4, 508, 508)).resize((512, 512)).save(shoot / "a2.jpg", quality=85)
    astro.filter(ImageFilter.GaussianBlur(3)).save(shoot / "a3.jpg", quality=92)
    Image.fromarray(data.coffee()).save(shoot / "other.jpg", quality=92)
    status, _ = daemon.http("Cull", {"paths": [str(shoot)]})
    assert status == 200
    status, body = daemon.http("GetBursts", {"paths": [str(shoot)]})
    assert status == 200 and len(body["bursts"]) == 1
    burst = body["bursts"][0]
    assert burst["size"] == 3 and set(map(os.path.basename, burst["paths"])) == {"a1.jpg", "a2.jpg", "a3.jpg"}
    assert os.path.basename(burst["bestPath"]) != "a3.jpg"  # the blurred frame never wins
