"""The manifest that makes a saved model directory self-describing.

Every directory written by ``save_model`` holds ``prodml-model.json``: which flavor loads it, with
which options, the signature, the task and the manifest format version::

    >>> from prodml.types import Signature, TensorSpec
    >>> m = ModelManifest(flavor="sklearn", task="regression", flavor_options={"file": "m.skops"},
    ...                   signature=Signature(inputs=(TensorSpec("x", "float64"),)))
    >>> ModelManifest.from_dict(m.to_dict()) == m
    True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from prodml.errors import ModelLoadError
from prodml.types import JsonDict, Signature

MANIFEST_FILE = "prodml-model.json"
EXAMPLE_FILE = "input_example.json"
FORMAT_VERSION = 1
TASKS = ("classification", "regression", "other")


@dataclass(frozen=True)
class ModelManifest:
    """What ``load_model`` needs to know about a saved model directory.

    Attributes:
        flavor: the flavor that wrote the directory and loads it (``sklearn``, ``lightgbm``, ...).
        signature: inputs and outputs.
        task: ``classification``, ``regression`` or ``other``.
        flavor_options: flavor-specific settings (file names, class labels, ...).
        requires_trust: loading executes code (pickle, user modules), so it needs
            ``RuntimeOptions(trusted=True)``.
        format_version: version of this manifest layout.
    """

    flavor: str
    signature: Signature
    task: str = "other"
    flavor_options: dict[str, Any] = field(default_factory=dict)
    requires_trust: bool = False
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> JsonDict:
        return {
            "format_version": self.format_version,
            "flavor": self.flavor,
            "task": self.task,
            "requires_trust": self.requires_trust,
            "signature": self.signature.to_dict(),
            "flavor_options": dict(self.flavor_options),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelManifest:
        try:
            version = int(data.get("format_version", FORMAT_VERSION))
            if version > FORMAT_VERSION:
                raise ModelLoadError(
                    f"model manifest format {version} is newer than this prodml understands "
                    f"({FORMAT_VERSION}); upgrade prodml to load it"
                )
            return cls(
                flavor=str(data["flavor"]),
                signature=Signature.from_dict(data["signature"]),
                task=str(data.get("task", "other")),
                flavor_options=dict(data.get("flavor_options", {})),
                requires_trust=bool(data.get("requires_trust", False)),
                format_version=version,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelLoadError(f"invalid model manifest: {exc!r}") from exc


def write_manifest(directory: Path, manifest: ModelManifest) -> None:
    """Write ``manifest`` into ``directory`` as ``prodml-model.json``."""
    text = json.dumps(manifest.to_dict(), indent=2, sort_keys=True)
    (directory / MANIFEST_FILE).write_text(text + "\n", encoding="utf-8")


def read_manifest(directory: Path) -> ModelManifest:
    """Read the manifest of a saved model directory.

    Raises:
        ModelLoadError: the file is missing or malformed.
    """
    path = Path(directory) / MANIFEST_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ModelLoadError(
            f"{directory} has no {MANIFEST_FILE}; write model directories with "
            "prodml.runtimes.save_model (or import the model first)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path} does not hold a JSON object")
    return ModelManifest.from_dict(data)


def write_example(directory: Path, columns: Mapping[str, Any], rows: int = 3) -> None:
    """Store the first ``rows`` of an input sample as ``input_example.json`` for warm-up."""
    head = {name: np.asarray(values)[:rows].tolist() for name, values in columns.items()}
    (directory / EXAMPLE_FILE).write_text(json.dumps(head), encoding="utf-8")


def read_example(directory: Path) -> dict[str, Any] | None:
    """The stored input example as arrays, or None when the directory has none."""
    path = Path(directory) / EXAMPLE_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"cannot read {path}: {exc}") from exc
    return {str(k): np.asarray(v) for k, v in data.items()}
