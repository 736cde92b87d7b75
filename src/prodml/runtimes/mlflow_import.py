"""Reading an MLflow model directory (its ``MLmodel`` file) without MLflow installed.

The native flavor wins when the ``MLmodel`` lists several: ``lightgbm``, ``xgboost``,
``catboost``, ``onnx``, ``sklearn``, then ``python_function`` (see
``prodml.runtimes.flavors.mlflow_pyfunc``). Files are read as MLflow lays them out:

- ``sklearn``: ``pickled_model: model.pkl`` with ``serialization_format`` pickle or cloudpickle
  (both need ``trusted=True``); the model is then saved by prodml's own sklearn flavor (skops);
- ``lightgbm``: ``data: model.lgb`` (native text; a ``.pkl`` wrapper needs ``trusted=True``);
- ``xgboost``: ``data: model.<model_format>`` and ``model_class`` (Booster or a wrapper);
- ``catboost``: ``data`` with ``model_type`` and ``save_format``;
- ``onnx``: ``data: model.onnx``.

The ``signature`` inputs (JSON column or tensor specs) become prodml input specs; MLflow's
output specs are not used because prodml's runtimes name their outputs by its own convention.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prodml.errors import ConfigError, ModelLoadError, UnsafeArtifactError, UnsupportedModelError
from prodml.runtimes.flavors.common import require
from prodml.runtimes.flavors.mlflow_pyfunc import MlflowPythonSource
from prodml.types import TensorSpec

MLMODEL_FILE = "MLmodel"
_COLUMN_TYPES = {
    "boolean": "bool",
    "integer": "int32",
    "long": "int64",
    "float": "float32",
    "double": "float64",
    "string": "string",
}
_XGBOOST_CLASSES = {
    "XGBClassifier",
    "XGBRegressor",
    "XGBRFClassifier",
    "XGBRFRegressor",
    "XGBRanker",
    "Booster",
}
_CATBOOST_CLASSES = {"CatBoost", "CatBoostClassifier", "CatBoostRegressor", "CatBoostRanker"}


@dataclass(frozen=True)
class ImportedModel:
    """A model object read from an MLflow directory, and the signature inputs it declared."""

    model: object
    inputs: tuple[TensorSpec, ...] = ()


def is_mlflow_model(path: Path) -> bool:
    """True when ``path`` is a directory holding an ``MLmodel`` file."""
    return (path / MLMODEL_FILE).is_file()


def import_mlflow_model(directory: Path, *, trusted: bool) -> ImportedModel:
    """Read the model in an MLflow directory into an object a prodml flavor can save.

    Raises:
        UnsupportedModelError: no flavor in the ``MLmodel`` file is understood.
        UnsafeArtifactError: the model is a pickle and ``trusted`` is False.
    """
    import yaml

    try:
        spec = yaml.safe_load((directory / MLMODEL_FILE).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ModelLoadError(f"cannot read {directory / MLMODEL_FILE}: {exc}") from exc
    flavors: dict[str, Any] = dict(spec.get("flavors") or {})
    inputs = _signature_inputs(spec.get("signature"))
    readers = {
        "lightgbm": _lightgbm,
        "xgboost": _xgboost,
        "catboost": _catboost,
        "onnx": _onnx,
        "sklearn": _sklearn,
        "python_function": _python_function,
    }
    for name, reader in readers.items():
        if name in flavors:
            model = reader(directory, dict(flavors[name] or {}), trusted)
            if model is not None:
                return ImportedModel(model, inputs)
    raise UnsupportedModelError(
        f"{directory}: MLmodel flavors {sorted(flavors)} are not supported; prodml imports "
        f"{', '.join(readers)}"
    )


def _pickle(path: Path, trusted: bool) -> object:
    if not trusted:
        raise UnsafeArtifactError(
            f"{path} is a pickle, which runs code when loaded; import it with trusted=True only "
            "if you trust its source"
        )
    with path.open("rb") as fh:
        return pickle.load(fh)  # noqa: S301 - trusted=True was given


def _sklearn(directory: Path, flavor: dict[str, Any], trusted: bool) -> object:
    fmt = flavor.get("serialization_format", "cloudpickle")
    if fmt not in ("pickle", "cloudpickle"):
        raise UnsupportedModelError(f"{directory}: sklearn serialization_format {fmt!r} unknown")
    return _pickle(directory / str(flavor.get("pickled_model", "model.pkl")), trusted)


def _lightgbm(directory: Path, flavor: dict[str, Any], trusted: bool) -> object:
    path = directory / str(flavor.get("data", "model.lgb"))
    if path.suffix == ".pkl":  # MLflow pickles the scikit-learn wrappers
        return _pickle(path, trusted)
    import lightgbm  # a core dependency: no extra to name

    return lightgbm.Booster(model_file=str(path))


def _xgboost(directory: Path, flavor: dict[str, Any], trusted: bool) -> object:
    xgboost = require("xgboost", "xgboost")
    path = directory / str(flavor.get("data", "model.xgb"))
    class_name = str(flavor.get("model_class", "xgboost.core.Booster")).rsplit(".", 1)[-1]
    if class_name not in _XGBOOST_CLASSES:
        raise UnsupportedModelError(f"{directory}: xgboost model_class {class_name!r} unknown")
    model = getattr(xgboost, class_name)()
    # Reading bytes lets XGBoost detect JSON vs UBJSON itself, whatever the file extension.
    model.load_model(bytearray(path.read_bytes()))
    return model


def _catboost(directory: Path, flavor: dict[str, Any], trusted: bool) -> object:
    catboost = require("catboost", "catboost")
    class_name = str(flavor.get("model_type", "CatBoost"))
    if class_name not in _CATBOOST_CLASSES:
        raise UnsupportedModelError(f"{directory}: catboost model_type {class_name!r} unknown")
    model = getattr(catboost, class_name)()
    model.load_model(
        str(directory / str(flavor.get("data", "model.cb"))),
        format=str(flavor.get("save_format", "cbm")),
    )
    return model


def _onnx(directory: Path, flavor: dict[str, Any], trusted: bool) -> object:
    onnx = require("onnx", "onnx")
    return onnx.load(str(directory / str(flavor.get("data", "model.onnx"))))


def _python_function(directory: Path, flavor: dict[str, Any], trusted: bool) -> object | None:
    loader = str(flavor.get("loader_module") or "")
    options: dict[str, object] = {"code": flavor.get("code")}
    if flavor.get("python_model"):
        options["python_model"] = flavor["python_model"]
        artifacts = flavor.get("artifacts") or {}
        options["artifacts"] = {
            str(k): str(v.get("path") if isinstance(v, dict) else v) for k, v in artifacts.items()
        }
    elif loader and not loader.startswith("mlflow."):
        options["loader_module"] = loader
        options["data"] = flavor.get("data")
    else:
        return None  # an MLflow built-in loader whose native flavor block is missing
    return MlflowPythonSource(directory, options)


def _signature_inputs(signature: Any) -> tuple[TensorSpec, ...]:
    if not isinstance(signature, dict) or not signature.get("inputs"):
        return ()
    raw = signature["inputs"]
    try:
        columns = json.loads(raw) if isinstance(raw, str) else raw
        return tuple(_spec(c, i, len(columns)) for i, c in enumerate(columns))
    except (TypeError, ValueError, KeyError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ModelLoadError(f"cannot read the MLmodel signature inputs {raw!r}: {exc}") from exc


def _spec(column: dict[str, Any], index: int, count: int) -> TensorSpec:
    default_name = "input" if count == 1 else f"input_{index}"
    name = str(column.get("name") or default_name)
    if column["type"] == "tensor":
        tensor = column["tensor-spec"]
        shape = tuple(int(d) for d in tensor["shape"])
        tensor_dtype = str(tensor["dtype"])
        if tensor_dtype in ("str", "object"):
            tensor_dtype = "string"
        return TensorSpec(name, tensor_dtype, (-1, *shape[1:]))
    dtype = _COLUMN_TYPES.get(column["type"])
    if dtype is None:
        raise UnsupportedModelError(
            f"MLmodel input {name!r} has type {column['type']!r}; prodml supports "
            f"{', '.join(_COLUMN_TYPES)} and tensors"
        )
    return TensorSpec(name, dtype, nullable=not column.get("required", True))
