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
