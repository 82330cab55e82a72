"""Learned taste (issue 13): training time for 1,000 and 10,000 labels, scoring and diverse selection
of 10,000 photos.

Corpus: random-but-structured 512-d unit embeddings shaped like a CLIP library: scenes (a random
direction each) of 1..12 frames around it (frames of one scene ~0.97 alike: near-duplicates, as a
burst), and a photographer whose taste is a hidden direction: keep when the frame's projection on
it plus noise is high, reject when low, a neutral band between; stars from the same score.
Training is ``train`` as the daemon runs it (nested, grouped cross-validation included).
Peak memory is the largest extra allocation tracemalloc sees during the call (numpy reports to it).
Run: ``PYTHONPATH=server .venv/bin/python bench/bench_taste.py``.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from autocull.taste.learn import Rating, TasteModel, score, train  # noqa: E402
from autocull.taste.select import diverse_order, scenes  # noqa: E402

DIM = 512


def library(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` unit embeddings in scenes, their scene ids and the hidden taste score of each."""
    rng = np.random.default_rng(seed)
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(int(rng.integers(1, 13)))
    sizes[-1] -= sum(sizes) - n
    centres = rng.normal(size=(len(sizes), DIM))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    scene = np.repeat(np.arange(len(sizes)), sizes)
    X = centres[scene] + 0.008 * rng.normal(size=(n, DIM))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    taste = rng.normal(size=DIM)
    taste /= np.linalg.norm(taste)
    hidden = X @ taste * np.sqrt(DIM) + 0.5 * rng.normal(size=n)
    return X.astype(np.float32), scene, hidden


def ratings_of(hidden: np.ndarray) -> list[Rating]:
    """Reject the lowest 30 %, 1-2 stars (neutral for keep) the next 30 %, 3-5 stars the rest."""
    q = np.quantile(hidden, [0.3, 0.45, 0.6, 0.75, 0.9])
    out = []
    for i, h in enumerate(hidden):
        band = int(np.searchsorted(q, h))
        out.append(Rating(f"IMG_{i:05d}.CR3", -1 if band == 0 else band, ""))
    return out


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Result, seconds, peak extra MB allocated during the call."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return out, seconds, peak / 2**20


def stored_score(model: TasteModel, X: np.ndarray) -> None:
    """The daemon's path: 10,000 vectors read back from a real SQLite store, then scored (``Taste.preferences``)."""
    import tempfile

    from autocull.store import Store
    from autocull.taste.clip import ClipSettings
    from autocull.taste.service import Taste

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "autocull.db")
        paths = [f"/photos/{k:05d}.jpg" for k in range(len(X))]
        store.put_embeddings("bench", [(p, 1, 1, v) for p, v in zip(paths, X.astype(np.float32))])
        store.set_settings({"clip_serving_model": "bench"})
        store.put_taste_model("default", "bench", model.to_json(), model.trained_at)
        os.environ["AUTOCULL_CLIP"] = "on"
        taste = Taste(store, ClipSettings(), lambda paths: None)
        taste.serving = lambda: "bench"  # type: ignore[method-assign]  # no weights here: the id the store holds
        start = time.perf_counter()
        prefs = taste.preferences(taste.store.embeddings(paths, "bench"), "default", 0.65)
        seconds = time.perf_counter() - start
        store.close()
    print(f"score  10000 stored photos (SQLite read + score): {seconds:5.2f} s for {len(prefs)} preferences")


def main() -> None:
    import sklearn

    print(f"bench_taste  {dt.datetime.now().isoformat(timespec='seconds')}")
    print(
        f"machine: {platform.node()} {platform.machine()} {platform.processor() or ''} "
        f"{os.cpu_count()} cpu, Python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}"
    )
    print(f"corpus: synthetic {DIM}-d unit embeddings in scenes of 1..12 frames, taste = a hidden direction")
    Xw, _, hw = library(60, seed=9)
    train("warm-up", "bench", Xw, ratings_of(hw))  # imports scikit-learn and scipy once, outside the timings
    for n in (1_000, 10_000):
        X, _, hidden = library(n, seed=1)
        ratings = ratings_of(hidden)
        model, seconds, peak = timed(lambda X=X, ratings=ratings: train("default", "bench", X, ratings, seed=0))
        assert isinstance(model, TasteModel), model
        print(
            f"train {n:>6} labels: {seconds:6.1f} s, peak +{peak:5.0f} MB  -> {model.summary()}; "
            f"{model.scenes} near-duplicate groups, C={model.keep.regularisation if model.keep else None:g}, "
            f"alpha={model.stars.regularisation if model.stars else None:g}"
        )
    X, scene, hidden = library(10_000, seed=2)
    _, seconds, peak = timed(lambda: score(model, X))
    print(f"score  10000 photos: {seconds * 1000:6.1f} ms, peak +{peak:5.0f} MB")
    stored_score(model, X)
    merit = np.random.default_rng(3).random(len(X))
    picks, seconds, peak = timed(lambda: diverse_order(X, merit, 50))
    print(
        f"diverse_order 10000 photos ({scene.max() + 1} true scenes), top 50: {seconds:5.2f} s, peak +{peak:4.0f} MB; "
        f"{len(set(scene[picks]))} distinct scenes among the 50"
    )
    found = scenes(X, merit)
    agree = len(set(zip(found.tolist(), scene.tolist())))
    print(f"  scenes found {found.max() + 1}, (found, true) pairs {agree} (equal counts = same partition)")
    rng = np.random.default_rng(4)
    U = rng.normal(size=(10_000, DIM)).astype(np.float32)  # no structure: every photo its own scene
    _, seconds, peak = timed(lambda: diverse_order(U, merit, 50))
    print(f"diverse_order 10000 unrelated photos (worst case): {seconds:5.2f} s, peak +{peak:4.0f} MB")


if __name__ == "__main__":
    main()
