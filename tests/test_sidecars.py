"""XMP sidecars (issue 14): AutoCull's verdicts merged into the photo's sidecar, never over what is there.

Real parts only: the real engine on a real store culls real photos (JPEGs and a Nikon NEF from the shared test
data), the writer runs over real Exempi, sidecars come from the real darktable 4.x (darktable-cli --core
--luacmd, as tests/test_darktable_plugin.py runs it: it imports, rates, labels, tags and develops a photo, so
its sidecar carries a real darktable:history) and in Lightroom Classic's form (crs: develop settings, a
keyword the photographer set). Every sidecar is read back with exiftool before and after and compared field
by field. The kill test SIGKILLs a real writer process at random moments.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from autocull.config import Config
from autocull.engine import Engine
from autocull.records import Decision
from autocull.sidecar import Folder, SidecarSettings, choose_sidecar, write_sidecars
from autocull.taste.ratings import FoundRating, read_ratings

from daemon import Daemon
from test_darktable_plugin import _fresh_session_env, _need, _run_until_done, run_lua
from test_teach_ratings import JPEGS, _copy, _nef

pytestmark = [pytest.mark.shared_data]

CHANGED_BY_US = {"XMP-x:XMPToolkit"}  # Exempi names itself as the packet's writer


# ------------------------------------------------------------------ helpers
def exif(path: Path) -> dict:
    """Every tag exiftool reads from a sidecar, by group:name, structures whole (darktable:history)."""
    _need("exiftool")
    res = subprocess.run(
        ["exiftool", "-j", "-G1", "-a", "-struct", "-charset", "filename=utf8", str(path)],
        capture_output=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    found = json.loads(res.stdout)[0]
    return {k: v for k, v in found.items() if k.split(":")[0] not in ("System", "File", "ExifTool", "SourceFile")}


def as_list(v) -> list:
    return [] if v is None else v if isinstance(v, list) else [v]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def kept_everything_else(before: dict, after: dict, *, ours: set[str]) -> None:
    """Every field of ``before`` that we do not set is in ``after`` unchanged; keywords only gain."""
    for key, value in before.items():
        if key in CHANGED_BY_US or key in ours or key.startswith("XMP-autocull:"):
            continue
        if key in ("XMP-dc:Subject", "XMP-lr:HierarchicalSubject"):
            missing = [w for w in as_list(value) if w not in as_list(after.get(key))]
            assert not missing, f"{key} lost {missing}: {after.get(key)}"
            continue
        assert key in after, f"{key} was dropped"
        assert after[key] == value, f"{key} changed: {value!r} -> {after[key]!r}"


def open_engine(home: Path, **policy) -> Engine:
    eng = Engine.open(home, Config(faces=False))
    if policy:
        eng.set_policy(policy)
    return eng


def cull(eng: Engine, *paths: Path) -> dict[str, Decision]:
    result = eng.run([str(p) for p in paths])
    assert eng.flush_sidecars(60)  # apply queues sidecars for the background writer: wait for them
    return {d.path: d for d in result.decisions}


def set_policy(eng: Engine, values: dict) -> None:
    eng.set_policy(values)
    assert eng.flush_sidecars(60)


def hierarchical(d: Decision) -> list[str]:
    return list(d.keywords)


def lightroom_sidecar(path: Path, *, rating: str = "", label: str = "") -> Path:
    """A sidecar as Lightroom Classic writes one for a RAW (photo.xmp beside photo.NEF): develop settings, a
    keyword the photographer set (flat in dc:subject, with its parents in lr:hierarchicalSubject)."""
    attrs = (f'\n   xmp:Rating="{rating}"' if rating else "") + (f'\n   xmp:Label="{label}"' if label else "")
    path.write_text(
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00        ">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"\n'
        '    xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"\n'
        '    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"\n'
        '   xmp:CreatorTool="Adobe Photoshop Lightroom Classic 13.0 (Windows)"\n'
        f'   xmp:ModifyDate="2024-06-01T18:22:10+02:00"{attrs}\n'
        '   tiff:Orientation="1"\n'
        '   crs:Version="16.0"\n'
        '   crs:ProcessVersion="11.0"\n'
        '   crs:WhiteBalance="As Shot"\n'
        '   crs:Exposure2012="+0.35"\n'
        '   crs:Contrast2012="+12"\n'
        '   crs:HasSettings="True">\n'
        "   <crs:ToneCurvePV2012>\n"
        "    <rdf:Seq>\n"
        "     <rdf:li>0, 0</rdf:li>\n"
        "     <rdf:li>128, 140</rdf:li>\n"
        "     <rdf:li>255, 255</rdf:li>\n"
        "    </rdf:Seq>\n"
        "   </crs:ToneCurvePV2012>\n"
        "   <dc:subject>\n"
        "    <rdf:Bag>\n"
        "     <rdf:li>Review</rdf:li>\n"
        "     <rdf:li>Wedding</rdf:li>\n"
        "     <rdf:li>Events</rdf:li>\n"
        "    </rdf:Bag>\n"
        "   </dc:subject>\n"
        "   <lr:hierarchicalSubject>\n"
        "    <rdf:Bag>\n"
        "     <rdf:li>Events|Wedding</rdf:li>\n"
        "     <rdf:li>Review</rdf:li>\n"
        "    </rdf:Bag>\n"
        "   </lr:hierarchicalSubject>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>',
        encoding="utf-8",
    )
    return path


def check_ours(after: dict, d: Decision, *, rating: bool = True, label: bool = True) -> None:
    """Our fields in the sidecar are exactly the decision's."""
    assert after["XMP-autocull:Verdict"] == d.verdict
    assert float(after["XMP-autocull:Quality"]) == pytest.approx(d.quality, abs=0.0006)
    assert int(after["XMP-autocull:PolicyVersion"]) == d.policy_version
    assert as_list(after.get("XMP-autocull:Reasons")) == d.reasons
    for k in d.keywords:
        assert k in as_list(after["XMP-lr:HierarchicalSubject"])
        for part in k.split("|"):
            assert part in as_list(after["XMP-dc:Subject"])
    if rating:
        assert int(after["XMP-xmp:Rating"]) == (-1 if d.pick == "rejected" else d.stars)
    if label:
        want = "" if d.color_label in ("", "none") else d.color_label.capitalize()
        assert after.get("XMP-xmp:Label", "") == want


# ------------------------------------------------------------------ darktable
# darktable imports the photo, the photographer rates it 3 stars, labels it green, develops it (an export
# runs the pixelpipe and records darktable's history) and tags it people|Anna; darktable writes the sidecar.
# darktable-cli's own export (of cli-input.jpg) is held until the script is done, as in test_teach_ratings.
DT_SCRIPT = r"""
local dt = require "darktable"
local folder = os.getenv("AUTOCULL_DT_FOLDER")
local test_over = false
dt.register_event("autocull_xmp_test", "intermediate-export-image", function(event, image)
  if image.filename ~= "cli-input.jpg" then return end
  while not test_over do dt.control.sleep(100) end
end)
local ok, err = pcall(function()
  for _, name in ipairs({"developed.jpg", "second.jpg"}) do
    local image = dt.database.import(folder .. "/" .. name)
    if not image then error("darktable did not import " .. name) end
    image.green = true
    image.rating = 3
    dt.new_format("jpeg"):write_image(image, os.getenv("AUTOCULL_DT_RUN") .. "/export-" .. name)
    image:attach_tag(dt.tags.create("people|Anna"))
  end
end)
local f = io.open(os.getenv("AUTOCULL_DT_OUT"), "w")
f:write(string.format('{"ok": %s, "error": %q}', tostring(ok), tostring(err)))
f:close()
io.open(os.getenv("AUTOCULL_DT_DONE"), "w"):close()
test_over = true
"""


@pytest.fixture(scope="module")
def darktable_folder(tmp_path_factory) -> Path:
    _need("darktable-cli", "exiftool")
    base = tmp_path_factory.mktemp("dt-xmp")
    shoot = base / "shoot"
    _copy(JPEGS[0], shoot / "developed.jpg")
    _copy(JPEGS[1], shoot / "second.jpg")
    run_lua(base / "run", DT_SCRIPT, {"AUTOCULL_DT_FOLDER": str(shoot), "AUTOCULL_DT_RUN": str(base / "run")})
    return shoot


@pytest.mark.darktable
def test_a_darktable_sidecar_gains_our_fields_and_keeps_every_other_one(darktable_folder, tmp_path):
    photo = darktable_folder / "developed.jpg"
    sidecar = darktable_folder / "developed.jpg.xmp"
    before = exif(sidecar)
    history = before.get("XMP-darktable:History")
    assert history and len(history) >= 3, f"darktable wrote no history: {sorted(before)}"
    assert before["XMP-xmp:Rating"] == 3 and "people|Anna" in as_list(before["XMP-lr:HierarchicalSubject"])
    photo_hash = sha(photo)

    eng = open_engine(tmp_path / "home")
    try:
        d = cull(eng, photo)[str(photo)]
        results = eng.write_sidecars([str(photo)])
    finally:
        eng.close()
    assert [(r.sidecar, r.written, r.error_code) for r in results] == [(str(sidecar), True, "")]
    after = exif(sidecar)
    kept_everything_else(before, after, ours=set())  # the rating (3) and the label were set by hand: kept
    assert after["XMP-darktable:History"] == history
    assert after["XMP-xmp:Rating"] == 3 and as_list(after["XMP-darktable:Colorlabels"]) == [2]
    check_ours(after, d, rating=False, label=False)
    assert "XMP-xmp:Label" not in after  # a darktable label counts as the photographer's: no second label
    assert sha(photo) == photo_hash, "the photo itself was written"
    assert sorted(p.name for p in darktable_folder.iterdir()) == [
        "developed.jpg",
        "developed.jpg.xmp",
        "second.jpg",
        "second.jpg.xmp",
    ]


@pytest.mark.darktable
def test_darktable_imports_the_merged_sidecar_with_our_keywords_and_its_history(darktable_folder, tmp_path):
    """What darktable itself reads from the merged sidecar on import into a fresh library (the only time it
    reads a sidecar another program wrote): its own rating and label, its tag and ours."""
    photo = darktable_folder / "second.jpg"
    eng = open_engine(tmp_path / "home")
    try:
        d = cull(eng, photo)[str(photo)]
        assert eng.write_sidecars([str(photo)])[0].written
    finally:
        eng.close()
    folder = tmp_path / "reimport"
    folder.mkdir()
    _copy(JPEGS[1], folder / photo.name)
    (folder / "second.jpg.xmp").write_bytes((darktable_folder / "second.jpg.xmp").read_bytes())
    run = tmp_path / "run"
    (run / "config").mkdir(parents=True)
    script = run / "read.lua"
    script.write_text(
        r"""
local dt = require "darktable"
local test_over = false
dt.register_event("autocull_xmp_read", "intermediate-export-image", function(event, image)
  if image.filename ~= "cli-input.jpg" then return end
  while not test_over do dt.control.sleep(100) end
end)
local image = dt.database.import(os.getenv("AUTOCULL_DT_PHOTO"))
local tags = {}
for _, t in ipairs(image:get_tags()) do
  if not string.find(t.name, "^darktable|") then table.insert(tags, string.format("%q", t.name)) end
end
local f = io.open(os.getenv("AUTOCULL_DT_OUT"), "w")
f:write(string.format('{"rating": %d, "green": %s, "tags": [%s]}', image.rating, tostring(image.green),
  table.concat(tags, ",")))
f:close()
io.open(os.getenv("AUTOCULL_DT_DONE"), "w"):close()
test_over = true
""",
        encoding="utf-8",
    )
    Image.new("RGB", (32, 32), (128, 128, 128)).save(run / "cli-input.jpg")
    env = dict(
        os.environ,
        AUTOCULL_DT_PHOTO=str(folder / photo.name),
        AUTOCULL_DT_OUT=str(run / "report.json"),
        AUTOCULL_DT_DONE=str(run / "done"),
        **_fresh_session_env(run),
    )
    cmd = ["darktable-cli", str(run / "cli-input.jpg"), str(run / "out.jpg"), "--width", "16", "--height", "16"]
    cmd += ["--core", "--configdir", str(run / "config"), "--library", str(run / "config" / "library.db")]
    cmd += ["--luacmd", f"dofile({json.dumps(str(script))})"]
    log = run / "darktable.log"
    _run_until_done(cmd, env, run / "done", log, timeout=180)
    assert (run / "report.json").exists(), log.read_text(errors="replace")[-3000:]
    seen = json.loads((run / "report.json").read_text())
    assert seen["rating"] == 3 and seen["green"] is True
    assert "people|Anna" in seen["tags"]
    for k in d.keywords:
        assert k in seen["tags"], (k, seen["tags"])


# ------------------------------------------------------------------ Lightroom
def test_a_lightroom_sidecar_of_a_raw_gains_our_fields_and_keeps_every_other_one(tmp_path):
    photo = _nef(tmp_path / "shoot", "DSC_0001.NEF")
    sidecar = lightroom_sidecar(tmp_path / "shoot" / "DSC_0001.xmp")
    before = exif(sidecar)
    assert before["XMP-crs:Exposure2012"] and before["XMP-crs:ToneCurvePV2012"]
    photo_hash = sha(photo)
    eng = open_engine(tmp_path / "home", reject_stars=0)
    try:
        d = cull(eng, photo)[str(photo)]
        assert not d.error_code, d.error_message
        results = eng.write_sidecars([str(tmp_path / "shoot")])
    finally:
        eng.close()
    assert [(r.path, r.sidecar, r.written) for r in results] == [(str(photo), str(sidecar), True)]
    after = exif(sidecar)
    kept_everything_else(before, after, ours={"XMP-xmp:Rating", "XMP-xmp:Label"})
    check_ours(after, d)  # no rating or label there before: ours is written
    assert as_list(after["XMP-dc:Subject"])[:3] == ["Review", "Wedding", "Events"]
    assert as_list(after["XMP-lr:HierarchicalSubject"])[:2] == ["Events|Wedding", "Review"]
    assert not (tmp_path / "shoot" / "DSC_0001.NEF.xmp").exists()  # the sidecar Lightroom uses, no second one
    assert sha(photo) == photo_hash


def _decision(path: Path, verdict: str, keywords: tuple[str, ...], stars: int = 2, label: str = "yellow") -> Decision:
    return Decision(
        path=str(path),
        verdict=verdict,
        pick="rejected" if verdict == "reject" else "none",
        stars=stars,
        color_label=label,
        keywords=keywords,
        quality=0.5,
        policy_version=1,
    )


def test_our_old_keywords_are_replaced_and_the_photographers_stay(tmp_path):
    photo = _nef(tmp_path, "DSC_0002.NEF")
    sidecar = lightroom_sidecar(tmp_path / "DSC_0002.xmp")
    first = _decision(photo, "review", ("AutoCull|Review", "AutoCull|Review|Soft", "AutoCull|Burst|b7"))
    assert write_sidecars([first], SidecarSettings())[0].written
    mid = exif(sidecar)
    assert as_list(mid["XMP-lr:HierarchicalSubject"]) == ["Events|Wedding", "Review", *first.keywords]
    # "Review" was the photographer's flat keyword before we wrote ours: not added by us, so never taken away
    assert as_list(mid["XMP-dc:Subject"]) == ["Review", "Wedding", "Events", "AutoCull", "Soft", "Burst", "b7"]
    second = _decision(photo, "keep", ("AutoCull|Keep",), stars=4, label="none")
    assert write_sidecars([second], SidecarSettings())[0].written
    after = exif(sidecar)
    assert as_list(after["XMP-lr:HierarchicalSubject"]) == ["Events|Wedding", "Review", "AutoCull|Keep"]
    assert as_list(after["XMP-dc:Subject"]) == ["Review", "Wedding", "Events", "AutoCull", "Keep"]
    assert after["XMP-xmp:Rating"] == 4 and "XMP-xmp:Label" not in after  # our yellow label went with our verdict
    # the same decision again changes nothing: the sidecar is not rewritten
    mtime = sidecar.stat().st_mtime_ns
    again = write_sidecars([second], SidecarSettings())[0]
    assert (again.written, again.unchanged) == (False, True) and sidecar.stat().st_mtime_ns == mtime


# ------------------------------------------------------------------ by hand
def test_a_hand_set_rating_and_label_survive_and_are_overwritten_only_with_the_policy(tmp_path):
    photo = _copy(JPEGS[2], tmp_path / "shoot" / "frame.jpg")
    eng = open_engine(tmp_path / "home", xmp_sidecars="always")
    try:
        d = cull(eng, photo)[str(photo)]
        sidecar = tmp_path / "shoot" / "frame.jpg.xmp"
        first = exif(sidecar)
        check_ours(first, d)
        # AutoCull's own rating is not the photographer's: teach does not learn from it
        assert read_ratings(photo) is None
        # the photographer changes the rating and the label (as Bridge or digiKam would write them)
        hand = next(r for r in (1, 2) if r != first["XMP-xmp:Rating"])
        subprocess.run(
            ["exiftool", "-q", "-overwrite_original", f"-XMP-xmp:Rating={hand}", "-XMP-xmp:Label=Purple", str(sidecar)],
            check=True,
            timeout=60,
        )
        assert read_ratings(photo) == FoundRating(str(photo), hand, "", "purple", "xmp-sidecar")
        set_policy(eng, {"keep_quality": 0.99, "review_label": "blue"})  # re-decided: apply rewrites the sidecar
        d2 = eng.decide_paths([str(photo)])[0]
        second = exif(sidecar)
        assert (second["XMP-xmp:Rating"], second["XMP-xmp:Label"]) == (hand, "Purple")
        check_ours(second, d2, rating=False, label=False)
        assert d2.policy_version > d.policy_version
        set_policy(eng, {"xmp_overwrite_hand": True})
        d3 = eng.decide_paths([str(photo)])[0]
        third = exif(sidecar)
        check_ours(third, d3)
        assert third["XMP-xmp:Rating"] != hand and third.get("XMP-xmp:Label") != "Purple"
    finally:
        eng.close()


# ------------------------------------------------------------------ where
def test_raw_and_jpeg_of_one_frame_get_a_sidecar_each(tmp_path):
    shoot = tmp_path / "shoot"
    raw = _nef(shoot, "IMG_1.NEF")
    jpeg = _copy(JPEGS[0], shoot / "IMG_1.JPG")
    hashes = {raw: sha(raw), jpeg: sha(jpeg)}
    eng = open_engine(tmp_path / "home")
    try:
        decided = cull(eng, shoot)
        results = {r.path: r for r in eng.write_sidecars([str(shoot)])}
        assert results[str(raw)].sidecar == str(shoot / "IMG_1.NEF.xmp")  # the default: darktable's name
        assert results[str(jpeg)].sidecar == str(shoot / "IMG_1.JPG.xmp")
        for photo in (raw, jpeg):
            check_ours(exif(Path(results[str(photo)].sidecar)), decided[str(photo)])
            assert sha(photo) == hashes[photo]
        # Adobe's names: the RAW owns IMG_1.xmp; the JPEG cannot share it and keeps its own name
        other = tmp_path / "adobe"
        _nef(other, "IMG_2.NEF")
        _copy(JPEGS[0], other / "IMG_2.JPG")
        cull(eng, other)
        eng.set_policy({"xmp_sidecar_name": "adobe"})
        names = {r.path: r.sidecar for r in eng.write_sidecars([str(other)])}
        assert names == {
            str(other / "IMG_2.JPG"): str(other / "IMG_2.JPG.xmp"),
            str(other / "IMG_2.NEF"): str(other / "IMG_2.xmp"),
        }
    finally:
        eng.close()


def test_a_new_sidecar_follows_the_folders_convention():
    adobe = Folder.of(["A.CR2", "A.xmp", "B.CR2", "C.CR2", "C.JPG"])
    assert choose_sidecar("/f/A.CR2", adobe, "darktable") == "/f/A.xmp"  # the one it has
    assert choose_sidecar("/f/B.CR2", adobe, "darktable") == "/f/B.xmp"  # the folder is Adobe's
    assert choose_sidecar("/f/C.JPG", adobe, "darktable") == "/f/C.JPG.xmp"  # the RAW owns C.xmp
    assert choose_sidecar("/f/C.CR2", adobe, "darktable") == "/f/C.xmp"
    dt = Folder.of(["A.CR2", "A.CR2.xmp", "B.CR2"])
    assert choose_sidecar("/f/B.CR2", dt, "adobe") == "/f/B.CR2.xmp"  # the folder is darktable's
    assert choose_sidecar("/f/B.CR2", Folder.of(["B.CR2"]), "adobe") == "/f/B.xmp"  # none yet: the default
    # a JPEG's photo.jpg.xmp beside its RAW says nothing about the style: the RAW still gets Adobe's name
    pair = Folder.of(["D.NEF", "D.JPG", "D.JPG.xmp"])
    assert choose_sidecar("/f/D.NEF", pair, "adobe") == "/f/D.xmp"
    # a temp file of an interrupted write is not a sidecar
    assert choose_sidecar("/f/B.CR2", Folder.of(["B.CR2", ".B.CR2.xmp.k2j4h1"]), "adobe") == "/f/B.xmp"


def test_the_policy_chooses_which_photos_get_sidecars(tmp_path):
    watched, other = tmp_path / "watched", tmp_path / "other"
    a = _copy(JPEGS[0], watched / "a.jpg")
    b = _copy(JPEGS[1], other / "b.jpg")
    eng = open_engine(tmp_path / "home")
    try:
        eng.store.add_watch(str(watched))
        cull(eng, a, b)
        assert not list(tmp_path.rglob("*.xmp"))  # off by default
        set_policy(eng, {"xmp_sidecars": "watched"})  # every stored photo is re-decided; only a is watched
        assert [p.name for p in tmp_path.rglob("*.xmp")] == ["a.jpg.xmp"]
        set_policy(eng, {"xmp_sidecars": "always"})
        assert sorted(p.name for p in tmp_path.rglob("*.xmp")) == ["a.jpg.xmp", "b.jpg.xmp"]
    finally:
        eng.close()


def test_an_export_named_after_its_raw_does_not_share_the_raws_sidecar(tmp_path):
    # darktable's IMG_1.NEF.xmp belongs to IMG_1.NEF; the export IMG_1.NEF.jpg must not take it as "its" photo.xmp,
    # or the two photos overwrite each other's verdicts in one file
    raw = _nef(tmp_path, "IMG_1.NEF")
    export = _copy(JPEGS[0], tmp_path / "IMG_1.NEF.jpg")
    dt_sidecar = lightroom_sidecar(tmp_path / "IMG_1.NEF.xmp")
    assert choose_sidecar(str(export), Folder.of(os.listdir(tmp_path)), "darktable") == str(export) + ".xmp"
    assert choose_sidecar(str(export), Folder.of([n.lower() for n in os.listdir(tmp_path)]), "adobe").endswith(
        ".jpg.xmp"
    )  # a file name is a file name whatever its case
    kept = _decision(raw, "keep", ("AutoCull|Keep",), stars=5, label="green")
    rejected = _decision(export, "reject", ("AutoCull|Reject",), stars=1, label="none")
    results = write_sidecars([kept, rejected], SidecarSettings())
    assert [r.sidecar for r in results] == [str(dt_sidecar), str(export) + ".xmp"]
    assert all(r.written for r in results), results
    check_ours(exif(dt_sidecar), kept)
    check_ours(exif(Path(str(export) + ".xmp")), rejected)


@pytest.mark.parametrize("name", ["IMG_1.JPG", "IMG_1.tif", "IMG_1.DNG", "IMG_1.heic"])
def test_only_a_raw_gets_adobes_photo_xmp_name(tmp_path, name):
    # Lightroom writes photo.xmp for proprietary RAWs only; a JPEG, TIFF, HEIC or DNG keeps its XMP inside, so a
    # sidecar for it is photo.ext.xmp (a RAW of that stem arriving later owns photo.xmp)
    photo = _copy(JPEGS[0], tmp_path / name)
    d = _decision(photo, "keep", ("AutoCull|Keep",))
    assert write_sidecars([d], SidecarSettings(default_name="adobe"))[0].sidecar == str(photo) + ".xmp"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, name + ".xmp"])
    # an IMG_1.xmp already there is a RAW's (moved away or still to come), not this photo's
    other = tmp_path / "other"
    lone = _copy(JPEGS[0], other / name)
    stranger = lightroom_sidecar(other / "IMG_1.xmp")
    before = stranger.read_bytes()
    assert write_sidecars([_decision(lone, "keep", ())], SidecarSettings(default_name="adobe"))[0].sidecar == (
        str(lone) + ".xmp"
    )
    assert stranger.read_bytes() == before
    raw = _nef(tmp_path / "raw", "IMG_1.NEF")
    assert write_sidecars([_decision(raw, "keep", ())], SidecarSettings(default_name="adobe"))[0].sidecar == str(
        raw.parent / "IMG_1.xmp"
    )


def test_the_sidecar_raws_are_the_engines_raws_but_dng():
    from autocull import engine, sidecar

    assert engine.RAW_EXTENSIONS - {"dng"} <= sidecar.RAW_EXTENSIONS and "dng" not in sidecar.RAW_EXTENSIONS


def test_a_rating_or_label_cleared_by_hand_stays_cleared(tmp_path):
    photo = _copy(JPEGS[0], tmp_path / "A.jpg")
    sidecar = tmp_path / "A.jpg.xmp"
    assert write_sidecars([_decision(photo, "keep", ("AutoCull|Keep",), stars=3, label="green")], SidecarSettings())
    assert (exif(sidecar)["XMP-xmp:Rating"], exif(sidecar)["XMP-xmp:Label"]) == (3, "Green")
    # the photographer sets 0 stars and removes the label (digiKam, Bridge, exiftool all can)
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", "-XMP-xmp:Rating=0", "-XMP-xmp:Label=", str(sidecar)],
        check=True,
        timeout=60,
    )
    later = _decision(photo, "keep", ("AutoCull|Keep",), stars=4, label="red")
    assert write_sidecars([later], SidecarSettings())[0].written
    after = exif(sidecar)
    assert after["XMP-xmp:Rating"] == 0 and "XMP-xmp:Label" not in after
    check_ours(after, later, rating=False, label=False)
    assert write_sidecars([later], SidecarSettings(overwrite_hand=True))[0].written
    assert (exif(sidecar)["XMP-xmp:Rating"], exif(sidecar)["XMP-xmp:Label"]) == (4, "Red")
    # "no label" is what we wrote, not a hand edit: the next verdict's label goes in
    b = _copy(JPEGS[1], tmp_path / "B.jpg")
    assert write_sidecars([_decision(b, "review", (), stars=2, label="none")], SidecarSettings())[0].written
    assert "XMP-xmp:Label" not in exif(tmp_path / "B.jpg.xmp")
    assert write_sidecars([_decision(b, "keep", (), stars=4, label="blue")], SidecarSettings())[0].written
    b_after = exif(tmp_path / "B.jpg.xmp")
    assert (b_after["XMP-xmp:Rating"], b_after["XMP-xmp:Label"]) == (4, "Blue")


# ------------------------------------------------------------------ concurrency
def test_another_programs_edit_between_our_read_and_rename_is_kept(tmp_path):
    from autocull.sidecar import NotWritable, _register, write_one
    from autocull.taste.ratings import _libxmp

    libxmp = _libxmp()
    _register(libxmp)
    photo = _nef(tmp_path, "DSC_1.NEF")
    sidecar = lightroom_sidecar(tmp_path / "DSC_1.xmp")
    edits: list[str] = []

    def darktable_rewrites(path: str) -> None:  # as darktable does on every history change
        if len(edits) < 1:
            edits.append(path)
            subprocess.run(
                ["exiftool", "-q", "-overwrite_original", "-XMP-crs:Exposure2012=+1.50", "-XMP-dc:Subject+=Edited"]
                + [path],
                check=True,
                timeout=60,
            )

    d = _decision(photo, "keep", ("AutoCull|Keep",), stars=4)
    r = write_one(d, Folder.of(os.listdir(tmp_path)), SidecarSettings(), libxmp, meanwhile=darktable_rewrites)
    assert r.written and edits == [str(sidecar)]
    after = exif(sidecar)
    assert after["XMP-crs:Exposure2012"] == "+1.50" and "Edited" in as_list(after["XMP-dc:Subject"])
    check_ours(after, d)
    # a program that rewrites it every time: after a few tries the sidecar is left as it wrote it
    d2 = _decision(photo, "reject", ("AutoCull|Reject",), stars=1)
    count = [0]

    def always(path: str) -> None:
        count[0] += 1
        edit = f"-XMP-crs:Contrast2012=+{count[0]}"
        subprocess.run(["exiftool", "-q", "-overwrite_original", edit, path], check=True, timeout=60)

    with pytest.raises(NotWritable, match="kept rewriting"):
        write_one(d2, Folder.of(os.listdir(tmp_path)), SidecarSettings(), libxmp, meanwhile=always)
    last = exif(sidecar)
    assert last["XMP-crs:Contrast2012"] == f"+{count[0]}" and last["XMP-autocull:Verdict"] == "keep"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def _open_for_write(fifo: Path, deadline: float) -> int:
    """Open the FIFO's write end once a reader holds it (never blocks: a missing reader is an error)."""
    while True:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def test_a_slow_sidecar_never_blocks_decide_or_a_cull(tmp_path):
    """A sidecar write that hangs (a stalled network share; here a FIFO nobody writes to yet) must not hold the
    verdict lock: a policy change returns, Decide answers and a cull stores its verdicts while it hangs.

    They are called in the test's own thread while the writer is provably stuck (it holds the FIFO's read end):
    code that waited for the sidecar would never return, and the suite's timeout fails the test. Nothing here
    depends on how fast the machine is."""
    shoot = tmp_path / "shoot"
    a = _copy(JPEGS[0], shoot / "a.jpg")
    b = _copy(JPEGS[1], shoot / "b.jpg")
    c = _copy(JPEGS[2], tmp_path / "later" / "c.jpg")
    eng = open_engine(tmp_path / "home")
    fifo = shoot / "a.jpg.xmp"
    writer: list[int] = []
    try:
        cull(eng, a, b)
        os.mkfifo(fifo)
        eng.set_policy({"xmp_sidecars": "always"})  # queues a.jpg.xmp, whose read never ends while the FIFO is empty
        writer.append(_open_for_write(fifo, time.time() + 60))  # the sidecar writer now holds the read end: stuck
        decided = eng.decide_paths([str(b)])
        culled = cull_only(eng, c)
        assert decided and decided[0].path == str(b)
        assert eng.store.verdicts()[str(c)][0] == culled[0].verdict
        assert not eng.flush_sidecars(0.5)  # still stuck on a.jpg.xmp: it cannot finish before the FIFO gets data
        # sidecars turned off meanwhile: c's queued sidecar (of the older policy) is stale and never written
        eng.set_policy({"xmp_sidecars": "off"})
        # the other program's packet arrives and a regular file takes the FIFO's place: merged into that one
        real = lightroom_sidecar(tmp_path / "real.xmp")
        packet = real.read_bytes()
        os.replace(real, fifo)
        os.write(writer[0], packet)
        os.close(writer.pop())
        assert eng.flush_sidecars(60)
        after = exif(fifo)
        assert after["XMP-crs:Exposure2012"] == "+0.35" and after["XMP-autocull:Verdict"]
        assert (shoot / "b.jpg.xmp").is_file()  # written with a.jpg.xmp, before the change
        assert not (tmp_path / "later" / "c.jpg.xmp").exists()
    finally:
        for fd in writer:
            os.close(fd)
        if fifo.exists() and not fifo.is_file():  # the old code is stuck on the FIFO: let it go
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        eng.close(sidecar_timeout=30)


def cull_only(eng: Engine, *paths: Path) -> list[Decision]:
    return eng.run([str(p) for p in paths]).decisions


def test_closing_the_engine_writes_what_apply_queued(tmp_path):
    # the in-process CLI (autocull cull without a daemon) closes the engine right after the cull
    photo = _copy(JPEGS[0], tmp_path / "shoot" / "a.jpg")
    eng = open_engine(tmp_path / "home", xmp_sidecars="always")
    eng.run([str(photo)])
    eng.close()
    assert (tmp_path / "shoot" / "a.jpg.xmp").is_file()


# ------------------------------------------------------------------ failures
def test_read_only_or_unreadable_sidecars_are_per_file_errors_and_the_cull_goes_on(tmp_path):
    locked, ro_file, corrupt, fine = (tmp_path / n for n in ("locked", "rofile", "corrupt", "fine"))
    photos = {
        "locked": _copy(JPEGS[0], locked / "a.jpg"),
        "rofile": _nef(ro_file, "b.NEF"),
        "corrupt": _nef(corrupt, "c.NEF"),
        "fine": _copy(JPEGS[1], fine / "d.jpg"),
    }
    ro_sidecar = lightroom_sidecar(ro_file / "b.xmp")
    ro_sidecar.chmod(0o444)
    bad = corrupt / "c.NEF.xmp"
    bad.write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-s')
    contents = {p: p.read_bytes() for p in (ro_sidecar, bad)}
    locked.chmod(0o555)
    try:
        eng = open_engine(tmp_path / "home", xmp_sidecars="always")
        try:
            decided = cull(eng, locked, ro_file, corrupt, fine)  # sidecars written as verdicts are stored
            assert all(not d.error_code for d in decided.values()), decided
            assert set(decided) == {str(p) for p in photos.values()}
            assert eng.store.verdicts()[str(photos["locked"])][0] == decided[str(photos["locked"])].verdict
            results = {r.path: r for r in eng.write_sidecars([str(tmp_path)])}
        finally:
            eng.close()
    finally:
        locked.chmod(0o755)
    assert results[str(photos["locked"])].error_code == "NOT_WRITABLE"
    assert "read-only" in results[str(photos["locked"])].error_message
    assert results[str(photos["rofile"])].error_code == "NOT_WRITABLE"
    assert results[str(photos["corrupt"])].error_code == "CORRUPT"
    assert str(bad) in results[str(photos["corrupt"])].error_message
    assert results[str(photos["fine"])].error_code == "" and (fine / "d.jpg.xmp").is_file()
    assert results[str(photos["fine"])].unchanged  # written by the cull already
    for p, body in contents.items():
        assert p.read_bytes() == body, f"{p} was changed"
    assert sorted(p.name for p in locked.iterdir()) == ["a.jpg"]


# ------------------------------------------------------------------ kill
WRITER = r"""
import sys
from autocull.records import Cause, CauseKind, Decision
from autocull.sidecar import SidecarSettings, write_sidecars
photo, ready = sys.argv[1], sys.argv[2]
many = tuple(Cause(CauseKind.NOTE, f"reason {k} " + "x" * 200) for k in range(300))  # a big packet: slow writes
n = 0
while True:
    verdict = ("keep", "reject")[n % 2]
    d = Decision(path=photo, verdict=verdict, pick="none", stars=n % 5 + 1, keywords=(f"AutoCull|{verdict}",),
                 causes=many, quality=0.5, policy_version=n + 1)
    r = write_sidecars([d], SidecarSettings())[0]
    assert r.written and not r.error_code, r
    n += 1
    if n == 1:
        open(ready, "w").close()
"""


@pytest.mark.slow
def test_a_kill_during_the_write_leaves_the_old_or_the_new_sidecar_whole(tmp_path):
    photo = _nef(tmp_path, "DSC_0009.NEF")
    sidecar = lightroom_sidecar(tmp_path / "DSC_0009.xmp", rating="2")
    original = exif(sidecar)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rng = random.Random(14)
    seen_versions: set[int] = set()
    for k in range(25):
        ready = tmp_path / f"ready{k}"
        proc = subprocess.Popen([sys.executable, str(script), str(photo), str(ready)], start_new_session=True)
        try:
            deadline = time.time() + 60
            while not ready.exists() and proc.poll() is None and time.time() < deadline:
                time.sleep(0.01)
            assert ready.exists(), f"the writer never wrote (exit {proc.poll()})"
            time.sleep(rng.uniform(0, 0.15))
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        after = exif(sidecar)  # parses, whole
        kept_everything_else(original, after, ours={"XMP-xmp:Rating"})
        assert after["XMP-autocull:Verdict"] in ("keep", "reject")
        assert int(after["XMP-autocull:PolicyVersion"]) >= 1
        seen_versions.add(int(after["XMP-autocull:PolicyVersion"]))
        # a temp file left by the kill is hidden and no sidecar: the photo's sidecar is still the same file
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".DSC_0009")]
        assert all(not n.endswith(".xmp") for n in leftovers), leftovers
        assert choose_sidecar(str(photo), Folder.of(os.listdir(tmp_path)), "darktable") == str(sidecar)
        assert read_ratings(photo) == FoundRating(str(photo), 2, "", "", "xmp-sidecar")  # the hand-set 2 stars
    assert len(seen_versions) > 3, f"the kills never landed between writes: {seen_versions}"


# ------------------------------------------------------------------ daemon + CLI
@pytest.mark.e2e
def test_write_sidecars_over_grpc_and_the_cli(tmp_path):
    from autocull.v1 import autocull_pb2 as pb

    shoot = tmp_path / "shoot"
    a = _copy(JPEGS[0], shoot / "a.jpg")
    _copy(JPEGS[1], shoot / "b.jpg")
    (shoot / "never culled.jpg").write_bytes(a.read_bytes())
    home = tmp_path / "home"
    d = Daemon(home, config="faces = false\n")
    try:
        d.grpc("Cull", pb.CullRequest(paths=[str(shoot / "a.jpg"), str(shoot / "b.jpg")]))
        resp = d.grpc("WriteSidecars", pb.WriteSidecarsRequest(paths=[str(shoot)]))
        assert (resp.written, resp.failed) == (2, 0)
        assert {r.sidecar for r in resp.results} == {str(shoot / "a.jpg.xmp"), str(shoot / "b.jpg.xmp")}
        one = d.grpc("WriteSidecars", pb.WriteSidecarsRequest(paths=[str(shoot / "never culled.jpg")]))
        assert one.results[0].error.code == "NOT_CULLED" and one.failed == 1
        out = subprocess.run(
            [sys.executable, "-m", "autocull", "--home", str(home), "xmp", "write", str(shoot)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        assert "0 sidecars written, 2 already up to date, 0 failed" in out.stdout
    finally:
        d.stop()
    (shoot / "a.jpg.xmp").unlink()
    out = subprocess.run(  # no daemon: the engine runs in-process on the same store
        [sys.executable, "-m", "autocull", "--home", str(home), "xmp", "write", str(shoot / "a.jpg")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert f"written    {shoot / 'a.jpg.xmp'}" in out.stdout and (shoot / "a.jpg.xmp").is_file()
