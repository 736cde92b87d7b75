"""The ``prodml models`` commands, driven as a user would, including the bad inputs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from prodml.cli.main import run
from tests.conftest import CliRunner


@pytest.fixture
def saved_model(tmp_path: Path) -> tuple[Path, Path]:
    """A LightGBM text model and a CSV of rows it takes."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    target = (frame["a"] + frame["b"] > 0).astype(int)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_threads": 1},
        lgb.Dataset(frame, target),
        num_boost_round=5,
    )
    model_path = tmp_path / "model.txt"
    booster.save_model(model_path)
    sample = tmp_path / "rows.csv"
    frame.head(20).to_csv(sample, index=False)
    return model_path, sample


def test_register_list_show_alias_delete(cli: CliRunner, saved_model: tuple[Path, Path]) -> None:
    model, sample = saved_model
    code, out, _ = cli(
        "models",
        "register",
        "scorer",
        str(model),
        "--sample",
        str(sample),
        "--metric",
        "auc=0.9",
        "--tag",
        "team=risk",
        "--json",
    )
    assert code == 0
    registered = json.loads(out)
    assert (registered["version"], registered["flavor"]) == (1, "lightgbm")
    assert [s["name"] for s in registered["signature"]["inputs"]] == ["a", "b", "c"]
    assert cli("models", "register", "scorer", str(model), "--sample", str(sample))[0] == 0

    code, out, _ = cli("models", "list", "--json")
    assert [m["name"] for m in json.loads(out)] == ["scorer"]
    assert json.loads(out)[0]["latest_version"] == 2

    assert cli("models", "alias", "set", "scorer", "champion", "1", "--reason", "first")[0] == 0
    code, out, _ = cli("models", "show", "scorer@champion", "--json")
    assert json.loads(out)["version"] == 1 and json.loads(out)["metrics"] == {"auc": 0.9}
    code, out, _ = cli("models", "show", "scorer@champion")
    assert "scorer/1" in out and "lightgbm" in out

    code, out, err = cli("models", "delete", "scorer/1")
    assert code == 4 and "champion" in err and "Traceback" not in err
    assert cli("models", "versions", "scorer", "--json")[0] == 0

    code, out, _ = cli("models", "alias", "history", "scorer", "--json")
    assert json.loads(out)[0]["reason"] == "first"
    assert cli("models", "delete", "scorer/1", "--force")[0] == 0
    code, out, _ = cli("models", "versions", "scorer", "--json")
    assert [v["version"] for v in json.loads(out)] == [2]


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (["models", "show", "nothing"], 3, "no registered model named 'nothing'"),
        (["models", "show", "bad name"], 5, "model name"),
        (["models", "register", "m", "/no/such/file.txt"], 3, "does not exist"),
        (["models", "register", "m", "{model}", "--metric", "auc"], 5, "KEY=VALUE"),
        (["models", "register", "m", "{model}", "--metric", "auc=high"], 5, "not a number"),
        (["models", "register", "m", "{rows}"], 5, "csv"),
        (["models", "nonsense"], 2, "No such command"),
    ],
)
def test_bad_input_gives_one_line_and_an_exit_code(
    cli: CliRunner,
    saved_model: tuple[Path, Path],
    args: list[str],
    code: int,
    fragment: str,
) -> None:
    model, sample = saved_model
    args = [a.format(model=model, rows=sample) for a in args]
    got, _, err = cli(*args)
    assert got == code, err
    assert fragment.lower() in err.lower()
    assert "Traceback" not in err
    _, out, _ = cli("models", "list", "--json")
    assert json.loads(out) == []  # nothing was stored


def test_the_installed_command_runs(saved_model: tuple[Path, Path]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "prodml", "models", "show", "absent"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 3
    assert result.stderr.strip().startswith("error: no registered model")
    version = subprocess.run(
        [sys.executable, "-m", "prodml", "version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert version.stdout.strip() == "0.1.0"


def test_debug_shows_the_traceback() -> None:
    from prodml.errors import ModelNotFoundError

    with pytest.raises(ModelNotFoundError):
        run(["--debug", "models", "show", "absent"])
