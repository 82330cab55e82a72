"""The darktable plugin in real darktable 4.2.1: what lands in the library and in the XMP sidecars.

darktable's Lua setters for colour labels update library.db but do not write the sidecar; the plugin
makes the sidecar agree (lib/autocull/sidecar_sync.lua). The reasons go into the image's notes, after the
photographer's own text. Every value is read back from darktable's own files (library.db with sqlite3,
the sidecars with exiftool) and compared with the daemon's decisions fetched independently (Decide).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from daemon import Daemon
from test_darktable_plugin import (
    DT_RATING_MASK,
    DT_REJECTED,
    LABELS,
    LUA_TESTS,
    _end,
    _fresh_session_env,
    _need,
    _photos,
    _read_report,
    _run_until_done,
    _start_xvfb,
    install_plugin,
    run_lua,
)

pytestmark = [pytest.mark.darktable, pytest.mark.e2e]

NOTED = "coffee.jpg"  # the photographer wrote a note on this one before the cull
PRERATED = "chelsea rated.jpg"  # ... and rated this one (4 stars, a note): AutoCull leaves it alone
BLURRED = "astronaut blurred.jpg"  # Gaussian blur of 8 px: rejected as blurry by any preset


def _library(configdir: Path) -> dict[str, dict]:
    """path -> {rating (-1 = rejected), labels, notes} straight from library.db."""
    db = sqlite3.connect(f"file:{configdir / 'library.db'}?mode=ro", uri=True)
    notes_key = 5  # darktable 4.2 metadata key of "notes" (Xmp.acdsee.notes)
    out = {}
    rows = db.execute(
        "SELECT i.id, f.folder, i.filename, i.flags FROM images i JOIN film_rolls f ON f.id = i.film_id "
        "WHERE i.version = 0"
    )
    for image_id, folder, filename, flags in rows:
        labels = {LABELS[c] for (c,) in db.execute("SELECT color FROM color_labels WHERE imgid = ?", (image_id,))}
        note = db.execute("SELECT value FROM meta_data WHERE id = ? AND key = ?", (image_id, notes_key)).fetchone()
        rating = -1 if flags & DT_REJECTED else flags & DT_RATING_MASK
        out[f"{folder}/{filename}"] = {"rating": rating, "labels": labels, "notes": note[0] if note else ""}
    db.close()
    return out


def _sidecars(paths: list[Path]) -> dict[str, dict]:
    """path -> {rating, labels, notes} from each photo's darktable sidecar (photo.jpg.xmp)."""
    res = subprocess.run(
        [
            "exiftool",
            "-j",
            "-charset",
            "filename=utf8",
            "-XMP-xmp:Rating",
            "-XMP-darktable:ColorLabels",
            "-XMP-acdsee:Notes",
        ]
        + [f"{p}.xmp" for p in paths],
        capture_output=True,
        timeout=60,
    )
    out = {}
    for r in json.loads(res.stdout or b"[]"):
        low = {k.lower(): v for k, v in r.items()}
        raw = low.get("colorlabels")
        codes = [] if raw is None else raw if isinstance(raw, list) else [raw]
        out[r["SourceFile"][:-4]] = {
            "rating": low.get("rating"),
            "labels": {LABELS[int(c)] for c in codes},
            "notes": str(low.get("notes", "")),
        }
    return out


@pytest.fixture(scope="module")
def culled(tmp_path_factory):
    _need("darktable-cli", "curl", "exiftool")
    base = tmp_path_factory.mktemp("dt-host")
    photos = _photos(base / "shoot")
    quiet = base / "quiet"
    quiet.mkdir()
    notes = base / "notes"
    notes.mkdir()
    quiet_photos = [Path(shutil.copy(p, quiet / p.name)) for p in photos if p.name != PRERATED]
    noted_photos = [Path(shutil.copy(p, notes / p.name)) for p in photos]
    daemon = Daemon(base / "autocull-home", config="faces = false\n")
    try:
        lists = {}
        for name, group in (("quiet", quiet_photos), ("notes", noted_photos)):
            lists[name] = base / f"{name}.txt"
            lists[name].write_text("".join(f"{p}\n" for p in group), encoding="utf-8")
        installed = install_plugin(base / "run" / "config")  # as the README installs it
        report = run_lua(
            base / "run",
            (LUA_TESTS / "host_cull.lua").read_text(encoding="utf-8"),
            {
                "AUTOCULL_HOME": str(daemon.home),
                "AUTOCULL_DT_PLUGIN": str(installed),
                "AUTOCULL_DT_QUIET": str(lists["quiet"]),
                "AUTOCULL_DT_NOTES": str(lists["notes"]),
                "AUTOCULL_DT_NOTED": str(notes / NOTED),
                "AUTOCULL_DT_PRERATED": str(notes / PRERATED),
            },
        )
        decided = {}
        for group in (quiet_photos, noted_photos):  # as the plugin asked: one job per folder
            for d in daemon.post("Decide", {"paths": [str(p) for p in group]})["decisions"]:
                decided[d["path"]] = d
        yield report, base / "run" / "config", quiet_photos, noted_photos, decided
    finally:
        daemon.stop()


def test_sidecar_labels_stars_and_rejects_equal_the_library_after_a_cull(culled):
    report, configdir, quiet_photos, noted_photos, decided = culled
    assert report["steps"]["quiet"]["ok"] is True, report["steps"]["quiet"]
    library = _library(configdir)
    sidecars = _sidecars(quiet_photos + noted_photos)
    labelled = 0
    for photo in quiet_photos + noted_photos:
        lib, xmp = library[str(photo)], sidecars[str(photo)]
        assert xmp["labels"] == lib["labels"], (photo.name, "sidecar", xmp, "library", lib)
        assert xmp["rating"] == lib["rating"], (photo.name, "sidecar", xmp, "library", lib)
        labelled += bool(lib["labels"])
    # the check means something only when the cull set labels (review: yellow, reject: red)
    assert labelled >= 2, library
    for photo in quiet_photos:  # and the library holds the daemon's decision
        d, lib = decided[str(photo)], library[str(photo)]
        want = -1 if d["pick"] == "PICK_REJECTED" else d["stars"]
        assert lib["rating"] == want, (photo.name, lib, d)
        assert lib["notes"] == "", lib  # reasons in notes were off for this folder
    # The sidecar sync writes the rating again, unchanged, after the labels; on a reject that is -1
    # written to a rejected image, which must keep it rejected (darktable has no toggle there). The
    # blurred photo is rejected whatever the rest of the policy says (sharpness), so this is checked.
    for folder in (quiet_photos, noted_photos):
        blurred = next(p for p in folder if p.name == BLURRED)
        assert decided[str(blurred)]["pick"] == "PICK_REJECTED", decided[str(blurred)]
        lib, xmp = library[str(blurred)], sidecars[str(blurred)]
        assert lib["rating"] == -1 and xmp["rating"] == -1, (blurred, "library", lib, "sidecar", xmp)
        assert lib["labels"] == xmp["labels"] == {"red"}, (blurred, lib, xmp)  # a label write: the sync ran
    again = report["steps"]["notes_again"]  # a second cull wrote nothing, and the reject stayed
    assert again["ok"] is True and again["counts"]["reject"] >= 1, again


def test_reasons_are_in_the_notes_after_the_photographers_own_text(culled):
    report, configdir, quiet_photos, noted_photos, decided = culled
    assert report["steps"]["notes"]["ok"] is True, report["steps"]["notes"]
    library = _library(configdir)
    sidecars = _sidecars(noted_photos)
    for photo in noted_photos:
        if photo.name == PRERATED:
            continue
        d, lib = decided[str(photo)], library[str(photo)]
        verdict = d["verdict"].removeprefix("VERDICT_").lower()
        ours = [line for line in lib["notes"].split("\n") if line.startswith("AutoCull:")]
        assert len(ours) == 1, lib["notes"]  # a second cull replaced its line, never added one
        assert ours[0].startswith(f"AutoCull: {verdict}"), (ours, d)
        for reason in d["reasons"]:
            assert reason in ours[0], (reason, ours[0])
        assert sidecars[str(photo)]["notes"] == lib["notes"], (photo.name, sidecars[str(photo)], lib)
    noted = library[str(noted_photos[0].parent / NOTED)]["notes"]
    assert noted.split("\n")[0] == "client: Smith, print 20x30", noted


def test_a_photo_the_photographer_rated_keeps_everything_and_the_summary_says_so(culled):
    report, configdir, quiet_photos, noted_photos, decided = culled
    lib = _library(configdir)[str(noted_photos[0].parent / PRERATED)]
    assert lib == {"rating": 4, "labels": set(), "notes": "my favourite"}
    step = report["steps"]["notes"]
    assert step["counts"]["user_rated"] == 1, step
    assert "1 photo left alone because you had rated it" in step["message"], step["message"]
    again = report["steps"]["notes_again"]
    assert again["ok"] is True and again["counts"]["applied"] == 0, again


def test_show_rejects_sets_darktables_collection_by_tag_and_back_restores_it(tmp_path):
    """In darktable with its GUI: the module's buttons drive the real collect module."""
    _need("darktable", "Xvfb")
    configdir = tmp_path / "config"
    configdir.mkdir()
    installed = install_plugin(configdir)
    photos = _photos(tmp_path / "shoot")[:4]
    photo_list = tmp_path / "photos.txt"
    photo_list.write_text("".join(f"{p}\n" for p in photos), encoding="utf-8")
    display, xvfb = _start_xvfb(tmp_path)
    try:
        env = dict(
            os.environ,
            DISPLAY=display,
            AUTOCULL_DT_PLUGIN=str(installed),
            AUTOCULL_DT_PHOTOS=str(photo_list),
            AUTOCULL_DT_OUT=str(tmp_path / "report.json"),
            AUTOCULL_DT_DONE=str(tmp_path / "done"),
            **_fresh_session_env(tmp_path),
        )
        cmd = [
            "darktable",
            "--library",
            ":memory:",
            "--configdir",
            str(configdir),
            "--luacmd",
            f"dofile({json.dumps(str(LUA_TESTS / 'host_gui.lua'))})",
        ]
        _run_until_done(cmd, env, tmp_path / "done", tmp_path / "darktable.log", timeout=120)
    finally:
        _end(xvfb)
    report = _read_report(tmp_path / "report.json", tmp_path / "darktable.log")
    assert report["module"] is True and report["shown"] is True and report["back"] is True, report
    before = report["before"]
    rejects, keeps = report["rejects"], report["keeps"]
    tag_rule = {"mode": "DT_LIB_COLLECT_MODE_AND", "item": "DT_COLLECTION_PROP_TAG"}
    assert rejects[:-1] == before and rejects[-1] == {**tag_rule, "data": "AutoCull|Reject"}, report
    assert keeps[:-1] == before and keeps[-1] == {**tag_rule, "data": "AutoCull|Keep"}, report
    assert report["after"] == before, report
    # what the photographer sees: the collection holds exactly AutoCull's rejects, then its keeps
    everything = sorted(str(p) for p in photos)
    assert report["rejected"] == sorted(str(p) for p in photos[:2]), report
    assert report["counts"]["reject"] == 2 and report["counts"]["keep"] == 2, report["counts"]
    assert report["before_images"] == everything, report
    assert report["rejects_images"] == report["rejected"], report
    assert report["keeps_images"] == report["kept"] == sorted(str(p) for p in photos[2:]), report
    assert report["after_images"] == everything, report
    # "attach AutoCull tags" off: nothing to filter on, the collection stays as it is
    assert report["off_shown"] is False and report["off_rules"] == before, report
