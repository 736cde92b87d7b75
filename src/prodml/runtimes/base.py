"""The runtime seam: something that turns a batch of input columns into output columns.

A batch is a mapping from each signature input name to a numpy array whose first dimension is
the row count (``Columns``). Conversion from pandas, Arrow, plain numpy or records, and
validation against the signature, happen once at the boundary (``prodml.runtimes.batch``), so a
runtime's ``predict`` trusts its input and stays lean: serving calls it on the hot path.

Output conventions, shared by every flavor so that clients see one shape of answer:

- binary classifiers: ``probability`` (P of the positive class, shape ``(n,)``), then ``label``;
- multi-class classifiers: ``probabilities`` (``(n, classes)``), then ``label``;
- regressors and everything else: ``prediction`` (or the names the model itself gives).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from prodml.types import Signature, TensorSpec

Array = npt.NDArray[np.generic]
Columns = Mapping[str, Array]


@dataclass(frozen=True)
class RuntimeOptions:
    """How to load a model.

    Attributes:
        trusted: allow formats that execute code on load (pickle, cloudpickle, Python-function
            models). Only for artifacts whose source you trust.
        threads: intra-op threads for libraries that take a setting (ONNX Runtime, PyTorch,
            LightGBM, XGBoost, CatBoost); None keeps the library's default.
        inter_op_threads: ONNX Runtime / PyTorch inter-op threads; None keeps the default.
        compiled: compile LightGBM forests to native code with lleaves (same predictions, about
            5x faster on CPU; ``prodml[lleaves]``). Refused for other flavors.
    """

    trusted: bool = False
    threads: int | None = None
    inter_op_threads: int | None = None
    compiled: bool = False


@runtime_checkable
class ModelRuntime(Protocol):
    """A loaded model that predicts on validated columns."""

    @property
    def flavor(self) -> str:
        """The flavor name (``sklearn``, ``lightgbm``, ``onnx``, ...)."""
        ...

    @property
    def signature(self) -> Signature:
        """Inputs the model takes and outputs it returns."""
        ...

    def predict(self, inputs: Columns) -> dict[str, Array]:
        """Predict on a batch; every output's first dimension equals the input row count."""
        ...

    def warm_up(self) -> None:
        """Run a small prediction so the first real request pays no lazy-initialisation cost."""
        ...


@dataclass(frozen=True)
class SavedArtifact:
    """What a flavor learned while writing a model into a directory.

    Attributes:
        flavor_options: JSON-serialisable settings that ``load`` needs (file names, classes, ...).
        task: ``classification``, ``regression`` or ``other``.
        requires_trust: loading executes code (pickle, user modules); ``load`` then needs
            ``RuntimeOptions(trusted=True)``.
        inputs: input specs read from the model itself (feature names, ONNX graph inputs), used
            when the caller gave neither a sample nor a signature; empty when unknown.
    """

    flavor_options: dict[str, object]
    task: str = "other"
    requires_trust: bool = False
    inputs: tuple[TensorSpec, ...] = ()


class Flavor(Protocol):
    """Saves model objects of one library into a directory and loads them back.

    ``accepts_missing`` is True for libraries that take NaN natively (the tree libraries): specs
    inferred for their numeric inputs are then nullable.
    """

    name: str
    accepts_missing: bool

    def can_save(self, model: object) -> bool:
        """True when this flavor knows how to save ``model`` (checked without heavy imports)."""
        ...

    def save(
        self, model: object, directory: Path, *, trusted: bool, code_paths: Sequence[Path] = ()
    ) -> SavedArtifact:
        """Write ``model`` into ``directory`` (which exists and is empty).

        ``code_paths`` (files or packages to ship with the model) matters only to flavors that
        run user code; the others ignore it.
        """
        ...

    def load(
        self,
        directory: Path,
        flavor_options: Mapping[str, object],
        signature: Signature,
        options: RuntimeOptions,
    ) -> ModelRuntime:
        """Load a model that ``save`` wrote into ``directory``."""
        ...
