"""Big answers come in pages (issue 12, item 3): a 100,000-photo Decide over gRPC and over JSON,
a 7,000-photo Cull/GetJob/WatchJob over gRPC (one message used to pass gRPC's 4 MiB) and
`autocull cull` of 7,000 photos, all against the real daemon on a real store.

The store is seeded the way a daemon that already analysed a library has it: one small real JPEG,
hard-linked once per photo, analysed once by the real engine; that analysis is stored for every
path with the file's real size and mtime through the Store API, each photo a minute after the
previous one (no bursts), so a cull finds every photo valid and reads no image.
"""

from __future__ import annotations

import dataclasses
import http.client
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from autocull.v1 import autocull_pb2 as pb

from daemon import Daemon

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CARD = 7_000  # a photographer's card; one answer of it passed 4 MiB
LIBRARY = 100_000
GRPC_DEFAULT_LIMIT = 4 * 1024 * 1024
LINKS_PER_FILE = 50_000


def _seed(home: Path, source_dir: Path, folders: dict[Path, int]) -> None:
    """Store a real analysis for ``n`` hard links of one real JPEG in each folder."""
    from PIL import Image
    from skimage import data

    from autocull import ANALYZER_VERSION
    from autocull.engine import Engine

    source_dir.mkdir(parents=True)
    source = source_dir / "frame.jpg"
    Image.fromarray(data.astronaut()).resize((256, 256)).save(source, quality=90)
    engine = Engine.open(home)
    try:
        analysis, cached = engine.analyze_one(str(source))
        assert not cached
        engine.store.forget_missing([str(source)])  # only the library's photos are stored
        t0, k = 1_700_000_000.0, 0
        for folder, n in folders.items():
            folder.mkdir(parents=True)
            for i in range(n):
                if k % LINKS_PER_FILE == 0:  # a file takes only so many links (65,000 on ext4)
                    copy = source_dir / f"frame-{k // LINKS_PER_FILE}.jpg"
                    shutil.copyfile(source, copy)
                    st = copy.stat()
                path = folder / f"IMG_{i:06d}.jpg"
                os.link(copy, path)
                ts = t0 + 60.0 * k
                k += 1
                when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts))
                exif = dataclasses.replace(analysis.exif, capture_ts=ts, capture_time=when)
                engine.store.put_analysis(
                    str(path), st.st_size, st.st_mtime_ns, ANALYZER_VERSION, dataclasses.replace(analysis, exif=exif)
                )
    finally:
        engine.close()


def _status(d: Daemon) -> dict[str, str]:
    text = Path(f"/proc/{d.proc.pid}/status").read_text()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def _rss(d: Daemon) -> str:
    """The daemon's resident memory now and at its peak (Linux /proc)."""
    fields = _status(d)
    return f"RSS {fields['VmRSS'].strip()}, peak {fields['VmHWM'].strip()}"


# The daemon's peak memory while it answers 100,000 decisions: flat means it holds pages, not the library
# (100,000 decision records alone are about 430 MB; the daemon starts at about 60 MB).
FLAT_PEAK_MB = 300


def _peak_mb(d: Daemon) -> float:
    return int(_status(d)["VmHWM"].split()[0]) / 1024


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("paging")
    lib = root / "library"
    card, archive = lib / "card", lib / "archive"
    started = time.time()
    # the archive (older) first: times follow the paths' order, as in a library of dated folders
    _seed(root / "home", root / "source", {archive: LIBRARY - CARD, card: CARD})
    print(f"\nseeded {LIBRARY} photos in {time.time() - started:.1f}s")
    d = Daemon(root / "home")
    print(f"daemon started: {_rss(d)}")
    yield d, lib, card
    d.stop()


def _names(folder: Path) -> set[str]:
    return {str(folder / n) for n in os.listdir(folder)}


def test_a_100000_photo_decide_over_grpc_comes_page_by_page_with_every_photo_once(library):
    d, lib, _ = library
    seen: set[str] = set()
    token, pages, started = "", 0, time.time()
    while True:
        page = d.grpc("Decide", pb.DecideRequest(paths=[str(lib)], page_token=token))
        assert 0 < len(page.decisions) <= 1000 and page.ByteSize() < GRPC_DEFAULT_LIMIT
        assert page.decisions_total == LIBRARY
        assert page.counts.total == len(page.decisions)  # the counts of this page
        for x in page.decisions:
            assert x.path not in seen, x.path
            assert x.verdict != pb.VERDICT_UNSPECIFIED and x.reasons and x.cached
            assert not x.burst_id  # a minute apart: no bursts
            seen.add(x.path)
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert pages == LIBRARY // 1000
    assert seen == _names(lib / "card") | _names(lib / "archive")
    assert d.grpc("GetStatus", pb.GetStatusRequest()).decodes == 0  # read from the store alone
    print(f"\ngRPC Decide of {LIBRARY}: {pages} pages in {time.time() - started:.1f}s; daemon {_rss(d)}")
    assert _peak_mb(d) < FLAT_PEAK_MB


def test_a_100000_photo_decide_over_json_comes_page_by_page_with_every_photo_once(library):
    d, lib, _ = library
    conn = http.client.HTTPConnection("127.0.0.1", d.state["http_port"], timeout=300)
    seen: set[str] = set()
    body: dict = {"paths": [str(lib)], "pageSize": 2000}
    pages, started = 0, time.time()
    try:
        while True:
            status, page = d.http("Decide", body, conn=conn)
            assert status == 200, page
            assert 0 < len(page["decisions"]) <= 2000 and page["decisionsTotal"] == LIBRARY
            for x in page["decisions"]:
                assert x["path"] not in seen, x["path"]
                assert x["verdict"] != "VERDICT_UNSPECIFIED"
                seen.add(x["path"])
            pages += 1
            if not page["nextPageToken"]:
                break
            body["pageToken"] = page["nextPageToken"]
    finally:
        conn.close()
    assert pages == LIBRARY // 2000
    assert seen == _names(lib / "card") | _names(lib / "archive")
    print(f"\nJSON Decide of {LIBRARY}: {pages} pages in {time.time() - started:.1f}s; daemon {_rss(d)}")
    assert _peak_mb(d) < FLAT_PEAK_MB


def test_decide_page_size_and_token_are_checked(library):
    d, lib, card = library
    page = d.grpc("Decide", pb.DecideRequest(paths=[str(card)], page_size=50_000))
    assert len(page.decisions) == 2000 and page.decisions_total == CARD  # capped
    for bad in ("not a token", "eyJ4IjoxfQ", page.next_page_token[:-3]):
        with pytest.raises(grpc.RpcError) as info:
            d.grpc("Decide", pb.DecideRequest(paths=[str(card)], page_token=bad))
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "page_token" in info.value.details()
    with pytest.raises(grpc.RpcError) as info:  # a token of another request: its paths differ
        d.grpc("Decide", pb.DecideRequest(paths=[str(lib)], page_token=page.next_page_token))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as info:
        d.grpc("Decide", pb.DecideRequest(paths=[str(card)], page_size=-1))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # named files: only stored ones count, and a page of them follows the same token
    named = sorted(_names(card))[:3] + [str(card / "not-stored.jpg")]
    first = d.grpc("Decide", pb.DecideRequest(paths=named, page_size=2))
    rest = d.grpc("Decide", pb.DecideRequest(paths=named, page_size=2, page_token=first.next_page_token))
    assert first.decisions_total == 3 and not rest.next_page_token
    assert [x.path for x in first.decisions] + [x.path for x in rest.decisions] == named[:3]
    status, answer = d.http("Decide", {"paths": [str(card)], "pageToken": "%%%"})
    assert status == 400 and answer["code"] == "invalid_argument"


def test_a_7000_photo_cull_and_its_job_over_grpc_answer_in_pages_under_4_mib(library):
    d, _, card = library
    started = time.time()
    resp = d.grpc("Cull", pb.CullRequest(paths=[str(card)]))
    took = time.time() - started
    assert resp.counts.total == CARD and resp.counts.cached == CARD and resp.counts.failed == 0
    assert resp.decisions_total == CARD and len(resp.decisions) == 1000 and resp.next_page_token and resp.job_id
    assert resp.ByteSize() < GRPC_DEFAULT_LIMIT
    decisions = list(resp.decisions)
    while len(decisions) < resp.decisions_total:
        job = d.grpc("GetJob", pb.GetJobRequest(job_id=resp.job_id, decisions_from=len(decisions)))
        assert job.state == pb.JOB_STATE_DONE and job.decisions_from == len(decisions)
        assert 0 < len(job.decisions) <= 1000 and job.ByteSize() < GRPC_DEFAULT_LIMIT
        decisions += job.decisions
    assert [x.path for x in decisions] == sorted(_names(card))  # the folder's order, each photo once
    assert sum(x.ByteSize() for x in decisions) > GRPC_DEFAULT_LIMIT  # one message would not have fitted
    whole = d.grpc("GetJob", pb.GetJobRequest(job_id=resp.job_id, page_size=2000))
    assert len(whole.decisions) == 2000 and whole.decisions_total == CARD
    # WatchJob of the finished job: the decisions in messages of one page each
    stream = d.stub.WatchJob(pb.GetJobRequest(job_id=resp.job_id), metadata=d.meta, timeout=300)
    watched = [m for m in stream]
    assert max(len(m.decisions) for m in watched) == 1000
    assert [x.path for m in watched for x in m.decisions] == [x.path for x in decisions]
    assert watched[-1].state == pb.JOB_STATE_DONE
    assert d.grpc("GetStatus", pb.GetStatusRequest()).decodes == 0  # the seeded store was valid
    print(f"\ngRPC Cull of {CARD} in {took:.1f}s; daemon {_rss(d)}")


def test_autocull_cull_of_7000_photos_prints_every_photo_and_the_right_count(library):
    d, _, card = library
    env = dict(os.environ, AUTOCULL_HOME=str(d.home))
    cli = subprocess.run(
        [sys.executable, "-m", "autocull", "cull", str(card)], env=env, capture_output=True, text=True, timeout=600
    )
    assert cli.returncode == 0, cli.stderr
    assert "no daemon running" not in cli.stderr  # it asked the daemon
    lines = cli.stdout.splitlines()
    rows = [ln for ln in lines if ln.split(" ", 1)[0] in ("keep", "review", "reject", "FAILED")]
    assert len(rows) == CARD
    assert {ln[14:46].strip() for ln in rows} == {f"IMG_{i:06d}.jpg" for i in range(CARD)}  # each photo once
    summary = next(ln for ln in lines if " photos: " in ln)
    assert summary.startswith(f"{CARD} photos: ") and "0 failed" in summary
