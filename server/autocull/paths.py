"""Path relations the stages share (by name: no symlink is resolved, nothing is read).

Pure, and parameterised by the path module (``flavour``: ``os.path`` by default, ``ntpath`` or ``posixpath``)
so the Windows rules (drive letters, UNC shares, either separator, names compared without case) are tested on
Linux too.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Optional


def within(path: str, folder: str, flavour: ModuleType = os.path) -> bool:
    """``path`` is ``folder`` itself or lies inside it, at any depth ('/a/bc' is not inside '/a/b'); names are
    compared as the OS does (on Windows: without case, '/' the same as '\\')."""
    path, folder = flavour.normcase(path), flavour.normcase(folder)
    base = folder.rstrip(flavour.sep)
    return path in (folder, base) or path.startswith(base + flavour.sep)


def absolute(raw: str, flavour: ModuleType = os.path) -> Optional[str]:
    """``raw`` made canonical when it is absolute, else None. On Windows absolute means a drive and a root:
    'C:\\x', 'c:/x' and '\\\\server\\share\\x' are; '\\x' (whichever drive the daemon is on) and 'C:x' (relative
    to that drive's current folder) are not. '~' is not expanded: in a request it would name the daemon's user's
    home, or with '~name' another profile; clients expand their own (the CLI does) before sending."""
    if flavour.__name__ == "ntpath":
        drive, rest = flavour.splitdrive(raw)
        if not drive or not rest.startswith(("\\", "/")):
            if not (drive.startswith(("\\\\", "//")) and not rest):  # a bare UNC share \\server\share
                return None
    elif not flavour.isabs(raw):
        return None
    return flavour.normpath(raw)


def parts(path: str, flavour: ModuleType = os.path) -> list[str]:
    """The names along ``path``, split at every separator the OS accepts (on Windows both '\\' and '/')."""
    sep, alt = flavour.sep, flavour.altsep
    return [p for p in (path.replace(alt, sep) if alt else path).split(sep) if p]


def encodable(path: str) -> bool:
    """Can the store (and every client, over UTF-8 JSON) hold this path? A name that is not valid UTF-8 on disk
    (``b'Caf\\xe9.jpg'`` from an old Latin-1 tool) arrives from ``os.fsdecode`` with lone surrogates: no."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def shown(path: str) -> str:
    """A path fit to store and show: undecodable bytes written as ``\\xe9`` (the file cannot be opened by it)."""
    return path if encodable(path) else os.fsencode(path).decode("utf-8", "backslashreplace")
