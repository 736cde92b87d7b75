"""``prodml experiments report``: per-variant traffic and statistics of an endpoint."""

from __future__ import annotations

from typing import Annotated

import typer

from prodml.cli.output import console, print_json, print_table
from prodml.experiments import MetricResult
from prodml.routing import EndpointReport, EndpointStore, endpoint_report

app = typer.Typer(help="Analyse the experiments that endpoints run.", no_args_is_help=True)


def _pct(x: float | None, digits: int = 2) -> str:
    return "-" if x is None else f"{x * 100:+.{digits}f}%"


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.4g}"


def _row(variant: str, m: MetricResult) -> tuple[str, ...]:
    rel = m.relative
    ci = "-" if rel is None else f"[{_pct(rel.ci_low)}, {_pct(rel.ci_high)}]"
    return (
        m.metric + (" (guardrail)" if m.guardrail else ""),
        variant,
        f"{m.mean:.4g} vs {m.control_mean:.4g}",
        _pct(None if rel is None else rel.estimate),
        ci,
        _num(m.p_value),
        _num(m.sequential_p_value),
        "-" if m.chance_to_beat_control is None else f"{m.chance_to_beat_control:.1%}",
    )


@app.command()
def report(
    name: Annotated[str, typer.Argument(help="Endpoint name.")],
    phase: Annotated[int | None, typer.Option(help="Phase to report (default: current).")] = None,
    alpha: Annotated[float, typer.Option(help="Significance level.")] = 0.05,
    json: Annotated[bool, typer.Option("--json", help="Print JSON for machines.")] = False,
) -> None:
    """Units, requests and effects per variant, with the sample-ratio-mismatch check."""
    result = endpoint_report(EndpointStore.open(), name, phase=phase, alpha=alpha)
    if json:
        print_json(result.to_dict())
        return
    show_report(result)


def show_report(result: EndpointReport) -> None:
    """The report as tables: traffic, the sample-ratio check, effects per metric."""
    console.print(f"[bold]{result.endpoint}[/], phase {result.phase}")
    print_table(
        "traffic",
        ["variant", "configured", "units", "requests"],
        [
            (t.variant, f"{result.weights.get(t.variant, 0) * 100:.4g}%", t.units, t.requests)
            for t in result.traffic
        ],
    )
    analysis = result.analysis
    if analysis is not None:
        srm = analysis.srm
        verdict = "[bold red]MISMATCH[/]" if srm.mismatch else "ok"
        console.print(
            f"sample ratio check: {verdict} (p = {srm.p_value:.3g}, flag below {srm.threshold:g})"
        )
        print_table(
            f"effects against {analysis.control} (alpha {analysis.alpha:g})",
            [
                "metric",
                "variant",
                "mean vs control",
                "lift",
                "CI",
                "p",
                "p (sequential)",
                "P(beat)",
            ],
            [_row(v.name, m) for v in analysis.variants for m in v.metrics],
        )
    for note in result.notes:
        console.print(f"note: {note}", markup=False)
