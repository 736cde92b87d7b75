"""XGBoost boosters and scikit-learn wrappers, saved in XGBoost's UBJSON format.

Prediction goes through ``Booster.inplace_predict`` on a float matrix, which skips building a
``DMatrix``. JSON model files are accepted on import and re-saved as UBJSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prodml.errors import UnsupportedModelError
from prodml.runtimes.base import Array, Columns, RuntimeOptions, SavedArtifact
from prodml.runtimes.flavors.common import RuntimeBase, defined_in, require
from prodml.runtimes.outputs import class_array, classes_to_json, classifier_outputs, feature_matrix
from prodml.types import Signature, TensorSpec

MODEL_FILE = "model.ubj"
# Objectives whose predictions are class probabilities / class labels.
_PROBABILITY = {"binary:logistic", "multi:softprob"}
_LABEL = {"multi:softmax", "binary:hinge"}


class XGBoostFlavor:
    """``xgboost.Booster`` and the ``XGBModel`` scikit-learn wrappers."""

    name = "xgboost"
    accepts_missing = True

    def can_save(self, model: object) -> bool:
        return defined_in(model, "xgboost")

    def save(
        self, model: object, directory: Path, *, trusted: bool, code_paths: Sequence[Path] = ()
    ) -> SavedArtifact:
        get_booster = getattr(model, "get_booster", None)
        booster: Any = get_booster() if callable(get_booster) else model
        if not hasattr(booster, "inplace_predict"):
            raise UnsupportedModelError(
                f"cannot save a {type(model).__name__}: pass an xgboost.Booster or a fitted "
                "XGBClassifier / XGBRegressor"
            )
        booster.save_model(str(directory / MODEL_FILE))
        objective = booster_objective(booster)
        classes = getattr(model, "classes_", None)
        options: dict[str, object] = {
            "file": MODEL_FILE,
            "objective": objective,
            "classes": None if classes is None else classes_to_json(classes),
        }
        names = booster.feature_names
        if names:
            inputs = tuple(TensorSpec(str(n), "float32", nullable=True) for n in names)
        else:
            inputs = (TensorSpec("input", "float32", (-1, booster.num_features()), nullable=True),)
        return SavedArtifact(options, _task(objective), False, inputs)

    def load(
        self,
        directory: Path,
        flavor_options: Mapping[str, object],
        signature: Signature,
        options: RuntimeOptions,
    ) -> XGBoostRuntime:
        xgboost = require("xgboost", "xgboost")
        booster = xgboost.Booster()
        booster.load_model(str(directory / str(flavor_options["file"])))
        if options.threads is not None:
            booster.set_param({"nthread": options.threads})
        classes = flavor_options.get("classes")
        return XGBoostRuntime(
            booster,
            signature,
            objective=str(flavor_options.get("objective", "")),
            classes=class_array(classes) if isinstance(classes, list) else None,
        )


class XGBoostRuntime(RuntimeBase):
    """Calls ``Booster.inplace_predict`` on one float matrix."""

    flavor = "xgboost"

    def __init__(
        self, booster: Any, signature: Signature, *, objective: str, classes: Array | None
    ) -> None:
        super().__init__(signature)
        self.booster = booster
        self._objective = objective
        self._classes = classes

    def predict(self, inputs: Columns) -> dict[str, Array]:
        scores = self.booster.inplace_predict(feature_matrix(inputs, self.signature))
        if self._objective in _PROBABILITY:
            return classifier_outputs(scores, self._classes)
        if self._objective in _LABEL:
            picked = scores.astype("int64")
            return {"label": picked if self._classes is None else self._classes[picked]}
        return {"prediction": scores}


def booster_objective(booster: Any) -> str:
    """The objective name stored in a booster's configuration (``binary:logistic``, ...)."""
    config = json.loads(booster.save_config())
    return str(config["learner"]["objective"]["name"])


def _task(objective: str) -> str:
    if objective in _PROBABILITY or objective in _LABEL:
        return "classification"
    if objective.startswith(("reg:", "count:", "survival:")):
        return "regression"
    return "other"
