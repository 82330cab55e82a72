"""The compiled converter of stored analyses reads every row exactly as the generic rule does (issue 16).

``records.converter`` (what the store parses with) is the generic ``records._from_dict`` compiled once per class.
Both read real stored analyses of a real cull (camera photos, face crops with open and closed eyes, a burst),
then every such row damaged one value at a time: each key removed, set to null, NaN, infinity, out of range, a
string, a list, an object, plus unknown keys and rows of older analyzers. Both must give the same records to the
type of every value (a list where a tuple belongs, an int for a float, a NaN), or both refuse the row.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import sqlite3
import tracemalloc
from pathlib import Path
from typing import Any, Iterator

import pytest

from autocull import ANALYZER_VERSION
from autocull.config import DB_FILE
from autocull.engine import Engine
from autocull.records import Analysis, Cause, CauseKind, Decision, ScoreValue, _from_dict, converter
from autocull.store import Store
from autocull.store import _loads as store_loads

from realphotos import shared_dir


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """The home of a real cull and the stored analysis texts of its photos."""
    root = tmp_path_factory.mktemp("convert")
    photos = sorted(str(p) for p in shared_dir("camera").rglob("*.jpg"))[:6]
    photos += sorted(str(p) for p in shared_dir("burst").rglob("*.jpg"))[:4]
    for kind in ("open", "closed"):
        photos += sorted(str(p) for p in (shared_dir("faces") / kind).glob("*.jpg"))[:4]
    eng = Engine.open(root / "home")
    try:
        res = eng.run(photos)
        assert res.counts.failed == 0
    finally:
        eng.close()
    with sqlite3.connect(root / "home" / DB_FILE) as db:
        texts = [t for (t,) in db.execute("SELECT analysis FROM photos ORDER BY path")]
    assert len(texts) == len(photos)
    return root / "home", texts


def shape(x: Any) -> Any:
    """A value with the type of every part spelled out, NaN comparable: equal shapes are the same records."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return (type(x).__name__, tuple((k, shape(v)) for k, v in vars(x).items()))
    if isinstance(x, float):
        return ("float", repr(x))
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, tuple(shape(v) for v in x))
    if isinstance(x, dict):
        return ("dict", tuple((k, shape(v)) for k, v in x.items()))
    return (type(x).__name__, x)


def outcome(read: Any, data: Any) -> Any:
    """What reading ``data`` gives: the shape of the records, or the kind of error that refuses the row."""
    try:
        return shape(read(json.loads(json.dumps(data))))  # a fresh copy: a reader that edits its input shows
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return ("refused", type(exc).__name__)


def generic(data: Any) -> Any:
    return _from_dict(Analysis, data)


BAD = [None, math.nan, math.inf, -math.inf, -1.0, 1e308, 7, "x", [], [1.0, 2.0], {}, {"x": 1}, True]


def variants(data: Any) -> Iterator[Any]:
    """``data`` with one value damaged, for every value of every nested record and list."""
    if isinstance(data, dict):
        for key in list(data):
            yield {k: v for k, v in data.items() if k != key}  # missing (an older analyzer, a damaged row)
            for bad in BAD:
                yield {**data, key: bad}
            for inner in variants(data[key]):
                yield {**data, key: inner}
        yield {**data, "from_a_newer_analyzer": 1.0}
    elif isinstance(data, list):
        for i, item in enumerate(data):
            for inner in variants(item):
                yield data[:i] + [inner] + data[i + 1 :]
            yield data[:i] + [None] + data[i + 1 :]


def test_real_stored_analyses_read_the_same_and_round_trip(stored: tuple[Path, list[str]]) -> None:
    _, texts = stored
    rows = [json.loads(t) for t in texts]
    assert any(r["faces"] for r in rows) and any(not r["faces"] for r in rows)
    assert any(f["sharpness"] for r in rows for f in r["faces"])  # a face record with its nested records
    fast = converter(Analysis)
    for row in rows:
        a = fast(json.loads(json.dumps(row)))
        assert isinstance(a, Analysis)
        assert shape(a) == shape(generic(row))
        assert json.loads(json.dumps(a.to_dict())) == row  # every field back as it was stored
        assert shape(fast(json.loads(json.dumps(a.to_dict(), allow_nan=False)))) == shape(a)
        assert hash(a.exif) == hash(generic(row).exif) and a == generic(row)


def test_the_store_parses_stored_texts_as_json_does(stored: tuple[Path, list[str]]) -> None:
    """The store parses with orjson: the same values to the type and the last bit of every float, and what
    orjson refuses but ``json`` reads (NaN and infinities ``json.dumps`` writes, integers past 64 bits) read
    by ``json``; what neither reads is refused."""
    _, texts = stored
    row = json.loads(texts[0])
    odd = [
        json.dumps({**row, "sharpness": {**row["sharpness"], "score": math.nan, "tenengrad": math.inf}}),
        json.dumps({**row, "width": 2**70, "extra": {"x": -math.inf}}),
        json.dumps([0.1, 1e-320, 1.7976931348623157e308, 5e-324, "é\u00e9", None]),
    ]
    for text in texts + odd:
        assert shape(store_loads(text)) == shape(json.loads(text))
        assert shape(store_loads(text.encode())) == shape(json.loads(text))
    with pytest.raises(ValueError):
        store_loads("{broken")


def test_every_damaged_value_is_read_or_refused_as_before(stored: tuple[Path, list[str]]) -> None:
    _, texts = stored
    with_faces = next(json.loads(t) for t in texts if json.loads(t)["faces"])
    without = next(json.loads(t) for t in texts if not json.loads(t)["faces"])
    fast = converter(Analysis)
    seen = set()
    n = 0
    for row in (with_faces, without):
        for bad in variants(row):
            want = outcome(generic, bad)
            assert outcome(fast, bad) == want, json.dumps(bad)[:400]
            seen.add(want[0])
            n += 1
    assert n > 2000
    assert {"refused", "Analysis"} <= seen  # some rows refused (a required field gone), most read


def test_rows_of_older_analyzers_get_the_defaults(stored: tuple[Path, list[str]]) -> None:
    """Fields added later (tilt, edge spread, highlight EV, channel clipping) read as their defaults."""
    _, texts = stored
    row = json.loads(texts[0])
    del row["tilt"], row["extra"], row["exposure"]["highlight_ev"], row["exposure"]["channel_clip"]
    del row["sharpness"]["edge_spread"], row["subject"]["double_offset"], row["exif"]["burst_id"]
    a = converter(Analysis)(row)
    assert shape(a) == shape(generic(row))
    assert a.tilt.kind == "" and a.extra == {} and a.exposure.highlight_ev is None
    assert a.exposure.channel_clip == (0.0, 0.0, 0.0) and a.sharpness.edge_spread == -1.0
    assert a.extra is not converter(Analysis)(row).extra  # a default factory, never one shared dict


def test_the_store_reads_damaged_rows_as_before(stored: tuple[Path, list[str]], tmp_path: Path) -> None:
    """Through the store (what a re-decide reads): NaN and out-of-range values read back as the generic rule
    gives them, a row missing a required field or not an object is unreadable (analysed again), never an error."""
    _, texts = stored
    row = json.loads(texts[0])
    rows = {
        "/p/nan.jpg": {**row, "sharpness": {**row["sharpness"], "score": math.nan}},
        "/p/range.jpg": {**row, "exposure": {**row["exposure"], "score": 7.5, "channel_clip": [2, -1, 0.5]}},
        "/p/missing.jpg": {k: v for k, v in row.items() if k != "phash"},
        "/p/list.jpg": [row],
        "/p/ok.jpg": row,
    }
    store = Store(tmp_path / DB_FILE)
    try:
        for p in rows:
            store.put_analysis(p, 1, 1, ANALYZER_VERSION, Analysis.from_dict(json.loads(texts[0])))
        with sqlite3.connect(tmp_path / DB_FILE) as db:
            for p, data in rows.items():
                db.execute("UPDATE photos SET analysis=? WHERE path=?", (json.dumps(data), p))
        read = store.analyses(list(rows))
        assert sorted(read) == ["/p/nan.jpg", "/p/ok.jpg", "/p/range.jpg"]
        for p in read:
            assert shape(read[p]) == shape(generic(rows[p]))
        assert math.isnan(read["/p/nan.jpg"].sharpness.score)
        assert read["/p/range.jpg"].exposure.channel_clip == (2, -1, 0.5)
    finally:
        store.close()


def test_quick_init_records_are_the_frozen_dataclasses_they_were() -> None:
    """The decide records fill their fields directly: still frozen, defaults and factories as declared."""
    d = Decision(path="/p/a.jpg", verdict="keep", causes=(Cause(CauseKind.KEEP, "sharp"),))
    assert d == Decision("/p/a.jpg", "keep", causes=(Cause(CauseKind.KEEP, "sharp", "", ""),))
    assert d.scores == {} and d.scores is not Decision(path="/p/b.jpg").scores
    assert dataclasses.replace(d, stars=3).stars == 3 and d.stars == 0
    assert hash(ScoreValue(0.5, 2.0)) == hash(ScoreValue(0.5, 2.0, ""))
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.stars = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        ScoreValue(0.5)  # type: ignore[call-arg]


def test_the_parsed_analyses_take_no_more_memory_than_before(stored: tuple[Path, list[str]]) -> None:
    """The store keeps parsed analyses for the daemon's lifetime, bounded by what they weigh: the compiled
    converter's records weigh what the generic rule's do (no instance dict of their own, for one)."""
    _, texts = stored

    def held(read: Any) -> int:
        tracemalloc.start()
        try:
            kept = [read(json.loads(t)) for t in texts * 20]
            gc.collect()
            size = tracemalloc.get_traced_memory()[0]
        finally:
            tracemalloc.stop()
        assert len(kept) == 20 * len(texts)
        return size

    assert held(converter(Analysis)) <= held(generic) * 1.02


def test_quick_init_takes_fields_named_like_its_own_locals() -> None:
    """A record whose fields are named ``self``, ``d`` or like the generated code's helpers gets every value it
    was given, as the dataclass' own ``__init__`` would give them (the generated code must not shadow them)."""
    from dataclasses import dataclass, field

    from autocull.records import quick_init

    def make() -> type:
        @dataclass(frozen=True)
        class Odd:
            d: int
            _F: int = 7
            _d1: tuple[int, ...] = ()
            _f2: list[int] = field(default_factory=list)
            init: str = "x"

        return Odd

    plain, quick = make(), quick_init(make())
    for args, kwargs in [((1,), {}), ((1, 2, (3,), [4], "y"), {}), ((5,), {"_f2": [6], "_F": 0})]:
        a, b = plain(*args, **kwargs), quick(*args, **kwargs)
        assert dataclasses.asdict(a) == dataclasses.asdict(b)
    assert quick(1)._f2 == [] and quick(1)._f2 is not quick(1)._f2

    @quick_init
    @dataclass(frozen=True)
    class Selfish:
        self: int
        other: int = 2

    made = Selfish(1, 3)  # type: ignore[call-arg]
    assert (made.self, made.other) == (1, 3)
