"""Checking a batch of columns against a signature, once, at the boundary.

Rules, per signature input:

- the column must be present (columns the signature does not name are ignored);
- its dtype must convert safely: any number into a float input, integers (or integral floats)
  into an integer input, booleans (or 0/1) into a bool input, text into a string input. Text
  never goes into a numeric input;
- its shape must match the spec (same number of dimensions, fixed sizes equal), and every column
  must have the same row count;
- NaN (or None) only where the spec is ``nullable``.

A violation raises ``InvalidInputError`` naming the column, what was expected and what was seen::

    >>> import numpy as np
    >>> from prodml.types import Signature, TensorSpec
    >>> sig = Signature(inputs=(TensorSpec("age", "float64"),))
    >>> validate_columns({"age": np.array(["old"])}, sig)
    Traceback (most recent call last):
    ...
    prodml.errors.InvalidInputError: input 'age': expected float64, got text ('old')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from prodml.errors import InvalidInputError
from prodml.runtimes.base import Array
from prodml.types import Signature, TensorSpec


def validate_columns(columns: Mapping[str, Array], signature: Signature) -> dict[str, Array]:
    """Check ``columns`` against ``signature``; return them cast to the signature's dtypes.

    Arrays that already have the right dtype are returned as they are (no copy).

    Raises:
        InvalidInputError: a column is missing or has the wrong dtype, shape or missing values.
    """
    checked: dict[str, Array] = {}
    rows: int | None = None
    first = ""
    for spec in signature.inputs:
        value = columns.get(spec.name)
        if value is None:
            seen = ", ".join(sorted(columns)) or "none"
            raise InvalidInputError(
                f"input {spec.name!r} is missing (expected {spec.dtype}, shape "
                f"{list(spec.shape)}); columns given: {seen}"
            )
        array = value if isinstance(value, np.ndarray) else np.asarray(value)
        _check_shape(spec, array)
        if rows is None:
            rows, first = array.shape[0], spec.name
        elif array.shape[0] != rows:
            raise InvalidInputError(
                f"input {spec.name!r} has {array.shape[0]} rows but {first!r} has {rows}; "
                "every input needs the same number of rows"
            )
        checked[spec.name] = _check_values(spec, array)
    return checked


def _check_shape(spec: TensorSpec, array: Array) -> None:
    if array.ndim != len(spec.shape):
        bad = True
    elif array.ndim == 1:  # a column: nothing more to compare (the common case, kept cheap)
        return
    else:
        pairs = zip(spec.shape[1:], array.shape[1:], strict=True)
        bad = any(want not in (-1, got) for want, got in pairs)
    if bad:
        raise InvalidInputError(
            f"input {spec.name!r}: expected shape {list(spec.shape)} (-1 = any size), got "
            f"{list(array.shape)}"
        )


def _check_values(spec: TensorSpec, array: Array) -> Array:
    kind = array.dtype.kind
    want = spec.dtype
    if want == "string":
        if kind not in "USO":
            raise InvalidInputError(f"input {spec.name!r}: expected string, got {array.dtype}")
        if not spec.nullable and kind == "O" and any(v is None for v in array.ravel()):
            raise InvalidInputError(_missing_message(spec, array == None))  # noqa: E711
        return array
    if kind in "US":
        raise InvalidInputError(
            f"input {spec.name!r}: expected {want}, got text ({_example(array)!r})"
        )
    if kind == "O":
        array = _numbers_from_objects(spec, array)
        kind = array.dtype.kind
    if kind not in "biuf":
        raise InvalidInputError(f"input {spec.name!r}: expected {want}, got {array.dtype}")
    if kind == "f" and not spec.nullable and _has_nan(array):
        raise InvalidInputError(_missing_message(spec, np.isnan(array)))
    target = _dtype(want)
    if array.dtype == target:
        return array
    if target.kind in "iub" and kind == "f":
        _require_integral(spec, array)
    if target.kind == "b" and kind != "b" and not np.isin(np.asarray(array), (0, 1)).all():
        raise InvalidInputError(f"input {spec.name!r}: expected bool, got values other than 0/1")
    return array.astype(target, copy=False)


def _dtype(name: str) -> np.dtype[Any]:
    # ``np.dtype(name)`` and ``array.dtype.name`` each cost microseconds; a batch of one row
    # with tens of columns pays them per column, so the dtypes are looked up once.
    dtype = _DTYPES.get(name)
    if dtype is None:
        dtype = _DTYPES[name] = np.dtype(name)
    return dtype


_DTYPES: dict[str, np.dtype[Any]] = {}


def _has_nan(array: Array) -> bool:
    if array.size == 1:  # one row, one value: a Python comparison beats a ufunc call
        return math.isnan(array.item())
    return bool(np.isnan(array).any())


def _numbers_from_objects(spec: TensorSpec, array: Array) -> Array:
    # Object arrays come from lists with None or from pandas object columns; None becomes NaN.
    try:
        return array.astype("float64")
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"input {spec.name!r}: expected {spec.dtype}, got non-numeric values "
            f"({_example(array)!r})"
        ) from None


def _require_integral(spec: TensorSpec, values: Array) -> None:
    array: Any = values
    if not (np.isfinite(array).all() and (array == np.round(array)).all()):
        raise InvalidInputError(
            f"input {spec.name!r}: expected {spec.dtype}, got fractional or missing values "
            f"({array.dtype})"
        )


def _missing_message(spec: TensorSpec, missing: Array) -> str:
    flat = np.flatnonzero(missing.reshape(missing.shape[0], -1).any(axis=1))
    return (
        f"input {spec.name!r}: {flat.size} row(s) hold NaN/None (first at row {int(flat[0])}) "
        "but the signature does not allow missing values (nullable=False)"
    )


def _example(array: Array) -> object:
    for value in array.ravel():
        if isinstance(value, str | bytes):
            return str(value) if isinstance(value, str) else bytes(value)  # drop numpy scalars
    return array.ravel()[0] if array.size else None
