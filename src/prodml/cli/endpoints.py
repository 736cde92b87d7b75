"""``prodml endpoints``: plan, apply, list, show, history, step canaries, send feedback."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer

from prodml.cli import durations
from prodml.cli.output import console, errors, fmt_mapping, print_json, print_table
from prodml.errors import CanaryMovedError, ConfigError, InvalidInputError
from prodml.routing import (
    CanaryDecision,
    EndpointStore,
    Feedback,
    SqlFeedbackStore,
    load_endpoints,
)

app = typer.Typer(
    help="Declare endpoints (splits, canaries, shadows, bandits) and send feedback.",
    no_args_is_help=True,
)
feedback_app = typer.Typer(help="Send ground truth or rewards by request id.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]
FileOption = Annotated[Path, typer.Option("--file", "-f", help="YAML file of endpoints.")]


def _percent(weights: dict[str, float]) -> str:
    return ", ".join(f"{k} {v * 100:.4g}%" for k, v in weights.items())


@app.command()
def plan(file: FileOption, json: JsonFlag = False) -> None:
    """Show what applying FILE would change, without changing anything."""
    store = EndpointStore.open()
    plans = [store.plan(spec) for spec in load_endpoints(file)]
    if json:
        print_json([p.to_dict() for p in plans])
        return
    for p in plans:
        console.print(f"[bold]{p.summary}[/]")
        for change in p.changes:
            console.print(f"  {change}", markup=False, highlight=False)


@app.command()
def apply(file: FileOption, json: JsonFlag = False) -> None:
    """Record the endpoints in FILE (a new generation; a new phase when weights change)."""
    store = EndpointStore.open()
    plans = [store.apply(spec) for spec in load_endpoints(file)]
    if json:
        print_json([p.to_dict() for p in plans])
        return
    for p in plans:
        suffix = "" if p.generation is None else f" (generation {p.generation})"
        console.print(f"{p.summary}{suffix}", markup=False, highlight=False)


@app.command("list")
def list_endpoints(json: JsonFlag = False) -> None:
    """List endpoints with their strategy, phase and traffic split."""
    states = EndpointStore.open().endpoints()
    if json:
        print_json([s.to_dict() for s in states])
        return
    print_table(
        None,
        ["endpoint", "strategy", "phase", "traffic", "generation"],
        [
            (s.name, s.spec.strategy.kind, s.phase.number, _percent(s.phase.weights), s.generation)
            for s in states
        ],
    )


@app.command()
def show(
    name: Annotated[str, typer.Argument(help="Endpoint name.")], json: JsonFlag = False
) -> None:
    """An endpoint: variants, current phase, canary state and decision history."""
    store = EndpointStore.open()
    state = store.get(name)
    decisions = store.canary_decisions(name)
    if json:
        print_json({**state.to_dict(), "canary_decisions": [d.to_dict() for d in decisions]})
        return
    spec = state.spec
    console.print(f"[bold]{spec.name}[/] ({spec.strategy.kind}), generation {state.generation}")
    if spec.description:
        console.print(spec.description, markup=False)
    key = (
        "none (randomised per request)"
        if spec.unit_key is None
        else (f"{spec.unit_key.source} {spec.unit_key.name}")
    )
    console.print(f"unit key: {key}", markup=False)
    phase = state.phase
    console.print(
        f"phase {phase.number} since {phase.started_at:%Y-%m-%d %H:%M:%S} ({phase.reason}): "
        f"{_percent(phase.weights)}",
        markup=False,
    )
    if state.canary is not None:
        console.print(f"canary: step {state.canary.step + 1}, {state.canary.status.value}")
    print_table("variants", ["variant", "model"], [(v.name, v.model) for v in spec.variants])
    if decisions:
        print_table(
            "canary decisions",
            ["at", "step", "traffic", "decision", "reason"],
            [
                (
                    f"{d.at:%Y-%m-%d %H:%M:%S}",
                    d.step + 1,
                    f"{d.traffic_percent:g}%",
                    d.action.value,
                    d.reason,
                )
                for d in decisions
            ],
        )


@app.command()
def history(
    name: Annotated[str, typer.Argument(help="Endpoint name.")], json: JsonFlag = False
) -> None:
    """Every applied change and every phase of an endpoint."""
    store = EndpointStore.open()
    revisions = store.revisions(name)
    phases = store.get(name).phases
    if json:
        print_json(
            {"revisions": [r.to_dict() for r in revisions], "phases": [p.to_dict() for p in phases]}
        )
        return
    print_table(
        "revisions",
        ["generation", "applied", "by", "changes"],
        [
            (r.generation, f"{r.applied_at:%Y-%m-%d %H:%M:%S}", r.actor, "\n".join(r.changes))
            for r in revisions
        ],
    )
    print_table(
        "phases",
        ["phase", "started", "traffic", "keeps units", "reason"],
        [
            (
                p.number,
                f"{p.started_at:%Y-%m-%d %H:%M:%S}",
                _percent(p.weights),
                "yes" if p.keep_assignments else "no",
                p.reason,
            )
            for p in phases
        ],
    )


@app.command()
def canary(
    name: str,
    every: Annotated[str | None, typer.Option(help="Look again every DURATION, e.g. 30s.")] = None,
    max_runs: Annotated[int, typer.Option(help="Stop after N looks (0: until it ends).")] = 1,
    json: JsonFlag = False,
) -> None:
    """Judge a canary on what its current step served: hold, advance, promote or roll back.

    A server that serves the endpoint does this by itself every canary_check_s (10 s by
    default); this command is a look now, or a loop (--every) for a canary no server serves.
    """
    from prodml.registry import Registry
    from prodml.routing import CanaryController, CanaryStatus
    from prodml.routing.observations import step_canary

    pause = durations.seconds(every) if every else None
    store = EndpointStore.open()
    controller = CanaryController(store, Registry.open(), name)
    looks = 0
    while True:
        decision: CanaryDecision | None
        try:
            decision = step_canary(controller)
        except CanaryMovedError as exc:
            # A server's watch (or another operator) decided first: show what it decided.
            errors.print(str(exc), markup=False, highlight=False)
            decision = store.latest_canary_decision(name)
        looks += 1
        # None only when the endpoint was applied again as a canary nobody has looked at yet.
        if decision is not None:
            _print_decision(decision, json)
        state = store.get(name).canary
        finished = state is None or state.status is not CanaryStatus.PROGRESSING
        if pause is None or finished or (max_runs and looks >= max_runs):
            return
        time.sleep(pause)


def _print_decision(decision: CanaryDecision, json: bool) -> None:
    if json:
        print_json(decision.to_dict())
    else:
        console.print(
            f"{decision.at:%H:%M:%S} step {decision.step + 1} "
            f"({decision.traffic_percent:g}%): {decision.action.value}: {decision.reason}"
        )


def _read_jsonl(path: Path) -> list[Feedback]:
    if not path.exists():
        raise FileNotFoundError(f"feedback file {path} does not exist")
    items = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data: Any = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise InvalidInputError(f"{path}:{number}: not JSON: {exc}") from None
        if not isinstance(data, dict) or "request_id" not in data:
            raise InvalidInputError(
                f'{path}:{number}: each line is {{"request_id": ..., "value": ..., "label": ...}}'
            )
        extra = set(data) - {"request_id", "value", "label"}
        if extra:
            raise InvalidInputError(f"{path}:{number}: unknown field(s) {sorted(extra)}")
        items.append(Feedback(str(data["request_id"]), data.get("value"), data.get("label")))
    return items


@feedback_app.command("send")
def send(
    endpoint: Annotated[str, typer.Argument(help="Endpoint that served the requests.")],
    request_id: Annotated[str | None, typer.Argument(help="One request id.")] = None,
    value: Annotated[float | None, typer.Argument(help="Its reward or correctness.")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help='JSON lines: {"request_id", "value", "label"}.'),
    ] = None,
    label: Annotated[str | None, typer.Option(help="Ground-truth label for REQUEST_ID.")] = None,
    json: JsonFlag = False,
) -> None:
    """Send feedback for one request (REQUEST_ID VALUE) or many (--file), all or nothing."""
    if (file is None) == (request_id is None):
        raise ConfigError("give either REQUEST_ID with VALUE or --label, or --file, not both")
    if file is not None:
        items = _read_jsonl(file)
    else:
        if value is None and label is None:
            raise ConfigError("give a VALUE or a --label for the request")
        items = [Feedback(str(request_id), value, label)]
    EndpointStore.open().get(endpoint)  # an unknown endpoint is named as such
    result = SqlFeedbackStore.open().record_feedback(items, endpoint=endpoint)
    if json:
        print_json({"recorded": result.recorded, "unchanged": result.unchanged})
    else:
        console.print(
            fmt_mapping({"recorded": result.recorded, "already had it": result.unchanged})
        )
