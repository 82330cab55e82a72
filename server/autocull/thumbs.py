"""Thumbnails for the review page: one small JPEG per photo, kept in the home folder's ``thumbs/`` cache.

A thumbnail is made from pixels already decoded for the analysis (``encode``, called in the analysis pass), or,
for a photo analysed before thumbnails existed, by a reduced decode (``ThumbCache.make``: the JPEG's DCT draft or
a RAW's embedded preview, never a second full decode). The cache is keyed by the file's path, size and mtime as
the analysis was, so an edited photo gets a new thumbnail; a thumbnail is a cache, never a verdict, and losing
the folder costs only the time to make them again.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Optional

import numpy as np

from .config import FILE_MODE, HOME_MODE, THUMBS_DIR, atomic_write
from .library import photo_status

THUMB_SIZE = 400  # long edge in px: sharp on a 200 px grid tile at 2x, about 25 KB
THUMB_QUALITY = 80
FOLDER = THUMBS_DIR


def encode(rgb: np.ndarray, long_edge: int = THUMB_SIZE) -> bytes:
    """Upright uint8 RGB (the analysis pixels) scaled down to ``long_edge`` and encoded as a baseline JPEG."""
    from PIL import Image

    from .decode import _fit

    im = _fit(Image.fromarray(np.ascontiguousarray(rgb), "RGB"), long_edge)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=THUMB_QUALITY, optimize=True)
    return out.getvalue()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


class ThumbCache:
    """The thumbnails under ``home/thumbs``: private to the user (0700 folders, 0600 files) like the rest of the
    home, written atomically so a reader never sees half a JPEG."""

    def __init__(self, home: Path) -> None:
        self.root = Path(home) / FOLDER

    def location(self, path: str, size: int, mtime_ns: int) -> Path:
        """``<2 hex of the path>/<the path's digest>-<the version's digest>.jpg``: one name per file version, and
        a file's versions side by side, so a new one replaces the old (the cache holds one per photo, not one per
        edit)."""
        of_path, of_version = _digest(path), _digest(f"{path}\0{size}\0{mtime_ns}")
        return self.root / of_path[:2] / f"{of_path[2:40]}-{of_version[:16]}.jpg"

    def put(self, path: str, size: int, mtime_ns: int, jpeg: bytes) -> Path:
        """Keep ``jpeg`` as the thumbnail of ``path`` as it was (size, mtime) when its pixels were read."""
        where = self.location(path, size, mtime_ns)
        if not where.parent.is_dir():
            self.root.mkdir(mode=HOME_MODE, parents=True, exist_ok=True)
            where.parent.mkdir(mode=HOME_MODE, exist_ok=True)
        atomic_write(where, jpeg, mode=FILE_MODE, sync_folder=False)  # a cache: a power cut costs a remake
        for old in where.parent.glob(where.name.split("-")[0] + "-*.jpg"):  # the same photo's older versions
            if old != where:
                try:
                    old.unlink()
                except FileNotFoundError:
                    pass
        return where

    def get(self, path: str) -> Optional[Path]:
        """The thumbnail of ``path`` as it is now, or None (never made, or the file changed since). Raises the
        file's FileProblem when it cannot be looked at (vanished, unreadable)."""
        status = photo_status(path)
        where = self.location(path, status.size, status.mtime_ns)
        return where if where.is_file() else None

    def make(self, path: str, long_edge: int = THUMB_SIZE) -> Path:
        """Make, keep and return the thumbnail of ``path`` by a reduced decode: a JPEG at its DCT draft scale, a
        RAW from its embedded preview (LibRaw's half-size demosaic only when it has none). Raises the file's
        FileProblem when it cannot be decoded."""
        from .decode import decode

        status = photo_status(path)
        decoded = decode(path, analysis_size=long_edge)
        return self.put(path, status.size, status.mtime_ns, encode(decoded.rgb, long_edge))
