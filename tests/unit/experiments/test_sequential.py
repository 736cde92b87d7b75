from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prodml.errors import ConfigError, InvalidInputError
from prodml.experiments import Estimate, confidence_sequence, msprt, normal_mixture, welch_test
from prodml.experiments.sequential import growthbook_rho


def test_msprt_with_growthbook_tau_reproduces_the_confidence_sequence() -> None:
    # Both are the same normal mixture: GrowthBook's tau^2 = rho^2 s^2 with s^2 = Var * N.
    a, b = Estimate(800, 1.0, 4.0, 1.0), Estimate(900, 1.3, 5.0, 1.3)
    var = 4.0 / 800 + 5.0 / 900
    tau = growthbook_rho(0.05, 5000.0) * math.sqrt(var * 1700)
    cs, m = confidence_sequence(a, b), msprt(a, b, tau=tau)
    assert (m.ci_low, m.ci_high, m.p_value) == pytest.approx((cs.ci_low, cs.ci_high, cs.p_value))


def test_sequential_interval_is_wider_than_fixed_horizon() -> None:
    a, b = Estimate(5000, 1.0, 4.0, 1.0), Estimate(5000, 1.1, 4.0, 1.1)
    fixed, seq = welch_test(a, b), confidence_sequence(a, b)
    assert seq.ci_low < fixed.ci_low and seq.ci_high > fixed.ci_high
    assert seq.p_value >= fixed.p_value


@given(
    est=st.floats(-10, 10),
    var=st.floats(1e-6, 10),
    tau2=st.floats(1e-6, 10),
    alpha=st.floats(0.001, 0.5),
)
@settings(max_examples=100, deadline=None)
def test_interval_contains_estimate_and_p_value_is_a_probability(
    est: float, var: float, tau2: float, alpha: float
) -> None:
    half, p = normal_mixture(est, var, tau2=tau2, alpha=alpha)
    assert half > 0
    assert 0 <= p <= 1
    # Duality: the null is rejected (p <= alpha) exactly when the interval excludes it.
    if abs(abs(est) - half) > 1e-9 * max(1.0, half):
        assert (p <= alpha) == (abs(est) > half)


@pytest.mark.parametrize("method", ["growthbook", "msprt"])
def test_peeking_after_every_batch_keeps_false_positives_below_alpha(method: str) -> None:
    # A/A test: 1,000 experiments, 100 looks each. A fixed-horizon test peeked at this often
    # rejects far more than alpha; an always-valid one must not.
    rng = np.random.default_rng(7)
    sims, looks, batch, alpha = 1000, 100, 20, 0.05
    xa = rng.normal(0, 1, (sims, looks * batch))
    xb = rng.normal(0, 1, (sims, looks * batch))
    ever_sequential = np.zeros(sims, dtype=bool)
    ever_fixed = np.zeros(sims, dtype=bool)
    ca, cb = np.cumsum(xa, axis=1), np.cumsum(xb, axis=1)
    ca2, cb2 = np.cumsum(xa**2, axis=1), np.cumsum(xb**2, axis=1)
    rho = growthbook_rho(alpha, 5000.0)
    for k in range(1, looks + 1):
        n = k * batch
        ma, mb = ca[:, n - 1] / n, cb[:, n - 1] / n
        va = (ca2[:, n - 1] - n * ma**2) / (n - 1)
        vb = (cb2[:, n - 1] - n * mb**2) / (n - 1)
        var = va / n + vb / n
        tau2 = rho**2 * var * 2 * n if method == "growthbook" else np.full(sims, 0.1**2)
        p = np.array(
            [
                normal_mixture(float(d), float(v), tau2=float(t), alpha=alpha)[1]
                for d, v, t in zip(mb - ma, var, tau2, strict=True)
            ]
        )
        ever_sequential |= p <= alpha
        ever_fixed |= np.abs(mb - ma) > 1.96 * np.sqrt(var)
    assert ever_fixed.mean() > 0.2  # the problem the sequential test solves
    assert ever_sequential.mean() <= alpha


def test_bad_settings_and_degenerate_data() -> None:
    a = Estimate(10, 1.0, 1.0, 1.0)
    with pytest.raises(ConfigError, match="tuning"):
        confidence_sequence(a, a, tuning=0)
    with pytest.raises(ConfigError, match="tau"):
        msprt(a, a, tau=-1.0)
    with pytest.raises(InvalidInputError, match="zero variance"):
        confidence_sequence(Estimate(10, 1.0, 0.0, 1.0), Estimate(10, 1.0, 0.0, 1.0))
