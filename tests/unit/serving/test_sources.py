"""Where the default loader gets models: one registry for all its loads, model files of any
flavor through ``prodml.runtimes``, and everything released on close."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io
from sklearn.linear_model import LinearRegression

from prodml.errors import InvalidInputError
from prodml.registry import Registry
from prodml.serving.config import ModelConfig
from prodml.serving.sources import ClosableLoader, DefaultLoader

X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [3.0, 1.0]])
Y = np.array([1.0, 2.0, 6.0, 7.0])


def test_one_registry_serves_every_load_and_alias_check_until_close(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Registry.open() as registry:
        registry.register("m", LinearRegression().fit(X, Y), sample=X, alias="champion")
    opened: list[Registry] = []
    open_registry = Registry.open

    def counting(**kwargs: Any) -> Registry:
        opened.append(open_registry(**kwargs))
        return opened[-1]

    monkeypatch.setattr(Registry, "open", counting)
    loader = DefaultLoader()
    assert isinstance(loader, ClosableLoader)
    config = ModelConfig(ref="m@champion")
    for _ in range(3):
        assert loader.load(config).version == "1"
        assert loader.current_version(config) == "1"
    assert len(opened) == 1
    loader.close()
    loader.close()  # idempotent
    assert loader.load(config).version == "1"  # reopens after close
    assert len(opened) == 2
    loader.close()


def test_a_model_file_of_another_flavor_is_imported_validated_and_hashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    path = tmp_path / "model.skops"
    skops.io.dump(LinearRegression().fit(X, Y), path)
    loader = DefaultLoader()
    loaded = loader.load(ModelConfig(path=path, name="lin"))
    assert loaded.model.flavor == "sklearn"
    assert loaded.version == loader.current_version(ModelConfig(path=path, name="lin"))
    columns = {"input": X[:2]}
    np.testing.assert_allclose(
        loaded.model.predict_columns(columns)["prediction"].astype(float), Y[:2]
    )
    with pytest.raises(InvalidInputError):
        loaded.model.predict_columns({"input": X[:, :1]})  # one feature short
    assert len(list(scratch.glob("prodml-model-*"))) == 1
    loader.close()
    assert list(scratch.iterdir()) == []
