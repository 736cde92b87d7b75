from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from prodml.errors import ConfigError, InvalidInputError
from prodml.experiments import adjust, benjamini_hochberg, holm

p_lists = st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=30)


@given(p_lists)
@settings(max_examples=100, deadline=None)
def test_bh_matches_scipy_false_discovery_control(p: list[float]) -> None:
    assert benjamini_hochberg(p) == pytest.approx(list(stats.false_discovery_control(p)), abs=1e-12)


def test_holm_hand_computed_case() -> None:
    # sorted: 0.01*4=0.04, 0.02*3=0.06, 0.03*2=0.06, 0.04*1 -> running max 0.06
    assert holm([0.03, 0.01, 0.04, 0.02]) == pytest.approx([0.06, 0.04, 0.06, 0.06])
    # statsmodels multipletests([0.01, 0.02, 0.5], method="holm") -> [0.03, 0.04, 0.5]
    assert holm([0.01, 0.02, 0.5]) == pytest.approx([0.03, 0.04, 0.5])
    assert holm([0.9, 0.8]) == [1.0, 1.0]


@pytest.mark.parametrize("method", [holm, benjamini_hochberg])
@given(p=p_lists)
@settings(max_examples=100, deadline=None)
def test_adjusted_p_values_are_at_least_raw_at_most_one_and_monotone(
    method: object, p: list[float]
) -> None:
    adjusted = method(p)  # type: ignore[operator]
    assert all(r <= a + 1e-15 <= 1 + 1e-15 for r, a in zip(p, adjusted, strict=True))
    order = np.argsort(p, kind="stable")
    in_order = np.asarray(adjusted)[order]
    assert np.all(np.diff(in_order) >= -1e-15)


def test_holm_is_at_least_bh() -> None:
    p = [0.001, 0.01, 0.02, 0.03, 0.2]
    assert all(h >= b for h, b in zip(holm(p), benjamini_hochberg(p), strict=True))


def test_nan_stays_nan_and_does_not_count() -> None:
    got = holm([0.01, math.nan, 0.02])
    assert math.isnan(got[1])
    assert [got[0], got[2]] == pytest.approx([0.02, 0.02])


def test_adjust_dispatch_and_errors() -> None:
    assert adjust([0.01, 0.02], "none") == [0.01, 0.02]
    assert adjust([0.01, 0.02], "bh") == benjamini_hochberg([0.01, 0.02])
    with pytest.raises(ConfigError, match="unknown correction"):
        adjust([0.1], "bonferroni")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match=r"\[0, 1\]"):
        holm([1.5])
