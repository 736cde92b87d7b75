"""``prodml features`` commands, run through Typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prodml.cli.features import app
from prodml.errors import ConfigError

from .conftest import driver_rows

DEFS = """
from datetime import timedelta
from prodml.features import Entity, FeatureService, FeatureView, Field, ParquetSource

driver = Entity("driver", ("driver_id",))
stats = FeatureView(
    "driver_stats", entities=(driver,), schema=(Field("trips", "int64"),),
    source=ParquetSource({path!r}, created_timestamp_field="created"), ttl=timedelta(days=1),
)
service = FeatureService("pricing", [stats])
"""


@pytest.fixture
def project(tmp_path: Path) -> list[str]:
    driver_rows().to_parquet(tmp_path / "stats.parquet", index=False)
    (tmp_path / "defs.py").write_text(DEFS.format(path=str(tmp_path / "stats.parquet")))
    return ["--repo", str(tmp_path / "repo"), "--metadata-url", f"sqlite:///{tmp_path}/m.db"]


def test_plan_apply_list_and_materialize(project: list[str], tmp_path: Path) -> None:
    runner = CliRunner()
    defs = ["-f", str(tmp_path / "defs.py")]
    planned = runner.invoke(app, ["plan", *defs, *project, "--json"])
    assert planned.exit_code == 0, planned.output
    assert json.loads(planned.stdout)["summary"] == "3 to add, 0 to update, 0 to remove"
    applied = runner.invoke(app, ["apply", *defs, *project])
    assert "Applied: 3 to add" in applied.stdout
    listed = json.loads(runner.invoke(app, ["list", *project, "--json"]).stdout)
    assert [v["name"] for v in listed["feature_views"]] == ["driver_stats"]
    done = runner.invoke(app, ["materialize", "2023-12-01", "2024-01-02", *project, "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)[0]["rows_read"] == 3
    again = runner.invoke(app, ["materialize-incremental", "2024-01-03", *project, "--json"])
    assert json.loads(again.stdout)[0]["start"].startswith("2024-01-02")


def test_errors_are_prodml_errors_naming_the_problem(project: list[str], tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "bad.py").write_text(
        "from prodml.features import Entity\nbad = Entity('bad name')\n"
    )
    result = runner.invoke(app, ["apply", "-f", str(tmp_path / "bad.py"), *project])
    assert isinstance(result.exception, ConfigError)
    assert "entity 'bad name': field 'name'" in str(result.exception)
    result = runner.invoke(app, ["materialize", "yesterday", "2024-01-01", *project])
    assert isinstance(result.exception, ConfigError)
