"""Search, best and diverse selection, and zero-shot content labels over embeddings (issue 13).

Geometry tests use seeded vectors with a known structure (scenes, labels); the scene test on real
photos uses the small hand-made embedding of test_taste_learn (layout + colour balance of photos in
../shared/testdata), where a near-identical copy of a photo sits close and another photo far.
"""

from __future__ import annotations

import numpy as np
import pytest

from autocull.taste.content import TEMPLATES, content_labels, label_vectors, prompts
from autocull.taste.select import best_order, diverse_order, rank_by_text, scenes

from realphotos import photos
from test_taste_learn import embed, near_copy, thumb

needs_photos = pytest.mark.shared_data  # real photos: missing ones fail, never skip


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def clustered(n_scenes: int, per_scene: int, dim: int = 512, spread: float = 0.015, seed: int = 0):
    """Frames of ``n_scenes`` moments: each a random direction plus a little noise (cosine ~0.9 within)."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(n_scenes, dim)))
    truth = np.repeat(np.arange(n_scenes), per_scene)
    X = centres[truth] + spread * rng.normal(size=(truth.size, dim))
    return X.astype(np.float32), truth


# ------------------------------------------------------------------ search --
class TestRankByText:
    def test_the_photo_closest_to_the_text_ranks_first_and_an_empty_row_scores_zero(self):
        rng = np.random.default_rng(0)
        X = rng.normal(size=(20, 64))
        text = X[13] * 3 + rng.normal(size=64) * 0.1  # same direction, other length
        X[4] = 0
        sims = rank_by_text(text, X)
        assert int(np.argmax(sims)) == 13 and sims[13] > 0.99 and sims[4] == 0.0
        assert ((sims >= -1) & (sims <= 1)).all()

    def test_a_text_vector_of_another_model_is_refused(self):
        with pytest.raises(ValueError, match="text vector has 32 numbers, embeddings have 64"):
            rank_by_text(np.ones(32), np.ones((3, 64)))


# -------------------------------------------------------------------- best --
class TestBestOrder:
    def test_highest_merit_first_ties_in_input_order_unknown_last(self):
        merit = np.array([0.2, np.nan, 0.9, 0.5, 0.9])
        assert best_order(merit, 5) == [2, 4, 3, 0, 1]
        assert best_order(merit, 2) == [2, 4]
        assert best_order(merit, 0) == []


# ----------------------------------------------------------------- diverse --
class TestDiverseOrder:
    def test_one_per_scene_first_even_when_one_scene_holds_all_the_best_frames(self):
        X, truth = clustered(8, 20)
        rng = np.random.default_rng(1)
        merit = rng.random(truth.size) + np.where(truth == 0, 1.0, 0.0)  # scene 0 wins every comparison
        assert set(truth[best_order(merit, 8)]) == {0}  # what "best" alone gives: one moment
        picks = diverse_order(X, merit, 16)
        first, second = picks[:8], picks[8:]
        assert sorted(truth[first]) == list(range(8))
        for i in first:  # each the best of its scene, and the round in merit order
            assert merit[i] == merit[truth == truth[i]].max()
        assert list(merit[first]) == sorted(merit[first], reverse=True)
        assert sorted(truth[second]) == list(range(8))  # then the second best of each scene
        for i in second:
            assert merit[i] == np.sort(merit[truth == truth[i]])[-2]

    def test_fewer_photos_than_asked_returns_them_all_once(self):
        X, truth = clustered(3, 2)
        picks = diverse_order(X, np.arange(6.0), 50)
        assert sorted(picks) == list(range(6))

    def test_ten_thousand_frames_cluster_beyond_one_exact_chunk_into_their_scenes(self):
        X, truth = clustered(300, 34)  # 10,200 frames: more than one chunk of exact linkage
        merit = np.random.default_rng(2).random(truth.size)
        found = scenes(X, merit)
        assert found.max() + 1 == 300
        # the same partition as the truth: each found scene is exactly one true scene
        pairs = set(zip(found.tolist(), truth.tolist()))
        assert len(pairs) == 300
        picks = diverse_order(X, merit, 300)
        assert len(set(truth[picks])) == 300

    def test_nan_embeddings_are_refused_with_a_clear_message(self):
        X, _ = clustered(2, 2)
        X[1, 0] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            diverse_order(X, np.ones(4), 2)

    @needs_photos
    def test_real_photos_near_copies_are_one_scene_and_each_photo_comes_once_first(self):
        rng = np.random.default_rng(3)
        # photos that are different pictures (the camera set also holds sharp/blurred pairs of one scene)
        chosen: dict[str, np.ndarray] = {}
        for rel in photos("camera") + photos("burst"):
            e = unit(embed(thumb(rel)))
            if len(chosen) < 10 and all(float(e @ o) < 0.8 for o in chosen.values()):
                chosen[rel] = e
        assert len(chosen) == 10
        rows, truth = [], []
        for k, rel in enumerate(chosen):
            for _ in range(5):
                rows.append(embed(near_copy(thumb(rel), rng)))
                truth.append(k)
        X, truth_a = np.array(rows), np.array(truth)
        merit = rng.random(len(rows))
        merit[truth_a == 0] += 1  # one photo's copies are all better than any other
        assert set(truth_a[best_order(merit, 5)]) == {0}
        picks = diverse_order(X, merit, 10, min_cosine=0.9)
        assert sorted(truth_a[picks]) == list(range(10))
        assert all(merit[i] == merit[truth_a == truth_a[i]].max() for i in picks)


# ----------------------------------------------------------------- content --
class TestContentLabels:
    vocabulary = ["people", "landscape", "food", "night", "document/screenshot", "bird"]

    @pytest.fixture
    def text(self) -> np.ndarray:
        q, _ = np.linalg.qr(np.random.default_rng(4).normal(size=(512, len(self.vocabulary))))
        return q.T  # orthonormal label vectors

    def test_picks_the_label_whose_text_vector_is_closest(self, text: np.ndarray):
        rng = np.random.default_rng(5)
        r = rng.normal(size=512)
        rest = unit(r - text.T @ (text @ r))  # orthogonal to every label
        images = np.array([0.3 * text[k] + 0.95 * rest for k in range(len(self.vocabulary))])
        got = content_labels(images, text, self.vocabulary, min_prob=0.5, margin=0.2)
        assert [[name for name, _ in row] for row in got] == [[v] for v in self.vocabulary]
        assert all(p > 0.9 for row in got for _, p in row)

    def test_stays_silent_when_two_labels_are_equally_close(self, text: np.ndarray):
        torn = 0.25 * text[0] + 0.25 * text[1]
        assert content_labels(torn, text, self.vocabulary, min_prob=0.3, margin=0.3) == [[]]
        slightly = 0.25 * text[0] + 0.25 * text[1] + 0.251 * text[2]  # food a touch closer, not clearly
        assert content_labels(slightly, text, self.vocabulary, min_prob=0.3, margin=0.3) == [[]]
        clearly = 0.1 * text[0] + 0.1 * text[1] + 0.3 * text[2]
        got = content_labels(clearly, text, self.vocabulary, min_prob=0.3, margin=0.3)
        assert [name for name, _ in got[0]] == ["food"]

    def test_two_labels_when_both_clear_the_line_in_turn(self, text: np.ndarray):
        # people clearly first, landscape clearly second, the rest far behind
        image = 0.2 * text[0] + 0.199 * text[1]  # about 0.59 and 0.41
        got = content_labels(image, text, self.vocabulary, min_prob=0.2, margin=0.1)
        assert [name for name, _ in got[0]] == ["people", "landscape"]
        probs = [p for _, p in got[0]]
        assert probs == sorted(probs, reverse=True)

    def test_prompts_are_a_few_sentences_per_label_and_average_to_unit_vectors(self):
        groups = prompts(self.vocabulary)
        assert len(groups) == len(self.vocabulary) and all(len(g) == len(TEMPLATES) for g in groups)
        assert any("a document or a screenshot" in t for t in groups[4])
        flat = np.random.default_rng(6).normal(size=(sum(len(g) for g in groups), 512))
        vecs = label_vectors(flat, groups)
        assert vecs.shape == (len(self.vocabulary), 512)
        assert np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-6)
        first = unit(unit(flat[: len(TEMPLATES)]).mean(axis=0))
        assert np.allclose(vecs[0], first, atol=1e-6)

    def test_mismatched_text_is_refused(self, text: np.ndarray):
        with pytest.raises(ValueError, match="one row per label"):
            content_labels(np.ones((1, 512)), text[:3], self.vocabulary, min_prob=0.5, margin=0.1)
