"""Signature inference from samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from prodml.errors import ConfigError
from prodml.runtimes import infer_input_specs, save_model
from prodml.types import TensorSpec


def test_dataframe_gives_one_column_spec_each_with_nullability() -> None:
    frame = pd.DataFrame({"a": [1.0, np.nan], "b": [1, 2], "c": ["x", "y"]})
    assert infer_input_specs(frame) == (
        TensorSpec("a", "float64", (-1,), nullable=True),
        TensorSpec("b", "int64", (-1,)),
        TensorSpec("c", "string", (-1,)),
    )


def test_nullable_integer_column_becomes_nullable_float() -> None:
    frame = pd.DataFrame({"n": pd.array([1, None], dtype="Int64")})
    assert infer_input_specs(frame) == (TensorSpec("n", "float64", (-1,), nullable=True),)


def test_matrix_gives_one_input_with_width() -> None:
    specs = infer_input_specs(np.zeros((3, 5), dtype=np.float32))
    assert specs == (TensorSpec("input", "float32", (-1, 5)),)


def test_mapping_and_arrow_give_one_spec_per_key() -> None:
    mapping = {"x": np.zeros(2), "img": np.zeros((2, 4, 4), dtype=np.uint8)}
    assert [s.shape for s in infer_input_specs(mapping)] == [(-1,), (-1, 4, 4)]
    table = pa.table({"p": [1.0, None], "q": ["a", "b"]})
    assert infer_input_specs(table) == (
        TensorSpec("p", "float64", nullable=True),
        TensorSpec("q", "string"),
    )


def test_unknown_sample_type_is_explained() -> None:
    with pytest.raises(ConfigError, match="cannot infer a signature from a set"):
        infer_input_specs({1, 2})


def test_dates_are_refused_with_advice() -> None:
    frame = pd.DataFrame({"when": pd.to_datetime(["2024-01-01"])})
    with pytest.raises(ConfigError, match="no signature equivalent"):
        infer_input_specs(frame)


def test_tree_flavors_mark_numeric_inputs_nullable(tmp_path: Path) -> None:
    import lightgbm as lgb

    X = pd.DataFrame({"a": np.arange(40.0), "b": np.arange(40.0) % 3})
    model = lgb.LGBMRegressor(n_estimators=2, verbose=-1, min_child_samples=2).fit(X, X["a"])
    manifest = save_model(model, tmp_path, sample=X)
    assert all(s.nullable for s in manifest.signature.inputs)
    assert manifest.signature.output_names == ["prediction"]
    assert manifest.task == "regression"


def test_sklearn_inputs_are_not_marked_nullable(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    X = pd.DataFrame({"a": [0.0, 1.0, 2.0]})
    manifest = save_model(LinearRegression().fit(X, [0.0, 1.0, 2.0]), tmp_path, sample=X)
    assert manifest.signature.inputs == (TensorSpec("a", "float64"),)
