"""CLIP image embeddings per second on the CPU, peak RSS and import/load time, per candidate model.

Usage: .venv/bin/python bench/bench_clip.py [images] [model ...]
Each model runs in its own interpreter (a fresh peak RSS, a fresh import) through the real encoder
(taste/clip.py: the model's own preprocessing from a 1280 px photo, batches, torch.inference_mode) with
random weights (``pretrained=""``: open_clip's pretrained=None; they cost the same time as real ones),
2 torch threads, batches of 16. ``encode_images`` is one caller with a list; ``embed x4`` is four
threads calling ``embed`` one photo at a time, coalesced into shared batches (the daemon's path).
The corpus is scikit-image's sample photos at a 1280 px long edge, repeated.

Two runs on this shared 2-cpu VM (torch 2.14.1+cu130, open_clip 3.3.0; noisy: compare by ratio), img/s
with encode_images / embed x4, peak RSS: ViT-B-32 13.6 and 6.8 / 9.0 and 8.6, 1.8 GB; MobileCLIP2-S0
12.1-12.7 / 9.1, 1.7 GB; MobileCLIP-S1 6.9-7.2 / 5.1-5.3, 1.7 GB; ViT-B-16 6.0-6.1 / 3.8-6.2, 1.8 GB.
Importing torch (a CUDA build) is 3.1-3.6 s and ~930 MB resident before any model; the model adds
~390 MB (MobileCLIP2-S0) to ~670 MB (ViT-B-32). autocull.taste.clip alone imports in ~0.1 s.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

SERVER = Path(__file__).resolve().parents[1] / "server"
CANDIDATES = ["ViT-B-32", "MobileCLIP2-S0", "MobileCLIP-S1", "ViT-B-16"]
CORPUS = ["astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field", "camera", "retina"]
THREADS = 2
BATCH = 16


def corpus(n: int) -> list:
    import numpy as np
    import skimage.data as d
    from PIL import Image

    out = []
    for name in CORPUS:
        a = getattr(d, name)()
        if a.ndim == 2:
            a = np.repeat(a[:, :, None], 3, axis=2)
        h, w = a.shape[:2]
        s = 1280 / max(h, w)
        out.append(np.asarray(Image.fromarray(a[:, :, :3]).resize((round(w * s), round(h * s)), Image.LANCZOS)))
    return [out[i % len(out)] for i in range(n)]


def current_rss_mb() -> int:
    """Resident set now (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/status") as fh:
            return next(int(line.split()[1]) // 1024 for line in fh if line.startswith("VmRSS"))
    except (OSError, StopIteration):
        return 0


def one(model: str, n: int) -> dict[str, float | str | int]:
    """Measure one model in this interpreter; returns the numbers as a dict."""
    import threading

    t0 = time.perf_counter()
    from autocull.taste.clip import ClipEncoder, ClipSettings

    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    import open_clip  # noqa: F401 - timed: what the first encode call pays once
    import torch  # noqa: F401

    t_import = time.perf_counter() - t0
    rss_import = current_rss_mb()
    images = corpus(n)
    encoder = ClipEncoder(ClipSettings(model=model, pretrained="", threads=THREADS, batch_size=BATCH))
    t0 = time.perf_counter()
    encoder.encode_texts(["warm up"])
    t_load = time.perf_counter() - t0
    rss_loaded = current_rss_mb()
    encoder.encode_images(images[:BATCH])  # warm-up
    t0 = time.perf_counter()
    vectors = encoder.encode_images(images)
    t_batch = time.perf_counter() - t0

    def worker(k: int) -> None:
        for image in images[k::4]:
            encoder.embed(image)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_embed = time.perf_counter() - t0
    t0 = time.perf_counter()
    encoder.encode_texts([f"a photo of {label}" for label in ClipSettings().vocabulary])
    t_texts = time.perf_counter() - t0
    return {
        "model": model,
        "dim": int(vectors.shape[1]),
        "import_ours_ms": round(t_ours * 1000, 1),
        "import_torch_open_clip_s": round(t_import, 2),
        "load_s": round(t_load, 2),
        "encode_images_per_s": round(n / t_batch, 2),
        "embed_x4_per_s": round(n / t_embed, 2),
        "embed_batches": encoder.embed_batches,
        "vocabulary_texts_ms": round(t_texts * 1000),
        "rss_after_import_mb": rss_import,
        "rss_after_load_mb": rss_loaded,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], int(sys.argv[3]))))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    models = sys.argv[2:] or CANDIDATES
    import torch

    print(f"# bench_clip {time.strftime('%Y-%m-%dT%H:%M:%S')}")
    print(
        f"# machine: {platform.machine()} {os.cpu_count()} cpus, python {platform.python_version()}, "
        f"torch {torch.__version__}; {THREADS} torch threads, batch {BATCH}, {n} photos at 1280 px, random weights"
    )
    print(
        f"{'model':16s} {'dim':>4s} {'img/s':>6s} {'embed x4':>8s} {'batches':>7s} {'texts':>7s} "
        f"{'load':>6s} {'import':>7s} {'RSS: torch':>10s} {'+model':>7s} {'peak':>8s}"
    )
    env = {**os.environ, "PYTHONPATH": str(SERVER)}
    for model in models:
        done = subprocess.run(
            [sys.executable, __file__, "--one", model, str(n)], env=env, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            print(f"{model:16s} failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{r['model']:16s} {r['dim']:4d} {r['encode_images_per_s']:6.1f} {r['embed_x4_per_s']:8.1f} "
            f"{r['embed_batches']:7d} {r['vocabulary_texts_ms']:5d}ms {r['load_s']:5.1f}s "
            f"{r['import_torch_open_clip_s']:6.1f}s {r['rss_after_import_mb']:7d} MB {r['rss_after_load_mb']:4d} MB "
            f"{r['peak_rss_mb']:5d} MB"
        )
    print("# import of autocull.taste.clip alone (no torch):", end=" ")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import autocull.taste.clip"],
        env=env,
        capture_output=True,
        text=True,
    )
    last = [line for line in done.stderr.splitlines() if line.rstrip().endswith("autocull.taste.clip")]
    print(f"{int(last[-1].split('|')[1]) / 1000:.1f} ms cumulative" if last else "?")


if __name__ == "__main__":
    main()
