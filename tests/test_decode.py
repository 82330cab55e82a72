"""Decode stage on valid files: what a photographer would notice (orientation, size, colour, EXIF)."""

from __future__ import annotations

import inspect
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image, ImageOps

from autocull import decode as dec
from autocull.decode import ANALYSIS_SIZE, decode, read_exif
from autocull.errors import UnsupportedFormat
from autocull.records import Box

import imagegen as gen
from realphotos import shared_dir

RAW_DIR = shared_dir("raw")
needs_raw = pytest.mark.shared_data  # real RAW samples: missing ones fail, never skip


@pytest.fixture(scope="module")
def big_photo() -> np.ndarray:
    """A 3000x2000 photo (astronaut, upscaled) so draft decoding has something to skip."""
    return gen.resized(gen.sample_rgb("astronaut"), (3000, 2000))


# ------------------------------------------------------------- JPEG ---------
def test_analysis_size_is_the_default() -> None:
    assert ANALYSIS_SIZE == 1280
    assert inspect.signature(decode).parameters["analysis_size"].default == ANALYSIS_SIZE


def test_large_jpeg_draft_decode_matches_full_decode_resized(tmp_path: Path, big_photo: np.ndarray) -> None:
    path = gen.save_jpeg(tmp_path / "big.jpg", big_photo, quality=95)
    out = decode(path)
    assert out.format == "JPEG" and out.source == "pixels"
    assert out.full_size == (3000, 2000)
    assert out.size == (1280, 853) and out.rgb.dtype == np.uint8 and out.rgb.shape == (853, 1280, 3)
    with Image.open(path) as im:
        reference = np.asarray(im.convert("RGB").resize(out.size, Image.Resampling.LANCZOS))
    assert gen.mean_abs_diff(out.rgb, reference) < 3.0


def test_small_image_keeps_its_size(tmp_path: Path) -> None:
    rgb = gen.sample_rgb("chelsea")  # 451x300
    out = decode(gen.save(tmp_path / "cat.png", rgb))
    assert out.size == (451, 300) and out.full_size == (451, 300)
    assert np.array_equal(out.rgb, rgb)


def test_custom_analysis_size(tmp_path: Path, big_photo: np.ndarray) -> None:
    out = decode(gen.save_jpeg(tmp_path / "big.jpg", big_photo), analysis_size=500)
    assert max(out.size) == 500 and out.full_size == (3000, 2000)


def test_orientation_6_jpeg_decodes_upright(tmp_path: Path) -> None:
    scene = gen.sample_rgb("rocket")  # 640x427 landscape: rotation cannot hide
    stored = gen.stored_for(scene, 6)
    path = gen.save_jpeg(tmp_path / "portrait.jpg", stored, gen.make_exif(orientation=6), quality=95)
    out = decode(path)
    assert out.exif.orientation == 6
    assert out.size == (640, 427) and out.full_size == (640, 427)
    assert gen.mean_abs_diff(out.rgb, scene) < 3.0
    assert gen.mean_abs_diff(out.rgb, scene[::-1, ::-1]) > 20.0  # not upside down


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillow_exif_transpose(tmp_path: Path, orientation: int) -> None:
    stored = gen.resized(gen.sample_rgb("coffee"), (300, 200))
    path = gen.save(tmp_path / f"o{orientation}.png", stored, "PNG", gen.make_exif(orientation=orientation))
    out = decode(path)
    expected = gen.upright(stored, orientation)
    assert np.array_equal(out.rgb, expected)
    assert out.full_size == (expected.shape[1], expected.shape[0])


# ------------------------------------------------------ other formats -------
def test_png_named_jpg_decodes(tmp_path: Path) -> None:
    rgb = gen.sample_rgb("chelsea")
    out = decode(gen.save(tmp_path / "actually_png.jpg", rgb, "PNG"))
    assert out.format == "PNG" and np.array_equal(out.rgb, rgb)


def test_tiff_16bit_rgb_is_scaled_not_clipped(tmp_path: Path) -> None:
    rgb16 = gen.sample_rgb("astronaut").astype(np.uint16) * 257  # full 16-bit range
    out = decode(gen.write_tiff16(tmp_path / "deep.tif", rgb16))
    assert out.format == "TIFF" and out.size == (512, 512)
    assert gen.mean_abs_diff(out.rgb, gen.sample_rgb("astronaut")) < 1.0


def test_tiff_16bit_grey_is_scaled_not_clipped(tmp_path: Path) -> None:
    grey = gen.sample_rgb("camera")[..., 0]
    out = decode(gen.write_gray16(tmp_path / "grey16.tif", grey.astype(np.uint16) * 257))
    assert out.rgb.shape == (512, 512, 3)
    assert gen.mean_abs_diff(out.rgb[..., 1], grey) < 1.0  # clipping would make it almost all white


def test_float_tiff_is_scaled(tmp_path: Path) -> None:
    grey = gen.sample_rgb("camera")[..., 0]
    path = tmp_path / "float.tif"
    Image.fromarray(grey.astype(np.float32) / 255.0).save(path)
    assert gen.mean_abs_diff(decode(path).rgb[..., 0], grey) < 1.0


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "CMYK", "1"])
def test_pillow_modes_end_as_rgb_uint8(tmp_path: Path, mode: str) -> None:
    im = Image.fromarray(gen.sample_rgb("coffee")).convert(mode)
    fmt = "JPEG" if mode in ("L", "CMYK") else "PNG"
    path = tmp_path / f"mode_{mode}.{fmt.lower()}"
    im.save(path, fmt)
    out = decode(path)
    assert out.rgb.dtype == np.uint8 and out.rgb.shape == (400, 600, 3)
    assert 20 < out.rgb.mean() < 235


def test_greyscale_jpeg(tmp_path: Path) -> None:
    grey = gen.sample_rgb("camera")[..., 0]
    out = decode(gen.save(tmp_path / "grey.jpg", grey, "JPEG", quality=95))
    assert out.rgb.shape == (512, 512, 3)
    assert np.array_equal(out.rgb[..., 0], out.rgb[..., 2])
    assert gen.mean_abs_diff(out.rgb[..., 0], grey) < 3.0


def test_heic_decodes_upright(tmp_path: Path) -> None:
    pytest.importorskip("pillow_heif")
    scene = gen.sample_rgb("rocket")
    path = gen.save(tmp_path / "phone.heic", gen.stored_for(scene, 6), "HEIF", gen.make_exif(orientation=6))
    out = decode(path)
    assert out.format == "HEIC" and out.size == (640, 427)
    assert out.exif.orientation == 6
    assert gen.mean_abs_diff(out.rgb, scene) < 6.0


def test_unicode_and_spaces_in_path(tmp_path: Path) -> None:
    folder = tmp_path / "Été 2026 – Mariage Ørsted"
    folder.mkdir()
    out = decode(gen.save_jpeg(folder / "IMG 0001 é.jpg", gen.sample_rgb("chelsea")))
    assert out.size == (451, 300)


# ------------------------------------------------------------- EXIF ---------
def test_exif_round_trip_with_subseconds(tmp_path: Path) -> None:
    exif = gen.make_exif(
        make="Canon",
        model="Canon EOS R5",
        serial="012345678901",
        lens="RF24-70mm F2.8 L IS USM",
        taken=datetime(2026, 6, 13, 14, 30, 5),
        subsec="37",
        exposure_time=1 / 500,
        f_number=2.8,
        iso=800,
        exposure_bias=-0.7,
        focal_length=70.0,
        orientation=1,
    )
    path = gen.save_jpeg(tmp_path / "exif.jpg", gen.sample_rgb("chelsea"), exif)
    for info in (decode(path).exif, read_exif(path)):
        assert info.capture_time == "2026-06-13T14:30:05.370000"
        assert datetime.fromisoformat(info.capture_time) == datetime(2026, 6, 13, 14, 30, 5, 370000)
        expected_ts = datetime(2026, 6, 13, 14, 30, 5, tzinfo=timezone.utc).timestamp() + 0.37
        assert info.capture_ts == pytest.approx(expected_ts)
        assert (info.make, info.model, info.serial) == ("Canon", "Canon EOS R5", "012345678901")
        assert info.lens == "RF24-70mm F2.8 L IS USM"
        assert info.exposure_time == pytest.approx(0.002)
        assert info.f_number == pytest.approx(2.8) and info.iso == 800
        assert info.exposure_compensation == pytest.approx(-0.7, abs=0.01)
        assert info.focal_length == pytest.approx(70.0)
        assert info.camera_key() == "serial:012345678901"


def test_subseconds_order_frames_within_one_second(tmp_path: Path) -> None:
    rgb = gen.sample_rgb("chelsea")
    stamps = []
    for i, sub in enumerate(["05", "35", "65"]):
        exif = gen.make_exif(taken=datetime(2026, 1, 2, 3, 4, 5), subsec=sub)
        stamps.append(read_exif(gen.save_jpeg(tmp_path / f"f{i}.jpg", rgb, exif)).capture_ts)
    assert stamps == sorted(stamps) and stamps[2] - stamps[0] == pytest.approx(0.6)


def test_garbage_exif_gives_none_fields_not_failure(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[gen.TAG_ORIENTATION] = 99
    sub = exif.get_ifd(gen.TAG_EXIF_IFD)
    sub[gen.TAG_DATETIME_ORIGINAL] = "0000:00:00 00:00:00"
    sub[gen.TAG_F_NUMBER] = "not a number"
    sub[gen.TAG_ISO] = 0
    out = decode(gen.save_jpeg(tmp_path / "garbage.jpg", gen.sample_rgb("chelsea"), exif))
    assert out.size == (451, 300)
    assert out.exif.orientation == 1 and out.exif.capture_time is None
    assert out.exif.f_number is None and out.exif.iso is None


def test_corrupt_exif_segment_still_decodes(tmp_path: Path) -> None:
    data = gen.jpeg_bytes(gen.sample_rgb("chelsea"))
    app1 = b"Exif\x00\x00" + b"II*\x00" + b"\xff\xff\xff\x7f" + bytes(40)  # IFD offset far past the end
    segment = b"\xff\xe1" + (len(app1) + 2).to_bytes(2, "big") + app1
    path = tmp_path / "bad_exif.jpg"
    path.write_bytes(data[:2] + segment + data[2:])
    out = decode(path)
    assert out.size == (451, 300) and out.exif.capture_time is None


def test_no_exif_gives_defaults(tmp_path: Path) -> None:
    info = decode(gen.save(tmp_path / "plain.png", gen.sample_rgb("coffee"))).exif
    assert info.capture_time is None and info.orientation == 1 and info.camera_key() is None


def _tags(**values: object) -> dict[str, SimpleNamespace]:
    """exifread-style tags: keys with spaces given as double underscores."""
    return {k.replace("__", " "): SimpleNamespace(values=v if isinstance(v, list) else [v]) for k, v in values.items()}


def test_maker_note_burst_fields() -> None:
    from autocull.exif import _exifread_tag_fields, build_exif

    canon = build_exif(
        _exifread_tag_fields(_tags(Image__Make="Canon", MakerNote__SequenceNumber=3, MakerNote__SerialNumber=123456789))
    )
    assert canon.sequence_number == 3 and canon.serial == "123456789"
    sony_single = build_exif(_exifread_tag_fields(_tags(Image__Make="SONY", MakerNote__SequenceNumber=65535)))
    assert sony_single.sequence_number is None
    olympus = build_exif(_exifread_tag_fields(_tags(Image__Make="OLYMPUS", MakerNote__Sequence=[1, 7, 0])))
    assert olympus.sequence_number == 7
    apple = build_exif(
        _exifread_tag_fields(_tags(Image__Make="Apple", MakerNote__Tag__0x000B="6F3C0C1E-0D4B-4F5D-9C1E-8C1F2B3A4D5E"))
    )
    assert apple.burst_id == "6F3C0C1E-0D4B-4F5D-9C1E-8C1F2B3A4D5E"
    fuji = build_exif(_exifread_tag_fields(_tags(Image__Make="FUJIFILM", MakerNote__InternalSerialNumber="FF02B1")))
    assert fuji.serial == "FF02B1" and fuji.camera_key() == "serial:FF02B1"


def test_exif_datetime_parser_is_lenient() -> None:
    from autocull.exif import parse_exif_datetime

    assert parse_exif_datetime("2021.01.11 11.18.19") == datetime(2021, 1, 11, 11, 18, 19)
    assert parse_exif_datetime("2021:01:11 11:18:19\x00") == datetime(2021, 1, 11, 11, 18, 19)
    assert parse_exif_datetime("    :  :     :  :  ") is None
    assert parse_exif_datetime(b"2021:13:40 00:00:00") is None


# -------------------------------------------------------- region_reader -----
def _full_upright(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))


@pytest.mark.parametrize("orientation", [1, 3, 6, 8, 5])
def test_region_at_full_resolution_matches_full_decode(tmp_path: Path, big_photo: np.ndarray, orientation: int) -> None:
    path = gen.save_jpeg(tmp_path / f"r{orientation}.jpg", big_photo, gen.make_exif(orientation=orientation))
    out = decode(path)
    full = _full_upright(path)
    h, w = full.shape[:2]
    box = Box(0.30, 0.20, 0.10, 0.15)  # the astronaut's face region, roughly
    crop = dec.region_reader(path, out)(box, 10_000)  # more than the source has: native pixels
    left, top, right, bottom = box.pixels((w, h))
    assert crop.shape == (bottom - top, right - left, 3)
    assert gen.mean_abs_diff(crop, full[top:bottom, left:right]) < 0.5


def test_region_at_reduced_scale_is_close_and_big_enough(tmp_path: Path, big_photo: np.ndarray) -> None:
    path = gen.save_jpeg(tmp_path / "r.jpg", big_photo, gen.make_exif(orientation=6))
    out = decode(path)
    full = _full_upright(path)
    box = Box(0.25, 0.25, 0.5, 0.5)
    crop = dec.region_reader(path, out)(box, 200)
    assert 200 <= min(crop.shape[:2]) < 400
    left, top, right, bottom = box.pixels((full.shape[1], full.shape[0]))
    reference = np.asarray(
        Image.fromarray(full[top:bottom, left:right]).resize((crop.shape[1], crop.shape[0]), Image.Resampling.LANCZOS)
    )
    assert gen.mean_abs_diff(crop, reference) < 6.0


def test_region_of_png_in_all_orientations_is_exact(tmp_path: Path) -> None:
    stored = gen.resized(gen.sample_rgb("coffee"), (300, 200))
    box = Box(0.1, 0.2, 0.3, 0.4)
    for orientation in range(1, 9):
        path = gen.save(tmp_path / f"o{orientation}.png", stored, "PNG", gen.make_exif(orientation=orientation))
        upright = gen.upright(stored, orientation)
        left, top, right, bottom = box.pixels((upright.shape[1], upright.shape[0]))
        region = upright[top:bottom, left:right]
        small = dec.region_reader(path, decode(path))(box, 20)  # reduced by an integer factor, never below min_side
        assert small.shape[2] == 3 and 20 <= min(small.shape[:2]) <= 40, orientation
        crop = dec.region_reader(path, decode(path))(box, 10_000)
        assert np.array_equal(crop, region), orientation


def _in_fresh_thread(read: "dec.FileRegionReader", box: Box, min_side: int) -> np.ndarray:
    """A region read in a thread that has decoded nothing: it decodes the file again."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(read, box, min_side).result()


@pytest.mark.parametrize("orientation", [1, 6, 3])
def test_region_at_the_analysis_scale_equals_a_fresh_decode(
    tmp_path: Path, big_photo: np.ndarray, orientation: int
) -> None:
    """A small face whose detail read needs no finer DCT scale than the analysis decode is cropped from the
    pixels that decode already has: exactly what decoding the file again gives, so no verdict moves."""
    path = gen.save_jpeg(tmp_path / f"k{orientation}.jpg", big_photo, gen.make_exif(orientation=orientation))
    out = decode(path)  # 3000x2000 is drafted at 1/2: 1500x1000 before the resize to 1280
    read = dec.region_reader(path, out)
    box = Box(0.30, 0.20, 0.10, 0.15)
    assert dec._kept.draft.image.size == (3000 // 2, 2000 // 2)  # what the region reads below are cut from
    for min_side in (80, 95):  # both need the 1/2 scale in every orientation (the box's short side: 200-300 px)
        kept = read(box, min_side)
        assert min(kept.shape[:2]) >= min_side
        assert np.array_equal(kept, _in_fresh_thread(read, box, min_side)), min_side
    finer = read(box, 190)  # needs full scale: decoded again
    assert min(finer.shape[:2]) >= 190
    assert np.array_equal(finer, _in_fresh_thread(read, box, 190))


def test_region_of_a_replaced_file_reads_the_new_pixels(tmp_path: Path, big_photo: np.ndarray) -> None:
    """A file swapped after its decode (same name and size class) is read anew, never served the old pixels."""
    path = gen.save_jpeg(tmp_path / "swap.jpg", big_photo)
    out = decode(path)
    box = Box(0.25, 0.25, 0.5, 0.5)
    before = dec.region_reader(path, out)(box, 200)
    gen.save_jpeg(tmp_path / "other.jpg", 255 - big_photo).replace(path)
    after = dec.region_reader(path, out)(box, 200)
    assert after.shape == before.shape
    assert gen.mean_abs_diff(after, 255 - before) < 3.0


def test_region_reader_refuses_nonsense_boxes(tmp_path: Path) -> None:
    path = gen.save(tmp_path / "x.png", gen.sample_rgb("coffee"))
    read = dec.region_reader(path, decode(path))
    with pytest.raises(ValueError):
        read(Box(0.5, 0.5, 0.0, 0.2), 50)
    with pytest.raises(ValueError):
        read(Box(1.5, 0.5, 0.2, 0.2), 50)


# -------------------------------------------------------------- RAW ---------
RAW_CASES = {
    # file: (format, source, full_size)
    "NIKON_D1X_UB20_O35.NEF": ("RAW:NEF", "raw-postprocess", (4024, 2648)),
    "RAW_CANON_D30_SRGB.CRW": ("RAW:CRW", "raw-preview", (2176, 1448)),
    "Blackmagic_PocketCinema4K.dng": ("RAW:DNG", "raw-postprocess", (4128, 2176)),
    "Nikon_COOLSCAN_IV_ED_uncompressed.nef": ("RAW:NEF", "raw-postprocess", (869, 593)),
    "RAW_KODAK_DC50.KDC": ("RAW:KDC", "raw-postprocess", (768, 512)),
}


@needs_raw
@pytest.mark.parametrize("name", sorted(RAW_CASES))
def test_real_raw_gives_plausible_image(name: str) -> None:
    fmt, source, full = RAW_CASES[name]
    out = decode(RAW_DIR / name)
    assert (out.format, out.source, out.full_size) == (fmt, source, full)
    assert out.rgb.dtype == np.uint8 and out.rgb.ndim == 3 and max(out.size) <= ANALYSIS_SIZE
    assert out.size[0] / out.size[1] == pytest.approx(full[0] / full[1], rel=0.02)
    assert 20 < out.rgb.mean() < 240 and out.rgb.std() > 10  # a picture, not black or flat


@needs_raw
def test_raw_exif() -> None:
    nef = decode(RAW_DIR / "NIKON_D1X_UB20_O35.NEF").exif
    assert nef.capture_time == "2004-07-30T12:23:24.510000"
    assert (nef.make, nef.model) == ("NIKON CORPORATION", "NIKON D1X")
    assert nef.iso == 125 and nef.f_number == 11 and nef.focal_length == 24
    assert nef.exposure_time == pytest.approx(1 / 180)
    crw = decode(RAW_DIR / "RAW_CANON_D30_SRGB.CRW").exif  # CIFF: no EXIF, read from preview/LibRaw
    assert (crw.make, crw.model, crw.capture_time) == ("Canon", "EOS D30", "2002-11-24T15:11:22")
    assert read_exif(RAW_DIR / "RAW_CANON_D30_SRGB.CRW").capture_time == "2002-11-24T15:11:22"
    assert read_exif(RAW_DIR / "NIKON_D1X_UB20_O35.NEF") == nef


@needs_raw
def test_raw_region_matches_demosaic() -> None:
    path = RAW_DIR / "NIKON_D1X_UB20_O35.NEF"
    out = decode(path)
    box = Box(0.4, 0.4, 0.2, 0.2)
    crop = dec.region_reader(path, out)(box, 300)
    assert min(crop.shape[:2]) >= 300
    left, top, right, bottom = box.pixels(out.size)
    assert gen.coarse_diff(crop, out.rgb[top:bottom, left:right], (16, 16)) < 5.0
    shifted = out.rgb[top:bottom, left + 100 : right + 100]
    assert gen.coarse_diff(crop, shifted, (16, 16)) > 2 * gen.coarse_diff(
        crop, out.rgb[top:bottom, left:right], (16, 16)
    )


@needs_raw
def test_raw_region_from_preview_has_the_pixels() -> None:
    path = RAW_DIR / "RAW_CANON_D30_SRGB.CRW"
    out = decode(path)  # 1440x960 embedded JPEG
    box = Box(0.3, 0.3, 0.2, 0.2)
    crop = dec.region_reader(path, out)(box, 150)
    assert 150 <= min(crop.shape[:2]) < 300
    left, top, right, bottom = box.pixels(out.size)
    same = gen.coarse_diff(crop, out.rgb[top:bottom, left:right], (16, 16))
    assert same < 5.0  # the ±1 px rounding of the box matters little at this scale
    assert gen.coarse_diff(crop, out.rgb[top:bottom, left + 100 : right + 100], (16, 16)) > 2 * same


@needs_raw
def test_gopro_gpr_is_reported_unsupported() -> None:
    """LibRaw 0.22 in rawpy 0.28 cannot decode GoPro's VC-5 compression: say so, name the file."""
    path = RAW_DIR / "GoPro_HERO6_GOPR0024.GPR"
    with pytest.raises(UnsupportedFormat, match="GOPR0024.GPR"):
        decode(path)
    info = read_exif(path)  # its EXIF is still readable
    assert (info.make, info.model) == ("GoPro", "HERO6 Black")
    assert info.capture_time == "2016-01-01T23:07:27" and info.orientation == 2
