"""Code-running formats need trusted=True; missing libraries and unknown models are explained."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression

from prodml.errors import (
    ConfigError,
    MissingExtraError,
    ModelLoadError,
    UnsafeArtifactError,
    UnsupportedModelError,
)
from prodml.runtimes import MANIFEST_FILE, RuntimeOptions, load_model, save_model
from prodml.runtimes.flavors.common import require

X = np.array([[0.0], [1.0], [2.0]])
Y = np.array([0.0, 2.0, 4.0])


# A type skops does not trust; sklearn is untyped, hence the ignore.
class DoublingRegressor(RegressorMixin, BaseEstimator):  # type: ignore[misc]
    def fit(self, X: np.ndarray, y: np.ndarray) -> DoublingRegressor:
        self.n_features_in_ = X.shape[1]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X)[:, 0] * 2


def _model_dir(tmp_path: Path, name: str) -> Path:
    directory = tmp_path / name
    directory.mkdir()
    return directory


def test_pickle_file_is_refused_without_trusted(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(LinearRegression().fit(X, Y)))
    target = _model_dir(tmp_path, "out")
    with pytest.raises(UnsafeArtifactError, match="is a pickle"):
        save_model(path, target, sample=X)
    assert not any(target.iterdir())


def test_trusted_pickle_is_resaved_with_skops(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(LinearRegression().fit(X, Y)))
    target = _model_dir(tmp_path, "out")
    manifest = save_model(path, target, sample=X, trusted=True)
    assert manifest.flavor_options["format"] == "skops"
    assert not manifest.requires_trust
    assert load_model(target).predict(X)["prediction"].round(6).tolist() == [0.0, 2.0, 4.0]


def test_mlflow_pickle_is_refused_without_trusted(tmp_path: Path) -> None:
    source = _model_dir(tmp_path, "mlflow")
    (source / "model.pkl").write_bytes(pickle.dumps(LinearRegression().fit(X, Y)))
    flavors = {"sklearn": {"pickled_model": "model.pkl", "serialization_format": "cloudpickle"}}
    (source / "MLmodel").write_text(yaml.safe_dump({"flavors": flavors}))
    with pytest.raises(UnsafeArtifactError, match="trusted=True"):
        save_model(source, _model_dir(tmp_path, "out"), sample=X)


def test_custom_estimator_needs_trust_to_save_and_load(tmp_path: Path) -> None:
    model = DoublingRegressor().fit(X, Y)
    with pytest.raises(UnsafeArtifactError, match="DoublingRegressor"):
        save_model(model, _model_dir(tmp_path, "refused"), sample=X)
    target = _model_dir(tmp_path, "out")
    assert save_model(model, target, sample=X, trusted=True).requires_trust
    with pytest.raises(UnsafeArtifactError, match="trusted=True"):
        load_model(target)
    assert load_model(target, RuntimeOptions(trusted=True)).predict(X)["prediction"].tolist() == [
        0.0,
        2.0,
        4.0,
    ]


def test_pyfunc_model_needs_trust_to_load(tmp_path: Path) -> None:
    code = tmp_path / "echo_model.py"
    code.write_text(
        "class Echo:\n"
        "    def load(self, directory):\n        pass\n"
        "    def predict(self, inputs):\n        return inputs['input'][:, 0]\n"
    )
    namespace: dict[str, object] = {"__name__": "echo_model"}
    exec(compile(code.read_text(), str(code), "exec"), namespace)
    target = _model_dir(tmp_path, "out")
    save_model(namespace["Echo"](), target, sample=X, code_paths=[code])  # type: ignore[operator]
    with pytest.raises(UnsafeArtifactError, match="trusted=True"):
        load_model(target)
    assert load_model(target, RuntimeOptions(trusted=True)).predict(X)["prediction"].tolist() == [
        0.0,
        1.0,
        2.0,
    ]


def test_missing_extra_names_the_pip_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xgboost", None)  # makes `import xgboost` fail
    with pytest.raises(MissingExtraError, match=r"pip install 'prodml\[xgboost\]'"):
        require("xgboost", "xgboost")


def test_unknown_model_lists_what_is_supported(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedModelError, match=r"no prodml flavor can save a builtins\.dict"):
        save_model({"not": "a model"}, _model_dir(tmp_path, "out"), sample=X)


def test_unknown_file_type_lists_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"\0")
    with pytest.raises(UnsupportedModelError, match=r"'.bin'.*\.txt, \.ubj"):
        save_model(path, _model_dir(tmp_path, "out"))


def test_target_directory_must_be_empty(tmp_path: Path) -> None:
    (tmp_path / "stale").write_text("x")
    with pytest.raises(ConfigError, match="empty directory"):
        save_model(LinearRegression().fit(X, Y), tmp_path, sample=X)


def test_directory_without_manifest_is_explained(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=MANIFEST_FILE):
        load_model(tmp_path)


def test_plain_torch_module_gets_a_hint(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(UnsupportedModelError, match=r"torch\.export\.export"):
        save_model(torch.nn.Linear(1, 1), _model_dir(tmp_path, "out"), sample=X)
