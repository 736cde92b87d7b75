"""Our drift verdicts and statistics against Evidently 0.7.23's, recorded in a fixture.

``fixtures/make_evidently_fixtures.py`` ran Evidently (in a venv of its own) on the cases that
its ``make_cases`` builds and wrote ``fixtures/evidently_0_7_23.json``; here we rebuild the same
data, check its digest, and compare. The only expected difference is chi-square: ours is the
two-sample homogeneity test, Evidently's a goodness-of-fit test against the reference, whose
p-values are smaller.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from prodml.monitoring import DriftReport, data_drift

FIXTURES = Path(__file__).parent / "fixtures"
RECORDED: dict[str, Any] = json.loads((FIXTURES / "evidently_0_7_23.json").read_text())

NAMES = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
}
OPTIONS = {
    "ks": ("num",),
    "wasserstein": ("num",),
    "psi": ("num", "cat"),
    "jensenshannon": ("num", "cat"),
    "chisquare": ("cat",),
    "z": ("cat",),
}


def _load_cases() -> Any:
    spec = importlib.util.spec_from_file_location(
        "make_evidently_fixtures", FIXTURES / "make_evidently_fixtures.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MODULE = _load_cases()
CASES: dict[str, Any] = MODULE.make_cases()


def _compare(ours: DriftReport, theirs: dict[str, Any]) -> None:
    for col in ours.columns:
        ev = theirs["columns"][col.column]
        assert col.method == NAMES[ev["stattest_name"]], col.column
        assert col.threshold == ev["threshold"]
        if col.method == "chisquare":
            # Homogeneity accounts for the reference's own noise: never smaller than GOF's.
            assert col.score >= ev["score"] * (1 - 1e-9), col.column
            if ev["score"] < 1e-3 or ev["score"] > 0.2:
                assert col.drifted == ev["drifted"], col.column
        else:
            assert col.score == pytest.approx(ev["score"], rel=1e-7, abs=1e-12), col.column
            assert col.drifted == ev["drifted"], col.column


@pytest.mark.parametrize("name", sorted(RECORDED["cases"]))
def test_default_verdicts_match_evidently(name: str) -> None:
    case, recorded = CASES[name], RECORDED["cases"][name]
    assert MODULE.digest(case) == recorded["sha256"], "generated data differ from the fixture's"
    ours = data_drift(case["reference"], case["current"])
    _compare(ours, recorded["default"])
    if all(c.method != "chisquare" for c in ours.columns):
        assert ours.dataset_drift == recorded["default"]["dataset_drift"]
        assert ours.share_drifted == pytest.approx(recorded["default"]["share_of_drifted_columns"])


@pytest.mark.parametrize("name", sorted(RECORDED["cases"]))
@pytest.mark.parametrize("method", sorted(OPTIONS))
def test_named_methods_match_evidently(name: str, method: str) -> None:
    case = CASES[name]
    kinds = OPTIONS[method]
    ours = data_drift(
        case["reference"],
        case["current"],
        num_method=method if "num" in kinds else None,
        cat_method=method if "cat" in kinds else None,
    )
    _compare(ours, RECORDED["cases"][name]["methods"][method])


def test_fixture_covers_every_default_branch() -> None:
    seen = {
        NAMES[col["stattest_name"]]
        for case in RECORDED["cases"].values()
        for col in case["default"]["columns"].values()
    }
    assert seen == {"ks", "chisquare", "z", "wasserstein", "jensenshannon"}
