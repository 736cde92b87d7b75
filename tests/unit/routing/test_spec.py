"""Endpoint specs: what a valid one looks like, and errors that name the field at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from prodml.errors import ConfigError
from prodml.routing import EndpointSpec, UnitKey, load_endpoints

BASE: dict[str, Any] = {
    "name": "churn",
    "variants": [{"name": "a", "model": "churn/1"}, {"name": "b", "model": "churn@challenger"}],
    "strategy": {"kind": "fixed", "weights": {"a": 1, "b": 3}},
}


def with_strategy(**strategy: Any) -> dict[str, Any]:
    return {**BASE, "strategy": strategy}


def test_fixed_weights_are_normalised() -> None:
    spec = EndpointSpec.parse(BASE)
    assert spec.initial_weights() == {"a": 0.25, "b": 0.75}
    assert spec.control == "a"
    assert spec.variant("b").ref.alias == "challenger"


@pytest.mark.parametrize(
    ("data", "field", "hint"),
    [
        ({**BASE, "name": "bad name"}, "name", "pattern"),
        ({**BASE, "variants": []}, "variants", "at least 1"),
        (
            {**BASE, "variants": [{"name": "a", "model": "churn"}, BASE["variants"][1]]},
            "variants.0.model",
            "pin one",
        ),
        (with_strategy(kind="fixed", weights={"a": 1, "zz": 1}), "strategy.weights", "'zz'"),
        (with_strategy(kind="fixed", weights={"a": -1}), "strategy.weights.a", "greater than"),
        (with_strategy(kind="fixed", weights={"a": 0}), "strategy.weights", "above 0"),
        (
            with_strategy(kind="canary", baseline="a", candidate="b", steps=[50, 25]),
            "strategy.steps",
            "increase",
        ),
        (
            with_strategy(kind="canary", baseline="a", candidate="b", steps=[0]),
            "strategy.steps.0",
            "greater than",
        ),
        (with_strategy(kind="canary", baseline="a", candidate="c"), "strategy.candidate", "'c'"),
        (
            with_strategy(
                kind="canary",
                baseline="a",
                candidate="b",
                guardrails={"error_rate": {"max_increase": 0}},
            ),
            "strategy.guardrails.error_rate.max_increase",
            "greater than 0",
        ),
        (with_strategy(kind="shadow", primary="a", shadows=[]), "strategy.shadows", "at least 1"),
        (with_strategy(kind="bandit", floor=0.6), "strategy.floor", "nothing to learn"),
        (with_strategy(kind="nope"), "strategy", "kind"),
        ({**BASE, "unit_key": {"source": "cookie", "name": "u"}}, "unit_key.source", "header"),
        ({**BASE, "colour": "red"}, "colour", "unknown field"),
    ],
)
def test_errors_name_the_field(data: dict[str, Any], field: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        EndpointSpec.parse(data, source="endpoint.yaml")
    message = str(info.value)
    assert f"  {field}:" in message or f"{field}:" in message, message
    assert hint in message, message
    assert message.startswith("endpoint.yaml")


def test_canary_starts_at_its_first_step() -> None:
    spec = EndpointSpec.parse(with_strategy(kind="canary", baseline="a", candidate="b"))
    assert spec.initial_weights() == pytest.approx({"a": 0.95, "b": 0.05})
    assert spec.control == "a"


def test_unit_key_extraction() -> None:
    header = UnitKey(source="header", name="X-User-Id")
    assert header.extract(headers={"x-user-id": "u1"}) == "u1"
    assert header.extract(headers={"other": "u1"}) is None
    assert UnitKey(source="param", name="user").extract(params={"user": 7}) == "7"
    assert UnitKey(source="field", name="user").extract(fields={"user": ""}) is None


def test_yaml_loader_reads_documents_and_lists(tmp_path: Path) -> None:
    path = tmp_path / "endpoints.yaml"
    path.write_text(
        """
name: one
variants: [{name: a, model: m/1}, {name: b, model: m/2}]
strategy: {kind: fixed, weights: {a: 1, b: 1}}
---
- name: two
  variants: [{name: a, model: m/1}]
  strategy: {kind: fixed, weights: {a: 1}}
"""
    )
    assert [s.name for s in load_endpoints(path)] == ["one", "two"]


def test_yaml_loader_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_endpoints(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_endpoints(bad)
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("name: x\nvariants: []\nstrategy: {kind: fixed, weights: {}}\n")
    with pytest.raises(ConfigError, match=r"invalid\.yaml 'x' is invalid"):
        load_endpoints(invalid)
