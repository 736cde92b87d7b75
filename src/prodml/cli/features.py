"""``prodml features``: plan and apply definitions, materialize, list what is applied."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from prodml.errors import ConfigError

app = typer.Typer(
    help="Feature store: plan and apply definitions, materialize features online, list them.",
    no_args_is_help=True,
)

DefinitionsOption = Annotated[
    Path, typer.Option("--file", "-f", help="Python file that declares the definitions.")
]
RepoOption = Annotated[
    Path | None,
    typer.Option("--repo", help="Feature store folder (default: $PRODML_HOME/features)."),
]
MetadataOption = Annotated[
    str | None, typer.Option("--metadata-url", help="Metadata database URL.")
]
OnlineOption = Annotated[
    str,
    typer.Option("--online", help="Online store: 'sqlite' (default), 'memory' or a redis:// URL."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
ViewOption = Annotated[
    list[str] | None, typer.Option("--view", help="Only this feature view (repeatable).")
]


def _online_config(online: str) -> dict[str, Any]:
    if online.startswith(("redis://", "rediss://", "unix://")):
        return {"kind": "redis", "url": online}
    if online in ("sqlite", "memory"):
        return {"kind": online}
    raise ConfigError(f"--online {online!r}: use sqlite, memory or a redis:// URL")


def _store(
    repo: Path | None,
    metadata_url: str | None,
    online: str = "sqlite",
    definitions: Path | None = None,
) -> Any:
    from prodml.features import FeatureStore
    from prodml.features.loading import load_definitions

    defs = load_definitions(definitions) if definitions is not None else None
    return FeatureStore(
        path=repo, metadata_url=metadata_url, online=_online_config(online), definitions=defs
    )


def _when(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{text!r} is not an ISO 8601 time such as 2024-06-01T12:00") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _print_plan(plan: Any, as_json: bool, verb: str) -> None:
    if as_json:
        typer.echo(json.dumps(plan.to_dict()))
        return
    console = Console()
    marks = {"add": "[green]+[/]", "update": "[yellow]~[/]", "remove": "[red]-[/]"}
    for change in plan.changes:
        if change.action == "unchanged":
            continue
        fields = f" ({', '.join(change.fields)})" if change.fields else ""
        console.print(f"{marks[change.action]} {change.kind} {change.name}{fields}")
    console.print(f"{verb}: {plan.summary()}")


@app.command()
def plan(
    definitions: DefinitionsOption,
    repo: RepoOption = None,
    metadata_url: MetadataOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show what `apply` would add, update and remove."""
    _plan_or_apply(definitions, repo, metadata_url, as_json, apply=False)


@app.command()
def apply(
    definitions: DefinitionsOption,
    repo: RepoOption = None,
    metadata_url: MetadataOption = None,
    as_json: JsonOption = False,
) -> None:
    """Record the definitions in the metadata store (the file is the source of truth)."""
    _plan_or_apply(definitions, repo, metadata_url, as_json, apply=True)


def _plan_or_apply(
    definitions: Path, repo: Path | None, metadata_url: str | None, as_json: bool, *, apply: bool
) -> None:
    from prodml.features.loading import load_definitions

    store = _store(repo, metadata_url)
    try:
        loaded = load_definitions(definitions)
        if apply:
            _print_plan(store.apply(loaded), as_json, "Applied")
        else:
            _print_plan(store.plan(loaded), as_json, "Plan")
    finally:
        store.close()


def _print_results(results: list[Any], as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "feature_view": r.feature_view,
                        "start": r.start.isoformat() if r.start else None,
                        "end": r.end.isoformat(),
                        "rows_read": r.rows_read,
                        "rows_written": r.rows_written,
                    }
                    for r in results
                ]
            )
        )
        return
    for r in results:
        typer.echo(
            f"{r.feature_view}: {r.rows_read} rows read, {r.rows_written} written "
            f"({r.start.isoformat() if r.start else 'beginning'} .. {r.end.isoformat()})"
        )


@app.command()
def materialize(
    start: Annotated[str, typer.Argument(help="Start time (ISO 8601; naive = UTC).")],
    end: Annotated[str, typer.Argument(help="End time (ISO 8601; naive = UTC).")],
    view: ViewOption = None,
    repo: RepoOption = None,
    metadata_url: MetadataOption = None,
    online: OnlineOption = "sqlite",
    as_json: JsonOption = False,
) -> None:
    """Copy the latest row per entity in [START, END] to the online store."""
    store = _store(repo, metadata_url, online)
    try:
        results = store.materialize(_when(start), _when(end), view, progress=not as_json)
        _print_results(results, as_json)
    finally:
        store.close()


@app.command("materialize-incremental")
def materialize_incremental(
    end: Annotated[str | None, typer.Argument(help="End time (default: now).")] = None,
    view: ViewOption = None,
    repo: RepoOption = None,
    metadata_url: MetadataOption = None,
    online: OnlineOption = "sqlite",
    as_json: JsonOption = False,
) -> None:
    """Materialize each view from where its last run ended up to END."""
    store = _store(repo, metadata_url, online)
    try:
        results = store.materialize_incremental(
            _when(end) if end else None, view, progress=not as_json
        )
        _print_results(results, as_json)
    finally:
        store.close()


@app.command("list")
def list_definitions(
    repo: RepoOption = None, metadata_url: MetadataOption = None, as_json: JsonOption = False
) -> None:
    """List the applied feature views and feature services."""
    store = _store(repo, metadata_url)
    try:
        catalog = store.catalog
        views = [v.to_dict() for v in catalog.feature_views.values()]
        services = [s.to_dict() for s in catalog.feature_services.values()]
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps({"feature_views": views, "feature_services": services}))
        return
    table = Table("feature view", "entities", "features", "ttl (s)", "online", "owner")
    for v in views:
        table.add_row(
            v["name"],
            ", ".join(v["entities"]),
            ", ".join(c["name"] for c in v["schema"]),
            "unlimited" if not v["ttl_seconds"] else f"{v['ttl_seconds']:g}",
            "yes" if v["online"] else "no",
            v["owner"],
        )
    Console().print(table)
    for s in services:
        typer.echo(f"service {s['name']}: {', '.join(s['features'])}")
