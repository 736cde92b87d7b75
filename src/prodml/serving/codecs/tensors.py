"""One tensor to and from JSON data and the binary tensor layout (row-major, little-endian).

Coercion policy for JSON data: the JSON kind of the elements must fit the declared datatype.
BOOL takes only ``true``/``false``; integer types take only integers that fit the type's range;
FP16/FP32/FP64 take integers and floats; BYTES takes only strings. Anything else is a 400, never
a silent conversion (a string ``"1"`` sent as FP32 is a client bug worth reporting).
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from prodml.errors import InvalidInputError
from prodml.serving.datatypes import numpy_dtype

_LEN = struct.Struct("<I")
_ALLOWED_KINDS = {"BOOL": "b"}
_INT_TYPES = frozenset({"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"})


def check_shape(name: str, shape: Any) -> tuple[int, ...]:
    """A declared shape as a tuple of non-negative ints, or a 400 saying what was wrong."""
    if isinstance(shape, list | tuple):
        # A plain loop: for the 1-3 dimensions of a real shape it beats all() over a generator.
        for d in shape:
            if type(d) is not int or d < 0:
                break
        else:
            return tuple(shape)
    raise InvalidInputError(
        f"input {name!r}: shape must be a list of non-negative integers, got {shape!r}"
    )


def _count_error(name: str, shape: Sequence[int], got: int) -> InvalidInputError:
    return InvalidInputError(
        f"input {name!r}: shape {list(shape)} holds {math.prod(shape)} elements but data has {got}"
    )


def array_from_json(name: str, datatype: str, shape: tuple[int, ...], data: Any) -> np.ndarray:
    """Decode JSON tensor data (nested or flat, row-major) into an array of ``shape``."""
    target = numpy_dtype(datatype)
    if datatype == "BYTES":
        return _strings_from_json(name, shape, data)
    try:
        # One C pass builds the array; its inferred dtype tells us the JSON kinds that arrived.
        raw = np.array(data)
    except ValueError as exc:
        raise InvalidInputError(f"input {name!r}: data is ragged or malformed ({exc})") from None
    if raw.size != math.prod(shape):
        raise _count_error(name, shape, raw.size)
    if raw.size == 0:
        return np.empty(shape, dtype=target)
    kind = raw.dtype.kind
    if datatype == "UINT64" and kind in "fO":
        # numpy infers float64 (losing precision) for ints beyond int64 mixed with small ones.
        return _big_uints(name, shape, data)
    expected = _ALLOWED_KINDS.get(datatype)
    if expected is not None:
        ok = kind == expected
    elif datatype in _INT_TYPES:
        ok = kind in "iu"
        if ok:
            info = np.iinfo(target)  # type: ignore[type-var]
            ok = int(raw.min()) >= info.min and int(raw.max()) <= info.max
            if not ok:
                raise InvalidInputError(
                    f"input {name!r}: values out of range for {datatype} [{info.min}, {info.max}]"
                )
    else:
        ok = kind in "iuf"
    if not ok:
        raise InvalidInputError(
            f"input {name!r}: datatype {datatype} cannot hold JSON data of numpy kind "
            f"{raw.dtype} (BOOL takes true/false, integers take integers, FP takes numbers, "
            "BYTES takes strings)"
        )
    out = raw.astype(target, copy=False)
    return out if out.shape == shape else out.reshape(shape)


def _big_uints(name: str, shape: tuple[int, ...], data: Any) -> np.ndarray:
    values = np.array(data, dtype=object).reshape(-1).tolist()
    if not all(type(v) is int and 0 <= v < 2**64 for v in values):
        raise InvalidInputError(f"input {name!r}: UINT64 data must be integers in [0, 2**64 - 1]")
    return np.array(values, dtype=np.uint64).reshape(shape)


def _strings_from_json(name: str, shape: tuple[int, ...], data: Any) -> np.ndarray:
    # Not via numpy's fixed-width unicode dtype, which drops trailing NUL characters.
    flat: list[Any] = []
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, str):
            flat.append(item)
        else:
            raise InvalidInputError(
                f"input {name!r}: BYTES data must be strings, got {type(item).__name__}"
            )
    if len(flat) != math.prod(shape):
        raise _count_error(name, shape, len(flat))
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(shape)


def array_to_json(array: np.ndarray) -> Any:
    """Flat JSON-ready data: the array itself for numbers (orjson writes it in C), else strs."""
    if array.dtype.kind in "biuf":
        return np.ascontiguousarray(array).reshape(-1)
    return [
        v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        for v in array.reshape(-1).tolist()
    ]


def array_from_bytes(
    name: str, datatype: str, shape: tuple[int, ...], buffer: bytes | memoryview
) -> np.ndarray:
    """Decode one binary tensor; fixed-size types are a zero-copy, read-only view."""
    count = math.prod(shape)
    if datatype == "BYTES":
        items = _split_bytes(name, memoryview(buffer))
        if len(items) != count:
            raise _count_error(name, shape, len(items))
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out.reshape(shape)
    dtype = numpy_dtype(datatype).newbyteorder("<")
    if len(buffer) != count * dtype.itemsize:
        raise InvalidInputError(
            f"input {name!r}: shape {list(shape)} of {datatype} needs "
            f"{count * dtype.itemsize} bytes but {len(buffer)} arrived"
        )
    return np.frombuffer(buffer, dtype=dtype).reshape(shape)


def _split_bytes(name: str, view: memoryview) -> list[bytes]:
    items: list[bytes] = []
    pos, end = 0, len(view)
    while pos < end:
        if pos + 4 > end:
            raise InvalidInputError(f"input {name!r}: truncated BYTES element length prefix")
        (size,) = _LEN.unpack_from(view, pos)
        pos += 4
        if pos + size > end:
            raise InvalidInputError(f"input {name!r}: BYTES element runs past the tensor end")
        items.append(bytes(view[pos : pos + size]))
        pos += size
    return items


def array_to_bytes(array: np.ndarray, datatype: str) -> bytes:
    """Encode one tensor in the binary layout (BYTES: 4-byte LE length before each element)."""
    if datatype == "BYTES":
        parts: list[bytes] = []
        for v in array.reshape(-1).tolist():
            b = v if isinstance(v, bytes) else str(v).encode("utf-8")
            parts.append(_LEN.pack(len(b)))
            parts.append(b)
        return b"".join(parts)
    dtype = numpy_dtype(datatype).newbyteorder("<")
    return np.ascontiguousarray(array, dtype=dtype).tobytes()
