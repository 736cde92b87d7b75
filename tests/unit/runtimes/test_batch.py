"""Conversion of caller input into columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from prodml.errors import InvalidInputError
from prodml.runtimes import to_columns
from prodml.types import Signature, TensorSpec

COLS = Signature(inputs=(TensorSpec("a", "float64"), TensorSpec("b", "float64")))
MATRIX = Signature(inputs=(TensorSpec("x", "float32", (-1, 2)),))


def test_records_with_a_missing_key_give_none() -> None:
    columns = to_columns([{"a": 1.0, "b": 2.0}, {"a": 3.0}], COLS)
    assert columns["b"].tolist() == [2.0, None]


def test_records_without_a_key_anywhere_leave_the_column_out() -> None:
    assert set(to_columns([{"a": 1.0}], COLS)) == {"a"}


def test_matrix_is_split_into_columns_in_signature_order() -> None:
    columns = to_columns(np.array([[1.0, 2.0], [3.0, 4.0]]), COLS)
    assert columns["a"].tolist() == [1.0, 3.0]
    assert columns["b"].tolist() == [2.0, 4.0]


def test_matrix_of_wrong_width_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="one column per input"):
        to_columns(np.zeros((2, 3)), COLS)


def test_frame_with_other_names_feeds_a_single_matrix_input() -> None:
    frame = pd.DataFrame({"f0": [1.0], "f1": [2.0]})
    assert to_columns(frame, MATRIX)["x"].tolist() == [[1.0, 2.0]]
    assert to_columns(pa.Table.from_pandas(frame), MATRIX)["x"].tolist() == [[1.0, 2.0]]


def test_unsupported_input_is_explained() -> None:
    with pytest.raises(InvalidInputError, match="cannot predict on a int"):
        to_columns(3, COLS)


@given(st.lists(st.tuples(st.floats(allow_nan=False), st.floats(allow_nan=False)), min_size=1))
def test_pandas_arrow_records_and_numpy_agree(rows: list[tuple[float, float]]) -> None:
    frame = pd.DataFrame(rows, columns=["a", "b"])
    expected = to_columns(frame, COLS)
    for other in (pa.Table.from_pandas(frame), frame.to_dict("records"), np.array(rows)):
        got = to_columns(other, COLS)
        for name in ("a", "b"):
            np.testing.assert_array_equal(np.asarray(got[name], dtype=float), expected[name])
