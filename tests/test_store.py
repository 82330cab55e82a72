"""The store holds only what it can serve back: a non-finite number never gets in."""

from __future__ import annotations

import dataclasses
import math

import pytest

from autocull.decode import decode
from autocull.measure import analyze
from autocull.store import Store

from imagegen import sample_rgb, save_jpeg


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_an_analysis_with_a_non_finite_number_is_refused_and_nothing_is_stored(tmp_path, bad):
    photo = save_jpeg(tmp_path / "a.jpg", sample_rgb("astronaut"))
    good = analyze(decode(str(photo)), faces=False)
    poisoned = dataclasses.replace(good, exposure=dataclasses.replace(good.exposure, ev_offset=bad))
    store = Store(tmp_path / "autocull.db")
    try:
        with pytest.raises(ValueError, match="not finite"):
            store.put_analysis(str(photo), 1, 1, "t", poisoned)
        assert store.analyses([str(photo)]) == {}
        store.put_analysis(str(photo), 1, 1, "t", good)
        assert store.analyses([str(photo)]) == {str(photo): good}
    finally:
        store.close()


def test_a_store_of_the_version_before_taste_keeps_its_ratings_in_the_default_profile(tmp_path):
    """A database written before profiles existed (schema 2) opens, and every rating is kept, in 'default'."""
    import sqlite3

    from autocull import store as store_mod

    path = tmp_path / "autocull.db"
    db = sqlite3.connect(str(path), isolation_level=None)
    for migrate in store_mod.MIGRATIONS[:2]:
        migrate(db)
    db.execute("PRAGMA user_version=2")
    db.executemany(
        "INSERT INTO feedback(path, rating, pick, label, source, at) VALUES(?,?,?,?,?,?)",
        [("/p/a.jpg", 4, "picked", "green", "lightroom", 1.0), ("/p/b.jpg", -1, "rejected", "none", "darktable", 2.0)],
    )
    db.close()

    s = Store(path)
    try:
        assert s.schema_version() == store_mod.SCHEMA_VERSION
        assert s.feedback("default") == [
            ("/p/a.jpg", 4, "picked", "green", None),
            ("/p/b.jpg", -1, "rejected", "none", None),
        ]
        assert s.profiles() == ["default"]
        s.put_feedback([("/p/a.jpg", 1, "none", "none")], "cli", "wedding")  # the same photo in another profile
        assert s.feedback("default")[0][1] == 4 and s.feedback("wedding")[0][1] == 1
    finally:
        s.close()


def test_a_gone_photo_has_no_analysis_to_decide_and_its_failure_row_goes(tmp_path):
    photo = save_jpeg(tmp_path / "a.jpg", sample_rgb("astronaut"))
    good = analyze(decode(str(photo)), faces=False)
    store = Store(tmp_path / "autocull.db")
    try:
        store.put_analysis(str(photo), 1, 1, "t", good)
        store.record_failure("/p/broken.jpg", "CORRUPT", "broken")
        assert store.mark_gone([str(photo), "/p/broken.jpg"]) == 1
        assert store.analyses([str(photo)]) == {}, "nothing is decided for a file that is not there"
        assert store.failures() == [], "a deleted broken file is no longer listed"
        assert store.revive(str(photo), 1, 1) and store.analyses([str(photo)]) == {str(photo): good}
    finally:
        store.close()


def test_change_cursors_are_kept_per_client_and_folder(tmp_path):
    store = Store(tmp_path / "autocull.db")
    try:
        store.save_client_cursor("lr", 5)
        store.save_client_cursor("lr", 9, "/p/in")
        assert (store.client_cursor("lr"), store.client_cursor("lr", "/p/in"), store.client_cursor("dt")) == (5, 9, 0)
    finally:
        store.close()


# ------------------------------------------------------------------ folder filters: as the OS names folders
def _changed(store: Store, folder: str) -> list[str]:
    return [p for _, p in store.changes_since(0, 100, folder)]


def _failed_store(store: Store, paths: list[str]) -> None:
    store.log_changes(paths)
    for p in paths:
        store.record_failure(p, "CORRUPT", "broken")


def test_on_posix_two_folders_differing_only_in_case_are_kept_apart(tmp_path):
    """/data/Photos and /data/photos are two folders on Linux (and a case-sensitive macOS volume): a filter on one
    never returns the other's changes, photos or failures."""
    upper, lower = "/data/Photos/a.jpg", "/data/photos/b.jpg"
    nested_upper, nested_lower = "/data/Photos/day 1/c.jpg", "/data/photos/day 1/d.jpg"
    good = analyze(decode(str(save_jpeg(tmp_path / "a.jpg", sample_rgb("astronaut")))), faces=False)
    store = Store(tmp_path / "autocull.db")  # this OS's rules: POSIX here
    try:
        for path in (upper, lower, nested_upper, nested_lower):
            store.put_analysis(path, 1, 1, "t", good)
        _failed_store(store, [upper, lower, nested_upper, nested_lower])  # after: an analysis clears a failure
        assert store.paths_under("/data/Photos") == [upper, nested_upper]
        assert store.count_under("/data/photos") == 2
        assert set(store.stamps_under("/data/Photos")) == {upper, nested_upper}
        assert _changed(store, "/data/Photos") == [upper, nested_upper]
        assert _changed(store, "/data/photos/") == [lower, nested_lower]
        assert set(store.failures_under("/data/Photos")) == {upper, nested_upper}
        assert set(store.failures_under("/data/photos")) == {lower, nested_lower}
    finally:
        store.close()


def test_a_folder_named_with_like_wildcards_matches_only_itself(tmp_path):
    """'%' and '_' are LIKE's wildcards: a folder named 100%_done must not take in 100x_done or 100%Xdone."""
    own = ["/p/100%_done/a.jpg", "/p/100%_done/sub/b.jpg"]
    others = ["/p/100xydone/c.jpg", "/p/100%Xdone/d.jpg", "/p/100%_done2/e.jpg", "/p/100%_DONE/f.jpg"]
    store = Store(tmp_path / "autocull.db")
    try:
        _failed_store(store, own + others)
        assert _changed(store, "/p/100%_done") == own
        assert set(store.failures_under("/p/100%_done")) == set(own)
    finally:
        store.close()


def test_on_windows_a_folder_matches_whatever_case_and_separator_a_request_names_it_with(tmp_path):
    """Windows names folders without case: C:\\Photos asked as c:\\photos (or C:/PHOTOS) is the same folder, photos
    directly in it included, non-ASCII names folded too; C:\\Photos2 and D:\\Photos are not in it. Run through
    ``ntpath`` with real SQLite, as the store does on Windows."""
    import ntpath

    inside = [r"C:\Photos\a.jpg", r"C:\Photos\Day 1\b.jpg", r"C:\Photos\Été\c.jpg"]
    outside = [r"C:\Photos2\d.jpg", r"D:\Photos\e.jpg", r"C:\Photo\f.jpg"]
    store = Store(tmp_path / "autocull.db", flavour=ntpath)
    try:
        _failed_store(store, inside + outside)
        for asked in (r"C:\Photos", r"c:\photos", "C:/PHOTOS/", r"c:\photos\\"):
            assert _changed(store, asked) == inside, asked
            assert set(store.failures_under(asked)) == set(inside), asked
        assert _changed(store, r"c:\photos\été") == [r"C:\Photos\Été\c.jpg"]
        assert _changed(store, "d:\\") == [r"D:\Photos\e.jpg"]  # a drive's root holds all on it
    finally:
        store.close()


def test_top_level_only_and_roots_follow_the_same_rules(tmp_path):
    import ntpath

    good = analyze(decode(str(save_jpeg(tmp_path / "a.jpg", sample_rgb("astronaut")))), faces=False)
    posix = Store(tmp_path / "posix.db")
    windows = Store(tmp_path / "windows.db", flavour=ntpath)
    try:
        for path in ("/a.jpg", "/Shoot/b.jpg", "/shoot/c.jpg"):
            posix.put_analysis(path, 1, 1, "t", good)
        assert posix.paths_under("/", top_level_only=True) == ["/a.jpg"]
        assert posix.paths_under("/Shoot", top_level_only=True) == ["/Shoot/b.jpg"]
        assert posix.count_under("/") == 3
        for path in (r"C:\a.jpg", r"C:\Shoot\b.jpg", r"\\nas\photos\c.nef", r"\\nas\photos\day\d.nef"):
            windows.put_analysis(path, 1, 1, "t", good)
        assert windows.paths_under("c:/", top_level_only=True) == [r"C:\a.jpg"]
        assert windows.paths_under(r"c:\SHOOT", top_level_only=True) == [r"C:\Shoot\b.jpg"]
        assert windows.paths_under(r"\\NAS\Photos", top_level_only=True) == [r"\\nas\photos\c.nef"]
        assert windows.count_under(r"\\nas\photos") == 2 and windows.count_under("C:\\") == 2
    finally:
        posix.close()
        windows.close()
