"""What a server says about itself and its models (V2 server and model metadata, the
repository index): plain documents the transports encode."""

from __future__ import annotations

from typing import Any

from prodml.serving.config import ServerConfig
from prodml.serving.datatypes import datatype_of_prodml
from prodml.serving.repository import ModelRepository

EXTENSIONS = ["binary_tensor_data", "parameters", "model_repository", "schedule_policy"]


def server_metadata(config: ServerConfig) -> dict[str, Any]:
    from prodml import __version__

    return {"name": config.server_name, "version": __version__, "extensions": EXTENSIONS}


def model_metadata(
    repository: ModelRepository, name: str, version: str | None = None
) -> dict[str, Any]:
    served = repository.get(name, version)
    sig = served.model.signature
    entry = next(e for e in repository.entries() if e.name == name)

    def tensor(spec: Any) -> dict[str, Any]:
        return {
            "name": spec.name,
            "datatype": datatype_of_prodml(spec.dtype),
            "shape": list(spec.shape),
        }

    return {
        "name": name,
        "versions": sorted(entry.versions),
        "platform": f"prodml_{served.model.flavor}",
        "inputs": [tensor(s) for s in sig.inputs],
        "outputs": [tensor(s) for s in sig.outputs],
    }


def repository_index(repository: ModelRepository, ready_only: bool = False) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for entry in repository.entries():
        if ready_only and entry.state != "READY":
            continue
        row: dict[str, Any] = {"name": entry.name, "state": entry.state, "reason": entry.reason}
        if entry.default is not None:
            row["version"] = entry.default
        rows.append(row)
    return rows
