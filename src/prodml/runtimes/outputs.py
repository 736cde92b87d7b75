"""Shared shapes of answer and of input, so every flavor follows the conventions in ``base``.

``classifier_outputs`` turns class probabilities into the conventional outputs (probability
first: a benchmark or a client reading the first output gets the score)::

    >>> import numpy as np
    >>> out = classifier_outputs(np.array([[0.8, 0.2], [0.3, 0.7]]), np.array(["no", "yes"]))
    >>> list(out), out["probability"].tolist(), out["label"].tolist()
    (['probability', 'label'], [0.2, 0.7], ['no', 'yes'])

``feature_matrix`` turns validated columns into the one 2-D matrix tree and linear libraries take.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from prodml.runtimes.base import Array, Columns
from prodml.types import Signature


def classifier_outputs(probabilities: Any, classes: Array | None = None) -> dict[str, Array]:
    """Conventional classifier outputs from probabilities.

    Args:
        probabilities: ``(n,)`` P(positive class) for binary models, or ``(n, classes)``.
        classes: class labels in probability-column order; ``0..C-1`` when None.

    Returns:
        binary: ``probability`` (n,), then ``label``; multi-class: ``probabilities`` (n, C),
        then ``label``. The label is the most probable class (ties go to the first class).
    """
    if probabilities.ndim == 1 or probabilities.shape[1] == 1:
        positive = probabilities.reshape(-1)
        picked = (positive > 0.5).astype(np.intp)
        return {"probability": positive, "label": _labels(picked, classes)}
    if probabilities.shape[1] == 2:
        positive = np.ascontiguousarray(probabilities[:, 1])
        picked = (positive > 0.5).astype(np.intp)
        return {"probability": positive, "label": _labels(picked, classes)}
    picked = np.argmax(probabilities, axis=1)
    return {"probabilities": probabilities, "label": _labels(picked, classes)}


def _labels(picked: Array, classes: Array | None) -> Array:
    if classes is None:
        return picked.astype(np.int64)
    labels: Array = classes[picked]
    return labels


def class_array(classes: Sequence[object] | None) -> Array | None:
    """Class labels stored in a manifest (a JSON list) as a numpy array; None stays None."""
    if classes is None:
        return None
    array = np.asarray(list(classes))
    if array.dtype.kind in "US":
        return array.astype(object)
    return array


def classes_to_json(classes: object) -> list[object]:
    """Class labels (numpy array or list) as a JSON-serialisable list of plain values."""
    return [c.item() if isinstance(c, np.generic) else c for c in np.asarray(classes).tolist()]


def feature_matrix(inputs: Columns, signature: Signature) -> Array:
    """One 2-D matrix from validated columns.

    A single 2-D input is passed through untouched (the hot path); several ``(-1,)`` inputs are
    stacked in signature order.
    """
    if len(signature.inputs) == 1:
        array = inputs[signature.inputs[0].name]
        return array if array.ndim == 2 else array.reshape(-1, 1)
    return np.column_stack([inputs[name] for name in signature.input_names])
