"""`autocull report` without a browser: where it writes, what it reuses, and that a report is never culled."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from autocull.library import REPORT_MARKER, image_files, scan
from autocull.report.build import embed_json

from clirun import run_cli
from realphotos import TESTDATA

pytestmark = pytest.mark.shared_data


def small_shoot(folder: Path) -> Path:
    folder.mkdir(parents=True)
    for rel in ("burst/scenario-1/scenario-1-a.jpg", "burst/scenario-2/scenario-2-a.jpg"):
        shutil.copyfile(TESTDATA / rel, folder / Path(rel).name)
    return folder


def test_a_scan_skips_a_folder_holding_the_report_marker(tmp_path: Path) -> None:
    shoot = small_shoot(tmp_path / "shoot")
    report = shoot / "review"
    (report / "thumbs").mkdir(parents=True)
    shutil.copyfile(shoot / "scenario-1-a.jpg", report / "thumbs" / "1.jpg")
    assert str(report / "thumbs" / "1.jpg") in image_files(str(shoot))  # without the marker: taken for a photo
    (report / REPORT_MARKER).write_text("")
    files, problems = scan([str(shoot)])
    assert sorted(files) == [str(shoot / "scenario-1-a.jpg"), str(shoot / "scenario-2-a.jpg")] and not problems
    assert scan([str(report)]) == ([], [])  # named itself, it holds no photos either


def test_a_report_written_inside_the_photo_folder_is_not_culled_next_time(tmp_path: Path) -> None:
    shoot = small_shoot(tmp_path / "shoot")
    home = tmp_path / "home"
    first = run_cli(home, "report", str(shoot), "-o", str(shoot / "review"))
    # the cull made the thumbnails from the pixels it analysed: the page reads no image for them
    assert "review page of 2 photos" in first.stdout and "0 thumbnails made, 2 reused" in first.stdout
    assert sorted(p.name for p in (shoot / "review" / "thumbs").iterdir()) == ["1.jpg", "2.jpg"]
    shutil.rmtree(home / "thumbs")  # photos culled before thumbnails existed: the report makes them once
    again = run_cli(home, "report", str(shoot), "-o", str(shoot / "review"))
    assert "review page of 2 photos" in again.stdout and "2 thumbnails made, 0 reused" in again.stdout
    third = run_cli(home, "report", str(shoot), "-o", str(shoot / "review"))
    assert "0 thumbnails made, 2 reused" in third.stdout
    culled = json.loads(run_cli(home, "cull", "--json", str(shoot)).stdout)["decisions"]
    assert sorted(Path(d["path"]).name for d in culled) == ["scenario-1-a.jpg", "scenario-2-a.jpg"]


def test_a_folder_with_other_files_is_never_overwritten(tmp_path: Path) -> None:
    shoot = small_shoot(tmp_path / "shoot")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "index.html").write_text("mine")
    done = run_cli(tmp_path / "home", "report", str(shoot), "-o", str(busy), ok=False)
    assert done.returncode == 2 and "not empty and not an AutoCull report" in done.stderr
    assert (busy / "index.html").read_text() == "mine" and not (busy / REPORT_MARKER).exists()


def test_embedded_data_cannot_close_its_script_element() -> None:
    text = embed_json({"name": "</script><img src=x onerror=alert(1)>&amp;"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text) == {"name": "</script><img src=x onerror=alert(1)>&amp;"}


def page_data(out: Path) -> dict:
    """The data embedded in a written page (what its script draws from)."""
    html = (out / "index.html").read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="autocull-data">(.*?)</script>', html, re.S)
    assert found, "no data in the page"
    return json.loads(found.group(1))


def test_the_csv_and_the_page_get_the_mode_of_a_normal_file(tmp_path: Path) -> None:
    shoot = small_shoot(tmp_path / "shoot")
    for umask, mode in ((0o022, 0o644), (0o027, 0o640)):
        rep = tmp_path / f"rep-{umask:o}"
        env = dict(os.environ, AUTOCULL_HOME=str(tmp_path / "home"))
        done = subprocess.run(
            [sys.executable, "-m", "autocull", "report", str(shoot), "-o", str(rep), "--csv"],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            preexec_fn=lambda umask=umask: os.umask(umask),  # type: ignore[misc]
        )
        assert done.returncode == 0, done.stderr
        modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (rep / "index.html", rep / "autocull.csv")}
        assert modes == {"index.html": mode, "autocull.csv": mode}
        assert stat.S_IMODE((rep / "thumbs").stat().st_mode) == 0o777 & ~umask


def test_a_symlinked_thumbs_folder_is_refused_and_nothing_behind_it_is_touched(tmp_path: Path) -> None:
    # a report folder received from someone else may carry links: deleting old thumbnails must not follow them
    shoot = small_shoot(tmp_path / "shoot")
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.jpg").write_bytes(b"precious")
    (victim / "1.jpg").write_bytes(b"also mine")
    rep = tmp_path / "rep"
    rep.mkdir()
    (rep / REPORT_MARKER).write_text("")
    (rep / "thumbs").symlink_to(victim)
    done = run_cli(tmp_path / "home", "report", str(shoot), "-o", str(rep), ok=False)
    assert done.returncode == 2 and "thumbs" in done.stderr and "symbolic link" in done.stderr, done.stderr
    assert sorted(p.name for p in victim.iterdir()) == ["1.jpg", "precious.jpg"]
    assert (victim / "precious.jpg").read_bytes() == b"precious" and (victim / "1.jpg").read_bytes() == b"also mine"
    assert sorted(p.name for p in rep.iterdir()) == [REPORT_MARKER, "thumbs"]  # nothing written either


@pytest.mark.parametrize("name", [REPORT_MARKER, "index.html", "autocull.csv"])
def test_a_symlinked_page_file_is_refused(tmp_path: Path, name: str) -> None:
    shoot = small_shoot(tmp_path / "shoot")
    victim = tmp_path / "victim.txt"
    victim.write_text("mine")
    rep = tmp_path / "rep"
    rep.mkdir()
    if name != REPORT_MARKER:
        (rep / REPORT_MARKER).write_text("")
    (rep / name).symlink_to(victim)
    before = sorted(os.listdir(rep))
    done = run_cli(tmp_path / "home", "report", str(shoot), "-o", str(rep), "--csv", ok=False)
    assert done.returncode == 2 and name in done.stderr and "symbolic link" in done.stderr, done.stderr
    assert victim.read_text() == "mine" and (rep / name).is_symlink()
    assert sorted(os.listdir(rep)) == before  # nothing written


def test_an_output_that_links_to_a_photo_folder_is_judged_by_the_folder_it_names(tmp_path: Path) -> None:
    shoot = small_shoot(tmp_path / "shoot")
    before = {p.name: p.read_bytes() for p in shoot.iterdir()}
    link = tmp_path / "rep"
    link.symlink_to(shoot)
    done = run_cli(tmp_path / "home", "report", str(shoot), "-o", str(link), ok=False)
    assert done.returncode == 2 and "not empty and not an AutoCull report" in done.stderr, done.stderr
    assert {p.name: p.read_bytes() for p in shoot.iterdir()} == before
    # a link to a report folder is that report folder: the page is written where the link points
    real = tmp_path / "real-report"
    real.mkdir()
    (tmp_path / "to-report").symlink_to(real)
    run_cli(tmp_path / "home", "report", str(shoot), "-o", str(tmp_path / "to-report"))
    assert (real / "index.html").is_file() and sorted(p.name for p in (real / "thumbs").iterdir()) == [
        "1.jpg",
        "2.jpg",
    ]


def test_a_report_keeps_files_in_thumbs_it_did_not_write(tmp_path: Path) -> None:
    shoot = small_shoot(tmp_path / "shoot")
    home, rep = tmp_path / "home", tmp_path / "rep"
    run_cli(home, "report", str(shoot), "-o", str(rep))
    (rep / "thumbs" / "notes.txt").write_text("mine")
    (rep / "thumbs" / "7.jpg.keep").write_text("mine too")
    run_cli(home, "report", str(shoot), "-o", str(rep))
    assert sorted(p.name for p in (rep / "thumbs").iterdir()) == ["1.jpg", "2.jpg"]
    kept = [p for p in rep.rglob("*") if p.name in ("notes.txt", "7.jpg.keep")]
    assert sorted(p.read_text() for p in kept) == ["mine", "mine too"]


@pytest.mark.e2e
def test_a_cancelled_report_leaves_the_previous_page_whole(tmp_path: Path) -> None:
    from daemon import Daemon
    from test_shutdown import _analysing, _slow_folder, _until

    out = tmp_path / "out"
    run_cli(tmp_path / "home0", "report", str(small_shoot(tmp_path / "shoot")), "-o", str(out))
    thumbs = [p["thumb"] for p in page_data(out)["photos"]]
    assert thumbs == ["thumbs/1.jpg", "thumbs/2.jpg"]
    before = {rel: (out / rel).read_bytes() for rel in ["index.html", *thumbs]}

    folder = _slow_folder(tmp_path / "big")
    daemon = Daemon(tmp_path / "home")
    try:
        env = {k: v for k, v in os.environ.items() if k != "AUTOCULL_HOME"}
        cli = subprocess.Popen(
            [sys.executable, "-m", "autocull", "--home", str(daemon.home), "report", str(folder), "-o", str(out)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _until(lambda: _analysing(daemon))
        cli.send_signal(signal.SIGINT)
        _, err = cli.communicate(timeout=120)
        assert cli.returncode == 130 and "no page written" in err and "Traceback" not in err, err
    finally:
        daemon.stop()
    assert {rel: (out / rel).read_bytes() for rel in before} == before
    assert sorted(p.name for p in out.iterdir()) == [REPORT_MARKER, "index.html", "thumbs"]  # no temp folder left
    assert sorted(p.name for p in (out / "thumbs").iterdir()) == ["1.jpg", "2.jpg"]


def test_a_photo_whose_thumbnail_hangs_gets_a_reason_and_the_report_finishes(tmp_path: Path) -> None:
    shoot = small_shoot(tmp_path / "shoot")
    home, rep = tmp_path / "home", tmp_path / "rep"
    run_cli(home, "report", str(shoot), "-o", str(rep))
    shutil.rmtree(home / "thumbs")  # the thumbnails are to be made again by the report
    (home / "config.toml").write_text("file_timeout_seconds = 2\n")
    env = dict(os.environ, AUTOCULL_HOME=str(home), AUTOCULL_FAULT_HANG_ON="scenario-1-a")
    done = subprocess.run(
        [sys.executable, "-m", "autocull", "report", str(shoot), "-o", str(rep)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,  # the hung worker is killed, not waited for: the command ends
    )
    assert done.returncode == 0, done.stderr
    assert "1 thumbnails made, 0 reused, 1 without one" in done.stdout, done.stdout
    photos = {p["name"]: p for p in page_data(rep)["photos"]}
    hung, fine = photos["scenario-1-a.jpg"], photos["scenario-2-a.jpg"]
    assert hung["thumb"] is None and "took longer than 2 s" in hung["thumbError"], hung["thumbError"]
    assert fine["thumb"] and (rep / fine["thumb"]).is_file() and not fine["thumbError"]
    assert sorted(p.name for p in (rep / "thumbs").iterdir()) == [Path(fine["thumb"]).name]


def test_a_killed_report_takes_its_thumbnail_workers_along(tmp_path: Path) -> None:
    # kill -9, the OOM killer or a crash of `report` while it makes thumbnails: its workers end with it, even one
    # stuck on a file (a hung share), instead of running on for good under pid 1
    import time

    from autocull.config import usable_cpus

    from procs import descendants, state

    shoot = small_shoot(tmp_path / "shoot")
    home, rep = tmp_path / "home", tmp_path / "rep"
    run_cli(home, "report", str(shoot), "-o", str(rep))
    shutil.rmtree(home / "thumbs")  # the thumbnails are to be made again by the report
    env = dict(os.environ, AUTOCULL_HOME=str(home), AUTOCULL_FAULT_HANG_ON="scenario-1-a")
    cli = subprocess.Popen(
        [sys.executable, "-m", "autocull", "report", str(shoot), "-o", str(rep)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        workers: dict[int, int] = {}
        while len(workers) < min(2, usable_cpus()):  # the thumbnail workers started (one hangs on its photo)
            assert cli.poll() is None and time.monotonic() < deadline, "the report ended before its workers started"
            workers = descendants(cli.pid)
            time.sleep(0.05)
        started = {pid: state(pid) for pid in workers}
        cli.kill()
        cli.wait(30)
        deadline = time.monotonic() + 30
        alive = {pid for pid, s in started.items() if s is not None and state(pid) == s}
        while alive and time.monotonic() < deadline:
            time.sleep(0.1)
            alive = {pid for pid in alive if (now := state(pid)) is not None and now[1] == started[pid][1]}
        assert not alive, f"thumbnail workers left running after the report was killed: {sorted(alive)}"
    finally:
        if cli.poll() is None:
            cli.kill()
