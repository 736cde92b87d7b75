"""Every flavor, including MLflow imports, runs the public runtime contract.

Each case trains a small model on a bundled scikit-learn dataset, saves it once per session and
hands the directory to every check in ``prodml.testing.runtime_contract``.
"""

from __future__ import annotations

import json
import pickle
import textwrap
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris

from prodml.runtimes import RuntimeOptions, save_model
from prodml.testing.runtime_contract import Check, RuntimeCase, runtime_checks

Builder = Callable[[Path], RuntimeCase]
TRUSTED = RuntimeOptions(trusted=True)


def _cancer() -> tuple[pd.DataFrame, Any]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    frame: pd.DataFrame = X.iloc[:200]
    return frame, y.iloc[:200]


def _iris() -> tuple[pd.DataFrame, Any]:
    X, y = load_iris(return_X_y=True, as_frame=True)
    X.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    return X, y


def _diabetes() -> tuple[Any, Any]:
    X, y = load_diabetes(return_X_y=True)
    return X, y


# --- scikit-learn -------------------------------------------------------------------------------


def sklearn_pipeline(d: Path) -> RuntimeCase:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _cancer()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)).fit(X, y)
    save_model(model, d, sample=X.head(20))
    return RuntimeCase("sklearn_pipeline", d, X.head(8))


def sklearn_regressor(d: Path) -> RuntimeCase:
    from sklearn.linear_model import Ridge

    X, y = _diabetes()
    save_model(Ridge().fit(X, y), d, sample=X[:10])
    return RuntimeCase("sklearn_regressor", d, X[:8])


def sklearn_multiclass(d: Path) -> RuntimeCase:
    from sklearn.ensemble import RandomForestClassifier

    X, y = _iris()
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    save_model(model, d, sample=X.iloc[::15])
    return RuntimeCase("sklearn_multiclass", d, X.iloc[::20])


def sklearn_mixed_columns(d: Path) -> RuntimeCase:
    from sklearn.compose import make_column_transformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "amount": rng.normal(size=60),
            "country": rng.choice(["fr", "de", "us"], size=60).astype(object),
        }
    )
    y = (X["amount"] > 0).astype(int)
    model = make_pipeline(
        make_column_transformer(
            (OneHotEncoder(handle_unknown="ignore"), ["country"]), remainder="passthrough"
        ),
        LogisticRegression(),
    ).fit(X, y)
    save_model(model, d, sample=X.head(10))
    return RuntimeCase("sklearn_mixed_columns", d, X.head(6))


# --- tree libraries -----------------------------------------------------------------------------


def lightgbm_booster(d: Path) -> RuntimeCase:
    import lightgbm as lgb

    X, y = _cancer()
    matrix = X.to_numpy(np.float32)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 7},
        lgb.Dataset(matrix, y.to_numpy()),
        num_boost_round=5,
    )
    save_model(booster, d, sample=matrix[:10])
    return RuntimeCase("lightgbm_booster", d, matrix[:8])


def lightgbm_classifier(d: Path) -> RuntimeCase:
    import lightgbm as lgb

    X, y = _iris()
    model = lgb.LGBMClassifier(n_estimators=5, num_leaves=7, verbose=-1).fit(X, y)
    save_model(model, d, sample=X.iloc[::15])
    return RuntimeCase("lightgbm_classifier", d, X.iloc[::20])


def xgboost_classifier(d: Path) -> RuntimeCase:
    import xgboost as xgb

    X, y = _cancer()
    model = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    save_model(model, d, sample=X.head(10))
    return RuntimeCase("xgboost_classifier", d, X.head(8))


def xgboost_booster(d: Path) -> RuntimeCase:
    import xgboost as xgb

    X, y = _diabetes()
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(X, label=y), num_boost_round=5)
    save_model(booster, d, sample=X[:10].astype(np.float32))
    return RuntimeCase("xgboost_booster", d, X[:8])


def catboost_classifier(d: Path) -> RuntimeCase:
    import catboost

    X, y = _iris()
    model = catboost.CatBoostClassifier(
        iterations=5, depth=2, verbose=0, allow_writing_files=False, thread_count=1
    ).fit(X, y)
    save_model(model, d, sample=X.iloc[::15])
    return RuntimeCase("catboost_classifier", d, X.iloc[::20])


# --- ONNX and torch -----------------------------------------------------------------------------


def _onnx_classifier() -> tuple[Any, Any]:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    X, y = _iris()
    matrix = X.to_numpy(np.float32)
    model = LogisticRegression(max_iter=300).fit(matrix, y)
    return to_onnx(model, matrix[:1], options={"zipmap": False}), matrix


def onnx_classifier(d: Path) -> RuntimeCase:
    proto, matrix = _onnx_classifier()
    save_model(proto, d)
    return RuntimeCase("onnx_classifier", d, matrix[::20])


def _tiny_net() -> Any:
    import torch

    class TinyNet(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.linear(x), dim=-1)

    torch.manual_seed(0)
    return TinyNet().eval()


def torch_script(d: Path) -> RuntimeCase:
    import torch

    sample = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    with warnings.catch_warnings():
        # torch >= 2.9 deprecates TorchScript; the format is still what many models ship in.
        warnings.filterwarnings("ignore", r"`torch\.jit\.script` is deprecated", DeprecationWarning)
        scripted = torch.jit.script(_tiny_net())
    save_model(scripted, d, sample=sample)
    return RuntimeCase("torch_script", d, sample)


def torch_export(d: Path) -> RuntimeCase:
    import torch

    sample = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    program = torch.export.export(
        _tiny_net(),
        (torch.from_numpy(sample),),
        dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
    )
    save_model(program, d, sample=sample)
    return RuntimeCase("torch_export", d, sample)


# --- Python-function models ---------------------------------------------------------------------

PYFUNC_CODE = '''
from pathlib import Path

import numpy as np


class ThresholdModel:
    """Scores rows by a weighted sum stored as the model's state."""

    task = "regression"

    def __init__(self, weights=None):
        self.weights = None if weights is None else np.asarray(weights, dtype=float)

    def save(self, directory: Path) -> None:
        (directory / "weights.json").write_text(str(self.weights.tolist()))

    def load(self, directory: Path) -> None:
        import json

        self.weights = np.asarray(json.loads((directory / "weights.json").read_text()))

    def predict(self, inputs):
        matrix = np.column_stack([inputs["a"], inputs["b"]])
        return {"prediction": matrix @ self.weights}
'''


def pyfunc_model(d: Path) -> RuntimeCase:
    import importlib.util

    code = d.parent / "threshold_model.py"
    code.write_text(textwrap.dedent(PYFUNC_CODE))
    spec = importlib.util.spec_from_file_location("threshold_model", code)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sample = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [0.5, 0.0, -1.0]})
    save_model(module.ThresholdModel([2.0, 1.0]), d, sample=sample, code_paths=[code])
    return RuntimeCase("pyfunc", d, sample, TRUSTED)


# --- MLflow model directories, written by hand in MLflow's layout -------------------------------


def _mlmodel(directory: Path, flavors: dict[str, Any], inputs: list[dict[str, Any]]) -> None:
    spec = {
        "flavors": flavors,
        "mlflow_version": "2.17.0",
        "model_uuid": "0" * 32,
        "signature": {
            "inputs": json.dumps(inputs),
            "outputs": json.dumps([{"type": "double"}]),
            "params": None,
        },
    }
    (directory / "MLmodel").write_text(yaml.safe_dump(spec))


def _columns_spec(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{"type": "double", "name": c, "required": True} for c in frame.columns]


def _mlflow_dir(d: Path) -> Path:
    source = d.parent / f"{d.name}-mlflow"
    source.mkdir()
    return source


def mlflow_sklearn(d: Path) -> RuntimeCase:
    from sklearn.linear_model import LogisticRegression

    X, y = _iris()
    source = _mlflow_dir(d)
    with (source / "model.pkl").open("wb") as fh:
        pickle.dump(LogisticRegression(max_iter=300).fit(X, y), fh)
    _mlmodel(
        source,
        {
            "python_function": {
                "loader_module": "mlflow.sklearn",
                "model_path": "model.pkl",
                "predict_fn": "predict",
                "env": {"conda": "conda.yaml"},
            },
            "sklearn": {
                "pickled_model": "model.pkl",
                "serialization_format": "cloudpickle",
                "sklearn_version": "1.5.0",
                "code": None,
            },
        },
        _columns_spec(X),
    )
    save_model(source, d, trusted=True)
    return RuntimeCase("mlflow_sklearn", d, X.iloc[::20])


def mlflow_lightgbm(d: Path) -> RuntimeCase:
    import lightgbm as lgb

    X, y = _cancer()
    source = _mlflow_dir(d)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_leaves": 7},
        lgb.Dataset(X, y),
        num_boost_round=5,
    )
    booster.save_model(str(source / "model.lgb"))
    _mlmodel(
        source,
        {
            "python_function": {"loader_module": "mlflow.lightgbm", "data": "model.lgb"},
            "lightgbm": {"lgb_version": "4.5.0", "data": "model.lgb", "code": None},
        },
        _columns_spec(X),
    )
    save_model(source, d)
    return RuntimeCase("mlflow_lightgbm", d, X.head(8))


def mlflow_xgboost(d: Path) -> RuntimeCase:
    import xgboost as xgb

    X, y = _diabetes()
    source = _mlflow_dir(d)
    model = xgb.XGBRegressor(n_estimators=5, max_depth=2).fit(X, y)
    # Raw bytes: save_model("model.xgb") would warn that the extension picks no format.
    (source / "model.xgb").write_bytes(bytes(model.get_booster().save_raw("ubj")))
    _mlmodel(
        source,
        {
            "python_function": {"loader_module": "mlflow.xgboost", "data": "model.xgb"},
            "xgboost": {
                "xgb_version": "2.1.0",
                "data": "model.xgb",
                "model_class": "xgboost.sklearn.XGBRegressor",
                "model_format": "xgb",
                "code": None,
            },
        },
        [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 10]}}],
    )
    save_model(source, d)
    return RuntimeCase("mlflow_xgboost", d, X[:8])


def mlflow_onnx(d: Path) -> RuntimeCase:
    proto, matrix = _onnx_classifier()
    source = _mlflow_dir(d)
    (source / "model.onnx").write_bytes(proto.SerializeToString())
    _mlmodel(
        source,
        {
            "python_function": {"loader_module": "mlflow.onnx", "data": "model.onnx"},
            "onnx": {
                "onnx_version": "1.16.0",
                "data": "model.onnx",
                "providers": ["CPUExecutionProvider"],
                "code": None,
            },
        },
        [{"type": "tensor", "name": "X", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}],
    )
    save_model(source, d)
    return RuntimeCase("mlflow_onnx", d, matrix[::20])


def mlflow_pyfunc(d: Path) -> RuntimeCase:
    import cloudpickle

    class AddModel:  # stands in for an mlflow.pyfunc.PythonModel subclass
        def load_context(self, context: Any) -> None:
            self.offset = float(np.load(context.artifacts["offset"]))

        def predict(self, context: Any, model_input: pd.DataFrame) -> Any:
            return model_input["a"].to_numpy() * 2 + self.offset

    source = _mlflow_dir(d)
    (source / "artifacts").mkdir()
    np.save(source / "artifacts" / "offset.npy", np.array(0.5))
    (source / "python_model.pkl").write_bytes(cloudpickle.dumps(AddModel()))
    _mlmodel(
        source,
        {
            "python_function": {
                "loader_module": "mlflow.pyfunc.model",
                "python_model": "python_model.pkl",
                "artifacts": {"offset": {"path": "artifacts/offset.npy"}},
                "cloudpickle_version": "3.0.0",
                "code": None,
            },
        },
        [
            {"type": "double", "name": "a", "required": True},
            {"type": "long", "name": "b", "required": True},
        ],
    )
    save_model(source, d, trusted=True)
    sample = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1, 2, 3]})
    return RuntimeCase("mlflow_pyfunc", d, sample, TRUSTED)


BUILDERS: dict[str, Builder] = {
    f.__name__: f
    for f in (
        sklearn_pipeline,
        sklearn_regressor,
        sklearn_multiclass,
        sklearn_mixed_columns,
        lightgbm_booster,
        lightgbm_classifier,
        xgboost_classifier,
        xgboost_booster,
        catboost_classifier,
        onnx_classifier,
        torch_script,
        torch_export,
        pyfunc_model,
        mlflow_sklearn,
        mlflow_lightgbm,
        mlflow_xgboost,
        mlflow_onnx,
        mlflow_pyfunc,
    )
}


@pytest.fixture(scope="session")
def case_for(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], RuntimeCase]:
    built: dict[str, RuntimeCase] = {}

    def build(name: str) -> RuntimeCase:
        if name not in built:
            directory = tmp_path_factory.mktemp(name) / "model"
            directory.mkdir()
            built[name] = BUILDERS[name](directory)
        return built[name]

    return build


@pytest.mark.parametrize("check", runtime_checks(), ids=lambda c: c.__name__.removeprefix("check_"))
@pytest.mark.parametrize("case_name", list(BUILDERS))
def test_runtime_contract(
    case_name: str, check: Check, case_for: Callable[[str], RuntimeCase]
) -> None:
    check(case_for(case_name))
