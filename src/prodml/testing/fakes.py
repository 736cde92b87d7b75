"""Fakes for tests of code that serves models: no registry, no ML library needed.

``FakeModel`` doubles its input by default (``y = 2 * x``), validates like a runtime does, and can
be told to fail, sleep, or record the batches it saw.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from prodml.errors import InvalidInputError, ModelExecutionError
from prodml.types import Signature, TensorSpec

Array = npt.NDArray[np.generic]

DEFAULT_SIGNATURE = Signature(
    inputs=(TensorSpec("x", "float64", (-1,)),),
    outputs=(TensorSpec("y", "float64", (-1,)),),
)


def _double(columns: Mapping[str, Array]) -> dict[str, Array]:
    first = next(iter(columns.values()))
    return {"y": np.asarray(first, dtype=np.float64) * 2.0}


@dataclass
class FakeModel:
    """A model-like object with the ``prodml.runtimes.Model`` surface.

    Attributes:
        signature: what it declares; inputs are checked by name and trailing shape.
        fn: turns validated columns into outputs (default: ``y = 2 * first input``).
        delay_s: seconds each predict sleeps (a slow model, for timeout and swap tests).
        fail_when: a predicate on the columns; when true, predict raises ModelExecutionError.
        reject_negative: NaN or negative ``x`` raises InvalidInputError, the way a
            runtime's validation would (for "a bad request fails alone" tests).
        batches: row counts of every predict call, in order (thread-safe).
    """

    signature: Signature = DEFAULT_SIGNATURE
    fn: Callable[[Mapping[str, Array]], dict[str, Array]] = _double
    delay_s: float = 0.0
    fail_when: Callable[[Mapping[str, Array]], bool] | None = None
    reject_negative: bool = False
    flavor: str = "fake"
    task: str = "regression"
    warmed: bool = False
    batches: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def predict_columns(
        self, columns: Mapping[str, Array], *, validate: bool = True
    ) -> dict[str, Array]:
        rows = len(next(iter(columns.values())))
        with self._lock:
            self.batches.append(rows)
        if validate:
            self._validate(columns)
        if self.delay_s:
            time.sleep(self.delay_s)
        if self.fail_when is not None and self.fail_when(columns):
            raise ModelExecutionError("fake model failure")
        return self.fn(columns)

    def predict(self, data: Mapping[str, Array]) -> dict[str, Array]:
        return self.predict_columns(data)

    def warm_up(self) -> None:
        self.warmed = True

    def _validate(self, columns: Mapping[str, Array]) -> None:
        for spec in self.signature.inputs:
            if spec.name not in columns:
                raise InvalidInputError(f"missing input column {spec.name!r}")
            col = columns[spec.name]
            values = np.asarray(col, dtype=np.float64) if col.dtype.kind == "f" else None
            if (
                self.reject_negative
                and values is not None
                and bool((np.isnan(values) | (values < 0)).any())
            ):
                raise InvalidInputError(f"column {spec.name!r} has negative or missing values")
