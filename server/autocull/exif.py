"""EXIF reading for the decode stage.

Three sources, merged field by field (first one that has a value wins):

* Pillow's ``getexif()`` (IFD0 + the Exif IFD) for JPEG/PNG/TIFF/HEIC: it is
  already parsed when the image is opened, so it costs nothing extra;
* exifread for RAW files and as the source of maker notes (body serial,
  burst/sequence counters) that Pillow does not parse;
* rawpy's ``other`` block, last, for RAW containers exifread cannot read
  (e.g. Canon CRW).

EXIF is advisory: a garbage tag must never fail a decode, so every reader here
turns a parse problem into "field unknown" (None) and logs it at debug level.

Maker-note fields supported (best effort, via exifread's names):

* sequence number: ``MakerNote SequenceNumber`` (Canon shot info: frame index
  in a continuous burst; Sony: 0 = single), ``MakerNote Sequence`` (Olympus:
  the shot number in the sequence);
* burst id: Apple's BurstUUID (maker note tag 0x000B);
* body serial: ``EXIF BodySerialNumber``, DNG ``CameraSerialNumber`` (0xC62F),
  ``MakerNote SerialNumber`` (Canon, Nikon, Olympus),
  ``MakerNote InternalSerialNumber`` (Fujifilm).
Nikon writes no burst counter that exifread decodes.
"""

from __future__ import annotations

import io
import logging
import math
import re
from datetime import datetime, timezone
from typing import Any, BinaryIO, Mapping, Optional

from PIL import Image

from .records import ExifInfo

log = logging.getLogger(__name__)

# Pillow tag ids (IFD0 and Exif IFD).
_EXIF_IFD = 0x8769
_MAKE, _MODEL, _ORIENTATION, _DATETIME = 0x010F, 0x0110, 0x0112, 0x0132
_DNG_CAMERA_SERIAL, _DNG_UNIQUE_MODEL = 0xC62F, 0xC614
_EXPOSURE_TIME, _F_NUMBER, _ISO = 0x829A, 0x829D, 0x8827
_DATETIME_ORIGINAL, _DATETIME_DIGITIZED = 0x9003, 0x9004
_EXPOSURE_BIAS, _FOCAL_LENGTH = 0x9204, 0x920A
_SUBSEC, _SUBSEC_ORIGINAL, _SUBSEC_DIGITIZED = 0x9290, 0x9291, 0x9292
_BODY_SERIAL, _LENS_MAKE, _LENS_MODEL = 0xA431, 0xA433, 0xA434
_MAKER_NOTE = 0x927C

_FIELDS = tuple(ExifInfo.__dataclass_fields__)
_DATE_RE = re.compile(r"^\s*(\d{4})\D(\d{1,2})\D(\d{1,2})\D+(\d{1,2})\D(\d{1,2})\D(\d{1,2})")

# Makes whose maker notes carry a serial or a burst counter worth a second parse.
_MAKERNOTE_MAKES = ("canon", "nikon", "sony", "olympus", "om digital", "fujifilm", "apple")


# ------------------------------------------------------------ public API ----
def exif_from_pillow(image: Image.Image, fh: Optional[BinaryIO] = None) -> ExifInfo:
    """ExifInfo from an open Pillow image; maker notes via exifread when ``fh`` is given."""
    fields = pillow_fields(image)
    if fh is not None and _wants_makernote(fields, image):
        fields = merge_fields(fields, exifread_fields(fh))
    return build_exif(fields)


def exif_for_raw(fh: BinaryIO, raw: Any = None, preview: Optional[bytes] = None, unpacked: bool = False) -> ExifInfo:
    """ExifInfo of a RAW file: exifread, then the preview JPEG's EXIF, then LibRaw's parse.

    ``raw`` is an open ``rawpy.RawPy`` when the caller has one (``unpacked``
    when its raw data is already decoded, so LibRaw's metadata costs nothing);
    without it the file is opened here only if exifread found no capture time
    or camera. LibRaw's metadata needs an unpack, so it is read only when
    already paid for or when EXIF gave too little.
    """
    fields = exifread_fields(fh)
    if raw is None:
        if _complete(fields):
            return build_exif(fields)
        return build_exif(merge_fields(fields, _rawpy_fields_from_file(fh)))
    if not _complete(fields):
        fields = merge_fields(fields, _preview_fields(raw, preview))
    if unpacked or not _complete(fields):
        fields = merge_fields(fields, rawpy_fields(raw))
    return build_exif(fields)


# ------------------------------------------------------------- readers ------
def pillow_fields(image: Image.Image) -> dict[str, Any]:
    """Field dict from Pillow's parsed EXIF; {} when it is unreadable."""
    try:
        exif = image.getexif()
        ifd0: Mapping[int, Any] = dict(exif)
        sub: Mapping[int, Any] = dict(exif.get_ifd(_EXIF_IFD))
    except Exception as exc:  # noqa: BLE001 - EXIF is advisory; any parser failure means "unknown"
        log.debug("unreadable EXIF (Pillow): %s", exc)
        return {}
    fields = _pillow_tag_fields(ifd0, sub)
    original = image.info.get("original_orientation")  # pillow-heif already rotated the pixels
    if original is not None:
        fields["orientation"] = _orientation(original)
    return fields


def _pillow_tag_fields(ifd0: Mapping[int, Any], sub: Mapping[int, Any]) -> dict[str, Any]:
    """Map Pillow tag ids to ExifInfo field values."""
    return {
        "capture_time_parts": _first_date(
            (sub.get(_DATETIME_ORIGINAL), sub.get(_SUBSEC_ORIGINAL)),
            (sub.get(_DATETIME_DIGITIZED), sub.get(_SUBSEC_DIGITIZED)),
            (ifd0.get(_DATETIME), sub.get(_SUBSEC)),
        ),
        "make": _text(ifd0.get(_MAKE)),
        "model": _text(ifd0.get(_MODEL)) or _text(ifd0.get(_DNG_UNIQUE_MODEL)),
        "serial": _text(sub.get(_BODY_SERIAL)) or _text(ifd0.get(_DNG_CAMERA_SERIAL)),
        "lens": _lens(sub.get(_LENS_MAKE), sub.get(_LENS_MODEL)),
        "orientation": _orientation(ifd0.get(_ORIENTATION)),
        "focal_length": _positive(sub.get(_FOCAL_LENGTH)),
        "exposure_time": _positive(sub.get(_EXPOSURE_TIME)),
        "f_number": _positive(sub.get(_F_NUMBER)),
        "iso": _positive(sub.get(_ISO)),
        "exposure_compensation": _number(sub.get(_EXPOSURE_BIAS)),
        "has_makernote": _MAKER_NOTE in sub,
    }


def exifread_fields(fh: BinaryIO) -> dict[str, Any]:
    """Field dict from exifread (maker notes included); {} when it finds nothing usable."""
    import exifread  # only needed for RAW and maker notes

    try:
        fh.seek(0)
        tags = exifread.process_file(fh, details=True, extract_thumbnail=False)
    except Exception as exc:  # noqa: BLE001 - exifread raises many types on garbage
        log.debug("unreadable EXIF (exifread): %s", exc)
        return {}
    finally:
        fh.seek(0)
    return _exifread_tag_fields(tags)


def _exifread_tag_fields(tags: Mapping[str, Any]) -> dict[str, Any]:
    """Map exifread's "IFD Name" keys to ExifInfo field values."""

    def val(*keys: str) -> Any:
        for key in keys:
            if key in tags:
                return _exifread_value(tags[key])
        return None

    return {
        "capture_time_parts": _first_date(
            (val("EXIF DateTimeOriginal", "Image DateTimeOriginal"), val("EXIF SubSecTimeOriginal")),
            (val("EXIF DateTimeDigitized"), val("EXIF SubSecTimeDigitized")),
            (val("Image DateTime"), val("EXIF SubSecTime")),
        ),
        "make": _text(val("Image Make")),
        "model": _text(val("Image Model", "Image UniqueCameraModel", "Image Tag 0xC614")),
        "serial": _first_text(
            val("EXIF BodySerialNumber"),
            val("Image Tag 0xC62F"),
            val("MakerNote SerialNumber"),
            val("MakerNote InternalSerialNumber"),
            val("EXIF SerialNumber"),
        ),
        "lens": _lens(val("EXIF LensMake"), val("EXIF LensModel", "MakerNote LensModel")),
        "orientation": _orientation(val("Image Orientation")),
        "focal_length": _positive(val("EXIF FocalLength", "Image FocalLength")),
        "exposure_time": _positive(val("EXIF ExposureTime", "Image ExposureTime")),
        "f_number": _positive(val("EXIF FNumber", "Image FNumber")),
        "iso": _positive(val("EXIF ISOSpeedRatings", "EXIF PhotographicSensitivity", "MakerNote ISOSetting")),
        "exposure_compensation": _number(val("EXIF ExposureBiasValue", "Image ExposureBiasValue")),
        "sequence_number": _sequence(tags),
        "burst_id": _text(val("MakerNote Tag 0x000B")) if _is_apple(tags) else None,
    }


def rawpy_fields(raw: Any) -> dict[str, Any]:
    """Fields from LibRaw's own parse (needs unpack; only used when EXIF had nothing)."""
    try:
        other = raw.other
        lens = raw.lens
    except Exception as exc:  # noqa: BLE001 - rawpy raises its own LibRaw* types
        log.debug("rawpy metadata unavailable: %s", exc)
        return {}
    stamp = other.timestamp
    parts = None
    if stamp is not None and stamp.year > 1970:
        parts = (stamp.replace(microsecond=0), None)
    return {
        "capture_time_parts": parts,
        "lens": _text(getattr(lens, "model", None)),
        "focal_length": _positive(other.focal_length),
        "exposure_time": _positive(other.shutter_speed),
        "f_number": _positive(other.aperture),
        "iso": _positive(other.iso_speed),
    }


def _rawpy_fields_from_file(fh: BinaryIO) -> dict[str, Any]:
    """Open the file with rawpy just for its metadata (read_exif on a RAW)."""
    import rawpy

    try:
        fh.seek(0)
        with rawpy.imread(fh) as raw:
            return merge_fields(_preview_fields(raw, None), rawpy_fields(raw))
    except Exception as exc:  # noqa: BLE001 - any LibRaw failure: metadata simply unknown
        log.debug("rawpy could not open the file for metadata: %s", exc)
        return {}


def _preview_fields(raw: Any, preview: Optional[bytes]) -> dict[str, Any]:
    """EXIF of the embedded JPEG preview (Canon CRW keeps camera and date there)."""
    data = preview
    if data is None:
        data = _preview_jpeg_bytes(raw)
    if not data:
        return {}
    try:
        with Image.open(io.BytesIO(data)) as im:
            fields = pillow_fields(im)
    except Exception as exc:  # noqa: BLE001 - a broken preview only loses metadata
        log.debug("unreadable preview EXIF: %s", exc)
        return {}
    fields.pop("orientation", None)  # the preview's own tag is not the RAW's orientation
    return fields


def _preview_jpeg_bytes(raw: Any) -> Optional[bytes]:
    """The embedded JPEG preview's bytes, or None."""
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except Exception as exc:  # noqa: BLE001 - no preview is normal
        log.debug("no preview: %s", exc)
        return None
    return bytes(thumb.data) if thumb.format == rawpy.ThumbFormat.JPEG else None


def exif_for_pillow_file(fh: BinaryIO) -> ExifInfo:
    """EXIF of a non-RAW file: Pillow without loading pixels, exifread as fallback.

    The caller registers the Pillow openers it wants (``decode.read_exif`` adds HEIF).
    """
    try:
        with Image.open(fh) as im:
            info = exif_from_pillow(im, fh)
    except Exception as exc:  # noqa: BLE001 - not an image Pillow knows: try exifread alone
        log.debug("Pillow could not read EXIF: %s", exc)
        return build_exif(exifread_fields(fh))
    return info


# --------------------------------------------------------------- merging ----
def merge_fields(*sources: Mapping[str, Any]) -> dict[str, Any]:
    """First non-None value per field; orientation 1 counts as unset."""
    merged: dict[str, Any] = {}
    for source in sources:
        for key, value in source.items():
            if value is None or (key == "orientation" and value == 1):
                continue
            merged.setdefault(key, value)
    return merged


def build_exif(fields: Mapping[str, Any]) -> ExifInfo:
    """ExifInfo from a merged field dict (capture time formatted here)."""
    kwargs = {k: v for k, v in fields.items() if k in _FIELDS and v is not None}
    parts = fields.get("capture_time_parts")
    if parts is not None:
        kwargs["capture_time"], kwargs["capture_ts"] = _format_time(*parts)
    kwargs.setdefault("orientation", 1)
    return ExifInfo(**kwargs)


def _complete(fields: Mapping[str, Any]) -> bool:
    """True when exifread found what the later stages need most."""
    return bool(fields.get("capture_time_parts") and fields.get("make"))


def _wants_makernote(fields: Mapping[str, Any], image: Image.Image) -> bool:
    """Parse maker notes only for makes that put a serial or burst counter there."""
    if not fields.get("has_makernote"):
        return False
    make = (fields.get("make") or "").lower()
    return image.format in ("JPEG", "MPO", "TIFF") and make.startswith(_MAKERNOTE_MAKES)


# ------------------------------------------------------------- values -------
def _first_date(*candidates: tuple[Any, Any]) -> Optional[tuple[datetime, Optional[str]]]:
    """First parseable (date, sub-seconds) pair, in EXIF's order of preference."""
    for date, subsec in candidates:
        parsed = parse_exif_datetime(date)
        if parsed is not None:
            return parsed, _subsec_digits(subsec)
    return None


def parse_exif_datetime(value: Any) -> Optional[datetime]:
    """'YYYY:MM:DD HH:MM:SS' (any separators, as some cameras write) -> naive datetime."""
    text = _text(value)
    if not text:
        return None
    match = _DATE_RE.match(text)
    if not match:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        parsed = datetime(year, month, day, hour, minute, second)
    except ValueError:  # 0000:00:00 and friends
        return None
    return parsed if parsed.year >= 1900 else None


def _subsec_digits(value: Any) -> Optional[str]:
    """The leading digits of a SubSecTime string ('51' means .51 s), or None."""
    text = _text(value)
    if not text:
        return None
    match = re.match(r"\d+", text)
    return match.group(0) if match else None


def _format_time(moment: datetime, subsec: Optional[str]) -> tuple[str, float]:
    """ISO string and sortable seconds (naive camera time read as UTC)."""
    if subsec:
        micro = int((subsec + "000000")[:6])
        moment = moment.replace(microsecond=micro)
        text = moment.isoformat(timespec="microseconds")
    else:
        text = moment.isoformat(timespec="seconds")
    return text, moment.replace(tzinfo=timezone.utc).timestamp()


def _exifread_value(tag: Any) -> Any:
    """exifread IfdTag -> plain value (single values unwrapped, ratios as Fraction-like)."""
    values = getattr(tag, "values", tag)
    if isinstance(values, (list, tuple)):
        if len(values) == 1:
            return values[0]
        return list(values)
    return values


def _number(value: Any) -> Optional[float]:
    """Finite float from int/rational/str/1-element sequence, else None."""
    if isinstance(value, (list, tuple)):
        value = next((v for v in value if v not in (0, None)), value[0] if value else None)
    if value is None or isinstance(value, (bytes, bytearray)):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _positive(value: Any) -> Optional[float]:
    number = _number(value)
    return number if number is not None and number > 0 else None


def _text(value: Any) -> Optional[str]:
    """Clean string: bytes decoded, NULs and padding stripped, empty -> None."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", errors="replace")
    elif isinstance(value, (list, tuple)):
        return None if not value else _text(" ".join(str(v) for v in value))
    text = str(value).replace("\x00", " ").strip()
    return text or None


def _first_text(*values: Any) -> Optional[str]:
    for value in values:
        text = _text(value)
        if text and text.strip("0 ") != "":
            return text
    return None


def _lens(make: Any, model: Any) -> Optional[str]:
    """Lens model, prefixed with its maker when the model does not already say it."""
    model_text, make_text = _text(model), _text(make)
    if not model_text:
        return None
    if make_text and not model_text.lower().startswith(make_text.lower()):
        return f"{make_text} {model_text}"
    return model_text


def _orientation(value: Any) -> int:
    number = _number(value)
    if number is None or int(number) != number or not 1 <= number <= 8:
        return 1
    return int(number)


def _sequence(tags: Mapping[str, Any]) -> Optional[int]:
    """Frame number within a burst from the maker notes exifread decodes."""
    olympus = tags.get("MakerNote Sequence")
    if olympus is not None:
        values = list(getattr(olympus, "values", []) or [])
        if len(values) >= 2 and isinstance(values[1], int):
            return values[1]
    tag = tags.get("MakerNote SequenceNumber")
    if tag is None:
        return None
    number = _number(_exifread_value(tag))
    if number is None or number < 0 or number >= 65535:
        return None
    return int(number)


def _is_apple(tags: Mapping[str, Any]) -> bool:
    make = _text(_exifread_value(tags["Image Make"])) if "Image Make" in tags else None
    return bool(make and make.lower().startswith("apple"))
