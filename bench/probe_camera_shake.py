"""Probe: how the sharpness score reads curved camera shake (not a benchmark of speed).

Straight streaks are found from their cepstrum (measure/motion.py), and Gaussian
defocus is read by the edge width. Hand-held shake is neither: the camera's path
curls and crosses itself, and where it lingers a faint sharp copy of the scene
("ghost") sits on top of the smear. Edge widths are contrast-free, so the ghost's
edges read sharp. This prints the score for random-walk shake paths of growing
extent on scikit-image's photos, so a change to the method can be judged on it.
Prints a table; asserts nothing.

    .venv/bin/python bench/probe_camera_shake.py
"""
from __future__ import annotations

import cv2
import numpy as np
from skimage import data

from autocull.measure.image import to_gray
from autocull.measure.sharpness import sharpness

PHOTOS = ["astronaut", "camera", "coffee", "chelsea", "moon", "page", "coins", "brick", "grass"]
EXTENTS = (3, 6, 12, 24)  # px of the path's bounding box at 512 px


def shake_kernel(extent: float, seed: int, size: int = 65) -> np.ndarray:
    """A camera path with momentum (400 unit steps), scaled to ``extent`` px, splatted bilinearly."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=2)
    p, pts = np.zeros(2), []
    for _ in range(400):
        v = 0.9 * v / max(np.linalg.norm(v), 1e-6) + 0.45 * rng.normal(size=2)
        p = p + v / max(np.linalg.norm(v), 1e-6)
        pts.append(p.copy())
    path = np.array(pts)
    path -= path.mean(axis=0)
    path *= extent / max(float(np.ptp(path, axis=0).max()), 1e-6)
    k = np.zeros((size, size), np.float32)
    c = size // 2
    for x, y in path:
        xi, yi = int(np.floor(x + c)), int(np.floor(y + c))
        fx, fy = x + c - xi, y + c - yi
        for dx, dy, w in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
            k[yi + dy, xi + dx] += w
    return k / k.sum()


def main() -> None:
    print(f"{'photo':<12} {'sharp':>6} " + " ".join(f"{'shake ' + str(e):>9}" for e in EXTENTS)
          + "   (score 0..1; mean of 3 paths)")
    for name in PHOTOS:
        g = to_gray(getattr(data, name)())
        row = [sharpness(g).score]
        for e in EXTENTS:
            row.append(float(np.mean([sharpness(cv2.filter2D(g, -1, shake_kernel(e, s))).score for s in (1, 2, 3)])))
        print(f"{name:<12} " + " ".join(f"{v:>9.2f}" if i else f"{v:>6.2f}" for i, v in enumerate(row)))


if __name__ == "__main__":
    main()
