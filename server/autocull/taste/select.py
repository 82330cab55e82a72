"""Search and selection over embeddings: rank by a text vector, the N best, the N best spread over scenes.

Pure numpy/scipy (scipy imported inside the function that clusters); no I/O.

Scenes for ``diverse_order`` come from **average-linkage** agglomerative clustering cut at a cosine
line (``min_cosine``): a scene is a set of frames whose *average* similarity to each other is at least
that. Average linkage, not single linkage (connected components), because a shoot drifts frame by
frame and single linkage would chain a whole ceremony into one scene; not k-means, because k-means
needs a number of scenes that nobody knows (choosing it by silhouette costs the same pairwise
distances plus a fit per candidate k), while a cosine line means the same thing in a shoot of 50
frames and one of 10,000. It is deterministic (no random start).

Exact average linkage needs every pairwise distance (n^2), so it runs on the best ``_CHUNK`` photos
by merit at a time: the first chunk is clustered exactly; every later photo joins the scene it is on
average most similar to when that average is at least ``min_cosine`` (for unit vectors the average
cosine to a scene is the dot product with the scene's mean vector, so that test is exact and cheap),
and those that join none are clustered among themselves, chunk by chunk. Lower-merit photos can
only add scenes *after* the better ones or extend a scene's tail, which is all a best-first order
can see of them. Memory stays at about a chunk squared whatever n is (bench/bench_taste.py: 10,000
unrelated photos, the worst case: about 2 s and under 200 MB).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

__all__ = ["SCENE_COSINE", "best_order", "diverse_order", "rank_by_text", "scenes"]

# Average cosine of frames of one scene. CLIP ViT-B image embeddings of re-framed frames of one
# moment sit around 0.9 (the burst line, ``burst_clip_cosine``, is 0.92); different subjects of one
# event fall well below 0.8. A scene is looser than a burst: 0.8.
SCENE_COSINE = 0.80
_CHUNK = 2000  # photos clustered exactly at once: 2000^2 distances (float32 gram + float64 condensed)
_BLOCK = 1024  # rows compared against the scene means at once


def _unit_rows(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise ValueError(f"expected a 2-d array of embeddings (rows), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("embeddings hold NaN or infinite values")
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)


def rank_by_text(text: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Cosine similarity of each row of ``X`` to the text vector (-1..1; a zero row scores 0).

    Sort descending for search results: ``np.argsort(-rank_by_text(t, X), kind="stable")``.
    """
    t = np.asarray(text, dtype=np.float32).reshape(-1)
    U = _unit_rows(X)
    if U.shape[1] != t.size:
        raise ValueError(f"text vector has {t.size} numbers, embeddings have {U.shape[1]}")
    norm = float(np.linalg.norm(t))
    if not np.isfinite(norm) or norm == 0:
        raise ValueError("text vector is zero or not finite")
    return np.asarray(U @ (t / norm), dtype=np.float64)


def _merit(merit: np.ndarray, n_rows: int) -> np.ndarray:
    m = np.asarray(merit, dtype=np.float64).reshape(-1)
    if m.size != n_rows:
        raise ValueError(f"merit has {m.size} values for {n_rows} photos")
    return np.where(np.isnan(m), -np.inf, m)  # unknown merit sorts last


def best_order(merit: np.ndarray, n: int) -> list[int]:
    """Indices of the ``n`` highest merits, best first; ties keep input order; NaN merit sorts last."""
    m = _merit(merit, np.size(merit))
    return [int(i) for i in np.argsort(-m, kind="stable")[: max(0, n)]]


def scenes(X: np.ndarray, merit: np.ndarray, *, min_cosine: float = SCENE_COSINE) -> np.ndarray:
    """Scene number per row (0, 1, ... in order of each scene's best photo): see the module docstring."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    U = _unit_rows(X)
    m = _merit(merit, U.shape[0])
    n = U.shape[0]
    scene = np.full(n, -1, dtype=np.int64)
    sums = np.zeros(U.shape, dtype=np.float32)  # per scene (at most one per photo): sum of member vectors
    counts = np.zeros(n, dtype=np.int64)
    made = 0  # scenes so far
    pending = np.argsort(-m, kind="stable")  # best first
    while pending.size:
        if made:  # join an existing scene when the average cosine to it clears the line
            means = (sums[:made] / counts[:made, None].astype(np.float32)).T  # float32: float64 would double sims
            for start in range(0, pending.size, _BLOCK):
                rows = pending[start : start + _BLOCK]
                sims = U[rows] @ means
                best = np.argmax(sims, axis=1)
                ok = sims[np.arange(rows.size), best] >= min_cosine
                scene[rows[ok]] = best[ok]
            joined = pending[scene[pending] >= 0]
            np.add.at(sums, scene[joined], U[joined])
            np.add.at(counts, scene[joined], 1)
            pending = pending[scene[pending] < 0]
        chunk, pending = pending[:_CHUNK], pending[_CHUNK:]
        if chunk.size == 0:
            break
        if chunk.size == 1:
            local = np.zeros(1, dtype=np.int64)
        else:
            dist = U[chunk] @ U[chunk].T
            np.subtract(1.0, dist, out=dist)  # cosine distance, in place
            np.fill_diagonal(dist, 0.0)
            condensed = squareform(dist, checks=False).astype(np.float64)
            del dist
            np.clip(condensed, 0.0, 2.0, out=condensed)
            tree = linkage(condensed, method="average")
            local = fcluster(tree, t=1.0 - min_cosine, criterion="distance") - 1
        k = int(local.max()) + 1
        scene[chunk] = made + local
        np.add.at(sums, made + local, U[chunk])
        np.add.at(counts, made + local, 1)
        made += k
    # renumber by each scene's best photo (merit order, then row order)
    order = np.argsort(-m, kind="stable")
    first_seen: dict[int, int] = {}
    for i in order:
        first_seen.setdefault(int(scene[i]), len(first_seen))
    return np.array([first_seen[int(s)] for s in scene], dtype=np.int64)


def diverse_order(
    X: np.ndarray,
    merit: np.ndarray,
    n: int,
    *,
    seed: int = 0,
    min_cosine: float = SCENE_COSINE,
    scene: Optional[np.ndarray] = None,
) -> list[int]:
    """``n`` indices, spread over scenes: the best of each scene first (scenes by their best's merit),
    then the second best of each scene, and so on. NaN merit sorts last.

    ``seed`` is accepted for the interface and unused: average-linkage clustering has no random start.
    """
    del seed
    U = _unit_rows(X)
    m = _merit(merit, U.shape[0])
    if n <= 0 or m.size == 0:
        return []
    if scene is None:  # a caller that also shows the scenes passes those it computed
        scene = scenes(U, m, min_cosine=min_cosine)
    order = np.argsort(-m, kind="stable")
    rank = np.empty(m.size, dtype=np.int64)  # position of each photo within its scene, best = 0
    seen = np.zeros(int(scene.max()) + 1, dtype=np.int64)
    for i in order:
        rank[i] = seen[scene[i]]
        seen[scene[i]] += 1
    pos = np.empty(m.size, dtype=np.int64)
    pos[order] = np.arange(m.size)
    chosen = np.lexsort((pos, rank))  # by round, then by merit order within the round
    return [int(i) for i in chosen[:n]]
