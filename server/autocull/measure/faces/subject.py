"""Which faces are the main subject: the largest and most central, or a group of similar size."""

from __future__ import annotations

import math
from collections.abc import Sequence

from autocull.records import Box

# A face counts as part of the main subject when its weight (size, lowered
# towards the frame's edges) is at least this share of the top face's: two
# people at slightly different distances are both main, a passer-by is not.
GROUP_SHARE = 0.6
# Weight lost by a face at the frame's corner (linear in its distance from the centre).
EDGE_PENALTY = 0.4


def _weight(box: Box, size: float) -> float:
    cx, cy = box.x + box.w / 2, box.y + box.h / 2
    d = math.hypot(cx - 0.5, cy - 0.5) / math.hypot(0.5, 0.5)
    return size * (1.0 - EDGE_PENALTY * min(d, 1.0))


def main_faces(boxes: Sequence[Box], sizes: Sequence[float]) -> list[bool]:
    """Per face: part of the main subject? Empty in, empty out."""
    if not boxes:
        return []
    weights = [_weight(b, s) for b, s in zip(boxes, sizes)]
    top = max(weights)
    return [w >= GROUP_SHARE * top for w in weights]
