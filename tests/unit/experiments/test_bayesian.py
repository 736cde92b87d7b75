from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from prodml.errors import ConfigError, InvalidInputError
from prodml.experiments import Estimate, GaussianPrior, beta_binomial, gaussian_bayes


def test_risk_closed_form_matches_truncated_normal_moments() -> None:
    a, b = Estimate(400, 1.0, 4.0, 1.0), Estimate(400, 1.1, 4.0, 1.1)
    r = gaussian_bayes(a, b, difference="absolute")
    mu, sd = r.mean, r.std
    p_pos = stats.norm.sf(0, mu, sd)
    mean_pos = stats.truncnorm.mean(-mu / sd, np.inf, loc=mu, scale=sd)
    mean_neg = stats.truncnorm.mean(-np.inf, -mu / sd, loc=mu, scale=sd)
    assert r.risk_control == pytest.approx(p_pos * mean_pos)
    assert r.risk_treatment == pytest.approx(-(1 - p_pos) * mean_neg)
    assert r.expected_loss == r.risk_treatment


def test_proper_prior_shrinks_towards_its_mean() -> None:
    a, b = Estimate(100, 1.0, 4.0, 1.0), Estimate(100, 1.5, 4.0, 1.5)
    flat = gaussian_bayes(a, b)
    shrunk = gaussian_bayes(a, b, prior=GaussianPrior(0.0, 0.05))
    assert 0 < shrunk.mean < flat.mean
    assert shrunk.std < flat.std


def test_lower_is_better_flips_chance_and_risk() -> None:
    a, b = Estimate(100, 1.0, 4.0, 1.0), Estimate(100, 1.5, 4.0, 1.5)
    up, down = gaussian_bayes(a, b), gaussian_bayes(a, b, higher_is_better=False)
    assert down.chance_to_win == pytest.approx(1 - up.chance_to_win)
    assert (down.risk_control, down.risk_treatment) == (up.risk_treatment, up.risk_control)


def test_beta_binomial_agrees_with_monte_carlo() -> None:
    rng = np.random.default_rng(3)
    r = beta_binomial(30, 400, 45, 410)
    pa = rng.beta(31, 371, 400_000)
    pb = rng.beta(46, 366, 400_000)
    assert r.chance_to_win == pytest.approx(np.mean(pb > pa), abs=3e-3)
    assert r.risk_treatment == pytest.approx(np.mean(np.maximum(pa - pb, 0)), abs=2e-4)
    assert r.risk_control == pytest.approx(np.mean(np.maximum(pb - pa, 0)), abs=2e-4)


def test_beta_binomial_approaches_the_gaussian_at_large_n() -> None:
    exact = beta_binomial(10_000, 100_000, 10_250, 100_000)
    a = Estimate(100_000, 0.1, 0.09, 0.1)
    b = Estimate(100_000, 0.1025, 0.1025 * 0.8975, 0.1025)
    approx = gaussian_bayes(a, b, difference="absolute")
    assert exact.chance_to_win == pytest.approx(approx.chance_to_win, abs=2e-3)
    assert exact.risk_treatment == pytest.approx(approx.risk_treatment, abs=1e-5)


def test_bad_input() -> None:
    with pytest.raises(InvalidInputError, match="successes"):
        beta_binomial(5, 3, 1, 3)
    with pytest.raises(ConfigError, match="Beta prior"):
        beta_binomial(1, 3, 1, 3, prior=(0.0, 1.0))
    with pytest.raises(ConfigError, match="std"):
        GaussianPrior(0.0, 0.0)
    with pytest.raises(InvalidInputError, match="zero variance"):
        gaussian_bayes(Estimate(5, 1.0, 0.0, 1.0), Estimate(5, 1.0, 0.0, 1.0))
