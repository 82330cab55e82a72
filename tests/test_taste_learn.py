"""Learning the photographer's taste (issue 13): targets, training, honest quality, refusal, storage.

CLIP is not needed to test the learning: any embedding in which the photographer's rule is visible
will do. Here a photo's "embedding" is a small hand-made one of a real photo from
../shared/testdata: its layout (a 12x12 grey thumbnail, centred and normalised) beside its colour
balance (the cumulative histogram of log(R/B) per pixel: a warmer copy lies below a cooler one at
every bin, so "warmer" is a direction in it, as it is in CLIP's space). Like CLIP, it sees a
warm-toned and a cold-toned copy of one photo as one scene in another colour, and a near-identical
copy as nearly the same vector.
"""

from __future__ import annotations

import dataclasses
import json
import math
from functools import lru_cache

import numpy as np
import pytest
from PIL import Image

from autocull.taste.learn import (
    NotTrained,
    Rating,
    TasteModel,
    keep_target,
    near_duplicates,
    score,
    star_target,
    train,
)

from realphotos import photo, photos

needs_photos = pytest.mark.shared_data  # real photos: missing ones fail, never skip


# ------------------------------------------------------------------ helpers --
def embed(rgb: np.ndarray) -> np.ndarray:
    """Layout (144 numbers, unit length) + colour balance (24, at most unit length)."""
    small = np.asarray(Image.fromarray(rgb).resize((12, 12), Image.BILINEAR), float).mean(axis=2)
    layout = small - small.mean()
    layout /= np.linalg.norm(layout) + 1e-9
    f = rgb.astype(float) + 1.0
    hist, _ = np.histogram(np.clip(np.log(f[..., 0] / f[..., 2]), -2.4, 2.4), bins=24, range=(-2.4, 2.4))
    cdf = np.cumsum(hist) / hist.sum()
    return np.concatenate([layout.ravel(), cdf / np.sqrt(cdf.size)])


@lru_cache(maxsize=None)
def thumb(rel: str) -> np.ndarray:
    return np.asarray(Image.fromarray(photo(rel)).resize((96, 96), Image.BILINEAR))


def toned(rgb: np.ndarray, gain: float) -> np.ndarray:
    """Warmer (gain > 1) or cooler (gain < 1): red times gain, blue divided by it."""
    return np.clip(rgb * np.array([gain, 1.0, 1.0 / gain]), 0, 255).astype(np.uint8)


def near_copy(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Another frame of the same moment: shifted a pixel or two, a touch brighter or darker, new noise."""
    h, w = rgb.shape[:2]
    dx, dy = rng.integers(0, 3, 2)
    c = rgb[dy : h - 3 + dy, dx : w - 3 + dx].astype(float) * rng.uniform(0.98, 1.02)
    return np.clip(c + rng.normal(0, 1, c.shape), 0, 255).astype(np.uint8)


def quadrants(rel: str) -> list[np.ndarray]:
    """Four different compositions from one real photo."""
    im = photo(rel)
    h, w = im.shape[:2]
    return [
        np.asarray(Image.fromarray(im[y * h // 2 : (y + 1) * h // 2, x * w // 2 : (x + 1) * w // 2]).resize((96, 96)))
        for y in (0, 1)
        for x in (0, 1)
    ]


WARM, COLD = 1.2, 1 / 1.2


def warm_cold_set(rels: list[str]) -> tuple[np.ndarray, list[Rating]]:
    """The photographer picks the warm copy of each photo and rejects the cold one."""
    rows, ratings = [], []
    for i, rel in enumerate(rels):
        rows += [embed(toned(thumb(rel), WARM)), embed(toned(thumb(rel), COLD))]
        ratings += [Rating(f"warm-{i}.jpg", 0, "picked"), Rating(f"cold-{i}.jpg", 0, "rejected")]
    return np.array(rows), ratings


# ------------------------------------------------------------------ targets --
class TestTargets:
    def test_a_reject_flag_or_rating_minus_one_is_a_reject_whatever_else_is_set(self):
        assert keep_target(Rating("a", -1, "")) == 0
        assert keep_target(Rating("a", 5, "rejected")) == 0
        assert keep_target(Rating("a", -1, "picked")) == 0

    def test_a_pick_or_three_stars_and_up_is_a_keep(self):
        assert keep_target(Rating("a", 0, "picked")) == 1
        assert [keep_target(Rating("a", s, "")) for s in (3, 4, 5)] == [1, 1, 1]

    def test_one_or_two_stars_unflagged_and_unrated_are_neutral(self):
        # darktable gives every imported JPEG 1 star: it is not a judgement
        assert [keep_target(Rating("a", s, p)) for s, p in ((1, ""), (2, "none"), (0, ""))] == [None, None, None]

    def test_stars_count_as_given_a_reject_as_zero_and_unrated_not_at_all(self):
        assert [star_target(Rating("a", s, "")) for s in (1, 2, 5)] == [1.0, 2.0, 5.0]
        assert star_target(Rating("a", -1, "")) == 0.0
        assert star_target(Rating("a", 4, "rejected")) == 0.0
        assert star_target(Rating("a", 0, "picked")) is None
        assert star_target(Rating("a", 7, "")) is None


# ---------------------------------------------------------------- learning --
@needs_photos
class TestLearningFromPixels:
    def test_learns_warm_over_cold_and_ranks_photos_it_never_saw(self):
        X, ratings = warm_cold_set(photos("camera"))
        model = train("default", "features", X, ratings, min_labels=20, seed=0, now=1.5)
        assert isinstance(model, TasteModel), model
        assert (model.labels, model.keeps, model.rejects) == (len(ratings), len(ratings) // 2, len(ratings) // 2)
        assert model.auc is not None and model.auc >= 0.75, model.summary()
        assert model.summary().startswith(f"AUC {model.auc:.2f} (cross-validated) on {len(ratings)} ratings")
        assert model.quality() == model.auc
        # other scenes (the burst series): the warm copy of each scores above its cold copy
        held_out = photos("burst")
        warm = score(model, np.array([embed(toned(thumb(r), WARM)) for r in held_out]))
        cold = score(model, np.array([embed(toned(thumb(r), COLD)) for r in held_out]))
        assert (warm > cold).all(), (warm, cold)
        assert ((warm >= 0) & (warm <= 1) & (cold >= 0) & (cold <= 1)).all()

    @pytest.mark.slow
    def test_shuffled_labels_on_near_duplicate_frames_report_chance_not_memory(self):
        # 124 compositions, 3 near-identical frames of each, rated as a burst is: all alike, at random.
        rng = np.random.default_rng(7)
        scenes = [q for rel in photos("camera") + photos("burst") for q in quadrants(rel)]
        keep = rng.permutation(np.arange(len(scenes)) % 2)
        rows, ratings = [], []
        for k, scene in enumerate(scenes):
            for c in range(3):
                rows.append(embed(near_copy(scene, rng)))
                ratings.append(Rating(f"s{k}-{c}.jpg", 4 if keep[k] else -1, ""))
        X = np.array(rows)
        honest = train("default", "features", X, ratings, seed=0)
        assert isinstance(honest, TasteModel)
        assert honest.scenes <= len(scenes), "the near-identical frames were not grouped"
        assert honest.auc is not None and abs(honest.auc - 0.5) < 0.15, honest.summary()
        # what the grouping guards against: with frames of one scene on both sides of a fold the
        # same training "recognises" them and the number flatters a model that learned nothing
        leaky = train("default", "features", X, ratings, seed=0, duplicate_cosine=1.5)
        assert isinstance(leaky, TasteModel)
        assert leaky.auc is not None and leaky.auc > 0.85, leaky.summary()

    def test_stars_alone_train_the_star_model_and_order_new_photos(self):
        # 1..5 stars by how warm the copy is; no picks or rejects, so 1-2 stars are neutral for keep
        gains = {1: 0.8, 2: 0.9, 3: 1.0, 4: 1.12, 5: 1.25}
        rows, ratings = [], []
        for i, rel in enumerate(photos("camera")):
            for stars, gain in gains.items():
                rows.append(embed(toned(thumb(rel), gain)))
                ratings.append(Rating(f"{i}-{stars}.jpg", stars, ""))
        model = train("landscape", "features", np.array(rows), ratings, seed=0)
        assert isinstance(model, TasteModel), model
        assert model.keep is None and model.auc is None and "only 0 rejects" in model.note
        assert model.stars is not None and model.rated == len(ratings)
        assert model.spearman is not None and model.spearman > 0.5, model.summary()
        assert f"Spearman {model.spearman:.2f} (cross-validated) on {len(ratings)} rated photos" in model.summary()
        assert model.quality() == pytest.approx((1 + model.spearman) / 2)
        for rel in photos("burst"):
            s = score(model, np.array([embed(toned(thumb(rel), g)) for g in gains.values()]))
            assert s[-1] > s[0], (rel, s)


# ------------------------------------------------------------------ refusal --
@needs_photos
class TestRefusal:
    def test_below_the_minimum_it_refuses_and_says_how_many_more(self):
        X, ratings = warm_cold_set(photos("camera")[:6])
        answer = train("wedding", "features", X, ratings, min_labels=20)
        assert isinstance(answer, NotTrained)
        assert (answer.profile, answer.labels, answer.needed) == ("wedding", 12, 8)
        assert "8 more needed (minimum 20)" in answer.why

    def test_neutral_ratings_do_not_count_towards_the_minimum(self):
        X, ratings = warm_cold_set(photos("camera")[:12])  # 24 ratings ...
        ratings = [dataclasses.replace(r, pick="", rating=0) if i < 8 else r for i, r in enumerate(ratings)]
        answer = train("default", "features", X, ratings, min_labels=20)  # ... 8 of them unrated
        assert isinstance(answer, NotTrained) and (answer.labels, answer.needed) == (16, 4), answer

    def test_too_few_rejects_refuses_and_names_the_class_that_is_short(self):
        X, ratings = warm_cold_set(photos("camera"))
        rejects_seen = 0
        kept = []
        for r in ratings:  # keep every pick but only 3 rejects
            if r.pick == "rejected":
                rejects_seen += 1
                if rejects_seen > 3:
                    r = dataclasses.replace(r, pick="picked")
            kept.append(r)
        answer = train("default", "features", X, kept, min_labels=20)
        assert isinstance(answer, NotTrained), answer
        assert answer.needed == 2 and "only 3 rejects" in answer.why and "2 more rejects needed" in answer.why

    def test_rows_that_are_not_finite_are_not_learned_from(self):
        X, ratings = warm_cold_set(photos("camera")[:11])  # 22 ratings
        X[0, 3] = np.nan
        X[5, 0] = np.inf
        answer = train("default", "features", X, ratings, min_labels=21)
        assert isinstance(answer, NotTrained) and answer.labels == 20 and answer.needed == 1


# ------------------------------------------------------------------ storage --
def both_heads_set() -> tuple[np.ndarray, list[Rating]]:
    """1, 3 and 5 stars by warmth, every second 1-star a reject: keeps, rejects and stars."""
    rows, ratings = [], []
    for i, rel in enumerate(photos("camera")):
        for stars, gain in {1: 0.8, 3: 1.0, 5: 1.25}.items():
            rows.append(embed(toned(thumb(rel), gain)))
            ratings.append(Rating(f"{i}-{stars}.jpg", -1 if stars == 1 and i % 2 else stars, ""))
    return np.array(rows), ratings


@pytest.fixture(scope="module")
def model() -> TasteModel:
    X, ratings = both_heads_set()
    m = train("default", "features", X, ratings, seed=3, now=1_790_000_000.25)
    assert isinstance(m, TasteModel) and m.keep is not None and m.stars is not None, m
    return m


@needs_photos
class TestStorage:
    def test_to_json_round_trips_exactly_and_scores_the_same(self, model: TasteModel):
        text = model.to_json()
        back = TasteModel.from_json(text)
        assert back == model
        X = np.array([embed(thumb(r)) for r in photos("burst")])
        assert np.array_equal(score(back, X), score(model, X))
        body = json.loads(text)
        assert isinstance(body["keep"]["coef"], list) and all(isinstance(v, float) for v in body["keep"]["coef"])

    def test_nan_is_never_stored_nor_read(self, model: TasteModel):
        with pytest.raises(ValueError, match="NaN or infinite"):
            dataclasses.replace(model, auc=math.nan).to_json()
        bad_keep = dataclasses.replace(model.keep, intercept=math.inf)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="NaN or infinite"):
            dataclasses.replace(model, keep=bad_keep).to_json()
        text = model.to_json().replace('"auc":' + json.dumps(model.auc), '"auc":NaN')
        assert '"auc":NaN' in text
        with pytest.raises(ValueError, match="NaN"):
            TasteModel.from_json(text)

    def test_a_damaged_body_is_refused_with_a_reason(self, model: TasteModel):
        body = json.loads(model.to_json())
        body["keep"]["coef"] = body["keep"]["coef"][:-1]
        with pytest.raises(ValueError, match="differ in length"):
            TasteModel.from_json(json.dumps(body))
        with pytest.raises(ValueError, match="format"):
            TasteModel.from_json("[]")

    def test_same_seed_same_model(self, model: TasteModel):
        X, ratings = both_heads_set()
        assert train("default", "features", X, ratings, seed=3, now=1_790_000_000.25) == model

    def test_scores_stay_in_zero_to_one_and_finite_for_any_finite_row(self, model: TasteModel):
        rng = np.random.default_rng(0)
        wild = rng.normal(0, 1e6, size=(50, model.dim))
        s = score(model, wild)
        assert s.shape == (50,) and np.isfinite(s).all() and (s >= 0).all() and (s <= 1).all()

    def test_rows_of_another_model_or_with_nan_are_refused(self, model: TasteModel):
        with pytest.raises(ValueError, match=f"expects rows of {model.dim}"):
            score(model, np.zeros((2, model.dim + 1)))
        with pytest.raises(ValueError, match="NaN"):
            score(model, np.full((1, model.dim), np.nan))


# ---------------------------------------------------------- near-duplicates --
class TestNearDuplicates:
    def test_frames_above_the_line_share_a_group_through_chains_and_others_do_not(self):
        rng = np.random.default_rng(1)
        a, b = rng.normal(size=(2, 64))
        step = rng.normal(size=64) * 0.05
        X = np.array([a, a + step, a + 2 * step, b, np.zeros(64)])  # a chain, a stranger, an empty row
        g = near_duplicates(X, min_cosine=0.95)
        assert g[0] == g[1] == g[2] and len({g[0], g[3], g[4]}) == 3

    def test_identical_rows_in_bulk_are_one_group(self):
        X = np.tile(np.arange(1, 9, dtype=float), (600, 1))  # more than one block of rows
        assert set(near_duplicates(X).tolist()) == {0}
