"""Reading a model someone already saved (a file or an MLflow directory) into an object.

``save_model`` accepts such a path instead of a fitted model; the object read here is then saved
by the matching flavor, so imported models end up in the same native formats as any other. The
format is chosen by the file's extension:

======================  ==================================================
``MLmodel`` directory   MLflow model (see ``prodml.runtimes.mlflow_import``)
``.txt``                LightGBM text model
``.ubj``, ``.json``     XGBoost model
``.cbm``                CatBoost model
``.onnx``               ONNX model
``.pt``                 TorchScript module
``.pt2``                ``torch.export`` exported program
``.skops``              scikit-learn model saved with skops
``.pkl``, ``.joblib``   pickled model (only with ``trusted=True``)
======================  ==================================================
"""

from __future__ import annotations

from pathlib import Path

from prodml.errors import UnsafeArtifactError, UnsupportedModelError
from prodml.runtimes.flavors.common import require
from prodml.runtimes.flavors.sklearn import foreign_types
from prodml.runtimes.flavors.torch import quiet_torchscript
from prodml.runtimes.mlflow_import import ImportedModel, import_mlflow_model, is_mlflow_model

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")


def open_saved_model(path: Path, *, trusted: bool) -> ImportedModel:
    """Read the model saved at ``path`` (see the table in the module docstring).

    Raises:
        UnsupportedModelError: the path is neither a known file type nor an MLflow directory.
        UnsafeArtifactError: the file would run code when read and ``trusted`` is False.
    """
    if path.is_dir():
        if is_mlflow_model(path):
            return import_mlflow_model(path, trusted=trusted)
        raise UnsupportedModelError(
            f"{path} is a directory without an MLmodel file; pass an MLflow model directory or "
            "a model file"
        )
    if not path.is_file():
        raise UnsupportedModelError(f"{path} does not exist")
    suffix = path.suffix.lower()
    reader = _READERS.get(suffix)
    if reader is None and suffix in PICKLE_SUFFIXES:
        return ImportedModel(_unpickle(path, trusted))
    if reader is None:
        known = ", ".join([*_READERS, *PICKLE_SUFFIXES])
        raise UnsupportedModelError(
            f"{path}: unknown model file type {suffix or '(no extension)'!r}; prodml reads {known} "
            "files and MLflow model directories"
        )
    return ImportedModel(reader(path, trusted))


def _lightgbm(path: Path, trusted: bool) -> object:
    import lightgbm  # a core dependency: no extra to name

    return lightgbm.Booster(model_file=str(path))


def _xgboost(path: Path, trusted: bool) -> object:
    booster = require("xgboost", "xgboost").Booster()
    booster.load_model(str(path))
    return booster


def _catboost(path: Path, trusted: bool) -> object:
    model = require("catboost", "catboost").CatBoost()
    model.load_model(str(path), format="cbm")
    return model


def _onnx(path: Path, trusted: bool) -> object:
    return require("onnx", "onnx").load(str(path))


def _torchscript(path: Path, trusted: bool) -> object:
    torch = require("torch", "torch")
    with quiet_torchscript():
        return torch.jit.load(str(path), map_location="cpu")


def _exported_program(path: Path, trusted: bool) -> object:
    return require("torch", "torch").export.load(str(path))


def _skops(path: Path, trusted: bool) -> object:
    import skops.io

    untrusted = skops.io.get_untrusted_types(file=path)
    foreign = foreign_types(untrusted)
    if foreign and not trusted:
        raise UnsafeArtifactError(
            f"{path} holds types skops does not know as safe ({', '.join(foreign)}); pass "
            "trusted=True only if you trust its source"
        )
    return skops.io.load(path, trusted=untrusted)


def _unpickle(path: Path, trusted: bool) -> object:
    if not trusted:
        raise UnsafeArtifactError(
            f"{path} is a pickle, which runs code when loaded; pass trusted=True only if you "
            "trust its source (or save the model with skops / its native format instead)"
        )
    import joblib  # joblib ships no type information

    return joblib.load(path)


_READERS = {
    ".txt": _lightgbm,
    ".ubj": _xgboost,
    ".json": _xgboost,
    ".cbm": _catboost,
    ".onnx": _onnx,
    ".pt": _torchscript,
    ".pt2": _exported_program,
    ".skops": _skops,
}
