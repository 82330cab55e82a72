"""Watching: how long from a file's last write to its decision in the change feed, and what an idle watcher
costs on a big tree, file-system events against polling.

1. Latency, on the real daemon (``autocull serve``, default config but for ``watch_settle``): a 24 MP JPEG is
   written into a watched folder, then GetChanges (with a client id) is asked every 50 ms until the decision is
   there. The time runs from the close of the file to the answer holding it: settle period + analysis + decide
   + one poll. Printed per photo, with the settle period, so the part that is waiting shows.
2. Idle CPU: a tree of 50,000 files (500 folders of 100; sidecar-sized, not photos, so nothing is analysed)
   watched in-process by the Watcher, once with events, once with the polling observer at the default interval;
   after a warm-up, user+system CPU of the process over ``--seconds`` (resource.getrusage).

Run: PYTHONPATH=server .venv/bin/python bench/bench_watch.py [--photos 5] [--files 50000] [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
os.environ.setdefault("AUTOCULL_CLIP", "off")  # the taste worker's CLIP model is not what is measured here


def jpeg_24mp(seed: int) -> bytes:
    import io

    import numpy as np
    from PIL import Image
    from skimage import data

    sources = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket()]
    img = Image.fromarray(sources[seed % len(sources)]).resize((6000, 4000), Image.BICUBIC)
    arr = np.asarray(img).copy()
    arr[:8, :8] = seed % 256  # each photo its own file
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=92)
    return buf.getvalue()


def latency(n: int, settle: float) -> list[float]:
    from daemon import Daemon

    out: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        home, inbox = Path(tmp) / "home", Path(tmp) / "import"
        inbox.mkdir()
        d = Daemon(home, config=f"watch_settle = {settle}\n")
        try:
            d.post("AddWatchFolder", {"path": str(inbox)})
            d.post("GetChanges", {"clientId": "bench"})
            bodies = [jpeg_24mp(k) for k in range(n)]
            for k, body in enumerate(bodies):
                path = inbox / f"IMG_{k:04d}.jpg"
                with open(path, "wb") as fh:
                    fh.write(body)
                written = time.perf_counter()
                while True:
                    page = d.post("GetChanges", {"clientId": "bench"})
                    if any(x["path"] == str(path) for x in page.get("decisions", [])):
                        out.append(time.perf_counter() - written)
                        break
                    time.sleep(0.05)
                print(f"  photo {k + 1}: {out[-1]:.2f} s from last write to decision", flush=True)
        finally:
            d.stop()
    return out


def make_tree(root: Path, files: int, per_folder: int = 100) -> None:
    for k in range(files):
        folder = root / f"day{k // per_folder:04d}"
        if k % per_folder == 0:
            folder.mkdir(parents=True)
        (folder / f"IMG_{k:05d}.xmp").write_bytes(b"<x:xmpmeta/>")


def idle_cpu(tree: Path, mode: str, seconds: float, warmup: float) -> tuple[float, float]:
    """(CPU seconds per wall second while idle, seconds until the folder was watched)."""
    from autocull.config import Config
    from autocull.engine import Engine
    from autocull.watcher import Watcher

    with tempfile.TemporaryDirectory() as home:
        engine = Engine.open(Path(home), Config(faces=False))
        watcher = Watcher(engine, Config().watch_interval)
        try:
            t0 = time.perf_counter()
            if mode != "none":
                engine.store.add_watch(str(tree), mode)
            watcher.start()
            while mode != "none" and not watcher.is_watching(str(tree)):
                time.sleep(0.05)
            started = time.perf_counter() - t0
            time.sleep(warmup)  # the polling observer's first snapshot, inotify's watches on 500 folders
            r0, w0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            time.sleep(seconds)
            r1, w1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        finally:
            watcher.stop()
            engine.close()
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return cpu / (w1 - w0), started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--photos", type=int, default=5)
    ap.add_argument("--settle", type=float, default=2.0, help="watch_settle for the latency run (default config)")
    ap.add_argument("--files", type=int, default=50_000)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=8.0)
    args = ap.parse_args()
    print(
        f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M')}"
    )

    print(f"\n1. last write -> decision in GetChanges, 24 MP JPEG, faces on, watch_settle = {args.settle} s")
    lat = latency(args.photos, args.settle)
    print(
        f"   median {statistics.median(lat):.2f} s, min {min(lat):.2f} s, max {max(lat):.2f} s "
        f"(of which {args.settle:.1f} s is the settle period)"
    )

    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "tree"
        t = time.perf_counter()
        make_tree(tree, args.files)
        print(
            f"\n2. idle watcher on {args.files:,} files in {args.files // 100} folders "
            f"(made in {time.perf_counter() - t:.1f} s); CPU over {args.seconds:.0f} s after {args.warmup:.0f} s"
        )
        from autocull.config import Config

        for mode in ("none", "events", "polling"):  # none: the same process, nothing watched (the floor)
            share, started = idle_cpu(tree, mode, args.seconds, args.warmup)
            extra = f", polled every {Config().watch_interval:.0f} s" if mode == "polling" else ""
            print(f"   {mode:<8} {share * 100:6.2f} % of one core{extra} (watched after {started:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
