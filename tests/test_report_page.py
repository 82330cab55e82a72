"""The review page of `autocull report` in a real browser (Debian's chromium, headless, through selenium).

One real shoot is culled and reported once: a 3-frame burst (made from the shared series with EXIF times), a
closed-eye and an open-eye face, a unicode name, a file named like HTML, a truncated JPEG and an empty one. The
page is checked against `autocull cull --json` of the same folder (the stored decisions).
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from autocull.library import REPORT_MARKER

from browser import artifacts_dir, chromium, open_page
from clirun import run_cli
from daemon import Daemon
from realphotos import TESTDATA, copy_photos, shared_dir
from test_bursts import T0, exif_block, frame, series, write

pytestmark = [pytest.mark.shared_data, pytest.mark.slow]

HOSTILE = "<img src=x onerror=alert(1)>.jpg"
UNICODE = "Ünïcødé 写真 ☀.jpg"
BURST = ["IMG_0501.jpg", "IMG_0502.jpg", "IMG_0503.jpg"]


@pytest.fixture(scope="module")
def shoot(tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("report")
    folder = root / "shoot"
    folder.mkdir()
    base = series("scenario-3-c")
    for k, (name, dx, blur) in enumerate(zip(BURST, (0, 6, 12), (1.6, 0.0, 2.2))):
        write(folder / name, frame(base, dx=dx, blur=blur), exif_block(T0 + timedelta(milliseconds=150 * k)))
    faces = shared_dir("faces")
    shutil.copyfile(sorted((faces / "closed").glob("*.jpg"))[3], folder / "closed-eyes.jpg")
    shutil.copyfile(sorted((faces / "open").glob("*.jpg"))[0], folder / "open-eyes.jpg")
    shutil.copyfile(TESTDATA / "burst/scenario-1/scenario-1-a.jpg", folder / HOSTILE)
    shutil.copyfile(TESTDATA / "burst/scenario-2/scenario-2-a.jpg", folder / UNICODE)
    (folder / "truncated.jpg").write_bytes((TESTDATA / "burst/scenario-2/scenario-2-b.jpg").read_bytes()[:4000])
    (folder / "empty.jpg").write_bytes(b"")
    before = sorted(os.listdir(folder))

    home, out = root / "home", root / "out"
    report = run_cli(home, "report", str(folder), "-o", str(out))
    culled = json.loads(run_cli(home, "cull", "--json", str(folder)).stdout)["decisions"]
    assert sorted(os.listdir(folder)) == before  # nothing written into the photo folder
    return {
        "folder": folder,
        "out": out,
        "stdout": report.stdout,
        "decisions": {Path(d["path"]).name: d for d in culled},
    }


@pytest.fixture(scope="module")
def page(shoot):
    with chromium() as driver:
        open_page(driver, shoot["out"] / "index.html")
        yield driver


VERDICT = {"VERDICT_KEEP": "keep", "VERDICT_REVIEW": "review", "VERDICT_REJECT": "reject"}


def verdict(d: dict[str, Any]) -> str:
    return VERDICT.get(d.get("verdict", ""), "failed")


def tiles(driver, only_visible: bool = False) -> list[dict[str, Any]]:
    return driver.execute_script(
        """return Array.from(document.querySelectorAll('.tile'))
             .filter(t => !arguments[0] || t.offsetParent !== null)
             .map(t => ({name: t.getAttribute('data-name'), verdict: t.getAttribute('data-verdict'),
                         title: t.getAttribute('title'), text: t.innerText, i: t.getAttribute('data-i'),
                         selected: t.classList.contains('selected')}))""",
        only_visible,
    )


def click(driver, css: str) -> None:
    driver.find_element("css selector", css).click()


def test_summary_line_says_where_and_how_many(shoot):
    line = shoot["stdout"].strip().splitlines()[-1]
    assert str(shoot["out"] / "index.html") in line and "of 9 photos" in line
    # the cull made the thumbnails from the pixels it analysed (no image read for them); the failed files have none
    assert "0 thumbnails made, 7 reused, 2 without one" in line, line


def test_every_photo_is_on_the_page_with_its_verdict_and_reasons(shoot, page):
    on_page = {t["name"]: t for t in tiles(page)}
    assert sorted(on_page) == sorted(shoot["decisions"])
    for name, d in shoot["decisions"].items():
        assert on_page[name]["verdict"] == verdict(d), name
        for reason in d.get("reasons", []):
            assert reason in on_page[name]["title"], (name, reason)
        if verdict(d) == "failed":
            assert d["error"]["message"] in on_page[name]["title"]
    counts = page.execute_script(
        "return Object.fromEntries(Array.from(document.querySelectorAll('[data-count]'))"
        ".map(c => [c.getAttribute('data-count'), Number(c.querySelector('b').textContent)]))"
    )
    assert counts["failed"] == 2 and counts["photos"] == 9 and counts["bursts"] == 1
    failures = page.find_element("css selector", "#summary .failures").get_attribute("textContent")
    assert "truncated.jpg" in failures and "empty.jpg" in failures


def test_selecting_a_photo_shows_its_reasons_in_the_detail_panel(shoot, page):
    click(page, '#filters button[data-filter="all"]')
    d = shoot["decisions"]["closed-eyes.jpg"]
    page.find_element("css selector", '.tile[data-name="closed-eyes.jpg"]').click()
    shown = [li.text for li in page.find_elements("css selector", "#detail .reasons li")]
    assert shown == d["reasons"] and shown


def test_each_filter_shows_exactly_its_photos(shoot, page):
    decisions = shoot["decisions"]

    def best(d: dict[str, Any]) -> bool:
        return verdict(d) != "failed" and (d.get("burstSize", 0) <= 1 or d.get("burstBest", False))

    expected = {
        "all": set(decisions),
        "keep": {n for n, d in decisions.items() if verdict(d) == "keep"},
        "review": {n for n, d in decisions.items() if verdict(d) == "review"},
        "reject": {n for n, d in decisions.items() if verdict(d) == "reject"},
        "failed": {"truncated.jpg", "empty.jpg"},
        "best": {n for n, d in decisions.items() if best(d)},
    }
    assert len(expected["best"] & set(BURST)) == 1  # one frame of the burst
    for name, want in expected.items():
        click(page, f'#filters button[data-filter="{name}"]')
        assert {t["name"] for t in tiles(page, only_visible=True)} == want, name
    click(page, '#filters button[data-filter="all"]')


def test_the_burst_is_grouped_best_frame_first(shoot, page):
    decisions = shoot["decisions"]
    assert {decisions[n].get("burstSize") for n in BURST} == {3}, "the generated frames should form one burst"
    names = page.execute_script(
        "return Array.from(document.querySelectorAll('.burst.multi .tile')).map(t => t.getAttribute('data-name'))"
    )
    ranked = sorted(BURST, key=lambda n: decisions[n]["burstRank"])
    assert names == ranked and decisions[names[0]]["burstBest"]


def test_face_overlays_show_the_eye_state(shoot, page):
    eye = {"EYE_STATE_OPEN": "eyes open", "EYE_STATE_CLOSED": "eyes closed", "EYE_STATE_UNCERTAIN": "eyes uncertain"}
    click(page, '#filters button[data-filter="all"]')
    if "show-faces" not in page.find_element("tag name", "body").get_attribute("class"):
        click(page, '#overlays button[data-overlay="faces"]')
    for name in ("closed-eyes.jpg", "open-eyes.jpg"):
        faces = shoot["decisions"][name].get("faces", [])
        assert faces, f"{name}: the face detector found no face"
        labels = page.execute_script(
            "return Array.from(document.querySelectorAll('.tile[data-name=\"' + arguments[0] + '\"] .ov-face'))"
            ".filter(f => f.offsetParent !== null).map(f => f.querySelector('.eye-label').textContent)",
            name,
        )
        assert labels == [eye[f["eyeState"]] for f in faces], name
    assert eye[shoot["decisions"]["open-eyes.jpg"]["faces"][0]["eyeState"]] == "eyes open"
    # the toggle hides them
    click(page, '#overlays button[data-overlay="faces"]')
    assert not page.find_element("css selector", '.tile[data-name="open-eyes.jpg"] .ov-face').is_displayed()
    click(page, '#overlays button[data-overlay="faces"]')


def test_keyboard_moves_the_selection_and_space_opens_the_lightbox(shoot, page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    click(page, '#filters button[data-filter="all"]')
    order = [t["name"] for t in tiles(page, only_visible=True)]
    page.find_element("css selector", f'.tile[data-name="{order[0]}"]').click()
    keys = ActionChains(page)
    keys.send_keys(Keys.ARROW_RIGHT).send_keys(Keys.ARROW_RIGHT).perform()
    assert [t["name"] for t in tiles(page) if t["selected"]] == [order[2]]
    ActionChains(page).send_keys(Keys.ARROW_LEFT).perform()
    assert [t["name"] for t in tiles(page) if t["selected"]] == [order[1]]

    ActionChains(page).send_keys(" ").perform()
    box = page.find_element("id", "lightbox")
    assert box.is_displayed()
    assert order[1] in page.find_element("id", "lb-caption").text
    shot = artifacts_dir() / "report-page-lightbox.png"
    page.save_screenshot(str(shot))
    ActionChains(page).send_keys(Keys.ESCAPE).perform()
    assert not box.is_displayed()

    ActionChains(page).send_keys("5").perform()
    five = {n for n, d in shoot["decisions"].items() if d.get("stars", 0) >= 5}
    assert {t["name"] for t in tiles(page, only_visible=True)} == five
    ActionChains(page).send_keys("0").perform()
    assert len(tiles(page, only_visible=True)) == 9
    shot = artifacts_dir() / "report-page.png"
    page.save_screenshot(str(shot))
    print(f"\nscreenshots: {shot} and {shot.with_name('report-page-lightbox.png')}")


def test_the_lightbox_of_a_failed_file_shows_its_reason_not_a_broken_image(shoot, page):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    click(page, '#filters button[data-filter="all"]')
    for name in ("truncated.jpg", "empty.jpg"):  # a name the browser would try to show
        d = shoot["decisions"][name]
        page.find_element("css selector", f'.tile[data-name="{name}"]').click()
        ActionChains(page).send_keys(" ").perform()
        assert page.find_element("id", "lightbox").is_displayed()
        assert page.execute_script("return document.querySelectorAll('#lb-frame img').length") == 0, name
        shown = page.find_element("id", "lb-placeholder").text
        assert d["error"]["message"] in shown and d["error"]["code"] in shown, (name, shown)
        ActionChains(page).send_keys(Keys.ESCAPE).perform()


def test_html_in_a_file_name_is_shown_as_text_never_as_markup(shoot, page):
    assert page.execute_script("return document.querySelectorAll('img[src=\"x\"], [onerror]').length") == 0
    names = [e.text for e in page.find_elements("css selector", ".tile .name")]
    assert HOSTILE in page.execute_script(
        "return Array.from(document.querySelectorAll('.tile .name')).map(e => e.textContent)"
    )
    assert UNICODE in page.execute_script(
        "return Array.from(document.querySelectorAll('.tile .name')).map(e => e.textContent)"
    ), names
    html = (shoot["out"] / "index.html").read_text(encoding="utf-8")
    assert HOSTILE not in html and "\\u003cimg src=x onerror=alert(1)\\u003e" in html


# ------------------------------------------------------- through the real daemon, and --csv --
SMALL = ["camera/sharp/rbh-054.jpg", "camera/blurred/rbh-027.jpg"]


def page_photos(out: Path) -> dict[str, dict[str, Any]]:
    """The photos embedded in a written page, by name (what the page's script draws from)."""
    html = (out / "index.html").read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="autocull-data">(.*?)</script>', html, re.S)
    assert found, "no data in the page"
    return {p["name"]: p for p in json.loads(found.group(1))["photos"]}


def csv_rows(text: str) -> list[dict[str, str]]:
    return sorted(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")), key=lambda r: r["path"])


def cli_at(home: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """The CLI told where the home is by --home only: it finds a daemon there through state.json."""
    env = {k: v for k, v in os.environ.items() if k != "AUTOCULL_HOME"}
    done = subprocess.run(
        [sys.executable, "-m", "autocull", "--home", str(home), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        encoding="utf-8",
    )
    assert done.returncode == 0 or not check, done.stderr
    return done


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("small") / "shoot"
    faces = sorted((shared_dir("faces") / "open").glob("*.jpg"))
    copy_photos(folder, SMALL + [str(faces[0].relative_to(TESTDATA))])
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a photo")
    return folder


@pytest.mark.e2e
def test_the_report_through_the_daemon_is_the_in_process_page_with_the_culls_thumbnails(small, tmp_path):
    local = cli_at(tmp_path / "local-home", "report", str(small), "-o", str(tmp_path / "local"), "--csv")
    assert "no daemon running" in local.stderr
    daemon = Daemon(tmp_path / "home")
    try:
        from autocull.v1 import autocull_pb2 as pb

        out = tmp_path / "via-daemon"
        served = cli_at(daemon.home, "report", str(small), "-o", str(out), "--csv")
        assert "no daemon running" not in served.stderr, served.stderr
        # the daemon's cull made the thumbnails from the pixels it analysed; the report copied them
        assert (
            "review page of 4 photos" in served.stdout and "0 thumbnails made, 3 reused, 1 without one" in served.stdout
        )
        decodes = daemon.grpc("GetStatus", pb.GetStatusRequest()).decodes
        again = cli_at(daemon.home, "report", str(small), "-o", str(tmp_path / "again"))
        assert "0 thumbnails made, 3 reused, 1 without one" in again.stdout
        # answered from the store: only the broken file is tried again (as every failed file is, on each cull)
        assert daemon.grpc("GetStatus", pb.GetStatusRequest()).decodes == decodes + 1
        table = cli_at(daemon.home, "cull", "--csv", str(small)).stdout
    finally:
        daemon.stop()

    here, there = page_photos(tmp_path / "local"), page_photos(out)
    assert sorted(there) == sorted(os.listdir(small))
    assert sorted(here) == sorted(there)
    for name, p in there.items():
        assert {k: v for k, v in p.items() if k not in ("n", "thumb")} == {
            k: v for k, v in here[name].items() if k not in ("n", "thumb")
        }, name
        assert (p["thumb"] is None) == (name == "broken.jpg") and (p["thumb"] is None or (out / p["thumb"]).is_file())
    assert there["broken.jpg"]["verdict"] == "failed" and there["rbh-027.jpg"]["streak"]

    # report --csv: beside the page, one row per photo, the rows `cull --csv` prints; no temp file left
    written = (out / "autocull.csv").read_text(encoding="utf-8")
    assert written.startswith("\ufeff") and table.startswith("\ufeff")
    rows = csv_rows(written)
    assert [Path(r["path"]).name for r in rows] == sorted(os.listdir(small))
    assert rows == csv_rows(table)
    assert csv_rows((tmp_path / "local" / "autocull.csv").read_text(encoding="utf-8")) == rows
    assert sorted(p.name for p in out.iterdir() if p.name != "thumbs") == sorted(
        [REPORT_MARKER, "index.html", "autocull.csv"]
    )


@pytest.mark.e2e
@pytest.mark.parametrize("how", ["daemon stopped", "ctrl-c"])
def test_a_report_whose_cull_does_not_finish_leaves_no_page_and_no_csv(tmp_path, how):
    from test_shutdown import _analysing, _slow_folder, _until

    folder = _slow_folder(tmp_path / "big")
    daemon = Daemon(tmp_path / "home")
    out = tmp_path / "out"
    try:
        env = {k: v for k, v in os.environ.items() if k != "AUTOCULL_HOME"}
        cli = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "autocull",
                "--home",
                str(daemon.home),
                "report",
                str(folder),
                "-o",
                str(out),
                "--csv",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _until(lambda: _analysing(daemon))
        assert [p.name for p in out.glob(".autocull.csv.*")], "the table is written as the decisions come"
        if how == "daemon stopped":
            daemon.proc.send_signal(signal.SIGTERM)
            assert daemon.proc.wait(60) == 0
        else:
            cli.send_signal(signal.SIGINT)
        _, err = cli.communicate(timeout=120)
        assert cli.returncode != 0 and "no page written" in err, err
        assert "Traceback" not in err, err
        if how == "ctrl-c":
            from autocull.v1 import autocull_pb2 as pb

            _until(lambda: daemon.grpc("GetStatus", pb.GetStatusRequest()).jobs_running == 0)
    finally:
        daemon.stop()
    left = sorted(p.name for p in out.iterdir() if p.name != "thumbs")
    assert left == [REPORT_MARKER], left  # no index.html, no autocull.csv, no temp file
