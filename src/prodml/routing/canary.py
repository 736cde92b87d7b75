"""The canary controller: at each look, hold, advance, promote or roll back, with the reason.

:func:`judge` is pure: the strategy, the canary's state, the time and what each variant did in
the current step go in; an action, its reason and the next state come out. The guardrails are
the always-valid sequential gates of :mod:`prodml.experiments.guardrails`, so the controller may
look as often as it likes:

- ``error_rate``: the candidate's error rate against the baseline's (``regression_test``).
- ``latency``: p99 under ``p99_ms``, judged as "at most 1% of the candidate's requests are
  slower than p99_ms" (``proportion_threshold_test``, exact at any n).
- ``quality``: a feedback metric against the baseline's (``regression_test``).
- ``traffic``: the candidate served ``min_requests``; always on, so a canary without guardrails
  still needs traffic to advance.

The rules, in order: any gate FAIL rolls back at once (hold time or not). Before the hold time
has passed, hold. After it, advance when every gate says PASS (promote after the last step:
the alias moves to the candidate). A gate that says NOT_YET (no data, too little data) holds,
never passes; past ``deadline_s`` it rolls back.

:class:`CanaryController` wires :func:`judge` to the store (every look is recorded, with its
reason) and to the registry (the alias move on promotion). Several controllers may look at one
canary at once (every serving worker runs one, see :mod:`prodml.serving.canary_watch`): the
store records a look only if the canary is still in the state it judged, so a step moves once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Protocol

from prodml._internal.clock import Clock, SystemClock
from prodml.errors import ConfigError
from prodml.experiments import (
    Decision,
    GateResult,
    MetricSummary,
    SampleStats,
    proportion_threshold_test,
    regression_test,
)
from prodml.registry import ModelVersion
from prodml.routing.records import (
    CanaryAction,
    CanaryDecision,
    CanaryState,
    CanaryStatus,
    EndpointState,
)
from prodml.routing.spec import CanaryStrategy, Guardrails, canary_weights
from prodml.routing.store import EndpointStore

_P99_SHARE = 0.01  # p99 <= L  <=>  at most 1% of requests are slower than L


@dataclass(frozen=True)
class VariantObservations:
    """What one variant did during the current step.

    Attributes:
        requests: requests answered.
        errors: requests that failed.
        latency_ms: latency samples (all, or a uniform sample) in milliseconds.
        slow: requests slower than the latency guardrail's ``p99_ms``, when samples are not kept.
        feedback: metric name -> per-unit summary, from feedback.
    """

    requests: int
    errors: int = 0
    latency_ms: Sequence[float] | None = None
    slow: int | None = None
    feedback: Mapping[str, MetricSummary] = field(default_factory=dict)

    def error_summary(self) -> MetricSummary:
        return MetricSummary(SampleStats(self.requests, float(self.errors), float(self.errors)))

    def slow_count(self, limit_ms: float) -> tuple[int, int] | None:
        """(slow requests, requests measured), or None without latency data."""
        if self.latency_ms is not None:
            return sum(1 for x in self.latency_ms if x > limit_ms), len(self.latency_ms)
        if self.slow is not None:
            return self.slow, self.requests
        return None


@dataclass(frozen=True)
class Verdict:
    """What :func:`judge` decided; ``weights`` is set when traffic must move."""

    action: CanaryAction
    reason: str
    state: CanaryState
    weights: dict[str, float] | None
    checks: dict[str, dict[str, object]]


def judge(  # noqa: PLR0911 - one return per outcome reads better than a result variable
    strategy: CanaryStrategy,
    state: CanaryState,
    now: datetime,
    baseline: VariantObservations,
    candidate: VariantObservations,
) -> Verdict:
    """One look at a canary (pure: no clock, no database)."""
    if state.status is not CanaryStatus.PROGRESSING:
        return Verdict(CanaryAction.HOLD, f"the canary is {state.status.value}", state, None, {})
    gates = _gates(strategy, baseline, candidate)
    checks = {name: _describe(g) for name, g in gates.items()}
    elapsed = (now - state.step_started_at).total_seconds()
    percent = strategy.steps[state.step]
    failed = [name for name, g in gates.items() if g.decision is Decision.FAIL]
    if failed:
        reason = "rolled back: " + "; ".join(f"{n} failed ({_evidence(gates[n])})" for n in failed)
        return _rollback(strategy, state, now, reason, checks)
    if elapsed < strategy.hold_s:
        reason = (
            f"holding step {state.step + 1} ({percent:g}%): "
            f"{elapsed:.0f}s of {strategy.hold_s:.0f}s"
        )
        return Verdict(CanaryAction.HOLD, reason, state, None, checks)
    waiting = [name for name, g in gates.items() if g.decision is not Decision.PASS]
    if waiting:
        detail = "; ".join(f"{n}: {gates[n].reason}" for n in waiting)
        if strategy.deadline_s is not None and elapsed >= strategy.deadline_s:
            reason = f"rolled back: no verdict within {strategy.deadline_s:.0f}s ({detail})"
            return _rollback(strategy, state, now, reason, checks)
        return Verdict(CanaryAction.HOLD, f"not yet: {detail}", state, None, checks)
    if state.step + 1 < len(strategy.steps):
        nxt = state.step + 1
        reason = (
            f"advanced to step {nxt + 1} ({strategy.steps[nxt]:g}%): every guardrail passed at "
            f"{percent:g}%"
        )
        weights = canary_weights(strategy, nxt)
        return Verdict(
            CanaryAction.ADVANCE,
            reason,
            replace(state, step=nxt, step_started_at=now),
            weights,
            checks,
        )
    reason = f"promoted: every guardrail passed at the last step ({percent:g}%)"
    weights = {strategy.baseline: 0.0, strategy.candidate: 1.0}
    promoted = replace(state, status=CanaryStatus.PROMOTED, step_started_at=now)
    return Verdict(CanaryAction.PROMOTE, reason, promoted, weights, checks)


def _rollback(
    strategy: CanaryStrategy,
    state: CanaryState,
    now: datetime,
    reason: str,
    checks: dict[str, dict[str, object]],
) -> Verdict:
    weights = {strategy.baseline: 1.0, strategy.candidate: 0.0}
    done = replace(state, status=CanaryStatus.ROLLED_BACK, step_started_at=now)
    return Verdict(CanaryAction.ROLLBACK, reason, done, weights, checks)


def _gates(
    strategy: CanaryStrategy, baseline: VariantObservations, candidate: VariantObservations
) -> dict[str, GateResult]:
    rails = strategy.guardrails
    n_min = rails.min_requests
    gates: dict[str, GateResult] = {}
    if candidate.requests >= n_min:
        gates["traffic"] = GateResult(
            Decision.PASS, candidate.requests, math.nan, math.nan, n_min, "enough traffic"
        )
    else:
        gates["traffic"] = GateResult(
            Decision.NOT_YET,
            candidate.requests,
            math.nan,
            math.nan,
            n_min,
            f"the candidate served {candidate.requests} of {n_min} requests needed",
        )
    if rails.error_rate is not None:
        gates["error_rate"] = _error_gate(baseline, candidate, rails.error_rate.max_increase, rails)
    if rails.latency is not None:
        counted = candidate.slow_count(rails.latency.p99_ms)
        if counted is None:
            gates["latency"] = GateResult(
                Decision.NOT_YET, math.nan, math.nan, math.nan, _P99_SHARE, "no latency data yet"
            )
        else:
            slow, n = counted
            gates["latency"] = proportion_threshold_test(slow, n, _P99_SHARE, alpha=rails.alpha)
    if rails.quality is not None:
        q = rails.quality
        base, cand = baseline.feedback.get(q.metric), candidate.feedback.get(q.metric)
        if base is None or cand is None:
            gates["quality"] = GateResult(
                Decision.NOT_YET,
                math.nan,
                math.nan,
                math.nan,
                q.max_decrease,
                f"no feedback for {q.metric!r} yet",
            )
        else:
            gates["quality"] = regression_test(
                base,
                cand,
                q.kind,
                tolerance=q.max_decrease,
                relative=q.relative,
                higher_is_worse=not q.higher_is_better,
                alpha=rails.alpha,
                min_units=n_min,
            )
    return gates


def _error_gate(
    baseline: VariantObservations,
    candidate: VariantObservations,
    max_increase: float,
    rails: Guardrails,
) -> GateResult:
    if baseline.errors == 0 and min(baseline.requests, candidate.requests) >= rails.min_requests:
        # With the baseline at 0 errors, "not worse by more than max_increase" is "rate <=
        # max_increase". The two-sample comparison would wait forever here: with no error
        # anywhere, or with a candidate that fails every request, it has no variance.
        return proportion_threshold_test(
            candidate.errors, candidate.requests, max_increase, alpha=rails.alpha
        )
    return regression_test(
        baseline.error_summary(),
        candidate.error_summary(),
        "proportion",
        tolerance=max_increase,
        alpha=rails.alpha,
        min_units=rails.min_requests,
    )


def _describe(gate: GateResult) -> dict[str, object]:
    def num(x: float) -> float | None:
        return None if math.isnan(x) else round(x, 6)

    return {
        "decision": gate.decision.value,
        "estimate": num(gate.estimate),
        "ci_low": num(gate.ci_low),
        "ci_high": num(gate.ci_high),
        "tolerance": num(gate.tolerance),
        "reason": gate.reason,
    }


def _evidence(gate: GateResult) -> str:
    parts = [gate.reason]
    if not math.isnan(gate.estimate):
        parts.append(f"estimate {gate.estimate:.4g}")
    if not math.isnan(gate.ci_low):
        parts.append(f"interval [{gate.ci_low:.4g}, {gate.ci_high:.4g}]")
    parts.append(f"limit {gate.tolerance:.4g}")
    return ", ".join(parts)


class AliasMover(Protocol):
    """What promotion needs from the registry (:class:`prodml.registry.Registry` fits)."""

    def resolve(self, ref: str) -> ModelVersion: ...

    def set_alias(
        self, name: str, alias: str, version: int, *, reason: str = "", actor: str | None = None
    ) -> object: ...


class CanaryController:
    """Runs :func:`judge` for one endpoint, records every look, and applies its outcome."""

    def __init__(
        self, store: EndpointStore, registry: AliasMover, name: str, *, clock: Clock | None = None
    ) -> None:
        self.store = store
        self.registry = registry
        self.name = name
        self.clock = clock or SystemClock()

    def step(
        self,
        observations: Mapping[str, VariantObservations],
        now: datetime | None = None,
        *,
        endpoint: EndpointState | None = None,
    ) -> CanaryDecision:
        """Look once. ``observations`` maps the baseline and candidate to the current step's data.

        ``endpoint`` is the endpoint as read when the observations were taken (default: read it
        now), so the look judges the step that the observations are of.

        Raises:
            ConfigError: the endpoint is not a canary, or a variant's observations are missing.
            CanaryMovedError: another controller moved the canary after this look read it;
                nothing was recorded and no alias moved.
        """
        now = now or self.clock.now()
        endpoint = endpoint or self.store.get(self.name)
        strategy = endpoint.spec.strategy
        if not isinstance(strategy, CanaryStrategy) or endpoint.canary is None:
            raise ConfigError(f"endpoint {self.name!r} is not a canary")
        missing = [v for v in (strategy.baseline, strategy.candidate) if v not in observations]
        if missing:
            raise ConfigError(f"observations are missing for variant(s) {missing}")
        state = endpoint.canary
        verdict = judge(
            strategy, state, now, observations[strategy.baseline], observations[strategy.candidate]
        )
        decision = CanaryDecision(
            now,
            state.step,
            strategy.steps[state.step],
            verdict.action,
            verdict.reason,
            {"checks": verdict.checks},
        )
        if state.status is not CanaryStatus.PROGRESSING:
            return decision  # finished: nothing to record again
        version = None
        if verdict.action is CanaryAction.PROMOTE:
            # Resolved before recording: an unknown candidate model fails the look, not the alias.
            version = self.registry.resolve(endpoint.spec.variant(strategy.candidate).model)
        self.store.record_canary(
            self.name, decision, expected=state, state=verdict.state, weights=verdict.weights
        )
        if version is not None:
            # Only after the record landed: of two racing controllers, only the one whose
            # decision was recorded moves the alias. Should this call fail, the endpoint already
            # sends the candidate all traffic and the alias is moved with `prodml models alias
            # set`; the other order could leave the alias on a candidate that was rolled back.
            self.registry.set_alias(
                version.name,
                strategy.promote_alias,
                version.version,
                reason=f"canary {self.name!r} {verdict.reason}",
            )
        return decision
