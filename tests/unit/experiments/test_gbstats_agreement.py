"""prodml agrees with GrowthBook's gbstats 0.8.0 to 1e-4 on the same sufficient statistics.

The expected numbers were computed by gbstats itself (fixtures/make_gbstats_fixtures.py, run in
a separate venv because gbstats pins numpy<2 and pandas<2) and committed as JSON.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from prodml.experiments import (
    Estimate,
    GaussianPrior,
    MetricSummary,
    SampleStats,
    confidence_sequence,
    cuped_estimates,
    cuped_theta,
    estimate,
    gaussian_bayes,
    srm_check,
    welch_test,
)
from prodml.experiments.estimates import MetricKind

FIXTURE = Path(__file__).parent / "fixtures" / "gbstats_0_8_0.json"
DATA: dict[str, Any] = json.loads(FIXTURE.read_text())
TOL = 1e-4


def _summary(arm: dict[str, Any]) -> MetricSummary:
    def stats(key: str) -> SampleStats | None:
        return SampleStats(**arm[key]) if key in arm else None

    return MetricSummary(
        value=SampleStats(**arm["value"]),
        denominator=stats("denominator"),
        value_denominator_products=arm.get("value_denominator_products"),
        covariate=stats("covariate"),
        value_covariate_products=arm.get("value_covariate_products"),
    )


def _estimates(case: dict[str, Any]) -> tuple[Estimate, Estimate]:
    a, b = _summary(case["control"]), _summary(case["treatment"])
    if case["kind"] == "cuped":
        ea, eb, _ = cuped_estimates(a, b, "mean")
        return ea, eb
    kind: MetricKind = case["kind"]
    return estimate(a, kind), estimate(b, kind)


def _ids(case: dict[str, Any]) -> str:
    return f"{case['kind']}-{case['control']['value']['n']}"


CASES = DATA["cases"]


def test_fixture_was_made_by_gbstats_0_8_0() -> None:
    assert DATA["gbstats_version"] == "0.8.0"
    assert {c["kind"] for c in CASES} == {"proportion", "mean", "ratio", "cuped"}
    assert all(
        v["error"] is None for c in CASES for v in c["gbstats"].values() if isinstance(v, dict)
    )


@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("difference", ["absolute", "relative"])
@pytest.mark.parametrize("alpha", [0.05, 0.1])
def test_welch_test_matches_gbstats(case: dict[str, Any], difference: Any, alpha: float) -> None:
    expected = case["gbstats"][f"ttest_{difference}_{alpha}"]
    got = welch_test(*_estimates(case), difference=difference, alpha=alpha)
    assert got.estimate == pytest.approx(expected["estimate"], abs=TOL)
    assert got.std_error == pytest.approx(expected["std_error"], abs=TOL)
    assert [got.ci_low, got.ci_high] == pytest.approx(expected["ci"], abs=TOL)
    assert got.p_value == pytest.approx(expected["p_value"], abs=TOL)


@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("difference", ["absolute", "relative"])
@pytest.mark.parametrize("tuning", [5000, 500])
def test_confidence_sequence_matches_gbstats(
    case: dict[str, Any], difference: Any, tuning: int
) -> None:
    expected = case["gbstats"][f"sequential_{difference}_{tuning}"]
    got = confidence_sequence(*_estimates(case), difference=difference, tuning=float(tuning))
    assert got.estimate == pytest.approx(expected["estimate"], abs=TOL)
    assert [got.ci_low, got.ci_high] == pytest.approx(expected["ci"], abs=TOL)
    assert got.p_value == pytest.approx(expected["p_value"], abs=TOL)


@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("difference", ["absolute", "relative"])
@pytest.mark.parametrize("variant", ["flat", "flat_inverse", "proper"])
def test_gaussian_bayes_matches_gbstats(
    case: dict[str, Any], difference: Any, variant: str
) -> None:
    expected = case["gbstats"][f"bayes_{difference}_{variant}"]
    # gbstats' metric-level proper prior: N(0, 0.1^2) on the relative lift.
    prior = GaussianPrior(0.0, 0.1, "relative") if variant == "proper" else None
    got = gaussian_bayes(
        *_estimates(case),
        difference=difference,
        prior=prior,
        higher_is_better=variant != "flat_inverse",
    )
    assert got.mean == pytest.approx(expected["mean"], abs=TOL)
    assert got.std == pytest.approx(expected["std"], abs=TOL)
    assert [got.ci_low, got.ci_high] == pytest.approx(expected["ci"], abs=TOL)
    assert got.chance_to_win == pytest.approx(expected["chance_to_win"], abs=TOL)
    assert [got.risk_control, got.risk_treatment] == pytest.approx(expected["risk"], abs=TOL)


@pytest.mark.parametrize("case", [c for c in CASES if c["kind"] == "cuped"], ids=_ids)
def test_cuped_theta_matches_gbstats(case: dict[str, Any]) -> None:
    a, b = _summary(case["control"]), _summary(case["treatment"])
    assert cuped_theta(a, b, "mean") == pytest.approx(case["gbstats"]["theta"], abs=TOL)


@pytest.mark.parametrize("case", DATA["srm"], ids=lambda c: f"{c['weights']}-{sum(c['users'])}")
def test_srm_matches_gbstats(case: dict[str, Any]) -> None:
    got = srm_check(case["users"], case["weights"])
    assert got.p_value == pytest.approx(case["p_value"], abs=TOL)


def test_fixture_covers_both_srm_outcomes() -> None:
    # The comparison would be weak if every case landed on the same side of the threshold.
    flags = {srm_check(c["users"], c["weights"]).mismatch for c in DATA["srm"]}
    assert flags == {True, False}
