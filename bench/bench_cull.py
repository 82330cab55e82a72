"""Throughput of a cull: cold, cached re-run, and re-deciding 10,000 stored photos.

Corpus: real photos from scikit-image upscaled to 24 MP JPEG (quality 92), N of them
(default 200; `--n 40` for a quick look). Prints images/second and peak memory with the
machine and date, so runs compare. Run: .venv/bin/python bench/bench_cull.py [--n N]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageFilter


def make_corpus(folder: Path, n: int) -> list[Path]:
    from skimage import data

    sources = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        img = Image.fromarray(sources[i % len(sources)]).resize((6000, 4000), Image.BICUBIC)
        if i % 5 == 4:
            img = img.filter(ImageFilter.GaussianBlur(8))
        path = folder / f"IMG_{i:04d}.jpg"
        img.save(path, quality=92)
        out.append(path)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--stored", type=int, default=10_000)
    ap.add_argument("--no-faces", action="store_true", help="cull without face detection, to see what faces cost")
    args = ap.parse_args()
    from autocull.config import Config
    from autocull.engine import Engine

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t = time.perf_counter()
        files = make_corpus(root / "corpus", args.n)
        print(
            f"# AutoCull bench  {time.strftime('%Y-%m-%d %H:%M')}  {platform.machine()} {os.cpu_count()} cores  "
            f"python {platform.python_version()}"
        )
        print(f"corpus: {len(files)} x 24 MP JPEG q92 ({time.perf_counter() - t:.1f} s to write)")
        home = root / "home"
        eng = Engine.open(home, dataclasses.replace(Config.load(home), faces=False) if args.no_faces else None)
        print(f"faces: {'off' if args.no_faces else 'on'}")
        t = time.perf_counter()
        res = eng.run([str(root / "corpus")])
        cold = time.perf_counter() - t
        print(
            f"cold cull:      {len(files) / cold:7.2f} images/s  ({cold:.1f} s; {res.counts.keep} keep, "
            f"{res.counts.review} review, {res.counts.reject} reject, {res.counts.failed} failed)"
        )
        t = time.perf_counter()
        eng.run([str(root / "corpus")])
        warm = time.perf_counter() - t
        print(f"cached re-run:  {len(files) / warm:7.1f} images/s  ({warm:.2f} s; {warm and cold / warm:.0f}x faster)")

        # re-decide N stored photos: clone stored analyses under new paths (what a big library looks like)
        analyses = list(eng.store.analyses(eng.store.all_paths()).items())
        for i in range(args.stored):
            path, a = analyses[i % len(analyses)]
            exif = dataclasses.replace(a.exif, capture_ts=(a.exif.capture_ts or 0) + 10 * i or None)
            eng.store.put_analysis(
                f"/library/{i // 500:03d}/IMG_{i:05d}.jpg", 1, 1, "bench", dataclasses.replace(a, exif=exif)
            )
        t = time.perf_counter()
        redecided, changed = eng.set_policy({"sharpness_reject": 0.3})[1:]
        dt = time.perf_counter() - t
        print(
            f"policy change:  {redecided / dt:7.0f} photos/s re-decided ({redecided} in {dt:.2f} s, "
            f"{changed} changed, {eng.decodes} images read in all = only the cold cull)"
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory:    {peak:7.0f} MB (RSS, this process)")
        eng.close()


if __name__ == "__main__":
    main()
