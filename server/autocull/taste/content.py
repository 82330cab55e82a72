"""Zero-shot content labels: which words of a vocabulary a photo's CLIP embedding is closest to.

Pure numpy. The caller encodes the prompts with the CLIP text encoder (and caches them):

    groups = prompts(vocabulary)                       # a few sentences per label
    flat = encoder.encode_texts([t for g in groups for t in g])
    text = label_vectors(flat, groups)                 # one unit vector per label (prompt ensemble)
    content_labels(X, text, vocabulary, min_prob=0.5, margin=0.2)

Several templates per label, averaged, is CLIP's own "prompt ensembling": one template makes a label
hostage to its wording ("a photo of night" is a worse sentence than "a photo taken at night").
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["LOGIT_SCALE", "TEMPLATES", "content_labels", "label_vectors", "phrase", "prompts"]

LOGIT_SCALE = 100.0  # CLIP's learned temperature (exp(4.6052)); softmax over 100 x cosine
TEMPLATES = (
    "a photo of {}.",
    "a picture of {}.",
    "a photograph showing {}.",
    "a close-up photo of {}.",
    "a wide photo of {}.",
)
# Natural phrases for labels whose bare word makes a poor caption; other labels are used as written
# ("/" reads as "or": "document/screenshot" -> "a document or a screenshot").
_PHRASES = {
    "people": "people",
    "portrait": "a portrait of a person",
    "group": "a group of people",
    "child": "a child",
    "wedding": "a wedding",
    "landscape": "a landscape",
    "city": "a city street",
    "architecture": "a building",
    "interior": "the interior of a room",
    "animal": "an animal",
    "bird": "a bird",
    "food": "food on a plate",
    "night": "a scene at night",
    "sports": "people playing sports",
    "document": "a document",
    "screenshot": "a screenshot",
}


def phrase(label: str) -> str:
    """The words a label stands for inside a template."""
    parts = [p.strip() for p in label.split("/") if p.strip()]
    if not parts:
        raise ValueError(f"empty content label {label!r}")
    return " or ".join(_PHRASES.get(p.lower(), p) for p in parts)


def prompts(vocabulary: Sequence[str]) -> list[list[str]]:
    """One list of sentences per label (``TEMPLATES`` filled with its phrase), in vocabulary order."""
    return [[t.format(phrase(label)) for t in TEMPLATES] for label in vocabulary]


def label_vectors(encoded: np.ndarray, groups: Sequence[Sequence[str]]) -> np.ndarray:
    """Average the encoded sentences of each label (rows of ``encoded`` in the order of ``groups``,
    flattened) into one unit vector per label."""
    E = np.asarray(encoded, dtype=np.float64)
    sizes = [len(g) for g in groups]
    if E.ndim != 2 or E.shape[0] != sum(sizes) or 0 in sizes:
        raise ValueError(f"{E.shape[0] if E.ndim else 0} encoded rows for {sum(sizes)} prompts in {len(sizes)} labels")
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    starts = np.cumsum([0] + sizes[:-1])
    out = np.add.reduceat(E, starts, axis=0) / np.array(sizes)[:, None]
    return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def content_labels(
    X: np.ndarray,
    text: np.ndarray,
    vocabulary: Sequence[str],
    *,
    min_prob: float,
    margin: float,
    logit_scale: float = LOGIT_SCALE,
) -> list[list[tuple[str, float]]]:
    """Labels per photo, best first, each with its probability.

    Probabilities are a softmax over the vocabulary of ``logit_scale`` x cosine (what CLIP was trained
    with). Going down the labels best first, a label is kept while its probability is at least
    ``min_prob`` and beats the next label's by at least ``margin``; the first that fails ends the
    list. So a photo torn between two labels gets neither (silence beats a wrong keyword), and with
    ``min_prob`` above 0.5 a photo gets at most one label.
    """
    labels = list(vocabulary)
    T = np.asarray(text, dtype=np.float64)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[None, :]
    if T.ndim != 2 or T.shape[0] != len(labels):
        raise ValueError(f"text must have one row per label ({len(labels)}), got shape {T.shape}")
    if X.ndim != 2 or X.shape[1] != T.shape[1]:
        raise ValueError(f"embeddings of shape {X.shape} do not match text vectors of {T.shape[1]} numbers")
    if not (np.isfinite(X).all() and np.isfinite(T).all()):
        raise ValueError("embeddings or text vectors hold NaN or infinite values")
    if not labels:
        return [[] for _ in range(X.shape[0])]
    xn = np.linalg.norm(X, axis=1, keepdims=True)
    tn = np.linalg.norm(T, axis=1, keepdims=True)
    cos = np.divide(X, xn, out=np.zeros_like(X), where=xn > 0) @ np.divide(T, tn, out=np.zeros_like(T), where=tn > 0).T
    logits = logit_scale * cos
    logits -= logits.max(axis=1, keepdims=True)
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    order = np.argsort(-p, axis=1, kind="stable")
    out: list[list[tuple[str, float]]] = []
    for row, idx in zip(p, order):
        ranked = row[idx]
        following = np.append(ranked[1:], 0.0)
        keep = 0
        while keep < len(ranked) and ranked[keep] >= min_prob and ranked[keep] - following[keep] >= margin:
            keep += 1
        out.append([(labels[i], float(row[i])) for i in idx[:keep]])
    return out
