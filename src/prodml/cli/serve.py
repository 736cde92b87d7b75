"""``prodml serve``: serve registered models over V2 REST and gRPC, V1, SageMaker and records."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from prodml.cli.output import console


def serve(
    refs: Annotated[
        list[str] | None,
        typer.Argument(help="Models to serve: name@alias, name/3 or name (several allowed)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-f", help="A serving YAML file (models, batching, limits)."),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="REST port (0 picks a free one).")] = None,
    grpc_port: Annotated[int | None, typer.Option(help="gRPC port.")] = None,
    no_grpc: Annotated[bool, typer.Option("--no-grpc", help="Serve REST only.")] = False,
    workers: Annotated[
        int | None, typer.Option(help="Worker processes (0 = one per CPU core).")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(help="Per-request timeout in seconds (504 past it).")
    ] = None,
    watch: Annotated[
        bool, typer.Option(help="Swap with zero downtime when a served alias moves.")
    ] = False,
) -> None:
    """Serve models until SIGTERM or Ctrl-C, then drain in-flight requests and stop."""
    from prodml.serving import run_server
    from prodml.serving.config import parse_config, read_config_file

    data = read_config_file(config) if config is not None else {}
    overrides = {"host": host, "port": port, "workers": workers, "request_timeout_s": timeout}
    data.update({k: v for k, v in overrides.items() if v is not None})
    data.setdefault("models", [])
    if no_grpc:
        data["grpc_port"] = None
    elif grpc_port is not None:
        data["grpc_port"] = grpc_port
    if refs:
        data["models"] = [
            *data["models"],
            *({"ref": ref, "watch_alias": watch and "@" in ref} for ref in refs),
        ]
    server = parse_config(data)
    names = ", ".join(m.served_name for m in server.models)
    console.print(
        f"serving {names} on http://{server.host}:{server.port}"
        + ("" if server.grpc_port is None else f" and grpc {server.host}:{server.grpc_port}")
    )
    run_server(server)
