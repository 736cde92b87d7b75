"""Entity keys and feature values as bytes, the same for every online store.

Keys are the join-key values in the view's join-key order, as compact JSON, so ``[42]`` or
``["eu", 7]``. Integral floats become ints (a key column read with nulls turns into floats),
numpy scalars become Python ones. Values are a JSON object of feature name to value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import orjson

from prodml.errors import InvalidInputError


def _plain(value: Any, *, integral: bool = False) -> Any:
    item = getattr(value, "item", None)
    if item is not None and not isinstance(value, str | bytes):
        value = item()
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if integral and value.is_integer():
            return int(value)
    return value


def encode_key(values: Sequence[Any]) -> str:
    """The store key for one entity, from its join-key values in the view's key order."""
    if len(values) == 1 and type(values[0]) is int:
        return f"[{values[0]}]"  # the common case, without the general path's overhead
    plain = [_plain(v, integral=True) for v in values]
    for value in plain:
        if value is None or not isinstance(value, int | str | bool):
            raise InvalidInputError(
                f"entity key value {value!r} is not usable; join keys must be integers or strings"
            )
    return orjson.dumps(plain).decode()


def encode_values(values: Mapping[str, Any]) -> bytes:
    """Feature values to bytes; NaN and None are both stored as null."""
    plain: dict[str, Any] = {}
    for name, raw in values.items():
        value = _plain(raw)
        plain[name] = value.isoformat() if isinstance(value, datetime | date) else value
    return orjson.dumps(plain)


def decode_values(payload: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = orjson.loads(payload)
    return decoded
