"""Grouping time for 10,000 synthetic stored photos (issue 5: target well under 1 s).

A wedding day as the store would hold it: two bodies over ten hours, bursts of
1..12 frames at 3..10 fps between single frames, each frame a few bits away
from its scene's hashes, plus 5 % untimed exports (half near-duplicates of a
shot, half unrelated). Run: ``.venv/bin/python bench/bench_bursts.py [N]``.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from autocull.bursts import BurstItem, group  # noqa: E402
from autocull.policy import Policy  # noqa: E402

START = dt.datetime(2026, 6, 13, 12, 0, tzinfo=dt.timezone.utc).timestamp()


def _flip(rng: np.random.Generator, value: int, max_bits: int) -> int:
    for b in rng.choice(64, size=int(rng.integers(0, max_bits + 1)), replace=False):
        value ^= 1 << int(b)
    return value


def synthetic(n: int, seed: int = 0, untimed_share: float = 0.05) -> list[BurstItem]:
    """``n`` records shaped like a wedding's store (see module docstring)."""
    rng = np.random.default_rng(seed)
    cams = ["serial:1001", "serial:2002"]
    clock = {c: START for c in cams}
    items: list[BurstItem] = []
    timed = int(n * (1 - untimed_share))
    while len(items) < timed:
        cam = cams[int(rng.integers(0, 2))]
        clock[cam] += float(rng.exponential(7.0)) + 0.5
        p0, d0 = (int(x) for x in rng.integers(0, 2**63, size=2))
        frames = 1 if rng.random() < 0.6 else int(rng.integers(2, 13))
        fps = float(rng.uniform(3, 10))
        for k in range(frames):
            if len(items) >= timed:
                break
            t = clock[cam] + k / fps
            items.append(
                BurstItem(
                    path=f"/wedding/{cam[-4:]}/IMG_{len(items):05d}.CR3",
                    capture_ts=round(t, 2),
                    camera_key=cam,
                    phash=f"{_flip(rng, p0, 6):016x}",
                    dhash=f"{_flip(rng, d0, 6):016x}",
                    exposure_compensation=0.0,
                    ev_offset=float(rng.normal(0, 0.2)),
                )
            )
        clock[cam] += frames / fps
    while len(items) < n:
        if rng.random() < 0.5 and items:
            src = items[int(rng.integers(0, len(items)))]
            ph, dh = _flip(rng, int(src.phash, 16), 2), _flip(rng, int(src.dhash, 16), 2)
        else:
            ph, dh = (int(x) for x in rng.integers(0, 2**63, size=2))
        items.append(
            BurstItem(
                path=f"/wedding/exports/export_{len(items):05d}.jpg",
                capture_ts=None,
                camera_key=None,
                phash=f"{ph:016x}",
                dhash=f"{dh:016x}",
                exposure_compensation=None,
                ev_offset=0.0,
            )
        )
    return items


def timed_runs(items: list[BurstItem], policy: Policy, runs: int = 5) -> tuple[list[float], list]:
    times, groups = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        groups = group(items, policy)
        times.append(time.perf_counter() - t0)
    return times, groups


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    policy = Policy()
    print(f"bench_bursts  {dt.datetime.now().isoformat(timespec='seconds')}")
    print(
        f"machine: {platform.node()} {platform.machine()} {platform.processor() or ''} "
        f"{os.cpu_count()} cpu, Python {platform.python_version()}, numpy {np.__version__}"
    )
    for label, share in (
        ("wedding: 2 bodies, bursts 1..12 frames, 5% untimed exports", 0.05),
        ("worst case: all untimed (look-only index)", 1.0),
    ):
        items = synthetic(n, untimed_share=share)
        runs, groups = timed_runs(items, policy)
        grouped = sum(len(g.paths) for g in groups)
        print(f"corpus: {n} synthetic stored records, {label}")
        print(f"  groups: {len(groups)} holding {grouped} frames, brackets {sum(g.bracket for g in groups)}")
        print(
            f"  group() time: median {statistics.median(runs) * 1000:.0f} ms, "
            f"best {min(runs) * 1000:.0f} ms over {len(runs)} runs"
        )


if __name__ == "__main__":
    main()
