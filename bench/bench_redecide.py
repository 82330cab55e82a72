"""Re-deciding a library after a policy change: N stored photos, no image read.

Culls a handful of real photos (``--testdata``: camera, faces, bursts) once, then clones their stored analyses
into a library of ``--stored`` photos (default 10,000) with varied folders, capture times (bursts of 2-8 frames
0.3 s apart, lone frames minutes apart, some without a time), hashes (burst frames a few bits apart, others
unrelated) and faces, gives every clone its verdict (as a cull leaves a library), and closes that engine.

Then, in a fresh process (what a restart gives: nothing imported, nothing parsed), it opens an engine on the
library (nothing to catch up: the verdicts are current) and times ``engine.set_policy`` re-deciding all of them,
a few policy changes in a row: the first is "cold" (a user's first change after a restart), the later ones
"warm"; both are printed with the target beside them, the cold one never hidden behind a best-of.
``--profile`` prints the cProfile top of one more (warm) change. Prints, never asserts.

Run: PYTHONPATH=server .venv/bin/python bench/bench_redecide.py --testdata ../shared/testdata [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import os
import platform
import pstats
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def real_photos(testdata: Path) -> list[str]:
    """A mix of real photos: every camera and burst photo, a slice of the face crops (open and closed eyes)."""
    out = sorted(str(p) for p in (testdata / "camera").rglob("*.jp*g"))
    out += sorted(str(p) for p in (testdata / "burst").rglob("*.jp*g"))
    for kind in ("open", "closed"):
        out += sorted(str(p) for p in (testdata / "faces" / kind).glob("*.jp*g"))[:15]
    return out


def flip_bits(hexhash: str, rng: random.Random, bits: int) -> str:
    """The hash with ``bits`` random bits flipped (a near frame of a burst)."""
    if len(hexhash) != 16:
        return hexhash
    value = int(hexhash, 16)
    for b in rng.sample(range(64), bits):
        value ^= 1 << b
    return f"{value:016x}"


def build_library(eng, n: int, seed: int = 16) -> None:
    """Clone the stored analyses into ``n`` stored photos that look like a real library."""
    from autocull import ANALYZER_VERSION

    rng = random.Random(seed)
    sources = list(eng.store.analyses(eng.store.all_paths()).values())
    t = 1_700_000_000.0
    i = 0
    while i < n:
        src = rng.choice(sources)
        frames = rng.choice([1, 1, 1, 1, 2, 3, 5, 8])  # most lone frames, some bursts
        ph = f"{rng.getrandbits(64):016x}"
        dh = f"{rng.getrandbits(64):016x}"
        untimed = rng.random() < 0.04
        for k in range(min(frames, n - i)):
            folder = f"/library/{i // 500:03d}"
            a = src if k == 0 or rng.random() < 0.5 else rng.choice(sources)  # frames of a burst differ in metrics
            exif = dataclasses.replace(a.exif, capture_ts=None if untimed else t)
            clone = dataclasses.replace(
                a, exif=exif, phash=flip_bits(ph, rng, k and 3), dhash=flip_bits(dh, rng, k and 3)
            )
            eng.store.put_analysis(f"{folder}/IMG_{i:05d}.jpg", 1, 1, ANALYZER_VERSION, clone)
            if rng.random() < 0.03:  # a RAW+JPEG pair: one shot, two files
                eng.store.put_analysis(f"{folder}/IMG_{i:05d}.nef", 1, 1, ANALYZER_VERSION, clone)
                i += 1
            i += 1
            t += 0.3
        t += rng.uniform(20, 600)


TARGET_S = 1.0  # issue 16: re-deciding 10,000 stored photos under 1 s


def build(home: Path, testdata: Path, stored: int) -> None:
    """Cull the real photos, clone them into the library, give every stored photo its current verdict, close."""
    from autocull.engine import Engine

    eng = Engine.open(home)
    try:
        t = time.perf_counter()
        photos = real_photos(testdata)
        res = eng.run(photos)
        print(f"culled {len(photos)} real photos in {time.perf_counter() - t:.1f} s ({res.counts.failed} failed)")
        t = time.perf_counter()
        build_library(eng, stored)
        print(f"library: {eng.store.photo_count()} stored photos ({time.perf_counter() - t:.1f} s to store)")
        t = time.perf_counter()
        decided = eng.verdicts.catch_up()  # the clones have no verdict yet: what a cull would have stored
        print(f"verdicts given to {decided} stored photos ({time.perf_counter() - t:.1f} s; not a figure)")
        print(f"images decoded: {eng.decodes} (only the first cull)")
    finally:
        eng.close()


def measure(home: Path, rounds: int, profile: bool) -> None:
    """In this (fresh) process: open the engine, then time ``rounds`` policy changes; the first one is cold."""
    from autocull.engine import Engine

    t = time.perf_counter()
    eng = Engine.open(home)
    opened = time.perf_counter() - t
    try:
        stale = len(eng.store.stale_verdicts(eng.verdicts.active.version))
        print(
            f"fresh process: engine opened in {opened:.2f} s on {eng.store.photo_count()} stored photos "
            f"({stale} without a current verdict)"
        )
        # each changes verdicts (a change that moves none skips the verdict writes), the cold one too: the last
        # of a run is never the first of the next
        policies = [  # each on top of the one before (``{}``: back to the defaults)
            {"burst_others": "reject", "keep_quality": 0.4},
            {"keep_quality": 0.85},
            {},
            {"keep_quality": 0.85},
        ]
        walls: list[float] = []
        for r in range(rounds):
            values = policies[r % len(policies)]
            t, c = time.perf_counter(), time.process_time()
            _, redecided, changed = eng.set_policy(values, reset=not values)
            dt, cpu = time.perf_counter() - t, time.process_time() - c
            walls.append(dt)
            kind = "cold, first after start" if r == 0 else "warm"
            print(
                f"policy change {r + 1} ({kind}): {redecided} re-decided in {dt:.3f} s wall, {cpu:.3f} s CPU "
                f"({changed} changed)"
            )
        rows = [("cold: 1st change after start", walls[0])] if walls else []
        if len(walls) > 1:
            rows.append((f"warm: later changes, median of {len(walls) - 1}", sorted(walls[1:])[(len(walls) - 1) // 2]))
        title = f"re-decide {eng.store.photo_count()} stored photos"
        print(f"\n| {title:<32} | wall s | target  | reached |")
        print(f"|{'-' * 34}|--------|---------|---------|")
        for name, wall in rows:
            print(f"| {name:<32} | {wall:6.3f} | < {TARGET_S:g} s   | {'yes' if wall < TARGET_S else 'NO':<7} |")
        if profile:
            prof = cProfile.Profile()
            prof.enable()
            eng.set_policy({"sharpness_reject": 0.31})
            prof.disable()
            print("\n(profile of one more, warm, change)")
            pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    finally:
        eng.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdata", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "testdata")
    ap.add_argument("--stored", type=int, default=10_000)
    ap.add_argument("--home", type=Path, help="keep the library here (built once, reused by later runs)")
    ap.add_argument("--rounds", type=int, default=4, help="policy changes timed: the first cold, the rest warm")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--measure-in", type=Path, help=argparse.SUPPRESS)  # the fresh process that times the changes
    args = ap.parse_args()
    if args.measure_in:
        measure(args.measure_in, args.rounds, args.profile)
        return
    print(
        f"# re-decide bench  {time.strftime('%Y-%m-%d %H:%M')}  {platform.machine()} {os.cpu_count()} cores  "
        f"python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        home = args.home or Path(tmp) / "home"
        if not (home / "autocull.db").exists():
            build(home, args.testdata, args.stored)
        else:
            print(f"library reused from {home}")
        cmd = [sys.executable, __file__, "--measure-in", str(home), "--rounds", str(args.rounds)]
        subprocess.run(cmd + (["--profile"] if args.profile else []), check=True, env=dict(os.environ))


if __name__ == "__main__":
    main()
