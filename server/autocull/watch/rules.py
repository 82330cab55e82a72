"""Which files a watched folder's events may nominate for analysis.

An event names any file: a sidecar being written, a copy's partial file, a
macOS ``._`` companion, the store's own database. Only photos pass; the rest
never reach a stat, let alone a decode.
"""

from __future__ import annotations

import os

from ..library import is_image_name
from ..paths import encodable, parts, shown, within

TEMP_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".temp", ".swp", "~")


def bad_name(path: str, home: str = "") -> bool:
    """A photo the watcher would look at but whose name cannot be stored: it gets a BAD_PATH failure instead."""
    return not encodable(path) and is_candidate(shown(path), home)


def is_candidate(path: str, home: str = "") -> bool:
    """A photo the watcher should look at: an image name that can be stored, not hidden (nor in a hidden folder),
    not a temp or partial file, not under AutoCull's own home (its database, logs and models)."""
    if not encodable(path):
        return False
    name = os.path.basename(path)
    if name.lower().endswith(TEMP_SUFFIXES) or name.startswith(("._", "~$")):
        return False
    if not is_image_name(name):  # also refuses hidden files, sidecars (.xmp) and everything not an image
        return False
    if home and within(path, home):
        return False
    return not any(part.startswith(".") for part in parts(path)[:-1])
