"""Small value types shared by every layer: tensor specs and model signatures.

A signature names a model's inputs and outputs with their dtypes and shapes. Shapes include the
batch dimension first, with ``-1`` for any size::

    >>> sig = Signature(inputs=(TensorSpec("age", "int64", (-1,)),),
    ...                 outputs=(TensorSpec("label", "int64", (-1,)),))
    >>> Signature.from_dict(sig.to_dict()) == sig
    True

Dtype names are numpy's (``float32``, ``int64``, ``bool``) plus ``string`` for text columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from prodml.errors import ConfigError

DTYPES: tuple[str, ...] = (
    "bool",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "float16",
    "float32",
    "float64",
    "string",
)

JsonDict = dict[str, Any]


@dataclass(frozen=True)
class TensorSpec:
    """One named input or output: dtype and shape (batch dimension first, -1 = any size).

    ``nullable`` says whether NaN / missing values are allowed in this input.
    """

    name: str
    dtype: str
    shape: tuple[int, ...] = (-1,)
    nullable: bool = False

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("a tensor spec needs a non-empty name")
        if self.dtype not in DTYPES:
            raise ConfigError(
                f"tensor {self.name!r}: unknown dtype {self.dtype!r}; "
                f"use one of {', '.join(DTYPES)}"
            )
        if not self.shape or any(d < -1 or d == 0 for d in self.shape):
            raise ConfigError(
                f"tensor {self.name!r}: shape {list(self.shape)} is invalid; dimensions are "
                "positive sizes or -1 for any size, batch dimension first"
            )

    @property
    def is_column(self) -> bool:
        """True when the tensor is one value per row (shape ``(-1,)``)."""
        return len(self.shape) == 1

    def to_dict(self) -> JsonDict:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "shape": list(self.shape),
            "nullable": self.nullable,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TensorSpec:
        try:
            return cls(
                name=str(data["name"]),
                dtype=str(data["dtype"]),
                shape=tuple(int(d) for d in data.get("shape", (-1,))),
                nullable=bool(data.get("nullable", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise ConfigError(f"invalid tensor spec {dict(data)!r}: {exc}") from exc


@dataclass(frozen=True)
class Signature:
    """A model's inputs and outputs."""

    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        for kind, specs in (("input", self.inputs), ("output", self.outputs)):
            names = [s.name for s in specs]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ConfigError(f"signature has duplicate {kind} names: {', '.join(dupes)}")
        if not self.inputs:
            raise ConfigError("a signature needs at least one input")

    @property
    def input_names(self) -> list[str]:
        return [s.name for s in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [s.name for s in self.outputs]

    def input(self, name: str) -> TensorSpec:
        for spec in self.inputs:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def with_outputs(self, outputs: Sequence[TensorSpec]) -> Signature:
        return Signature(inputs=self.inputs, outputs=tuple(outputs))

    def to_dict(self) -> JsonDict:
        return {
            "inputs": [s.to_dict() for s in self.inputs],
            "outputs": [s.to_dict() for s in self.outputs],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        if not isinstance(data, Mapping) or "inputs" not in data:
            raise ConfigError("a signature is a mapping with 'inputs' (and optionally 'outputs')")
        return cls(
            inputs=tuple(TensorSpec.from_dict(s) for s in data["inputs"]),
            outputs=tuple(TensorSpec.from_dict(s) for s in data.get("outputs", ())),
        )
