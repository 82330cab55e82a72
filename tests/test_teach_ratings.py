"""`autocull teach PATH…` reads the ratings the photographer already made (autocull.taste.ratings).

* darktable: the real darktable 4.x (darktable-cli --core --luacmd, as tests/test_darktable_plugin.py runs it)
  imports copies of real photos, a Lua script rates, rejects and labels them, darktable writes its sidecars,
  and read_ratings must give back exactly what was set.
* Lightroom cannot run here. Its sidecars are written below in the form Lightroom Classic writes them (one
  rdf:Description carrying xmp:Rating / xmp:Label as attributes, the xmp and crs namespaces, Adobe's xmptk and
  CreatorTool), and embedded XMP is put into real JPEG/DNG files with exiftool (-XMP-xmp:Rating / -XMP-xmp:Label):
  a stand-in as strict as Adobe's documented format (XMP spec part 1: xmp:Rating -1 rejected, 0 unrated, 1..5;
  xmp:Label the label's text), read through the same Exempi code path.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from autocull.errors import FileProblem
from autocull.taste.ratings import FoundRating, RatingsError, read_csv, read_ratings

from realphotos import TESTDATA
from test_darktable_plugin import _need, run_lua

pytestmark = [pytest.mark.shared_data]

JPEGS = ["camera/sharp/rbh-013.jpg", "camera/sharp/rbh-021.jpg", "camera/sharp/rbh-024.jpg"]


def _copy(rel: str, dest: Path) -> Path:
    src = TESTDATA / rel
    assert src.is_file(), f"shared test data missing: {src} (see ../shared/testdata/SOURCES.md)"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)  # copyfile: the shared data is read-only, the copy must not be
    return dest


def _exiftool(path: Path, *tags: str) -> None:
    _need("exiftool")
    res = subprocess.run(
        ["exiftool", "-q", "-overwrite_original", *tags, str(path)], capture_output=True, text=True, timeout=60
    )
    assert res.returncode == 0, res.stderr


def _lightroom_sidecar(path: Path, **attrs: str) -> Path:
    """A sidecar as Lightroom Classic writes one for a RAW: photo.xmp beside photo.NEF."""
    fields = "".join(f'\n   xmp:{k}="{v}"' for k, v in attrs.items())
    path.write_text(
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000 1.000000, 0000/00/00-00:00:00        ">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '  <rdf:Description rdf:about=""\n'
        '    xmlns:xmp="http://ns.adobe.com/xap/1.0/"\n'
        '    xmlns:tiff="http://ns.adobe.com/tiff/1.0/"\n'
        '    xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"\n'
        '   xmp:CreatorTool="Adobe Photoshop Lightroom Classic 13.0 (Windows)"\n'
        '   xmp:ModifyDate="2024-06-01T18:22:10+02:00"'
        f"{fields}\n"
        '   tiff:Orientation="1"\n'
        '   crs:Version="16.0"\n'
        '   crs:ProcessVersion="11.0"\n'
        '   crs:Exposure2012="+0.35">\n'
        "   <crs:ToneCurvePV2012>\n"
        "    <rdf:Seq>\n"
        "     <rdf:li>0, 0</rdf:li>\n"
        "     <rdf:li>255, 255</rdf:li>\n"
        "    </rdf:Seq>\n"
        "   </crs:ToneCurvePV2012>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>',
        encoding="utf-8",
    )
    return path


def _nef(folder: Path, name: str) -> Path:
    return _copy("raw/NIKON_D1X_UB20_O35.NEF", folder / name)


# ------------------------------------------------------------ darktable
# Imports the photos one by one (a folder import does not finish in --core mode), then rates them as a
# photographer would. Colour labels before the rating, as the plugin does. darktable-cli exits once its own
# export is done, so the export is held until the script has finished.
DT_SCRIPT = r"""
local dt = require "darktable"
local folder = os.getenv("AUTOCULL_DT_FOLDER")
local report = {}
local test_over = false
dt.register_event("autocull_teach_test", "intermediate-export-image", function()
  while not test_over do dt.control.sleep(100) end
end)
local function import(name)
  local image = dt.database.import(folder .. "/" .. name)
  if not image then error("darktable did not import " .. name) end
  return image
end
local ok, err = pcall(function()
  local four = import("four green.jpg"); four.green = true; four.rating = 4
  local rejected = import("rejected.jpg"); rejected.rating = -1
  local two = import("two blue red.jpg"); two.blue = true; two.red = true; two.rating = 2
  local purple = import("purple only.jpg"); purple.purple = true; purple.rating = 0
  local unrated = import("unrated.jpg"); unrated.rating = 0
  local default = import("as imported.jpg")
  local embedded = import("embedded then rated.jpg")
  report.embedded_on_import = embedded.rating
  embedded.yellow = true; embedded.rating = 5
  local dup = four:duplicate(); dup.yellow = true; dup.rating = 1
  report.initial_rating = default.rating
  report.duplicate_index = dup.duplicate_index
end)
local f = io.open(os.getenv("AUTOCULL_DT_OUT"), "w")
f:write(string.format('{"ok": %s, "error": %q, "initial_rating": %d, "embedded_on_import": %d, "duplicate_index": %d}',
  tostring(ok), tostring(err), report.initial_rating or -99, report.embedded_on_import or -99,
  report.duplicate_index or -99))
f:close()
io.open(os.getenv("AUTOCULL_DT_DONE"), "w"):close()
test_over = true
"""

DT_PHOTOS = [
    "four green.jpg",
    "rejected.jpg",
    "two blue red.jpg",
    "purple only.jpg",
    "unrated.jpg",
    "as imported.jpg",
    "embedded then rated.jpg",
]


@pytest.fixture(scope="module")
def darktable_shoot(tmp_path_factory):
    _need("darktable-cli", "exiftool")
    base = tmp_path_factory.mktemp("dt-teach")
    shoot = base / "shoot"
    for i, name in enumerate(DT_PHOTOS):
        _copy(JPEGS[i % len(JPEGS)], shoot / name)
    # Lightroom (or the camera) rated this one 2 stars inside the JPEG before darktable saw it.
    _exiftool(shoot / "embedded then rated.jpg", "-XMP-xmp:Rating=2", "-XMP-xmp:Label=Blue")
    report = run_lua(base / "run", DT_SCRIPT, {"AUTOCULL_DT_FOLDER": str(shoot)})
    return shoot, report


@pytest.mark.darktable
def test_darktable_sidecars_give_back_exactly_what_the_photographer_set(darktable_shoot):
    shoot, report = darktable_shoot
    for name in DT_PHOTOS:
        assert (shoot / f"{name}.xmp").is_file(), f"darktable wrote no sidecar for {name}"

    def found(name: str, rating: int, pick: str, label: str) -> FoundRating:
        return FoundRating(str(shoot / name), rating, pick, label, "xmp-sidecar")

    assert read_ratings(shoot / "four green.jpg") == found("four green.jpg", 4, "", "green")
    assert read_ratings(shoot / "rejected.jpg") == found("rejected.jpg", -1, "rejected", "")
    # darktable allows several labels; the first in red, yellow, green, blue, purple order is kept
    assert read_ratings(shoot / "two blue red.jpg") == found("two blue red.jpg", 2, "", "red")
    assert read_ratings(shoot / "purple only.jpg") == found("purple only.jpg", 0, "", "purple")
    assert read_ratings(shoot / "unrated.jpg") is None
    # darktable writes its import rating (1 star unless configured) for photos nobody rated: indistinguishable
    # from a real 1-star rating in the sidecar
    assert report["initial_rating"] == 1
    assert read_ratings(shoot / "as imported.jpg") == found("as imported.jpg", 1, "", "")


@pytest.mark.darktable
def test_darktable_sidecar_wins_over_the_xmp_inside_the_jpeg(darktable_shoot):
    shoot, report = darktable_shoot
    photo = shoot / "embedded then rated.jpg"
    assert report["embedded_on_import"] == 2  # darktable read the embedded rating on import: it was really there
    assert read_ratings(photo) == FoundRating(str(photo), 5, "", "yellow", "xmp-sidecar")
    os.unlink(f"{photo}.xmp")  # darktable never writes into the JPEG: without its sidecar the old rating shows
    assert read_ratings(photo) == FoundRating(str(photo), 2, "", "blue", "xmp-embedded")


@pytest.mark.darktable
def test_a_darktable_duplicate_does_not_stand_in_for_the_photo(darktable_shoot):
    shoot, report = darktable_shoot
    assert report["duplicate_index"] == 1
    dup_sidecar = shoot / "four green_01.jpg.xmp"
    assert dup_sidecar.is_file(), sorted(p.name for p in shoot.iterdir())
    # the duplicate's own sidecar says 1 star yellow: the photo's base version (4, green) is what counts
    assert read_ratings(shoot / "four green.jpg") == FoundRating(
        str(shoot / "four green.jpg"), 4, "", "green", "xmp-sidecar"
    )


# ------------------------------------------------------------ Lightroom / Adobe form
def test_lightroom_sidecar_of_a_raw(tmp_path):
    photo = _nef(tmp_path, "DSC_0001.NEF")
    _lightroom_sidecar(tmp_path / "DSC_0001.xmp", Rating="3", Label="Red")
    assert read_ratings(photo) == FoundRating(str(photo), 3, "", "red", "xmp-sidecar")


def test_embedded_xmp_in_a_jpeg_and_a_dng(tmp_path):
    jpeg = _copy(JPEGS[0], tmp_path / "exported.jpg")
    _exiftool(jpeg, "-XMP-xmp:Rating=2", "-XMP-xmp:Label=Green")
    assert read_ratings(jpeg) == FoundRating(str(jpeg), 2, "", "green", "xmp-embedded")
    dng = _copy("raw/Blackmagic_PocketCinema4K.dng", tmp_path / "frame.dng")
    _exiftool(dng, "-XMP-xmp:Rating=5", "-XMP-xmp:Label=Purple")
    assert read_ratings(dng) == FoundRating(str(dng), 5, "", "purple", "xmp-embedded")


def test_sidecar_wins_over_embedded(tmp_path):
    jpeg = _copy(JPEGS[1], tmp_path / "both.jpg")
    _exiftool(jpeg, "-XMP-xmp:Rating=1", "-XMP-xmp:Label=Blue")
    _lightroom_sidecar(tmp_path / "both.xmp", Rating="4", Label="Purple")
    assert read_ratings(jpeg) == FoundRating(str(jpeg), 4, "", "purple", "xmp-sidecar")
    # darktable's photo.ext.xmp comes before Lightroom's photo.xmp
    _lightroom_sidecar(tmp_path / "both.jpg.xmp", Rating="-1")
    assert read_ratings(jpeg) == FoundRating(str(jpeg), -1, "rejected", "", "xmp-sidecar")


def test_a_sidecar_without_ratings_leaves_the_word_to_the_embedded_xmp(tmp_path):
    jpeg = _copy(JPEGS[2], tmp_path / "edited.jpg")
    _exiftool(jpeg, "-XMP-xmp:Rating=3")
    _lightroom_sidecar(tmp_path / "edited.xmp")  # develop settings only
    assert read_ratings(jpeg) == FoundRating(str(jpeg), 3, "", "", "xmp-embedded")


def test_a_rejected_photo(tmp_path):
    # Adobe Bridge writes its Reject as xmp:Rating -1 (Lightroom keeps its pick/reject flag in the catalogue)
    photo = _nef(tmp_path, "DSC_0002.NEF")
    _lightroom_sidecar(tmp_path / "DSC_0002.xmp", Rating="-1", Label="Yellow")
    assert read_ratings(photo) == FoundRating(str(photo), -1, "rejected", "yellow", "xmp-sidecar")


def test_photos_without_any_rating_give_none(tmp_path):
    plain = _copy(JPEGS[0], tmp_path / "plain.jpg")
    assert read_ratings(plain) is None
    raw = _nef(tmp_path, "DSC_0003.NEF")  # Exempi never opens a proprietary RAW: no sidecar, no rating
    assert read_ratings(raw) is None
    zero = _nef(tmp_path, "DSC_0004.NEF")
    _lightroom_sidecar(tmp_path / "DSC_0004.xmp", Rating="0")  # 0 is "unrated" in XMP
    assert read_ratings(zero) is None
    other_set = _nef(tmp_path, "DSC_0005.NEF")  # a label from Lightroom's "Review Status" set: not a colour
    _lightroom_sidecar(tmp_path / "DSC_0005.xmp", Label="To Delete")
    assert read_ratings(other_set) is None


def test_digikam_pick_label(tmp_path):
    photo = _copy(JPEGS[0], tmp_path / "picked.jpg")
    (tmp_path / "picked.jpg.xmp").write_text(
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:digiKam="http://www.digikam.org/ns/1.0/"'
        ' xmlns:xmp="http://ns.adobe.com/xap/1.0/" digiKam:PickLabel="3" xmp:Rating="4"/>'
        "</rdf:RDF></x:xmpmeta>"
    )
    assert read_ratings(photo) == FoundRating(str(photo), 4, "picked", "", "xmp-sidecar")


def test_a_corrupt_sidecar_is_that_photos_error_and_the_others_still_read(tmp_path):
    good = _nef(tmp_path, "good.NEF")
    _lightroom_sidecar(tmp_path / "good.xmp", Rating="5")
    cut = _nef(tmp_path, "cut.NEF")
    text = _lightroom_sidecar(tmp_path / "cut.xmp", Rating="2").read_text()
    (tmp_path / "cut.xmp").write_text(text[: len(text) // 2])  # the disk filled up mid-write
    _nef(tmp_path, "empty.NEF")
    (tmp_path / "empty.xmp").write_bytes(b"")
    binary = _copy(JPEGS[0], tmp_path / "binary.jpg")
    shutil.copyfile(binary, tmp_path / "binary.jpg.xmp")  # a JPEG named .xmp
    _nef(tmp_path, "silly.NEF")
    _lightroom_sidecar(tmp_path / "silly.xmp", Rating="7")
    _copy(JPEGS[1], tmp_path / "plain.jpg")

    read: dict[str, object] = {}
    errors: dict[str, str] = {}
    for photo in sorted(tmp_path.iterdir()):
        if photo.suffix.lower() == ".xmp":
            continue
        try:
            read[photo.name] = read_ratings(photo)
        except FileProblem as exc:
            errors[photo.name] = str(exc)
    assert read == {"good.NEF": FoundRating(str(good), 5, "", "", "xmp-sidecar"), "plain.jpg": None}
    assert set(errors) == {"cut.NEF", "empty.NEF", "binary.jpg", "silly.NEF"}
    assert errors["cut.NEF"].startswith(f"{tmp_path / 'cut.xmp'}: not a readable XMP sidecar"), errors
    assert errors["empty.NEF"] == f"{tmp_path / 'empty.xmp'}: the XMP sidecar is empty"
    assert str(tmp_path / "binary.jpg.xmp") in errors["binary.jpg"] and "not a readable XMP" in errors["binary.jpg"]
    assert "xmp:Rating '7' is not -1 (rejected) or 0..5" in errors["silly.NEF"], errors
    assert str(tmp_path / "silly.xmp") in errors["silly.NEF"]
    with pytest.raises(RatingsError) as info:
        read_ratings(cut)
    assert info.value.path == str(cut)


def test_a_missing_photo_or_a_folder_is_a_file_error(tmp_path):
    with pytest.raises(FileProblem, match="no such file"):
        read_ratings(tmp_path / "gone.jpg")
    (tmp_path / "card.jpg").mkdir()
    with pytest.raises(FileProblem, match="not a photo file"):
        read_ratings(tmp_path / "card.jpg")


# ------------------------------------------------------------ CSV
def test_csv_with_good_and_bad_lines(tmp_path):
    shoot = tmp_path / "shoot"
    a = _copy(JPEGS[0], shoot / "a.jpg")
    b = _copy(JPEGS[1], shoot / "b.jpg")
    c = _copy(JPEGS[2], shoot / "c.jpg")
    d = _copy(JPEGS[0], tmp_path / "elsewhere" / "d.jpg")
    _copy(JPEGS[1], shoot / "e.jpg")
    sheet = shoot / "ratings.csv"
    sheet.write_text(
        "\ufeffPath,Stars,Pick,Label,Notes\n"  # a spreadsheet's BOM, capitalised names, an extra column
        "a.jpg,4,picked,Red,keeper\n"
        "b.jpg,-1,,,\n"
        "c.jpg,,yes,,\n"
        f"{d},2,no,green,\n"  # absolute path
        "\n"
        "e.jpg,,,,nothing said\n"  # rates nothing: skipped
        "a.jpg,3,,,\n"  # line 8: a second rating of a.jpg
        "missing.jpg,3,,,\n"  # line 9
        "b.jpg,six,,,\n"  # line 10
        "c.jpg,6,,,\n"  # line 11
        "c.jpg,2,maybe,,\n"  # line 12
        "c.jpg,2,,magenta,\n"  # line 13
        "c.jpg,-1,picked,,\n"  # line 14
        ",3,,,\n",  # line 15
        encoding="utf-8",
    )
    found, errors = read_csv(sheet)
    assert found == [
        FoundRating(str(a), 4, "picked", "red", "csv"),
        FoundRating(str(b), -1, "rejected", "", "csv"),
        FoundRating(str(c), 0, "picked", "", "csv"),
        FoundRating(str(d), 2, "none", "green", "csv"),
    ]
    assert [(err.line, str(err)) for err in errors] == [
        (8, f"ratings.csv line 8: {a} is already rated on line 2"),
        (9, f"ratings.csv line 9: {shoot / 'missing.jpg'}: no such photo"),
        (10, "ratings.csv line 10: stars 'six' is not a whole number -1..5"),
        (11, "ratings.csv line 11: stars 6 is not -1 (rejected) or 0..5"),
        (12, "ratings.csv line 12: pick 'maybe' is not one of picked/rejected/none, yes/no, true/false, 1/0/-1"),
        (13, "ratings.csv line 13: label 'magenta' is not one of red, yellow, green, blue, purple (or empty)"),
        (14, "ratings.csv line 14: stars -1 means rejected but pick says 'picked'"),
        (15, "ratings.csv line 15: no path"),
    ]
    assert all(err.path == str(sheet) for err in errors)


def test_csv_semicolons_and_only_a_pick_column(tmp_path):
    a = _copy(JPEGS[0], tmp_path / "a.jpg")
    b = _copy(JPEGS[1], tmp_path / "b.jpg")
    sheet = tmp_path / "picks.csv"
    sheet.write_text("path;pick\na.jpg;1\nb.jpg;-1\n")
    found, errors = read_csv(sheet)
    assert errors == []
    assert found == [FoundRating(str(a), 0, "picked", "", "csv"), FoundRating(str(b), 0, "rejected", "", "csv")]


def test_csv_that_cannot_be_used_at_all(tmp_path):
    no_header = tmp_path / "no header.csv"
    no_header.write_text("a.jpg,4\n")
    with pytest.raises(RatingsError, match="the first line must name the columns: path and at least one of"):
        read_csv(no_header)
    only_path = tmp_path / "only path.csv"
    only_path.write_text("path\na.jpg\n")
    with pytest.raises(RatingsError, match=r"found path\)"):
        read_csv(only_path)
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("path,stars\ncafé.jpg,3\n".encode("latin-1"))
    with pytest.raises(RatingsError, match="not UTF-8"):
        read_csv(latin1)
    with pytest.raises(FileProblem, match="no such file"):
        read_csv(tmp_path / "absent.csv")
