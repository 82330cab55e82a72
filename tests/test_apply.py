"""Stored verdicts always follow the active policy; reads and what-ifs never write (issue 12, item 5).

The real engine on a real SQLite store and the sample photos (a sharp frame, blurred and shaken ones, a
dark and a blown one, a burst), so the strict policy below changes real verdicts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from autocull.config import DB_FILE, Config
from autocull.decide import decide_all, judge
from autocull.engine import Cancelled, Counts, Engine
from autocull.policy import Policy
from autocull.records import CauseKind
from autocull.sample import make_sample

STRICT = {"sharpness_reject": 0.6, "sharpness_review": 0.8, "keep_quality": 0.75, "burst_others": "reject"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    make_sample(out)
    return out


def open_engine(home: Path) -> Engine:
    return Engine.open(home, Config(faces=False))  # no faces here: verdicts and policy are the point


def stored(eng: Engine) -> dict[str, tuple]:
    return {p: v for p, v in eng.store.verdicts().items()}


def decided(decisions) -> dict[str, tuple]:
    return {d.path: (d.verdict, d.stars) for d in decisions}


def fresh(eng: Engine, policy: Policy | None = None) -> dict[str, tuple]:
    return decided(eng.decide_paths(eng.store.all_paths(), policy))


def versions(home: Path) -> set[int]:
    with sqlite3.connect(home / DB_FILE) as db:
        return {v for (v,) in db.execute("SELECT policy_version FROM photos")}


class ChangePolicyMidway:
    """Progress that changes the policy once the cull is under way, as a second client would."""

    def __init__(self, eng: Engine) -> None:
        self.eng, self.changed = eng, False

    def stage(self, name: str, total: int) -> None:
        pass

    def advance(self, path: str) -> None:
        if not self.changed:
            self.changed = True
            self.eng.set_policy(STRICT)

    def emit(self, decisions) -> None:
        pass

    def cancelled(self) -> bool:
        return False


def test_a_policy_change_during_a_cull_wins_in_the_store_and_the_answer(folder, tmp_path):
    eng = open_engine(tmp_path / "home")
    try:
        progress = ChangePolicyMidway(eng)
        result = eng.run([str(folder)], progress=progress)
        assert progress.changed
        new = fresh(eng)
        assert new != fresh(eng, Policy()), "the strict policy must change some verdicts, or this proves nothing"
        assert stored(eng) == new  # not the verdicts of the policy active when the cull started
        assert decided(result.decisions) == {p: new[p] for p in decided(result.decisions)}
        assert versions(tmp_path / "home") == {eng.verdicts.active.version}
        status = eng.status()["verdicts"]
        counts = Counts.of(eng.decide_paths(eng.store.all_paths()))
        assert (status.keep, status.review, status.reject) == (counts.keep, counts.review, counts.reject)
    finally:
        eng.close()


def test_what_if_decisions_and_a_one_off_preset_answer_but_store_nothing(folder, tmp_path):
    eng = open_engine(tmp_path / "home")
    try:
        first = eng.run([str(folder)])
        before = stored(eng)
        assert before == decided(first.decisions)
        strict = Policy().with_values(STRICT)
        what_if = decided(eng.decide_paths(eng.store.all_paths(), strict))
        assert what_if != before
        assert stored(eng) == before
        one_off = eng.run([str(folder)], policy=strict)
        assert decided(one_off.decisions) == what_if
        assert all(d.policy_version == 0 for d in one_off.decisions)  # a what-if is never stamped as stored
        assert stored(eng) == before
        assert versions(tmp_path / "home") == {eng.verdicts.active.version}
    finally:
        eng.close()


def test_verdicts_left_behind_by_a_stop_mid_change_are_redecided_on_open(folder, tmp_path):
    home = tmp_path / "home"
    eng = open_engine(home)
    try:
        eng.run([str(folder)])
        default = stored(eng)
    finally:
        eng.close()
    # What a stop between storing a new policy and storing its verdicts leaves behind.
    with sqlite3.connect(home / DB_FILE) as db:
        db.executemany(
            "INSERT OR REPLACE INTO settings(key, value) VALUES(?,?)",
            [("active_policy", json.dumps(Policy().with_values(STRICT).to_dict())), ("policy_version", "7")],
        )
    eng = open_engine(home)
    try:
        assert eng.policy == Policy().with_values(STRICT)
        assert stored(eng) == fresh(eng) != default
        assert versions(home) == {7}
    finally:
        eng.close()


def test_a_burst_adds_its_cause_and_never_rewrites_the_frames_own(folder, tmp_path):
    eng = open_engine(tmp_path / "home")
    try:
        eng.run([str(folder)])
        analyses = eng.store.analyses(eng.store.all_paths())
    finally:
        eng.close()
    from autocull import bursts

    policy = Policy()
    groups = bursts.group([bursts.BurstItem.from_analysis(p, a) for p, a in analyses.items()], policy)
    in_bursts = [p for g in groups if not g.bracket for p in g.paths]
    assert len(in_bursts) >= 3  # the sample's burst, at least
    decisions = decide_all(analyses, groups, policy)
    assert sum(decisions[p].burst_best for p in in_bursts) == sum(1 for g in groups if not g.bracket)
    for p in in_bursts:
        own = judge(analyses[p], policy).causes
        d = decisions[p]
        added = [c for c in d.causes if c not in own]
        assert len(added) == 1 and added[0].text.startswith(("best of burst", "burst: "))
        kept_own = [c for c in d.causes if c in own]
        if d.burst_best:
            assert kept_own == list(own)
        else:  # set aside: its own faults stay, word for word; only the keep sentence goes
            assert kept_own == [c for c in own if c.kind is not CauseKind.KEEP]
            assert d.verdict in ("review", "reject")


class SlowValues(dict):
    """Policy values that take a while to read, as a big request would: it widens the window in which two
    policy changes could both build on the same old policy."""

    def items(self):  # type: ignore[override]
        time.sleep(0.3)
        return super().items()


def test_two_policy_changes_at_once_both_land(folder, tmp_path):
    eng = open_engine(tmp_path / "home")
    try:
        eng.run([str(folder)])
        changes = [SlowValues(weight_noise=0.5), SlowValues(keep_quality=0.61)]
        threads = [threading.Thread(target=eng.set_policy, args=(v,)) for v in changes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert (eng.policy.weight_noise, eng.policy.keep_quality) == (0.5, 0.61)
        assert eng.verdicts.active.version == 2
        assert stored(eng) == fresh(eng)
    finally:
        eng.close()


class ChangePolicyAfterFirstChunk(ChangePolicyMidway):
    """Changes the policy once the first chunk's decisions are answered, before the next chunk is decided."""

    def advance(self, path: str) -> None:
        pass

    def emit(self, decisions) -> None:
        if decisions and not self.changed:
            self.changed = True
            self.eng.set_policy(STRICT)


def test_a_policy_change_between_chunks_leaves_every_verdict_under_the_new_policy(folder, tmp_path, monkeypatch):
    import autocull.engine

    monkeypatch.setattr(autocull.engine, "CHUNK", 3)  # several chunks out of the sample's photos
    eng = open_engine(tmp_path / "home")
    try:
        progress = ChangePolicyAfterFirstChunk(eng)
        eng.run([str(folder)], progress=progress)
        assert progress.changed
        assert stored(eng) == fresh(eng) != fresh(eng, Policy())
        assert versions(tmp_path / "home") == {eng.verdicts.active.version}
    finally:
        eng.close()


class CancelAfter(ChangePolicyMidway):
    """A client's CancelJob after the first photos are analysed."""

    def __init__(self, eng: Engine, after: int) -> None:
        super().__init__(eng)
        self.after, self.seen = after, 0

    def advance(self, path: str) -> None:
        self.seen += 1

    def cancelled(self) -> bool:
        return self.seen >= self.after


@pytest.mark.parametrize("how", ["analyze_only", "cancelled"])
def test_photos_analysed_without_an_answer_still_get_their_stored_verdict(folder, tmp_path, how):
    eng = open_engine(tmp_path / "home")
    try:
        if how == "analyze_only":
            result = eng.run([str(folder)], analyze_only=True)
            assert result.decisions == []
        else:
            with pytest.raises(Cancelled):
                eng.run([str(folder)], progress=CancelAfter(eng, 4))
        assert eng.store.photo_count() >= 4
        assert stored(eng) == fresh(eng)  # every stored photo has its verdict, as Decide says
        status = eng.status()["verdicts"]
        counts = Counts.of(eng.decide_paths(eng.store.all_paths()))
        assert (status.keep, status.review, status.reject) == (counts.keep, counts.review, counts.reject)
        assert status.keep + status.review + status.reject == eng.store.photo_count()
    finally:
        eng.close()


def test_one_photo_decided_alone_gets_the_decision_it_has_among_all(folder, tmp_path):
    """Paging and chunks decide a few photos at a time: each must still see its whole burst, timed or not."""
    eng = open_engine(tmp_path / "home")
    try:
        eng.run([str(folder)])
        everything = {d.path: d for d in eng.decide_paths(eng.store.all_paths())}
        assert sum(d.burst_size > 0 for d in everything.values()) >= 3
        for path, whole in everything.items():
            (alone,) = eng.decide_paths([path])
            assert alone == whole, path
    finally:
        eng.close()
