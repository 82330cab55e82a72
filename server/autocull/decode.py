"""Decode stage: one file -> upright analysis-size RGB pixels + EXIF.

Everything that can go wrong with a photographer's file is turned into one of
the ``errors.FileProblem`` types here, with a message naming the file, so the
job can carry on with the next frame. Formats are identified by content (magic
bytes, then Pillow / LibRaw), the extension only breaks ties (a TIFF-structured
file named .nef is tried as RAW first).

Bombs: the pixel count is checked from the header against ``max_pixels``
before any pixel buffer is allocated. Pillow's own guard (it refuses above
2 x ``PIL.Image.MAX_IMAGE_PIXELS``, ~179 MP by default) stays on for the rest of
the process, raised so that it refuses only beyond twice the largest
``max_pixels`` asked for: a stitched panorama under our limit is culled, and
one over it gets our message.

Memory: whatever a folder holds, decodes draw from one budget of decoded
pixels (``budget.current()``: the worker pool's, shared by its processes; this
process's own outside a pool): an image holds its decoded pixel count,
known from the header (after JPEG draft scaling, which libjpeg does while
decoding), until its full-size buffers are freed, so several huge files decode
one after another, never at once. RAW files are read from their embedded
preview when it is big enough and otherwise demosaiced at half size; only the
demosaic holds the budget (for the sensor's pixel count).

Truncation: ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` must stay False (its
default) so a cut-off JPEG raises instead of being grey-filled; we report it as
``CorruptImage`` because a photographer wants such a frame flagged, not culled
on a half-grey picture.
"""

from __future__ import annotations

import io
import logging
import math
import os
import stat
import struct
import threading
import zlib
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Optional

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError

from . import budget
from . import exif as exif_mod
from .errors import (
    BadPath,
    CorruptImage,
    EmptyFile,
    FileProblem,
    FileVanished,
    ImageTooLarge,
    NotAFile,
    UnsupportedFormat,
    file_problem,
)
from .records import Box, DecodedImage, ExifInfo

log = logging.getLogger(__name__)

ANALYSIS_SIZE = 1280
"""Long edge (px) of the pixels the measure stage sees.

Sharpness is judged as a photographer judges it on screen: fit-to-screen on a
typical display is 1200-1500 px on the long edge, so blur visible there is
blur that matters. It also keeps decoding cheap: a 24 MP JPEG (6000 px) is
draft-decoded by libjpeg at 1/4 scale straight to 1500 px and only lightly
resized. Small faces are not judged at this size but on a higher-resolution
crop read through ``region_reader``.
"""

DEFAULT_MAX_PIXELS = 250_000_000

RAW_EXTENSIONS = frozenset(
    "cr2 cr3 crw nef nrw arw srf sr2 orf rw2 raf pef dng kdc dcr mrw 3fr erf mos raw rwl srw x3f gpr iiq".split()
)

# Pillow formats we let identify a file: photo formats only (never EPS & co.).
_PIL_FORMATS = ("JPEG", "MPO", "PNG", "TIFF", "HEIF", "AVIF", "WEBP", "BMP", "GIF", "PPM")
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1", b"avif", b"avis")
_HEAD_BYTES = 64
_MIN_RAW_BITS_PER_PIXEL = 0.5  # less data than this for the sensor size means a truncated RAW
# Budget weights, in 8-bit RGB pixel equivalents (~3 bytes each): 16-bit and float data is scaled through
# float64 arrays; a demosaic holds the 16-bit sensor data and a half-size 16-bit working image (~5 B/px).
_HIGH_BIT_WEIGHT = 4
_DEMOSAIC_WEIGHT = 2

# EXIF orientation -> Pillow transpose that makes the stored pixels upright.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# LibRaw's sizes.flip -> EXIF orientation (inverse of LibRaw's "50132467" table).
_FLIP_TO_ORIENTATION = {0: 1, 1: 2, 2: 4, 3: 3, 4: 5, 5: 8, 6: 6, 7: 7}


_PILLOW_BLOCK_BYTES = 64 << 20


def _return_freed_pixels_to_os() -> None:
    """Let a finished decode's buffers go back to the OS, so the pixel budget bounds the process's RSS.

    Pillow allocates pixels in 16 MiB blocks by default; glibc serves those from per-thread arenas once its
    dynamic mmap threshold has risen, and an arena keeps what was freed: every worker thread then retains
    the largest image it ever decoded. Blocks above glibc's 32 MiB mmap ceiling are always mmap'd and
    unmapped on free. Pillow's documented ``PILLOW_BLOCK_SIZE`` wins when the user set it.
    """
    if "PILLOW_BLOCK_SIZE" not in os.environ and hasattr(Image.core, "set_block_size"):
        Image.core.set_block_size(_PILLOW_BLOCK_BYTES)


_return_freed_pixels_to_os()


class _NotMine(Exception):
    """A decoder does not recognise the file; the next one may."""


# ------------------------------------------------------------- public API ----
def decode(
    path: str | os.PathLike[str],
    *,
    analysis_size: int = ANALYSIS_SIZE,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> DecodedImage:
    """Decode ``path`` to upright uint8 RGB with long edge <= ``analysis_size``.

    Raises a ``FileProblem`` subclass (never anything else) when the file
    cannot be used; see the module docstring for the choices made.
    """
    _pillow_allows(max_pixels)
    checked = check_file(path)
    with _problems(checked), open_file(checked) as fh:
        head = fh.read(_HEAD_BYTES)
        fh.seek(0)
        magic = sniff(head)
        decoders = _decoders_for(magic, checked)
        reasons: list[str] = []
        for name in decoders:
            try:
                return _DECODERS[name](fh, checked, analysis_size, max_pixels, magic)
            except _NotMine as exc:
                reasons.append(str(exc))
                fh.seek(0)
        if magic is not None:
            raise CorruptImage(
                f"{checked}: looks like {magic} but cannot be decoded: damaged, truncated, "
                f"or a variant this version cannot read ({'; '.join(reasons)})"
            )
        raise UnsupportedFormat(f"{checked}: not an image format AutoCull can read ({'; '.join(reasons)})")


def _pillow_allows(max_pixels: int) -> None:
    """Raise Pillow's bomb guard (never lower it) to twice our limit: our header check then decides, with our
    message, and Pillow's stays a backstop for what is far beyond it."""
    current = Image.MAX_IMAGE_PIXELS
    if current is not None and current < max_pixels:
        Image.MAX_IMAGE_PIXELS = max_pixels


def read_exif(path: str | os.PathLike[str]) -> ExifInfo:
    """EXIF of one file, without decoding pixels.

    File-level problems (missing, a directory, unreadable, vanished) raise the
    same ``errors`` exceptions as ``decode``; anything wrong with the content
    (not an image, garbage EXIF) just gives an ``ExifInfo`` with fields None.
    """
    checked = check_file(path)
    with open_file(checked) as fh:
        head = fh.read(_HEAD_BYTES)
        fh.seek(0)
        if is_raw_candidate(head, checked):
            return exif_mod.exif_for_raw(fh)
        ensure_heif_opener()
        return exif_mod.exif_for_pillow_file(fh)


def check_file(path: str | os.PathLike[str]) -> Path:
    """The path as a regular, non-empty file, or the FileProblem that says why not."""
    try:
        p = Path(os.fspath(path))
        st = p.stat()
    except OSError as exc:
        raise file_problem(exc, path, doing="looking up the file") from exc
    except ValueError as exc:  # e.g. a NUL byte: no file can have this name
        raise BadPath(f"{path}: cannot look up the file ({exc})") from exc
    _check_stat(p, st)
    return p


def open_file(path: Path) -> BinaryIO:
    """Open for reading without ever blocking (a FIFO swapped in is refused, not waited on)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise file_problem(exc, path, missing=FileVanished, doing="opening the file") from exc
    try:
        _check_stat(path, os.fstat(fd))
    except FileProblem:
        os.close(fd)
        raise
    return os.fdopen(fd, "rb")


def sniff(head: bytes) -> Optional[str]:
    """Container named by the first bytes ("JPEG", "PNG", "TIFF", "HEIF", "RAW:CRW"...), or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if head[4:8] == b"ftyp":
        if head[8:12] == b"crx ":
            return "RAW:CR3"
        return "HEIF" if head[8:12] in _HEIF_BRANDS else None
    return _sniff_raw(head) or _sniff_other(head)


def is_raw_candidate(head: bytes, path: Path) -> bool:
    """True when the file should go to LibRaw first."""
    return _decoders_for(sniff(head), path)[0] == "raw"


def ensure_heif_opener() -> None:
    """Register pillow-heif with Pillow on first need (keeps import of this module light)."""
    if "HEIF" in Image.OPEN:
        return
    from pillow_heif import register_heif_opener

    register_heif_opener()


# ------------------------------------------------------------ regions -----
@dataclass(frozen=True)
class FileRegionReader:
    """The :class:`~autocull.records.RegionReader` of one decoded file: each call opens the file again.

    ``orientation`` is the EXIF orientation still to apply to the stored
    pixels, ``full_size`` the upright size of the original, ``raw`` whether
    LibRaw decodes the file (a crop then comes from the embedded preview when
    it has the pixels, else from the demosaic).
    """

    path: Path
    orientation: int
    full_size: tuple[int, int]
    raw: bool

    def __call__(self, box: Box, min_side: int) -> np.ndarray:
        if self.raw:
            return _raw_region(self.path, self.orientation, self.full_size, box, min_side)
        return _pillow_region(self.path, self.orientation, box, min_side)


def region_reader(path: str | os.PathLike[str], decoded: DecodedImage) -> FileRegionReader:
    """Reader of higher-resolution upright crops of the file ``decoded`` was decoded from."""
    raw = decoded.source.startswith("raw")
    orientation = decoded.exif.orientation if raw else _applied_orientation(decoded.format, decoded.exif.orientation)
    return FileRegionReader(path=Path(os.fspath(path)), orientation=orientation, full_size=decoded.full_size, raw=raw)


# --------------------------------------------------------------- checks -----
def _check_stat(path: Path, st: os.stat_result) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise NotAFile(f"{path}: is a directory, not a photo")
    if not stat.S_ISREG(st.st_mode):
        raise NotAFile(f"{path}: is not a regular file (FIFO, device or socket)")
    if st.st_size == 0:
        raise EmptyFile(f"{path}: the file is empty (0 bytes)")


def _check_pixels(path: Path, size: tuple[int, int], max_pixels: int) -> None:
    """Refuse before decoding: the header's size alone tells a bomb."""
    w, h = size
    if w <= 0 or h <= 0:
        raise CorruptImage(f"{path}: the header gives an impossible size {w}x{h}")
    if w * h > max_pixels:
        raise ImageTooLarge(
            f"{path}: {w}x{h} = {w * h / 1e6:.0f} MP is more than the limit of {max_pixels / 1e6:.0f} MP"
        )


@contextmanager
def _problems(path: Path) -> Iterator[None]:
    """Turn whatever a decoder raises into the FileProblem a photographer can act on."""
    try:
        yield
    except FileProblem:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(f"{path}: refused as a decompression bomb ({exc})") from exc
    except MemoryError as exc:
        raise ImageTooLarge(f"{path}: not enough memory to decode this image") from exc
    except OSError as exc:
        if exc.errno is not None:  # the OS failed, not the image data
            raise file_problem(exc, path, missing=FileVanished, doing="reading") from exc
        raise CorruptImage(f"{path}: image data is truncated or damaged ({exc})") from exc
    except (SyntaxError, ValueError, EOFError, IndexError, struct.error, zlib.error) as exc:
        raise CorruptImage(f"{path}: image data is damaged ({exc})") from exc
    except Exception as exc:  # noqa: BLE001 - contract: decode raises only FileProblem
        log.error("unexpected error decoding %s", path, exc_info=True)
        raise CorruptImage(f"{path}: could not be decoded ({type(exc).__name__}: {exc})") from exc


# -------------------------------------------------------------- routing -----
def _sniff_raw(head: bytes) -> Optional[str]:
    if head[6:14] == b"HEAPCCDR":
        return "RAW:CRW"
    if head.startswith(b"FUJIFILMCCD-RAW"):
        return "RAW:RAF"
    if head[:4] in (b"IIRO", b"IIRS", b"MMOR"):
        return "RAW:ORF"
    if head[:4] == b"IIU\x00":
        return "RAW:RW2"
    if head.startswith(b"FOVb"):
        return "RAW:X3F"
    if head.startswith(b"\x00MRM"):
        return "RAW:MRW"
    return None


def _sniff_other(head: bytes) -> Optional[str]:
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:2] == b"BM":
        return "BMP"
    return None


def _decoders_for(magic: Optional[str], path: Path) -> list[str]:
    """Decoders to try, most likely first."""
    raw_ext = path.suffix.lower().lstrip(".") in RAW_EXTENSIONS
    if magic is not None and magic.startswith("RAW:"):
        return ["raw"]
    if magic == "TIFF":  # most RAW formats are TIFF inside
        # No Pillow fallback for a RAW name: Pillow would "decode" the tiny IFD0 thumbnail.
        return ["raw"] if raw_ext else ["pillow", "raw"]
    if magic is not None:
        return ["pillow"]
    return ["raw", "pillow"] if raw_ext else ["pillow"]


# --------------------------------------------------------- pixel helpers ----
def _pil_formats() -> list[str]:
    Image.init()
    return [f for f in _PIL_FORMATS if f in Image.OPEN]


def _open_pillow(fh: BinaryIO, path: Path, magic: Optional[str]) -> Image.Image:
    if magic in (None, "HEIF"):
        ensure_heif_opener()
    try:
        return Image.open(fh, formats=_pil_formats())
    except UnidentifiedImageError as exc:
        raise _NotMine("Pillow does not recognise it") from exc


def _format_name(im: Image.Image) -> str:
    fmt = im.format or "UNKNOWN"
    return {"MPO": "JPEG", "HEIF": "HEIC"}.get(fmt, fmt)


def _target_size(size: tuple[int, int], long_edge: int) -> tuple[int, int]:
    """``size`` scaled so its long edge is ``long_edge`` (never upscaled)."""
    w, h = size
    scale = min(1.0, long_edge / max(w, h))
    return max(1, round(w * scale)), max(1, round(h * scale))


def _fit(im: Image.Image, long_edge: int) -> Image.Image:
    """Downscale with LANCZOS (after a cheap box reduce for big ratios)."""
    target = _target_size(im.size, long_edge)
    if target == im.size:
        return im
    return im.resize(target, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _orient(im: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return im.transpose(method) if method is not None else im


def _upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size


def _to_rgb8(im: Image.Image) -> Image.Image:
    """Any Pillow mode -> 8-bit RGB; 16-bit and float data scaled, not clipped."""
    if im.mode == "RGB":
        return im
    if im.mode in ("I", "F") or im.mode.startswith("I;16"):
        return Image.fromarray(_scale_to_u8(np.asarray(im)), "L").convert("RGB")
    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    return im.convert("RGB")


def _scale_to_u8(values: np.ndarray) -> np.ndarray:
    """Integer data by its bit depth (8/16 bit, else its maximum); float 0..1 (or 0..max)."""
    data = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    top = float(data.max()) if data.size else 0.0
    if np.issubdtype(values.dtype, np.floating):
        full = 1.0 if top <= 1.0 else top
    else:
        full = 255.0 if top <= 255 else 65535.0 if top <= 65535 else top
    return np.clip(np.rint(data * (255.0 / full)), 0, 255).astype(np.uint8)


def _as_array(im: Image.Image) -> np.ndarray:
    return np.array(im.convert("RGB") if im.mode != "RGB" else im, dtype=np.uint8)


# ---------------------------------------------------------- Pillow path -----
def _decode_pillow(fh: BinaryIO, path: Path, analysis_size: int, max_pixels: int, magic: Optional[str]) -> DecodedImage:
    with ExitStack() as held, _open_pillow(fh, path, magic) as im:  # the budget is given back after close
        stored = im.size
        _check_pixels(path, stored, max_pixels)
        fmt = _format_name(im)
        if im.format in ("JPEG", "MPO"):
            im.draft("RGB", _target_size(stored, analysis_size))
        held.enter_context(budget.current().hold(_pillow_cost(im)))
        im.load()
        _refuse_padded_jpeg(im, path)
        info = exif_mod.exif_from_pillow(im, fh)
        applied = _applied_orientation(fmt, info.orientation)
        small = _orient(_fit(_to_rgb8(im), analysis_size), applied)
        rgb = _as_array(small)
        _keep_draft(fh, im, analysis_size)
    return DecodedImage(rgb=rgb, full_size=_upright_size(stored, applied), format=fmt, exif=info, source="pixels")


# ------------------------------------------------------- the kept draft -----
@dataclass(frozen=True)
class _Draft:
    """The last JPEG this thread decoded, as libjpeg delivered it (stored orientation, at its DCT scale).

    A face too small to judge at analysis size is re-read at a higher resolution (``region_reader``); when
    the DCT scale that read needs is the one the analysis decode used, these are the very pixels it would
    decode again, so it crops them instead. ``key`` says which file (and which version of it) they are.
    """

    key: tuple[int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns of the file decoded
    image: Image.Image


_kept = threading.local()  # one draft per thread: decode and measure of a file run in the same thread
_KEEP_FACTOR = 4  # keep drafts up to this many times the analysis image's pixels (the DCT scale's slack)


def _file_key(fh: BinaryIO) -> tuple[int, int, int, int]:
    st = os.fstat(fh.fileno())
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _keep_draft(fh: BinaryIO, im: Image.Image, analysis_size: int) -> None:
    """Keep a decoded JPEG for this thread's next region read (replacing the one before: memory stays at one
    small image per thread, outside the pixel budget since it is at most a few analysis images)."""
    _kept.draft = None
    if im.format not in ("JPEG", "MPO") or im.mode != "RGB":
        return
    if im.size[0] * im.size[1] > _KEEP_FACTOR * analysis_size * analysis_size:
        return
    _kept.draft = _Draft(_file_key(fh), im)


def _kept_draft(fh: BinaryIO, im: Image.Image) -> Optional[Image.Image]:
    """The kept draft when it is this file at the size ``im`` (opened and drafted, not loaded) would decode to."""
    draft: Optional[_Draft] = getattr(_kept, "draft", None)
    if draft is None or draft.image.size != im.size or im.mode != "RGB" or draft.key != _file_key(fh):
        return None
    return draft.image


def _pillow_cost(im: Image.Image) -> int:
    """Budget an opened (and, for JPEG, drafted) image holds while it is decoded at its current size."""
    high_bit = im.mode in ("I", "F") or im.mode.startswith("I;16")
    return im.size[0] * im.size[1] * (_HIGH_BIT_WEIGHT if high_bit else 1)


def _demosaic_cost(sizes: Any) -> int:
    return int(sizes.raw_width) * int(sizes.raw_height) * _DEMOSAIC_WEIGHT


def _applied_orientation(fmt: str, orientation: int) -> int:
    """The orientation still to apply to what Pillow decodes: none for HEIC (libheif already applied irot/imir)."""
    return 1 if fmt == "HEIC" else orientation


def _pillow_region(path: Path, orientation: int, box: Box, min_side: int) -> np.ndarray:
    """Upright crop of ``box`` from a fresh open of the file (JPEG at the coarsest DCT scale that suffices)."""
    stored_box = box_to_stored(box, orientation)
    with _problems(path), ExitStack() as held, open_file(path) as fh:
        magic = sniff(fh.read(_HEAD_BYTES))
        fh.seek(0)
        with _open_pillow(fh, path, magic) as im:
            kept = None
            if im.format in ("JPEG", "MPO"):
                im.draft("RGB", _draft_request(im.size, stored_box, min_side))
                kept = _kept_draft(fh, im)
            if kept is not None:  # the analysis decode already has these pixels
                crop = kept.crop(stored_box.pixels(kept.size))
            else:
                held.enter_context(budget.current().hold(_pillow_cost(im)))  # a crop loads the whole image first
                crop = _to_rgb8(im.crop(stored_box.pixels(im.size)))
                _refuse_padded_jpeg(im, path)
    return _as_array(_orient(_reduce_to(crop, min_side), orientation))


def _refuse_padded_jpeg(im: Image.Image, path: Path) -> None:
    """Belt and braces: if someone set LOAD_TRUNCATED_IMAGES, Pillow pads a cut JPEG with EOI and marks it."""
    if ImageFile.LOAD_TRUNCATED_IMAGES and getattr(im, "_ended", False):
        raise CorruptImage(f"{path}: JPEG data is truncated (the file ends before the image does)")


def _draft_request(size: tuple[int, int], box: Box, min_side: int) -> tuple[int, int]:
    """Whole-image size to ask ``draft`` for so the box still has ``min_side`` px."""
    short = min(box.w * size[0], box.h * size[1])
    scale = min(1.0, (min_side + 2) / max(short, 1e-9))
    return max(1, math.ceil(size[0] * scale)), max(1, math.ceil(size[1] * scale))


def _reduce_to(im: Image.Image, min_side: int) -> Image.Image:
    """Box-reduce by an integer factor while the short side stays >= ``min_side``."""
    factor = min(im.size) // max(1, min_side)
    return im.reduce(factor) if factor >= 2 else im


# ------------------------------------------------------------- RAW path -----
def _decode_raw(fh: BinaryIO, path: Path, analysis_size: int, max_pixels: int, magic: Optional[str]) -> DecodedImage:
    with ExitStack() as held, _open_raw(fh, path) as raw:  # the budget is given back after LibRaw frees
        orientation = _FLIP_TO_ORIENTATION.get(raw.sizes.flip, 1)
        stored = raw_output_size(raw.sizes)
        _check_pixels(path, stored, max_pixels)
        _check_raw_length(path, raw.sizes)
        preview, preview_jpeg = _raw_preview(raw, stored, analysis_size)
        if preview is not None:
            rgb, source = _as_array(_orient(_fit(preview, analysis_size), orientation)), "raw-preview"
        else:
            held.enter_context(budget.current().hold(_demosaic_cost(raw.sizes)))
            rgb = _as_array(_fit(Image.fromarray(_postprocess(raw, path, half=True)), analysis_size))
            source = "raw-postprocess"
        info = exif_mod.exif_for_raw(fh, raw, preview_jpeg, unpacked=source == "raw-postprocess")
    info = replace(info, orientation=orientation)
    return DecodedImage(
        rgb=rgb, full_size=_upright_size(stored, orientation), format=_raw_format(path, magic), exif=info, source=source
    )


def _open_raw(fh: BinaryIO, path: Path) -> Any:
    import rawpy

    try:
        return rawpy.imread(fh)
    except rawpy.LibRawFileUnsupportedError as exc:
        raise _NotMine(f"LibRaw does not recognise it ({_libraw_text(exc)})") from exc
    except rawpy.LibRawError as exc:
        raise CorruptImage(f"{path}: RAW file is truncated or damaged ({_libraw_text(exc)})") from exc


def _postprocess(raw: Any, path: Path, half: bool) -> np.ndarray:
    """Demosaic with LibRaw (camera white balance, 8-bit sRGB, flip applied)."""
    import rawpy

    try:
        return raw.postprocess(half_size=half, use_camera_wb=True, output_bps=8)
    except rawpy.LibRawFileUnsupportedError as exc:
        raise UnsupportedFormat(
            f"{path}: LibRaw recognises this RAW file but cannot decode its image data "
            f"(compression not supported by this LibRaw build: {_libraw_text(exc)})"
        ) from exc
    except (rawpy.LibRawTooBigError, rawpy.LibRawUnsufficientMemoryError) as exc:
        raise ImageTooLarge(f"{path}: RAW image too large to decode ({_libraw_text(exc)})") from exc
    except rawpy.LibRawError as exc:
        raise CorruptImage(f"{path}: RAW data is truncated or damaged ({_libraw_text(exc)})") from exc


def raw_output_size(sizes: Any) -> tuple[int, int]:
    """LibRaw's output size before the flip, with non-square pixels stretched as LibRaw does."""
    w, h = int(sizes.width), int(sizes.height)
    aspect = float(sizes.pixel_aspect or 1.0)
    if 0 < aspect < 1:
        h = round(h / aspect)
    elif aspect > 1:
        w = round(w * aspect)
    return w, h


def _check_raw_length(path: Path, sizes: Any) -> None:
    """LibRaw happily 'decodes' a RAW cut after its header: refuse when the data cannot fit."""
    try:
        length = path.stat().st_size
    except OSError:
        return
    needed_bits = int(sizes.raw_width) * int(sizes.raw_height) * _MIN_RAW_BITS_PER_PIXEL
    if length * 8 < needed_bits:
        raise CorruptImage(
            f"{path}: RAW file is truncated ({length} bytes cannot hold a "
            f"{sizes.raw_width}x{sizes.raw_height} sensor image)"
        )


def _raw_preview(
    raw: Any, stored: tuple[int, int], min_long: int, draft: bool = True
) -> tuple[Optional[Image.Image], Optional[bytes]]:
    """Embedded preview (stored orientation) when it is at least ``min_long`` px and frames the same picture.

    With ``draft`` a JPEG preview is DCT-scaled down towards ``min_long`` while decoding.
    """
    import rawpy

    try:
        thumb = raw.extract_thumb()
    except rawpy.LibRawError as exc:
        log.debug("no usable embedded preview: %s", _libraw_text(exc))
        return None, None
    jpeg = bytes(thumb.data) if thumb.format == rawpy.ThumbFormat.JPEG else None
    try:
        im = _preview_image(thumb, jpeg, stored, min_long, draft)
    except (OSError, SyntaxError, ValueError, struct.error, Image.DecompressionBombError) as exc:
        log.debug("embedded preview unreadable, demosaicing instead: %s", exc)
        return None, jpeg
    return im, jpeg


def _preview_image(
    thumb: Any, jpeg: Optional[bytes], stored: tuple[int, int], min_long: int, draft: bool
) -> Optional[Image.Image]:
    im: Image.Image
    if jpeg is not None:
        im = Image.open(io.BytesIO(jpeg))
    elif isinstance(thumb.data, np.ndarray) and thumb.data.ndim == 3:
        im = Image.fromarray(np.ascontiguousarray(thumb.data[..., :3]).astype(np.uint8, copy=False))
    else:
        return None
    if max(im.size) < min_long or not _same_aspect(im.size, stored):
        return None
    if jpeg is not None and draft:
        im.draft("RGB", _target_size(im.size, min_long))
    im.load()
    return _to_rgb8(im)


def _same_aspect(a: tuple[int, int], b: tuple[int, int], tolerance: float = 0.03) -> bool:
    return abs(a[0] / a[1] - b[0] / b[1]) <= tolerance * (b[0] / b[1])


def _raw_region(path: Path, orientation: int, full: tuple[int, int], box: Box, min_side: int) -> np.ndarray:
    """Upright crop from the preview if it has the pixels, else from LibRaw's (half-size if enough) demosaic."""
    box = box.clamped()
    short_full = max(1e-9, min(box.w * full[0], box.h * full[1]))
    need = min(1.0, min_side / short_full)  # fraction of full resolution required
    stored = _upright_size(full, orientation)
    with _problems(path), ExitStack() as held, open_file(path) as fh, _open_raw(fh, path) as raw:
        preview, _ = _raw_preview(raw, stored, 1, draft=False)
        if preview is not None and max(preview.size) >= need * max(stored):
            crop = preview.crop(box_to_stored(box, orientation).pixels(preview.size))
            return _as_array(_orient(_reduce_to(crop, min_side), orientation))
        held.enter_context(budget.current().hold(_demosaic_cost(raw.sizes) * (1 if need <= 0.5 else 2)))
        upright = Image.fromarray(_postprocess(raw, path, half=need <= 0.5))
        crop = upright.crop(box.pixels(upright.size))
        del upright
    return _as_array(_reduce_to(crop, min_side))


def _raw_format(path: Path, magic: Optional[str]) -> str:
    ext = path.suffix.lower().lstrip(".")
    if ext in RAW_EXTENSIONS:
        return f"RAW:{ext.upper()}"
    return magic if magic and magic.startswith("RAW:") else "RAW"


def _libraw_text(exc: BaseException) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)


# ---------------------------------------------------------- box geometry ----
def _stored_point(u: float, v: float, orientation: int) -> tuple[float, float]:
    """Upright normalised point -> the same point in the stored (pre-rotation) frame."""
    return {
        1: (u, v),
        2: (1 - u, v),
        3: (1 - u, 1 - v),
        4: (u, 1 - v),
        5: (v, u),
        6: (v, 1 - u),
        7: (1 - v, 1 - u),
        8: (1 - v, u),
    }.get(orientation, (u, v))


def box_to_stored(box: Box, orientation: int) -> Box:
    """Map an upright normalised box (clipped to the frame) back through the EXIF orientation to stored coordinates."""
    b = box.clamped()
    corners = [_stored_point(u, v, orientation) for u in (b.x, b.x + b.w) for v in (b.y, b.y + b.h)]
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    return Box(x=min(xs), y=min(ys), w=max(xs) - min(xs), h=max(ys) - min(ys))


_DECODERS: dict[str, Callable[..., DecodedImage]] = {"pillow": _decode_pillow, "raw": _decode_raw}

__all__ = [
    "ANALYSIS_SIZE",
    "DEFAULT_MAX_PIXELS",
    "RAW_EXTENSIONS",
    "decode",
    "read_exif",
    "region_reader",
    "FileRegionReader",
    "check_file",
    "open_file",
    "sniff",
    "box_to_stored",
]
