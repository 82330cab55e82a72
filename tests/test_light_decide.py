"""A policy change stores verdict rows without building decisions, and they are the full decide's (issue 16).

``judge_verdict``/``verdict_rows`` restate ``judge``/``decide_all``'s rules without writing reasons; these tests
hold the two equal on real analyses (a cull of real camera, burst and face photos) under many policies, with
eye states varied, taste preferences that count and that do not, bursts, RAW+JPEG pairs and exposure brackets;
and, through the real engine, that a policy change stores exactly the rows the full decide stores, with
sidecars off (the light path) and on (the full path, sidecars written from the stored verdicts).
"""

from __future__ import annotations

import dataclasses
import random
import shutil
from pathlib import Path
from typing import Any

import pytest

from autocull import ANALYZER_VERSION, apply, bursts
from autocull.decide import decide_all, judge, judge_verdict, verdict_rows
from autocull.engine import Engine
from autocull.policy import FIELDS, Policy
from autocull.records import Analysis, Preference

from realphotos import shared_dir

# every policy value judging or grouping reads (the rest only word or label a decision)
JUDGED = (
    "sharpness_reject sharpness_review exposure_reject_ev exposure_review_ev highlight_clip_reject "
    "highlight_clip_review shadow_clip_reject shadow_clip_review noise_review_sigma reject_closed_eyes "
    "closed_eyes_scope closed_eyes_fraction min_face_size face_sharpness_reject face_sharpness_review "
    "uncertain_eyes_review weight_sharpness weight_exposure weight_noise weight_eyes weight_preference keep_quality "
    "burst_taste_tie burst_others reject_stars"
).split()


def random_policy(rng: random.Random) -> Policy:
    """A policy with every judged value drawn around its default (a weight sometimes 0), valid by construction."""
    default = Policy()
    values: dict[str, Any] = {}
    for name in JUDGED:
        meta, value = FIELDS[name].metadata, getattr(default, name)
        if meta["choices"]:
            values[name] = rng.choice(meta["choices"])
        elif isinstance(value, bool):
            values[name] = rng.random() < 0.5
        elif isinstance(value, int):
            values[name] = rng.randint(int(meta["lo"]), int(meta["hi"]))
        else:
            drawn = 0.0 if name.startswith("weight_") and rng.random() < 0.15 else value * rng.uniform(0.2, 2.0)
            values[name] = min(max(drawn, meta["lo"]), meta["hi"])
    for low, high in (("sharpness_reject", "sharpness_review"), ("face_sharpness_reject", "face_sharpness_review")):
        values[low] = min(values[low], values[high])
    for rej, rev in (("exposure_reject_ev", "exposure_review_ev"), ("highlight_clip_reject", "highlight_clip_review")):
        values[rej] = max(values[rej], values[rev])
    values["shadow_clip_reject"] = max(values["shadow_clip_reject"], values["shadow_clip_review"])
    values["stars_thresholds"] = sorted(round(rng.random(), 2) for _ in range(5))
    return default.with_values(values)


def eye_variants(a: Analysis, rng: random.Random) -> list[Analysis]:
    """The analysis and, when it has faces, copies with one to four faces of other eye states, main or minor."""
    out = [a]
    for _ in range(6 if a.faces else 0):
        faces = tuple(
            dataclasses.replace(
                rng.choice(a.faces),
                eye_state=rng.choice(["open", "closed", "uncertain"]),
                main=rng.random() < 0.5,
                size=rng.random(),
                score=rng.random(),  # faces of one photo differ (a minor face is never equal to a main one)
            )
            for _ in range(rng.randint(1, 4))
        )
        out.append(dataclasses.replace(a, faces=faces, subject_source=rng.choice(["faces", a.subject_source])))
    return out


def preference(rng: random.Random) -> Preference | None:
    kind = rng.random()
    if kind < 0.3:
        return None
    return Preference(round(rng.random(), 3), kind < 0.8, "AUC 0.80 (cross-validated) on 90 ratings", 0.8, 0.7)


@pytest.fixture(scope="module")
def real_analyses(tmp_path_factory: pytest.TempPathFactory) -> list[Analysis]:
    """Analyses from a cull of real photos: camera (sharp, blurred, bokeh), bursts, open and closed eyes."""
    photos = sorted(str(p) for p in shared_dir("camera").rglob("*.jpg"))[:12]
    photos += sorted(str(p) for p in shared_dir("burst").rglob("*.jpg"))
    for kind in ("open", "closed"):
        photos += sorted(str(p) for p in (shared_dir("faces") / kind).glob("*.jpg"))[:5]
    eng = Engine.open(tmp_path_factory.mktemp("light") / "home")
    try:
        eng.run(photos)
        analyses = list(eng.store.analyses(eng.store.all_paths()).values())
    finally:
        eng.close()
    assert len(analyses) == len(photos) and any(a.faces for a in analyses)
    return analyses


def test_judge_verdict_is_judge_without_words(real_analyses: list[Analysis]) -> None:
    rng = random.Random(16)
    seen: set[tuple[str, bool]] = set()
    for _ in range(150):
        policy = random_policy(rng)
        for base in real_analyses:
            for a in eye_variants(base, rng):
                pref = preference(rng)
                j = judge(a, policy, preference=pref)
                assert judge_verdict(a, policy, preference=pref) == (j.verdict, j.quality, j.technical, j.preference)
                seen.add((j.verdict, bool(a.faces)))
    assert seen == {(v, f) for v in ("keep", "review", "reject") for f in (True, False)}  # every branch met


def clone_library(sources: list[Analysis], rng: random.Random, n: int) -> dict[str, Analysis]:
    """Real analyses cloned into bursts (some with RAW+JPEG pairs), exposure brackets and lone frames."""
    out: dict[str, Analysis] = {}
    t = 1_700_000_000.0
    while len(out) < n:
        kind = rng.choice(["lone", "lone", "burst", "burst", "bracket"])
        frames = 1 if kind == "lone" else rng.randint(2, 5) if kind == "burst" else 3
        ph = f"{rng.getrandbits(64):016x}"
        for k in range(frames):
            a = rng.choice(sources)
            ec = (-2.0, 0.0, 2.0)[k] if kind == "bracket" else None
            exif = dataclasses.replace(a.exif, capture_ts=t, exposure_compensation=ec)
            clone = dataclasses.replace(a, exif=exif, phash=ph, dhash=ph)
            path = f"/lib/{len(out) // 60:02d}/IMG_{len(out):05d}"
            out[path + ".jpg"] = clone
            if kind == "burst" and rng.random() < 0.15:
                out[path + ".nef"] = clone
            t += 0.3
        t += rng.uniform(30, 300)
    return out


def test_verdict_rows_are_what_decide_all_stores(real_analyses: list[Analysis]) -> None:
    rng = random.Random(7)
    analyses = clone_library(real_analyses, rng, 400)
    prefs = {p: pref for p in analyses if (pref := preference(rng)) is not None}
    kinds = {"bracket": 0, "burst": 0}
    for round_ in range(12):
        policy = random_policy(rng)
        if round_ % 3 == 0:
            policy = policy.with_values({"burst_taste_tie": 0.5})  # taste decides many bursts' best
        groups = bursts.group([bursts.BurstItem.from_analysis(p, a) for p, a in analyses.items()], policy)
        for g in groups:
            kinds["bracket" if g.bracket else "burst"] += 1
        full = decide_all(analyses, groups, policy, prefs)
        assert verdict_rows(analyses, groups, policy, prefs) == {
            p: (d.verdict, d.stars, d.quality) for p, d in full.items()
        }
    assert kinds["bracket"] > 0 and kinds["burst"] > 0


POLICIES: list[dict[str, Any]] = [
    {"sharpness_reject": 0.4, "sharpness_review": 0.6, "burst_others": "reject"},
    {"keep_quality": 0.7, "reject_closed_eyes": False, "closed_eyes_scope": "fraction"},
    {"closed_eyes_scope": "any", "exposure_review_ev": 0.8, "min_face_size": 0.3, "weight_eyes": 0.0},
    {"xmp_sidecars": "always", "keep_quality": 0.6, "burst_others": "reject"},
    {"xmp_sidecars": "watched", "sharpness_reject": 0.35},
]


@pytest.fixture()
def engine(tmp_path: Path, real_analyses: list[Analysis]):
    """An engine over copies of real photos (so sidecars may be written beside them) and ~300 stored clones."""
    shoot = tmp_path / "shoot"
    shoot.mkdir()
    copies = [shutil.copy(p, shoot / p.name) for p in sorted(shared_dir("burst").rglob("*.jpg"))]
    copies += [shutil.copy(p, shoot / p.name) for p in sorted((shared_dir("faces") / "closed").glob("*.jpg"))[:3]]
    eng = Engine.open(tmp_path / "home")
    eng.run([str(p) for p in copies])
    for path, a in clone_library(real_analyses, random.Random(3), 300).items():
        eng.store.put_analysis(str(tmp_path) + path, 1, 1, ANALYZER_VERSION, a)
    eng.verdicts.catch_up()
    yield eng, shoot
    eng.close(sidecar_timeout=60)


def test_a_policy_change_stores_the_full_decides_rows(
    engine: tuple[Engine, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Light (sidecars off) or full (sidecars on), chunks small enough to cut bursts: the rows of a full decide."""
    eng, shoot = engine
    monkeypatch.setattr(apply, "CHUNK", 53)
    full_calls = 0
    decide_set = eng.verdicts._decide_set

    def counted(paths, policy):  # type: ignore[no-untyped-def]
        nonlocal full_calls
        full_calls += 1
        return decide_set(paths, policy)

    monkeypatch.setattr(eng.verdicts, "_decide_set", counted)
    light_rows = eng.verdicts._decide_rows
    moved = 0
    for values in POLICIES:
        results = []
        for light in (True, False):
            eng.set_policy({}, reset=True)
            monkeypatch.setattr(eng.verdicts, "_decide_rows", light_rows if light else None)
            full_calls = 0
            _, redecided, changed = eng.set_policy(values)
            sidecars_on = values.get("xmp_sidecars", "off") != "off"
            assert (full_calls > 0) == (sidecars_on or not light)  # decisions are built only when needed
            rows = eng.store.verdict_rows(eng.store.all_paths())
            results.append((rows, redecided, changed))
            moved += changed
        assert results[0] == results[1]
        paths = eng.store.all_paths()
        reference = {d.path: (d.verdict, d.stars, d.quality) for d in eng.decide_paths(paths)}
        assert results[0][0] == reference and len(reference) == len(paths)
    assert moved > 0
    assert eng.flush_sidecars(60)
    assert (shoot / "scenario-1-a.jpg.xmp").is_file()  # the "always" change wrote the real photos' sidecars
