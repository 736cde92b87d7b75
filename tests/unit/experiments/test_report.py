from __future__ import annotations

import json

import numpy as np
import pytest

from prodml.errors import ConfigError, InvalidInputError
from prodml.experiments import (
    ExperimentReport,
    Metric,
    MetricSummary,
    SampleStats,
    analyze,
    confidence_sequence,
    estimate,
    gaussian_bayes,
    holm,
    welch_test,
)

METRICS = [
    Metric("conversion", "proportion"),
    Metric("revenue", "mean", cuped=True),
    Metric("clicks_per_view", "ratio"),
    Metric("latency_ms", "mean", higher_is_better=False, guardrail=True),
]


def _variant(rng: np.random.Generator, n: int, lift: float) -> dict[str, MetricSummary]:
    pre = rng.gamma(2, 10, n)
    views = rng.poisson(5, n) + 1.0
    return {
        "conversion": MetricSummary.from_arrays(rng.random(n) < 0.1 * (1 + lift)),
        "revenue": MetricSummary.from_arrays(
            0.8 * pre + rng.normal(5 * (1 + lift), 5, n), covariate=pre
        ),
        "clicks_per_view": MetricSummary.from_arrays(
            rng.binomial(views.astype(int), 0.2).astype(float), denominator=views
        ),
        "latency_ms": MetricSummary.from_arrays(rng.gamma(4, 25, n)),
    }


@pytest.fixture
def data(rng: np.random.Generator) -> dict[str, dict[str, MetricSummary]]:
    return {
        "control": _variant(rng, 4000, 0.0),
        "b": _variant(rng, 4000, 0.15),
        "c": _variant(rng, 4100, 0.0),
    }


def test_report_numbers_come_from_the_building_blocks(
    data: dict[str, dict[str, MetricSummary]],
) -> None:
    report = analyze(data, METRICS, control="control")
    got = report.variant("b").metric("conversion")
    ea = estimate(data["control"]["conversion"], "proportion")
    eb = estimate(data["b"]["conversion"], "proportion")
    rel = welch_test(ea, eb, difference="relative")
    assert got.relative is not None and got.absolute is not None
    assert got.relative.estimate == rel.estimate
    assert (got.relative.ci_low, got.relative.ci_high) == (rel.ci_low, rel.ci_high)
    assert got.p_value == rel.p_value  # GrowthBook's default: tests on the relative lift
    assert got.absolute.estimate == pytest.approx(eb.mean - ea.mean)
    assert got.sequential_relative is not None
    assert (
        got.sequential_relative.ci_low == confidence_sequence(ea, eb, difference="relative").ci_low
    )
    assert got.chance_to_beat_control == gaussian_bayes(ea, eb).chance_to_win
    assert (got.n, got.control_n) == (4000, 4000)


def test_corrections_span_metrics_and_variants_but_skip_guardrails(
    data: dict[str, dict[str, MetricSummary]],
) -> None:
    report = analyze(data, METRICS, control="control", correction="holm")
    family = [
        (v.name, m.metric, m.p_value) for v in report.variants for m in v.metrics if not m.guardrail
    ]
    assert len(family) == 6
    adjusted = holm([p for _, _, p in family if p is not None])
    got = [report.variant(v).metric(m).p_value_adjusted for v, m, _ in family]
    assert got == pytest.approx(adjusted)
    assert report.variant("b").metric("latency_ms").p_value_adjusted is None
    assert report.variant("b").metric("latency_ms").p_value is not None


def test_cuped_metric_reports_theta_and_unadjusted_means(
    data: dict[str, dict[str, MetricSummary]],
) -> None:
    m = analyze(data, METRICS, control="control").variant("b").metric("revenue")
    assert m.cuped_theta == pytest.approx(0.8, abs=0.05)
    assert m.mean == data["b"]["revenue"].mean
    assert m.relative is not None and m.relative.ci_low > 0


def test_lower_is_better_metric_flips_chance_to_beat_control(rng: np.random.Generator) -> None:
    data = {
        "control": {"latency": MetricSummary.from_arrays(rng.normal(100, 10, 500))},
        "fast": {"latency": MetricSummary.from_arrays(rng.normal(90, 10, 500))},
    }
    metric = Metric("latency", "mean", higher_is_better=False)
    r = analyze(data, [metric], control="control").variant("fast").metric("latency")
    assert r.chance_to_beat_control is not None and r.chance_to_beat_control > 0.99


def test_to_dict_is_json_and_keeps_the_structure(data: dict[str, dict[str, MetricSummary]]) -> None:
    report = analyze(data, METRICS, control="control", weights={"control": 1, "b": 1, "c": 1})
    blob = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    assert blob["control"] == "control"
    assert blob["srm"]["mismatch"] is False
    assert [v["name"] for v in blob["variants"]] == ["b", "c"]
    first = blob["variants"][0]["metrics"][0]
    assert set(first) >= {
        "metric",
        "n",
        "mean",
        "absolute",
        "relative",
        "p_value",
        "p_value_adjusted",
        "sequential_absolute",
        "sequential_relative",
        "sequential_p_value",
        "chance_to_beat_control",
        "expected_loss",
    }
    assert isinstance(report, ExperimentReport)


def test_srm_uses_configured_weights_and_units(data: dict[str, dict[str, MetricSummary]]) -> None:
    weights = {"control": 0.5, "b": 0.25, "c": 0.25}
    bad = analyze(data, METRICS, control="control", weights=weights)
    assert bad.srm.mismatch
    units = {"control": 8000, "b": 4000, "c": 4010}
    good = analyze(data, METRICS, control="control", weights=weights, units=units)
    assert not good.srm.mismatch
    assert good.variant("b").units == 4000


def test_degenerate_metric_is_reported_not_raised(
    data: dict[str, dict[str, MetricSummary]],
) -> None:
    empty = MetricSummary(SampleStats(0, 0.0, 0.0))
    data = {k: {**v, "signups": empty} for k, v in data.items()}
    metrics = [*METRICS, Metric("signups", "proportion")]
    r = analyze(data, metrics, control="control", units={"control": 4000, "b": 4000, "c": 4100})
    signups = r.variant("b").metric("signups")
    assert signups.p_value is None and signups.absolute is None
    assert signups.warnings and "units" in signups.warnings[0]
    assert r.variant("b").metric("conversion").p_value is not None
    json.dumps(r.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"control": "nope"}, ConfigError, "not among the variants"),
        ({"control": "control", "alpha": 0.0}, ConfigError, "alpha"),
        ({"control": "control", "difference": "ratio"}, ConfigError, "difference"),
        ({"control": "control", "weights": {"control": 1.0}}, ConfigError, "exactly the variants"),
        ({"control": "control", "correction": "nope"}, ConfigError, "unknown correction"),
    ],
)
def test_bad_settings(
    data: dict[str, dict[str, MetricSummary]], kwargs: dict[str, object], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        analyze(data, METRICS, **kwargs)  # type: ignore[arg-type]


def test_bad_metrics() -> None:
    one = {"a": {"x": MetricSummary.from_arrays([1.0, 2.0])}}
    two = {**one, "b": {"y": MetricSummary.from_arrays([1.0, 2.0])}}
    with pytest.raises(ConfigError, match="at least one other variant"):
        analyze(one, [Metric("x", "mean")], control="a")
    with pytest.raises(InvalidInputError, match="no summary for metrics"):
        analyze(two, [Metric("x", "mean")], control="a")
    with pytest.raises(ConfigError, match="unique"):
        analyze(two, [Metric("x", "mean"), Metric("x", "mean")], control="a")
    with pytest.raises(ConfigError, match="unknown metric kind"):
        Metric("x", "median")  # type: ignore[arg-type]
