"""A policy change re-decides the library from the store fast, and exactly as deciding it plainly would (issue 16).

The real engine and SQLite store. Analyses come from a real cull of the sample photos, real face crops (open and
closed eyes) and real bursts, then are cloned into a library of several folders: bursts of 2-6 frames a third of
a second apart with hashes a few bits apart, lone frames minutes apart, frames without a capture time,
RAW+JPEG pairs, a failure lane, no taste model. The plain reference decides the whole library in one go from
analyses parsed afresh (no chunks, no burst context, no parsed-analysis cache).
"""

from __future__ import annotations

import dataclasses
import json
import random
import sqlite3
from pathlib import Path

import pytest

from autocull import ANALYZER_VERSION, apply, bursts
from autocull.config import DB_FILE
from autocull.decide import decide, decide_all
from autocull.engine import Engine
from autocull.policy import Policy
from autocull.records import Decision
from autocull.sample import make_sample
from autocull.store import Store

from realphotos import shared_dir

POLICIES = [
    {"sharpness_reject": 0.35, "sharpness_review": 0.6},
    {"burst_others": "reject", "keep_quality": 0.7, "reject_closed_eyes": False},
    {"closed_eyes_scope": "any", "exposure_review_ev": 0.8, "min_face_size": 0.3, "burst_label": "red"},
]


def flip(hexhash: str, rng: random.Random, bits: int) -> str:
    value = int(hexhash, 16)
    for b in rng.sample(range(64), bits):
        value ^= 1 << b
    return f"{value:016x}"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Path]:
    """An engine over a varied library of ~700 stored photos cloned from real analyses."""
    root = tmp_path_factory.mktemp("redecide")
    make_sample(root / "sample")
    photos = [str(root / "sample")]
    photos += sorted(str(p) for p in shared_dir("burst").rglob("*.jpg"))
    for kind in ("open", "closed"):
        photos += sorted(str(p) for p in (shared_dir("faces") / kind).glob("*.jpg"))[:4]
    eng = Engine.open(root / "home")
    eng.run(photos)
    sources = list(eng.store.analyses(eng.store.all_paths()).values())
    assert any(a.faces for a in sources), "the real face crops should give analyses with faces"
    rng = random.Random(16)
    t, i = 1_700_000_000.0, 0
    while i < 700:
        src = rng.choice(sources)
        frames = rng.choice([1, 1, 1, 2, 3, 6])
        untimed = rng.random() < 0.08
        ph, dh = f"{rng.getrandbits(64):016x}", f"{rng.getrandbits(64):016x}"
        for k in range(frames):
            a = src if k == 0 or rng.random() < 0.4 else rng.choice(sources)
            exif = dataclasses.replace(a.exif, capture_ts=None if untimed else t)
            clone = dataclasses.replace(a, exif=exif, phash=flip(ph, rng, k and 3), dhash=flip(dh, rng, k and 3))
            path = f"/library/{i // 250:02d}/IMG_{i:05d}"
            eng.store.put_analysis(path + ".jpg", 1, 1, ANALYZER_VERSION, clone)
            if rng.random() < 0.05:  # the RAW of the same shot
                eng.store.put_analysis(path + ".nef", 1, 1, ANALYZER_VERSION, clone)
            i, t = i + 1, t + 0.3
        t += rng.uniform(20, 400)
    for n in range(5):
        eng.store.record_failure(f"/library/00/BROKEN_{n}.jpg", "DECODE_FAILED", "not an image")
    yield eng, root / "home"
    eng.close()


def plain(home: Path, policy: Policy) -> dict[str, Decision]:
    """The whole library decided in one go from freshly parsed analyses: the reference."""
    store = Store(home / DB_FILE, parsed_bytes=0)
    try:
        analyses = store.analyses(store.all_paths())
    finally:
        store.close()
    groups = bursts.group([bursts.BurstItem.from_analysis(p, a) for p, a in analyses.items()], policy)
    return decide_all(analyses, groups, policy)


def fields(d: Decision) -> tuple:
    return (
        d.verdict, d.pick, d.stars, d.color_label, d.keywords, tuple(d.reasons), d.quality, d.scores,
        d.burst_id, d.burst_size, d.burst_rank, d.burst_best, d.bracket, d.faces, d.capture_time, d.camera,
    )  # fmt: skip


def test_the_library_is_varied(library: tuple[Engine, Path]) -> None:
    eng, home = library
    reference = plain(home, Policy())
    assert len(reference) > 700
    assert sum(1 for d in reference.values() if d.burst_id and not d.bracket) > 100
    assert sum(1 for d in reference.values() if d.faces) > 20
    assert {d.verdict for d in reference.values()} == {"keep", "review", "reject"}
    assert eng.store.failure_count() == 5


@pytest.mark.parametrize("values", POLICIES)
def test_a_policy_change_stores_what_plain_deciding_gives(
    library: tuple[Engine, Path], values: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks small enough to cut bursts in two, the parsed analyses reused between changes: every stored
    verdict, and every decision read back, is the plain one to the last reason."""
    eng, home = library
    monkeypatch.setattr(apply, "CHUNK", 97)
    eng.set_policy({}, reset=True)  # warm: the change below reads parsed analyses
    policy, redecided, _ = eng.set_policy(values)
    reference = plain(home, policy)
    assert redecided == len(reference)
    stored = {p: v for p, v in eng.store.verdict_rows(list(reference)).items()}
    assert stored == {p: (d.verdict, d.stars, d.quality) for p, d in reference.items()}
    assert eng.store.stale_verdicts(eng.verdicts.active.version) == []
    paths = eng.store.all_paths()
    read: list[Decision] = []
    for start in range(0, len(paths), 97):
        read += eng.decide_paths(paths[start : start + 97])
    assert {d.path: fields(d) for d in read} == {p: fields(d) for p, d in reference.items()}
    lone = [p for p, d in reference.items() if not d.burst_id]
    assert len(lone) > 100
    for p in lone[:200]:  # a frame in no group is what deciding it on its own gives
        analysis = eng.store.analyses([p])[p]
        assert fields(decide(analysis, policy, path=p)) == fields(reference[p])


def test_only_changed_verdicts_are_rewritten(library: tuple[Engine, Path]) -> None:
    eng, home = library
    eng.set_policy({}, reset=True)
    before = eng.store.verdict_rows(eng.store.all_paths())
    with sqlite3.connect(home / DB_FILE) as db:  # another connection logs every write of a verdict
        db.executescript(
            """CREATE TABLE IF NOT EXISTS verdict_writes(path TEXT);
               DELETE FROM verdict_writes;
               CREATE TRIGGER IF NOT EXISTS log_verdict AFTER UPDATE OF verdict ON photos
               BEGIN INSERT INTO verdict_writes VALUES(new.path); END;"""
        )
    try:
        policy, redecided, changed = eng.set_policy({"sharpness_reject": 0.4, "burst_others": "reject"})
        after = eng.store.verdict_rows(eng.store.all_paths())
        with sqlite3.connect(home / DB_FILE) as db:
            written = [p for (p,) in db.execute("SELECT path FROM verdict_writes")]
            versions = {v for (v,) in db.execute("SELECT DISTINCT policy_version FROM photos WHERE gone_at IS NULL")}
    finally:
        with sqlite3.connect(home / DB_FILE) as db:
            db.executescript("DROP TRIGGER log_verdict; DROP TABLE verdict_writes;")
    moved = {p for p in after if after[p] != before[p]}
    assert moved, "the stricter policy should change verdicts"
    assert sorted(written) == sorted(moved)  # each changed verdict written once, no unchanged one
    assert changed == sum(1 for p in after if after[p][:2] != before[p][:2])
    assert redecided == len(after) and versions == {eng.verdicts.active.version}
    assert after == {p: (d.verdict, d.stars, d.quality) for p, d in plain(home, policy).items()}
    eng.set_policy({}, reset=True)
    assert eng.store.verdict_rows(eng.store.all_paths()) == before  # nothing lost on the way back


def test_a_parsed_analysis_follows_its_stored_text(tmp_path: Path, library: tuple[Engine, Path]) -> None:
    """Rewritten by another connection (another process), damaged, or past the capacity: never a stale one."""
    eng, _ = library
    a, b = list(eng.store.analyses(eng.store.all_paths()[:2]).values())
    store = Store(tmp_path / DB_FILE, parsed_bytes=2 * len(json.dumps(a.to_dict()).encode()))
    for name in ("x", "y", "z"):
        store.put_analysis(f"/p/{name}.jpg", 1, 1, ANALYZER_VERSION, a)
    assert store.analyses(["/p/x.jpg", "/p/y.jpg", "/p/z.jpg"]) == {f"/p/{n}.jpg": a for n in "xyz"}
    assert len(store.parsed) == 2
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        db.execute("UPDATE photos SET analysis=? WHERE path='/p/x.jpg'", (json.dumps(b.to_dict()),))
    assert store.analyses(["/p/x.jpg"]) == {"/p/x.jpg": b}
    assert store.get_valid("/p/x.jpg", 1, 1, ANALYZER_VERSION) == b
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        db.execute("UPDATE photos SET analysis='{broken' WHERE path='/p/x.jpg'")
    assert store.analyses(["/p/x.jpg"]) == {}  # unreadable: analysed again, never served from memory
    store.close()


def stored_bytes(store: Store, path: str) -> int:
    """The length of a photo's stored analysis text, as the store reads it."""
    return int(store._query("SELECT length(CAST(analysis AS BLOB)) FROM photos WHERE path=?", (path,))[0][0])


def two_kinds(eng: Engine) -> tuple:
    """A real analysis with faces and one without (the face one's text is the heavier)."""
    analyses = list(eng.store.analyses(eng.store.all_paths()).values())
    return next(a for a in analyses if a.faces), next(a for a in analyses if not a.faces)


def test_the_parsed_analyses_are_bounded_in_bytes_oldest_used_out_first(
    tmp_path: Path, library: tuple[Engine, Path]
) -> None:
    """A wedding's group shots weigh more than a landscape: the bound is on the bytes held, not on rows."""
    faced, bare = two_kinds(library[0])
    store = Store(tmp_path / DB_FILE, parsed_bytes=0)
    for n in range(6):
        store.put_analysis(f"/p/bare{n}.jpg", 1, 1, ANALYZER_VERSION, bare)
        store.put_analysis(f"/p/face{n}.jpg", 1, 1, ANALYZER_VERSION, faced)
    small, big = stored_bytes(store, "/p/bare0.jpg"), stored_bytes(store, "/p/face0.jpg")
    assert big > small
    paths = store.all_paths()
    store.close()
    bound = 2 * small + big
    store = Store(tmp_path / DB_FILE, parsed_bytes=bound)

    def held() -> list[str]:
        return [p for p in paths if p in store.parsed]

    try:
        first = {p: store.analyses([p])[p] for p in ["/p/bare0.jpg", "/p/face0.jpg", "/p/bare1.jpg"]}  # this order
        assert held() == ["/p/bare0.jpg", "/p/bare1.jpg", "/p/face0.jpg"] and store.parsed.nbytes == bound
        assert store.analyses(["/p/bare0.jpg"])["/p/bare0.jpg"] is first["/p/bare0.jpg"]  # served parsed, used
        store.analyses(["/p/bare2.jpg"])  # one more would pass the bound: face0, used longest ago, goes
        assert held() == ["/p/bare0.jpg", "/p/bare1.jpg", "/p/bare2.jpg"] and store.parsed.nbytes == 3 * small
        faces = store.analyses([f"/p/face{n}.jpg" for n in range(6)])
        assert faces == {f"/p/face{n}.jpg": faced for n in range(6)}  # every read answers, held or not
        assert "/p/face5.jpg" in store.parsed and "/p/face0.jpg" not in store.parsed
        assert store.parsed.nbytes == sum(stored_bytes(store, p) for p in held()) <= bound
        assert len(held()) < 3  # three rows would not fit in these bytes
    finally:
        store.close()


def test_a_new_shoot_is_parsed_once_after_the_cache_filled(tmp_path: Path, library: tuple[Engine, Path]) -> None:
    """The daemon runs for months: the shoot imported today is the one re-decided, not the first ones it saw."""
    _, bare = two_kinds(library[0])
    store = Store(tmp_path / DB_FILE, parsed_bytes=0)
    for n in range(8):
        store.put_analysis(f"/old/{n}.jpg", 1, 1, ANALYZER_VERSION, bare)
    size = stored_bytes(store, "/old/0.jpg")
    store.close()
    store = Store(tmp_path / DB_FILE, parsed_bytes=4 * size)
    try:
        store.analyses([f"/old/{n}.jpg" for n in range(8)])
        assert len(store.parsed) == 4  # full
        new = [f"/new/{n}.jpg" for n in range(3)]
        for p in new:
            store.put_analysis(p, 1, 1, ANALYZER_VERSION, bare)
        first = store.analyses(new)
        assert all(p in store.parsed for p in new)
        again = store.analyses(new)
        assert all(again[p] is first[p] for p in new)  # parsed once, served from memory after
        assert store.parsed.nbytes <= 4 * size
    finally:
        store.close()


def test_a_moved_or_deleted_photo_gives_up_its_parsed_analysis(tmp_path: Path, library: tuple[Engine, Path]) -> None:
    faced, bare = two_kinds(library[0])
    store = Store(tmp_path / DB_FILE)
    try:
        store.put_analysis("/p/moved.jpg", 1, 1, ANALYZER_VERSION, faced)
        store.put_analysis("/p/deleted.jpg", 1, 1, ANALYZER_VERSION, bare)
        store.analyses(["/p/moved.jpg", "/p/deleted.jpg"])
        assert len(store.parsed) == 2
        assert store.move_photo("/p/moved.jpg", "/q/moved.jpg", 1, 1, "digest")
        assert store.mark_gone(["/p/deleted.jpg"]) == 1
        assert len(store.parsed) == 0 and store.parsed.nbytes == 0
        assert store.analyses(["/q/moved.jpg", "/p/deleted.jpg"]) == {"/q/moved.jpg": faced}
        assert "/q/moved.jpg" in store.parsed and "/p/moved.jpg" not in store.parsed
    finally:
        store.close()


def test_the_burst_window_read_finds_what_each_window_finds(library: tuple[Engine, Path]) -> None:
    eng, _ = library
    rng = random.Random(3)
    folder = "/library/01"
    times = sorted(ts for p in eng.store.paths_under(folder) if (ts := eng.store.analyses([p])[p].exif.capture_ts))
    for n in (1, 3, 5, 40):
        windows = [(t - w, t + w) for t in rng.sample(times, n) for w in [rng.choice([0.0, 0.3, 5.0, 90.0])]]
        windows.append((times[0] - 1, times[0]))  # an end exactly on a frame
        one_by_one = {p for lo, hi in windows for p in eng.store.timed_between(folder, lo, hi)}
        assert one_by_one
        assert sorted(eng.store.timed_within(folder, windows)) == sorted(one_by_one)
