"""``prodml monitor``: check the prediction log for drift, quality and performance; report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from prodml.cli import durations
from prodml.cli.output import console, print_json, print_table

app = typer.Typer(
    help="Watch served models: drift, data quality, performance.", no_args_is_help=True
)

LogOpt = Annotated[str, typer.Option("--log", help="Prediction log root (path or fsspec URL).")]
ModelOpt = Annotated[str, typer.Option("--model", help="Model served, e.g. churn@champion.")]
EndpointOpt = Annotated[str | None, typer.Option("--endpoint", help="Only this endpoint.")]
WindowOpt = Annotated[str, typer.Option("--window", help="Window: 1h, 15min, or 1000rows.")]
FeedbackOpt = Annotated[
    Path | None, typer.Option("--feedback", help="Parquet file of labels: request_id, label.")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for machines.")]


def alert_rules(texts: list[str] | None = None) -> list[Any]:
    """The rules given as ``METRIC<op>NUMBER``, or by default one: alert on dataset drift."""
    from prodml.monitoring.alerts import AlertRule

    return [AlertRule.parse(t) for t in texts or []] or [
        AlertRule("dataset drift", "drift.dataset", 1)
    ]


def _run_once(
    log: str,
    model: str,
    endpoint: str | None,
    window: str,
    feedback: Path | None,
    webhook: str | None,
    evaluator: Any = None,
) -> Any:
    import pyarrow.parquet as pq

    from prodml.monitoring.alerts import AlertEvaluator
    from prodml.monitoring.log import ParquetPredictionLog
    from prodml.monitoring.monitor import run_monitor
    from prodml.monitoring.sinks import AlertSink, LogSink, WebhookSink
    from prodml.registry import Registry

    version = Registry.open().resolve(model)
    sinks: list[AlertSink] = [LogSink()]
    if webhook:
        sinks.append(WebhookSink(webhook))
    reader = ParquetPredictionLog(log)
    try:
        return run_monitor(
            reader,
            version,
            endpoint=endpoint,
            window=window,
            feedback=pq.read_table(feedback) if feedback else None,
            sinks=sinks,
            evaluator=evaluator or AlertEvaluator(alert_rules(), {"model": version.ref}),
        )
    finally:
        reader.close()


def show_result(result: Any) -> None:
    """Windows as a table (drift share, drifted columns, quality, accuracy), then alerts."""
    rows = []
    for w in result.windows:
        m = w["metrics"]
        perf = m.get("performance.accuracy", m.get("estimated.accuracy"))
        est = "" if "performance.accuracy" in m or perf is None else " (est.)"
        rows.append(
            [
                w["start"],
                w["rows"],
                f"{m.get('drift.share', float('nan')):.2f}",
                ", ".join(w.get("drift", {}).get("drifted_columns", [])),
                int(m.get("quality.issues", 0)),
                "" if perf is None else f"{perf:.3f}{est}",
            ]
        )
    print_table(
        f"{result.model} · {result.rows} predictions",
        ["window", "rows", "drift share", "drifted", "quality issues", "accuracy"],
        rows,
    )
    for alert in result.alerts:
        console.print(f"[red]ALERT[/red] {alert.message}")


@app.command()
def run(
    log: LogOpt,
    model: ModelOpt,
    endpoint: EndpointOpt = None,
    window: WindowOpt = "1h",
    feedback: FeedbackOpt = None,
    alert: Annotated[
        list[str] | None,
        typer.Option("--alert", help="Rule METRIC<op>NUMBER, e.g. drift.share>=0.5 (repeatable)."),
    ] = None,
    webhook: Annotated[str | None, typer.Option("--webhook", help="POST alerts here.")] = None,
    every: Annotated[str | None, typer.Option("--every", help="Repeat, e.g. 60s.")] = None,
    max_runs: Annotated[int, typer.Option("--max-runs", help="Stop after N runs (0: never).")] = 1,
    json_out: JsonFlag = False,
) -> None:
    """Check the log once (or every --every, up to --max-runs times) and fire alerts."""
    from prodml.monitoring.alerts import AlertEvaluator
    from prodml.registry import Registry

    pause = durations.seconds(every) if every else None
    # One evaluator across runs keeps streaks and cool-downs, and skips windows already seen.
    evaluator = AlertEvaluator(alert_rules(alert), {"model": Registry.open().resolve(model).ref})
    runs = 0
    while True:
        result = _run_once(log, model, endpoint, window, feedback, webhook, evaluator)
        runs += 1
        print_json(result.to_dict()) if json_out else show_result(result)
        if pause is None or (max_runs and runs >= max_runs):
            return
        time.sleep(pause)


@app.command()
def report(
    log: LogOpt,
    model: ModelOpt,
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    endpoint: EndpointOpt = None,
    window: WindowOpt = "1h",
    feedback: FeedbackOpt = None,
    json_out: JsonFlag = False,
) -> None:
    """Write a self-contained HTML report (and print JSON with --json)."""
    from prodml.monitoring.report_html import write_html_report

    result = _run_once(log, model, endpoint, window, feedback, None)
    path = write_html_report(result, out)
    if json_out:
        print_json({**result.to_dict(), "report": str(path)})
    else:
        console.print(f"report written to {path}")


@app.command()
def maintain(
    log: LogOpt,
    retention_days: Annotated[
        int | None, typer.Option(help="Delete day partitions older than this many days.")
    ] = None,
    compact: Annotated[
        bool, typer.Option(help="Rewrite each finished day as one zstd segment.")
    ] = True,
    json_out: JsonFlag = False,
) -> None:
    """Compact finished days of the prediction log and apply the retention policy."""
    from datetime import UTC, datetime

    from prodml.monitoring.log import ParquetPredictionLog
    from prodml.monitoring.log.segments import partitions

    reader = ParquetPredictionLog(log)
    try:
        today = datetime.now(UTC).date()
        # Retention first: a day about to be deleted is not worth rewriting.
        removed = reader.apply_retention(retention_days) if retention_days is not None else []
        merged = 0
        if compact:
            # Today's partition may still be written to; finished days are safe to rewrite.
            for endpoint, day, _ in partitions(reader.fs, reader.root):
                if day < today:
                    merged += reader.compact(endpoint, day)
    finally:
        reader.close()
    if json_out:
        print_json({"segments_merged": merged, "partitions_removed": removed})
    else:
        console.print(f"merged {merged} segments; removed {len(removed)} day partitions")
