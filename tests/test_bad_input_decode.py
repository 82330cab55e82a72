"""Decode stage on bad input: every failure is the right FileProblem, names the file, never hangs."""

from __future__ import annotations

import os
import random
import resource
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from autocull import decode as dec
from autocull.decode import decode, read_exif
from autocull.errors import (
    CorruptImage,
    EmptyFile,
    FileMissing,
    FileProblem,
    FileUnreadable,
    FileVanished,
    ImageTooLarge,
    NotAFile,
    UnsupportedFormat,
)
from autocull.records import Box, DecodedImage

import imagegen as gen
from realphotos import shared_dir

RAW_DIR = shared_dir("raw")
needs_raw = pytest.mark.shared_data  # real RAW samples: missing ones fail, never skip


@pytest.fixture(scope="module")
def jpeg_data() -> bytes:
    """A 3000x2000 baseline JPEG, large enough that decode uses draft mode."""
    return gen.jpeg_bytes(gen.resized(gen.sample_rgb("astronaut"), (3000, 2000)))


def _raises(exc_type: type[FileProblem], path: Path, **kwargs: int) -> FileProblem:
    """decode(path) must raise exc_type with a message naming the file."""
    with pytest.raises(exc_type) as info:
        decode(path, **kwargs)
    assert path.name in info.value.message, info.value.message
    return info.value


# -------------------------------------------------------- file system -------
def test_missing_file(tmp_path: Path) -> None:
    error = _raises(FileMissing, tmp_path / "IMG_0001.JPG")
    assert error.code == "FILE_NOT_FOUND"


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "DCIM.jpg"
    folder.mkdir()
    _raises(NotAFile, folder)


@pytest.mark.timeout(20)
def test_fifo_is_not_a_file_and_does_not_hang(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    _raises(NotAFile, fifo)


def test_zero_byte_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jpg"
    empty.touch()
    _raises(EmptyFile, empty)


@pytest.fixture
def root_only_file() -> Iterator[Path]:
    """A file only root may read, in a directory anyone may enter (pytest's tmp dirs are 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="autocull-perm-"))
    try:
        folder.chmod(0o755)
        path = gen.save_jpeg(folder / "private.jpg", gen.sample_rgb("chelsea"))
        path.chmod(0o000)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_no_read_permission(root_only_file: Path) -> None:
    """chmod 000 does not stop root, so as root the read is done with the effective uid of 'nobody'."""
    if os.geteuid() != 0:
        _raises(FileUnreadable, root_only_file)
        return
    try:
        os.seteuid(65534)
    except PermissionError:
        pytest.skip("running as root without CAP_SETUID: cannot make a file unreadable for this process")
    try:
        with pytest.raises(FileUnreadable) as info:
            decode(root_only_file)
    finally:
        os.seteuid(0)
    assert root_only_file.name in info.value.message and "permission" in info.value.message


def test_file_deleted_between_check_and_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = gen.save_jpeg(tmp_path / "gone.jpg", gen.sample_rgb("chelsea"))
    real_check = dec.check_file

    def check_then_delete(p: str | os.PathLike[str]) -> Path:
        checked = real_check(p)
        os.remove(checked)  # the card is ejected right after the scan
        return checked

    monkeypatch.setattr(dec, "check_file", check_then_delete)
    error = _raises(FileVanished, path)
    assert error.code == "VANISHED"


def test_file_deleted_before_a_region_is_read(tmp_path: Path) -> None:
    path = gen.save_jpeg(tmp_path / "later.jpg", gen.sample_rgb("chelsea"))
    read = dec.region_reader(path, decode(path))
    path.unlink()
    with pytest.raises(FileVanished, match="later.jpg"):
        read(Box(0.2, 0.2, 0.5, 0.5), 50)


def test_read_exif_on_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileMissing, match="nothing.jpg"):
        read_exif(tmp_path / "nothing.jpg")


# ------------------------------------------------------------- content ------
def test_text_file_named_jpg(tmp_path: Path) -> None:
    _raises(UnsupportedFormat, gen.write_text(tmp_path / "notes.jpg"))


def test_text_file_named_raw(tmp_path: Path) -> None:
    _raises(UnsupportedFormat, gen.write_text(tmp_path / "notes.NEF", "hello\n" * 100))


def test_read_exif_on_text_file_gives_empty_info(tmp_path: Path) -> None:
    info = read_exif(gen.write_text(tmp_path / "notes.jpg"))
    assert info.capture_time is None and info.make is None


@pytest.mark.parametrize("keep", [0.5, 0.95, -2, 400])
def test_truncated_jpeg_is_corrupt(tmp_path: Path, jpeg_data: bytes, keep: float) -> None:
    """Pillow would grey-fill a cut-off JPEG if allowed; we flag it (-2: only the EOI marker missing)."""
    path = tmp_path / "cut.jpg"
    path.write_bytes(jpeg_data[: int(len(jpeg_data) * keep)] if isinstance(keep, float) else jpeg_data[:keep])
    error = _raises(CorruptImage, path)
    assert error.code == "CORRUPT"


def test_truncated_jpeg_is_corrupt_even_if_someone_allows_truncation(
    tmp_path: Path, jpeg_data: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import ImageFile

    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    path = tmp_path / "cut.jpg"
    path.write_bytes(jpeg_data[: len(jpeg_data) // 2])
    _raises(CorruptImage, path)


def test_truncated_progressive_jpeg_is_corrupt(tmp_path: Path) -> None:
    path = gen.save(tmp_path / "prog.jpg", gen.sample_rgb("astronaut"), "JPEG", progressive=True)
    gen.truncate_copy(path, tmp_path / "prog_cut.jpg", 0.6)
    _raises(CorruptImage, tmp_path / "prog_cut.jpg")


def test_truncated_png_is_corrupt(tmp_path: Path) -> None:
    path = gen.save(tmp_path / "ok.png", gen.sample_rgb("astronaut"), "PNG")
    _raises(CorruptImage, gen.truncate_copy(path, tmp_path / "cut.png", 0.5))


def test_jpeg_magic_then_garbage_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "garbage.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0" + bytes(random.Random(1).randrange(256) for _ in range(5000)))
    _raises(CorruptImage, path)


def test_random_damage_only_ever_raises_file_problems(tmp_path: Path, jpeg_data: bytes) -> None:
    """Flipped bytes anywhere: the result is an image or a FileProblem, nothing else."""
    png = tmp_path / "src.png"
    gen.save(png, gen.sample_rgb("coffee"), "PNG")
    sources = {"jpg": gen.jpeg_bytes(gen.sample_rgb("coffee")), "png": png.read_bytes()}
    rng = random.Random(1234)
    for i in range(40):
        ext = "jpg" if i % 2 else "png"
        data = bytearray(sources[ext])
        for _ in range(rng.randint(1, 8)):
            pos = rng.randrange(0, min(len(data), 2000) if i % 4 < 2 else len(data))
            data[pos] = rng.randrange(256)
        path = tmp_path / f"damaged_{i}.{ext}"
        path.write_bytes(bytes(data))
        try:
            result = decode(path)
        except FileProblem as exc:
            assert path.name in exc.message
        else:
            assert isinstance(result, DecodedImage) and result.rgb.dtype == np.uint8


# ---------------------------------------------------------------- bombs -----
def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@pytest.mark.timeout(60)
def test_png_decompression_bomb_is_refused_without_allocating(tmp_path: Path) -> None:
    bomb = gen.png_bomb(tmp_path / "bomb.png")  # 30,000 x 30,000
    assert bomb.stat().st_size < 1_000_000
    before = _peak_rss_mb()
    error = _raises(ImageTooLarge, bomb)
    assert error.code == "TOO_LARGE"
    assert _peak_rss_mb() - before < 100  # decoding it would need >= 112 MB even at 1 bit per pixel


def test_max_pixels_is_enforced_from_the_header(tmp_path: Path) -> None:
    path = gen.save(tmp_path / "two_mp.png", gen.resized(gen.sample_rgb("coffee"), (2000, 1000)), "PNG")
    error = _raises(ImageTooLarge, path, max_pixels=1_000_000)
    assert "2000x1000" in error.message
    assert decode(path, max_pixels=2_000_000).full_size == (2000, 1000)


@needs_raw
def test_max_pixels_applies_to_raw() -> None:
    _raises(ImageTooLarge, RAW_DIR / "NIKON_D1X_UB20_O35.NEF", max_pixels=5_000_000)


# ------------------------------------------------------------------ RAW -----
@needs_raw
@pytest.mark.parametrize(
    "name, cut",
    [
        ("NIKON_D1X_UB20_O35.NEF", 0.5),
        ("RAW_CANON_D30_SRGB.CRW", 0.5),
        ("RAW_KODAK_DC50.KDC", 0.5),
        ("Blackmagic_PocketCinema4K.dng", 512),  # LibRaw alone would 'decode' this
    ],
)
def test_truncated_raw_is_corrupt(tmp_path: Path, name: str, cut: float | int) -> None:
    damaged = gen.truncate_copy(RAW_DIR / name, tmp_path / name, cut)
    _raises(CorruptImage, damaged)


@needs_raw
def test_raw_header_then_zeros_is_corrupt(tmp_path: Path) -> None:
    data = (RAW_DIR / "NIKON_D1X_UB20_O35.NEF").read_bytes()
    path = tmp_path / "zeroed.NEF"
    path.write_bytes(data[:4096] + bytes(len(data) - 4096))
    _raises(CorruptImage, path)


def test_jpeg_named_raw_decodes_as_jpeg(tmp_path: Path) -> None:
    path = gen.save_jpeg(tmp_path / "renamed.NEF", gen.sample_rgb("chelsea"))
    out = decode(path)
    assert out.format == "JPEG" and out.size == (451, 300)
