"""Decide: metrics + policy -> new, immutable decisions with their causes. Pure: no I/O.

``decide`` judges one photo on its own; ``decide_all`` a set, with bursts and
brackets (grouped by ``bursts.group``) deciding together. Only the apply stage
stores what comes out.
"""

from .groups import decide_all, verdict_rows
from .photo import (
    Judgement,
    Place,
    Verdict,
    counted_faces,
    decide,
    judge,
    judge_verdict,
    quality_score,
    render,
    stars_for,
)

__all__ = [
    "Judgement",
    "Place",
    "Verdict",
    "counted_faces",
    "decide",
    "decide_all",
    "judge",
    "judge_verdict",
    "quality_score",
    "render",
    "stars_for",
    "verdict_rows",
]
