"""LightGBM boosters and scikit-learn wrappers, saved as LightGBM's native text model.

``LGBMClassifier`` / ``LGBMRegressor`` are saved as their booster plus the class labels, so both
load into the same lean runtime that calls ``Booster.predict`` on a float matrix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prodml.errors import UnsupportedModelError
from prodml.runtimes.base import Array, Columns, RuntimeOptions, SavedArtifact
from prodml.runtimes.flavors.common import RuntimeBase, defined_in
from prodml.runtimes.outputs import class_array, classes_to_json, classifier_outputs, feature_matrix
from prodml.types import Signature, TensorSpec

MODEL_FILE = "model.txt"
_CLASSIFICATION = {"binary", "multiclass", "multiclassova", "softmax", "ova", "ovr"}
_OTHER = {"lambdarank", "rank_xendcg", "xendcg", "custom", "none"}
_DEFAULT_NAME = re.compile(r"Column_\d+")


class LightGBMFlavor:
    """``lightgbm.Booster`` and the ``LGBMModel`` scikit-learn wrappers."""

    name = "lightgbm"
    accepts_missing = True

    def can_save(self, model: object) -> bool:
        return defined_in(model, "lightgbm")

    def save(
        self, model: object, directory: Path, *, trusted: bool, code_paths: Sequence[Path] = ()
    ) -> SavedArtifact:
        booster: Any = getattr(model, "booster_", model)
        if not hasattr(booster, "model_to_string"):
            raise UnsupportedModelError(
                f"cannot save a {type(model).__name__}: pass a lightgbm.Booster or a fitted "
                "LGBMClassifier / LGBMRegressor"
            )
        text: str = booster.model_to_string()
        if re.search(r"^pandas_categorical:(?!null|\[\])", text, flags=re.MULTILINE):
            raise UnsupportedModelError(
                "this LightGBM model was trained on pandas categorical columns, which prodml "
                "cannot map yet; encode categories as integer codes before training"
            )
        (directory / MODEL_FILE).write_text(text, encoding="utf-8")
        objective = _objective(text)
        classes = getattr(model, "classes_", None)
        options: dict[str, object] = {
            "file": MODEL_FILE,
            "objective": objective,
            "classes": None if classes is None else classes_to_json(classes),
        }
        return SavedArtifact(options, _task(objective), False, _inputs(booster.feature_name()))

    def load(
        self,
        directory: Path,
        flavor_options: Mapping[str, object],
        signature: Signature,
        options: RuntimeOptions,
    ) -> LightGBMRuntime:
        import lightgbm

        model_file = directory / str(flavor_options["file"])
        booster: Any
        if options.compiled:
            from prodml.runtimes.flavors.compiled_trees import CompiledForest

            booster = CompiledForest(model_file, threads=options.threads)
        else:
            booster = lightgbm.Booster(model_file=str(model_file))
        objective = str(flavor_options.get("objective", "regression"))
        classes = flavor_options.get("classes")
        return LightGBMRuntime(
            booster,
            signature,
            classification=_task(objective) == "classification",
            classes=class_array(classes) if isinstance(classes, list) else None,
            threads=None if options.compiled else options.threads,
        )


class LightGBMRuntime(RuntimeBase):
    """Calls ``Booster.predict`` (or a :class:`CompiledForest`'s) on one float matrix; no pandas
    on this path."""

    flavor = "lightgbm"

    def __init__(
        self,
        booster: Any,
        signature: Signature,
        *,
        classification: bool,
        classes: Array | None,
        threads: int | None,
    ) -> None:
        super().__init__(signature)
        self.booster = booster
        self._classification = classification
        self._classes = classes
        self._params: dict[str, Any] = {} if threads is None else {"num_threads": threads}

    def predict(self, inputs: Columns) -> dict[str, Array]:
        scores = self.booster.predict(feature_matrix(inputs, self.signature), **self._params)
        if self._classification:
            return classifier_outputs(scores, self._classes)
        return {"prediction": scores}


def _objective(model_text: str) -> str:
    match = re.search(r"^objective=(\S+)", model_text, flags=re.MULTILINE)
    return match.group(1) if match else "custom"


def _task(objective: str) -> str:
    if objective in _CLASSIFICATION:
        return "classification"
    return "other" if objective in _OTHER else "regression"


def _inputs(names: list[str]) -> tuple[TensorSpec, ...]:
    if all(_DEFAULT_NAME.fullmatch(n) for n in names):
        return (TensorSpec("input", "float64", (-1, len(names)), nullable=True),)
    return tuple(TensorSpec(n, "float64", nullable=True) for n in names)
