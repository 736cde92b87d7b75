"""What serving needs of a loaded model: the ``prodml.runtimes.Model`` surface, as a Protocol.

Serving codes against this small type rather than a concrete runtime, so a fake (see
``prodml.testing.fakes``) or any runtime with these members can be served.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from prodml.types import Signature

Array = npt.NDArray[np.generic]
Columns = Mapping[str, Array]


@runtime_checkable
class Predictor(Protocol):
    """A loaded model that predicts on named input columns."""

    @property
    def flavor(self) -> str:
        """The runtime flavor (``lightgbm``, ``sklearn``, ...)."""
        ...

    @property
    def signature(self) -> Signature:
        """The model's inputs and outputs."""
        ...

    def predict_columns(
        self, columns: Mapping[str, Array], *, validate: bool = True
    ) -> dict[str, Array]:
        """Predict on columns keyed by input name; raises InvalidInputError on bad input."""
        ...

    def warm_up(self) -> None:
        """Run a small prediction so the first request pays no lazy initialisation."""
        ...
