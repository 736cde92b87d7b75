"""Experiment statistics as pure functions over sufficient statistics.

Summaries (:class:`MetricSummary`, mergeable with ``+``) go in; tests, intervals and decisions
come out. Formulas follow GrowthBook's gbstats 0.8.0 unless a module says otherwise, and the
test suite checks them against gbstats and scipy to 1e-4.

- :func:`analyze` -> :class:`ExperimentReport` (per variant and metric, plus SRM)
- building blocks: :func:`estimate`, :func:`cuped_estimates`, :func:`welch_test`,
  :func:`confidence_sequence`, :func:`msprt`, :func:`gaussian_bayes`, :func:`beta_binomial`,
  :func:`holm`, :func:`benjamini_hochberg`, :func:`srm_check`, power and sample size
- canary gates: :func:`regression_test`, :func:`proportion_threshold_test` -> :class:`Decision`
"""

from prodml.experiments.bayesian import (
    BayesianResult,
    BetaBinomialResult,
    GaussianPrior,
    beta_binomial,
    gaussian_bayes,
)
from prodml.experiments.corrections import Correction, adjust, benjamini_hochberg, holm
from prodml.experiments.cuped import cuped_estimates, cuped_theta
from prodml.experiments.estimates import Estimate, MetricKind, estimate
from prodml.experiments.frequentist import Alternative, Difference, EffectTest, effect, welch_test
from prodml.experiments.guardrails import (
    Decision,
    GateResult,
    proportion_threshold_test,
    regression_test,
)
from prodml.experiments.power import (
    SampleSize,
    power_means,
    power_proportions,
    sample_size_means,
    sample_size_proportions,
)
from prodml.experiments.report import (
    ExperimentReport,
    Interval,
    Metric,
    MetricResult,
    VariantReport,
    analyze,
)
from prodml.experiments.sequential import (
    SequentialResult,
    confidence_sequence,
    msprt,
    normal_mixture,
)
from prodml.experiments.srm import SrmResult, srm_check
from prodml.experiments.summaries import MetricSummary, SampleStats, merge

__all__ = [
    "Alternative",
    "BayesianResult",
    "BetaBinomialResult",
    "Correction",
    "Decision",
    "Difference",
    "EffectTest",
    "Estimate",
    "ExperimentReport",
    "GateResult",
    "GaussianPrior",
    "Interval",
    "Metric",
    "MetricKind",
    "MetricResult",
    "MetricSummary",
    "SampleSize",
    "SampleStats",
    "SequentialResult",
    "SrmResult",
    "VariantReport",
    "adjust",
    "analyze",
    "benjamini_hochberg",
    "beta_binomial",
    "confidence_sequence",
    "cuped_estimates",
    "cuped_theta",
    "effect",
    "estimate",
    "gaussian_bayes",
    "holm",
    "merge",
    "msprt",
    "normal_mixture",
    "power_means",
    "power_proportions",
    "proportion_threshold_test",
    "regression_test",
    "sample_size_means",
    "sample_size_proportions",
    "srm_check",
    "welch_test",
]
