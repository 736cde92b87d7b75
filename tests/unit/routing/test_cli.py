"""``prodml endpoints`` and ``prodml experiments``, driven as a user would (exit codes included)."""

from __future__ import annotations

import json
from pathlib import Path

from prodml.routing import EndpointStore, Served, SqlFeedbackStore
from tests.conftest import CliRunner

YAML = """
name: churn
unit_key: {source: header, name: x-user-id}
variants:
  - {name: control, model: churn/1}
  - {name: treatment, model: churn/2}
strategy: {kind: fixed, weights: {control: %s, treatment: %s}, keep_assignments: true}
"""


def test_plan_apply_list_show_history(cli: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "endpoint.yaml"
    spec.write_text(YAML % (50, 50))
    code, out, _ = cli("endpoints", "plan", "-f", str(spec))
    assert code == 0 and "churn: create" in out
    assert cli("endpoints", "list", "--json")[1].strip() == "[]"
    code, out, _ = cli("endpoints", "apply", "-f", str(spec), "--json")
    assert code == 0 and json.loads(out)[0]["generation"] == 1
    spec.write_text(YAML % (80, 20))
    code, out, _ = cli("endpoints", "plan", "-f", str(spec))
    assert "~ strategy.weights.control: 50 -> 80" in out and "keeping assignments" in out
    cli("endpoints", "apply", "-f", str(spec))
    code, out, _ = cli("endpoints", "list")
    assert code == 0 and "control 80%" in out
    code, out, _ = cli("endpoints", "show", "churn", "--json")
    assert json.loads(out)["phase"]["number"] == 2
    code, out, _ = cli("endpoints", "show", "churn")
    assert "phase 2" in out and "header x-user-id" in out
    code, out, _ = cli("endpoints", "history", "churn")
    assert code == 0 and "revisions" in out and "phases" in out


def test_errors_map_to_exit_codes(cli: CliRunner, tmp_path: Path) -> None:
    assert cli("endpoints", "show", "nope")[0] == 3
    assert cli("endpoints", "apply", "-f", str(tmp_path / "missing.yaml"))[0] == 3
    bad = tmp_path / "bad.yaml"
    bad.write_text(YAML % (50, -1))
    code, _, err = cli("endpoints", "apply", "-f", str(bad))
    assert code == 5 and "strategy.weights.treatment" in err


def test_feedback_send_and_report(cli: CliRunner, tmp_path: Path) -> None:
    spec = tmp_path / "endpoint.yaml"
    spec.write_text(YAML % (50, 50))
    cli("endpoints", "apply", "-f", str(spec))
    log = SqlFeedbackStore.open()
    log.record_served_many(
        [
            Served(f"r{i}", "churn", "control" if i % 2 else "treatment", 1, unit=f"u{i}")
            for i in range(400)
        ]
    )
    lines = [
        json.dumps({"request_id": f"r{i}", "value": float(i % 2 == 0 or i % 5 == 0)})
        for i in range(1, 400)
    ]
    path = tmp_path / "feedback.jsonl"
    path.write_text("\n".join(lines))
    code, out, _ = cli("endpoints", "feedback", "send", "churn", "--file", str(path), "--json")
    assert code == 0 and json.loads(out) == {"recorded": 399, "unchanged": 0}
    code, out, _ = cli("endpoints", "feedback", "send", "churn", "r0", "1")
    assert code == 0 and "recorded=1" in out
    code, _, err = cli("endpoints", "feedback", "send", "churn", "missing", "1")
    assert code == 3 and "'missing'" in err
    code, out, _ = cli("experiments", "report", "churn", "--json")
    data = json.loads(out)
    assert data["analysis"]["srm"]["mismatch"] is False
    [treatment] = data["analysis"]["variants"]
    assert treatment["name"] == "treatment"
    assert treatment["metrics"][0]["metric"] == "reward" and treatment["metrics"][0]["mean"] == 1.0
    code, out, _ = cli("experiments", "report", "churn")
    assert code == 0 and "sample ratio check: ok" in out and "reward" in out
    assert EndpointStore.open().get("churn").phase.number == 1
