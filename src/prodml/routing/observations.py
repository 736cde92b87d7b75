"""What each variant of a canary did in its current step, read from the served requests.

Every canary step is a phase of its own, so the current step's traffic is exactly the rows of
``routing_requests`` in the endpoint's current phase: requests and errors per variant, how many
were slower than the latency guardrail, and the quality metric from feedback per unit.
"""

from __future__ import annotations

import sqlalchemy as sa

from prodml.errors import ConfigError
from prodml.routing.canary import CanaryController, VariantObservations
from prodml.routing.records import CanaryDecision, EndpointState
from prodml.routing.report import VariantTraffic, variant_traffic
from prodml.routing.spec import CanaryStrategy
from prodml.routing.store import EndpointStore
from prodml.routing.tables import routing_requests

_r = routing_requests.c


def canary_observations(store: EndpointStore, endpoint: str) -> dict[str, VariantObservations]:
    """Observations of the baseline and the candidate in the current step (phase).

    A variant with no traffic yet gets zero requests, which the gates read as "not yet".
    """
    return _observations(store, store.get(endpoint))


def _observations(store: EndpointStore, state: EndpointState) -> dict[str, VariantObservations]:
    endpoint = state.name
    strategy = state.spec.strategy
    if not isinstance(strategy, CanaryStrategy):
        raise ConfigError(f"endpoint {endpoint!r} is a {strategy.kind} endpoint, not a canary")
    latency = strategy.guardrails.latency
    quality = strategy.guardrails.quality
    # At 100% the baseline serves nothing in the current step; it is then judged against its
    # most recent step that had traffic (the candidate always on the current step).
    phases = {
        strategy.candidate: [state.phase.number],
        strategy.baseline: [p.number for p in reversed(state.phases)],
    }
    observations = {}
    for variant, candidates in phases.items():
        for phase in candidates:
            seen = _traffic(store, endpoint, phase).get(variant)
            if seen is not None:
                break
        if seen is None:
            observations[variant] = VariantObservations(requests=0, slow=0 if latency else None)
            continue
        slow = _slow_counts(store, endpoint, phase, latency.p99_ms) if latency else {}
        errors = seen.metrics.get("error_rate")
        feedback = {}
        if quality is not None and "reward" in seen.metrics:
            feedback[quality.metric] = seen.metrics["reward"]
        observations[variant] = VariantObservations(
            requests=seen.requests,
            errors=int(errors.value.sum) if errors is not None else 0,
            slow=slow.get(variant, 0) if latency else None,
            feedback=feedback,
        )
    return observations


def _traffic(store: EndpointStore, endpoint: str, phase: int) -> dict[str, VariantTraffic]:
    return {t.variant: t for t in variant_traffic(store, endpoint, phase)}


def _slow_counts(
    store: EndpointStore, endpoint: str, phase: int, limit_ms: float
) -> dict[str, int]:
    query = (
        sa.select(_r.variant, sa.func.count())
        .where(_r.endpoint == endpoint, _r.phase == phase, _r.latency_ms > limit_ms)
        .group_by(_r.variant)
    )
    with store.engine.connect() as conn:
        return {variant: int(count) for variant, count in conn.execute(query)}


def step_canary(controller: CanaryController) -> CanaryDecision:
    """One look at the controller's canary, on what its current step served so far.

    Raises:
        CanaryMovedError: another controller moved the canary during the look (see
            :meth:`CanaryController.step`).
    """
    # One read for both: the step judged is the step the observations are of.
    endpoint = controller.store.get(controller.name)
    return controller.step(_observations(controller.store, endpoint), endpoint=endpoint)
