"""Learning the photographer's taste from their own ratings, and saying how well it learned.

Pure: arrays and ratings in, a model (or a reason there is none) out; no I/O, clock or logging.
scikit-learn and scipy are imported inside the functions that need them, so importing this
module stays cheap.

What is learned, and why

* **Keep vs reject (logistic regression)** is the main head. It is exactly what a cull decides,
  and picks/rejects are the signal photographers give most (a reject key, a pick flag, a 3-star
  pass). Its quality is a ROC AUC: "how often a keeper scores above a reject" is what a user of a
  ranking cares about, and it does not depend on the keep/reject ratio.
* **Stars (ridge regression)** orders photos among the keepers. It is trained only when at least
  ``min_labels`` photos carry stars with two or more distinct values (otherwise there is no
  order to learn); its quality is a Spearman rank correlation. ``score`` uses it only when there is
  no keep head.

Both heads are linear models on standardised embeddings (``StandardScaler``): CLIP features are
good linear-probe features, a linear head needs few labels, and its coefficients store as plain
numbers (``to_json``; no pickle). Regularisation (C, alpha) is chosen by an inner grouped
cross-validation (log loss for the logistic head, whose probability is the preference; squared
error for the ridge head); the quality we *report* comes from an outer cross-validation
around that whole procedure (nested), so the number never saw the fold it is measured on. Folds
are grouped by near-duplicates (embedding cosine >= 0.95, connected components): frames of one
burst on both sides of a fold would let the model "recognise" a frame instead of judging it, and
the reported AUC would flatter it. The metric is computed per outer fold and averaged (weighted by
fold size) over the folds where it is defined.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

__all__ = [
    "Linear",
    "NotTrained",
    "Rating",
    "TasteModel",
    "keep_target",
    "near_duplicates",
    "score",
    "star_target",
    "train",
]

MIN_MINORITY = 5  # fewest keeps (or rejects) the keep head learns from
NEAR_DUPLICATE_COSINE = 0.95  # frames this alike never sit on both sides of a fold
MAX_FOLDS = 5  # outer folds (fewer when there are fewer groups or minority labels)
INNER_FOLDS = 3  # folds that choose C / alpha inside each outer training set
C_GRID = tuple(float(c) for c in np.logspace(-5, 2, 8))  # weakest C first: ties pick stronger regularisation
ALPHA_GRID = tuple(float(a) for a in np.logspace(6, -1, 8))  # strongest alpha first, for the same reason
MAX_ITER = 2000
_BLOCK = 256  # rows compared at once when finding near-duplicates (bounds memory)
_FORMAT = 1  # version of the JSON body


# ----------------------------------------------------------------- ratings --
@dataclass(frozen=True)
class Rating:
    """One photographer label, as feedback rows and XMP carry it."""

    path: str
    rating: int  # -1 = rejected (darktable), 0..5 stars (0 = unrated)
    pick: str  # "picked" | "rejected" | "none" | ""
    label: str = ""  # colour label: kept, not a target (colours mean different things to different people)


def _rejected(r: Rating) -> bool:
    return r.pick == "rejected" or r.rating == -1


def keep_target(r: Rating) -> Optional[int]:
    """1 keep, 0 reject, None neutral.

    A reject flag or rating -1 is a reject (and wins over anything else); a pick flag or 3+ stars is
    a keep. 1-2 stars without a flag is neutral: darktable gives every imported JPEG 1 star, so a low
    rating there often means "never looked at", not "I don't want it"; and 2 stars is a "maybe" in
    most photographers' scales. Unrated (0) is neutral too.
    """
    if _rejected(r):
        return 0
    if r.pick == "picked" or 3 <= r.rating <= 5:
        return 1
    return None


def star_target(r: Rating) -> Optional[float]:
    """Stars 0..5 for the ranking head: a reject counts as 0, 1-5 stars as given, unrated (0) as None.

    1 star is kept here (unlike ``keep_target``): as an order it says "not promoted above the
    default", which is still below every photo the photographer did promote.
    """
    if _rejected(r):
        return 0.0
    if 1 <= r.rating <= 5:
        return float(r.rating)
    return None


# ------------------------------------------------------------------ models --
@dataclass(frozen=True)
class Linear:
    """One linear head on standardised features: ``((x - mean) / scale) . coef + intercept``."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    regularisation: float  # C of the logistic head, alpha of the ridge head (chosen by inner CV)

    def decision(self, X: np.ndarray) -> np.ndarray:
        """The linear score per row (a logit for the keep head, stars for the ridge head)."""
        z = (X - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.asarray(z @ np.asarray(self.coef) + self.intercept, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": list(self.mean),
            "scale": list(self.scale),
            "coef": list(self.coef),
            "intercept": self.intercept,
            "regularisation": self.regularisation,
        }

    @classmethod
    def from_dict(cls, d: Any) -> "Linear":
        if not isinstance(d, dict):
            raise ValueError("taste model JSON: a head must be an object")
        vectors = {}
        for key in ("mean", "scale", "coef"):
            v = d.get(key)
            if not isinstance(v, list) or not v:
                raise ValueError(f"taste model JSON: head field {key!r} must be a non-empty list of numbers")
            vectors[key] = tuple(_number(x, key) for x in v)
        if len({len(v) for v in vectors.values()}) != 1:
            raise ValueError("taste model JSON: a head's mean, scale and coef differ in length")
        if any(s <= 0 for s in vectors["scale"]):
            raise ValueError("taste model JSON: a head's scale must be positive")
        return cls(
            mean=vectors["mean"],
            scale=vectors["scale"],
            coef=vectors["coef"],
            intercept=_number(d.get("intercept"), "intercept"),
            regularisation=_number(d.get("regularisation"), "regularisation"),
        )


@dataclass(frozen=True)
class TasteModel:
    """A trained preference model with its cross-validated quality (what the photographer is told)."""

    profile: str
    clip_model: str
    labels: int  # usable ratings the model learned from (with an embedding)
    keeps: int
    rejects: int
    auc: Optional[float]  # cross-validated ROC AUC of keep-vs-reject (None when that head is not trained)
    spearman: Optional[float]  # cross-validated Spearman of the star head (None when not trained / undefined)
    trained_at: float
    rated: int = 0  # photos with a star target (the star head's labels)
    scenes: int = 0  # near-duplicate groups among the usable ratings (what the folds are made of)
    folds: int = 0  # outer folds of the keep head (of the star head when there is no keep head)
    keep: Optional[Linear] = None
    stars: Optional[Linear] = None
    note: str = ""  # why a head is missing, for status lines

    @property
    def dim(self) -> int:
        """Length of the embeddings the model scores."""
        head = self.keep or self.stars
        return len(head.coef) if head else 0

    def summary(self) -> str:
        """One line for status and Teach dialogs: the cross-validated quality and what it rests on."""
        parts = []
        if self.auc is not None:
            parts.append(f"AUC {self.auc:.2f} (cross-validated) on {self.keeps + self.rejects} ratings")
        if self.stars is not None:
            rho = "undefined" if self.spearman is None else f"{self.spearman:.2f}"
            parts.append(f"Spearman {rho} (cross-validated) on {self.rated} rated photos")
        return "; ".join(parts) or "no quality measured"

    def quality(self) -> Optional[float]:
        """The number a confidence line is checked against: AUC, else (1 + Spearman) / 2, both 0..1."""
        if self.auc is not None:
            return self.auc
        if self.spearman is not None:
            return (1.0 + self.spearman) / 2.0
        return None

    def to_json(self) -> str:
        """Plain JSON (lists of floats, no pickle); ValueError when any number is NaN or infinite."""
        body = {
            "format": _FORMAT,
            "profile": self.profile,
            "clip_model": self.clip_model,
            "labels": self.labels,
            "keeps": self.keeps,
            "rejects": self.rejects,
            "auc": self.auc,
            "spearman": self.spearman,
            "trained_at": self.trained_at,
            "rated": self.rated,
            "scenes": self.scenes,
            "folds": self.folds,
            "keep": None if self.keep is None else self.keep.to_dict(),
            "stars": None if self.stars is None else self.stars.to_dict(),
            "note": self.note,
        }
        try:
            return json.dumps(body, allow_nan=False, separators=(",", ":"))
        except ValueError as exc:
            raise ValueError(f"taste model for profile {self.profile!r} holds a NaN or infinite number") from exc

    @classmethod
    def from_json(cls, s: str) -> "TasteModel":
        """Inverse of ``to_json``; ValueError naming what is wrong (NaN, bad field, lengths)."""
        d = json.loads(s, parse_constant=_refuse_constant)
        if not isinstance(d, dict) or d.get("format") != _FORMAT:
            raise ValueError(f"taste model JSON: not a format-{_FORMAT} model body")
        keep = None if d.get("keep") is None else Linear.from_dict(d["keep"])
        stars = None if d.get("stars") is None else Linear.from_dict(d["stars"])
        if keep is None and stars is None:
            raise ValueError("taste model JSON: no head to score with")
        if keep is not None and stars is not None and len(keep.coef) != len(stars.coef):
            raise ValueError("taste model JSON: the two heads expect different embedding lengths")
        return cls(
            profile=_text(d, "profile"),
            clip_model=_text(d, "clip_model"),
            labels=_count(d, "labels"),
            keeps=_count(d, "keeps"),
            rejects=_count(d, "rejects"),
            auc=None if d.get("auc") is None else _number(d["auc"], "auc"),
            spearman=None if d.get("spearman") is None else _number(d["spearman"], "spearman"),
            trained_at=_number(d.get("trained_at"), "trained_at"),
            rated=_count(d, "rated"),
            scenes=_count(d, "scenes"),
            folds=_count(d, "folds"),
            keep=keep,
            stars=stars,
            note=_text(d, "note"),
        )


@dataclass(frozen=True)
class NotTrained:
    """No model: too few ratings (``needed`` more), or another reason (``needed`` 0). ``why`` is a sentence."""

    profile: str
    labels: int
    needed: int
    why: str


def _refuse_constant(name: str) -> float:
    raise ValueError(f"taste model JSON: {name} is not a number a model may hold")


def _number(x: Any, key: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
        raise ValueError(f"taste model JSON: {key!r} must be a finite number, got {x!r}")
    return float(x)


def _count(d: dict[str, Any], key: str) -> int:
    x = d.get(key)
    if isinstance(x, bool) or not isinstance(x, int) or x < 0:
        raise ValueError(f"taste model JSON: {key!r} must be a non-negative integer, got {x!r}")
    return x


def _text(d: dict[str, Any], key: str) -> str:
    x = d.get(key)
    if not isinstance(x, str):
        raise ValueError(f"taste model JSON: {key!r} must be a string, got {x!r}")
    return x


# ------------------------------------------------------------------- score --
def score(model: TasteModel, X: np.ndarray) -> np.ndarray:
    """Preference 0..1 per row: the keep probability; the star head's stars / 5 when there is no keep head.

    ValueError when the rows do not match the model's embedding length (another CLIP model) or are
    not finite.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != model.dim:
        raise ValueError(f"score: the model expects rows of {model.dim} numbers, got an array of shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("score: embeddings hold NaN or infinite values")
    if model.keep is not None:
        from scipy.special import expit

        return np.asarray(expit(model.keep.decision(X)), dtype=np.float64)
    if model.stars is not None:
        return np.clip(model.stars.decision(X) / 5.0, 0.0, 1.0)
    raise ValueError("score: the model has no head")


# ------------------------------------------------------------------- train --
def near_duplicates(X: np.ndarray, *, min_cosine: float = NEAR_DUPLICATE_COSINE) -> np.ndarray:
    """Group label per row: connected components of "cosine >= min_cosine" (rows compared in blocks).

    Memory stays at a block of rows against all rows; the edge list is folded into a spanning
    forest after each block, so even a set of identical frames costs O(n) edges.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    X = np.asarray(X, dtype=np.float32)
    n = X.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    U = np.divide(X, norms, out=np.zeros_like(X), where=norms > 0)
    labels = np.arange(n)
    for start in range(0, n, _BLOCK):
        sims = U[start : start + _BLOCK] @ U.T
        i, j = np.nonzero(sims >= min_cosine)
        i = i + start
        if not len(i):
            continue
        rows = np.concatenate([labels, i])  # forest so far (each row -> its component) + the new edges
        cols = np.concatenate([np.arange(n), j])
        graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
        _, comp = connected_components(graph, directed=False)
        first = np.full(comp.max() + 1, n)
        np.minimum.at(first, comp, np.arange(n))
        labels = first[comp]  # representative = lowest row of the component
    _, dense = np.unique(labels, return_inverse=True)
    return np.asarray(dense, dtype=np.int64)


@dataclass(frozen=True)
class _Head:
    linear: Optional[Linear]
    quality: Optional[float]
    folds: int
    why: str  # empty when trained
    needed: int


def train(
    profile: str,
    clip_model: str,
    X: np.ndarray,
    ratings: Sequence[Rating],
    *,
    min_labels: int = 20,
    seed: int = 0,
    now: float = 0.0,
    duplicate_cosine: float = NEAR_DUPLICATE_COSINE,
) -> TasteModel | NotTrained:
    """Learn keep-vs-reject (and stars, when there are enough) from ``ratings`` and their embeddings ``X``.

    ``X`` rows are the ratings' embeddings in the same order; rows with NaN/inf are not used. Below
    ``min_labels`` usable ratings, or when neither head has enough of what it needs (e.g. fewer than
    5 rejects and no star spread), the answer is ``NotTrained`` with how many more are needed.
    Deterministic for a given ``seed``. ``duplicate_cosine`` is the near-duplicate line of the folds
    (above 1 turns grouping off: only to show what it guards against).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] != len(ratings):
        raise ValueError(f"train: X must have one row per rating ({len(ratings)}), got shape {X.shape}")
    finite = np.isfinite(X).all(axis=1) if X.size else np.ones(len(ratings), bool)
    keep_y = np.array([np.nan if (k := keep_target(r)) is None else k for r in ratings], dtype=np.float64)
    star_y = np.array([np.nan if (s := star_target(r)) is None else s for r in ratings], dtype=np.float64)
    usable = finite & (np.isfinite(keep_y) | np.isfinite(star_y))
    labels = int(usable.sum())
    if labels < min_labels:
        more = min_labels - labels
        return NotTrained(
            profile, labels, more, f"{labels} usable ratings with embeddings, {more} more needed (minimum {min_labels})"
        )

    idx = np.flatnonzero(usable)
    groups = np.full(len(ratings), -1, dtype=np.int64)
    # Alike relative to this photographer's own photos: centred on their mean vector, so a shoot (or an
    # embedding model) whose photos all sit close together in absolute terms is not one "near-duplicate" blob;
    # frames of one moment stay near-identical after centring, different scenes spread apart.
    rated = X[idx].astype(np.float64)
    groups[idx] = near_duplicates(rated - rated.mean(axis=0), min_cosine=duplicate_cosine)
    scenes = int(groups[idx].max()) + 1

    k_rows = np.flatnonzero(usable & np.isfinite(keep_y))
    s_rows = np.flatnonzero(usable & np.isfinite(star_y))
    keep = _keep_head(X[k_rows], keep_y[k_rows].astype(int), groups[k_rows], min_labels, seed)
    stars = _star_head(X[s_rows], star_y[s_rows], groups[s_rows], min_labels, seed)
    if keep.linear is None and stars.linear is None:
        needs = [h.needed for h in (keep, stars) if h.needed > 0]
        return NotTrained(profile, labels, min(needs) if needs else 0, f"{keep.why}; {stars.why}")
    keeps = int((keep_y[k_rows] == 1).sum())
    return TasteModel(
        profile=profile,
        clip_model=clip_model,
        labels=labels,
        keeps=keeps,
        rejects=len(k_rows) - keeps,
        auc=keep.quality if keep.linear is not None else None,
        spearman=stars.quality if stars.linear is not None else None,
        trained_at=float(now),
        rated=len(s_rows),
        scenes=scenes,
        folds=keep.folds if keep.linear is not None else stars.folds,
        keep=keep.linear,
        stars=stars.linear,
        note="; ".join(h.why for h in (keep, stars) if h.why),
    )


def _keep_head(X: np.ndarray, y: np.ndarray, groups: np.ndarray, min_labels: int, seed: int) -> _Head:
    n = len(y)
    keeps = int(y.sum())
    minority = min(keeps, n - keeps)
    if n < min_labels:
        more = min_labels - n
        why = f"keep/reject: {n} picks, rejects or 3+ star ratings, {more} more needed (minimum {min_labels})"
        return _Head(None, None, 0, why, more)
    if minority < MIN_MINORITY:
        kind = "rejects" if keeps > n - keeps else "keeps"
        more = MIN_MINORITY - minority
        why = f"keep/reject: only {minority} {kind} among {n} ratings, {more} more {kind} needed"
        return _Head(None, None, 0, why, more)
    if len(np.unique(groups)) < 2:
        return _Head(None, None, 0, "keep/reject: every rated frame is a near-duplicate of one scene", 0)
    from sklearn.metrics import roc_auc_score

    def auc(truth: np.ndarray, pred: np.ndarray) -> float:
        return float(roc_auc_score(truth, pred)) if len(np.unique(truth)) == 2 else math.nan

    quality, folds = _outer(X, y, groups, seed, True, auc)
    return _Head(_fit(X, y, groups, seed, classify=True), quality, folds, "", 0)


def _star_head(X: np.ndarray, y: np.ndarray, groups: np.ndarray, min_labels: int, seed: int) -> _Head:
    n = len(y)
    if n < min_labels:
        more = min_labels - n
        why = f"stars: {n} photos with stars, {more} more needed (minimum {min_labels})"
        return _Head(None, None, 0, why, more)
    if len(np.unique(y)) < 2:
        return _Head(None, None, 0, f"stars: all {n} rated photos have the same stars", 0)
    if len(np.unique(groups)) < 2:
        return _Head(None, None, 0, "stars: every rated frame is a near-duplicate of one scene", 0)
    from scipy.stats import spearmanr

    def rho(truth: np.ndarray, pred: np.ndarray) -> float:
        return float(spearmanr(truth, pred).statistic) if np.ptp(truth) > 0 and np.ptp(pred) > 0 else math.nan

    quality, folds = _outer(X, y, groups, seed, False, rho)
    return _Head(_fit(X, y, groups, seed, classify=False), quality, folds, "", 0)


def _splits(y: np.ndarray, groups: np.ndarray, k: int, seed: int, classify: bool) -> list[tuple[np.ndarray, ...]]:
    """Grouped folds: stratified by class for the keep head, balanced by size (GroupKFold) for stars."""
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    if classify:
        splitter: Any = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    else:
        splitter = GroupKFold(n_splits=k)
    return [(tr, te) for tr, te in splitter.split(np.zeros(len(y)), y, groups)]


def _fold_count(y: np.ndarray, groups: np.ndarray, most: int, classify: bool) -> int:
    k = min(most, len(np.unique(groups)))
    if classify:  # every fold should be able to hold a member of the smaller class
        k = min(k, int(min(y.sum(), len(y) - y.sum())))
    return k


def _outer(
    X: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int, classify: bool, metric: Callable[..., float]
) -> tuple[Optional[float], int]:
    """The nested estimate: ``metric`` on each outer test fold of the whole fitting procedure (inner CV
    included), averaged weighted by fold size over the folds where it is defined (None when none is).

    Per fold, not pooled: pooling out-of-fold predictions mixes the folds' intercepts, and a strongly
    regularised model (which predicts about its training mean) then scores *below* chance.
    """
    k = _fold_count(y, groups, MAX_FOLDS, classify)
    values, weights = [], []
    for tr, te in _splits(y, groups, k, seed, classify):
        if classify and len(np.unique(y[tr])) < 2:  # nothing to learn from: no better than chance
            pred = np.zeros(len(te))
        else:
            pred = _fit(X[tr], y[tr], groups[tr], seed, classify).decision(X[te])
        value = metric(y[te], pred)
        if math.isfinite(value):
            values.append(value)
            weights.append(len(te))
    if not values:
        return None, k
    return float(np.average(values, weights=weights)), k


def _fit(X: np.ndarray, y: np.ndarray, groups: np.ndarray, seed: int, classify: bool) -> Linear:
    """Standardise + logistic (or ridge), C (alpha) chosen by grouped inner CV, refit on all of X.

    The inner search is a plain loop rather than ``GridSearchCV``: the logistic path is warm-started
    from one C to the next and the ridge path is one eigendecomposition per split for every alpha,
    which is what keeps 10,000 labels to seconds (see bench/bench_taste.py).
    """
    grid = C_GRID if classify else ALPHA_GRID
    k = _fold_count(y, groups, INNER_FOLDS, classify)
    splits = []
    if k >= 2:
        splits = [
            (tr, te)
            for tr, te in _splits(y, groups, k, seed, classify)
            if not classify or (len(np.unique(y[tr])) == 2 and len(np.unique(y[te])) == 2)
        ]
    if splits:
        totals = np.zeros(len(grid))
        for tr, te in splits:
            totals += len(te) * _path_scores(X[tr], y[tr], X[te], y[te], grid, classify)
        best = grid[int(np.argmax(totals))]  # the first best: the strongest regularisation among ties
    else:  # too few groups to choose: the middle of the grid
        best = grid[len(grid) // 2]
    return _fit_one(X, y, best, classify)


def _path_scores(
    Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray, grid: Sequence[float], classify: bool
) -> np.ndarray:
    """Validation score for each grid value (higher is better): -log loss for logistic, -MSE for ridge.

    Log loss, not AUC: AUC ignores scale, so among tied rankings it would pick the strongest
    regularisation, whose probabilities all sit near 0.5 -- a useless 0-100 preference.
    """
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(Xtr)
    Ztr, Zte = scaler.transform(Xtr), scaler.transform(Xte)
    if classify:
        from sklearn.linear_model import LogisticRegression
        from sklearn.metrics import log_loss

        model = LogisticRegression(C=grid[0], max_iter=MAX_ITER, warm_start=True)
        out = []
        for c in grid:  # warm start: each fit begins at the previous C's solution
            model.set_params(C=c).fit(Ztr, ytr)
            out.append(-log_loss(yte, model.predict_proba(Zte)[:, 1], labels=[0, 1]))
        return np.array(out)
    evals, V, b, mean = _ridge_basis(Ztr, ytr)
    ZV = Zte @ V
    return np.array([-np.mean((ZV @ (b / (evals + a)) + mean - yte) ** 2) for a in grid])


def _ridge_basis(Z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Eigen-decomposition of Z'Z and the projected targets: coef(alpha) = V (b / (evals + alpha)).

    Z is standardised (centred), so the intercept is the mean of y.
    """
    mean = float(y.mean())
    evals, V = np.linalg.eigh(Z.T @ Z)
    return np.maximum(evals, 0.0), V, V.T @ (Z.T @ (y - mean)), mean


def _fit_one(X: np.ndarray, y: np.ndarray, reg: float, classify: bool) -> Linear:
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(X)
    Z = scaler.transform(X)
    if classify:
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=reg, max_iter=MAX_ITER).fit(Z, y)
        coef, intercept = np.ravel(model.coef_), float(np.ravel(model.intercept_)[0])
    else:
        evals, V, b, intercept = _ridge_basis(Z, y)
        coef = V @ (b / (evals + reg))
    return Linear(
        mean=tuple(float(v) for v in scaler.mean_),
        scale=tuple(float(v) for v in scaler.scale_),
        coef=tuple(float(v) for v in coef),
        intercept=intercept,
        regularisation=float(reg),
    )
