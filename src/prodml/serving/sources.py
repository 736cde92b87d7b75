"""Where served models come from: the registry, or a model file (no registry needed).

A ``ModelLoader`` turns one ``ModelConfig`` into a loaded model plus the version it is. The
default loader picks the source by the config's fields (``ref`` or ``path``); tests pass their own
loader with in-memory models.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from prodml.errors import InvalidInputError, ModelLoadError, ProdmlError
from prodml.registry import Registry
from prodml.runtimes import RuntimeOptions, load_model, save_model
from prodml.runtimes.flavors.compiled_trees import CompiledForest
from prodml.serving.config import ModelConfig
from prodml.serving.predictor import Array, Predictor
from prodml.types import Signature, TensorSpec


@dataclass(frozen=True)
class LoadedModel:
    """A model ready to serve, and the version string it answers as."""

    model: Predictor
    version: str


class ModelLoader(Protocol):
    """Loads models for the server; ``current_version`` lets the server notice alias moves."""

    def load(self, config: ModelConfig) -> LoadedModel:
        """Load (not warm) the model a config entry names."""
        ...

    def current_version(self, config: ModelConfig) -> str:
        """The version the config entry resolves to now (cheap: no artifact loading)."""
        ...


@runtime_checkable
class ClosableLoader(Protocol):
    """A loader that holds resources (connections, files) until the server stops."""

    def close(self) -> None: ...


class DefaultLoader:
    """Registry references through ``prodml.registry``; ``path`` entries as model files.

    One registry (one database engine) is opened on first use and kept for every load and alias
    check until ``close``. A model file is imported through ``prodml.runtimes`` (any flavor's
    file: ``.onnx``, ``.json``/``.ubj`` XGBoost, ``.cbm``, ``.skops``, ...; validated on load),
    except LightGBM text files (``.txt``), which ``LightGBMFileModel`` serves straight from the
    file: the runtime path measured +44 us per one-row request and +130 us per 100 rows on the
    benchmark model, and answers a ``label`` output beside ``probability``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registry: Registry | None = None
        self._imported: list[Path] = []  # directories of imported model files

    def load(self, config: ModelConfig) -> LoadedModel:
        options = RuntimeOptions(compiled=config.compiled)
        if config.path is not None:
            model = self._file_model(Path(config.path), options)
            return LoadedModel(model, _file_version(config.path))
        registry = self.registry()
        mv = registry.resolve(_ref(config))
        return LoadedModel(registry.load(mv, options), str(mv.version))

    def current_version(self, config: ModelConfig) -> str:
        if config.path is not None:
            return _file_version(config.path)
        return str(self.registry().resolve(_ref(config)).version)

    def registry(self) -> Registry:
        """The registry this loader reads (opened once; loads run in several threads)."""
        with self._lock:
            if self._registry is None:
                self._registry = Registry.open()
            return self._registry

    def close(self) -> None:
        """Release the registry's connections and the imported model files. Idempotent."""
        with self._lock:
            registry, self._registry = self._registry, None
            imported, self._imported = self._imported, []
        if registry is not None:
            registry.close()
        for directory in imported:
            shutil.rmtree(directory, ignore_errors=True)

    def _file_model(self, path: Path, options: RuntimeOptions) -> Predictor:
        if path.suffix.lower() == ".txt":
            return LightGBMFileModel(path, compiled=options.compiled)
        # Kept until close: some runtimes read their directory after loading.
        directory = Path(tempfile.mkdtemp(prefix="prodml-model-"))
        with self._lock:
            self._imported.append(directory)
        try:
            save_model(path, directory)
            return load_model(directory, options)
        except ProdmlError:
            raise
        except Exception as exc:
            raise ModelLoadError(f"cannot serve model file {str(path)!r}: {exc}") from exc


def _ref(config: ModelConfig) -> str:
    if config.ref is None:
        raise ModelLoadError(f"model {config.served_name!r} has no registry ref")
    return config.ref


def _file_version(path: Path) -> str:
    # A content hash: a changed file is a new version, the same bytes are the same version.
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    except OSError as exc:
        raise ModelLoadError(f"cannot read model file {str(path)!r}: {exc}") from exc


class LightGBMFileModel:
    """A LightGBM text model served straight from its file: one 2-D float32 input.

    Input ``input-0`` of shape (rows, features); outputs ``probability`` for binary models and
    ``prediction`` otherwise. Used for benchmarks and demos that skip the registry. With
    ``compiled`` the forest runs as native code (:class:`CompiledForest`, same predictions).
    """

    flavor = "lightgbm"

    def __init__(
        self, model_file: str | Path, input_name: str = "input-0", *, compiled: bool = False
    ) -> None:
        try:
            import lightgbm as lgb

            self.booster = lgb.Booster(model_file=str(model_file))
        except Exception as exc:
            raise ModelLoadError(f"cannot load LightGBM model {str(model_file)!r}: {exc}") from exc
        # The booster stays for its metadata; predictions come from the compiled forest.
        self._score = CompiledForest(Path(model_file)).predict if compiled else self.booster.predict
        self.features = int(self.booster.num_feature())
        objective = str(self.booster.params.get("objective", ""))
        self._output = "probability" if objective.startswith("binary") else "prediction"
        self.task = "binary" if self._output == "probability" else "regression"
        self._input = input_name
        self.signature = Signature(
            inputs=(TensorSpec(input_name, "float32", (-1, self.features)),),
            outputs=(TensorSpec(self._output, "float64", (-1,)),),
        )

    def predict_columns(
        self, columns: Mapping[str, Array], *, validate: bool = True
    ) -> dict[str, Array]:
        x = columns[self._input]
        if validate and (x.ndim != 2 or x.shape[1] != self.features):
            raise InvalidInputError(
                f"input {self._input!r} must have shape (rows, {self.features}); "
                f"got {list(x.shape)}"
            )
        return {self._output: np.asarray(self._score(x), dtype=np.float64)}

    def predict(self, data: Mapping[str, Array]) -> dict[str, Array]:
        return self.predict_columns(data)

    def warm_up(self) -> None:
        self.predict_columns({self._input: np.zeros((1, self.features), dtype=np.float32)})


class InMemoryLoader:
    """Serves model objects held in memory, by served name; ``publish`` makes a new version
    current (what moving an alias does in the registry).

    Example:
        >>> from prodml.testing.fakes import FakeModel
        >>> loader = InMemoryLoader({"m": FakeModel()})
        >>> loader.current_version(ModelConfig(ref="m"))
        '1'
    """

    def __init__(self, models: Mapping[str, Predictor] | None = None) -> None:
        self._versions: dict[str, dict[str, Predictor]] = {}
        self._current: dict[str, str] = {}
        for name, model in (models or {}).items():
            self.publish(name, "1", model)

    def publish(self, name: str, version: str, model: Predictor) -> None:
        self._versions.setdefault(name, {})[version] = model
        self._current[name] = version

    def load(self, config: ModelConfig) -> LoadedModel:
        version = self.current_version(config)
        return LoadedModel(self._versions[config.served_name][version], version)

    def current_version(self, config: ModelConfig) -> str:
        try:
            return self._current[config.served_name]
        except KeyError:
            raise ModelLoadError(f"no in-memory model named {config.served_name!r}") from None
