"""``save_model``: write any supported model, or import a saved one, as a self-describing directory.

The signature's inputs come from, in order: the ``signature`` argument, the ``sample``, the
signature stored with an imported model (MLflow), or the model itself (feature names, ONNX graph
inputs). Its outputs come from the ``signature`` argument when it has them; otherwise the saved
model is loaded back and run on a few rows of the sample (or on placeholder rows), which also
proves the directory loads.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from prodml.errors import ConfigError, UnsupportedModelError
from prodml.runtimes.base import Array, Flavor, RuntimeOptions, SavedArtifact
from prodml.runtimes.batch import to_columns
from prodml.runtimes.flavors import FLAVORS
from prodml.runtimes.inference import infer_input_specs, infer_output_specs, synthetic_columns
from prodml.runtimes.manifest import ModelManifest, write_example, write_manifest
from prodml.runtimes.sources import open_saved_model
from prodml.runtimes.validation import validate_columns
from prodml.types import Signature, TensorSpec

_SAMPLE_ROWS = 5


def save_model(
    model: object,
    directory: Path,
    *,
    sample: object | None = None,
    signature: Signature | None = None,
    trusted: bool = False,
    code_paths: Sequence[Path] = (),
) -> ModelManifest:
    """Save a fitted model, or import a saved one, into ``directory`` with its manifest.

    Args:
        model: a fitted model object, or the path of a saved model (an MLflow model directory or
            a file; see ``prodml.runtimes.sources``).
        directory: an existing, empty directory.
        sample: a few rows of typical input; gives the signature's inputs and outputs.
        signature: the signature, when you know it better than inference does.
        trusted: allow formats that run code on load (pickle, Python-function models).
        code_paths: for Python-function models, the files or packages defining the model class.

    Returns:
        The manifest written into ``directory``.

    Raises:
        UnsupportedModelError: no flavor knows the model or file.
        UnsafeArtifactError: saving or loading would need ``trusted=True``.
        ConfigError: the directory is not empty, or no signature can be found.
    """
    directory = Path(directory)
    if not directory.is_dir() or any(directory.iterdir()):
        raise ConfigError(f"{directory} must be an existing, empty directory")
    try:
        return _save(model, directory, sample, signature, trusted, code_paths)
    except BaseException:
        # Leave the directory empty, as it was, so that the caller can retry into it.
        for child in directory.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
        raise


def _save(
    model: object,
    directory: Path,
    sample: object | None,
    signature: Signature | None,
    trusted: bool,
    code_paths: Sequence[Path],
) -> ModelManifest:
    declared: tuple[TensorSpec, ...] = ()
    from_path = isinstance(model, str | os.PathLike)
    if isinstance(model, str | os.PathLike):
        imported = open_saved_model(Path(model), trusted=trusted)
        model, declared = imported.model, imported.inputs
    flavor = find_flavor(model)
    saved = flavor.save(model, directory, trusted=trusted, code_paths=code_paths)
    inputs = _inputs(flavor, saved, sample, signature, declared)
    provisional = Signature(inputs, signature.outputs if signature else ())
    # A model object handed over in this process is already running here, so loading it back
    # to check it is no new risk; a file from elsewhere needed trusted=True to get this far.
    runtime_options = RuntimeOptions(trusted=trusted or not from_path)
    runtime = flavor.load(directory, saved.flavor_options, provisional, runtime_options)
    columns = _sample_columns(sample, provisional)
    final = provisional
    if not provisional.outputs:
        final = provisional.with_outputs(infer_output_specs(runtime.predict(columns)))
    manifest = ModelManifest(
        flavor=flavor.name,
        signature=final,
        task=saved.task,
        flavor_options=dict(saved.flavor_options),
        requires_trust=saved.requires_trust,
    )
    write_manifest(directory, manifest)
    if sample is not None:
        write_example(directory, columns)
    return manifest


def find_flavor(model: object) -> Flavor:
    """The first flavor that can save ``model``.

    Raises:
        UnsupportedModelError: none can; the message lists what is supported.
    """
    for flavor in FLAVORS.values():
        if flavor.can_save(model):
            return flavor
    raise UnsupportedModelError(
        f"no prodml flavor can save a {type(model).__module__}.{type(model).__qualname__}; "
        "supported: scikit-learn estimators, LightGBM, XGBoost and CatBoost models, onnx "
        "ModelProto, TorchScript modules and torch.export programs, classes with load() and "
        "predict() (Python-function models), or the path of a saved model file or MLflow "
        "model directory"
    )


def _inputs(
    flavor: Flavor,
    saved: SavedArtifact,
    sample: object | None,
    signature: Signature | None,
    declared: tuple[TensorSpec, ...],
) -> tuple[TensorSpec, ...]:
    if signature is not None:
        return signature.inputs
    if sample is not None:
        return infer_input_specs(sample, numeric_nullable=flavor.accepts_missing)
    if declared:
        return _nullable_numbers(declared) if flavor.accepts_missing else declared
    if saved.inputs:
        return saved.inputs
    raise ConfigError(
        f"cannot tell what inputs this {flavor.name} model takes; pass sample= (a few rows of "
        "input) or signature="
    )


def _nullable_numbers(specs: tuple[TensorSpec, ...]) -> tuple[TensorSpec, ...]:
    return tuple(
        TensorSpec(s.name, s.dtype, s.shape, s.nullable or s.dtype not in ("string", "bool"))
        for s in specs
    )


def _sample_columns(sample: object | None, signature: Signature) -> dict[str, Array]:
    if sample is None:
        return synthetic_columns(signature)
    columns = validate_columns(to_columns(sample, signature), signature)
    return {name: array[:_SAMPLE_ROWS] for name, array in columns.items()}
