"""Model runtimes: save a model of any supported library into a directory, load it, predict.

    >>> import numpy as np, tempfile, pathlib
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> save_model(LogisticRegression().fit(X, y), d, sample=X).task
    'classification'
    >>> list(load_model(d).predict(X))
    ['probability', 'label']

Flavors (``FLAVORS``): sklearn (skops), lightgbm, xgboost, catboost, onnx, torch, pyfunc
(Python-function models) and mlflow_pyfunc; MLflow model directories are imported into them.
"""

from prodml.runtimes.base import (
    Array,
    Columns,
    Flavor,
    ModelRuntime,
    RuntimeOptions,
    SavedArtifact,
)
from prodml.runtimes.batch import to_columns
from prodml.runtimes.flavors import FLAVORS, PythonModel
from prodml.runtimes.inference import infer_input_specs, infer_output_specs
from prodml.runtimes.manifest import MANIFEST_FILE, ModelManifest, read_manifest
from prodml.runtimes.model import Model, load_model
from prodml.runtimes.saving import find_flavor, save_model
from prodml.runtimes.validation import validate_columns

__all__ = [
    "FLAVORS",
    "MANIFEST_FILE",
    "Array",
    "Columns",
    "Flavor",
    "Model",
    "ModelManifest",
    "ModelRuntime",
    "PythonModel",
    "RuntimeOptions",
    "SavedArtifact",
    "find_flavor",
    "infer_input_specs",
    "infer_output_specs",
    "load_model",
    "read_manifest",
    "save_model",
    "to_columns",
    "validate_columns",
]
