"""Every flavor prodml ships, by name; ``save_model`` asks them in this order.

Tree libraries come before scikit-learn because their scikit-learn wrappers are estimators too;
Python-function models come last because any object with ``load`` and ``predict`` qualifies.
"""

from __future__ import annotations

from prodml.runtimes.base import Flavor
from prodml.runtimes.flavors.catboost import CatBoostFlavor
from prodml.runtimes.flavors.lightgbm import LightGBMFlavor
from prodml.runtimes.flavors.mlflow_pyfunc import MlflowPyfuncFlavor, MlflowPythonSource
from prodml.runtimes.flavors.onnx import OnnxFlavor
from prodml.runtimes.flavors.pyfunc import PyfuncFlavor, PythonModel
from prodml.runtimes.flavors.sklearn import SklearnFlavor
from prodml.runtimes.flavors.torch import TorchFlavor
from prodml.runtimes.flavors.xgboost import XGBoostFlavor

_ORDERED: tuple[Flavor, ...] = (
    LightGBMFlavor(),
    XGBoostFlavor(),
    CatBoostFlavor(),
    TorchFlavor(),
    OnnxFlavor(),
    SklearnFlavor(),
    MlflowPyfuncFlavor(),
    PyfuncFlavor(),
)
FLAVORS: dict[str, Flavor] = {flavor.name: flavor for flavor in _ORDERED}

__all__ = ["FLAVORS", "MlflowPythonSource", "PythonModel"]
