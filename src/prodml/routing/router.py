"""Assignment on the hot path: ``Router.choose(unit_key, rng) -> Assignment`` in microseconds.

A unit with a key is hashed, so it sees the same variant on every request, in every worker,
without an assignment store. A request without a key is randomised with the injected ``rng``.

**The hash.** ``u(key, unit) = BLAKE2b-64(unit as UTF-8, key=K) / 2**64``, a uniform number in
[0, 1), where ``K = BLAKE2b-256(purpose + "\\0" + salt)``. Variants own consecutive slices of
[0, 1) in the order of the spec, as wide as their weights; a unit goes to the slice holding
``u("assign", phase salt)``.

**Phases.** Changing weights starts a new phase. Without ``keep_assignments`` the phase gets a
fresh salt (``<salt>#<phase>``) and every unit is re-randomised. With ``keep_assignments`` the
phase keeps the experiment's original salt and moves as few units as the new weights allow:

1. Take the unit's variant ``v`` in the previous phase (recursively, back to the last phase that
   re-randomised), with old share ``p_v`` and new share ``q_v``.
2. Draw ``r = u("move#<phase>", salt)``. If ``r < min(1, q_v / p_v)`` the unit keeps ``v``: a
   variant that grew or stayed keeps all its units, one that shrank keeps a random ``q_v / p_v``
   of them.
3. Otherwise the unit is released and goes to a growing variant ``g`` with probability
   ``(q_g - p_g) / sum of growth``, chosen with ``(r - q_v/p_v) / (1 - q_v/p_v)`` (again
   uniform) over consecutive slices.

Each variant then holds exactly its new share, and the fewest possible units change variant.
Analysis keeps phases apart either way.

>>> import random
>>> from prodml.routing.spec import EndpointSpec
>>> spec = EndpointSpec.parse({"name": "ep", "variants": [
...     {"name": "a", "model": "m/1"}, {"name": "b", "model": "m/2"}],
...     "strategy": {"kind": "fixed", "weights": {"a": 1, "b": 1}}})
>>> router = Router.for_spec(spec)
>>> router.choose("user-42", random.Random(0)) == router.choose("user-42", random.Random(1))
True
"""

from __future__ import annotations

import hashlib
import itertools
import struct
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple, Protocol

from prodml.errors import ConfigError
from prodml.routing.records import Phase
from prodml.routing.spec import EndpointSpec, ShadowStrategy

_SCALE = 2.0**-64
_U64 = struct.Struct(">Q").unpack


class UniformSource(Protocol):
    """Anything with ``random() -> float`` in [0, 1): ``random.Random`` is the fast choice."""

    def random(self) -> float: ...


class Assignment(NamedTuple):
    """Which variant answers, in which phase, which shadows get a copy, and why."""

    variant: str
    phase: int
    shadow_variants: tuple[str, ...]
    reason: str


def hash_key(salt: str, purpose: str) -> bytes:
    """The 32-byte BLAKE2b key for one use of a salt (assignment, a phase's moves, shadows)."""
    return hashlib.blake2b(f"{purpose}\0{salt}".encode(), digest_size=32).digest()


def unit_uniform(key: bytes, unit: str) -> float:
    """A unit's uniform number in [0, 1) under ``key``; the same in every process."""
    return _uniform(hashlib.blake2b(key=key, digest_size=8), unit)


def _uniform(keyed: hashlib.blake2b, unit: str) -> float:
    # Copying a hasher that already absorbed its key skips BLAKE2b's key block per request.
    hasher = keyed.copy()
    hasher.update(unit.encode())
    value: int = _U64(hasher.digest())[0]
    return value * _SCALE


def _cumulative(
    names: Sequence[str], weights: Mapping[str, float]
) -> tuple[list[str], list[float]]:
    live = [n for n in names if weights.get(n, 0.0) > 0]
    total = sum(weights[n] for n in live)
    if not live or total <= 0:
        raise ConfigError(f"no variant has traffic; weights were {dict(weights)}")
    edges, running = [], 0.0
    for name in live:
        running += weights[name] / total
        edges.append(running)
    edges[-1] = 1.0  # rounding must not leave a sliver of [0, 1) unowned
    return live, edges


class _Move:
    """The precomputed keep-or-move rule of one phase that keeps assignments."""

    __slots__ = ("edges", "growing", "keep", "key", "reason_kept", "reason_moved")

    def __init__(self, phase: Phase, previous: Mapping[str, float], names: Sequence[str]) -> None:
        self.key = hashlib.blake2b(key=hash_key(phase.salt, f"move#{phase.number}"), digest_size=8)
        new = phase.weights
        # Units in a variant absent from the previous phase cannot exist; 1.0 is a safe filler.
        self.keep = {
            n: min(1.0, new.get(n, 0.0) / p) if (p := previous.get(n, 0.0)) > 0 else 1.0
            for n in names
        }
        growth = {n: new.get(n, 0.0) - previous.get(n, 0.0) for n in names}
        growing = {n: g for n, g in growth.items() if g > 0}
        self.growing, self.edges = _cumulative(names, growing) if growing else ([], [])
        self.reason_kept = f"unit hash, kept into phase {phase.number}"
        self.reason_moved = f"unit hash, moved in phase {phase.number}"

    def apply(self, variant: str, unit: str) -> tuple[str, bool]:
        keep = self.keep[variant]
        if keep >= 1.0:
            return variant, True
        r = _uniform(self.key, unit)
        if r < keep:
            return variant, True
        r = (r - keep) / (1.0 - keep)
        return self.growing[min(bisect_right(self.edges, r), len(self.growing) - 1)], False


class Router:
    """Chooses a variant per request for one endpoint; immutable, cheap to share.

    Build it with :meth:`for_spec` (a fresh endpoint), :meth:`for_state` (from the store), or
    :meth:`EndpointStore.router <prodml.routing.store.EndpointStore.router>`.
    """

    __slots__ = (
        "_assign_key",
        "_edges",
        "_live",
        "_moves",
        "_phase",
        "_reason_hash",
        "_shadow_key",
        "_shadow_sample",
        "_shadows",
        "generation",
        "name",
        "weights",
    )

    def __init__(
        self,
        spec: EndpointSpec,
        phases: Sequence[Phase],
        *,
        weights: Mapping[str, float] | None = None,
        generation: int = 0,
    ) -> None:
        """Args:
        spec: the endpoint.
        phases: its phases, oldest first (at least the current one).
        weights: replace the current phase's weights (bandits: learnt weights).
        generation: the store generation this router was built from.
        """
        if not phases:
            raise ConfigError(f"endpoint {spec.name!r} has no phase to route by")
        names = spec.variant_names
        self.name = spec.name
        self.generation = generation
        current = phases[-1]
        self._phase = current.number
        self.weights = dict(weights if weights is not None else current.weights)
        # The chain of phases that decide a unit: back to the last one that re-randomised.
        start = len(phases) - 1
        while weights is None and start > 0 and phases[start].keep_assignments:
            start -= 1
        chain = list(phases[start:]) if weights is None else [current]
        base = chain[0]
        base_weights = self.weights if weights is not None else base.weights
        self._live, self._edges = _cumulative(names, base_weights)
        self._assign_key = hashlib.blake2b(key=hash_key(base.salt, "assign"), digest_size=8)
        self._moves = [
            _Move(phase, prev.weights, names) for prev, phase in itertools.pairwise(chain)
        ]
        self._reason_hash = "unit hash"
        strategy = spec.strategy
        if isinstance(strategy, ShadowStrategy):
            self._shadows: tuple[str, ...] = tuple(strategy.shadows)
            self._shadow_sample = strategy.sample
        else:
            self._shadows, self._shadow_sample = (), 0.0
        self._shadow_key = hashlib.blake2b(key=hash_key(spec.hash_salt, "shadow"), digest_size=8)

    @classmethod
    def for_spec(cls, spec: EndpointSpec, *, now: datetime | None = None) -> Router:
        """A router for a spec that has not been stored (phase 1, its initial weights)."""
        phase = Phase(
            1, spec.initial_weights(), spec.hash_salt, False, now or datetime.now(UTC), "new"
        )
        return cls(spec, [phase])

    @property
    def phase(self) -> int:
        return self._phase

    def choose(self, unit_key: str | None, rng: UniformSource) -> Assignment:
        """The variant for one request (sticky for a unit key, random without one)."""
        if unit_key is None:
            r = rng.random()
            variant = self._live[min(bisect_right(self._edges, r), len(self._live) - 1)]
            reason = "random: no unit key"
            shadow = bool(self._shadows) and rng.random() < self._shadow_sample
        else:
            r = _uniform(self._assign_key, unit_key)
            variant = self._live[min(bisect_right(self._edges, r), len(self._live) - 1)]
            reason = self._reason_hash
            for move in self._moves:
                variant, kept = move.apply(variant, unit_key)
                reason = move.reason_kept if kept else move.reason_moved
            # Sampling by the unit keeps a session wholly in or out of the shadow sample.
            shadow = bool(self._shadows) and (
                _uniform(self._shadow_key, unit_key) < self._shadow_sample
            )
        return Assignment(variant, self._phase, self._shadows if shadow else (), reason)
