"""Make real, odd and broken image files in a test's tmp dir.

Shared by the test modules (decode, measure, engine...). Everything is built
from scikit-image's bundled sample photos (no download) or synthesised, and
written where the caller says; nothing here touches the repository.
"""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image

# EXIF tag ids used below.
TAG_MAKE, TAG_MODEL, TAG_ORIENTATION, TAG_DATETIME = 0x010F, 0x0110, 0x0112, 0x0132
TAG_EXIF_IFD = 0x8769
TAG_EXPOSURE_TIME, TAG_F_NUMBER, TAG_ISO = 0x829A, 0x829D, 0x8827
TAG_DATETIME_ORIGINAL, TAG_SUBSEC_ORIGINAL = 0x9003, 0x9291
TAG_EXPOSURE_BIAS, TAG_FOCAL_LENGTH = 0x9204, 0x920A
TAG_BODY_SERIAL, TAG_LENS_MODEL = 0xA431, 0xA434

# EXIF orientation -> Pillow transpose that turns the stored pixels upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# ...and the transpose that undoes it (what a camera stores for a given upright scene).
_STORED = {**_UPRIGHT, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


# ------------------------------------------------------------ pixels --------
def sample_rgb(name: str = "astronaut") -> np.ndarray:
    """A bundled scikit-image photo as uint8 RGB (grey ones are stacked to 3 channels)."""
    from skimage import data

    arr = np.asarray(getattr(data, name)())
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    return np.ascontiguousarray(arr[..., :3]).astype(np.uint8)


def resized(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``rgb`` resized to (width, height) with LANCZOS."""
    return np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.LANCZOS))


def upright(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """What a viewer shows for stored pixels ``rgb`` tagged with EXIF ``orientation``."""
    method = _UPRIGHT.get(orientation)
    return np.asarray(Image.fromarray(rgb).transpose(method)) if method is not None else rgb


def stored_for(rgb_upright: np.ndarray, orientation: int) -> np.ndarray:
    """Pixels a camera would store so that ``orientation`` shows ``rgb_upright``."""
    method = _STORED.get(orientation)
    return np.asarray(Image.fromarray(rgb_upright).transpose(method)) if method is not None else rgb_upright


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute difference of two same-shape images, in 0..255 units."""
    assert a.shape == b.shape, f"shapes differ: {a.shape} vs {b.shape}"
    return float(np.mean(np.abs(a.astype(np.int16) - b.astype(np.int16))))


def coarse_diff(a: np.ndarray, b: np.ndarray, size: tuple[int, int] = (64, 64)) -> float:
    """Mean absolute difference after shrinking both to ``size``: same picture, regardless of resampling."""
    small = [np.asarray(Image.fromarray(x).resize(size, Image.Resampling.BOX)) for x in (a, b)]
    return mean_abs_diff(small[0], small[1])


# -------------------------------------------------------------- EXIF --------
def make_exif(
    *,
    orientation: Optional[int] = None,
    make: Optional[str] = None,
    model: Optional[str] = None,
    serial: Optional[str] = None,
    lens: Optional[str] = None,
    taken: Optional[datetime] = None,
    subsec: Optional[str] = None,
    exposure_time: Optional[float] = None,
    f_number: Optional[float] = None,
    iso: Optional[int] = None,
    exposure_bias: Optional[float] = None,
    focal_length: Optional[float] = None,
) -> Image.Exif:
    """A Pillow Exif block with the given fields (others absent)."""
    exif = Image.Exif()
    ifd0 = {TAG_ORIENTATION: orientation, TAG_MAKE: make, TAG_MODEL: model}
    for tag, value in ifd0.items():
        if value is not None:
            exif[tag] = value
    sub = exif.get_ifd(TAG_EXIF_IFD)
    values = {
        TAG_BODY_SERIAL: serial,
        TAG_LENS_MODEL: lens,
        TAG_SUBSEC_ORIGINAL: subsec,
        TAG_DATETIME_ORIGINAL: taken.strftime("%Y:%m:%d %H:%M:%S") if taken else None,
        TAG_EXPOSURE_TIME: exposure_time,
        TAG_F_NUMBER: f_number,
        TAG_ISO: iso,
        TAG_EXPOSURE_BIAS: exposure_bias,
        TAG_FOCAL_LENGTH: focal_length,
    }
    for tag, value in values.items():
        if value is not None:
            sub[tag] = value
    return exif


def save(
    path: Path, rgb: np.ndarray, fmt: Optional[str] = None, exif: Optional[Image.Exif] = None, **options: object
) -> Path:
    """Write ``rgb`` (uint8 HxWx3 or HxW) with Pillow; ``exif`` goes in for formats that carry it."""
    im = Image.fromarray(rgb)
    if exif is not None:
        options["exif"] = exif.tobytes()
    im.save(path, format=fmt, **options)
    return path


def save_jpeg(path: Path, rgb: np.ndarray, exif: Optional[Image.Exif] = None, quality: int = 92) -> Path:
    return save(path, rgb, "JPEG", exif, quality=quality)


# ------------------------------------------------------------ odd files -----
def write_tiff16(path: Path, rgb16: np.ndarray) -> Path:
    """16-bit TIFF (RGB or grey) via OpenCV, which writes real 16-bit samples."""
    import cv2

    data = rgb16[..., ::-1] if rgb16.ndim == 3 else rgb16  # OpenCV wants BGR
    if not cv2.imwrite(str(path), np.ascontiguousarray(data.astype(np.uint16))):
        raise OSError(f"OpenCV could not write {path}")
    return path


def write_gray16(path: Path, gray16: np.ndarray, fmt: str = "TIFF") -> Path:
    """16-bit greyscale (Pillow mode I;16) TIFF or PNG."""
    Image.fromarray(gray16.astype(np.uint16)).save(path, format=fmt)
    return path


def write_text(path: Path, text: str = "this is not a photo\n") -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def truncate_copy(src: Path, dst: Path, keep: float | int) -> Path:
    """Copy of ``src`` cut after ``keep`` bytes (int) or that fraction of its length (float)."""
    data = Path(src).read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else int(keep)
    dst.write_bytes(data[:n])
    return dst


def png_bomb(path: Path, width: int = 30_000, height: int = 30_000) -> Path:
    """A valid 1-bit greyscale PNG of ``width`` x ``height`` that is tiny on disk.

    Rows are streamed through zlib so the full image never exists in memory
    (30,000 x 30,000 -> ~110 kB file, 900 MP if anyone decoded it).
    """
    row = b"\x00" + bytes((width + 7) // 8)  # filter byte + all-black 1-bit pixels
    comp = zlib.compressobj(9)
    chunks = [comp.compress(row) for _ in range(height)]
    idat = b"".join(chunks) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    with open(path, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n")
        for kind, body in ((b"IHDR", ihdr), (b"IDAT", idat), (b"IEND", b"")):
            fh.write(struct.pack(">I", len(body)) + kind + body)
            fh.write(struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    return path


def jpeg_bytes(rgb: np.ndarray, quality: int = 90, exif: Optional[Image.Exif] = None) -> bytes:
    """In-memory JPEG, for tests that splice or corrupt bytes."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, exif=exif.tobytes() if exif else b"")
    return buf.getvalue()


# ------------------------------------------------------------ camera shake --
def shake_kernel(extent: float, seed: int, size: int = 65) -> np.ndarray:
    """Blur kernel of a hand-held camera's path: a random walk with momentum scaled to ``extent`` px.

    400 unit steps whose direction keeps 0.9 of its momentum, splatted
    bilinearly; like a real hand it curls, turns back and lingers, so parts of
    the path leave faint sharp copies (ghosts) on top of the smear.
    """
    rng = np.random.default_rng(seed)
    v = rng.normal(size=2)
    p, pts = np.zeros(2), []
    for _ in range(400):
        v = 0.9 * v / max(np.linalg.norm(v), 1e-6) + 0.45 * rng.normal(size=2)
        p = p + v / max(np.linalg.norm(v), 1e-6)
        pts.append(p.copy())
    path = np.array(pts)
    path -= path.mean(axis=0)
    path *= extent / max(float(np.ptp(path, axis=0).max()), 1e-6)
    k = np.zeros((size, size), np.float32)
    c = size // 2
    for x, y in path:
        xi, yi = int(np.floor(x + c)), int(np.floor(y + c))
        fx, fy = x + c - xi, y + c - yi
        for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            k[yi + dy, xi + dx] += w
    return k / k.sum()


def doubled(gray: np.ndarray, offset: float, angle_deg: float, share: float) -> np.ndarray:
    """``gray`` with a copy of ``share`` of the light shifted by ``offset`` px at ``angle_deg`` (as displayed)."""
    import cv2

    a = np.radians(angle_deg)
    m = np.float32([[1, 0, offset * np.cos(a)], [0, 1, -offset * np.sin(a)]])
    copy = cv2.warpAffine(gray, m, gray.shape[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return ((1.0 - share) * gray + share * copy).astype(np.float32)
