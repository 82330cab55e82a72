"""Real photos from ../shared/testdata, read in place, and exposure edits of them.

The data is never copied into the repository; a missing file fails the test
that needs it (a skipped test would pass while guarding nothing).
"""

from __future__ import annotations

import json
import os
import shutil
from functools import lru_cache
from pathlib import Path

import numpy as np

from autocull.decode import decode
from autocull.measure.exposure import exposure

# The one place tests find ../shared/testdata (AUTOCULL_TESTDATA points elsewhere when the
# checkout does not sit beside shared/).
TESTDATA = Path(os.environ.get("AUTOCULL_TESTDATA") or Path(__file__).resolve().parents[2] / "shared" / "testdata")


def shared_dir(name: str) -> Path:
    """``TESTDATA/name``, which must exist: missing test data fails loudly (a skip would pass guarding nothing)."""
    path = TESTDATA / name
    assert path.is_dir(), f"shared test data missing: {path} (see ../shared/testdata/SOURCES.md)"
    return path


def copies_of_faces(folder: Path, count: int, prefix: str = "frame") -> list[str]:
    """``count`` distinct files (the store keys on the path) copied from the real open-eye face crops."""
    faces = sorted((TESTDATA / "faces" / "open").glob("*.jpg"))
    assert len(faces) >= count, f"shared test data missing: {TESTDATA / 'faces/open'}"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for k in range(count):
        dest = folder / f"{prefix}-{k:03d}.jpg"
        shutil.copyfile(faces[k], dest)
        out.append(str(dest))
    return out


def copy_photos(folder: Path, rels: "tuple[str, ...] | list[str]") -> Path:
    """Copies of these shared photos in ``folder`` (the store keys on path, size and mtime): a shoot to cull."""
    folder.mkdir(parents=True, exist_ok=True)
    for rel in rels:
        src = TESTDATA / rel
        assert src.is_file(), f"shared test data missing: {src} (see ../shared/testdata/SOURCES.md)"
        shutil.copyfile(src, folder / src.name)
    return folder


@lru_cache(maxsize=None)
def photo(rel: str) -> np.ndarray:
    """Upright uint8 RGB of ``TESTDATA/rel`` at analysis size, as the pipeline decodes it (read-only)."""
    path = TESTDATA / rel
    assert path.is_file(), f"shared test data missing: {path} (see ../shared/testdata/SOURCES.md)"
    rgb = decode(path).rgb
    rgb.flags.writeable = False  # shared between tests through the cache
    return rgb


def camera_labels() -> dict[str, dict[str, str]]:
    """camera/labels.json: file name -> label (blurred | sharp | bokeh), kind, source, licence."""
    path = TESTDATA / "camera" / "labels.json"
    assert path.is_file(), f"shared test data missing: {path} (see ../shared/testdata/camera/SOURCES.md)"
    labels: dict[str, dict[str, str]] = json.loads(path.read_text())
    assert len(labels) >= 20, f"{path}: only {len(labels)} photos"
    return labels


def photos(folder: str) -> list[str]:
    """Relative paths of the images under ``TESTDATA/folder``; fails when there are none."""
    root = TESTDATA / folder
    found = sorted(
        str(p.relative_to(TESTDATA)) for p in root.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")
    )
    assert found, f"shared test data missing: no photos under {root}"
    return found


def _to_linear(image: np.ndarray) -> np.ndarray:
    v = image.astype(np.float64) / 255.0
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _to_srgb8(lin: np.ndarray) -> np.ndarray:
    lin = np.clip(lin, 0.0, 1.0)
    out = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)
    return np.round(out * 255.0).astype(np.uint8)


def shift_ev(image: np.ndarray, ev: float) -> np.ndarray:
    """Scale linear light by 2**ev (as a camera exposure change), clip, re-encode."""
    return _to_srgb8(_to_linear(image) * 2.0**ev)


def low_key(image: np.ndarray, stops: float) -> np.ndarray:
    """A low-key rendering: midtones (mid-grey) ``stops`` darker, white kept white.

    A power curve in linear light, x ** k with 0.18 ** k = 0.18 / 2**stops: the
    shadows and midtones sink as far as an exposure change would take them, the
    highlights much less, and white stays white -- what a photographer's tone
    curve does to a frame meant to be dark, unlike an exposure shift.
    """
    k = 1.0 + stops / -np.log2(0.18)
    return _to_srgb8(_to_linear(image) ** k)


# Real photos with a vivid colour or a blue sky: one channel at the top over a
# large part of the frame while the other two still carry the texture.
VIVID = [
    "camera/bokeh/rbh-032.jpg",
    "camera/blurred/rbh-048.jpg",
    "camera/blurred/rbh-027.jpg",
    "burst/scenario-2/scenario-2-a.jpg",
]
LOW_KEY_FOREST = "camera/sharp/rbh-024.jpg"  # dark moss and trunks, lit leaves, no near-white
# Real photos exposed normally: midtones within a stop of mid-grey, where a camera meter puts them.
# (A low-key frame pushed three stops can land on a normal exposure, and an over-bright one
# rendered low key too: such copies say nothing about the exposure rules.)
NORMAL_PHOTOS = [p for p in photos("camera") + photos("burst") if abs(exposure(photo(p)).ev_offset) < 1.0]
