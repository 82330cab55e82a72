"""Policy: the photographer's knobs are validated, and presets load."""
import pytest

from autocull.errors import InvalidArgument
from autocull.policy import BUILTIN_PRESETS, Policy


def test_key_value_strings_are_coerced_to_the_field_types():
    p = Policy().with_values({"sharpness_reject": "0.3", "reject_closed_eyes": "off",
                              "burst_hash_distance": "10", "stars_thresholds": "0.1,0.2,0.3,0.4,0.5"})
    assert p.sharpness_reject == 0.3 and p.reject_closed_eyes is False
    assert p.burst_hash_distance == 10 and p.stars_thresholds == [0.1, 0.2, 0.3, 0.4, 0.5]


@pytest.mark.parametrize("values", [{"no_such_key": 1}, {"sharpness_reject": "soft"}, {"sharpness_reject": 2},
                                    {"reject_label": "pink"}, {"sharpness_reject": 0.6, "sharpness_review": 0.5},
                                    {"stars_thresholds": [0.5, 0.1, 0.2, 0.3, 0.4]}])
def test_bad_values_are_refused_with_a_message_naming_the_key(values):
    with pytest.raises(InvalidArgument) as info:
        Policy().with_values(values)
    assert any(k.split("_")[0] in info.value.message for k in values)


def test_builtin_presets_are_valid_policies():
    for _, values in BUILTIN_PRESETS.values():
        Policy().with_values(values)


def test_round_trip_through_a_dict():
    p = Policy().with_values({"burst_others": "reject"})
    assert Policy.from_dict(p.to_dict()) == p
