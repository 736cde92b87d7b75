"""Transport-free inference request and response: what every codec decodes into and encodes from.

Tensor data is always a numpy array (object dtype for BYTES); nothing here knows HTTP or gRPC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Parameters = dict[str, Any]


@dataclass(slots=True)
class InferTensor:
    """One named tensor: an input of a request or an output of a response.

    ``shape`` is the shape the client declared (or the server answers); ``data`` already has it.
    """

    name: str
    datatype: str
    shape: tuple[int, ...]
    data: np.ndarray
    parameters: Parameters = field(default_factory=dict)


@dataclass(slots=True)
class RequestedOutput:
    """An output the client asked for; ``binary`` asks for the binary tensor extension."""

    name: str
    binary: bool = False
    parameters: Parameters = field(default_factory=dict)


@dataclass(slots=True)
class InferenceRequest:
    """A decoded inference request for one model (version None: the server's default)."""

    model_name: str
    inputs: list[InferTensor]
    model_version: str | None = None
    id: str | None = None
    parameters: Parameters = field(default_factory=dict)
    outputs: list[RequestedOutput] | None = None
    # binary_data_output: every output goes binary unless it says otherwise.
    binary_outputs: bool = False

    @property
    def rows(self) -> int:
        """Rows in the request: the first dimension of its first input (1 for a scalar)."""
        shape = self.inputs[0].shape if self.inputs else ()
        return int(shape[0]) if shape else 1


@dataclass(slots=True)
class InferenceResponse:
    """The answer to one request; ``binary`` names outputs to send as binary tensor data."""

    model_name: str
    outputs: list[InferTensor]
    model_version: str | None = None
    id: str | None = None
    parameters: Parameters = field(default_factory=dict)
    binary: frozenset[str] = frozenset()


@dataclass(slots=True)
class RequestContext:
    """What the transport knows of a request beyond its tensors (only built when the server
    logs predictions or serves endpoints): its id, headers (lower-case) and parameters."""

    request_id: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: Parameters = field(default_factory=dict)
