"""Assignment: proportions, stickiness, random fallback, phases that keep or re-randomise."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prodml.routing import EndpointSpec, Phase, Router
from tests.unit.routing.conftest import fixed_spec

UNITS = [f"user-{i}" for i in range(20_000)]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _phase(
    number: int, weights: dict[str, float], salt: str = "churn", keep: bool = False
) -> Phase:
    total = sum(weights.values())
    return Phase(number, {k: v / total for k, v in weights.items()}, salt, keep, T0, "test")


def _shares(router: Router, units: list[str]) -> dict[str, float]:
    rng = random.Random(0)
    counts = Counter(router.choose(u, rng).variant for u in units)
    return {k: v / len(units) for k, v in counts.items()}


weights_strategy = st.lists(st.integers(1, 100), min_size=2, max_size=4).map(
    lambda ws: {f"v{i}": float(w) for i, w in enumerate(ws)}
)


@settings(max_examples=15, deadline=None)
@given(weights=weights_strategy, salt=st.text(min_size=1, max_size=8))
def test_split_matches_weights(weights: dict[str, float], salt: str) -> None:
    spec = fixed_spec(weights)
    router = Router(spec, [_phase(1, weights, salt)])
    shares = _shares(router, UNITS)
    total = sum(weights.values())
    for name, w in weights.items():
        # 20,000 units: the binomial standard error is below 0.0036; allow ~4 of them.
        assert shares.get(name, 0.0) == pytest.approx(w / total, abs=0.015)


@settings(max_examples=25, deadline=None)
@given(unit=st.text(min_size=1, max_size=30), seeds=st.tuples(st.integers(), st.integers()))
def test_a_unit_always_sees_the_same_variant(unit: str, seeds: tuple[int, int]) -> None:
    spec = fixed_spec()
    first = Router.for_spec(spec).choose(unit, random.Random(seeds[0]))
    again = Router.for_spec(spec).choose(unit, random.Random(seeds[1]))
    assert first == again
    assert first.reason == "unit hash"


def test_requests_without_a_unit_key_are_randomised() -> None:
    router = Router.for_spec(fixed_spec({"a": 30, "b": 70}))
    rng = random.Random(1)
    counts = Counter(router.choose(None, rng).variant for _ in range(20_000))
    assert counts["a"] / 20_000 == pytest.approx(0.3, abs=0.015)
    assert router.choose(None, rng).reason == "random: no unit key"


def test_zero_weight_variant_gets_nothing() -> None:
    router = Router(fixed_spec({"a": 1, "b": 1}), [_phase(1, {"a": 1, "b": 0})])
    assert _shares(router, UNITS[:2000]) == {"a": 1.0}


@settings(max_examples=15, deadline=None)
@given(old=weights_strategy, new_raw=st.lists(st.integers(0, 100), min_size=4, max_size=4))
def test_keep_assignments_moves_only_the_units_it_must(
    old: dict[str, float], new_raw: list[int]
) -> None:
    names = list(old)
    new = {n: float(new_raw[i]) for i, n in enumerate(names)}
    if sum(new.values()) == 0:
        new[names[0]] = 1.0
    spec = fixed_spec(old)
    p1, p2 = _phase(1, old), _phase(2, new, keep=True)
    before = Router(spec, [p1])
    after = Router(spec, [p1, p2])
    rng = random.Random(0)
    moved = 0
    for unit in UNITS[:10_000]:
        a, b = before.choose(unit, rng).variant, after.choose(unit, rng).variant
        if a != b:
            moved += 1
            # Only a shrinking variant releases units, and only a growing one receives them.
            assert p2.weights[a] < p1.weights[a]
            assert p2.weights[b] > p1.weights[b]
    # Exactly the mass that must move moves (half the L1 distance), within sampling noise.
    must = sum(abs(p2.weights[n] - p1.weights[n]) for n in names) / 2
    assert moved / 10_000 == pytest.approx(must, abs=0.02)
    shares = _shares(after, UNITS)
    for name in names:
        assert shares.get(name, 0.0) == pytest.approx(p2.weights[name], abs=0.015)


def test_without_keep_assignments_units_are_reshuffled() -> None:
    spec = fixed_spec({"a": 1, "b": 1})
    p1 = _phase(1, {"a": 1, "b": 1})
    p2 = _phase(2, {"a": 1, "b": 1.0001}, salt="churn#2")  # almost the same weights
    before, after = Router(spec, [p1]), Router(spec, [p1, p2])
    rng = random.Random(0)
    changed = sum(
        before.choose(u, rng).variant != after.choose(u, rng).variant for u in UNITS[:5000]
    )
    assert changed / 5000 == pytest.approx(0.5, abs=0.05)  # independent draws: half move


def test_keep_chains_across_phases() -> None:
    spec = fixed_spec({"a": 1, "b": 1})
    phases = [
        _phase(1, {"a": 95, "b": 5}),
        _phase(2, {"a": 75, "b": 25}, keep=True),
        _phase(3, {"a": 50, "b": 50}, keep=True),
    ]
    routers = [Router(spec, phases[: i + 1]) for i in range(3)]
    rng = random.Random(0)
    for unit in UNITS[:5000]:
        seen = [r.choose(unit, rng).variant for r in routers]
        # A canary only grows: once on "b", a unit stays on "b".
        if seen[0] == "b":
            assert seen[1:] == ["b", "b"]
        if seen[1] == "b":
            assert seen[2] == "b"
    assert routers[2].choose(UNITS[0], rng).phase == 3


def test_shadow_sample_is_sticky_per_unit() -> None:
    spec = EndpointSpec.parse(
        {
            "name": "s",
            "variants": [{"name": "live", "model": "m/1"}, {"name": "new", "model": "m/2"}],
            "strategy": {"kind": "shadow", "primary": "live", "shadows": ["new"], "sample": 0.2},
        }
    )
    router = Router.for_spec(spec)
    rng = random.Random(0)
    picks = [router.choose(u, rng) for u in UNITS[:10_000]]
    assert {p.variant for p in picks} == {"live"}
    mirrored = sum(p.shadow_variants == ("new",) for p in picks)
    assert mirrored / 10_000 == pytest.approx(0.2, abs=0.02)
    assert all(
        router.choose(p_unit, rng) == p for p_unit, p in zip(UNITS[:200], picks, strict=False)
    )


def test_bandit_weights_override_the_phase() -> None:
    router = Router(
        fixed_spec({"a": 1, "b": 1}), [_phase(1, {"a": 1, "b": 1})], weights={"a": 0.1, "b": 0.9}
    )
    assert _shares(router, UNITS[:5000])["b"] == pytest.approx(0.9, abs=0.02)
