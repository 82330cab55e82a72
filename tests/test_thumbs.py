"""Thumbnails for the review page (issue 17): one small upright JPEG per photo, made while it is analysed.

What a photographer relies on: after a cull every photo (JPEG, PNG, RAW, one turned by its EXIF orientation) has
its thumbnail in the home's private ``thumbs/`` folder, upright, 400 px on its long edge; a second cull reads no
image and leaves them as they are; an edited photo gets a new one; ``thumbnails = false`` makes none. The cache
itself (``autocull.thumbs``): what is put is what is got, private to the user, a vanished or corrupt file says so.
Real photos from ../shared/testdata, the real engine (its worker processes) and store.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from autocull.config import Config
from autocull.engine import Engine
from autocull.errors import CorruptImage, FileProblem, FileVanished
from autocull.pipeline import AnalysisSettings, analyze_file, attempt
from autocull.thumbs import FOLDER, THUMB_SIZE, ThumbCache, encode

import imagegen as gen
from realphotos import TESTDATA, copy_photos

pytestmark = pytest.mark.shared_data

JPEG = "camera/sharp/rbh-054.jpg"
PNG = "camera/sharp/rbh-001.png"
RAW = "raw/RAW_CANON_D30_SRGB.CRW"  # a RAW with an embedded preview


def jpegs(home: Path) -> list[Path]:
    return sorted((home / FOLDER).rglob("*.jpg"))


def rgb_of(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        im.load()
        assert im.format == "JPEG"
        return np.asarray(im.convert("RGB"))


def turned_copy(src: Path, dest: Path) -> Path:
    """``src``'s pixels tagged with EXIF orientation 6 (turn clockwise to show), as a camera held on its side
    writes them. Shown upright it is ``src`` turned a quarter: tall and narrow swap."""
    with Image.open(src) as im:
        rgb = np.asarray(im.convert("RGB"))
    return gen.save_jpeg(dest, rgb, gen.make_exif(orientation=6), quality=95)


@pytest.fixture()
def shoot(tmp_path: Path) -> Path:
    """A folder of real photos: a JPEG, a PNG, a RAW and a JPEG turned by its EXIF orientation."""
    folder = copy_photos(tmp_path / "shoot", [JPEG, PNG, RAW])
    turned_copy(TESTDATA / JPEG, folder / "turned.jpg")
    return folder


def cull(home: Path, folder: Path, config: Config | None = None) -> tuple[list, int]:
    """(decisions, images read) of one cull of ``folder`` by a real engine on ``home``."""
    eng = Engine.open(home, config)
    try:
        result = eng.run([str(folder)])
        return result.decisions, eng.decodes
    finally:
        eng.close()


# ------------------------------------------------------------------ cull --
def test_a_cull_leaves_one_upright_private_thumbnail_per_photo(shoot: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    decisions, read = cull(home, shoot)
    assert read == 4 and not [d for d in decisions if d.error_code]
    cache = ThumbCache(home)
    made = {p.name: cache.get(str(p)) for p in shoot.iterdir()}
    assert all(made.values()), made
    assert sorted(made.values()) == jpegs(home)  # one each, nothing else
    assert stat.S_IMODE((home / FOLDER).stat().st_mode) == 0o700
    for name, where in made.items():
        assert where is not None and stat.S_IMODE(where.stat().st_mode) == 0o600, name
        assert max(rgb_of(where).shape[:2]) == THUMB_SIZE, name
    # upright: the turned photo's thumbnail is as a viewer shows it (the tall original now wide), not as stored
    turned = rgb_of(made["turned.jpg"])
    plain = rgb_of(made[Path(JPEG).name])
    assert plain.shape[0] > plain.shape[1] and turned.shape[1] > turned.shape[0]
    with Image.open(TESTDATA / JPEG) as im:
        shown = gen.upright(np.asarray(im.convert("RGB")), 6)  # what a viewer shows for the tagged pixels
    assert gen.coarse_diff(turned, shown) < 6.0
    assert gen.coarse_diff(turned, np.rot90(shown, 2).copy()) > 3 * gen.coarse_diff(turned, shown) + 5


def test_a_second_cull_reads_no_image_and_keeps_the_thumbnails(shoot: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    cull(home, shoot)
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in jpegs(home)}
    decisions, read = cull(home, shoot)
    assert read == 0 and all(d.cached for d in decisions)
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in jpegs(home)} == before


def test_an_edited_photo_gets_a_new_thumbnail(shoot: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    cull(home, shoot)
    cache = ThumbCache(home)
    photo = shoot / Path(JPEG).name
    old = cache.get(str(photo))
    assert old is not None
    old_mean = rgb_of(old).mean()
    # edited: darker, written again (a new size and mtime)
    with Image.open(photo) as im:
        darker = (np.asarray(im.convert("RGB")) // 2).astype(np.uint8)
    gen.save_jpeg(photo, darker)
    st = photo.stat()
    os.utime(photo, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))
    assert cache.get(str(photo)) is None  # the old thumbnail is not this photo any more
    _, read = cull(home, shoot)
    assert read == 1
    new = cache.get(str(photo))
    assert new is not None and new != old
    assert rgb_of(new).mean() < old_mean - 20  # the edit shows
    assert not old.exists(), "the cache keeps one thumbnail per photo, not one per edit"
    assert len(list((home / "thumbs").rglob("*.jpg"))) == len(list(shoot.iterdir()))


def test_thumbnails_off_makes_none(shoot: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("thumbnails = false\n")
    config = Config.load(home)
    assert config.thumbnails is False
    decisions, read = cull(home, shoot, config)
    assert read == 4 and not [d for d in decisions if d.error_code]
    assert jpegs(home) == []


def test_a_thumbnail_that_cannot_be_kept_costs_only_itself(
    shoot: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Where the thumbnails go cannot be written (here a file stands where the folder belongs; a full disk is
    the same OSError): every photo is still analysed, stored and decided, and the loss is logged."""
    home = tmp_path / "home"
    home.mkdir()
    (home / FOLDER).write_text("not a folder")
    with caplog.at_level("ERROR", logger="autocull.engine"):
        decisions, read = cull(home, shoot)
    assert read == 4 and len(decisions) == 4 and not [d for d in decisions if d.error_code]
    assert all(d.verdict for d in decisions)
    assert sum("could not keep its thumbnail" in r.getMessage() for r in caplog.records) == 4
    (home / FOLDER).unlink()
    _, read = cull(home, shoot)
    assert read == 0  # the analyses were stored: nothing read again for a thumbnail


@pytest.mark.parametrize("value", ["1", "0", '"yes"', "1.0"])
def test_thumbnails_must_be_true_or_false(tmp_path: Path, value: str) -> None:
    (tmp_path / "config.toml").write_text(f"thumbnails = {value}\n")
    with pytest.raises(ValueError, match="thumbnails must be true or false"):
        Config.load(tmp_path)


def test_the_default_config_says_thumbnails_are_on(tmp_path: Path) -> None:
    Config().write_default(tmp_path)
    assert "thumbnails = true\n" in (tmp_path / "config.toml").read_text()
    assert Config.load(tmp_path).thumbnails is True


# -------------------------------------------------------------- pipeline --
def test_the_analysis_pass_returns_the_thumbnail_only_when_asked(tmp_path: Path) -> None:
    """What a worker process or a Ray task sends back: the thumbnail travels with the result (pickled)."""
    import pickle

    path = str(TESTDATA / PNG)
    asked = attempt(path, AnalysisSettings(thumb_size=THUMB_SIZE))
    assert not isinstance(asked, Exception) and asked.thumb_jpeg is not None
    back = pickle.loads(pickle.dumps(asked))
    assert back.thumb_jpeg == asked.thumb_jpeg
    small = tmp_path / "t.jpg"
    small.write_bytes(back.thumb_jpeg)
    assert max(rgb_of(small).shape[:2]) == THUMB_SIZE
    plain = analyze_file(path, AnalysisSettings())
    assert plain.thumb_jpeg is None
    assert plain.analysis == asked.analysis  # the thumbnail changes nothing measured


# ----------------------------------------------------------------- cache --
def test_put_then_get_gives_the_same_bytes_privately(tmp_path: Path) -> None:
    photo = copy_photos(tmp_path / "p", [JPEG]) / Path(JPEG).name
    with Image.open(photo) as im:
        jpeg = encode(np.asarray(im.convert("RGB")))
    cache = ThumbCache(tmp_path / "home")
    st = photo.stat()
    where = cache.put(str(photo), st.st_size, st.st_mtime_ns, jpeg)
    assert cache.get(str(photo)) == where and where.read_bytes() == jpeg
    assert stat.S_IMODE(where.stat().st_mode) == 0o600
    assert stat.S_IMODE(where.parent.stat().st_mode) == 0o700
    assert not [p for p in where.parent.iterdir() if p.name.startswith(".thumb.")]  # no temporary left
    assert max(rgb_of(where).shape[:2]) == THUMB_SIZE


def test_make_reads_a_jpeg_and_a_raw_reduced(tmp_path: Path) -> None:
    folder = copy_photos(tmp_path / "p", [JPEG, RAW])
    cache = ThumbCache(tmp_path / "home")
    for name in (Path(JPEG).name, Path(RAW).name):
        where = cache.make(str(folder / name))
        assert cache.get(str(folder / name)) == where
        assert stat.S_IMODE(where.stat().st_mode) == 0o600
        assert max(rgb_of(where).shape[:2]) == THUMB_SIZE, name


def test_a_vanished_file_raises_its_problem(tmp_path: Path) -> None:
    photo = copy_photos(tmp_path / "p", [JPEG]) / Path(JPEG).name
    cache = ThumbCache(tmp_path / "home")
    cache.make(str(photo))
    photo.unlink()
    for call in (cache.get, cache.make):
        with pytest.raises(FileVanished) as err:
            call(str(photo))
        assert isinstance(err.value, FileProblem) and err.value.code == "VANISHED"


def test_a_corrupt_file_raises_corrupt_image(tmp_path: Path) -> None:
    bad = gen.truncate_copy(TESTDATA / JPEG, tmp_path / "cut.jpg", 2000)
    cache = ThumbCache(tmp_path / "home")
    with pytest.raises(CorruptImage):
        cache.make(str(bad))
    assert cache.get(str(bad)) is None
    junk = tmp_path / "junk.jpg"
    shutil.copyfile(TESTDATA / JPEG, junk)
    junk.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(4000))
    with pytest.raises(CorruptImage):
        cache.make(str(junk))


@pytest.mark.slow
def test_a_cull_on_ray_keeps_the_thumbnails_its_workers_made(shoot: Path, tmp_path: Path) -> None:
    """A Ray task sends its results back pickled: the thumbnail travels with them and the engine here keeps it."""
    import ray

    from autocull.cluster import RayAnalyzer

    context = ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    try:
        engine = Engine.open(tmp_path / "home")
        analyzer = RayAnalyzer(context.address_info["gcs_address"])
        try:
            result = engine.run([str(shoot)], analyzer=analyzer)
        finally:
            analyzer.close()
            engine.close()
    finally:
        ray.shutdown()
    assert analyzer.sent == 4 and not [d for d in result.decisions if d.error_code]
    cache = ThumbCache(tmp_path / "home")
    made = [cache.get(str(p)) for p in shoot.iterdir()]
    assert all(made) and len(jpegs(tmp_path / "home")) == 4
    assert all(max(rgb_of(p).shape[:2]) == THUMB_SIZE for p in made if p is not None)
