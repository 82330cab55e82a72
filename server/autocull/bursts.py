"""Bursts and brackets: which frames belong to one moment (an index; the verdicts are decide's).

Pure: no I/O, clock or logging. The engine hands over every stored photo near
the requested ones in folder and time (so culling half a burst still sees the
other half) and ``group`` links them with union-find; ``decide.decide_all``
then keeps one best frame per burst.

Two frames are linked when

* the camera says so (same body and maker burst id), or
* the same body took them within ``policy.burst_gap_seconds`` of each other
  (chaining, so a long burst at 10 fps is one group) AND they look alike: the
  mean of the pHash and dHash Hamming distances is at most
  ``policy.burst_hash_distance`` (each hash fails differently — pHash on
  reframing, dHash on exposure shifts — and the mean rides out either), or,
  when both have CLIP embeddings, their cosine is at least
  ``policy.burst_clip_cosine``; or
* they are near-duplicates: the pHash + dHash distance summed (not averaged)
  is at most the same line. That stricter test is all there is for frames
  without a capture time (exports, re-saves) and for two different bodies
  shooting the same moment; timed pairs must still be within the gap.

Timed frames are swept in time order and compared inside the window only; the
look-only pass uses a multi-index hash table (pigeonhole over 16-bit chunks),
so neither is quadratic over a library.

Files of one shot (``IMG_0412.CR2`` + ``IMG_0412.JPG`` in one folder) count as
one frame: a RAW+JPEG pair is not a burst, and its files share one rank.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Iterator, Optional, Sequence

import numpy as np

from .policy import Policy
from .records import Analysis

__all__ = ["BurstItem", "Group", "group", "lookalikes", "shot_key"]

_MIN_CHUNKS = 4  # look-only index: each 64-bit hash in at least four 16-bit chunks
_QUERY_BLOCK = 4096  # untimed frames looked up at once (bounds memory)
_PAIR_BLOCK = 1 << 20  # timed pairs tested at once (bounds memory on dense windows)
_MAX_BRACKET = 9  # longest auto-exposure bracket a camera offers; longer EV swings are not brackets


# ----------------------------------------------------------------- records --
@dataclass(frozen=True)
class BurstItem:
    """What grouping needs to know about one stored photo."""

    path: str
    capture_ts: Optional[float]
    camera_key: Optional[str]
    phash: str
    dhash: str
    exposure_compensation: Optional[float]
    ev_offset: float
    sequence_number: Optional[int] = None
    burst_id: Optional[str] = None
    embedding: Optional[tuple] = None

    @classmethod
    def from_analysis(cls, path: str, analysis: Analysis, embedding: Optional[np.ndarray] = None) -> "BurstItem":
        """Build from a stored analysis and the photo's stored CLIP vector (``embedding``; else one in
        ``extra['embedding']``, where an older analysis kept it)."""
        ex = analysis.exif
        emb = embedding if embedding is not None else (analysis.extra.get("embedding") if analysis.extra else None)
        return cls(
            path=path,
            capture_ts=ex.capture_ts,
            camera_key=ex.camera_key(),
            phash=analysis.phash,
            dhash=analysis.dhash,
            exposure_compensation=ex.exposure_compensation,
            ev_offset=analysis.exposure.ev_offset,
            sequence_number=ex.sequence_number,
            burst_id=ex.burst_id,
            embedding=tuple(float(v) for v in emb) if emb is not None and len(emb) else None,
        )


@dataclass(frozen=True)
class Group:
    """A burst (or an exposure bracket) of at least two shots; ``paths`` in time order."""

    id: str
    paths: tuple[str, ...]
    bracket: bool


# ---------------------------------------------------------------- grouping --
def group(items: Sequence[BurstItem], policy: Policy) -> list[Group]:
    """Bursts among ``items``: union-find over time-window and look-alike links.

    Returns groups of at least two shots, ordered by their first frame. Ids are
    derived from the earliest frame alone, so adding later frames (the second
    half of a burst culled tomorrow) keeps the id.
    """
    items = list(items)
    n = len(items)
    if n < 2:
        return []
    arrays = _Arrays.of(items)
    uf = _UnionFind(n)
    _link_maker_bursts(items, uf)
    for links in (_timed_links(items, arrays, policy), _lookalike_links(arrays, policy)):
        for i, j in links:
            uf.union(i, j)

    members: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        members[uf.find(i)].append(i)
    groups: list[tuple[tuple, Group]] = []
    for idx in members.values():
        if len(idx) < 2:
            continue
        ordered = sorted((items[i] for i in idx), key=_time_order)
        shots = _one_per_shot(ordered)
        if len(shots) < 2:
            continue
        first = ordered[0]
        groups.append(
            (
                _time_order(first),
                Group(
                    id=_group_id(first),
                    paths=tuple(it.path for it in ordered),
                    bracket=_is_bracket(shots, policy.bracket_ev_step),
                ),
            )
        )
    return [g for _, g in sorted(groups, key=lambda kg: kg[0])]


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))
        self.size = [1] * n

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:  # path compression
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]


@dataclass(frozen=True)
class _Arrays:
    """Column view of the items, so pair tests run vectorised instead of pair by pair in Python."""

    ph: np.ndarray  # uint64 pHash
    dh: np.ndarray  # uint64 dHash
    ok: np.ndarray  # both hashes usable
    ts: np.ndarray  # capture time, NaN when unknown
    cam: np.ndarray  # body as a small int, -1 when unknown
    emb: Optional[np.ndarray]  # unit CLIP vectors (rows of zeros when absent); None when nobody has one
    has_emb: np.ndarray

    @classmethod
    def of(cls, items: Sequence[BurstItem]) -> "_Arrays":
        n = len(items)
        ph, dh = np.zeros(n, np.uint64), np.zeros(n, np.uint64)
        ok = np.zeros(n, bool)
        for i, it in enumerate(items):
            pair = _hash_pair(it)
            if pair is not None:
                ph[i], dh[i], ok[i] = pair[0], pair[1], True
        codes: dict[str, int] = {}
        cam = np.array(
            [-1 if it.camera_key is None else codes.setdefault(it.camera_key, len(codes)) for it in items], np.int64
        )
        ts = np.array([np.nan if it.capture_ts is None else it.capture_ts for it in items], np.float64)
        vecs = [_unit(it.embedding) for it in items]
        has_emb = np.array([v is not None for v in vecs], bool)
        emb = None
        dims = {len(v) for v in vecs if v is not None}
        if len(dims) == 1:
            dim = dims.pop()
            emb = np.zeros((n, dim), np.float32)
            for i, v in enumerate(vecs):
                if v is not None:
                    emb[i] = v
        else:  # none, or vectors of different models: do not compare them
            has_emb[:] = False
        return cls(ph, dh, ok, ts, cam, emb, has_emb)

    def distance(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """pHash + dHash Hamming distance of pairs (i[k], j[k]), 0..128."""
        return _popcount(self.ph[i] ^ self.ph[j]) + _popcount(self.dh[i] ^ self.dh[j])


def _link_maker_bursts(items: Sequence[BurstItem], uf: _UnionFind) -> None:
    """The camera's own burst id is the strongest evidence there is."""
    first: dict[tuple[Optional[str], str], int] = {}
    for i, it in enumerate(items):
        if it.burst_id:
            key = (it.camera_key, it.burst_id)
            uf.union(first.setdefault(key, i), i)


def _timed_links(items: Sequence[BurstItem], a: _Arrays, policy: Policy) -> Iterator[tuple[int, int]]:
    """Pairs of timed frames within the gap of each other that look alike.

    Frames sorted by time; each is compared only with those after it inside the
    window (found with a binary search), so the work grows with the frames per
    window, not with the library.
    """
    order = np.array(
        sorted((i for i, it in enumerate(items) if it.capture_ts is not None), key=lambda i: _time_order(items[i])),
        np.int64,
    )
    if len(order) < 2:
        return
    t = a.ts[order]
    right = np.searchsorted(t, t + policy.burst_gap_seconds, side="right")
    counts = right - np.arange(len(order)) - 1
    line = policy.burst_hash_distance
    for rows in _blocks(counts):
        pi = np.repeat(rows, counts[rows])
        offsets = np.arange(len(pi)) - np.repeat(np.cumsum(counts[rows]) - counts[rows], counts[rows])
        i, j = order[pi], order[pi + 1 + offsets]
        same_body = (a.cam[i] == a.cam[j]) & (a.cam[i] >= 0)
        # same body: mean of the two distances within the line; other bodies: their sum (near-duplicate)
        alike = a.ok[i] & a.ok[j] & (a.distance(i, j) <= np.where(same_body, 2 * line, line))
        by_emb = same_body & a.has_emb[i] & a.has_emb[j]
        if a.emb is not None and by_emb.any():
            k = np.flatnonzero(by_emb)
            cos = np.einsum("ij,ij->i", a.emb[i[k]], a.emb[j[k]])
            alike[k] = cos >= policy.burst_clip_cosine
        hit = np.flatnonzero(alike)
        yield from zip(i[hit].tolist(), j[hit].tolist())


def _lookalike_links(a: _Arrays, policy: Policy) -> Iterator[tuple[int, int]]:
    """Near-duplicates involving an untimed frame, found through a multi-index hash table.

    Each 64-bit hash is cut into c chunks, 2c in all with 2c*2 > line: two
    frames within ``line`` bits then agree on some chunk up to one bit
    (pigeonhole), so looking up each chunk value and its one-bit neighbours in
    a bucket table per chunk finds every candidate without comparing all pairs.
    """
    line = policy.burst_hash_distance
    queries = np.flatnonzero(a.ok & np.isnan(a.ts))
    indexed = np.flatnonzero(a.ok)
    if len(queries) == 0 or len(indexed) < 2:
        return
    per_hash = max(_MIN_CHUNKS, (line // 2) // 2 + 1)
    columns = []
    for col in (a.ph, a.dh):
        for k in range(per_hash):
            lo, hi = 64 * k // per_hash, 64 * (k + 1) // per_hash
            values = ((col[indexed] >> np.uint64(lo)) & np.uint64((1 << (hi - lo)) - 1)).astype(np.int64)
            sort = np.argsort(values, kind="stable")
            counts = np.bincount(values, minlength=1 << (hi - lo))  # chunks are <= 16 bits: a direct table
            starts = np.cumsum(counts) - counts
            flips = np.array([0] + [1 << b for b in range(hi - lo)], np.int64)
            columns.append((col, lo, hi, counts, starts, indexed[sort], flips))
    for start in range(0, len(queries), _QUERY_BLOCK):
        q = queries[start : start + _QUERY_BLOCK]
        found_q, found_j = [], []
        for col, lo, hi, counts, starts, sorted_items, flips in columns:
            mine = ((col[q] >> np.uint64(lo)) & np.uint64((1 << (hi - lo)) - 1)).astype(np.int64)
            probes = (mine[:, None] ^ flips[None, :]).ravel()
            left, n_hit = starts[probes], counts[probes]
            owner = np.repeat(np.repeat(q, len(flips)), n_hit)
            pos = np.repeat(left, n_hit) + (np.arange(n_hit.sum()) - np.repeat(np.cumsum(n_hit) - n_hit, n_hit))
            found_q.append(owner)
            found_j.append(sorted_items[pos])
        qi, j = np.concatenate(found_q), np.concatenate(found_j)
        n = len(a.ok)
        keys = np.unique(np.minimum(qi, j) * n + np.maximum(qi, j))
        first, second = keys // n, keys % n
        hit = (first != second) & (a.distance(first, second) <= line)
        yield from zip(first[hit].tolist(), second[hit].tolist())


def _blocks(counts: np.ndarray) -> Iterator[np.ndarray]:
    """Row indices in runs of at most ``_PAIR_BLOCK`` pairs, so memory stays bounded on dense windows."""
    rows = np.flatnonzero(counts > 0)
    start = 0
    cum = np.cumsum(counts[rows])
    while start < len(rows):
        base = cum[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(cum, base + _PAIR_BLOCK, side="right")))
        yield rows[start:stop]
        start = stop


def _popcount(x: np.ndarray) -> np.ndarray:
    """Set bits per uint64 (numpy >= 2 has it built in)."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(x).astype(np.int64)
    return np.unpackbits(x.view(np.uint8)).reshape(-1, 64).sum(axis=1).astype(np.int64)


def lookalikes(queries: Sequence[tuple[str, str]], candidates: Sequence[tuple[str, str, str]], line: int) -> list[str]:
    """Paths of the ``candidates`` (path, pHash, dHash) that are near-duplicates of a query (pHash, dHash) or of
    another such candidate: summed distance within ``line``, the rule that lets an untimed frame join a group."""

    def as_ints(pairs: Iterable[tuple[str, str]]) -> np.ndarray:
        ok = [_hash_pair_of(p, d) for p, d in pairs]
        return np.array([h for h in ok if h is not None], dtype=np.uint64).reshape(-1, 2)

    todo = as_ints(queries)
    rows = [(path, h) for path, p, d in candidates if (h := _hash_pair_of(p, d)) is not None]
    left = np.array([h for _, h in rows], dtype=np.uint64).reshape(-1, 2)
    names = [path for path, _ in rows]
    hit = np.zeros(len(names), dtype=bool)
    while len(todo) and len(left):
        new = np.zeros(len(names), dtype=bool)
        for start in range(0, len(names), _QUERY_BLOCK):
            block = left[start : start + _QUERY_BLOCK]
            dist = _popcount((todo[:, None, 0] ^ block[None, :, 0]).ravel()).reshape(len(todo), len(block))
            dist += _popcount((todo[:, None, 1] ^ block[None, :, 1]).ravel()).reshape(len(todo), len(block))
            new[start : start + len(block)] = (dist <= line).any(axis=0)
        new &= ~hit
        hit |= new
        todo = left[new]  # a candidate found may bring its own near-duplicates
    return [n for n, h in zip(names, hit) if h]


# ------------------------------------------------------------------ helpers --
def _hash_pair(it: BurstItem) -> Optional[tuple[int, int]]:
    """pHash and dHash as integers; None when either is missing or malformed."""
    return _hash_pair_of(it.phash, it.dhash)


def _hash_pair_of(phash: str, dhash: str) -> Optional[tuple[int, int]]:
    if len(phash) != 16 or len(dhash) != 16:
        return None
    try:
        return int(phash, 16), int(dhash, 16)
    except ValueError:
        return None


def _unit(vec: Optional[tuple]) -> Optional[tuple]:
    if not vec:
        return None
    norm = math.sqrt(math.fsum(v * v for v in vec))
    return tuple(v / norm for v in vec) if norm > 0 else None


def _time_order(it: BurstItem) -> tuple:
    """Timed frames first by time, then sequence number (for files without sub-seconds), then path."""
    if it.capture_ts is None:
        return (1, 0.0, 0, it.path)
    return (0, it.capture_ts, it.sequence_number or 0, it.path)


def shot_key(path: str) -> tuple[str, str]:
    """One shot = one folder + file stem: RAW+JPEG of one exposure are not two frames."""
    cut = max(path.rfind("/"), path.rfind(os.sep))
    folder, name = path[: max(cut, 0)], path[cut + 1 :]
    dot = name.rfind(".")
    return folder, (name[:dot] if dot > 0 else name).lower()


def _group_id(first: BurstItem) -> str:
    """Stable id from the earliest frame: '20240601-143205-3fa2c1', or 'nodate-<hash>' when untimed.

    Hashes the body, the exact time and the file stem (not the folder or the
    extension), so moving the folder or choosing the RAW over the JPEG keeps it.
    """
    stem = shot_key(first.path)[1]
    if first.capture_ts is None:
        return "nodate-" + _short_hash(stem, 8)
    digest = _short_hash(f"{first.camera_key or ''}|{first.capture_ts:.3f}|{stem}", 6)
    try:
        stamp = datetime.fromtimestamp(first.capture_ts, tz=timezone.utc).strftime("%Y%m%d-%H%M%S")
    except (OverflowError, OSError, ValueError):
        return "t-" + digest
    return f"{stamp}-{digest}"


def _short_hash(text: str, n: int) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:n]


def _is_bracket(shots: Sequence[BurstItem], step: float) -> bool:
    """Stepped exposure, shot to be merged: compensation changes by ≥ step between most frames.

    Only for timed frames of one body. With EXIF compensation: at least half of the consecutive shots differ by
    ``step`` or more (a photographer dialling EC once mid-burst does not make a
    bracket). Without it on any frame, fall back to the measured exposure, more
    cautiously: every shot at its own level, each consecutive pair ``step``
    apart and at most nine shots — a flash that failed to recycle (lit, dark,
    lit) repeats a level and stays a burst.
    """
    if len(shots) < 2:
        return False
    if any(it.capture_ts is None for it in shots) or len({it.camera_key for it in shots}) != 1:
        return False  # a bracket is one body's timed sequence; an untimed dark copy is an edit, not a bracket
    ecs = [it.exposure_compensation for it in shots]
    if any(ec is not None for ec in ecs):
        known = [ec for ec in ecs if ec is not None]
        if len(known) < 2:
            return False
        steps = [abs(b - a) >= step for a, b in zip(known, known[1:])]
        return sum(steps) >= max(1, math.ceil(len(steps) / 2))
    if len(shots) > _MAX_BRACKET or step <= 0:
        return False
    evs = [it.ev_offset for it in shots]
    if not all(abs(b - a) >= step for a, b in zip(evs, evs[1:])):
        return False
    levels = sorted(evs)
    return all(b - a >= step for a, b in zip(levels, levels[1:]))


def _one_per_shot(ordered: Iterable[BurstItem]) -> list[BurstItem]:
    seen: set[tuple[str, str]] = set()
    out = []
    for it in ordered:
        key = shot_key(it.path)
        if key not in seen:
            seen.add(key)
            out.append(it)
    return out
