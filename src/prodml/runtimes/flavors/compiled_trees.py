"""LightGBM forests compiled to native code with lleaves, for CPU-bound tree serving.

Why: on the shared benchmark model (200 trees of 31 leaves, 30 features) ``Booster.predict``
takes about 0.9-1.1 ms per 100 rows on one core, and in a server that answers 100-row requests
that is most of the time spent per request. lleaves compiles the same forest with LLVM into a
function that takes about 0.2 ms for those rows and returns the same numbers (largest absolute
difference 3e-16 on the benchmark rows; missing values and categorical splits follow LightGBM's
rules). Opt in per model with ``compiled: true``; it needs ``pip install 'prodml[lleaves]'``.

Compiling takes seconds (about 8 s for the benchmark model), so the object code is cached in
``PRODML_HOME/cache/lleaves``, keyed by the model text's sha256 and by the compiler and CPU it
was built for (lleaves itself never checks a cache file's staleness). One process compiles while
others wait on a file lock and then load the cached object; the object is written under a
temporary name and renamed, so a crash never leaves a half-written cache entry.
"""

from __future__ import annotations

import hashlib
import os
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from prodml.errors import MissingExtraError, UnsupportedModelError
from prodml.runtimes.base import Array
from prodml.settings import Settings

EXTRA_HINT = "install the lleaves extra: pip install 'prodml[lleaves]'"
# Threads pay off only on large batches: lleaves starts a thread pool per call.
_PARALLEL_ROWS = 10_000


class CompiledForest:
    """A LightGBM text model compiled by lleaves; ``predict`` is ``Booster.predict``'s result.

    Example:
        >>> forest = CompiledForest(Path("model.txt"))  # doctest: +SKIP
        >>> scores = forest.predict(np.zeros((2, forest.features)))  # doctest: +SKIP
    """

    def __init__(
        self, model_file: Path, *, threads: int | None = None, cache_dir: Path | None = None
    ) -> None:
        try:
            import lleaves
            import llvmlite.binding as llvm
        except ImportError as exc:
            raise MissingExtraError(f"compiled: true needs lleaves ({exc}); {EXTRA_HINT}") from None
        text = model_file.read_bytes()
        key = "-".join(
            [
                hashlib.sha256(text).hexdigest()[:32],
                metadata.version("lleaves"),
                metadata.version("llvmlite"),
                llvm.get_host_cpu_name(),
                hashlib.sha256(llvm.get_host_cpu_features().flatten().encode()).hexdigest()[:8],
            ]
        )
        directory = cache_dir or Settings().home.expanduser() / "cache" / "lleaves"
        directory.mkdir(parents=True, exist_ok=True)
        cached = directory / f"{key}.o"
        try:
            self._model: Any = lleaves.Model(model_file=str(model_file))
            with FileLock(str(directory / f"{key}.lock")):
                if cached.exists():
                    self._model.compile(cache=str(cached))
                else:
                    partial = directory / f"{key}.{os.getpid()}.partial"
                    self._model.compile(cache=str(partial))
                    os.replace(partial, cached)
        except Exception as exc:
            raise UnsupportedModelError(
                f"lleaves cannot compile LightGBM model {str(model_file)!r}: {exc}; "
                "serve it without compiled: true"
            ) from exc
        self.features = int(self._model.num_feature())
        self._threads = max(1, threads or 1)

    def predict(self, matrix: Array) -> Array:
        """Scores for the rows of a (rows, features) matrix, as ``Booster.predict`` gives them."""
        jobs = self._threads if len(matrix) >= _PARALLEL_ROWS else 1
        scores: Array = self._model.predict(matrix, n_jobs=jobs)
        return np.asarray(scores, dtype=np.float64)
