"""``analyze``: one call from per-variant summaries to a JSON-able experiment report.

Per variant and metric the report gives n and means, the absolute and relative effects with
Welch CIs, the p-value and its multiple-testing adjustment, the always-valid (sequential)
intervals and p-value, and the Bayesian chance to beat control and expected loss; plus the SRM
check. Following GrowthBook's defaults, the p-values, sequential p-value and Bayesian numbers are
on the relative lift (``difference="relative"``), corrections run over metrics x variants except
guardrails, and CIs are never widened by the correction.

    >>> from prodml.experiments.summaries import MetricSummary
    >>> data = {
    ...     "control": {"conv": MetricSummary.from_arrays([1] * 100 + [0] * 900)},
    ...     "new": {"conv": MetricSummary.from_arrays([1] * 130 + [0] * 870)},
    ... }
    >>> report = analyze(data, [Metric("conv", "proportion")], control="control")
    >>> r = report.variants[0].metrics[0]
    >>> round(r.relative.estimate, 2), round(r.p_value, 3), report.srm.mismatch
    (0.3, 0.066, False)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

from prodml.errors import ConfigError, InvalidInputError
from prodml.experiments.bayesian import GaussianPrior, gaussian_bayes
from prodml.experiments.corrections import Correction, adjust
from prodml.experiments.cuped import cuped_estimates
from prodml.experiments.estimates import MetricKind, check_kind, estimate
from prodml.experiments.frequentist import Difference, EffectTest, check_alpha, welch_test
from prodml.experiments.sequential import DEFAULT_TUNING, SequentialResult, confidence_sequence
from prodml.experiments.srm import DEFAULT_SRM_THRESHOLD, SrmResult, srm_check
from prodml.experiments.summaries import MetricSummary
from prodml.types import JsonDict

T = TypeVar("T")


@dataclass(frozen=True)
class Metric:
    """How to analyse one metric.

    Attributes:
        name: key of the metric in the summaries.
        kind: ``proportion``, ``mean`` or ``ratio``.
        cuped: adjust with the pre-period covariate in the summaries.
        higher_is_better: False for metrics where a decrease is good (latency, errors).
        guardrail: left out of multiple-testing corrections (as GrowthBook does).
        prior: proper Gaussian prior for the Bayesian numbers; flat when None.
    """

    name: str
    kind: MetricKind
    cuped: bool = False
    higher_is_better: bool = True
    guardrail: bool = False
    prior: GaussianPrior | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("a metric needs a non-empty name")
        check_kind(self.kind)


@dataclass(frozen=True)
class Interval:
    """An effect estimate with its interval (and standard error where one exists)."""

    estimate: float
    ci_low: float
    ci_high: float
    std_error: float | None = None


@dataclass(frozen=True)
class MetricResult:
    """One metric of one variant against control. None marks what could not be computed."""

    metric: str
    n: int
    mean: float
    control_n: int
    control_mean: float
    absolute: Interval | None
    relative: Interval | None
    p_value: float | None
    p_value_adjusted: float | None
    sequential_absolute: Interval | None
    sequential_relative: Interval | None
    sequential_p_value: float | None
    chance_to_beat_control: float | None
    expected_loss: float | None
    cuped_theta: float | None
    guardrail: bool
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class VariantReport:
    """All metrics of one treatment variant."""

    name: str
    units: int
    metrics: tuple[MetricResult, ...]

    def metric(self, name: str) -> MetricResult:
        for m in self.metrics:
            if m.metric == name:
                return m
        raise KeyError(name)


@dataclass(frozen=True)
class ExperimentReport:
    """Result of :func:`analyze`; ``to_dict()`` is JSON-serialisable (NaN/inf become None)."""

    control: str
    alpha: float
    difference: Difference
    correction: Correction
    srm: SrmResult
    variants: tuple[VariantReport, ...]

    def variant(self, name: str) -> VariantReport:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)

    def to_dict(self) -> JsonDict:
        data = _jsonable(dataclasses.asdict(self))
        data["srm"]["mismatch"] = self.srm.mismatch
        return data  # type: ignore[no-any-return]


def analyze(
    summaries: Mapping[str, Mapping[str, MetricSummary]],
    metrics: Sequence[Metric],
    *,
    control: str,
    weights: Mapping[str, float] | None = None,
    units: Mapping[str, int] | None = None,
    alpha: float = 0.05,
    difference: Difference = "relative",
    correction: Correction = "holm",
    sequential_tuning: float = DEFAULT_TUNING,
    srm_threshold: float = DEFAULT_SRM_THRESHOLD,
) -> ExperimentReport:
    """Analyse every treatment variant against ``control`` on every metric.

    Args:
        summaries: variant name -> metric name -> summary (control included).
        metrics: the metrics to analyse, each present in every variant.
        control: name of the control variant.
        weights: configured traffic weights per variant for the SRM check; equal if None.
        units: units assigned per variant for the SRM check; defaults to n of the first metric.
        alpha: significance level of every interval.
        difference: effect that p-values, sequential p-values and Bayesian numbers are on.
        correction: ``holm`` (FWER), ``bh`` (FDR) or ``none``, across metrics x variants.
        sequential_tuning: N* of the confidence sequences.
        srm_threshold: flag SRM below this p-value.

    Raises:
        ConfigError: unknown control, duplicate metrics, bad weights or settings.
        InvalidInputError: a metric missing from a variant's summaries.
    """
    check_alpha(alpha)
    if difference not in ("absolute", "relative"):
        raise ConfigError(f"difference must be 'absolute' or 'relative', got {difference!r}")
    names = list(summaries)
    if control not in summaries:
        raise ConfigError(f"control {control!r} is not among the variants {names}")
    if len(names) < 2:
        raise ConfigError("an experiment needs a control and at least one other variant")
    if not metrics:
        raise ConfigError("give at least one metric to analyse")
    metric_names = [m.name for m in metrics]
    if len(set(metric_names)) != len(metric_names):
        raise ConfigError(f"metric names must be unique, got {metric_names}")
    for variant, by_metric in summaries.items():
        missing = [m for m in metric_names if m not in by_metric]
        if missing:
            raise InvalidInputError(f"variant {variant!r} has no summary for metrics {missing}")

    srm = _srm(summaries, metrics[0].name, weights, units, srm_threshold)
    treatments = [v for v in names if v != control]
    raw = {
        (v, m.name): _compare(
            summaries[control][m.name],
            summaries[v][m.name],
            m,
            alpha,
            difference,
            sequential_tuning,
        )
        for v in treatments
        for m in metrics
    }
    family = [key for key in raw if not _metric(metrics, key[1]).guardrail]
    p_family = [_nan(raw[key].p_value) for key in family]
    adjusted = dict(zip(family, adjust(p_family, correction), strict=True))
    variants = tuple(
        VariantReport(
            name=v,
            units=srm.observed[names.index(v)],
            metrics=tuple(
                dataclasses.replace(
                    raw[v, m.name], p_value_adjusted=_none(adjusted.get((v, m.name), math.nan))
                )
                for m in metrics
            ),
        )
        for v in treatments
    )
    return ExperimentReport(control, alpha, difference, correction, srm, variants)


def _compare(
    control: MetricSummary,
    treatment: MetricSummary,
    metric: Metric,
    alpha: float,
    difference: Difference,
    tuning: float,
) -> MetricResult:
    warnings: list[str] = []
    theta: float | None = None
    if metric.cuped:
        est_c, est_t, theta = cuped_estimates(control, treatment, metric.kind)
    else:
        est_c, est_t = estimate(control, metric.kind), estimate(treatment, metric.kind)
    fixed: dict[Difference, EffectTest | None] = {}
    seq: dict[Difference, SequentialResult | None] = {}
    for d in _DIFFS:
        fixed[d] = _attempt(warnings, partial(welch_test, est_c, est_t, difference=d, alpha=alpha))
        seq[d] = _attempt(
            warnings,
            partial(confidence_sequence, est_c, est_t, difference=d, alpha=alpha, tuning=tuning),
        )
    bayes = _attempt(
        warnings,
        partial(
            gaussian_bayes,
            est_c,
            est_t,
            difference=difference,
            alpha=alpha,
            prior=metric.prior,
            higher_is_better=metric.higher_is_better,
        ),
    )
    chosen_fixed, chosen_seq = fixed[difference], seq[difference]
    return MetricResult(
        metric=metric.name,
        n=est_t.n,
        mean=est_t.unadjusted_mean,
        control_n=est_c.n,
        control_mean=est_c.unadjusted_mean,
        absolute=_interval(fixed["absolute"]),
        relative=_interval(fixed["relative"]),
        p_value=None if chosen_fixed is None else chosen_fixed.p_value,
        p_value_adjusted=None,
        sequential_absolute=_interval(seq["absolute"]),
        sequential_relative=_interval(seq["relative"]),
        sequential_p_value=None if chosen_seq is None else chosen_seq.p_value,
        chance_to_beat_control=None if bayes is None else bayes.chance_to_win,
        expected_loss=None if bayes is None else bayes.expected_loss,
        cuped_theta=theta,
        guardrail=metric.guardrail,
        warnings=tuple(dict.fromkeys(warnings)),  # de-duplicated, in order
    )


_DIFFS: tuple[Difference, Difference] = ("absolute", "relative")


def _attempt(warnings: list[str], compute: Callable[[], T]) -> T | None:
    # Degenerate data (no units, zero variance, zero control mean) is reported, not raised:
    # one empty metric must not hide the others.
    try:
        return compute()
    except InvalidInputError as exc:
        warnings.append(str(exc))
        return None


def _interval(result: EffectTest | SequentialResult | None) -> Interval | None:
    if result is None:
        return None
    se = result.std_error if isinstance(result, EffectTest) else None
    return Interval(result.estimate, result.ci_low, result.ci_high, se)


def _srm(
    summaries: Mapping[str, Mapping[str, MetricSummary]],
    first_metric: str,
    weights: Mapping[str, float] | None,
    units: Mapping[str, int] | None,
    threshold: float,
) -> SrmResult:
    names = list(summaries)
    for label, given in (("weights", weights), ("units", units)):
        if given is not None and set(given) != set(names):
            raise ConfigError(f"{label} must name exactly the variants {names}, got {list(given)}")
    counts = [units[v] if units is not None else summaries[v][first_metric].n for v in names]
    w = [weights[v] for v in names] if weights is not None else [1.0] * len(names)
    return srm_check(counts, w, threshold=threshold)


def _metric(metrics: Sequence[Metric], name: str) -> Metric:
    return next(m for m in metrics if m.name == name)


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _none(value: float) -> float | None:
    return None if math.isnan(value) else value


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
