"""scikit-learn estimators and pipelines, saved with skops (pickle only when trusted).

skops refuses to load types it does not know as safe. At save time the untrusted types found in
the file are either refused (``UnsafeArtifactError``) or, with ``trusted=True``, recorded so that
loading needs ``RuntimeOptions(trusted=True)``. An object skops cannot write at all is pickled,
again only with ``trusted=True``.

Types defined by scikit-learn itself (``sklearn.tree._tree.Tree``, say, which skops does not
list as safe) are accepted without ``trusted``: they are rebuilt by scikit-learn's own code, which
is already trusted by being installed. Anything else (a custom transformer, a LightGBM model
inside a pipeline) still needs ``trusted=True``.
"""

from __future__ import annotations

import copy
import pickle
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from prodml.errors import ModelLoadError, UnsafeArtifactError
from prodml.runtimes.base import Array, Columns, RuntimeOptions, SavedArtifact
from prodml.runtimes.flavors.common import RuntimeBase, defined_in
from prodml.runtimes.outputs import classifier_outputs, feature_matrix
from prodml.types import Signature, TensorSpec

SKOPS_FILE = "model.skops"
PICKLE_FILE = "model.pkl"


class SklearnFlavor:
    """scikit-learn estimators, pipelines and anything built on ``sklearn.base.BaseEstimator``."""

    name = "sklearn"
    accepts_missing = False

    def can_save(self, model: object) -> bool:
        return defined_in(model, "sklearn") and hasattr(model, "predict")

    def save(
        self, model: object, directory: Path, *, trusted: bool, code_paths: Sequence[Path] = ()
    ) -> SavedArtifact:
        import skops.io

        path = directory / SKOPS_FILE
        try:
            skops.io.dump(model, path)
        except Exception as exc:  # skops raises many types for objects it cannot write
            if not trusted:
                raise UnsafeArtifactError(
                    f"skops cannot save this {type(model).__name__} ({exc}); pickle would work "
                    "but runs code on load: pass trusted=True if you trust this model"
                ) from exc
            path.unlink(missing_ok=True)
            with (directory / PICKLE_FILE).open("wb") as fh:
                pickle.dump(model, fh, protocol=5)
            return SavedArtifact(
                {"format": "pickle", "file": PICKLE_FILE}, _task(model), True, _inputs(model)
            )
        untrusted = foreign_types(skops.io.get_untrusted_types(file=path))
        if untrusted and not trusted:
            path.unlink()
            raise UnsafeArtifactError(
                f"loading this model would need to trust types skops does not know as safe: "
                f"{', '.join(untrusted)}; pass trusted=True if you trust them"
            )
        options: dict[str, object] = {"format": "skops", "file": SKOPS_FILE}
        return SavedArtifact(options, _task(model), bool(untrusted), _inputs(model))

    def load(
        self,
        directory: Path,
        flavor_options: Mapping[str, object],
        signature: Signature,
        options: RuntimeOptions,
    ) -> SklearnRuntime:
        path = directory / str(flavor_options.get("file", SKOPS_FILE))
        fmt = flavor_options.get("format", "skops")
        if fmt == "pickle":
            if not options.trusted:
                raise UnsafeArtifactError(f"{path} is a pickle; load it only with trusted=True")
            with path.open("rb") as fh:
                model = pickle.load(fh)  # noqa: S301 - trusted=True was given
        elif fmt == "skops":
            import skops.io

            untrusted = skops.io.get_untrusted_types(file=path)
            foreign = foreign_types(untrusted)
            if foreign and not options.trusted:
                raise UnsafeArtifactError(
                    f"{path} holds types skops does not know as safe ({', '.join(foreign)}); "
                    "load it with RuntimeOptions(trusted=True) only if you trust its source"
                )
            model = skops.io.load(path, trusted=untrusted)
        else:
            raise ModelLoadError(f"{path}: unknown sklearn format {fmt!r}")
        return SklearnRuntime(model, signature)


class SklearnRuntime(RuntimeBase):
    """Predicts with a fitted estimator; classifiers with ``predict_proba`` give probabilities.

    An estimator fitted on a DataFrame wants one back, with its column names, or it warns; and
    building that DataFrame and having scikit-learn check its names costs about ten times the
    prediction of a linear model on one row. So when the estimator uses the names only for that
    check (checked once, at load), it predicts through a shallow copy without
    ``feature_names_in_`` on a plain matrix in the fitted column order.
    """

    flavor = "sklearn"

    def __init__(self, model: Any, signature: Signature) -> None:
        super().__init__(signature)
        self.model = model
        names = getattr(model, "feature_names_in_", None)
        self._feature_names = [str(n) for n in names] if names is not None else None
        self._proba = _task(model) == "classification" and hasattr(model, "predict_proba")
        self._unnamed = None if self._feature_names is None else _without_names(model, self)

    def predict(self, inputs: Columns) -> dict[str, Array]:
        names = self._feature_names
        if self._unnamed is not None and names is not None and all(n in inputs for n in names):
            matrix = np.column_stack([inputs[n] for n in names])
            return self._predict(self._unnamed, matrix)
        return self._predict(self.model, self._features(inputs))

    def _predict(self, model: Any, features: object) -> dict[str, Array]:
        if self._proba:
            probabilities = model.predict_proba(features)
            if not isinstance(probabilities, list):  # multi-output models give a list
                return classifier_outputs(probabilities, model.classes_)
        return {"label" if self._proba else "prediction": model.predict(features)}

    def _features(self, inputs: Columns) -> object:
        if self._feature_names is None:
            return feature_matrix(inputs, self.signature)
        import pandas as pd

        if all(n in inputs for n in self._feature_names):
            return pd.DataFrame({n: inputs[n] for n in self._feature_names})
        return pd.DataFrame(feature_matrix(inputs, self.signature), columns=self._feature_names)


def _without_names(model: Any, runtime: SklearnRuntime) -> Any | None:
    """A shallow copy of ``model`` that predicts on a plain matrix as ``model`` does on the
    DataFrame, or None when the names do more than get checked (a ``ColumnTransformer``
    selecting columns by name, a pipeline whose steps check them, ...)."""
    import pandas as pd

    names = runtime._feature_names or []
    twin = copy.copy(model)
    try:
        del twin.feature_names_in_
    except AttributeError:  # a property (pipelines): the names belong to a step
        return None
    # Distinct values per column, so a model that reorders or selects columns shows it.
    probe = np.arange(1.0, 2.0 * len(names) + 1.0).reshape(2, len(names)) / (4 * len(names))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            unnamed = runtime._predict(twin, probe)
            named = runtime._predict(model, pd.DataFrame(probe, columns=names))
    except Exception:  # any complaint (a warning, names needed): keep the DataFrame path
        return None
    same = named.keys() == unnamed.keys() and all(_same(named[k], unnamed[k]) for k in named)
    return twin if same else None


def _same(a: Array, b: Array) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def foreign_types(untrusted: list[str]) -> list[str]:
    """The untrusted types not defined by scikit-learn itself (see the module docstring)."""
    return sorted(t for t in untrusted if not t.startswith("sklearn."))


def _task(model: object) -> str:
    from sklearn.base import is_classifier, is_regressor

    if is_classifier(model):
        return "classification"
    return "regression" if is_regressor(model) else "other"


def _inputs(model: object) -> tuple[TensorSpec, ...]:
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return tuple(TensorSpec(str(n), "float64") for n in names)
    width = getattr(model, "n_features_in_", None)
    if isinstance(width, int):
        return (TensorSpec("input", "float64", (-1, width)),)
    return ()
