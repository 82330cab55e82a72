"""The home folder holds one user's photo paths, decisions and token: nobody else may read it.

The real daemon is started on a fresh home and on a home an older version left
world-readable (0755 folders, 0644 files, a rotated log); after a cull every
folder under the home is 0700 and every file AutoCull writes there 0600, while
the photos (outside the home) keep their own modes.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest
from PIL import Image

from autocull.v1 import autocull_pb2 as pb

from daemon import Daemon
from imagegen import sample_rgb

pytestmark = pytest.mark.e2e

# What tests/daemon.py itself writes into the home (the daemon's captured stdout): not AutoCull's file.
HARNESS_FILES = {"daemon.log"}
EXPECTED = {"config.toml", "state.json", "autocull.db", "autocull.db-wal", "autocull.db-shm", "logs/autocull.log"}


@pytest.fixture(autouse=True)
def _loose_umask():
    """The umask most desktops have (022): without care every new file would be 0644."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _shoot(folder: Path) -> list[Path]:
    folder.mkdir(parents=True)
    paths = []
    for i, name in enumerate(("astronaut", "coffee", "chelsea")):
        path = folder / f"{i}-{name}.jpg"
        Image.fromarray(sample_rgb(name)).save(path, quality=90)
        os.chmod(path, 0o644)
        paths.append(path)
    return paths


def _cull(daemon: Daemon, folder: Path) -> None:
    resp = daemon.grpc("Cull", pb.CullRequest(paths=[str(folder)]))
    assert len(resp.decisions) == 3 and not any(d.error.code for d in resp.decisions), resp.decisions


def _modes(home: Path) -> dict[str, int]:
    """Mode of every file and folder under ``home`` (the home itself as '.'), harness files left out."""
    out = {".": home.stat().st_mode & 0o777}
    for root, dirs, files in os.walk(home):
        for name in dirs + files:
            path = Path(root, name)
            rel = path.relative_to(home).as_posix()
            if rel not in HARNESS_FILES:
                out[rel] = path.lstat().st_mode & 0o777
    return out


def _assert_private(home: Path) -> dict[str, int]:
    modes = _modes(home)
    loose = {rel: oct(mode) for rel, mode in modes.items() if mode != (0o700 if (home / rel).is_dir() else 0o600)}
    assert not loose, f"readable by others under {home}: {loose}"
    return modes


def test_a_fresh_home_is_private_after_a_cull(tmp_path: Path) -> None:
    photos = _shoot(tmp_path / "shoot")
    daemon = Daemon(tmp_path / "home")
    try:
        _cull(daemon, tmp_path / "shoot")
        modes = _assert_private(daemon.home)  # while running: WAL and SHM exist
        assert EXPECTED <= set(modes), sorted(modes)
    finally:
        assert daemon.stop() == 0
    _assert_private(daemon.home)
    assert {p.stat().st_mode & 0o777 for p in photos} == {0o644}  # outside the home: untouched


def test_a_home_left_world_readable_by_an_older_version_is_tightened_on_start(tmp_path: Path) -> None:
    photos = _shoot(tmp_path / "shoot")
    home = tmp_path / "home"
    first = Daemon(home)
    try:
        _cull(first, tmp_path / "shoot")
    finally:
        assert first.stop() == 0
    # what an older version left: 0755 folders, 0644 files, a rotated log, a db whose WAL was kept
    shutil.copyfile(home / "logs" / "autocull.log", home / "logs" / "autocull.log.1")
    (home / "autocull.db-wal").touch()
    for root, _dirs, files in os.walk(home):
        os.chmod(root, 0o755)
        for name in files:
            os.chmod(Path(root, name), 0o644)
    assert _modes(home)["autocull.db"] == 0o644 and _modes(home)["."] == 0o755

    daemon = Daemon(home)
    try:
        _assert_private(home)  # tightened on start, before any request
        _cull(daemon, tmp_path / "shoot")
        modes = _assert_private(home)
        assert EXPECTED | {"logs/autocull.log.1"} <= set(modes), sorted(modes)
        status = daemon.grpc("GetStatus", pb.GetStatusRequest())
        assert status.photos_stored == 3  # the tightened store is the same store
    finally:
        assert daemon.stop() == 0
    _assert_private(home)
    assert {p.stat().st_mode & 0o777 for p in photos} == {0o644}
    assert stat.S_IMODE((tmp_path / "shoot").stat().st_mode) == 0o755 & ~0o022
