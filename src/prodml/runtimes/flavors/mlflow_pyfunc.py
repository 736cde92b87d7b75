"""MLflow ``python_function`` models that no native flavor covers, run without MLflow.

Two kinds are understood, as MLflow writes them:

- ``python_model: python_model.pkl``: a cloudpickled ``PythonModel`` with ``predict(context,
  model_input)`` and optionally ``load_context(context)``; ``artifacts`` are handed over in
  ``context.artifacts``;
- ``loader_module: <module>`` (not ``mlflow.*``) with ``data``: the module's
  ``_load_pyfunc(data_path)`` returns an object with ``predict(model_input)``.

The MLflow directory is copied into the artifact as ``mlflow/``. Its ``code/`` folder goes on
``sys.path`` at load, as MLflow itself does, because pickles name their classes by module.
Inputs reach the model as a DataFrame (column inputs) or the array itself (one tensor input).
Both kinds run code on load and need ``RuntimeOptions(trusted=True)``. A pickle of a class
derived from ``mlflow.pyfunc.PythonModel`` needs mlflow installed to unpickle.
"""

from __future__ import annotations

import importlib
import inspect
import pickle
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prodml.errors import MissingExtraError, UnsafeArtifactError
from prodml.runtimes.base import Array, Columns, RuntimeOptions, SavedArtifact
from prodml.runtimes.flavors.common import RuntimeBase
from prodml.runtimes.flavors.pyfunc import named_outputs
from prodml.types import Signature

COPY_DIR = "mlflow"


@dataclass(frozen=True)
class MlflowPythonSource:
    """An MLflow ``python_function`` model directory, found by the MLflow importer.

    Attributes:
        directory: the MLflow model directory.
        options: the flavor options (``python_model``, ``loader_module``, ``data``, ``code``,
            ``artifacts``), paths relative to ``directory``.
    """

    directory: Path
    options: dict[str, object] = field(default_factory=dict)


@dataclass
class _Context:
    """What MLflow hands ``load_context`` and ``predict``: artifact paths and model config."""

    artifacts: dict[str, str]
    model_config: dict[str, object] = field(default_factory=dict)


class MlflowPyfuncFlavor:
    """MLflow ``python_function`` models (cloudpickled ``PythonModel`` or custom loader)."""

    name = "mlflow_pyfunc"
    accepts_missing = False

    def can_save(self, model: object) -> bool:
        return isinstance(model, MlflowPythonSource)

    def save(
        self, model: object, directory: Path, *, trusted: bool, code_paths: Sequence[Path] = ()
    ) -> SavedArtifact:
        if not isinstance(model, MlflowPythonSource):
            raise TypeError(f"expected an MlflowPythonSource, got {type(model).__name__}")
        if not trusted:
            raise UnsafeArtifactError(
                f"{model.directory} is an MLflow python_function model; it runs code (pickle or "
                "a loader module) on load: import it with trusted=True if you trust its source"
            )
        shutil.copytree(model.directory, directory / COPY_DIR)
        return SavedArtifact(dict(model.options), "other", True)

    def load(
        self,
        directory: Path,
        flavor_options: Mapping[str, object],
        signature: Signature,
        options: RuntimeOptions,
    ) -> MlflowPyfuncRuntime:
        if not options.trusted:
            raise UnsafeArtifactError(
                f"{directory} is an MLflow python_function model; loading it runs code, so it "
                "needs RuntimeOptions(trusted=True)"
            )
        root = directory / COPY_DIR
        code = flavor_options.get("code")
        if code and str(root / str(code)) not in sys.path:
            sys.path.insert(0, str(root / str(code)))
        loader = flavor_options.get("loader_module")
        if loader:
            module = importlib.import_module(str(loader))
            data = flavor_options.get("data")
            model = module._load_pyfunc(str(root / str(data)) if data else str(root))
            return MlflowPyfuncRuntime(model, signature, None)
        model = _unpickle(root / str(flavor_options["python_model"]))
        artifacts = flavor_options.get("artifacts")
        pairs = artifacts.items() if isinstance(artifacts, Mapping) else ()
        context = _Context({str(k): str(root / str(v)) for k, v in pairs})
        load_context = getattr(model, "load_context", None)
        if callable(load_context):
            load_context(context)
        return MlflowPyfuncRuntime(model, signature, context)


class MlflowPyfuncRuntime(RuntimeBase):
    """Calls an MLflow-style ``predict`` with a DataFrame or array and names its answer."""

    flavor = "mlflow_pyfunc"

    def __init__(self, model: Any, signature: Signature, context: _Context | None) -> None:
        super().__init__(signature)
        self.model = model
        self._context = context
        params = list(inspect.signature(model.predict).parameters)
        # PythonModel.predict(context, model_input); loaders' objects take predict(model_input).
        self._pass_context = context is not None and len(params) >= 2

    def predict(self, inputs: Columns) -> dict[str, Array]:
        model_input = self._model_input(inputs)
        if self._pass_context:
            result = self.model.predict(self._context, model_input)
        else:
            result = self.model.predict(model_input)
        return named_outputs(result)

    def _model_input(self, inputs: Columns) -> object:
        specs = self.signature.inputs
        if len(specs) == 1 and not specs[0].is_column:
            return inputs[specs[0].name]
        import pandas as pd

        return pd.DataFrame({name: inputs[name] for name in self.signature.input_names})


def _unpickle(path: Path) -> Any:
    try:
        with path.open("rb") as fh:
            return pickle.load(fh)  # noqa: S301 - trusted=True was checked by the caller
    except ModuleNotFoundError as exc:
        missing = exc.name or "a module"
        raise MissingExtraError(
            f"{path} needs {missing} to unpickle; install it (pip install {missing.split('.')[0]}) "
            "or ship the module in the MLflow model's code/ folder"
        ) from exc
