"""Serving benchmark: prodml serve on the standard bench model, driven by the shared loadgen.

Serves ``<bench>/model/model.txt`` (LightGBM binary, 200 trees, 30 features) with 2 workers on
each server named by ``--servers`` (``uvicorn``: ``prodml.serving.run_server`` as it is;
``fast``: the same app on ``prodml.serving.rest.fastserver``; either with ``+FEATURE``s: ``log``,
``registry``, ``endpoint``, ``shadow``/``shadowN``, ``compiled``, see ``serving_variants.py``),
all at once on neighbouring ports, and measures each point on one server right after the other,
closed loop with wrk:

- V2 JSON, 1 row x 64 connections, 1 row x 1 connection, 100 rows x 32 connections (loadgen.py);
- V2 binary tensors, 100 rows x 32 connections (wrk with a Lua script written here);
- the in-process ceiling: ``Booster.predict`` of 1 and 100 rows in a loop.

``--baselines`` also runs MLServer with adaptive batching (``run_baselines.sh mlserver:batch``,
venvs under ``--venv-root``) at the same JSON points, so ratios come from one session on one
machine; ``--write docs/benchmarks.md`` writes the side-by-side table, each feature against the
same server without it (log on vs off, endpoint vs plain, shadow vs endpoint), what each server
did (requests, rows, log rows, shadow requests; from its ``/metrics`` and its log) and the
command. The bench folder is read-only: it is copied to /tmp first.

    python benchmarks/serving.py --duration 5 --servers fast      # smoke run
    python benchmarks/serving.py --duration 10 --warmup 3 --baselines --write docs/benchmarks.md \
        --servers fast,uvicorn,uvicorn+log,uvicorn+registry,uvicorn+endpoint,uvicorn+shadow
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson
from serving_variants import (
    Results,
    Sanity,
    ServerState,
    ServerVariant,
    compare_answers,
    comparisons,
    count_log,
    feature_notes,
    features_section,
    first_output,
    prepare,
    scrape,
    server_config,
)

SHARED = Path("/work/shared/bench")


def copy_bench(dest: Path) -> Path:
    if not (dest / "loadgen.py").exists():
        shutil.copytree(SHARED, dest, dirs_exist_ok=True)
    return dest


def start_server(
    bench: Path,
    variant: ServerVariant,
    state: ServerState,
    port: int,
    args: argparse.Namespace,
    log: Path,
) -> subprocess.Popen[bytes]:
    model = bench / "model" / "model.txt"
    config = server_config(variant, state, port, args.workers, args.max_batch_size, model)
    cfg = state.root / "serve.json"
    config["http_server"] = variant.kind
    cfg.write_text(json.dumps(config))  # JSON is YAML
    argv = [sys.executable, "-c", "from prodml.cli.main import run; run()", "serve", "-f", str(cfg)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", **state.env}
    proc = subprocess.Popen(
        argv,
        env=env,
        start_new_session=True,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    # Ready means answering the benchmark's request, several times in a row: each connection
    # lands on any worker, a worker reports ready once its models are loaded, and an endpoint
    # answers only a moment later (its routes are swapped in after its models load).
    row = json.loads((bench / "model" / "sample_rows.json").read_text())[:1]
    deadline, answered = time.monotonic() + 60, 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            first_output(port, row, timeout=1)
        except OSError:  # refused, or 503 / 404 (urllib's HTTPError is an OSError)
            answered = 0
            time.sleep(0.2)
            continue
        answered += 1
        if answered == 8:
            return proc
    stop_server(proc)
    tail = log.read_text(errors="replace").strip().splitlines()[-5:]
    raise SystemExit(f"server {variant.name} did not become ready; {log} ends:\n" + "\n".join(tail))


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def loadgen(
    bench: Path, port: int, rows: int, conc: int, args: argparse.Namespace, pid: int, out: Path
) -> dict[str, float]:
    cmd = [
        sys.executable,
        str(bench / "loadgen.py"),
        "--url",
        f"http://127.0.0.1:{port}",
        "--model",
        "lgbm",
        "--rows",
        str(rows),
        "-c",
        str(conc),
        "-d",
        str(args.duration),
        "-w",
        str(args.warmup),
        "--data-file",
        str(bench / "model" / "sample_rows.json"),
        "--expected",
        str(bench / "model" / "expected_preds.json"),
        "--pid",
        str(pid),
        "--label",
        "prodml",
        "--config",
        f"w{args.workers}",
        "--out",
        str(out),
    ]
    subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL)
    r = json.loads(out.read_text().splitlines()[-1])
    return {
        "req_s": r["req_s"],
        "rows_s": r["rows_s"],
        "p50_ms": r["lat_p50_ms"],
        "p99_ms": r["lat_p99_ms"],
        "errors": r["errors"],
        "rss_mb": r["server_rss_mb"],
        "pss_mb": r["server_pss_mb"],
        "cpu": r["server_cpu_cores"],
    }


def binary_body(bench: Path, rows: int) -> tuple[bytes, int]:
    data = np.asarray(
        json.loads((bench / "model" / "sample_rows.json").read_text()), dtype=np.float32
    )[:rows]
    raw = data.astype("<f4").tobytes()
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "input-0",
                    "shape": list(data.shape),
                    "datatype": "FP32",
                    "parameters": {"binary_data_size": len(raw)},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    )
    return header + raw, len(header)


def wrk_binary(
    bench: Path, port: int, rows: int, conc: int, args: argparse.Namespace
) -> dict[str, float]:
    body, hlen = binary_body(bench, rows)
    tmp = Path(tempfile.mkdtemp(prefix="prodml-wrk-"))
    (tmp / "body.bin").write_bytes(body)
    script = tmp / "binary.lua"
    script.write_text(
        f'local f = io.open("{tmp / "body.bin"}", "rb")\n'
        'wrk.method = "POST"\nwrk.body = f:read("*all")\nf:close()\n'
        f'wrk.headers["Inference-Header-Content-Length"] = "{hlen}"\n'
        'wrk.headers["Content-Type"] = "application/octet-stream"\n'
    )
    url = f"http://127.0.0.1:{port}/v2/models/lgbm/infer"
    base = ["wrk", "-t1", f"-c{conc}", "--latency", "-s", str(script), url]
    subprocess.run(
        [*base[:3], f"-d{args.warmup}s", *base[3:]], check=False, stdout=subprocess.DEVNULL
    )
    out = subprocess.run(
        [*base[:3], f"-d{args.duration}s", *base[3:]], check=True, capture_output=True, text=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def pct(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        if m is None:
            return float("nan")
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
        return float(m.group(1)) * scale

    return {
        "req_s": rps,
        "rows_s": rps * rows,
        "p50_ms": pct("50"),
        "p99_ms": pct("99"),
        "errors": float(errors.group(1)) if errors else 0.0,
    }


def inproc(bench: Path, rows: int, seconds: float = 3.0) -> dict[str, float]:
    code = f"""
import json, time, numpy as np, lightgbm as lgb
rows = json.load(open({str(bench / "model" / "sample_rows.json")!r}))
x = np.asarray(rows, dtype=np.float32)[:{rows}]
b = lgb.Booster(model_file={str(bench / "model" / "model.txt")!r})
for _ in range(50): b.predict(x)
k, t0 = 0, time.perf_counter()
while time.perf_counter() - t0 < {seconds}:
    b.predict(x); k += 1
dt = time.perf_counter() - t0
print(json.dumps({{"us_per_call": dt / k * 1e6, "rows_s": k * {rows} / dt}}))
"""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)  # type: ignore[no-any-return]


def run_prodml(
    bench: Path, variants: list[ServerVariant], args: argparse.Namespace
) -> tuple[Results, dict[ServerVariant, Sanity]]:
    """Every point against prodml on each server (uvicorn, fast, with features), 2 workers each.

    All servers run at once on neighbouring ports and each point is measured on one right after
    the other, so drifting load on a shared box hits both sides of a comparison alike. Before
    the load, every server answers the same 100 rows (the endpoint servers' primary answers are
    compared with the plain server's); after it, each server's counters and prediction log say
    what it did.
    """
    procs: dict[ServerVariant, tuple[int, subprocess.Popen[bytes]]] = {}
    states: dict[ServerVariant, ServerState] = {}
    results: Results = {f"prodml {v.name}": {} for v in variants}
    sanity = {v: Sanity() for v in variants}
    model = bench / "model"
    try:
        for i, variant in enumerate(variants):
            states[variant] = prepare(variant, model / "model.txt", model / "sample_rows.json")
            log = bench / "results" / f"prodml-{variant.name}-server.log"
            sanity[variant].server_log = log
            port = args.port + i
            procs[variant] = (port, start_server(bench, variant, states[variant], port, args, log))
        rows = json.loads((model / "sample_rows.json").read_text())[:100]
        answers = {v: first_output(port, rows) for v, (port, _) in procs.items()}
        expected = json.loads((model / "expected_preds.json").read_text())
        for variant, verdict in compare_answers(answers, expected).items():
            sanity[variant].same_answers = verdict
        for name, columns in measure(bench, procs, args).items():
            results[f"prodml {name}"].update(columns)
        time.sleep(1.5)  # every worker publishes its tallies each second; /metrics merges them
        for variant, (port, _) in procs.items():
            scrape(port, sanity[variant])
    finally:
        for _, proc in procs.values():
            stop_server(proc)  # graceful: each worker writes the rest of its log first
        for variant, state in states.items():
            sanity[variant].read_server_log()
            if state.log_dir is not None and state.log_dir.exists():
                count_log(state.log_dir, sanity[variant])
            state.remove()
    return results, sanity


def measure(
    bench: Path,
    procs: dict[ServerVariant, tuple[int, subprocess.Popen[bytes]]],
    args: argparse.Namespace,
) -> Results:
    """Every point on every server: --rounds runs each, servers in turn (in reverse order every
    other round, so a load that drifts over a round favours neither side of a comparison);
    the median round is kept."""
    points = [("json", p) for p in filter(None, args.points.split(","))]
    points += [("binary", p) for p in filter(None, args.binary.split(","))]
    results: Results = {v.name: {} for v in procs}
    for kind, point in points:
        rows_per, conc = (int(v) for v in point.split("x"))
        runs: dict[ServerVariant, list[dict[str, float]]] = {v: [] for v in procs}
        for round_ in range(args.rounds):
            order = list(procs.items())
            for variant, (port, proc) in order if round_ % 2 == 0 else reversed(order):
                if kind == "binary":
                    runs[variant].append(wrk_binary(bench, port, rows_per, conc, args))
                    continue
                out = bench / "results" / f"prodml-{variant.name}.jsonl"
                runs[variant].append(loadgen(bench, port, rows_per, conc, args, proc.pid, out))
        for variant, rounds in runs.items():
            results[variant.name][f"{kind} {point}"] = median_round(rounds)
    return results


def median_round(runs: list[dict[str, float]]) -> dict[str, float]:
    """The round with the median throughput (the lower middle one of an even count), with
    every round's req/s as ``round_<i>`` (for ratios of rounds run side by side)."""
    ranked = sorted(runs, key=lambda r: r["req_s"])
    rounds = {f"round_{i}": r["req_s"] for i, r in enumerate(runs)}
    return {**ranked[(len(ranked) - 1) // 2], **rounds}


def run_mlserver(bench: Path, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """MLServer with adaptive batching at the JSON points, via the shared harness."""
    raw = bench / "results" / "mlserver-side-by-side.jsonl"
    raw.unlink(missing_ok=True)
    points = [tuple(int(v) for v in p.split("x")) for p in filter(None, args.points.split(","))]
    env = {
        **os.environ,
        "VENV_ROOT": args.venv_root,
        "RESULTS": str(raw),
        "DURATION": str(args.duration),
        "WARMUP": str(args.warmup),
        "REPEATS": "1",
        "CONCURRENCIES": " ".join(sorted({str(c) for _, c in points})),
        "ROWS": " ".join(sorted({str(r) for r, _ in points})),
        "NO_REPORT": "1",
    }
    # The shared script builds every server's venv up front (Ray and BentoML: minutes of pip);
    # a copy that builds only the two MLServer needs keeps this run to what it measures.
    script = bench / "run_baselines.sh"
    text = script.read_text()
    every = "for n in base starlette mlserver bentoml ray; do"
    if every in text:
        script = bench / "run_baselines_mlserver_only.sh"
        script.write_text(text.replace(every, "for n in base mlserver; do"))
        script.chmod(0o755)
    subprocess.run([str(script), "mlserver:batch"], env=env, check=False)
    results: dict[str, dict[str, float]] = {}
    for line in raw.read_text().splitlines() if raw.exists() else []:
        r = json.loads(line)
        key = f"json {r.get('rows_per_req')}x{r.get('concurrency')}"
        if (r.get("rows_per_req"), r.get("concurrency")) in points and "req_s" in r:
            results[key] = {
                "req_s": r["req_s"],
                "rows_s": r["rows_s"],
                "p50_ms": r["lat_p50_ms"],
                "p99_ms": r["lat_p99_ms"],
                "errors": r["errors"],
                "pss_mb": r["server_pss_mb"],
                "cpu": r["server_cpu_cores"],
            }
    return results


def table(columns: dict[str, dict[str, dict[str, float]]], points: list[str]) -> list[str]:
    """One row per point and server, the servers of a point next to each other."""
    lines = [
        "| point | server | req/s | rows/s | p50 ms | p99 ms | server cores |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for point in points:
        for name, results in columns.items():
            r = results.get(point)
            if r is None:
                continue
            p99, cores = r.get("p99_ms"), r.get("cpu")
            cells = [
                point,
                name,
                f"{r['req_s']:.0f}",
                f"{r['rows_s']:.0f}",
                f"{r['p50_ms']:.2f}",
                "" if p99 is None else f"{p99:.1f}",
                "" if cores is None else f"{cores:.2f}",
            ]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def targets(
    columns: dict[str, dict[str, dict[str, float]]], ceiling: dict[int, dict[str, float]]
) -> list[str]:
    """Issue 3's speed targets, checked against the same run."""
    fast, ml = columns.get("prodml fast", {}), columns.get("mlserver batch", {})
    out: list[str] = []

    def ratio(a: float, b: float) -> str:
        return f"{a / b:.2f}" if b else "n/a"

    if "json 1x64" in fast and "json 1x64" in ml:
        f, m = fast["json 1x64"], ml["json 1x64"]
        out.append(
            f"- 1 row x 64: req/s {ratio(f['req_s'], m['req_s'])}x MLServer (target >= 10); "
            f"p99 {ratio(f['p99_ms'], m['p99_ms'])} of MLServer's (target <= 0.2)"
        )
    j100, b100 = "json 100x32", "binary 100x32"
    if j100 in fast and j100 in ml:
        out.append(
            f"- 100 rows JSON: rows/s {ratio(fast[j100]['rows_s'], ml[j100]['rows_s'])}x "
            "MLServer (target >= 3)"
        )
    if b100 in fast and 100 in ceiling:
        out.append(
            f"- 100 rows binary: {ratio(fast[b100]['rows_s'], ceiling[100]['rows_s'])} of "
            "in-process predict rows/s (target >= 0.8)"
        )
    if "json 1x1" in fast and 1 in ceiling:
        over = fast["json 1x1"]["p50_ms"] - ceiling[1]["us_per_call"] / 1000
        out.append(
            f"- 1 connection: p50 is {over:.3f} ms above in-process predict of one row "
            "(target <= 1 ms)"
        )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--bench", type=Path, default=Path("/tmp/bench"))
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-batch-size", type=int, default=256)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument(
        "--rounds", type=int, default=1, help="runs of each point per server, in turn; median kept"
    )
    ap.add_argument("--points", default="1x64,1x1,100x32", help="ROWSxCONNECTIONS, JSON V2")
    ap.add_argument("--binary", default="100x32", help="ROWSxCONNECTIONS, binary V2 ('' = skip)")
    ap.add_argument(
        "--servers",
        default="fast,uvicorn",
        help="servers to run prodml on: fast or uvicorn, each with optional +log, +registry, "
        "+endpoint, +shadow (+shadowN: N%% mirrored), +compiled",
    )
    ap.add_argument("--baselines", action="store_true", help="also run mlserver:batch")
    ap.add_argument("--venv-root", default="/tmp/venvs", help="where run_baselines.sh finds venvs")
    ap.add_argument("--write", type=Path, help="write the side-by-side table to this markdown file")
    args = ap.parse_args()
    variants = [ServerVariant.parse(s) for s in args.servers.split(",") if s]
    names = [v.name for v in variants]
    if len(set(names)) != len(names):
        raise SystemExit(f"--servers names a server twice: {', '.join(names)}")
    if args.binary and shutil.which("wrk") is None:
        raise SystemExit("the binary points need wrk on PATH (apt-get install wrk), or --binary ''")
    bench = copy_bench(args.bench)
    (bench / "results").mkdir(exist_ok=True)
    started = time.strftime("%Y-%m-%d %H:%M")
    columns: Results = {}
    served, sanity = run_prodml(bench, variants, args)
    columns.update(served)
    if args.baselines:
        columns["mlserver batch"] = run_mlserver(bench, args)
    ceiling = {rows: inproc(bench, rows) for rows in (1, 100)}
    columns["in-process predict"] = {
        f"{kind} {rows}x{c}": {
            "req_s": ceiling[rows]["rows_s"] / rows,
            "rows_s": ceiling[rows]["rows_s"],
            "p50_ms": ceiling[rows]["us_per_call"] / 1000,
        }
        for kind, spec in (("json", args.points), ("binary", args.binary))
        for rows, c in (tuple(int(v) for v in p.split("x")) for p in filter(None, spec.split(",")))
        if rows in ceiling
    }
    points = [f"json {p}" for p in filter(None, args.points.split(","))]
    points += [f"binary {p}" for p in filter(None, args.binary.split(","))]
    lines = table(columns, points)
    checks = targets(columns, ceiling)
    feature_table, claims = comparisons(columns, variants, points)
    did = [line for v in variants for line in sanity[v].lines(f"prodml {v.name}")]
    print("\n".join([*lines, "", *checks, "", *feature_table, "", *claims, "", *did]))
    if args.write is not None:
        command = "python benchmarks/serving.py " + shlex.join(sys.argv[1:])
        features = [*feature_notes(variants, args.max_batch_size), *feature_table, "", *claims]
        doc = render_doc(started, command, lines, checks, args)
        args.write.write_text(doc + features_section(features, did))


def render_doc(
    started: str, command: str, lines: list[str], checks: list[str], args: argparse.Namespace
) -> str:
    engine = "wrk" if shutil.which("wrk") else "its Python engine: no wrk on PATH"
    return "\n".join(
        [
            "# Serving benchmark: prodml side by side",
            "",
            f"One run on one box ({os.cpu_count()} cores, {started}), every server measured in the "
            f"same session with the shared load generator (`/work/shared/bench/loadgen.py`, "
            f"{engine}, closed loop, {args.duration} s per point after {args.warmup} s warm-up). "
            "The box is shared and noisy: compare ratios within this table, not with other runs.",
            "",
            "```",
            command,
            "```",
            "",
            "- **prodml fast**: `prodml.serving.rest.fastserver` (asyncio Protocol over httptools, "
            "V2 infer straight to the handler), 2 worker processes with SO_REUSEPORT.",
            "- **prodml uvicorn**: the same app on uvicorn (httptools + uvloop), 2 workers.",
            "- **mlserver batch**: MLServer 1.7.1, adaptive batching (32 requests / 5 ms), via "
            "`run_baselines.sh mlserver:batch`.",
            "- **in-process predict**: `Booster.predict` in a loop, no HTTP (the ceiling). "
            "All servers run with `OMP_NUM_THREADS=1`; prodml batches up to "
            f"{args.max_batch_size} rows (`--max-batch-size`; at 64, the earlier default, a "
            "100-row request was split in two batches).",
            "",
            "Points are `ROWSxCONNECTIONS`; `json` is V2 JSON, `binary` the V2 binary tensor "
            "extension.",
            "",
            *lines,
            "",
            "Issue 3's targets in this run:",
            "",
            *checks,
            "",
        ]
    )


if __name__ == "__main__":
    main()
