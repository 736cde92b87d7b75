"""Pieces every flavor uses: lazy imports with a helpful error, type checks without imports, and
a small base class for runtimes."""

from __future__ import annotations

import importlib
from types import ModuleType

from prodml.errors import missing_extra
from prodml.runtimes.base import Array, Columns
from prodml.runtimes.inference import synthetic_columns
from prodml.types import Signature


def require(module: str, extra: str) -> ModuleType:
    """Import an optional library, or raise ``MissingExtraError`` naming the pip extra."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise missing_extra(module, extra) from exc


def defined_in(model: object, package: str) -> bool:
    """True when ``model``'s class, or one of its bases, comes from ``package``.

    Checked by module name so that asking costs no import of a heavy library.
    """
    prefix = package + "."
    return any(
        cls.__module__ == package or cls.__module__.startswith(prefix)
        for cls in type(model).__mro__
    )


class RuntimeBase:
    """Shared state of a runtime: its flavor name and signature; warm-up on placeholder rows."""

    flavor = "base"

    def __init__(self, signature: Signature) -> None:
        self.signature = signature

    def predict(self, inputs: Columns) -> dict[str, Array]:  # pragma: no cover - overridden
        raise NotImplementedError

    def warm_up(self) -> None:
        """Predict once on two placeholder rows (zeros, empty strings)."""
        self.predict(synthetic_columns(self.signature))
