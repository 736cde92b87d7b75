"""``Model``: a loaded runtime plus the boundary work (conversion, validation) around it.

Zero-row batches never reach the runtime: libraries disagree on them (scikit-learn raises,
LightGBM returns an empty array), so ``Model`` answers an empty batch itself with empty outputs
shaped by the signature. One-row batches go to the runtime like any other.

    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> import tempfile, pathlib
    >>> from prodml.runtimes import save_model
    >>> X = np.array([[0.0], [1.0], [2.0]])
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = save_model(LinearRegression().fit(X, [0.0, 2.0, 4.0]), d, sample=X)
    >>> load_model(d).predict(np.array([[3.0]]))["prediction"].round(6).tolist()
    [6.0]
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from prodml.errors import (
    ModelExecutionError,
    ModelLoadError,
    ProdmlError,
    UnsafeArtifactError,
    UnsupportedModelError,
)
from prodml.runtimes.base import Array, ModelRuntime, RuntimeOptions
from prodml.runtimes.batch import to_columns
from prodml.runtimes.flavors import FLAVORS
from prodml.runtimes.manifest import ModelManifest, read_example, read_manifest
from prodml.runtimes.validation import validate_columns
from prodml.types import Signature


class Model:
    """A model ready to predict: the runtime, its manifest, and input handling.

    Attributes:
        flavor: the flavor name.
        signature: inputs and outputs.
        task: ``classification``, ``regression`` or ``other``.
        runtime: the underlying ``ModelRuntime`` (its ``predict`` trusts its input).
    """

    def __init__(
        self,
        runtime: ModelRuntime,
        manifest: ModelManifest,
        example: Mapping[str, Array] | None = None,
    ) -> None:
        self.runtime = runtime
        self.example = example
        self.manifest = manifest
        self.flavor = manifest.flavor
        self.signature: Signature = manifest.signature
        self.task = manifest.task

    def __repr__(self) -> str:
        names = self.signature.input_names
        return f"Model(flavor={self.flavor!r}, task={self.task!r}, inputs={names})"

    def predict(self, data: object) -> dict[str, Array]:
        """Predict on numpy, pandas, Arrow, a mapping of arrays or a list of records.

        Raises:
            InvalidInputError: the input does not match the signature.
            ModelExecutionError: the model raised on valid input.
        """
        return self.predict_columns(to_columns(data, self.signature))

    def predict_columns(
        self, columns: Mapping[str, Array], *, validate: bool = True
    ) -> dict[str, Array]:
        """Predict on named arrays; the serving hot path.

        Args:
            columns: one array per input name (extra names are ignored).
            validate: check and cast against the signature; pass False only for columns that
                were already validated.
        """
        if validate:
            columns = validate_columns(columns, self.signature)
        first = next(iter(columns.values()), None)
        if first is not None and first.shape[0] == 0:
            return self._empty_outputs()
        try:
            return self.runtime.predict(columns)
        except ProdmlError:
            raise
        except Exception as exc:
            raise ModelExecutionError(
                f"{self.flavor} model failed to predict: {type(exc).__name__}: {exc}"
            ) from exc

    def warm_up(self) -> None:
        """Run one small prediction so the first request pays no lazy-initialisation cost.

        Uses the input example stored by ``save_model`` (real rows, so models that reject
        placeholder values warm up too), else the runtime's own ``warm_up``.
        """
        if self.example is None:
            self.runtime.warm_up()
        else:
            self.predict_columns(self.example)

    def _empty_outputs(self) -> dict[str, Array]:
        empty: dict[str, Array] = {}
        for spec in self.signature.outputs:
            shape = (0, *(max(d, 0) for d in spec.shape[1:]))
            dtype = object if spec.dtype == "string" else spec.dtype
            empty[spec.name] = np.empty(shape, dtype=dtype)
        return empty


def load_model(directory: Path, options: RuntimeOptions | None = None) -> Model:
    """Load a directory written by ``save_model``.

    Raises:
        ModelLoadError: the manifest is missing or names an unknown flavor, or loading failed.
        UnsafeArtifactError: the artifact executes code on load and ``options.trusted`` is False.
        MissingExtraError: the flavor's library is not installed.
        UnsupportedModelError: ``options.compiled`` for a flavor other than LightGBM.
    """
    options = options or RuntimeOptions()
    directory = Path(directory)
    manifest = read_manifest(directory)
    flavor = FLAVORS.get(manifest.flavor)
    if flavor is None:
        raise ModelLoadError(
            f"{directory}: unknown flavor {manifest.flavor!r}; this prodml knows "
            f"{', '.join(sorted(FLAVORS))}"
        )
    if manifest.requires_trust and not options.trusted:
        raise UnsafeArtifactError(
            f"{directory}: this {manifest.flavor} model runs code when loaded (pickle or user "
            "modules); load it with RuntimeOptions(trusted=True) only if you trust its source"
        )
    if options.compiled and manifest.flavor != "lightgbm":
        raise UnsupportedModelError(
            f"{directory}: compiled: true compiles LightGBM forests only; this is a "
            f"{manifest.flavor} model, so serve it without it"
        )
    try:
        runtime = flavor.load(directory, manifest.flavor_options, manifest.signature, options)
    except ProdmlError:
        raise
    except Exception as exc:
        raise ModelLoadError(
            f"{directory}: the {manifest.flavor} runtime could not load the model: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    return Model(runtime, manifest, read_example(directory))
