"""LightGBM forests compiled by lleaves answer what ``Booster.predict`` answers, are compiled
once per model and machine (then loaded from the cache), and are refused where they don't apply."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris
from sklearn.linear_model import LinearRegression

from prodml.errors import MissingExtraError, UnsupportedModelError
from prodml.registry import Registry
from prodml.runtimes import RuntimeOptions
from prodml.runtimes.flavors.compiled_trees import CompiledForest
from prodml.serving.config import ModelConfig
from prodml.serving.sources import DefaultLoader

pytest.importorskip("lleaves", reason="the lleaves extra is not installed")

_SMALL: dict[str, Any] = {"n_estimators": 15, "num_leaves": 7, "verbose": -1}


def _assert_same(got: object, expected: object) -> None:
    got_, expected_ = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    np.testing.assert_allclose(got_, expected_, rtol=0, atol=1e-12)


def _with_missing(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64, copy=True)
    x[::5, 0] = np.nan  # LightGBM's missing-value rules must hold in the compiled code too
    return x


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (lgb.LGBMClassifier(**_SMALL), load_breast_cancer),
        (lgb.LGBMClassifier(**_SMALL), load_iris),
        (lgb.LGBMRegressor(**_SMALL), load_diabetes),
    ],
    ids=["binary", "multiclass", "regression"],
)
def test_a_registered_forest_compiled_predicts_what_lightgbm_predicts(
    model: lgb.LGBMModel, data: object
) -> None:
    x, y = data(return_X_y=True)  # type: ignore[operator]
    model.fit(_with_missing(x), y)
    with Registry.open() as registry:
        version = registry.register("forest", model, sample=x[:5])
        plain = registry.load(version)
        compiled = registry.load(version, RuntimeOptions(compiled=True))
    rows = _with_missing(x)
    expected, got = plain.predict(rows), compiled.predict(rows)
    assert expected.keys() == got.keys()
    for name in expected:
        _assert_same(got[name], expected[name])


def test_the_object_code_is_compiled_once_and_then_loaded_from_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x, y = load_breast_cancer(return_X_y=True)
    model_file = tmp_path / "model.txt"
    lgb.LGBMClassifier(**_SMALL).fit(x, y).booster_.save_model(str(model_file))
    cache = tmp_path / "cache"
    first = CompiledForest(model_file, cache_dir=cache)
    [entry] = cache.glob("*.o")
    assert not list(cache.glob("*.partial"))  # written under a temporary name, then renamed

    import lleaves.compiler

    def no_compiling(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled again instead of loading the cache")

    monkeypatch.setattr(lleaves.compiler, "compile_to_module", no_compiling)
    second = CompiledForest(model_file, cache_dir=cache)
    np.testing.assert_array_equal(second.predict(x[:50]), first.predict(x[:50]))
    assert list(cache.glob("*.o")) == [entry]

    lgb.LGBMClassifier(**{**_SMALL, "n_estimators": 5}).fit(x, y).booster_.save_model(
        str(model_file)
    )
    with pytest.raises(UnsupportedModelError, match="cannot compile"):
        CompiledForest(model_file, cache_dir=cache)  # new model text: a new key, compiled


def test_compiled_is_refused_for_models_that_are_not_lightgbm() -> None:
    x = np.array([[0.0], [1.0], [2.0]])
    with Registry.open() as registry:
        version = registry.register("linear", LinearRegression().fit(x, [0.0, 1.0, 2.0]), sample=x)
        with pytest.raises(UnsupportedModelError, match=r"LightGBM forests only.*sklearn"):
            registry.load(version, RuntimeOptions(compiled=True))


def test_without_lleaves_the_error_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "lleaves", None)
    with pytest.raises(MissingExtraError, match=r"prodml\[lleaves\]"):
        CompiledForest(tmp_path / "model.txt", cache_dir=tmp_path)


def test_a_model_file_served_compiled_answers_like_the_plain_one(tmp_path: Path) -> None:
    x, y = load_breast_cancer(return_X_y=True)
    model_file = tmp_path / "model.txt"
    lgb.LGBMClassifier(**_SMALL).fit(x, y).booster_.save_model(str(model_file))
    loader = DefaultLoader()
    plain = loader.load(ModelConfig(path=model_file, name="m")).model
    compiled = loader.load(ModelConfig(path=model_file, name="m", compiled=True)).model
    rows = {"input-0": _with_missing(x).astype(np.float32)}
    _assert_same(
        compiled.predict_columns(rows)["probability"], plain.predict_columns(rows)["probability"]
    )
    loader.close()
