"""How the verdicts read real faces: confusion tables of the eye state and the verdict, for open and closed eyes.

Usage: .venv/bin/python bench/eval_faces.py [--testdata ../shared/testdata]

Culls ``testdata/faces/open`` (eyes open) and ``testdata/faces/closed`` (eyes
closed) with the real engine (decode, faces, measure, decide) and the default
policy on a throw-away store, then prints, per set, the main face's eye state
(open / closed / uncertain / no face) and the verdict (keep / review / reject)
with the reason kind that decided it. Nothing here is tuned: the eye lines are
fixed constants and policy defaults, so the tables are what another photographer's
faces can expect (these are tight face crops, not scene photos). Prints; asserts nothing.
"""

from __future__ import annotations

import argparse
import collections
import tempfile
from pathlib import Path

from autocull.config import Config
from autocull.engine import Engine


def eye_state(decision) -> str:
    if decision.error_code:
        return "failed"
    main = [f for f in decision.faces if f.main] or list(decision.faces[:1])
    return main[0].eye_state if main else "no face"


def cause(decision) -> str:
    """What decided a non-keep: the first sentence's subject, in a few words."""
    if decision.verdict == "keep" or not decision.reasons:
        return ""
    first = decision.reasons[0]
    for words in (
        "eyes closed",
        "closed eyes",
        "eyes uncertain",
        "out of focus",
        "blurred",
        "dark",
        "bright",
        "quality low",
        "noisy",
        "highlights",
        "shadows",
    ):
        if words in first:
            return words
    return first.split(":")[0][:30]


def table(title: str, counts: collections.Counter, rows: list[str], cols: list[str]) -> None:
    print(f"\n{title}")
    print(f"{'':12}" + "".join(f"{c:>10}" for c in cols) + f"{'total':>8}")
    for r in rows:
        print(f"{r:12}" + "".join(f"{counts[(r, c)]:>10}" for c in cols) + f"{sum(counts[(r, c)] for c in cols):>8}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--testdata", default=str(Path(__file__).resolve().parents[2] / "shared" / "testdata"))
    args = ap.parse_args()
    faces = Path(args.testdata) / "faces"
    eyes: collections.Counter = collections.Counter()
    verdicts: collections.Counter = collections.Counter()
    causes: dict[str, collections.Counter] = {}
    with tempfile.TemporaryDirectory() as home:
        engine = Engine.open(Path(home), Config(faces=True))
        try:
            for label in ("open", "closed"):
                result = engine.run([str(faces / label)])
                causes[label] = collections.Counter()
                for d in result.decisions:
                    eyes[(label, eye_state(d))] += 1
                    verdicts[(label, d.verdict or "failed")] += 1
                    if cause(d):
                        causes[label][(d.verdict, cause(d))] += 1
        finally:
            engine.close()
    table(
        "main face's eye state, by set", eyes, ["open", "closed"], ["open", "closed", "uncertain", "no face", "failed"]
    )
    table("verdict, by set", verdicts, ["open", "closed"], ["keep", "review", "reject", "failed"])
    for label, counter in causes.items():
        print(f"\nwhat decided the non-keeps of '{label}':")
        for (verdict, why), n in counter.most_common():
            print(f"  {verdict:7} {why:30} {n}")


if __name__ == "__main__":
    main()
