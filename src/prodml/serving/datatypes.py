"""The 13 Open Inference Protocol datatypes and how they map to numpy and to prodml dtypes.

``BYTES`` tensors are numpy object arrays whose elements are ``bytes`` (binary and gRPC
transports) or ``str`` (JSON text); encoders accept either.
"""

from __future__ import annotations

import numpy as np

from prodml.errors import InvalidInputError

# Datatype -> numpy dtype; BYTES maps to object because its elements have variable length.
NUMPY_DTYPES: dict[str, np.dtype[np.generic]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(object),
}
DATATYPES: tuple[str, ...] = tuple(NUMPY_DTYPES)

# prodml signature dtype (``prodml.types.DTYPES``) -> V2 datatype, for model metadata.
_FROM_PRODML = {
    "bool": "BOOL",
    "int8": "INT8",
    "int16": "INT16",
    "int32": "INT32",
    "int64": "INT64",
    "uint8": "UINT8",
    "uint16": "UINT16",
    "uint32": "UINT32",
    "uint64": "UINT64",
    "float16": "FP16",
    "float32": "FP32",
    "float64": "FP64",
    "string": "BYTES",
}
_FROM_NUMPY = {dt: name for name, dt in NUMPY_DTYPES.items() if name != "BYTES"}


def numpy_dtype(datatype: str) -> np.dtype[np.generic]:
    """The numpy dtype of a V2 datatype; unknown names are the client's error."""
    try:
        return NUMPY_DTYPES[datatype]
    except KeyError:
        raise InvalidInputError(
            f"unknown datatype {datatype!r}; use one of {', '.join(DATATYPES)}"
        ) from None


def datatype_of_prodml(dtype: str) -> str:
    """The V2 datatype for a prodml signature dtype (``float32`` -> ``FP32``)."""
    return _FROM_PRODML.get(dtype, "BYTES")


def datatype_of_array(array: np.ndarray) -> str:
    """The V2 datatype that carries ``array``; strings and objects travel as BYTES."""
    return _FROM_NUMPY.get(array.dtype, "BYTES")


def itemsize(datatype: str) -> int:
    """Bytes per element of a fixed-size datatype (0 for BYTES)."""
    return 0 if datatype == "BYTES" else NUMPY_DTYPES[datatype].itemsize
