"""Path relations the stages share (by name: no symlink is resolved, nothing is read)."""

from __future__ import annotations

import os


def within(path: str, folder: str) -> bool:
    """``path`` is ``folder`` itself or lies inside it, at any depth ('/a/bc' is not inside '/a/b')."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)
