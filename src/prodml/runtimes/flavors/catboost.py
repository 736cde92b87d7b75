"""CatBoost models, saved in CatBoost's native ``cbm`` format.

Loaded as ``CatBoostClassifier`` or ``CatBoostRegressor`` (from the loss function) so that
``predict_proba`` / ``predict`` apply CatBoost's own output transforms. Categorical features are
passed as text columns.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prodml.runtimes.base import Array, Columns, RuntimeOptions, SavedArtifact
from prodml.runtimes.flavors.common import RuntimeBase, defined_in, require
from prodml.runtimes.outputs import class_array, classes_to_json, classifier_outputs, feature_matrix
from prodml.types import Signature, TensorSpec

MODEL_FILE = "model.cbm"
_CLASSIFICATION = {"Logloss", "CrossEntropy", "MultiClass", "MultiClassOneVsAll"}
_RANKING_MARKS = ("Rank", "Pair", "Query", "NDCG", "PFound", "MAP")


class CatBoostFlavor:
    """``CatBoost``, ``CatBoostClassifier`` and ``CatBoostRegressor``."""

    name = "catboost"
    accepts_missing = True

    def can_save(self, model: object) -> bool:
        return defined_in(model, "catboost")

    def save(
        self, model: object, directory: Path, *, trusted: bool, code_paths: Sequence[Path] = ()
    ) -> SavedArtifact:
        cb: Any = model
        cb.save_model(str(directory / MODEL_FILE), format="cbm")
        loss = _loss(cb)
        task = _task(loss)
        classes = getattr(cb, "classes_", None) if task == "classification" else None
        options: dict[str, object] = {
            "file": MODEL_FILE,
            "loss_function": loss,
            "classes": None if classes is None else classes_to_json(classes),
        }
        categorical = set(cb.get_cat_feature_indices())
        inputs = tuple(
            TensorSpec(str(n), "string" if i in categorical else "float32", nullable=True)
            for i, n in enumerate(cb.feature_names_ or ())
        )
        return SavedArtifact(options, task, False, inputs)

    def load(
        self,
        directory: Path,
        flavor_options: Mapping[str, object],
        signature: Signature,
        options: RuntimeOptions,
    ) -> CatBoostRuntime:
        catboost = require("catboost", "catboost")
        task = _task(str(flavor_options.get("loss_function", "")))
        model = {
            "classification": catboost.CatBoostClassifier,
            "regression": catboost.CatBoostRegressor,
        }.get(task, catboost.CatBoost)()
        model.load_model(str(directory / str(flavor_options["file"])), format="cbm")
        classes = flavor_options.get("classes")
        return CatBoostRuntime(
            model,
            signature,
            task=task,
            classes=class_array(classes) if isinstance(classes, list) else None,
            threads=options.threads,
        )


class CatBoostRuntime(RuntimeBase):
    """Predicts on a float matrix, or a DataFrame when the model has categorical features."""

    flavor = "catboost"

    def __init__(
        self,
        model: Any,
        signature: Signature,
        *,
        task: str,
        classes: Array | None,
        threads: int | None,
    ) -> None:
        super().__init__(signature)
        self.model = model
        self._task = task
        self._classes = classes
        self._kwargs: dict[str, Any] = {} if threads is None else {"thread_count": threads}
        self._categorical = bool(model.get_cat_feature_indices())
        self._names = list(model.feature_names_ or ())

    def predict(self, inputs: Columns) -> dict[str, Array]:
        features = self._features(inputs)
        if self._task == "classification":
            return classifier_outputs(
                self.model.predict_proba(features, **self._kwargs), self._classes
            )
        return {"prediction": self.model.predict(features, **self._kwargs)}

    def _features(self, inputs: Columns) -> object:
        if not self._categorical:
            return feature_matrix(inputs, self.signature)
        import pandas as pd

        # Stacking text and numbers into one numpy matrix would turn the numbers into text.
        frame = pd.DataFrame({n: inputs[n] for n in self.signature.input_names})
        if len(self._names) == frame.shape[1]:
            frame.columns = self._names
        return frame


def _loss(model: Any) -> str:
    params = model.get_all_params() or {}
    return str(params.get("loss_function", "")).split(":", 1)[0]


def _task(loss: str) -> str:
    if loss in _CLASSIFICATION:
        return "classification"
    if any(mark in loss for mark in _RANKING_MARKS):
        return "other"
    return "regression"
