from __future__ import annotations

import pytest

from prodml.errors import ConfigError
from prodml.experiments import (
    power_means,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
)


def test_classic_conversion_example() -> None:
    # 10% -> 12%, alpha 0.05, power 0.8: (1.95996 + 0.84162)^2 (0.09 + 0.1056) / 0.02^2 = 3838.6
    s = sample_size_proportions(0.10, 0.02)
    assert (s.control, s.treatment, s.total) == (3839, 3839, 7678)
    assert sample_size_proportions(0.10, 0.2, relative=True) == s


def test_cohens_d_half_needs_63_per_arm_under_the_normal_approximation() -> None:
    # 2 (1.95996 + 0.84162)^2 / 0.5^2 = 62.8 (the t-based answer is 64).
    s = sample_size_means(1.0, 0.5)
    assert (s.control, s.treatment) == (63, 63)
    assert sample_size_means(2.0, 0.1, baseline_mean=10.0, relative=True) == s


@pytest.mark.parametrize("share", [0.5, 0.2, 0.9])
@pytest.mark.parametrize("target", [0.8, 0.9])
def test_power_at_the_returned_size_reaches_the_target_and_not_below(
    share: float, target: float
) -> None:
    s = sample_size_proportions(0.05, -0.01, power=target, treatment_share=share)
    assert power_proportions(0.05, -0.01, s.control, s.treatment) >= target
    shrink = 0.99
    below = power_proportions(0.05, -0.01, int(s.control * shrink), int(s.treatment * shrink))
    assert below < target
    assert s.treatment / s.total == pytest.approx(share, abs=1e-3)


def test_power_means_and_its_inverse_agree() -> None:
    s = sample_size_means(3.0, 0.2, power=0.9, alpha=0.01)
    assert power_means(3.0, 0.2, s.control, s.treatment, alpha=0.01) == pytest.approx(0.9, abs=1e-3)


def test_power_grows_with_sample_size() -> None:
    small = power_proportions(0.1, 0.01, 1000, 1000)
    large = power_proportions(0.1, 0.01, 10_000, 10_000)
    assert 0.05 < small < large < 1


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: sample_size_proportions(0.1, 0.0), "non-zero"),
        (lambda: sample_size_proportions(0.95, 0.1), "strictly between 0 and 1"),
        (lambda: sample_size_proportions(0.1, 0.01, power=1.0), "power"),
        (lambda: sample_size_proportions(0.1, 0.01, treatment_share=0.0), "treatment_share"),
        (lambda: sample_size_proportions(0.1, 0.01, alpha=0.0), "alpha"),
        (lambda: sample_size_means(0.0, 0.1), "std"),
        (lambda: sample_size_means(1.0, 0.1, relative=True), "baseline_mean"),
        (lambda: power_means(1.0, 0.1, 0, 10), "both arms"),
    ],
)
def test_bad_settings(call: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        call()  # type: ignore[operator]
