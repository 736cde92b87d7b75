"""ONNX models, run with ONNX Runtime on CPU.

The signature's inputs default to the graph's inputs. A classifier converted by skl2onnx (one
output named like ``label``, one like ``probabilities``) answers in the classifier convention,
using the model's own label output; ZipMap probability outputs (a list of dicts) are turned into a
matrix, though converting with ``options={"zipmap": False}`` is much faster. Any other model
answers with its own output names, or ``prediction`` when it has a single output.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from prodml.errors import ModelLoadError
from prodml.runtimes.base import Array, Columns, RuntimeOptions, SavedArtifact
from prodml.runtimes.flavors.common import RuntimeBase, defined_in, require
from prodml.runtimes.outputs import classifier_outputs, feature_matrix
from prodml.types import Signature, TensorSpec

MODEL_FILE = "model.onnx"
_ORT_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
    "tensor(string)": "string",
}


class OnnxFlavor:
    """``onnx.ModelProto`` objects (and ``.onnx`` files, read into one on import)."""

    name = "onnx"
    accepts_missing = False

    def can_save(self, model: object) -> bool:
        return defined_in(model, "onnx") and hasattr(model, "SerializeToString")

    def save(
        self, model: object, directory: Path, *, trusted: bool, code_paths: Sequence[Path] = ()
    ) -> SavedArtifact:
        proto: Any = model
        (directory / MODEL_FILE).write_bytes(proto.SerializeToString())
        outputs = [o.name for o in proto.graph.output]
        roles = _classifier_roles(outputs)
        options: dict[str, object] = {"file": MODEL_FILE, **roles}
        return SavedArtifact(options, "classification" if roles else "other", False, _inputs(proto))

    def load(
        self,
        directory: Path,
        flavor_options: Mapping[str, object],
        signature: Signature,
        options: RuntimeOptions,
    ) -> OnnxRuntime:
        ort = require("onnxruntime", "onnx")
        session_options = ort.SessionOptions()
        if options.threads is not None:
            session_options.intra_op_num_threads = options.threads
        if options.inter_op_threads is not None:
            session_options.inter_op_num_threads = options.inter_op_threads
        session = ort.InferenceSession(
            str(directory / str(flavor_options["file"])),
            sess_options=session_options,
            providers=["CPUExecutionProvider"],
        )
        label = flavor_options.get("label_output")
        proba = flavor_options.get("probability_output")
        roles = (str(label), str(proba)) if label and proba else None
        return OnnxRuntime(session, signature, roles)


class OnnxRuntime(RuntimeBase):
    """Feeds validated columns to an ``InferenceSession``."""

    flavor = "onnx"

    def __init__(self, session: Any, signature: Signature, roles: tuple[str, str] | None) -> None:
        super().__init__(signature)
        self.session = session
        self._roles = roles
        graph_inputs = session.get_inputs()
        self._dtypes = {i.name: _ORT_DTYPES.get(i.type, "float32") for i in graph_inputs}
        self._output_names = [o.name for o in session.get_outputs()]
        names = set(signature.input_names)
        # Either the signature names the graph's inputs, or (a model with one tensor input) its
        # columns are stacked into that tensor.
        self._stack_into = None
        if not set(self._dtypes) <= names:
            if len(graph_inputs) != 1:
                raise ModelLoadError(
                    f"the ONNX graph takes inputs {sorted(self._dtypes)} but the signature has "
                    f"{sorted(names)}; give a signature that names the graph inputs"
                )
            self._stack_into = graph_inputs[0].name

    def predict(self, inputs: Columns) -> dict[str, Array]:
        if self._stack_into is not None:
            matrix = feature_matrix(inputs, self.signature)
            feed = {self._stack_into: _cast(matrix, self._dtypes[self._stack_into])}
        else:
            feed = {name: _cast(inputs[name], dtype) for name, dtype in self._dtypes.items()}
        results = dict(zip(self._output_names, self.session.run(None, feed), strict=True))
        if self._roles is not None:
            label_name, proba_name = self._roles
            out = classifier_outputs(_probability_matrix(results[proba_name]))
            out["label"] = np.asarray(results[label_name])
            return out
        if len(results) == 1:
            (only,) = results.values()
            array = np.asarray(only)
            return {
                "prediction": array.reshape(-1)
                if array.ndim == 2 and array.shape[1] == 1
                else array
            }
        return {name: np.asarray(value) for name, value in results.items()}


def _cast(array: Array, dtype: str) -> Array:
    if dtype == "string":
        return array.astype(object, copy=False)
    return array.astype(dtype, copy=False)


def _probability_matrix(value: Any) -> Array:
    if isinstance(value, np.ndarray):
        return value
    # ZipMap output: one {class: probability} dict per row.
    rows = list(value)
    if not rows:
        return np.empty((0, 0), dtype=np.float32)
    keys = list(rows[0])
    return np.array([[row[k] for k in keys] for row in rows], dtype=np.float32)


def _classifier_roles(outputs: list[str]) -> dict[str, object]:
    if len(outputs) != 2:
        return {}
    label = [n for n in outputs if "label" in n.lower()]
    proba = [n for n in outputs if "prob" in n.lower()]
    if len(label) == 1 and len(proba) == 1:
        return {"label_output": label[0], "probability_output": proba[0]}
    return {}


def _inputs(proto: Any) -> tuple[TensorSpec, ...]:
    from onnx import helper

    initializers = {i.name for i in proto.graph.initializer}
    specs = []
    for value in proto.graph.input:
        if value.name in initializers:
            continue
        tensor = value.type.tensor_type
        np_dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tensor.elem_type))
        dtype = "string" if np_dtype.kind in "OUS" else np_dtype.name
        dims = [
            d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else -1
            for d in tensor.shape.dim
        ]
        shape = (-1, *dims[1:]) if dims else (-1,)
        specs.append(TensorSpec(value.name, dtype, shape))
    return tuple(specs)
