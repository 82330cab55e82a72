"""Bursts and brackets (issue 5): grouping by body, time and look; one best per burst.

Frames are made from real photos (scikit-image's samples and the short series in
the shared test data) with small shifts, blur and exposure steps, written as
JPEGs with EXIF capture times, then read through the public chain
decode -> measure.analyze -> decide -> bursts. Pure grouping tests build
BurstItems straight from the hashes of real images.
"""

from __future__ import annotations

import dataclasses
import os
import random
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import pytest
from PIL import Image, ImageFilter

from autocull.bursts import BurstItem, Group, group
from autocull.decide import decide, decide_all, stars_for
from autocull.decode import decode
from autocull.measure import analyze, dhash, phash, to_gray
from autocull.policy import Policy
from autocull.records import Analysis, Box, Decision, EyeMetrics, FaceMetrics

from realphotos import shared_dir

SERIES = shared_dir("burst")
T0 = datetime(2026, 6, 13, 14, 32, 5)
needs_series = pytest.mark.shared_data  # real burst frames: missing ones fail, never skip


# ------------------------------------------------------------------ helpers --
def series(name: str) -> np.ndarray:
    """A photo of the shared series, e.g. 'scenario-3-c', as uint8 RGB."""
    return np.asarray(Image.open(SERIES / name[:10] / f"{name}.jpg").convert("RGB"))


def sample(name: str) -> np.ndarray:
    from skimage import data

    arr = np.asarray(getattr(data, name)())
    return np.stack([arr] * 3, axis=-1) if arr.ndim == 2 else np.ascontiguousarray(arr[..., :3])


def frame(rgb: np.ndarray, *, dx: int = 0, blur: float = 0.0, stops: float = 0.0, margin: int = 24) -> np.ndarray:
    """One frame of a hand-held burst: the scene shifted by ``dx`` px, blurred, exposed ``stops`` EV."""
    h, w = rgb.shape[:2]
    im = Image.fromarray(rgb).crop((dx, dx // 3, w - margin + dx, h - margin // 3 + dx // 3))
    if blur:
        im = im.filter(ImageFilter.GaussianBlur(blur))
    return exposed(np.asarray(im), stops)


def exposed(rgb: np.ndarray, stops: float) -> np.ndarray:
    """``rgb`` as if shot ``stops`` EV brighter: scaled in linear light, clipped like a sensor."""
    if not stops:
        return rgb
    x = rgb.astype(np.float64) / 255.0
    lin = np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4) * 2.0**stops
    lin = np.clip(lin, 0.0, 1.0)
    out = np.where(lin <= 0.0031308, lin * 12.92, 1.055 * lin ** (1 / 2.4) - 0.055)
    return (out * 255 + 0.5).astype(np.uint8)


def exif_block(
    taken: datetime,
    *,
    make: str = "Canon",
    model: str = "EOS R6",
    serial: Optional[str] = "0421",
    bias: Optional[float] = None,
) -> Image.Exif:
    """EXIF as a camera writes it: DateTimeOriginal + SubSecTimeOriginal, body, optional compensation."""
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = make, model
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    sub[0x9291] = f"{taken.microsecond // 10_000:02d}"
    if serial:
        sub[0xA431] = serial
    if bias is not None:
        sub[0x9204] = bias
    return exif


def write(path: Path, rgb: np.ndarray, exif: Optional[Image.Exif] = None, quality: int = 92) -> str:
    options = {"quality": quality}
    if exif is not None:
        options["exif"] = exif.tobytes()
    Image.fromarray(rgb).save(path, "JPEG", **options)
    return str(path)


def analyse(paths: Sequence[str]) -> dict[str, Analysis]:
    return {p: analyze(decode(p)) for p in paths}


def cull(analyses: dict[str, Analysis], policy: Optional[Policy] = None) -> tuple[dict[str, Decision], list[Group]]:
    """What the engine does after analysis: group, then decide every frame with its group."""
    policy = policy or Policy()
    groups = group([BurstItem.from_analysis(p, a) for p, a in analyses.items()], policy)
    return decide_all(analyses, groups, policy), groups


def item(path: str, rgb: np.ndarray, ts: Optional[float], camera: Optional[str] = "serial:0421", **kw) -> BurstItem:
    gray = to_gray(rgb)
    return BurstItem(
        path=path,
        capture_ts=ts,
        camera_key=camera,
        phash=phash(gray),
        dhash=dhash(gray),
        exposure_compensation=kw.pop("ec", 0.0 if ts is not None else None),
        ev_offset=kw.pop("ev", 0.0),
        **kw,
    )


def name(path: str) -> str:
    return os.path.basename(path)


# Five frames of one scene: shifting, a blur step each, small exposure wobble; frame 3 is the sharp one.
BURST_PLAN = [(0, 1.5, 0.0), (5, 1.2, -0.15), (10, 0.0, 0.0), (15, 1.8, 0.2), (20, 2.5, -0.1)]


@pytest.fixture(scope="module")
def real_burst(tmp_path_factory) -> dict[str, Analysis]:
    """A 5-frame burst at ~8 fps from the cruise-ship photo, with EXIF times in sub-seconds."""
    folder = tmp_path_factory.mktemp("burst")
    base = series("scenario-3-c")
    paths = []
    for k, (dx, blur, stops) in enumerate(BURST_PLAN):
        taken = T0 + timedelta(milliseconds=120 * k)
        paths.append(
            write(folder / f"IMG_{412 + k:04d}.jpg", frame(base, dx=dx, blur=blur, stops=stops), exif_block(taken))
        )
    return analyse(paths)


# ------------------------------------------------------------- real bursts --
@needs_series
class TestARealBurst:
    def test_is_one_group_in_time_order(self, real_burst):
        _, groups = cull(real_burst)
        assert len(groups) == 1
        assert groups[0].paths == tuple(sorted(real_burst))  # names follow the capture order
        assert not groups[0].bracket

    def test_the_sharpest_frame_is_kept_as_best_of_burst(self, real_burst):
        decisions, groups = cull(real_burst)
        best = [d for d in decisions.values() if d.burst_best]
        assert [name(d.path) for d in best] == ["IMG_0414.jpg"]
        sharpest = max(real_burst, key=lambda p: real_burst[p].subject.score)
        assert best[0].path == sharpest
        assert best[0].verdict == "keep" and best[0].pick == "picked" and best[0].stars >= 1
        assert best[0].reasons[0] == "best of burst (5 frames)"

    def test_every_frame_carries_id_size_rank_and_keyword(self, real_burst):
        decisions, groups = cull(real_burst)
        gid = groups[0].id
        assert re.fullmatch(r"20260613-143205-[0-9a-f]{6}", gid)
        assert sorted(d.burst_rank for d in decisions.values()) == [1, 2, 3, 4, 5]
        for d in decisions.values():
            assert (d.burst_id, d.burst_size) == (gid, 5)
            assert f"AutoCull|Burst|{gid}" in d.keywords
        ranked = sorted(decisions.values(), key=lambda d: d.burst_rank)
        assert [d.quality for d in ranked] == sorted((d.quality for d in ranked), reverse=True)

    def test_the_others_go_to_review_naming_the_sharper_frame(self, real_burst):
        decisions, _ = cull(real_burst)
        for d in decisions.values():
            if d.burst_best:
                continue
            assert d.verdict in ("review", "reject")  # a frame rejected on its own stays rejected
            # A frame rejected on its own reads its own cause first, the comparison after.
            why = d.reasons[-1] if d.verdict == "reject" else d.reasons[0]
            assert re.fullmatch(r"burst: IMG_0414\.jpg is sharper, 1\.00 vs 0\.\d\d", why), d.reasons
            if d.verdict == "reject":
                assert not d.reasons[0].startswith("burst:"), d.reasons
            assert d.pick == ("rejected" if d.verdict == "reject" else "none")
            assert d.stars == stars_for(d.verdict, d.quality, Policy())
            assert d.color_label == Policy().label_for(d.verdict)
            assert not any(r.startswith("keep:") for r in d.reasons)
            assert "AutoCull|Keep" not in d.keywords
            assert f"AutoCull|{d.verdict.capitalize()}" in d.keywords

    def test_alone_several_frames_would_be_kept_in_the_burst_only_one_is(self, real_burst):
        alone = [decide(a, Policy(), path=p).verdict for p, a in real_burst.items()]
        decisions, _ = cull(real_burst)
        assert alone.count("keep") >= 3
        assert [name(d.path) for d in decisions.values() if d.verdict == "keep"] == ["IMG_0414.jpg"]

    def test_the_policy_can_reject_the_others_and_label_them(self, real_burst):
        policy = Policy().with_values({"burst_others": "reject", "burst_label": "purple", "burst_keywords": False})
        decisions, _ = cull(real_burst, policy)
        others = [d for d in decisions.values() if not d.burst_best]
        assert {d.verdict for d in others} == {"reject"}
        assert {d.color_label for d in others} == {"purple"}
        assert all(d.pick == "rejected" and d.stars == 0 for d in others)
        assert not any("|Burst|" in k for d in decisions.values() for k in d.keywords)

    def test_a_reject_is_never_lifted_to_review(self, real_burst):
        decisions, _ = cull(real_burst)
        alone = {p: decide(a, Policy(), path=p) for p, a in real_burst.items()}
        for p, d in decisions.items():
            if alone[p].verdict == "reject":
                assert d.verdict == "reject"

    def test_grouping_does_not_depend_on_the_order_of_the_frames(self, real_burst):
        items = [BurstItem.from_analysis(p, a) for p, a in real_burst.items()]
        random.Random(0).shuffle(items)
        assert group(items, Policy()) == group(sorted(items, key=lambda i: i.path), Policy())


@needs_series
def test_when_every_frame_is_blurry_the_best_stays_rejected_and_says_so(tmp_path):
    base = series("scenario-3-c")
    paths = [
        write(
            tmp_path / f"soft_{k}.jpg", frame(base, dx=4 * k, blur=b), exif_block(T0 + timedelta(milliseconds=200 * k))
        )
        for k, b in enumerate((4.0, 5.0, 6.0))
    ]
    analyses = analyse(paths)
    assert all(decide(a, Policy()).verdict == "reject" for a in analyses.values())
    decisions, groups = cull(analyses)
    assert len(groups) == 1
    best = next(d for d in decisions.values() if d.burst_best)
    assert best.verdict == "reject" and best.pick == "rejected"
    assert best.reasons[0] == "best of burst (3 frames), but every frame of it is rejected"
    assert any("out of focus" in r or "blurred by" in r for r in best.reasons[1:])


@needs_series
def test_a_best_sent_to_review_stays_in_review_the_policy_lines_hold(tmp_path):
    base = series("scenario-3-c")
    paths = [
        write(tmp_path / f"f{k}.jpg", frame(base, dx=4 * k, blur=b), exif_block(T0 + timedelta(milliseconds=200 * k)))
        for k, b in enumerate((1.8, 1.9))
    ]
    analyses = analyse(paths)
    alone = {p: decide(a, Policy(), path=p) for p, a in analyses.items()}
    assert {d.verdict for d in alone.values()} == {"review"}  # blur of 1.8-1.9 px: between the review and reject lines
    decisions, _ = cull(analyses)
    best = next(d for d in decisions.values() if d.burst_best)
    assert best.verdict == "review" and best.pick == "none" and best.color_label == Policy().review_label
    assert best.reasons[0] == "best of burst (2 frames), but still to review"
    assert best.reasons[1:] == alone[best.path].reasons


def test_raising_the_keep_line_is_not_undone_by_a_burst(real_burst):
    decisions, _ = cull(real_burst, Policy().with_values({"keep_quality": 1.0}))
    assert not any(d.verdict == "keep" for d in decisions.values())
    assert sum(d.burst_best for d in decisions.values()) == 1


@needs_series
def test_the_reason_names_open_eyes_when_that_is_what_differs(tmp_path):
    base = series("scenario-3-c")
    paths = [
        write(tmp_path / "closed.jpg", frame(base, dx=0), exif_block(T0)),
        write(tmp_path / "open.jpg", frame(base, dx=4, blur=1.2), exif_block(T0 + timedelta(seconds=0.2))),
    ]
    analyses = analyse(paths)

    def face(state: str) -> FaceMetrics:
        eye = EyeMetrics(ear=0.32 if state == "open" else 0.08, state=state)
        return FaceMetrics(
            box=Box(0.4, 0.3, 0.2, 0.3), score=0.95, left_eye=eye, right_eye=eye, eye_state=state, size=0.3, main=True
        )

    analyses = {
        p: dataclasses.replace(a, faces=(face("closed" if "closed" in p else "open"),), faces_checked=True)
        for p, a in analyses.items()
    }
    decisions, _ = cull(analyses)
    by = {name(p): d for p, d in decisions.items()}
    assert by["open.jpg"].burst_best and by["open.jpg"].verdict == "keep"
    assert by["closed.jpg"].verdict == "reject"  # closed eyes stay a reject
    # its own cause first (what the photographer must read), then the comparison
    assert "closed" in by["closed.jpg"].reasons[0], by["closed.jpg"].reasons
    assert by["closed.jpg"].reasons[-1] == "burst: open.jpg has open eyes, 100% vs 0% of faces"


# -------------------------------------------------------- what must not merge --
@needs_series
def test_different_scenes_in_the_same_second_do_not_merge():
    t = T0.timestamp()
    scenes = [sample("astronaut"), sample("coffee"), sample("rocket"), series("scenario-2-a"), series("scenario-1-a")]
    items = [item(f"/s/{k}.jpg", rgb, t + 0.15 * k) for k, rgb in enumerate(scenes)]
    assert group(items, Policy()) == []


@needs_series
def test_two_bursts_interleaved_in_one_second_stay_two():
    t = T0.timestamp()
    a, b = series("scenario-3-c"), sample("astronaut")
    items = [item(f"/s/{'ab'[k % 2]}{k}.jpg", frame(a if k % 2 == 0 else b, dx=3 * k), t + 0.1 * k) for k in range(8)]
    groups = group(items, Policy())
    assert sorted({name(p)[0] for p in g.paths} for g in groups) == [{"a"}, {"b"}]
    assert all(len(g.paths) == 4 for g in groups)


@needs_series
def test_two_cameras_at_the_same_moment_stay_separate():
    t = T0.timestamp()
    here = [item(f"/w/A_{k}.jpg", frame(series("scenario-3-a"), dx=4 * k), t + 0.2 * k, "serial:A") for k in range(3)]
    there = [
        item(f"/w/B_{k}.jpg", frame(series("scenario-3-c"), dx=4 * k), t + 0.2 * k + 0.05, "serial:B") for k in range(3)
    ]
    groups = group(here + there, Policy())
    assert sorted(tuple(name(p) for p in g.paths) for g in groups) == [
        ("A_0.jpg", "A_1.jpg", "A_2.jpg"),
        ("B_0.jpg", "B_1.jpg", "B_2.jpg"),
    ]


def test_two_cameras_whose_frames_look_the_same_group():
    t = T0.timestamp()
    scene = sample("coffee")
    a = item("/w/A_1.jpg", frame(scene, dx=0), t, "serial:A")
    b = item("/w/B_1.jpg", frame(scene, dx=2), t + 0.04, "serial:B")
    far = item("/w/B_2.jpg", frame(scene, dx=2), t + 60, "serial:B")  # same look, a minute later: not this moment
    groups = group([a, b, far], Policy())
    assert [g.paths for g in groups] == [("/w/A_1.jpg", "/w/B_1.jpg")]


@needs_series
def test_reframed_shots_of_one_scene_are_not_one_burst_by_hash_but_are_with_embeddings():
    """The shared series are re-framed (not burst) shots: hashes keep them apart; CLIP, once there, joins them."""
    t = T0.timestamp()
    a, c = series("scenario-3-a"), series("scenario-3-c")
    plain = [item("/s/3a.jpg", a, t), item("/s/3c.jpg", c, t + 1.0)]
    assert group(plain, Policy()) == []
    rng = np.random.default_rng(0)
    v = rng.normal(size=64)
    near = v + 0.1 * rng.normal(size=64)
    with_emb = [dataclasses.replace(plain[0], embedding=tuple(v)), dataclasses.replace(plain[1], embedding=tuple(near))]
    assert [g.paths for g in group(with_emb, Policy())] == [("/s/3a.jpg", "/s/3c.jpg")]
    other = tuple(rng.normal(size=64))
    apart = [with_emb[0], dataclasses.replace(with_emb[1], embedding=other)]
    assert group(apart, Policy()) == []


# ------------------------------------------------------------------ untimed --
@needs_series
def test_untimed_near_duplicates_group_by_look(tmp_path):
    """Exports and re-saves carry no capture time: they group by look alone, and only near-duplicates do."""
    base = sample("astronaut")
    dups = [
        write(tmp_path / "astronaut.jpg", base),
        write(tmp_path / "astronaut-web.jpg", base, quality=55),
        write(tmp_path / "astronaut-small.jpg", np.asarray(Image.fromarray(base).resize((256, 256)))),
        write(tmp_path / "astronaut-edit.jpg", exposed(frame(base, dx=2, margin=6), 0.2)),
    ]
    others = [
        write(tmp_path / "coffee.jpg", sample("coffee")),
        write(tmp_path / "harbour-a.jpg", series("scenario-1-a")),
        write(tmp_path / "harbour-b.jpg", series("scenario-1-b")),
    ]
    analyses = analyse(dups + others)
    assert all(a.exif.capture_ts is None for a in analyses.values())
    decisions, groups = cull(analyses)
    assert [set(g.paths) for g in groups] == [set(dups)]
    assert groups[0].id.startswith("nodate-")
    assert sum(decisions[p].burst_best for p in dups) == 1
    assert all(decisions[p].burst_id == "" for p in others)


def test_an_export_without_time_joins_its_timed_original():
    t = T0.timestamp()
    scene = sample("coffee")
    burst = [item(f"/w/IMG_{k}.CR3", frame(scene, dx=3 * k), t + 0.1 * k) for k in range(3)]
    export = item("/w/exports/IMG_1-edit.jpg", frame(scene, dx=3), None, None)
    (g,) = group(burst + [export], Policy())
    assert g.paths[-1] == "/w/exports/IMG_1-edit.jpg"  # untimed frames come after the timed ones


def test_the_look_only_index_finds_exactly_the_pairs_a_full_comparison_finds():
    """Multi-index lookup must miss nothing: compare with brute force on planted near-duplicates."""
    rng = np.random.default_rng(0)
    for line in (3, 14, 22):
        roots = [int(x) for x in rng.integers(0, 2**62, size=(60, 2)).ravel()]
        items = []
        for k in range(300):
            p, d = roots[2 * (k % 60)], roots[2 * (k % 60) + 1]
            for _ in range(int(rng.integers(0, line + 4))):
                bit = int(rng.integers(0, 128))
                p, d = (p ^ (1 << bit), d) if bit < 64 else (p, d ^ (1 << (bit - 64)))
            items.append(
                BurstItem(
                    path=f"/x/{k:03d}.jpg",
                    capture_ts=None,
                    camera_key=None,
                    phash=f"{p:016x}",
                    dhash=f"{d:016x}",
                    exposure_compensation=None,
                    ev_offset=0.0,
                )
            )
        policy = Policy().with_values({"burst_hash_distance": line})
        assert {g.paths for g in group(items, policy)} == _brute_force(items, line)


def _brute_force(items: list[BurstItem], line: int) -> set[tuple[str, ...]]:
    parent = list(range(len(items)))

    def find(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            a, b = items[i], items[j]
            dist = bin(int(a.phash, 16) ^ int(b.phash, 16)).count("1") + bin(int(a.dhash, 16) ^ int(b.dhash, 16)).count(
                "1"
            )
            if dist <= line:
                parent[find(i)] = find(j)
    out: dict[int, list[str]] = {}
    for i, it in enumerate(items):
        out.setdefault(find(i), []).append(it.path)
    return {tuple(sorted(v)) for v in out.values() if len(v) > 1}


# ------------------------------------------------------------------ brackets --
def test_a_bracket_is_reported_and_no_frame_is_rejected_for_exposure(tmp_path):
    scene = sample("coffee")
    paths = [
        write(
            tmp_path / f"HDR_{k}.jpg",
            exposed(scene, ev),
            exif_block(T0 + timedelta(milliseconds=250 * k), bias=float(ev)),
        )
        for k, ev in enumerate((0, -2, 2))
    ]  # in-camera order: base, under, over
    analyses = analyse(paths)
    alone = {p: decide(a, Policy(), path=p) for p, a in analyses.items()}
    assert alone[paths[1]].verdict == "review" and alone[paths[1]].reasons[0].startswith("dark")  # the premise
    decisions, groups = cull(analyses)
    assert len(groups) == 1 and groups[0].bracket
    text = "exposure bracket of 3 (EV −2/0/+2): kept together, not judged on exposure"
    for p in paths:
        d = decisions[p]
        assert d.bracket and d.burst_id == groups[0].id and d.burst_size == 3
        assert d.verdict != "reject"
        assert d.reasons[0] == text
        assert not any(w in r for r in d.reasons for w in ("dark", "bright", "highlights", "shadows"))
        assert f"AutoCull|Bracket|{groups[0].id}" in d.keywords
        assert d.pick == Policy().pick_for(d.verdict) and d.color_label == Policy().label_for(d.verdict)
    assert decisions[paths[0]].burst_best  # the base exposure tops the stack


def test_a_bracket_is_found_from_measured_exposure_when_compensation_is_missing():
    t = T0.timestamp()
    scene = sample("astronaut")
    items = [
        item(f"/b/{k}.jpg", frame(scene, dx=k), t + 0.2 * k, ec=None, ev=ev) for k, ev in enumerate((0.1, -1.9, 2.1))
    ]
    (g,) = group(items, Policy())
    assert g.bracket


def test_a_flash_that_missed_one_frame_is_a_burst_not_a_bracket():
    t = T0.timestamp()
    scene = sample("astronaut")
    items = [
        item(f"/b/{k}.jpg", frame(scene, dx=k), t + 0.3 * k, ec=None, ev=ev) for k, ev in enumerate((0.0, -2.2, 0.1))
    ]
    (g,) = group(items, Policy())
    assert not g.bracket


def test_untimed_copies_at_other_brightness_are_duplicates_not_a_bracket():
    scene = sample("coffee")
    items = [
        item("/e/coffee.jpg", scene, None, None, ev=-0.2),
        item("/e/coffee-dark.jpg", exposed(scene, -3), None, None, ev=-3.4),
    ]
    (g,) = group(items, Policy())
    assert not g.bracket


def test_dialling_compensation_once_mid_burst_is_not_a_bracket():
    t = T0.timestamp()
    scene = sample("astronaut")
    items = [
        item(f"/b/{k}.jpg", frame(scene, dx=k), t + 0.1 * k, ec=ec) for k, ec in enumerate((0.0, 0.0, 0.0, -1.0, -1.0))
    ]
    (g,) = group(items, Policy())
    assert not g.bracket


# ------------------------------------------------------------ ids and links --
def test_group_ids_stay_the_same_when_the_later_frames_arrive():
    t = T0.timestamp()
    scene = sample("coffee")
    items = [item(f"/w/IMG_{k}.jpg", frame(scene, dx=2 * k), t + 0.125 * k) for k in range(6)]
    (first,) = group(items[:3], Policy())
    (whole,) = group(items, Policy())
    assert first.id == whole.id and len(whole.paths) == 6
    moved = [dataclasses.replace(i, path=i.path.replace("/w/", "/archive/2026/w/")) for i in items]
    assert group(moved, Policy())[0].id == whole.id  # moving the folder keeps it too


def test_a_maker_burst_id_links_frames_directly():
    t = T0.timestamp()
    a = item("/m/1.jpg", sample("coffee"), t, burst_id="B77")
    b = item("/m/2.jpg", sample("rocket"), t + 5.0, burst_id="B77")  # panned away, slow: the camera still says so
    c = item("/m/3.jpg", sample("camera"), t + 6.0, "serial:other", burst_id="B77")
    assert [g.paths for g in group([a, b, c], Policy())] == [("/m/1.jpg", "/m/2.jpg")]


def test_a_raw_and_jpeg_pair_is_one_shot_not_a_burst():
    t = T0.timestamp()
    rgb = sample("coffee")
    pair = [item("/r/IMG_0001.CR2", rgb, t), item("/r/IMG_0001.JPG", rgb, t)]
    assert group(pair, Policy()) == []
    nxt = [
        item("/r/IMG_0002.CR2", frame(rgb, dx=3, blur=2.0), t + 0.2),
        item("/r/IMG_0002.JPG", frame(rgb, dx=3, blur=2.0), t + 0.2),
    ]
    (g,) = group(pair + nxt, Policy())
    assert len(g.paths) == 4


def test_a_raw_and_jpeg_pair_shares_one_rank(tmp_path):
    scene = sample("coffee")
    paths = []
    for k, blur in enumerate((0.0, 2.0)):
        rgb = frame(scene, dx=3 * k, blur=blur)
        for ext in ("JPG", "jpeg"):  # two files of one shot (stand-ins for RAW + JPEG)
            paths.append(write(tmp_path / f"IMG_{k}.{ext}", rgb, exif_block(T0 + timedelta(seconds=0.2 * k))))
    decisions, groups = cull(analyse(paths))
    assert len(groups) == 1
    ranks = {name(p): (d.burst_rank, d.burst_size, d.burst_best) for p, d in decisions.items()}
    assert ranks == {
        "IMG_0.JPG": (1, 2, True),
        "IMG_0.jpeg": (1, 2, True),
        "IMG_1.JPG": (2, 2, False),
        "IMG_1.jpeg": (2, 2, False),
    }
    assert decisions[paths[0]].reasons[0] == "best of burst (2 frames)"


def test_frames_further_apart_than_the_gap_do_not_chain():
    t = T0.timestamp()
    scene = sample("coffee")
    items = [item(f"/g/{k}.jpg", frame(scene, dx=k), t + 2.5 * k) for k in range(3)]
    assert group(items, Policy()) == []
    assert len(group(items, Policy().with_values({"burst_gap_seconds": 3.0}))[0].paths) == 3


def test_a_group_of_unanalysed_files_changes_no_decision(real_burst):
    """A group naming files with no analysis (failed or gone) leaves every decision as the photo's own."""
    one = next(iter(real_burst))
    bogus = Group(id="x", paths=(one, "/w/broken.jpg", "/w/missing.jpg"), bracket=False)
    decided = decide_all(real_burst, [bogus], Policy())
    assert set(decided) == set(real_burst)
    assert decided == {p: decide(a, Policy(), path=p) for p, a in real_burst.items()}


# ------------------------------------------------------------------- engine --
@needs_series
def test_half_a_burst_then_the_other_half_is_one_group_with_one_best(tmp_path):
    from autocull.config import Config
    from autocull.engine import Engine

    shoot = tmp_path / "wedding"
    shoot.mkdir()
    base = series("scenario-3-c")
    plan = BURST_PLAN + [(25, 2.0, 0.1)]
    paths = [
        write(
            shoot / f"IMG_{500 + k:04d}.jpg",
            frame(base, dx=dx, blur=blur, stops=stops),
            exif_block(T0 + timedelta(milliseconds=150 * k)),
        )
        for k, (dx, blur, stops) in enumerate(plan)
    ]
    eng = Engine.open(tmp_path / "home", Config(faces=False))  # no faces here; bursts are the point
    try:
        first = eng.run(paths[:3]).decisions
        second = eng.run(paths[3:]).decisions
        everything = eng.decide_paths(paths)
    finally:
        eng.close()
    assert {d.burst_id for d in first} == {d.burst_id for d in second} == {d.burst_id for d in everything}
    assert {d.burst_size for d in second} == {d.burst_size for d in everything} == {6}
    assert sum(d.burst_best for d in everything) == 1
    assert sorted(d.burst_rank for d in everything) == [1, 2, 3, 4, 5, 6]
    assert [name(d.path) for d in everything if d.burst_best] == ["IMG_0502.jpg"]
    assert not any(d.burst_best for d in second)  # the best is in the first half, and the second half knows it
    assert all(any(r.startswith("burst: IMG_0502.jpg") for r in d.reasons) for d in second)
    assert all(d.reasons[0].startswith("burst: IMG_0502.jpg") for d in second if d.verdict != "reject")


def test_lookalikes_follow_a_chain_of_near_duplicates_and_nothing_else():
    from autocull.bursts import lookalikes

    def flip(h: int, bits: int) -> str:
        return f"{h ^ ((1 << bits) - 1):016x}"

    base = 0x0123_4567_89AB_CDEF
    query = (f"{base:016x}", f"{base:016x}")
    near = ("/u/near.jpg", flip(base, 6), f"{base:016x}")  # 6 bits from the query
    chained = ("/u/chained.jpg", flip(base, 12), f"{base:016x}")  # 6 bits from `near`, 12 from the query
    far = ("/u/far.jpg", f"{~base & (2**64 - 1):016x}", f"{base:016x}")
    broken = ("/u/broken.jpg", "not-a-hash", "")
    assert lookalikes([query], [far, chained, near, broken], line=8) == ["/u/chained.jpg", "/u/near.jpg"]
    assert lookalikes([query], [far, chained], line=8) == []
    assert lookalikes([], [near], line=8) == []
