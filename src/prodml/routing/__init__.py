"""Endpoints and traffic: fixed splits, canaries with guardrail rollback, shadows, bandits.

What serving calls (the hot path is ``choose``, microseconds):

- :class:`LiveRouters` ``(EndpointStore.open()).get(name)`` -> :class:`Router` kept current by
  polling the store's generation;
- :meth:`Router.choose` ``(unit_key, rng)`` -> :class:`Assignment` (variant, phase, shadows,
  reason); :meth:`UnitKey.extract` pulls the unit key from headers, parameters or fields;
- :meth:`SqlFeedbackStore.record_served` / ``record_served_many`` after answering.

The control plane: :func:`load_endpoints` (YAML) -> :class:`EndpointSpec`;
:class:`EndpointStore` ``plan`` / ``apply`` / ``get``; :class:`CanaryController`;
:func:`bandit_weights`; :meth:`SqlFeedbackStore.record_feedback`; :func:`endpoint_report`.
"""

from prodml.routing.bandits import ArmStats, bandit_weights
from prodml.routing.canary import CanaryController, VariantObservations, Verdict, judge
from prodml.routing.feedback import (
    Feedback,
    FeedbackResult,
    FeedbackStore,
    Served,
    SqlFeedbackStore,
)
from prodml.routing.live import LiveRouters
from prodml.routing.plan import Change, EndpointPlan
from prodml.routing.records import (
    CanaryAction,
    CanaryDecision,
    CanaryState,
    CanaryStatus,
    EndpointState,
    Phase,
    Revision,
)
from prodml.routing.report import EndpointReport, VariantTraffic, endpoint_report
from prodml.routing.router import Assignment, Router, UniformSource, unit_uniform
from prodml.routing.spec import (
    BanditStrategy,
    CanaryStrategy,
    EndpointSpec,
    FixedStrategy,
    Guardrails,
    ShadowStrategy,
    UnitKey,
    Variant,
    load_endpoints,
)
from prodml.routing.store import EndpointStore

__all__ = [
    "ArmStats",
    "Assignment",
    "BanditStrategy",
    "CanaryAction",
    "CanaryController",
    "CanaryDecision",
    "CanaryState",
    "CanaryStatus",
    "CanaryStrategy",
    "Change",
    "EndpointPlan",
    "EndpointReport",
    "EndpointSpec",
    "EndpointState",
    "EndpointStore",
    "Feedback",
    "FeedbackResult",
    "FeedbackStore",
    "FixedStrategy",
    "Guardrails",
    "LiveRouters",
    "Phase",
    "Revision",
    "Router",
    "Served",
    "ShadowStrategy",
    "SqlFeedbackStore",
    "UniformSource",
    "UnitKey",
    "Variant",
    "VariantObservations",
    "VariantTraffic",
    "Verdict",
    "bandit_weights",
    "endpoint_report",
    "judge",
    "load_endpoints",
    "unit_uniform",
]
