"""PyTorch models on CPU: TorchScript modules (``.pt``) and ``torch.export`` programs (``.pt2``).

A plain ``nn.Module`` has no portable saved form; script or export it first. Inputs are passed to
``forward`` positionally, in signature order. A tensor output is answered as ``prediction``, a
tuple as ``output_0``, ``output_1``, ... and a dict under its own keys.

``RuntimeOptions.threads`` calls ``torch.set_num_threads``, which is process-wide.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np

from prodml.errors import ModelLoadError, UnsupportedModelError
from prodml.runtimes.base import Array, Columns, RuntimeOptions, SavedArtifact
from prodml.runtimes.flavors.common import RuntimeBase, defined_in, require
from prodml.types import Signature

SCRIPT_FILE = "model.pt"
EXPORT_FILE = "model.pt2"


@contextmanager
def quiet_torchscript() -> Iterator[None]:
    """Silence only the DeprecationWarning torch >= 2.9 emits for ``torch.jit.save/load``.

    TorchScript is deprecated but still the format many models ship in; prodml keeps loading it.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"`torch\.jit\.\w+` is deprecated", category=DeprecationWarning
        )
        yield


class TorchFlavor:
    """``torch.jit.ScriptModule`` and ``torch.export.ExportedProgram``."""

    name = "torch"
    accepts_missing = False

    def can_save(self, model: object) -> bool:
        return defined_in(model, "torch")

    def save(
        self, model: object, directory: Path, *, trusted: bool, code_paths: Sequence[Path] = ()
    ) -> SavedArtifact:
        torch = require("torch", "torch")
        if isinstance(model, torch.jit.ScriptModule):
            with quiet_torchscript():
                torch.jit.save(model, str(directory / SCRIPT_FILE))
            return SavedArtifact({"format": "torchscript", "file": SCRIPT_FILE})
        if isinstance(model, torch.export.ExportedProgram):
            torch.export.save(model, str(directory / EXPORT_FILE))
            return SavedArtifact({"format": "exported_program", "file": EXPORT_FILE})
        raise UnsupportedModelError(
            f"cannot save a {type(model).__name__}: a plain nn.Module has no portable form; pass "
            "torch.export.export(module, args, dynamic_shapes=...) (batch dimension dynamic) or "
            "torch.jit.script(module)"
        )

    def load(
        self,
        directory: Path,
        flavor_options: Mapping[str, object],
        signature: Signature,
        options: RuntimeOptions,
    ) -> TorchRuntime:
        torch = require("torch", "torch")
        if options.threads is not None:
            torch.set_num_threads(options.threads)
        if options.inter_op_threads is not None:
            # Only settable before the first parallel work in the process; later calls raise.
            with suppress(RuntimeError):
                torch.set_num_interop_threads(options.inter_op_threads)
        path = str(directory / str(flavor_options["file"]))
        fmt = flavor_options.get("format")
        if fmt == "torchscript":
            with quiet_torchscript():
                module = torch.jit.load(path, map_location="cpu")
            module.eval()
        elif fmt == "exported_program":
            module = torch.export.load(path).module()
        else:
            raise ModelLoadError(f"{path}: unknown torch format {fmt!r}")
        return TorchRuntime(module, signature, torch)


class TorchRuntime(RuntimeBase):
    """Calls the module under ``torch.no_grad`` with one tensor per input."""

    flavor = "torch"

    def __init__(self, module: Any, signature: Signature, torch: Any) -> None:
        super().__init__(signature)
        self.module = module
        self._torch = torch

    def predict(self, inputs: Columns) -> dict[str, Array]:
        torch = self._torch
        # from_numpy shares memory and warns on read-only arrays (Arrow, JSON buffers): copy those.
        args = [
            torch.from_numpy(a if a.flags.writeable else a.copy())
            for a in (inputs[n] for n in self.signature.input_names)
        ]
        with torch.no_grad():
            result = self.module(*args)
        if isinstance(result, torch.Tensor):
            return {"prediction": result.numpy()}
        if isinstance(result, Mapping):
            return {str(k): np.asarray(v.numpy()) for k, v in result.items()}
        if isinstance(result, list | tuple):
            return {f"output_{i}": np.asarray(v.numpy()) for i, v in enumerate(result)}
        raise UnsupportedModelError(
            f"the torch model returned a {type(result).__name__}; return a tensor, a tuple or a "
            "dict of tensors"
        )
