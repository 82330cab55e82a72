"""Request paths as Windows hosts send them (drive letters, either separator, UNC shares), run on Linux through
``ntpath``: the daemon's path rules are the same functions with Windows' path module."""

from __future__ import annotations

import ntpath
import posixpath

import pytest

from autocull.paths import absolute, parts, within


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        (r"C:\Users\Ann\Pictures\IMG_0001.CR3", r"C:\Users\Ann\Pictures\IMG_0001.CR3"),
        ("c:/Users/Ann/Pictures/IMG_0001.CR3", r"c:\Users\Ann\Pictures\IMG_0001.CR3"),  # Lua plugins send '/'
        (r"D:\Shoots\2026\..\2025\.\a.jpg", r"D:\Shoots\2025\a.jpg"),
        (r"C:\Photos\\", r"C:\Photos"),
        ("C:\\", "C:\\"),
        (r"\\nas\photos\shoot\a.nef", r"\\nas\photos\shoot\a.nef"),
        ("//nas/photos/shoot/a.nef", r"\\nas\photos\shoot\a.nef"),
        (r"\\nas\photos", r"\\nas\photos"),
    ],
)
def test_windows_absolute_paths_are_made_canonical(raw: str, canonical: str) -> None:
    assert absolute(raw, ntpath) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        r"\Photos\a.jpg",  # root of whichever drive the daemon runs on: not what the plugin meant
        "C:Photos\\a.jpg",  # relative to drive C's current folder
        r"Photos\a.jpg",
        "a.jpg",
        r"~\Pictures\a.jpg",  # a request's '~' is the daemon's user, not the client's: the CLI expands its own
        r"~ann\Pictures\a.jpg",  # on Windows '~ann' would be a sibling profile of the daemon's user
    ],
)
def test_windows_paths_without_drive_and_root_are_refused(raw: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USERPROFILE", r"C:\Users\daemon")  # as on Windows: ntpath would expand '~' to it
    monkeypatch.setenv("USERNAME", "daemon")  # and '~ann' to C:\Users\ann
    assert absolute(raw, ntpath) is None


def test_posix_rules_are_unchanged() -> None:
    assert absolute("/photos/2026/../a.jpg", posixpath) == "/photos/a.jpg"
    assert absolute("photos/a.jpg", posixpath) is None
    assert absolute(r"C:\Photos\a.jpg", posixpath) is None  # a Windows path on a POSIX daemon is not absolute
    # '~' is not expanded in a request: the daemon would read it as its own user's home (or another user's)
    assert absolute("~/Pictures/a.jpg", posixpath) is None
    assert absolute("~root/a.jpg", posixpath) is None


def test_within_compares_windows_names_without_case_and_either_separator() -> None:
    assert within(r"C:\Photos\Shoot\A.JPG", "c:/photos", ntpath)
    assert within(r"C:\Photos", "C:\\Photos\\", ntpath)
    assert within(r"C:\Photos\a.jpg", "C:\\", ntpath)
    assert not within(r"C:\Photos2\a.jpg", r"C:\Photos", ntpath)
    assert not within(r"D:\Photos\a.jpg", r"C:\Photos", ntpath)
    assert within(r"\\NAS\Photos\shoot\a.nef", r"\\nas\photos", ntpath)
    assert not within(r"\\nas\photos2\a.nef", r"\\nas\photos", ntpath)
    # POSIX keeps case: /Photos and /photos are two folders there
    assert not within("/Photos/a.jpg", "/photos", posixpath)
    assert within("/a/b/c.jpg", "/a/b", posixpath) and not within("/a/bc/d.jpg", "/a/b", posixpath)


def test_parts_split_at_both_windows_separators() -> None:
    assert parts(r"C:\Photos/.hidden\a.jpg", ntpath) == ["C:", "Photos", ".hidden", "a.jpg"]
    assert parts(r"\\nas\photos\a.nef", ntpath) == ["nas", "photos", "a.nef"]
    assert parts("/a/b\\c.jpg", posixpath) == ["a", "b\\c.jpg"]  # a backslash is a name character on POSIX
