"""`autocull cull --csv`: one row per photo a spreadsheet opens and Python's csv module reads back whole, that
`autocull teach --csv` reads as ratings, and that no spreadsheet runs as a formula.

Real photos from the shared test data under hostile names, the real CLI (in-process engine), no mocks.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from autocull.csvout import COLUMNS, row, safe_path, write_csv
from autocull.taste.ratings import read_csv
from autocull.v1 import autocull_pb2 as pb

from realphotos import TESTDATA

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
NAMES = {
    "faces/closed/closed_eye_0002.jpg_face_2.jpg": "Zoë, the bride\nblinks.jpg",
    "burst/scenario-1/scenario-1-a.jpg": '=HYPERLINK("x","y").jpg',
    "burst/scenario-1/scenario-1-b.jpg": "+1-2@3.jpg",
    "burst/scenario-2/scenario-2-a.jpg": "港の夕景; naïve,1.jpg",
    "faces/open/" + sorted(os.listdir(TESTDATA / "faces" / "open"))[0]: '@SUM(A1) "quoted".jpg',
}
BROKEN = '-broken, "not a photo".jpg'


def _run(args: list[str], home: Path) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, AUTOCULL_HOME=str(home))
    return subprocess.run([sys.executable, "-m", "autocull", *args], env=env, capture_output=True, timeout=600)


@pytest.fixture(scope="module")
def culled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, bytes]:
    """A shoot of real photos with hostile names and one broken file, and the bytes `cull --csv` printed."""
    root = tmp_path_factory.mktemp("csv")
    shoot = root / "shoot"
    shoot.mkdir()
    for rel, name in NAMES.items():
        src = TESTDATA / rel
        assert src.is_file(), f"shared test data missing: {src}"
        shutil.copyfile(src, shoot / name)
    (shoot / BROKEN).write_bytes(b"this is a text file, not a JPEG")
    cli = _run(["cull", "--csv", str(shoot)], root / "home")
    assert cli.returncode == 0, cli.stderr.decode()
    return shoot, cli.stdout


def _rows(data: bytes) -> list[dict[str, str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, so Excel does not read the names as ANSI"
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))
    header = next(reader)
    assert tuple(header) == COLUMNS
    return [dict(zip(header, cells, strict=True)) for cells in reader]


def test_every_photo_is_one_row_and_names_round_trip(culled: tuple[Path, bytes]) -> None:
    shoot, data = culled
    rows = _rows(data)
    assert sorted(r["path"] for r in rows) == sorted(str(shoot / n) for n in [*NAMES.values(), BROKEN])
    for r in rows:
        if r["path"].endswith(BROKEN):
            continue
        assert r["verdict"] in ("keep", "review", "reject"), r
        assert r["stars"] in "012345" and r["stars"], r
        assert 0.0 <= float(r["quality"]) <= 1.0
        assert r["reasons"] or r["verdict"] == "keep", r  # a review or reject always says why


def test_a_failed_file_is_a_row_with_its_error_and_no_rating(culled: tuple[Path, bytes]) -> None:
    shoot, data = culled
    (broken,) = [r for r in _rows(data) if r["path"] == str(shoot / BROKEN)]
    assert broken["error_code"] == "UNSUPPORTED"
    assert BROKEN in broken["error"] and not broken["error"].startswith(FORMULA_START)
    assert broken["verdict"] == broken["stars"] == broken["pick"] == broken["label"] == broken["quality"] == ""


def test_the_closed_eye_face_counts_in_faces_and_scores_are_fractions(culled: tuple[Path, bytes]) -> None:
    shoot, data = culled
    rows = {Path(r["path"]).name: r for r in _rows(data)}
    bride = rows["Zoë, the bride\nblinks.jpg"]
    assert int(bride["faces"]) >= 1 and bride["eyes"], bride
    for r in rows.values():
        for key in ("sharpness", "subject_sharpness", "exposure", "noise", "eyes", "preference"):
            assert r[key] == "" or 0.0 <= float(r[key]) <= 1.0, (key, r)


def test_no_text_cell_starts_like_a_formula(culled: tuple[Path, bytes]) -> None:
    _, data = culled
    for r in _rows(data):
        for cell in r.values():
            if cell.startswith(FORMULA_START):
                float(cell)  # only a number we wrote may start with '-' (none do today); text never


def test_text_that_would_run_as_a_formula_is_neutralised() -> None:
    # Camera names and reasons come from EXIF and sentences: a crafted EXIF model must not become a formula.
    d = pb.Decision(
        path="/photos/a.jpg",
        verdict=pb.VERDICT_REVIEW,
        stars=2,
        camera="=cmd|' /C calc'!A0",
        reasons=["@SUM(1)", "second"],
        burst_id="+x",
        capture_time="-1",
        error=pb.FileError(code="", message=""),
    )
    cells = dict(zip(COLUMNS, row(d), strict=True))
    assert cells["camera"] == "'=cmd|' /C calc'!A0"
    assert cells["reasons"] == "'@SUM(1) | second"
    assert cells["burst_id"] == "'+x" and cells["capture_time"] == "'-1"
    assert safe_path("=evil.jpg") == "./=evil.jpg" and safe_path("/abs/=evil.jpg") == "/abs/=evil.jpg"


def test_write_csv_streams_any_iterable_and_counts_rows() -> None:
    out = io.StringIO(newline="")
    decisions = (pb.Decision(path=f"/p/{k},x.jpg", verdict=pb.VERDICT_KEEP, stars=3) for k in range(3))
    assert write_csv(decisions, out) == 3
    rows = list(csv.reader(io.StringIO(out.getvalue().removeprefix("\ufeff"), newline="")))
    assert [r[0] for r in rows[1:]] == ["/p/0,x.jpg", "/p/1,x.jpg", "/p/2,x.jpg"]


def _teach_from(rows: list[dict[str, str]], csv_path: Path) -> dict[str, object]:
    """Write ``rows`` as a spreadsheet saves them (UTF-8 with BOM, RFC 4180 quoting) and read them as teach does."""
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    ratings, errors = read_csv(csv_path)
    assert not errors, [e.message for e in errors]
    got = {r.path: r for r in ratings}
    assert sorted(got) == sorted(r["path"] for r in rows if r["verdict"])  # the failed file rates nothing
    for r in rows:
        if r["verdict"]:
            rating = got[r["path"]]
            assert (rating.rating, rating.label, rating.pick) == (int(r["stars"]), r["label"], r["pick"]), r
    return got


def test_teach_reads_the_csv_cull_wrote_after_a_spreadsheet_edit(culled: tuple[Path, bytes], tmp_path: Path) -> None:
    # The photographer opens the CSV, gives the bride 5 stars, saves it: `teach --csv` reads every rated row,
    # names with commas, a newline, unicode and formula characters included, and skips the failed file.
    shoot, data = culled
    rows = [r for r in _rows(data) if '"' not in r["path"]]  # a double quote in a name: the next test
    bride = str(shoot / "Zoë, the bride\nblinks.jpg")
    for r in rows:
        if r["path"] == bride:
            r["stars"] = "5"
    got = _teach_from(rows, tmp_path / "cull.csv")
    assert got[bride].rating == 5  # type: ignore[attr-defined]
    assert any(Path(p).name.startswith(("=", "+")) for p in got)


def test_teach_reads_a_name_with_a_double_quote(culled: tuple[Path, bytes], tmp_path: Path) -> None:
    # A spreadsheet doubles a quote inside a cell (RFC 4180); teach used to guess from the header line alone that
    # it would not, and read such a name wrong.
    _, data = culled
    got = _teach_from(_rows(data), tmp_path / "cull.csv")
    assert any('"quoted"' in Path(p).name for p in got)


def test_csv_and_json_cannot_be_asked_together(tmp_path: Path) -> None:
    cli = _run(["cull", "--csv", "--json", str(tmp_path)], tmp_path / "home")
    assert cli.returncode == 2 and b"not allowed with" in cli.stderr
