"""Serving benchmark: prodml serve on the standard bench model, driven by the shared loadgen.

Serves ``<bench>/model/model.txt`` (LightGBM binary, 200 trees, 30 features) with
``prodml.serving.run_server`` and measures, closed loop with wrk:

- V2 JSON, 1 row x 64 connections, 1 row x 1 connection, 100 rows x 32 connections (loadgen.py);
- V2 binary tensors, 100 rows x 32 connections (wrk with a Lua script written here);
- the in-process ceiling: ``Booster.predict`` of 1 and 100 rows in a loop.

``--baselines`` also runs ``run_baselines.sh mlserver:batch`` for the same points, so ratios come
from one session on one machine. The bench folder is read-only: it is copied to /tmp first.

    python benchmarks/serving.py --duration 5              # smoke run
    python benchmarks/serving.py --duration 20 --baselines # the side-by-side table
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import orjson

SHARED = Path("/work/shared/bench")


def copy_bench(dest: Path) -> Path:
    if not (dest / "loadgen.py").exists():
        shutil.copytree(SHARED, dest, dirs_exist_ok=True)
    return dest


def start_server(
    bench: Path, port: int, workers: int, batch: int, log: Path
) -> subprocess.Popen[bytes]:
    config = {
        "host": "127.0.0.1",
        "port": port,
        "grpc_port": None,
        "workers": workers,
        "models": [
            {
                "name": "lgbm",
                "path": str(bench / "model" / "model.txt"),
                "batching": {"max_batch_size": batch},
            }
        ],
    }
    cfg = Path(tempfile.mkdtemp(prefix="prodml-bench-")) / "serve.json"
    cfg.write_text(json.dumps(config))  # JSON is YAML
    code = (
        f"from prodml.serving import load_config, run_server; run_server(load_config({str(cfg)!r}))"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        env=env,
        start_new_session=True,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/health/ready", timeout=1):
                return proc
        except OSError:
            time.sleep(0.2)
    stop_server(proc)
    raise SystemExit(f"server did not become ready; see {log}")


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


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--bench", type=Path, default=Path("/tmp/bench"))
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--max-batch-size", type=int, default=64)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--points", default="1x64,1x1,100x32", help="ROWSxCONNECTIONS, JSON V2")
    ap.add_argument("--binary", default="100x32", help="ROWSxCONNECTIONS, binary V2 ('' = skip)")
    ap.add_argument("--baselines", action="store_true", help="also run mlserver:batch")
    args = ap.parse_args()
    bench = copy_bench(args.bench)
    out = bench / "results" / "prodml.jsonl"
    log = bench / "results" / "prodml-server.log"
    results: list[tuple[str, dict[str, float]]] = []
    proc = start_server(bench, args.port, args.workers, args.max_batch_size, log)
    try:
        for point in filter(None, args.points.split(",")):
            rows, conc = (int(v) for v in point.split("x"))
            results.append(
                (f"json {rows}x{conc}", loadgen(bench, args.port, rows, conc, args, proc.pid, out))
            )
        for point in filter(None, args.binary.split(",")):
            rows, conc = (int(v) for v in point.split("x"))
            results.append(
                (f"binary {rows}x{conc}", wrk_binary(bench, args.port, rows, conc, args))
            )
    finally:
        stop_server(proc)
    for rows in (1, 100):
        r = inproc(bench, rows)
        results.append(
            (
                f"in-process predict {rows} row(s)",
                {
                    "req_s": r["rows_s"] / rows,
                    "rows_s": r["rows_s"],
                    "p50_ms": r["us_per_call"] / 1000,
                },
            )
        )
    head = ("point", "req/s", "rows/s", "p50 ms", "p99 ms", "errors", "PSS MB", "cores")
    print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    for name, r in results:
        cells = [
            f"{r['req_s']:.0f}",
            f"{r['rows_s']:.0f}",
            f"{r['p50_ms']:.3f}",
            f"{r.get('p99_ms', float('nan')):.2f}",
            f"{r.get('errors', 0):.0f}",
            f"{r.get('pss_mb', float('nan')):.0f}",
            f"{r.get('cpu', float('nan')):.2f}",
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    if args.baselines:
        env = {
            **os.environ,
            "DURATION": str(args.duration),
            "WARMUP": str(args.warmup),
            "REPEATS": "1",
            "CONCURRENCIES": "64 32 1",
            "ROWS": "1 100",
            "NO_REPORT": "1",
        }
        subprocess.run([str(bench / "run_baselines.sh"), "mlserver:batch"], env=env, check=False)


if __name__ == "__main__":
    main()
