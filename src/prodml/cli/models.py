"""``prodml models``: register, list, show, version history, aliases, archive, delete."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from prodml.cli.output import console, fmt_mapping, print_json, print_table
from prodml.errors import ConfigError
from prodml.registry import ModelRef, ModelVersion, Registry

app = typer.Typer(
    help="Register models and manage their versions and aliases.", no_args_is_help=True
)
alias_app = typer.Typer(
    help="Set, move, delete and audit aliases (champion, challenger, ...).", no_args_is_help=True
)
app.add_typer(alias_app, name="alias")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def _pairs(values: list[str] | None, what: str) -> dict[str, str]:
    parsed: dict[str, str] = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"{what} {item!r} is not KEY=VALUE")
        parsed[key] = value
    return parsed


def _read_table(path: Path) -> Any:
    import pandas as pd

    if not path.exists():
        raise FileNotFoundError(f"sample file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(path)
    if suffix in {".parquet", ".pq"}:
        return pd.read_parquet(path)
    raise ConfigError(f"sample file {path}: use a .csv or .parquet file")


@app.command()
def register(
    name: Annotated[str, typer.Argument(help="Model name, e.g. churn.")],
    artifact: Annotated[
        Path,
        typer.Argument(
            help=(
                "A saved model: MLflow model dir, .txt (LightGBM), .ubj/.json (XGBoost), "
                ".cbm, .onnx, .pt, .skops, .pkl."
            )
        ),
    ],
    sample: Annotated[
        Path | None,
        typer.Option(help="CSV/Parquet rows: infers the signature and the reference profile."),
    ] = None,
    metric: Annotated[list[str] | None, typer.Option(help="KEY=NUMBER, repeatable.")] = None,
    param: Annotated[list[str] | None, typer.Option(help="KEY=VALUE, repeatable.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="KEY=VALUE, repeatable.")] = None,
    description: Annotated[str, typer.Option(help="What this version is.")] = "",
    alias: Annotated[
        str | None, typer.Option(help="Also point this alias at the new version.")
    ] = None,
    parent: Annotated[
        int | None, typer.Option(help="The version this one was derived from.")
    ] = None,
    trusted: Annotated[
        bool, typer.Option(help="Allow pickle / code artifacts (only from sources you trust).")
    ] = False,
    json: JsonFlag = False,
) -> None:
    """Register a saved model artifact as the next version of NAME."""
    if not artifact.exists():
        raise FileNotFoundError(f"artifact {artifact} does not exist")
    metrics: dict[str, float] = {}
    for key, value in _pairs(metric, "metric").items():
        try:
            metrics[key] = float(value)
        except ValueError as exc:
            raise ConfigError(f"metric {key}={value!r} is not a number") from exc
    frame = _read_table(sample) if sample is not None else None
    version = Registry.open().register(
        name,
        artifact,
        sample=frame,
        metrics=metrics,
        params=_pairs(param, "param"),
        tags=_pairs(tag, "tag"),
        description=description,
        alias=alias,
        parent_version=parent,
        trusted=trusted,
    )
    if json:
        print_json(version.to_dict())
    else:
        console.print(
            f"registered [bold]{version.ref}[/] "
            f"({version.flavor}, sha256 {version.artifact_sha256[:12]})"
        )


@app.command("list")
def list_models(
    pattern: Annotated[str | None, typer.Argument(help="Name filter, * is a wildcard.")] = None,
    tag: Annotated[
        list[str] | None, typer.Option(help="KEY=VALUE (VALUE * = any), repeatable.")
    ] = None,
    json: JsonFlag = False,
) -> None:
    """List registered models."""
    models = Registry.open().list_models(pattern, tags=_pairs(tag, "tag"))
    if json:
        print_json([m.to_dict() for m in models])
        return
    print_table(
        None,
        ["model", "latest", "aliases", "tags", "updated"],
        [
            (
                m.name,
                m.latest_version,
                fmt_mapping(m.aliases),
                fmt_mapping(m.tags),
                f"{m.updated_at:%Y-%m-%d %H:%M}",
            )
            for m in models
        ],
    )


@app.command()
def versions(
    name: str,
    archived: Annotated[bool, typer.Option(help="Include archived versions.")] = True,
    json: JsonFlag = False,
) -> None:
    """List the versions of NAME."""
    rows = Registry.open().versions(name, include_archived=archived)
    if json:
        print_json([v.to_dict() for v in rows])
        return
    print_table(
        name,
        ["version", "flavor", "status", "aliases", "metrics", "registered", "by"],
        [
            (
                v.version,
                v.flavor,
                v.status,
                ", ".join(v.aliases),
                fmt_mapping(v.metrics),
                f"{v.created_at:%Y-%m-%d %H:%M}",
                v.lineage.registered_by,
            )
            for v in rows
        ],
    )


@app.command()
def show(
    ref: Annotated[str, typer.Argument(help="name, name/3 or name@alias.")],
    profile: Annotated[
        bool, typer.Option(help="Include the reference profile (JSON only).")
    ] = False,
    json: JsonFlag = False,
) -> None:
    """Show one version: signature, metrics, lineage, artifact."""
    version = Registry.open().resolve(ref)
    if json:
        print_json(version.to_dict(with_profile=profile))
        return
    _show_version(version)


def _show_version(v: ModelVersion) -> None:
    console.print(f"[bold]{v.ref}[/]  flavor={v.flavor} task={v.task} status={v.status}")
    if v.aliases:
        console.print(f"aliases: {', '.join(v.aliases)}")
    if v.description:
        console.print(v.description)
    print_table(
        "signature",
        ["kind", "name", "dtype", "shape", "nullable"],
        [("input", s.name, s.dtype, list(s.shape), s.nullable) for s in v.signature.inputs]
        + [("output", s.name, s.dtype, list(s.shape), "") for s in v.signature.outputs],
    )
    lineage = v.lineage
    for label, value in (
        ("metrics", fmt_mapping(v.metrics)),
        ("params", fmt_mapping(v.params)),
        ("tags", fmt_mapping(v.tags)),
        ("data fingerprint", lineage.data_fingerprint),
        ("code version", lineage.code_version),
        ("parent version", lineage.parent_version),
        ("training set", lineage.training_set),
        ("registered", f"{v.created_at:%Y-%m-%d %H:%M:%S} by {lineage.registered_by}"),
        ("artifact", f"{v.artifact_uri} (sha256 {v.artifact_sha256})"),
        ("reference profile", "yes" if v.profile is not None else "no"),
    ):
        if value not in (None, ""):
            console.print(f"{label}: {value}", highlight=False)


@app.command()
def archive(ref: Annotated[str, typer.Argument(help="name/3")]) -> None:
    """Archive a version: bare-name resolution skips it; it stays loadable by number."""
    parsed = _numbered(ref)
    Registry.open().archive(parsed.name, parsed.version or 0)
    console.print(f"archived {parsed}")


@app.command()
def delete(
    ref: Annotated[str, typer.Argument(help="name/3 deletes one version; name deletes the model.")],
    force: Annotated[bool, typer.Option(help="Also delete aliases that point at it.")] = False,
    reason: Annotated[str, typer.Option(help="Recorded in the alias audit trail.")] = "",
) -> None:
    """Delete a version (refused while an alias points at it, unless --force) or a whole model."""
    registry = Registry.open()
    parsed = ModelRef.parse(ref)
    if parsed.alias is not None:
        raise ConfigError("delete takes name/VERSION or name, not an alias")
    if parsed.version is None:
        registry.delete_model(parsed.name, force=force)
        console.print(f"deleted model {parsed.name}")
    else:
        registry.delete_version(parsed.name, parsed.version, force=force, reason=reason)
        console.print(f"deleted {parsed}")


def _numbered(ref: str) -> ModelRef:
    parsed = ModelRef.parse(ref)
    if parsed.version is None:
        raise ConfigError(f"{ref!r}: name a version as name/NUMBER")
    return parsed


@alias_app.command("set")
def alias_set(
    name: str,
    alias: str,
    version: int,
    reason: Annotated[str, typer.Option(help="Why: kept in the audit trail.")] = "",
    json: JsonFlag = False,
) -> None:
    """Point ALIAS of NAME at VERSION (create or move it)."""
    event = Registry.open().set_alias(name, alias, version, reason=reason)
    if json:
        print_json(event.to_dict())
    else:
        before = "(new)" if event.from_version is None else f"from {event.from_version}"
        console.print(f"{name}@{alias} -> {version} {before}")


@alias_app.command("delete")
def alias_delete(
    name: str,
    alias: str,
    reason: Annotated[str, typer.Option(help="Why: kept in the audit trail.")] = "",
) -> None:
    """Delete ALIAS of NAME."""
    Registry.open().delete_alias(name, alias, reason=reason)
    console.print(f"deleted {name}@{alias}")


@alias_app.command("history")
def alias_history(
    name: str,
    alias: Annotated[str | None, typer.Argument(help="Only this alias.")] = None,
    json: JsonFlag = False,
) -> None:
    """Every alias move of NAME: who, when, from, to, why."""
    events = Registry.open().alias_history(name, alias)
    if json:
        print_json([e.to_dict() for e in events])
        return
    print_table(
        f"{name} alias history",
        ["when", "alias", "from", "to", "by", "reason"],
        [
            (f"{e.at:%Y-%m-%d %H:%M:%S}", e.alias, e.from_version, e.to_version, e.actor, e.reason)
            for e in events
        ],
    )
