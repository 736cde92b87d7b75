"""``plan``: what applying a spec would change, for people, without changing anything.

Variants are compared by name (``variants.treatment.model``), not by list position, so reordering
the YAML is not reported as a change of every variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from prodml.routing.spec import EndpointSpec, FixedStrategy
from prodml.types import JsonDict

PlanAction = Literal["create", "update", "unchanged"]


@dataclass(frozen=True)
class Change:
    """One field that differs; ``before`` or ``after`` is None for added or removed fields."""

    path: str
    before: Any
    after: Any

    def __str__(self) -> str:
        if self.before is None:
            return f"+ {self.path}: {_show(self.after)}"
        if self.after is None:
            return f"- {self.path}: {_show(self.before)}"
        return f"~ {self.path}: {_show(self.before)} -> {_show(self.after)}"


@dataclass(frozen=True)
class EndpointPlan:
    """The outcome of planning (or applying) one endpoint.

    Attributes:
        new_phase: applying starts a new phase (weights, strategy, salt or a model changed).
        keep_assignments: the new phase keeps units where the new weights allow.
        generation: the generation after applying (None for a plan).
    """

    name: str
    action: PlanAction
    changes: tuple[Change, ...]
    new_phase: bool
    keep_assignments: bool
    generation: int | None = None

    @property
    def summary(self) -> str:
        phase = ""
        if self.new_phase and self.action == "update":
            how = "keeping assignments" if self.keep_assignments else "re-randomising units"
            phase = f"; starts a new phase ({how})"
        return (
            f"{self.name}: {self.action}"
            + (f", {len(self.changes)} change(s)" if self.changes else "")
            + phase
        )

    def to_dict(self) -> JsonDict:
        return {
            "name": self.name,
            "action": self.action,
            "changes": [str(c) for c in self.changes],
            "new_phase": self.new_phase,
            "keep_assignments": self.keep_assignments,
            "generation": self.generation,
        }


def plan_change(stored: EndpointSpec | None, proposed: EndpointSpec) -> EndpointPlan:
    """Compare a stored spec (None: not stored yet) with a proposed one."""
    if stored is None:
        return EndpointPlan(
            proposed.name, "create", tuple(diff(None, _comparable(proposed))), True, False
        )
    changes = tuple(diff(_comparable(stored), _comparable(proposed)))
    if not changes:
        return EndpointPlan(proposed.name, "unchanged", (), False, False)
    new_phase = _starts_phase(stored, proposed)
    keep = (
        new_phase
        and isinstance(proposed.strategy, FixedStrategy)
        and proposed.strategy.keep_assignments
        and stored.strategy.kind == proposed.strategy.kind
        and stored.hash_salt == proposed.hash_salt
    )
    return EndpointPlan(proposed.name, "update", changes, new_phase, bool(keep))


def _starts_phase(stored: EndpointSpec, proposed: EndpointSpec) -> bool:
    # Anything that changes who sees what, or what they see, must not share a phase with the
    # old setting: analysis would mix two experiments.
    models = {v.name: v.model for v in stored.variants}
    return (
        stored.strategy.kind != proposed.strategy.kind
        or stored.hash_salt != proposed.hash_salt
        or stored.initial_weights() != proposed.initial_weights()
        or models != {v.name: v.model for v in proposed.variants}
    )


def _comparable(spec: EndpointSpec) -> JsonDict:
    data = spec.to_dict()
    data["variants"] = {v["name"]: {"model": v["model"]} for v in data["variants"]}
    return data


def diff(before: Any, after: Any, path: str = "") -> list[Change]:
    """Field-by-field differences between two JSON-like values, with dotted paths."""
    if isinstance(before, dict) and isinstance(after, dict):
        changes: list[Change] = []
        for key in list(before) + [k for k in after if k not in before]:
            sub = f"{path}.{key}" if path else str(key)
            changes.extend(diff(before.get(key), after.get(key), sub))
        return changes
    if before is None and isinstance(after, dict):
        return [c for key, value in after.items() for c in diff(None, value, _join(path, key))]
    if after is None and isinstance(before, dict):
        return [c for key, value in before.items() for c in diff(value, None, _join(path, key))]
    if before == after:
        return []
    return [Change(path, before, after)]


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
