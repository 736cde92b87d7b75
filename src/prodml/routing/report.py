"""The experiment report of an endpoint: served traffic and feedback, per variant, one phase.

Requests are first grouped by unit (the unit key; a request without one is its own unit) in
SQL, then reduced to sufficient statistics per variant, so the report costs one query whatever
the traffic. Phases are never mixed: by default the current phase is reported.

Metrics, all per unit:

- ``reward`` (the feedback value): the endpoint's ``analysis.metric_kind`` when every unit has at
  most one value, otherwise a ratio (value sum / values) with the delta method.
- ``error_rate`` and ``latency_ms``: guardrails (lower is better), ratios per unit.

The SRM check compares units per variant with the phase's configured weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from prodml.errors import NotFoundError
from prodml.experiments import ExperimentReport, Metric, MetricSummary, SampleStats, analyze
from prodml.experiments.estimates import MetricKind
from prodml.routing.records import EndpointState
from prodml.routing.store import EndpointStore
from prodml.routing.tables import routing_requests
from prodml.types import JsonDict

# (name, per-unit numerator, per-unit denominator) of each metric, as SQL over one unit's rows.
_r = routing_requests.c
_PAIRS: dict[str, tuple[Any, Any]] = {
    "reward": (sa.func.coalesce(sa.func.sum(_r.value), 0.0), sa.func.count(_r.value)),
    "error_rate": (sa.func.sum(sa.case((_r.error, 1), else_=0)), sa.func.count()),
    "latency_ms": (sa.func.coalesce(sa.func.sum(_r.latency_ms), 0.0), sa.func.count(_r.latency_ms)),
}


@dataclass(frozen=True)
class VariantTraffic:
    """What one variant saw in one phase."""

    variant: str
    units: int
    requests: int
    metrics: dict[str, MetricSummary]  # only metrics with data


@dataclass(frozen=True)
class EndpointReport:
    """Traffic per variant plus the statistics of :func:`prodml.experiments.analyze`."""

    endpoint: str
    phase: int
    weights: dict[str, float]
    traffic: tuple[VariantTraffic, ...]
    analysis: ExperimentReport | None
    notes: tuple[str, ...]

    def to_dict(self) -> JsonDict:
        return {
            "endpoint": self.endpoint,
            "phase": self.phase,
            "weights": self.weights,
            "traffic": [
                {
                    "variant": t.variant,
                    "units": t.units,
                    "requests": t.requests,
                    "metrics": {
                        k: {"n": s.n, "mean": _ratio_mean(s)} for k, s in t.metrics.items()
                    },
                }
                for t in self.traffic
            ],
            "analysis": None if self.analysis is None else self.analysis.to_dict(),
            "notes": list(self.notes),
        }


def variant_traffic(store: EndpointStore, endpoint: str, phase: int) -> list[VariantTraffic]:
    """Per-variant units, requests and metric summaries of one phase (one SQL query)."""
    unit = sa.func.coalesce(_r.unit, _r.request_id)
    inner_cols = [_r.variant.label("variant"), sa.func.count().label("requests")]
    for name, (num, den) in _PAIRS.items():
        inner_cols += [num.label(f"{name}_num"), den.label(f"{name}_den")]
    inner = (
        sa.select(*inner_cols)
        .where(_r.endpoint == endpoint, _r.phase == phase)
        .group_by(_r.variant, unit)
        .subquery()
    )
    outer_cols = [inner.c.variant, sa.func.count().label("units"), sa.func.sum(inner.c.requests)]
    for name in _PAIRS:
        num, den = inner.c[f"{name}_num"], inner.c[f"{name}_den"]
        outer_cols += [
            sa.func.sum(sa.case((den > 0, 1), else_=0)),
            sa.func.sum(num),
            sa.func.sum(num * num),
            sa.func.sum(den),
            sa.func.sum(den * den),
            sa.func.sum(num * den),
            sa.func.max(den),
        ]
    query = sa.select(*outer_cols).group_by(inner.c.variant).order_by(inner.c.variant)
    with store.engine.connect() as conn:
        rows = conn.execute(query).all()
    traffic = []
    for row in rows:
        variant, units, requests, *rest = row
        metrics = {}
        for i, name in enumerate(_PAIRS):
            n, s, ss, d, dd, sd, max_d = rest[7 * i : 7 * i + 7]
            if n:
                metrics[name] = _summary(
                    int(n), float(s), float(ss), float(d), float(dd), float(sd), int(max_d)
                )
        traffic.append(VariantTraffic(variant, int(units), int(requests), metrics))
    return traffic


def _summary(
    n: int, s: float, ss: float, d: float, dd: float, sd: float, max_d: int
) -> MetricSummary:
    value = SampleStats(n, s, ss)
    if max_d <= 1:
        return MetricSummary(value)  # one observation per unit: a plain per-unit metric
    return MetricSummary(value, SampleStats(n, d, dd), sd)


def _ratio_mean(summary: MetricSummary) -> float:
    if summary.denominator is not None and summary.denominator.sum:
        return summary.value.sum / summary.denominator.sum
    return summary.mean


def endpoint_report(
    store: EndpointStore, name: str, *, phase: int | None = None, alpha: float = 0.05
) -> EndpointReport:
    """The report of endpoint ``name`` for ``phase`` (default: the current phase).

    Raises:
        NotFoundError: unknown endpoint or phase.
    """
    state = store.get(name)
    chosen = _phase(state, phase)
    traffic = variant_traffic(store, name, chosen)
    weights = next(p.weights for p in state.phases if p.number == chosen)
    notes: list[str] = []
    if state.spec.strategy.kind == "bandit":
        notes.append("bandit weights move with the rewards: the SRM check does not apply")
    if state.spec.strategy.kind == "shadow":
        notes.append("shadow variants answer no request; they are compared in the prediction log")
    seen = {t.variant: t for t in traffic}
    control = state.spec.control
    analysed = [v for v in state.spec.variant_names if v in seen]
    metrics = _metrics(state, [seen[v] for v in analysed])
    analysis = None
    if control not in seen:
        notes.append(f"the control {control!r} has no traffic in phase {chosen} yet")
    elif len(analysed) < 2:
        notes.append("fewer than two variants have traffic: nothing to compare")
    elif not metrics:
        notes.append("no metric has data in every variant yet")
    else:
        # Variants with weight 0 still count in the SRM check: units there are a leak.
        names = [v for v in state.spec.variant_names if v in seen or weights.get(v, 0) > 0]
        summaries = {v: {m.name: seen[v].metrics[m.name] for m in metrics} for v in analysed}
        if len(names) == len(analysed):
            analysis = analyze(
                summaries,
                metrics,
                control=control,
                weights={v: weights.get(v, 0.0) for v in analysed},
                units={v: seen[v].units for v in analysed},
                alpha=alpha,
            )
        else:
            notes.append("a variant with configured traffic has none: see the traffic table")
    return EndpointReport(name, chosen, weights, tuple(traffic), analysis, tuple(notes))


def _phase(state: EndpointState, phase: int | None) -> int:
    if phase is None:
        return state.phase.number
    if phase not in {p.number for p in state.phases}:
        raise NotFoundError(
            f"endpoint {state.name!r} has no phase {phase}; it has phases "
            f"{[p.number for p in state.phases]}"
        )
    return phase


def _metrics(state: EndpointState, traffic: list[VariantTraffic]) -> list[Metric]:
    analysis = state.spec.analysis
    metrics = []
    for name in _PAIRS:
        summaries = [t.metrics.get(name) for t in traffic]
        if any(s is None for s in summaries):
            continue
        ratio = any(s is not None and s.denominator is not None for s in summaries)
        kind: MetricKind
        if ratio:
            kind = "ratio"
            # A ratio needs every variant summarised the same way.
            for t in traffic:
                s = t.metrics[name]
                if s.denominator is None:
                    t.metrics[name] = MetricSummary(
                        s.value, SampleStats(s.n, float(s.n), float(s.n)), s.value.sum
                    )
        elif name == "reward":
            kind = analysis.metric_kind
        else:
            kind = "proportion" if name == "error_rate" else "mean"
        reward = name == "reward"
        metrics.append(
            Metric(
                name,
                kind,
                higher_is_better=analysis.higher_is_better if reward else False,
                guardrail=not reward,
            )
        )
    return metrics
