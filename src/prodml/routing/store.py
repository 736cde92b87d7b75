"""Endpoints in the metadata database: specs, generations, phases, canary decisions, bandit arms.

Every change takes the next value of one global counter (the *generation*), in the same
transaction as the change. A serving worker polls :meth:`EndpointStore.generation` (one
single-row read) every second or two and reloads only the endpoints whose generation moved
(:meth:`EndpointStore.changed_since`), so every worker converges within seconds of ``apply``.

>>> store = EndpointStore.open()                        # doctest: +SKIP
>>> print(store.plan(spec).summary)                     # doctest: +SKIP
>>> store.apply(spec)                                   # doctest: +SKIP
>>> router = store.router("churn")                      # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from prodml._internal.clock import Clock, SystemClock
from prodml.errors import CanaryMovedError, NotFoundError
from prodml.routing.bandits import ArmStats
from prodml.routing.plan import EndpointPlan, plan_change
from prodml.routing.records import (
    CanaryAction,
    CanaryDecision,
    CanaryState,
    CanaryStatus,
    EndpointState,
    Phase,
    Revision,
)
from prodml.routing.router import Router
from prodml.routing.spec import BanditStrategy, CanaryStrategy, EndpointSpec
from prodml.routing.tables import (
    routing_bandit_arms,
    routing_canary_decisions,
    routing_endpoints,
    routing_generation,
    routing_phases,
    routing_revisions,
)
from prodml.settings import Settings


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything prodml returns is timezone-aware UTC.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _sha(spec: EndpointSpec) -> str:
    return hashlib.sha256(json.dumps(spec.to_dict(), sort_keys=True).encode()).hexdigest()


def _decision(row: Any) -> CanaryDecision:
    return CanaryDecision(
        _utc(row.at),
        row.step,
        row.traffic_percent,
        CanaryAction(row.action),
        row.reason,
        row.details,
    )


def _describe(state: CanaryState | None) -> str:
    if state is None:
        return "no canary"
    return f"step {state.step + 1}, {state.status.value} since {state.step_started_at:%H:%M:%S}"


def _not_found(name: str) -> NotFoundError:
    return NotFoundError(
        f"no endpoint named {name!r}; see the endpoints with: prodml endpoints list"
    )


class EndpointStore:
    """Endpoints and their routing state in a SQL database (SQLite default, PostgreSQL by URL)."""

    def __init__(
        self, engine: Engine, clock: Clock | None = None, *, actor: str = "unknown"
    ) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self.actor = actor

    @classmethod
    def open(
        cls,
        *,
        home: Path | None = None,
        metadata_url: str | None = None,
        clock: Clock | None = None,
    ) -> EndpointStore:
        """The store that the environment (``PRODML_*``) and these overrides describe."""
        settings = Settings.at(home)
        return cls(settings.metadata_engine(metadata_url), clock, actor=settings.user)

    # ---------------------------------------------------------------- polling

    def generation(self) -> int:
        """The newest generation of any endpoint: poll this to learn whether anything changed."""
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(routing_generation.c.value)).scalar_one())

    def changed_since(self, generation: int) -> dict[str, int]:
        """Endpoints changed after ``generation``, with their current generation."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(routing_endpoints.c.name, routing_endpoints.c.generation).where(
                    routing_endpoints.c.generation > generation
                )
            ).all()
        return {r.name: int(r.generation) for r in rows}

    # ---------------------------------------------------------------- plan and apply

    def plan(self, spec: EndpointSpec) -> EndpointPlan:
        """What :meth:`apply` would change; changes nothing."""
        with self.engine.connect() as conn:
            row = self._row(conn, spec.name, required=False)
        stored = None if row is None else EndpointSpec.model_validate(row.spec)
        return plan_change(stored, spec)

    def apply(self, spec: EndpointSpec, *, actor: str | None = None) -> EndpointPlan:
        """Record ``spec``: a new generation, and a new phase when the weights changed."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            row = self._row(conn, spec.name, required=False, lock=True)
            stored = None if row is None else EndpointSpec.model_validate(row.spec)
            plan = plan_change(stored, spec)
            if plan.action == "unchanged":
                return plan
            generation = _next_generation(conn)
            state: dict[str, Any] = {} if row is None else dict(row.state)
            values = {
                "spec": spec.to_dict(),
                "spec_sha256": _sha(spec),
                "generation": generation,
                "updated_at": now,
            }
            if plan.new_phase:
                if isinstance(spec.strategy, CanaryStrategy):
                    state["canary"] = CanaryState(0, CanaryStatus.PROGRESSING, now).to_dict()
                else:
                    state.pop("canary", None)
                self._insert_phase(
                    conn, spec, spec.initial_weights(), plan.keep_assignments, "applied", now
                )
            values["state"] = state
            if row is None:
                conn.execute(
                    sa.insert(routing_endpoints).values(name=spec.name, created_at=now, **values)
                )
            else:
                conn.execute(
                    sa.update(routing_endpoints)
                    .where(routing_endpoints.c.name == spec.name)
                    .values(**values)
                )
            if isinstance(spec.strategy, BanditStrategy):
                self._ensure_arms(conn, spec, now)
            conn.execute(
                sa.insert(routing_revisions).values(
                    endpoint=spec.name,
                    generation=generation,
                    spec=spec.to_dict(),
                    changes=[str(c) for c in plan.changes],
                    actor=actor or self.actor,
                    applied_at=now,
                )
            )
        return EndpointPlan(
            plan.name, plan.action, plan.changes, plan.new_phase, plan.keep_assignments, generation
        )

    # ---------------------------------------------------------------- reading

    def get(self, name: str) -> EndpointState:
        """An endpoint with its phases and canary state.

        Raises:
            NotFoundError: no endpoint has this name.
        """
        with self.engine.connect() as conn:
            row = self._row(conn, name, required=True)
            return self._state(conn, row)

    def endpoints(self) -> list[EndpointState]:
        """Every endpoint, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(routing_endpoints).order_by(routing_endpoints.c.name))
            return [self._state(conn, row) for row in rows.all()]

    def router(self, name: str, *, weights: Mapping[str, float] | None = None) -> Router:
        """A router for the endpoint as stored now (``weights`` overrides, for bandits)."""
        state = self.get(name)
        return Router(state.spec, state.phases, weights=weights, generation=state.generation)

    def revisions(self, name: str) -> list[Revision]:
        with self.engine.connect() as conn:
            self._row(conn, name, required=True)
            rows = conn.execute(
                sa.select(routing_revisions)
                .where(routing_revisions.c.endpoint == name)
                .order_by(routing_revisions.c.id)
            ).all()
        return [
            Revision(int(r.generation), r.spec, tuple(r.changes), r.actor, _utc(r.applied_at))
            for r in rows
        ]

    def canary_decisions(self, name: str) -> list[CanaryDecision]:
        """Every recorded look at the endpoint's canary, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(routing_canary_decisions)
                .where(routing_canary_decisions.c.endpoint == name)
                .order_by(routing_canary_decisions.c.id)
            ).all()
        return [_decision(r) for r in rows]

    def latest_canary_decision(self, name: str) -> CanaryDecision | None:
        """The newest recorded look at the endpoint's canary, or None before the first."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(routing_canary_decisions)
                .where(routing_canary_decisions.c.endpoint == name)
                .order_by(routing_canary_decisions.c.id.desc())
                .limit(1)
            ).first()
        return None if row is None else _decision(row)

    def bandit_arms(self, name: str) -> dict[str, ArmStats]:
        """The shared reward statistics of a bandit endpoint's arms."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(routing_bandit_arms).where(routing_bandit_arms.c.endpoint == name)
            ).all()
        return {
            r.arm: ArmStats(int(r.served), int(r.rewarded), r.reward_sum, r.reward_sum_squares)
            for r in rows
        }

    # ---------------------------------------------------------------- canary transitions

    def record_canary(
        self,
        name: str,
        decision: CanaryDecision,
        *,
        expected: CanaryState,
        state: CanaryState,
        weights: Mapping[str, float] | None,
    ) -> None:
        """Record one canary look; when ``weights`` is given, start the phase that applies them.

        ``expected`` is the state the look judged. Only if the canary is still in it is anything
        recorded (compare-and-set), so of several controllers that judged one state (serving
        workers look concurrently), exactly one moves it. The decision, the new state and the
        new phase land in one transaction: a crash leaves either all of them or none.

        Raises:
            CanaryMovedError: the canary is no longer in ``expected`` (another controller
                decided first, or the endpoint was applied again); nothing was recorded.
            NotFoundError: no endpoint has this name.
        """
        with self.engine.begin() as conn:
            # Locked until commit: a second look waits here, then compares with the first's state.
            row = self._row(conn, name, required=True, lock=True)
            stored = row.state.get("canary")
            current = None if stored is None else CanaryState.from_dict(stored)
            if current != expected:
                raise CanaryMovedError(
                    f"canary {name!r} moved while this look judged it ({_describe(expected)}; "
                    f"now {_describe(current)}): another controller decided first, so this "
                    f"look's {decision.action.value} was not recorded"
                )
            conn.execute(
                sa.insert(routing_canary_decisions).values(
                    endpoint=name,
                    at=decision.at,
                    step=decision.step,
                    traffic_percent=decision.traffic_percent,
                    action=decision.action.value,
                    reason=decision.reason,
                    details=decision.details,
                )
            )
            new_state = dict(row.state)
            if new_state.get("canary") == state.to_dict() and weights is None:
                return  # a hold: nothing that routing depends on moved
            new_state["canary"] = state.to_dict()
            values: dict[str, Any] = {"state": new_state, "updated_at": decision.at}
            if weights is not None:
                spec = EndpointSpec.model_validate(row.spec)
                # Canary steps keep assignments: a unit on the candidate stays on it as it grows.
                self._insert_phase(conn, spec, dict(weights), True, decision.reason, decision.at)
                values["generation"] = _next_generation(conn)
            conn.execute(
                sa.update(routing_endpoints)
                .where(routing_endpoints.c.name == name)
                .values(**values)
            )

    # ---------------------------------------------------------------- internals

    def _row(self, conn: sa.Connection, name: str, *, required: bool, lock: bool = False) -> Any:
        query = sa.select(routing_endpoints).where(routing_endpoints.c.name == name)
        if lock:
            # PostgreSQL: FOR UPDATE holds the row until commit, so a concurrent writer reads
            # the committed result. SQLite ignores it: BEGIN IMMEDIATE already holds the lock.
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None and required:
            raise _not_found(name)
        return row

    def _state(self, conn: sa.Connection, row: Any) -> EndpointState:
        phases = conn.execute(
            sa.select(routing_phases)
            .where(routing_phases.c.endpoint == row.name)
            .order_by(routing_phases.c.number)
        ).all()
        canary = row.state.get("canary")
        return EndpointState(
            spec=EndpointSpec.model_validate(row.spec),
            generation=int(row.generation),
            phases=tuple(
                Phase(
                    p.number,
                    dict(p.weights),
                    p.salt,
                    bool(p.keep_assignments),
                    _utc(p.started_at),
                    p.reason,
                )
                for p in phases
            ),
            canary=None if canary is None else CanaryState.from_dict(canary),
            updated_at=_utc(row.updated_at),
        )

    def _insert_phase(
        self,
        conn: sa.Connection,
        spec: EndpointSpec,
        weights: dict[str, float],
        keep: bool,
        reason: str,
        now: datetime,
    ) -> None:
        last = conn.execute(
            sa.select(routing_phases.c.number, routing_phases.c.salt)
            .where(routing_phases.c.endpoint == spec.name)
            .order_by(routing_phases.c.number.desc())
            .limit(1)
        ).first()
        number = 1 if last is None else last.number + 1
        if keep and last is not None:
            salt = last.salt  # the experiment's original salt: units stay where they were
        else:
            salt = spec.hash_salt if number == 1 else f"{spec.hash_salt}#{number}"
        conn.execute(
            sa.insert(routing_phases).values(
                endpoint=spec.name,
                number=number,
                weights={k: weights.get(k, 0.0) for k in spec.variant_names},
                salt=salt,
                keep_assignments=keep and last is not None,
                reason=reason,
                started_at=now,
            )
        )

    def _ensure_arms(self, conn: sa.Connection, spec: EndpointSpec, now: datetime) -> None:
        have = set(
            conn.execute(
                sa.select(routing_bandit_arms.c.arm).where(
                    routing_bandit_arms.c.endpoint == spec.name
                )
            ).scalars()
        )
        missing = [n for n in spec.variant_names if n not in have]
        if missing:
            conn.execute(
                sa.insert(routing_bandit_arms),
                [
                    {
                        "endpoint": spec.name,
                        "arm": arm,
                        "served": 0,
                        "rewarded": 0,
                        "reward_sum": 0.0,
                        "reward_sum_squares": 0.0,
                        "updated_at": now,
                    }
                    for arm in missing
                ],
            )


def _next_generation(conn: sa.Connection) -> int:
    # UPDATE first: on PostgreSQL it locks the counter row until commit; on SQLite the
    # transaction already holds the write lock (BEGIN IMMEDIATE).
    conn.execute(
        sa.update(routing_generation)
        .where(routing_generation.c.id == 1)
        .values(value=routing_generation.c.value + 1)
    )
    return int(
        conn.execute(
            sa.select(routing_generation.c.value).where(routing_generation.c.id == 1)
        ).scalar_one()
    )
