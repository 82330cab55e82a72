"""How the verdicts read real camera photos: confusion tables, leave-one-scene-out, beside a plain baseline.

Usage: .venv/bin/python bench/eval_sharpness.py [--testdata ../shared/testdata] [--no-loso]

Culls every photo of ``testdata/camera/`` (labels.json: blurred / sharp /
bokeh) with the real engine (decode, faces, measure, bursts, decide) and the
default policy, on a throw-away store, and prints a confusion table of
verdicts (keep / review / reject) by label. Then:

* leave-one-scene-out: the photos of one scene (a Kwentar triplet shares a
  scene across its sharp, shaken and defocused frames; the two GoPro
  Istanbul frames share one) are held out; on the others the measure's one
  free choice that matters most, the share of the main edges' contrast the
  spread is read at (``edges._QUANTILE``), and the sharpness reject line are
  picked from a small grid by the most correct verdicts; the held-out scene is
  then culled with that pick. The table of held-out verdicts is what a new
  photographer's shoot can expect.
* the same for a plain whole-frame Laplacian variance + Tenengrad with two
  thresholds fitted on the other scenes (what simpler culling tools do),
  computed at the same analysis size.

Prints tables; asserts nothing. Photos are read in place and never copied.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import math
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

import autocull.measure  # noqa: F401 - loads the measure modules patched below
from autocull.config import Config
from autocull.decode import decode
from autocull.engine import Engine
from autocull.policy import Policy

EDGES = sys.modules.get("autocull.measure.edges")  # None on analyzers before version 3
LABELS = ("blurred", "sharp", "bokeh")
VERDICTS = ("keep", "review", "reject")
QUANTILES = (0.1, 0.15, 0.25)
REJECT_LINES = (0.2, 0.25, 0.3)


def scenes(labels: dict[str, dict[str, str]]) -> dict[str, str]:
    """Photo -> scene: frames of one Kwentar triplet or one GoPro sequence share a scene."""
    out = {}
    for name, info in labels.items():
        src = info["source"]
        if "Kwentar" in info["licence"] or "blur_dataset" in src:
            stem = src.rsplit("/", 1)[-1]
            out[name] = "kwentar-" + stem.split("_")[0]
        elif "Istanbul" in src:
            out[name] = "gopro-istanbul1"
        else:
            out[name] = name
    return out


@contextlib.contextmanager
def quantile(q: float) -> Iterator[None]:
    old = EDGES._QUANTILE
    EDGES._QUANTILE = q
    try:
        yield
    finally:
        EDGES._QUANTILE = old


def cull(paths: list[str]) -> dict[str, object]:
    """Decisions of a fresh engine on a temporary store, by file name."""
    with tempfile.TemporaryDirectory() as home:
        engine = Engine.open(Path(home), Config(faces=True))
        try:
            result = engine.run(paths)
            analyses = engine.store.analyses(paths)
        finally:
            engine.close()
    return {Path(d.path).name: (d, analyses.get(d.path)) for d in result.decisions}


def table(rows: list[tuple[str, str]], title: str) -> None:
    c = collections.Counter(rows)
    print(f"\n{title}")
    print(f"{'':10}" + "".join(f"{v:>8}" for v in VERDICTS))
    for lab in LABELS:
        print(f"{lab:10}" + "".join(f"{c[(lab, v)]:>8}" for v in VERDICTS))


def correct(label: str, verdict: str) -> int:
    return int(verdict == "reject") if label == "blurred" else int(verdict != "reject")


def with_line(analysis, line: float) -> str:
    from autocull.decide import decide

    policy = Policy().with_values({"sharpness_reject": line, "face_sharpness_reject": line + 0.05})
    return decide(analysis, policy).verdict


def baseline_features(path: str) -> tuple[float, float]:
    """log10 Laplacian variance and log10 Tenengrad of the whole frame at analysis size."""
    rgb = decode(path).rgb
    g = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0
    lap = cv2.Laplacian(g, cv2.CV_32F, ksize=1)
    sx, sy = cv2.Sobel(g, cv2.CV_32F, 1, 0), cv2.Sobel(g, cv2.CV_32F, 0, 1)
    return math.log10(float(lap.var()) + 1e-12), math.log10(float(np.mean(sx * sx + sy * sy)) + 1e-12)


def baseline_verdict(f: tuple[float, float], a: float, b: float, band: float = 0.25) -> str:
    if f[0] < a and f[1] < b:
        return "reject"
    return "review" if f[0] < a + band or f[1] < b + band else "keep"


def fit_baseline(train: list[tuple[tuple[float, float], str]]) -> tuple[float, float]:
    la = sorted({f[0] for f, _ in train})
    lb = sorted({f[1] for f, _ in train})
    best, pick = -1.0, (la[0], lb[0])
    for a in la:
        for b in lb:
            score = sum(correct(lab, baseline_verdict(f, a + 1e-9, b + 1e-9)) for f, lab in train)
            reviews = sum(baseline_verdict(f, a + 1e-9, b + 1e-9) == "review" for f, lab in train if lab != "blurred")
            if score - 0.01 * reviews > best:
                best, pick = score - 0.01 * reviews, (a + 1e-9, b + 1e-9)
    return pick


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdata", default=str(Path(__file__).resolve().parents[2] / "shared" / "testdata"))
    ap.add_argument("--no-loso", action="store_true")
    args = ap.parse_args()
    camera = Path(args.testdata) / "camera"
    labels = json.loads((camera / "labels.json").read_text())
    scene = scenes(labels)
    paths = {n: str(camera / info["label"] / n) for n, info in labels.items()}
    print(
        f"{len(labels)} photos in {len(set(scene.values()))} scenes: "
        + ", ".join(f"{lab} {sum(i['label'] == lab for i in labels.values())}" for lab in LABELS)
    )

    base = cull(list(paths.values()))
    table([(labels[n]["label"], d.verdict) for n, (d, _) in base.items()], "AutoCull, default policy (all photos)")
    for n in sorted(base, key=lambda n: (labels[n]["label"], n)):
        d, a = base[n]
        print(f"  {labels[n]['label']:8} {n:12} {d.verdict:7} {d.reasons[0][:100]}")

    feats = {n: baseline_features(p) for n, p in paths.items()}
    if args.no_loso:
        return

    # Leave one scene out: pick (quantile, reject line) on the other scenes, cull the held-out one with it.
    analysed = {}
    for q in QUANTILES:
        with quantile(q):
            analysed[q] = cull(list(paths.values()))
    held: list[tuple[str, str]] = []
    held_base: list[tuple[str, str]] = []
    picks = collections.Counter()
    for s in sorted(set(scene.values())):
        train = [n for n in labels if scene[n] != s]
        test = [n for n in labels if scene[n] == s]
        best, pick = -1, (QUANTILES[0], REJECT_LINES[0])
        for q in QUANTILES:
            for line in REJECT_LINES:
                score = sum(correct(labels[n]["label"], with_line(analysed[q][n][1], line)) for n in train)
                if score > best:
                    best, pick = score, (q, line)
        picks[pick] += 1
        for n in test:
            held.append((labels[n]["label"], with_line(analysed[pick[0]][n][1], pick[1])))
        a, b = fit_baseline([(feats[n], labels[n]["label"]) for n in train])
        held_base += [(labels[n]["label"], baseline_verdict(feats[n], a, b)) for n in test]
    table(held, "AutoCull, leave-one-scene-out (quantile and reject line picked on the other scenes)")
    print("  picks (quantile, reject line): " + ", ".join(f"{k}: {v}" for k, v in picks.most_common()))
    table(held_base, "Plain whole-frame Laplacian variance + Tenengrad, thresholds fitted leave-one-scene-out")


if __name__ == "__main__":
    main()
