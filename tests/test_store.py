"""The store holds only what it can serve back: a non-finite number never gets in."""

from __future__ import annotations

import dataclasses
import math

import pytest

from autocull.decode import decode
from autocull.measure import analyze
from autocull.store import Store

from imagegen import sample_rgb, save_jpeg


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_an_analysis_with_a_non_finite_number_is_refused_and_nothing_is_stored(tmp_path, bad):
    photo = save_jpeg(tmp_path / "a.jpg", sample_rgb("astronaut"))
    good = analyze(decode(str(photo)), faces=False)
    poisoned = dataclasses.replace(good, exposure=dataclasses.replace(good.exposure, ev_offset=bad))
    store = Store(tmp_path / "autocull.db")
    try:
        with pytest.raises(ValueError, match="not finite"):
            store.put_analysis(str(photo), 1, 1, "t", poisoned)
        assert store.analyses([str(photo)]) == {}
        store.put_analysis(str(photo), 1, 1, "t", good)
        assert store.analyses([str(photo)]) == {str(photo): good}
    finally:
        store.close()
