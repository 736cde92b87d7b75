"""CSV bodies (SageMaker ``text/csv``): one row per line, numbers only, no header."""

from __future__ import annotations

import io

import numpy as np

from prodml.errors import InvalidInputError
from prodml.serving.predictor import Array


def decode_matrix(body: bytes) -> Array:
    """A float64 matrix (rows, columns) from CSV text."""
    try:
        text = body.decode("utf-8")
        matrix = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float64, ndmin=2)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInputError(f"CSV body must be numeric rows without a header: {exc}") from None
    if matrix.size == 0:
        raise InvalidInputError("CSV body has no rows")
    return matrix


def encode_column(values: Array) -> bytes:
    """One value per line."""
    return (
        "\n".join(str(v) for v in values.reshape(len(values), -1)[:, 0].tolist()) + "\n"
    ).encode()
