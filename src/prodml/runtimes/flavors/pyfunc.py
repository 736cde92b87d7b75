"""Python-function models: a user class shipped together with its code.

The class needs ``predict(self, inputs)`` (a mapping of input name to array in; a mapping of
output name to array, a single array, or a DataFrame out) and ``load(self, directory)``. When it
also has ``save(self, directory)``, that is called at save time to write its state; ``load`` gets
the same directory back. The class's module file (or package) is copied into the artifact, and
imported from there on load under a private module name, so the artifact does not depend on the
user's ``sys.path``. Packages should import their own modules relatively.

Loading runs the user's code, so it needs ``RuntimeOptions(trusted=True)``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import shutil
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np

from prodml.errors import ConfigError, ModelLoadError, UnsafeArtifactError
from prodml.runtimes.base import Array, Columns, RuntimeOptions, SavedArtifact
from prodml.runtimes.flavors.common import RuntimeBase
from prodml.types import Signature

CODE_DIR = "code"
DATA_DIR = "data"
_TASKS = ("classification", "regression", "other")


class PythonModel(Protocol):
    """What a Python-function model provides (``save(self, directory)`` is optional)."""

    def load(self, directory: Path) -> None:
        """Read the state that ``save`` wrote into ``directory``."""
        ...

    def predict(self, inputs: Mapping[str, Array]) -> object:
        """Predict on one array per input name."""
        ...


class PyfuncFlavor:
    """User classes with ``load(directory)`` and ``predict(inputs)``, shipped with their code."""

    name = "pyfunc"
    accepts_missing = False

    def can_save(self, model: object) -> bool:
        return callable(getattr(model, "predict", None)) and callable(getattr(model, "load", None))

    def save(
        self, model: object, directory: Path, *, trusted: bool, code_paths: Sequence[Path] = ()
    ) -> SavedArtifact:
        cls = type(model)
        paths = [Path(p) for p in code_paths] or [_default_code_path(cls)]
        code_dir = directory / CODE_DIR
        code_dir.mkdir()
        for path in paths:
            if path.is_dir():
                shutil.copytree(
                    path, code_dir / path.name, ignore=shutil.ignore_patterns("__pycache__")
                )
            elif path.is_file():
                shutil.copy2(path, code_dir / path.name)
            else:
                raise ConfigError(f"code path {path} does not exist")
        top = cls.__module__.split(".", 1)[0]
        if not ((code_dir / top).is_dir() or (code_dir / f"{top}.py").is_file()):
            raise ConfigError(
                f"{cls.__qualname__} is defined in module {cls.__module__!r}, which is not among "
                f"code_paths ({', '.join(p.name for p in paths)}); pass the file or package that "
                "defines it"
            )
        data_dir = directory / DATA_DIR
        data_dir.mkdir()
        save = getattr(model, "save", None)
        if callable(save):
            save(data_dir)
        task = getattr(model, "task", "other")
        options: dict[str, object] = {"module": cls.__module__, "class": cls.__qualname__}
        return SavedArtifact(options, task if task in _TASKS else "other", True)

    def load(
        self,
        directory: Path,
        flavor_options: Mapping[str, object],
        signature: Signature,
        options: RuntimeOptions,
    ) -> PyfuncRuntime:
        if not options.trusted:
            raise UnsafeArtifactError(
                f"{directory} is a Python-function model; loading runs its code, so it needs "
                "RuntimeOptions(trusted=True)"
            )
        module = import_shipped_module(directory / CODE_DIR, str(flavor_options["module"]))
        target: Any = module
        for part in str(flavor_options["class"]).split("."):
            target = getattr(target, part)
        instance = target()
        instance.load(directory / DATA_DIR)
        return PyfuncRuntime(instance, signature)


class PyfuncRuntime(RuntimeBase):
    """Calls the user's ``predict`` and normalises what it returns into named arrays."""

    flavor = "pyfunc"

    def __init__(self, instance: Any, signature: Signature) -> None:
        super().__init__(signature)
        self.instance = instance

    def predict(self, inputs: Columns) -> dict[str, Array]:
        return named_outputs(self.instance.predict(dict(inputs)))


def named_outputs(result: object) -> dict[str, Array]:
    """A user model's answer as named arrays: mappings keep their keys, a DataFrame its column
    names, anything else becomes ``prediction``."""
    if isinstance(result, Mapping):
        return {str(k): np.asarray(v) for k, v in result.items()}
    columns = getattr(result, "columns", None)
    if columns is not None and hasattr(result, "to_numpy"):  # a pandas DataFrame
        frame: Any = result
        return {str(c): np.asarray(frame[c].to_numpy()) for c in columns}
    values = getattr(result, "to_numpy", None)  # a pandas Series
    return {"prediction": np.asarray(values() if callable(values) else result)}


def import_shipped_module(code_dir: Path, module: str) -> ModuleType:
    """Import ``module`` from the code shipped in ``code_dir``, under a private name.

    The private name (derived from the directory) keeps two artifacts with same-named modules, or
    the user's own checkout, from shadowing each other.
    """
    top, _, rest = module.partition(".")
    digest = hashlib.sha256(str(code_dir.resolve()).encode()).hexdigest()[:12]
    alias = f"_prodml_pyfunc_{digest}_{top}"
    if alias not in sys.modules:
        package = code_dir / top
        if package.is_dir():
            spec = importlib.util.spec_from_file_location(
                alias, package / "__init__.py", submodule_search_locations=[str(package)]
            )
        else:
            spec = importlib.util.spec_from_file_location(alias, code_dir / f"{top}.py")
        if spec is None or spec.loader is None:
            raise ModelLoadError(f"cannot import {module!r} from {code_dir}")
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[alias] = loaded
        try:
            spec.loader.exec_module(loaded)
        except BaseException:
            del sys.modules[alias]
            raise
    return importlib.import_module(f"{alias}.{rest}") if rest else sys.modules[alias]


def _default_code_path(cls: type) -> Path:
    if cls.__module__ == "__main__":
        raise ConfigError(
            f"{cls.__qualname__} is defined in __main__; move it into a module file and pass "
            "that file as code_paths"
        )
    return Path(inspect.getfile(cls))
