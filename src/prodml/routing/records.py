"""What the routing store hands back: phases, canary state and decisions, endpoint state."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prodml.routing.spec import EndpointSpec
from prodml.types import JsonDict


@dataclass(frozen=True)
class Phase:
    """A period with fixed traffic weights; analysis never mixes phases.

    Attributes:
        number: 1, 2, ... per endpoint.
        weights: variant -> share of traffic (summing to 1).
        salt: the hash salt of this phase. A phase that keeps assignments shares its
            predecessor's salt; one that re-randomises gets a fresh one.
        keep_assignments: units keep their previous variant where the new weights allow
            (the rule is in :mod:`prodml.routing.router`).
    """

    number: int
    weights: dict[str, float]
    salt: str
    keep_assignments: bool
    started_at: datetime
    reason: str

    def to_dict(self) -> JsonDict:
        return {
            "number": self.number,
            "weights": self.weights,
            "salt": self.salt,
            "keep_assignments": self.keep_assignments,
            "started_at": self.started_at.isoformat(),
            "reason": self.reason,
        }


class CanaryStatus(enum.StrEnum):
    PROGRESSING = "progressing"
    PROMOTED = "promoted"
    ROLLED_BACK = "rolled_back"


class CanaryAction(enum.StrEnum):
    """What the controller decided at one look."""

    HOLD = "hold"
    ADVANCE = "advance"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class CanaryState:
    """Where a canary stands: the step index, its start, and whether it is finished."""

    step: int
    status: CanaryStatus
    step_started_at: datetime

    def to_dict(self) -> JsonDict:
        return {
            "step": self.step,
            "status": self.status.value,
            "step_started_at": self.step_started_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CanaryState:
        return cls(
            step=int(data["step"]),
            status=CanaryStatus(data["status"]),
            step_started_at=datetime.fromisoformat(data["step_started_at"]),
        )


@dataclass(frozen=True)
class CanaryDecision:
    """One recorded look at a canary."""

    at: datetime
    step: int
    traffic_percent: float
    action: CanaryAction
    reason: str
    details: JsonDict = field(default_factory=dict)

    def to_dict(self) -> JsonDict:
        return {
            "at": self.at.isoformat(),
            "step": self.step,
            "traffic_percent": self.traffic_percent,
            "action": self.action.value,
            "reason": self.reason,
            "details": self.details,
        }


@dataclass(frozen=True)
class EndpointState:
    """An endpoint as stored: its spec, generation, phases (oldest first) and canary state."""

    spec: EndpointSpec
    generation: int
    phases: tuple[Phase, ...]
    canary: CanaryState | None
    updated_at: datetime

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def phase(self) -> Phase:
        """The current phase."""
        return self.phases[-1]

    def to_dict(self) -> JsonDict:
        return {
            "name": self.name,
            "generation": self.generation,
            "spec": self.spec.to_dict(),
            "phase": self.phase.to_dict(),
            "canary": None if self.canary is None else self.canary.to_dict(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True)
class Revision:
    """One applied change of an endpoint's spec."""

    generation: int
    spec: JsonDict
    changes: tuple[str, ...]
    actor: str
    applied_at: datetime

    def to_dict(self) -> JsonDict:
        return {
            "generation": self.generation,
            "changes": list(self.changes),
            "actor": self.actor,
            "applied_at": self.applied_at.isoformat(),
        }
