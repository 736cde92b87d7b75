from __future__ import annotations

import pytest
from scipy import stats

from prodml.errors import ConfigError, InvalidInputError
from prodml.experiments import srm_check


@pytest.mark.parametrize(
    ("observed", "weights"),
    [([5000, 5200], [1, 1]), ([1000, 2100, 6900], [0.1, 0.2, 0.7]), ([50, 40, 10], [5, 4, 1])],
)
def test_matches_scipy_chisquare(observed: list[int], weights: list[float]) -> None:
    total = sum(observed)
    expected = [w / sum(weights) * total for w in weights]
    want = stats.chisquare(observed, expected)
    got = srm_check(observed, weights)
    assert got.statistic == pytest.approx(want.statistic)
    assert got.p_value == pytest.approx(want.pvalue)
    assert got.dof == len(observed) - 1


def test_flags_below_one_in_a_thousand_not_at_five_percent() -> None:
    borderline = srm_check([5000, 5200], [0.5, 0.5])
    assert 0.001 < borderline.p_value < 0.05 and not borderline.mismatch
    assert srm_check([5000, 5400], [0.5, 0.5]).mismatch


def test_unequal_split_is_judged_against_its_weights() -> None:
    # A 95/5 split observed as 95/5 is healthy (mozilla/experimenter #16010 assumed 50/50).
    assert not srm_check([9500, 500], [95, 5]).mismatch


def test_traffic_to_a_zero_weight_arm_is_a_leak() -> None:
    r = srm_check([5000, 5000, 3], [0.5, 0.5, 0.0])
    assert r.leaked_arms == (2,)
    assert r.dof == 1
    assert r.mismatch


def test_no_traffic_is_not_a_mismatch() -> None:
    r = srm_check([0, 0], [1, 1])
    assert (r.p_value, r.mismatch) == (1.0, False)


@pytest.mark.parametrize(
    ("observed", "weights", "error", "message"),
    [
        ([1, 2], [1], InvalidInputError, "one per arm"),
        ([1], [1], InvalidInputError, "two arms"),
        ([-1, 2], [1, 1], InvalidInputError, "non-negative integers"),
        ([1.5, 2], [1, 1], InvalidInputError, "non-negative integers"),
        ([1, 2], [0, 0], ConfigError, "sum to more than 0"),
        ([1, 2], [-1, 2], ConfigError, ">= 0"),
        ([1, 2], [float("nan"), 2], ConfigError, "finite"),
    ],
)
def test_bad_input(observed: list[int], weights: list[float], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        srm_check(observed, weights)
