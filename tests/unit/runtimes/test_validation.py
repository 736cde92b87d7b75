"""Validation messages name the column, what was expected and what arrived."""

from __future__ import annotations

import numpy as np
import pytest

from prodml.errors import InvalidInputError
from prodml.runtimes import validate_columns
from prodml.types import Signature, TensorSpec

SIG = Signature(
    inputs=(
        TensorSpec("age", "float64"),
        TensorSpec("visits", "int64"),
        TensorSpec("income", "float32", nullable=True),
        TensorSpec("country", "string"),
    )
)


def good() -> dict[str, np.ndarray]:
    return {
        "age": np.array([30.0, 40.0]),
        "visits": np.array([1, 2]),
        "income": np.array([1.0, np.nan], dtype=np.float32),
        "country": np.array(["fr", "de"], dtype=object),
    }


def test_valid_columns_pass_through_without_copy() -> None:
    columns = good()
    checked = validate_columns(columns, SIG)
    assert checked["age"] is columns["age"]


def test_missing_column_is_named_with_what_was_given() -> None:
    columns = good()
    del columns["visits"]
    with pytest.raises(InvalidInputError, match=r"'visits' is missing \(expected int64") as exc:
        validate_columns(columns, SIG)
    assert "age, country, income" in str(exc.value)


def test_text_into_a_float_column_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"input 'age': expected float64, got text \('old'"):
        validate_columns({**good(), "age": np.array(["old", "young"])}, SIG)


def test_non_numeric_objects_are_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"input 'age': .*non-numeric values \('x'\)"):
        validate_columns({**good(), "age": np.array([1.0, "x"], dtype=object)}, SIG)


def test_numbers_into_a_string_column_are_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"input 'country': expected string, got int64"):
        validate_columns({**good(), "country": np.array([1, 2])}, SIG)


def test_int_into_float_is_cast() -> None:
    checked = validate_columns({**good(), "age": np.array([30, 40])}, SIG)
    assert checked["age"].dtype == np.float64
    assert checked["age"].tolist() == [30.0, 40.0]


def test_integral_floats_into_int_are_cast_but_fractions_are_not() -> None:
    assert validate_columns({**good(), "visits": np.array([1.0, 2.0])}, SIG)["visits"].dtype == (
        np.int64
    )
    with pytest.raises(InvalidInputError, match=r"input 'visits': expected int64, got fractional"):
        validate_columns({**good(), "visits": np.array([1.5, 2.0])}, SIG)


def test_nan_where_not_nullable_names_column_and_row() -> None:
    expected = r"input 'age': 1 row\(s\) hold NaN/None \(first at row 1\)"
    with pytest.raises(InvalidInputError, match=expected):
        validate_columns({**good(), "age": np.array([1.0, np.nan])}, SIG)


def test_none_in_objects_becomes_nan_and_is_checked() -> None:
    with pytest.raises(InvalidInputError, match="input 'age'"):
        validate_columns({**good(), "age": np.array([1.0, None], dtype=object)}, SIG)
    checked = validate_columns({**good(), "income": np.array([1.0, None], dtype=object)}, SIG)
    assert np.isnan(checked["income"][1])


def test_none_in_a_string_column_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="input 'country'"):
        validate_columns({**good(), "country": np.array(["fr", None], dtype=object)}, SIG)


def test_wrong_shape_is_named() -> None:
    expected = r"input 'age': expected shape \[-1\] .*got \[2, 1\]"
    with pytest.raises(InvalidInputError, match=expected):
        validate_columns({**good(), "age": np.array([[1.0], [2.0]])}, SIG)


def test_fixed_width_is_checked() -> None:
    sig = Signature(inputs=(TensorSpec("x", "float32", (-1, 3)),))
    with pytest.raises(InvalidInputError, match=r"input 'x': expected shape \[-1, 3\].*\[4, 2\]"):
        validate_columns({"x": np.zeros((4, 2))}, sig)


def test_row_counts_must_agree() -> None:
    with pytest.raises(InvalidInputError, match="'visits' has 3 rows but 'age' has 2"):
        validate_columns({**good(), "visits": np.array([1, 2, 3])}, SIG)


def test_extra_columns_are_ignored() -> None:
    checked = validate_columns({**good(), "unused": np.array(["a", "b"])}, SIG)
    assert set(checked) == set(SIG.input_names)
