"""Policy: the photographer's knobs are validated, and presets load."""

import pytest

from autocull.errors import InvalidArgument
from autocull.policy import BUILTIN_PRESETS, Policy, clean_values


def test_key_value_strings_are_coerced_to_the_field_types():
    p = Policy().with_values(
        {
            "sharpness_reject": "0.3",
            "reject_closed_eyes": "off",
            "burst_hash_distance": "10",
            "stars_thresholds": "0.1,0.2,0.3,0.4,0.5",
        }
    )
    assert p.sharpness_reject == 0.3 and p.reject_closed_eyes is False
    assert p.burst_hash_distance == 10 and p.stars_thresholds == [0.1, 0.2, 0.3, 0.4, 0.5]


@pytest.mark.parametrize(
    "values",
    [
        {"no_such_key": 1},
        {"sharpness_reject": "soft"},
        {"sharpness_reject": 2},
        {"reject_label": "pink"},
        {"sharpness_reject": 0.6, "sharpness_review": 0.5},
        {"stars_thresholds": [0.5, 0.1, 0.2, 0.3, 0.4]},
    ],
)
def test_bad_values_are_refused_with_a_message_naming_the_key(values):
    with pytest.raises(InvalidArgument) as info:
        Policy().with_values(values)
    assert all(k in info.value.message for k in values), info.value.message


NON_FINITE = [
    "nan",
    "NaN",
    "-nan",
    "inf",
    "+Inf",
    "-inf",
    "Infinity",
    "-Infinity",
    "1e999",
    float("nan"),
    float("inf"),
    float("-inf"),
]


@pytest.mark.parametrize("raw", NON_FINITE)
@pytest.mark.parametrize("key", ["weight_noise", "sharpness_reject", "burst_hash_distance", "noise_review_sigma"])
def test_non_finite_numbers_are_refused_in_every_spelling(key, raw):
    # NaN compares false with every bound, so a range check alone let it in and it poisoned the store
    with pytest.raises(InvalidArgument) as info:
        Policy().with_values({key: raw})
    assert key in info.value.message


@pytest.mark.parametrize(
    "raw",
    [
        "0.3,0.5,nan,0.8,0.9",
        "0.3,0.5,0.6,0.8,inf",
        [0.3, float("nan"), 0.6, 0.8, 0.9],
        [-float("inf"), 0.5, 0.6, 0.8, 0.9],
    ],
)
def test_non_finite_stars_thresholds_are_refused(raw):
    with pytest.raises(InvalidArgument) as info:
        Policy().with_values({"stars_thresholds": raw})
    assert "stars_thresholds" in info.value.message


@pytest.mark.parametrize("root", ["", "   ", "|", "|Review", "AutoCull|", "Auto||Cull", "Auto| |Cull", "Auto\nCull"])
def test_keyword_root_must_be_a_real_keyword(root):
    with pytest.raises(InvalidArgument) as info:
        Policy().with_values({"keyword_root": root})
    assert "keyword_root" in info.value.message


def test_keyword_root_may_nest_under_a_parent():
    assert Policy().with_values({"keyword_root": "Studio|AutoCull"}).keyword_root == "Studio|AutoCull"


def test_clean_values_keeps_every_valid_stored_value_and_says_why_each_other_one_went():
    stored = {
        "weight_exposure": float("nan"),
        "weight_noise": 0.2,
        "burst_hash_distance": float("inf"),
        "keyword_root": "",
        "renamed_key": 1,
        "burst_others": "reject",
        "sharpness_reject": 0.6,  # fine alone, but above the (default) review line
        "face_sharpness_reject": 0.5,
        "face_sharpness_review": 0.6,
    }  # a pair only valid together
    kept, dropped = clean_values(stored)
    assert kept == {
        "weight_noise": 0.2,
        "burst_others": "reject",
        "face_sharpness_reject": 0.5,
        "face_sharpness_review": 0.6,
    }
    for key in ("weight_exposure", "burst_hash_distance", "keyword_root", "renamed_key", "sharpness_reject"):
        assert sum(key in why for why in dropped) == 1, (key, dropped)
    assert len(dropped) == 5
    assert Policy.from_dict(kept).weight_noise == 0.2


def test_builtin_presets_are_valid_policies():
    for _, values in BUILTIN_PRESETS.values():
        Policy().with_values(values)


def test_round_trip_through_a_dict():
    p = Policy().with_values({"burst_others": "reject"})
    assert Policy.from_dict(p.to_dict()) == p
