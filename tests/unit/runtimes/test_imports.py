"""Saved model files are importable by path, into the native flavor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer

from prodml.runtimes import load_model, save_model

X, Y = load_breast_cancer(return_X_y=True)
X = X[:150].astype(np.float32)
Y = Y[:150]


def _out(tmp_path: Path) -> Path:
    directory = tmp_path / "out"
    directory.mkdir()
    return directory


def test_lightgbm_text_file(tmp_path: Path) -> None:
    import lightgbm as lgb

    booster = lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X, Y), 3)
    booster.save_model(str(tmp_path / "model.txt"))
    manifest = save_model(tmp_path / "model.txt", _out(tmp_path))
    assert (manifest.flavor, manifest.task) == ("lightgbm", "classification")
    assert manifest.signature.inputs[0].shape == (-1, 30)  # default names: one matrix input
    got = np.asarray(load_model(tmp_path / "out").predict(X)["probability"], dtype=float)
    np.testing.assert_allclose(got, booster.predict(X))


def test_xgboost_json_file(tmp_path: Path) -> None:
    import xgboost as xgb

    model = xgb.XGBClassifier(n_estimators=3, max_depth=2).fit(X, Y)
    model.save_model(str(tmp_path / "model.json"))
    manifest = save_model(tmp_path / "model.json", _out(tmp_path))
    assert manifest.signature.output_names == ["probability", "label"]
    got = load_model(tmp_path / "out").predict(X)
    probability = np.asarray(got["probability"], dtype=float)
    np.testing.assert_allclose(probability, model.predict_proba(X)[:, 1], rtol=1e-6)
    np.testing.assert_array_equal(got["label"], model.predict(X))


def test_onnx_file_signature_comes_from_the_graph(tmp_path: Path) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression

    proto = to_onnx(LogisticRegression(max_iter=500).fit(X, Y), X[:1], options={"zipmap": False})
    (tmp_path / "model.onnx").write_bytes(proto.SerializeToString())
    manifest = save_model(tmp_path / "model.onnx", _out(tmp_path))
    assert [(s.name, s.dtype, s.shape) for s in manifest.signature.inputs] == [
        ("X", "float32", (-1, 30))
    ]
    assert manifest.task == "classification"
