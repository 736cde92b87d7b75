"""The contract every model runtime keeps, as checks you can run on your own saved models.

Like scikit-learn's ``parametrize_with_checks``: save a model with ``save_model``, describe it as
a ``RuntimeCase`` (the directory plus a few rows of valid input, at least two), and run every
check in ``runtime_checks()`` on it::

    import pytest
    from prodml.testing.runtime_contract import RuntimeCase, runtime_checks

    @pytest.mark.parametrize("check", runtime_checks(), ids=lambda c: c.__name__)
    def test_my_model(check, tmp_path):
        save_model(my_model, tmp_path, sample=X)
        check(RuntimeCase("mine", tmp_path, X))

Decisions the checks pin down:

- one-row batches predict like any other and agree with the same row predicted in a batch;
- zero-row batches answer empty outputs named and shaped by the signature (``Model`` answers
  them itself, because libraries disagree on empty input);
- columns the signature does not name are ignored;
- numpy, pandas, Arrow, a mapping of arrays and a list of records give the same answer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from prodml.errors import InvalidInputError
from prodml.runtimes import (
    Array,
    Model,
    ModelRuntime,
    RuntimeOptions,
    load_model,
    read_manifest,
    to_columns,
)
from prodml.types import TensorSpec

Check = Callable[["RuntimeCase"], None]


@dataclass(frozen=True)
class RuntimeCase:
    """A saved model and valid input for it.

    Attributes:
        name: shown in test ids and failure messages.
        directory: a directory written by ``save_model``.
        sample: at least two rows of valid input (DataFrame, numpy array or mapping of arrays).
        options: how to load it (``trusted=True`` for pickles and Python-function models).
    """

    name: str
    directory: Path
    sample: object
    options: RuntimeOptions = field(default_factory=RuntimeOptions)

    def load(self) -> Model:
        return load_model(self.directory, self.options)


def _columns(case: RuntimeCase, model: Model) -> dict[str, Array]:
    return to_columns(case.sample, model.signature)


def _rows(columns: Mapping[str, Array]) -> int:
    return int(next(iter(columns.values())).shape[0])


def _same(a: Mapping[str, Array], b: Mapping[str, Array], what: str) -> None:
    if list(a) != list(b):
        raise AssertionError(f"{what}: output names differ: {list(a)} vs {list(b)}")
    for name in a:
        x: Any = np.asarray(a[name])
        y: Any = np.asarray(b[name])
        if x.shape != y.shape:
            raise AssertionError(f"{what}: output {name!r} shape {x.shape} vs {y.shape}")
        if x.dtype.kind in "fc":
            np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6, err_msg=f"{what}: {name!r}")
        else:
            np.testing.assert_array_equal(x, y, err_msg=f"{what}: {name!r}")


def _expect_invalid(model: Model, columns: Mapping[str, Array], column: str, what: str) -> None:
    try:
        model.predict_columns(columns)
    except InvalidInputError as exc:
        if repr(column) not in str(exc):
            raise AssertionError(f"{what}: the error does not name {column!r}: {exc}") from exc
        return
    raise AssertionError(f"{what}: predict accepted it instead of raising InvalidInputError")


def check_loads(case: RuntimeCase) -> None:
    """The directory loads into a ``Model`` whose runtime is a ``ModelRuntime``."""
    model = case.load()
    manifest = read_manifest(case.directory)
    if not isinstance(model.runtime, ModelRuntime):
        raise AssertionError(f"{type(model.runtime).__name__} is not a ModelRuntime")
    if model.flavor != manifest.flavor or model.runtime.flavor != manifest.flavor:
        raise AssertionError(f"flavor {model.runtime.flavor!r} != manifest {manifest.flavor!r}")
    if model.task not in ("classification", "regression", "other"):
        raise AssertionError(f"unknown task {model.task!r}")


def check_manifest_round_trips(case: RuntimeCase) -> None:
    """The manifest survives ``to_dict``/``from_dict`` and matches the loaded signature."""
    manifest = read_manifest(case.directory)
    if type(manifest).from_dict(manifest.to_dict()) != manifest:
        raise AssertionError("manifest does not round-trip through to_dict/from_dict")
    if case.load().signature != manifest.signature:
        raise AssertionError("loaded signature differs from the manifest's")


def check_outputs_match_signature(case: RuntimeCase) -> None:
    """Outputs have the signature's names, in order, with its dtypes and shapes."""
    model = case.load()
    outputs = model.predict(case.sample)
    if list(outputs) != model.signature.output_names:
        raise AssertionError(f"outputs {list(outputs)} != signature {model.signature.output_names}")
    for spec in model.signature.outputs:
        _matches(spec, np.asarray(outputs[spec.name]))


def _matches(spec: TensorSpec, array: Array) -> None:
    text = spec.dtype == "string" and array.dtype.kind in "USO"
    if not (text or array.dtype.name == spec.dtype):
        raise AssertionError(f"output {spec.name!r}: dtype {array.dtype} != spec {spec.dtype}")
    if array.ndim != len(spec.shape) or any(
        w not in (-1, g) for w, g in zip(spec.shape[1:], array.shape[1:], strict=True)
    ):
        raise AssertionError(f"output {spec.name!r}: shape {array.shape} != spec {spec.shape}")


def check_row_counts(case: RuntimeCase) -> None:
    """Every output's first dimension is the number of input rows."""
    model = case.load()
    columns = _columns(case, model)
    rows = _rows(columns)
    for name, array in model.predict_columns(columns).items():
        if array.shape[0] != rows:
            raise AssertionError(f"output {name!r} has {array.shape[0]} rows for {rows} inputs")


def check_classifier_convention(case: RuntimeCase) -> None:
    """Classifiers answer ``probability``/``probabilities`` first (in [0, 1]), then ``label``."""
    model = case.load()
    if model.task != "classification":
        return
    outputs = model.predict(case.sample)
    names = list(outputs)
    if "label" not in names:
        raise AssertionError(f"classifier outputs {names} have no 'label'")
    proba = [n for n in names if n in ("probability", "probabilities")]
    if proba:
        if names[0] != proba[0]:
            raise AssertionError(f"{proba[0]!r} must be the first output, got {names}")
        values = outputs[proba[0]]
        if values.size and (values.min() < -1e-6 or values.max() > 1 + 1e-6):
            raise AssertionError(f"{proba[0]} outside [0, 1]")


def check_warm_up(case: RuntimeCase) -> None:
    """``Model.warm_up`` and the runtime's own ``warm_up`` run without error."""
    model = case.load()
    model.warm_up()
    model.runtime.warm_up()


def check_deterministic(case: RuntimeCase) -> None:
    """Predicting the same batch twice gives the same answer."""
    model = case.load()
    _same(model.predict(case.sample), model.predict(case.sample), "repeat prediction")


def check_input_types_agree(case: RuntimeCase) -> None:
    """numpy, pandas, Arrow, a mapping and a list of records give the same outputs."""
    import pandas as pd
    import pyarrow as pa

    model = case.load()
    columns = _columns(case, model)
    expected = model.predict_columns(columns)
    specs = model.signature.inputs
    if len(specs) == 1 and not specs[0].is_column:
        matrix = columns[specs[0].name]
        if matrix.ndim == 2:
            frame = pd.DataFrame(matrix, columns=[f"f{i}" for i in range(matrix.shape[1])])
            _same(expected, model.predict(matrix), "numpy")
            _same(expected, model.predict(frame), "pandas")
            _same(expected, model.predict(pa.Table.from_pandas(frame)), "Arrow")
        return
    if all(s.is_column for s in specs):
        frame = pd.DataFrame({n: columns[n] for n in model.signature.input_names})
        _same(expected, model.predict(frame), "pandas")
        _same(expected, model.predict(pa.Table.from_pandas(frame)), "Arrow")
        _same(expected, model.predict(frame.to_dict("records")), "records")
    _same(expected, model.predict(dict(columns)), "mapping")


def check_one_row(case: RuntimeCase) -> None:
    """A one-row batch works and agrees with that row predicted inside a batch."""
    model = case.load()
    columns = _columns(case, model)
    batch = model.predict_columns(columns)
    single = model.predict_columns({n: a[:1] for n, a in columns.items()})
    _same({n: a[:1] for n, a in batch.items()}, single, "one row")


def check_zero_rows(case: RuntimeCase) -> None:
    """A zero-row batch answers empty outputs named as in the signature."""
    model = case.load()
    columns = _columns(case, model)
    outputs = model.predict_columns({n: a[:0] for n, a in columns.items()})
    if list(outputs) != model.signature.output_names:
        raise AssertionError(f"empty batch outputs {list(outputs)}")
    if any(a.shape[0] != 0 for a in outputs.values()):
        raise AssertionError("empty batch gave non-empty outputs")


def check_extra_columns_ignored(case: RuntimeCase) -> None:
    """A column the signature does not name is ignored."""
    model = case.load()
    columns = _columns(case, model)
    extra = {**columns, "__not_an_input__": np.array(["x"] * _rows(columns))}
    _same(model.predict_columns(columns), model.predict_columns(extra), "extra column")


def check_missing_column_named(case: RuntimeCase) -> None:
    """A missing input raises ``InvalidInputError`` naming it."""
    model = case.load()
    columns = _columns(case, model)
    name = model.signature.input_names[0]
    rest = {n: a for n, a in columns.items() if n != name}
    _expect_invalid(model, rest, name, "missing input")


def check_wrong_dtype_named(case: RuntimeCase) -> None:
    """Text into a numeric input (or numbers into a text input) raises, naming the input."""
    model = case.load()
    columns = _columns(case, model)
    spec = model.signature.inputs[0]
    original = columns[spec.name]
    if spec.dtype == "string":
        bad: Array = np.ones(original.shape, dtype=np.int64)
    else:
        bad = np.full(original.shape, "not a number")
    _expect_invalid(model, {**columns, spec.name: bad}, spec.name, "wrong dtype")


def check_missing_values(case: RuntimeCase) -> None:
    """NaN in a float input raises naming it, unless the input is nullable."""
    model = case.load()
    columns = _columns(case, model)
    for spec in model.signature.inputs:
        if not spec.dtype.startswith("float"):
            continue
        holed: Any = columns[spec.name].astype(spec.dtype, copy=True)
        holed.reshape(-1)[0] = np.nan
        changed = {**columns, spec.name: holed}
        if spec.nullable:
            model.predict_columns(changed)
        else:
            _expect_invalid(model, changed, spec.name, "NaN in a non-nullable input")
        return


def runtime_checks() -> list[Check]:
    """Every check of the runtime contract, for ``pytest.mark.parametrize``."""
    return [
        check_loads,
        check_manifest_round_trips,
        check_outputs_match_signature,
        check_row_counts,
        check_classifier_convention,
        check_warm_up,
        check_deterministic,
        check_input_types_agree,
        check_one_row,
        check_zero_rows,
        check_extra_columns_ignored,
        check_missing_column_named,
        check_wrong_dtype_named,
        check_missing_values,
    ]


def check_runtime(case: RuntimeCase) -> None:
    """Run every check on ``case``; the first failure raises ``AssertionError``."""
    for check in runtime_checks():
        check(case)
