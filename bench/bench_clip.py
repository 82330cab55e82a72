"""CLIP image embeddings per second on the CPU, peak RSS and import/load time, per candidate model.

Usage: .venv/bin/python bench/bench_clip.py [images] [model ...]
Each model runs in its own interpreter (a fresh peak RSS, a fresh import) through the real encoder
(taste/clip.py: the model's own preprocessing from a 1280 px photo, batches, torch.inference_mode) with
seeded random weights saved to a file in the temp dir and loaded as a user's are (``pretrained=<file>``,
mapped, not copied; they cost the same time as real ones),
2 torch threads, batches of 16. ``encode_images`` is one caller with a list; ``embed x4`` is four
threads calling ``embed`` one photo at a time, coalesced into shared batches (the daemon's path);
``tower16/32`` is the image tower alone on preprocessed tensors, one pass of 16/32 (best of 3): the bound
CLIP puts on the full pass.
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
import tempfile
import time
from pathlib import Path
from typing import Any

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


def write_weights(model: str, path: str) -> None:
    """Seeded random weights of ``model`` as a state dict file: loaded as users' files are (``pretrained=<file>``)."""
    import open_clip
    import torch

    torch.manual_seed(16)
    torch.save(open_clip.create_model(model, pretrained=None).state_dict(), path)


def weights_file(model: str, env: dict[str, str]) -> Path:
    """The random weights of ``model`` in the temp dir, written once (in a child: its memory is not measured)."""
    path = Path(tempfile.gettempdir()) / f"autocull-bench-{model}-random.pt"
    if not path.exists():
        code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import bench_clip; "
        code += f"bench_clip.write_weights({model!r}, {str(path)!r})"
        subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, timeout=600)
    return path


def one(model: str, n: int, weights: str = "") -> dict[str, float | str | int]:
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
    encoder = ClipEncoder(ClipSettings(model=model, pretrained=weights, threads=THREADS, batch_size=BATCH))
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
    towers = {size: tower_rate(encoder, images, size) for size in (16, 32)}
    return {
        "model": model,
        "dim": int(vectors.shape[1]),
        "import_ours_ms": round(t_ours * 1000, 1),
        "import_torch_open_clip_s": round(t_import, 2),
        "load_s": round(t_load, 2),
        "encode_images_per_s": round(n / t_batch, 2),
        "embed_x4_per_s": round(n / t_embed, 2),
        "embed_batches": encoder.embed_batches,
        "tower_b16_per_s": towers[16],
        "tower_b32_per_s": towers[32],
        "vocabulary_texts_ms": round(t_texts * 1000),
        "rss_after_import_mb": rss_import,
        "rss_after_load_mb": rss_loaded,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def tower_rate(encoder: Any, images: list, size: int) -> float:
    """Images/s of the image tower alone (preprocessed tensors, one forward pass of ``size``), best of 3: the
    bound CLIP puts on a full pass, whatever decoding and preprocessing cost."""
    import torch
    from PIL import Image

    loaded = encoder._ensure_loaded()
    batch = torch.stack([loaded.preprocess(Image.fromarray(images[k % len(images)])) for k in range(size)])
    best = float("inf")
    with torch.inference_mode():
        for _ in range(3):
            t0 = time.perf_counter()
            loaded.model.encode_image(batch)
            best = min(best, time.perf_counter() - t0)
    return round(size / best, 2)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "")))
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
        f"{'model':16s} {'dim':>4s} {'img/s':>6s} {'embed x4':>8s} {'tower16':>7s} {'tower32':>7s} "
        f"{'batches':>7s} {'texts':>7s} "
        f"{'load':>6s} {'import':>7s} {'RSS: torch':>10s} {'+model':>7s} {'peak':>8s}"
    )
    env = {**os.environ, "PYTHONPATH": str(SERVER)}
    for model in models:
        weights = str(weights_file(model, env))
        done = subprocess.run(
            [sys.executable, __file__, "--one", model, str(n), weights],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            print(f"{model:16s} failed: {done.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{r['model']:16s} {r['dim']:4d} {r['encode_images_per_s']:6.1f} {r['embed_x4_per_s']:8.1f} "
            f"{r['tower_b16_per_s']:7.1f} {r['tower_b32_per_s']:7.1f} "
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
