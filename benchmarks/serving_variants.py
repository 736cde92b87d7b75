"""The servers the serving benchmark measures: an HTTP server kind plus optional features.

A server is named ``KIND[+FEATURE...]``: ``uvicorn`` or ``fast`` (see ``serving.py``), then any of

- ``log``: ``prediction_log`` in a fresh temporary directory, defaults otherwise (every request
  logged, flushed every second);
- ``registry``: the bench model registered in a temporary ``PRODML_HOME`` and served by ``ref``
  (the registry runtime instead of the model file; no endpoint);
- ``endpoint``: an endpoint ``lgbm`` with one variant, that registered model (routing, request
  ids, served records for feedback);
- ``shadow`` / ``shadowN``: the endpoint with a second registered version of the same model as
  a shadow, N% of requests mirrored (default 100);
- ``compiled``: ``compiled: true`` on the model entry, or in ``endpoint_models`` for an
  endpoint (LightGBM compiled with lleaves).

Every server with a registry gets its own ``PRODML_HOME``, so endpoints and served records of
one server never touch another's. Endpoints keep the served name ``lgbm``: the load generator's
requests are the same for every server. After the run, each server's ``/metrics`` and prediction
log say what it really did (``Sanity``): requests answered, rows predicted, log rows written,
shadow requests served and dropped.

    >>> ServerVariant.parse("uvicorn+log+shadow10").parents()[0][1].name
    'uvicorn+shadow10'
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import statistics
import tempfile
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODEL = "bench-lgbm"  # the registered model; the served name stays "lgbm"
KINDS = ("uvicorn", "fast")
_SHADOW = re.compile(r"shadow(\d+)?")
Results = dict[str, dict[str, dict[str, float]]]  # column -> point -> measure -> value


@dataclass(frozen=True)
class ServerVariant:
    """One benchmarked server: the HTTP server kind and the features switched on."""

    kind: str
    log: bool = False
    registry: bool = False
    endpoint: bool = False
    shadow_percent: int = 0  # 0: no shadow; a shadow always comes with its endpoint
    compiled: bool = False

    @classmethod
    def parse(cls, text: str) -> ServerVariant:
        """``uvicorn+log`` -> a variant; SystemExit naming the mistake otherwise."""
        kind, *features = text.split("+")
        if kind not in KINDS:
            raise SystemExit(f"server {text!r}: the kind must be one of {KINDS}, got {kind!r}")
        flags: dict[str, Any] = {}
        for feature in features:
            shadow = _SHADOW.fullmatch(feature)
            if shadow is not None:
                percent = int(shadow.group(1) or 100)
                if not 1 <= percent <= 100:
                    raise SystemExit(f"server {text!r}: shadow share {percent}% not in 1..100")
                flags.update(endpoint=True, shadow_percent=percent)
            elif feature in ("log", "registry", "endpoint", "compiled"):
                flags[feature] = True
            else:
                raise SystemExit(
                    f"server {text!r}: unknown feature {feature!r}; features are log, registry, "
                    "endpoint, shadow (or shadowN for N%), compiled"
                )
        shadows = [f for f in features if _SHADOW.fullmatch(f)]
        if len(features) != len(set(features)) or len(shadows) > 1:
            raise SystemExit(f"server {text!r}: a feature is given twice")
        if shadows and "endpoint" in features:
            raise SystemExit(f"server {text!r}: a shadow comes with its endpoint; drop +endpoint")
        variant = cls(kind, **flags)
        if variant.endpoint and variant.registry:
            raise SystemExit(
                f"server {text!r}: an endpoint's models are registry models already; drop +registry"
            )
        return variant

    @property
    def name(self) -> str:
        features = [
            "registry" if self.registry else "",
            "endpoint" if self.endpoint and not self.shadow_percent else "",
            self.shadow_name,
            "log" if self.log else "",
            "compiled" if self.compiled else "",
        ]
        return "+".join([self.kind, *filter(None, features)])

    @property
    def shadow_name(self) -> str:
        if not self.shadow_percent:
            return ""
        return "shadow" if self.shadow_percent == 100 else f"shadow{self.shadow_percent}"

    @property
    def needs_home(self) -> bool:
        return self.registry or self.endpoint

    def parents(self) -> list[tuple[str, ServerVariant]]:
        """(what changed, the variant without that change): the comparisons this one answers."""
        out: list[tuple[str, ServerVariant]] = []
        if self.log:
            out.append(("log on vs off", dataclasses.replace(self, log=False)))
        if self.shadow_percent:
            out.append(
                (
                    f"shadow {self.shadow_percent}% vs endpoint",
                    dataclasses.replace(self, shadow_percent=0),
                )
            )
        elif self.endpoint:
            out.append(("endpoint vs plain", dataclasses.replace(self, endpoint=False)))
            out.append(
                ("endpoint vs registry", dataclasses.replace(self, endpoint=False, registry=True))
            )
        if self.registry:
            out.append(("registry vs model file", dataclasses.replace(self, registry=False)))
        if self.compiled:
            out.append(("compiled vs not", dataclasses.replace(self, compiled=False)))
        return out

    def endpoint_spec(self) -> dict[str, Any] | None:
        if not self.endpoint:
            return None
        variants = [{"name": "primary", "model": f"{MODEL}/1"}]
        strategy: dict[str, Any] = {"kind": "fixed", "weights": {"primary": 100}}
        if self.shadow_percent:
            variants.append({"name": "shadow", "model": f"{MODEL}/2"})
            strategy = {
                "kind": "shadow",
                "primary": "primary",
                "shadows": ["shadow"],
                "sample": self.shadow_percent / 100,
            }
        return {"name": "lgbm", "variants": variants, "strategy": strategy}


@dataclass
class ServerState:
    """What one server keeps on disk: its PRODML_HOME and prediction log, in one temp folder."""

    root: Path
    home: Path | None = None
    log_dir: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def prepare(variant: ServerVariant, model_file: Path, sample_file: Path) -> ServerState:
    """A fresh folder; with a registry, the bench model registered (twice for a shadow) and the
    endpoint applied, in a PRODML_HOME that the server's environment names."""
    state = ServerState(Path(tempfile.mkdtemp(prefix="prodml-bench-")))
    if variant.log:
        state.log_dir = state.root / "prediction-log"
    if variant.needs_home:
        state.home = state.root / "home"
        state.env = {
            "PRODML_HOME": str(state.home),
            "PRODML_METADATA_URL": f"sqlite:///{state.home / 'prodml.db'}",
            "PRODML_ARTIFACTS_URL": str(state.home / "artifacts"),
        }
        register(variant, state, model_file, sample_file)
    return state


def register(variant: ServerVariant, state: ServerState, model_file: Path, sample: Path) -> None:
    import lightgbm as lgb
    import numpy as np

    from prodml.registry import Registry
    from prodml.routing import EndpointSpec, EndpointStore
    from prodml.types import Signature, TensorSpec

    booster = lgb.Booster(model_file=str(model_file))
    rows = np.asarray(json.loads(sample.read_text()), dtype=np.float32)[:20]
    # The loadgen's tensor: one FP32 "input-0" of (rows, features), as the model file serves.
    signature = Signature(inputs=(TensorSpec("input-0", "float32", (-1, rows.shape[1])),))
    url, artifacts = state.env["PRODML_METADATA_URL"], state.env["PRODML_ARTIFACTS_URL"]
    with Registry.open(home=state.home, metadata_url=url, artifacts_url=artifacts) as registry:
        for _ in range(2 if variant.shadow_percent else 1):
            registry.register(MODEL, booster, sample=rows, signature=signature)
    spec = variant.endpoint_spec()
    if spec is not None:
        store = EndpointStore.open(home=state.home, metadata_url=url)
        store.apply(EndpointSpec.parse(spec))
        store.engine.dispose()


def server_config(
    variant: ServerVariant, state: ServerState, port: int, workers: int, batch: int, model: Path
) -> dict[str, Any]:
    config: dict[str, Any] = {"host": "127.0.0.1", "port": port, "grpc_port": None}
    config["workers"] = workers
    if variant.endpoint:
        config["endpoints"] = ["lgbm"]
        config["endpoint_models"] = {
            "batching": {"max_batch_size": batch},
            "compiled": variant.compiled,
        }
    else:
        entry: dict[str, Any] = {"name": "lgbm", "batching": {"max_batch_size": batch}}
        entry.update({"ref": f"{MODEL}/1"} if variant.registry else {"path": str(model)})
        if variant.compiled:
            entry["compiled"] = True
        config["models"] = [entry]
    if state.log_dir is not None:
        config["prediction_log"] = {"path": str(state.log_dir)}
    return config


def first_output(port: int, rows: list[list[float]], timeout: float = 30) -> list[float]:
    """The first output of one V2 JSON request of ``rows`` (what the loadgen checks)."""
    body = {
        "inputs": [
            {
                "name": "input-0",
                "shape": [len(rows), len(rows[0])],
                "datatype": "FP32",
                "data": [v for row in rows for v in row],
            }
        ]
    }
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v2/models/lgbm/infer",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        data: list[float] = json.load(response)["outputs"][0]["data"]
    return data


@dataclass
class Sanity:
    """What one server did in the run, from its own counters and its prediction log."""

    requests: float = 0.0  # answered with 200
    failed: dict[str, float] = field(default_factory=dict)  # answered otherwise, by status
    rows: dict[str, float] = field(default_factory=dict)  # predicted, by served model
    shadow: dict[str, float] = field(default_factory=dict)  # ok / error / dropped
    log_rows: int | None = None
    log_shadow_rows: int = 0
    same_answers: str = ""  # the primary-response check made before measuring
    server_log: Path | None = None
    tracebacks: int = 0  # in the server's log: failures the counters may not show

    def read_server_log(self) -> None:
        if self.server_log is not None and self.server_log.exists():
            self.tracebacks = self.server_log.read_text(errors="replace").count("Traceback")

    def lines(self, name: str) -> list[str]:
        primary = sum(v for k, v in self.rows.items() if not k.endswith(":shadow"))
        failed = ", ".join(f"{v:,.0f} x {k}" for k, v in sorted(self.failed.items()))
        out = [
            f"- {name}: {self.requests:,.0f} requests answered 200 ({failed or 'no other'}; "
            f"start-up probes included), {primary:,.0f} rows predicted"
        ]
        if self.log_rows is not None:
            logged = self.log_rows - self.log_shadow_rows
            share = f" ({logged / primary:.1%} of rows predicted)" if primary else ""
            out.append(
                f"  - prediction log: {self.log_rows:,} rows written: {logged:,} primary{share}, "
                f"{self.log_shadow_rows:,} shadow"
            )
        if self.shadow:
            counts = ", ".join(f"{v:,.0f} {k}" for k, v in sorted(self.shadow.items()))
            out.append(f"  - shadow requests: {counts} (of {self.requests:,.0f} primary)")
        if self.same_answers:
            out.append(f"  - primary answers: {self.same_answers}")
        if self.tracebacks:
            out.append(f"  - server log: {self.tracebacks} tracebacks (see {self.server_log})")
        return out


def scrape(port: int, sanity: Sanity) -> None:
    """Fill ``sanity`` from ``/metrics`` (every worker's values, merged by the server)."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "prodml_requests_total":
                if labels.get("status") == "200":
                    sanity.requests += sample.value
                else:
                    status = labels.get("status", "?")
                    sanity.failed[status] = sanity.failed.get(status, 0.0) + sample.value
            elif sample.name == "prodml_inference_rows_total":
                model = labels.get("model", "")
                sanity.rows[model] = sanity.rows.get(model, 0.0) + sample.value
            elif sample.name == "prodml_shadow_requests_total":
                outcome = labels.get("outcome", "")
                sanity.shadow[outcome] = sanity.shadow.get(outcome, 0.0) + sample.value


def count_log(log_dir: Path, sanity: Sanity) -> None:
    """Rows in the prediction log's Parquet segments, and how many are shadow rows."""
    import pyarrow.parquet as pq

    total = shadow = 0
    for segment in sorted(log_dir.rglob("*.parquet")):
        meta = pq.read_metadata(segment)
        total += meta.num_rows
        if "shadow_of" in meta.schema.names:
            column = pq.read_table(segment, columns=["shadow_of"]).column("shadow_of")
            shadow += len(column) - column.null_count
    sanity.log_rows, sanity.log_shadow_rows = total, shadow


def compare_answers(
    answers: dict[ServerVariant, list[float]], expected: list[float]
) -> dict[ServerVariant, str]:
    """Each server's answer vs a plain server's (no features) in the run, else the expected
    values the load generator checks against."""
    plain = next((v for v in answers if v == ServerVariant(v.kind)), None)
    reference_name = "expected_preds.json" if plain is None else plain.name
    out: dict[ServerVariant, str] = {}
    for variant, values in answers.items():
        if variant == plain:
            continue
        reference = (expected if plain is None else answers[plain])[: len(values)]
        if len(values) != len(reference):
            out[variant] = f"{len(values)} values, {len(reference)} from {reference_name}"
            continue
        diff = max(abs(a - b) for a, b in zip(values, reference, strict=True))
        verdict = "identical to" if diff == 0 else f"differ by at most {diff:.3g} from"
        out[variant] = f"{verdict} {reference_name} on {len(values)} rows, checked before load"
    return out


def feature_notes(variants: list[ServerVariant], batch: int) -> list[str]:
    """One line per feature that some server in the run has: what it switches on."""

    shadows = {v.shadow_percent: v.shadow_name for v in variants if v.shadow_percent}
    notes = {
        "log": (
            any(v.log for v in variants),
            "`prediction_log` in a fresh temporary directory, defaults otherwise (every request "
            "logged, flushed every 1 s to zstd Parquet segments by the log's own thread).",
        ),
        "registry": (
            any(v.registry for v in variants),
            f"the bench model registered as `{MODEL}/1` in a temporary `PRODML_HOME` and served "
            f"by `ref` through the registry's LightGBM runtime (answers `probability` and "
            f"`label`), batching up to {batch} rows.",
        ),
        "endpoint": (
            any(v.endpoint for v in variants),
            f"endpoint `lgbm` with one variant, `{MODEL}/1` (fixed, 100%): the registry runtime "
            "plus routing, request ids and served records for feedback (SQLite in the "
            f"`PRODML_HOME`). Its variant models batch up to {batch} rows (`endpoint_models`).",
        ),
        "shadow": (
            bool(shadows),
            f"the endpoint with strategy `shadow`: primary `{MODEL}/1`, shadow `{MODEL}/2` (the "
            "same model registered again), mirrored share "
            + ", ".join(f"`sample: {p / 100:g}` (`+{n}`)" for p, n in sorted(shadows.items()))
            + "; mirrored copies wait in a bounded queue (dropped when full, never waited for).",
        ),
        "compiled": (
            any(v.compiled for v in variants),
            "`compiled: true` on the model entry (LightGBM trees compiled with lleaves).",
        ),
    }
    return [f"- **+{name}**: {text}" for name, (used, text) in notes.items() if used] + [""]


def features_section(features: list[str], did: list[str]) -> str:
    """Each feature against the same server without it, and what every server did."""
    if not any(line.startswith("|") for line in features):
        return ""
    return "\n".join(
        [
            "## Features on vs off",
            "",
            "Each server with a feature against the same server without it, in the same run: "
            "`req/s` of the median rounds before → after; `ratio`, the median over rounds of "
            "after / before measured one right after the other in that round (rows/s has the "
            "same ratio: a point's requests all have the same rows), and `rounds`, the lowest "
            "and highest of those per-round ratios; p50 and p99 before → after.",
            "",
            *features,
            "",
            "What each server did, from its `/metrics` after the load and its prediction log "
            "after a graceful stop (the load generator's probes and warm-up included):",
            "",
            *did,
            "",
        ]
    )


def comparisons(
    columns: Results, variants: list[ServerVariant], points: list[str]
) -> tuple[list[str], list[str]]:
    """Each variant against every parent that ran (a table), and one line per pair on the
    issues' claims: throughput at every point, p50 at one connection."""
    ran = {v: columns.get(f"prodml {v.name}", {}) for v in variants}
    table = [
        "| change | server | point | req/s | ratio | rounds | p50 ms | p99 ms |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    claims: list[str] = []
    for variant in variants:
        for change, parent in variant.parents():
            if parent not in ran:
                continue
            before, after = ran[parent], ran[variant]
            shared = [p for p in points if p in before and p in after]
            paired = {p: paired_ratio(after[p], before[p]) for p in shared}
            ratios = {p: ratio for p, (ratio, _, _) in paired.items()}
            for p in shared:
                b, a = before[p], after[p]
                _, low, high = paired[p]
                table.append(
                    f"| {change} | {variant.name} vs {parent.name} | {p} | "
                    f"{b['req_s']:.0f} → {a['req_s']:.0f} | {ratios[p]:.2f} | "
                    f"{low:.2f}-{high:.2f} | {b['p50_ms']:.2f} → {a['p50_ms']:.2f} | "
                    f"{b['p99_ms']:.1f} → {a['p99_ms']:.1f} |"
                )
            if shared:
                claims.append(_claim(change, variant, parent, before, after, ratios))
    return (table if len(table) > 2 else []), claims


def _claim(
    change: str,
    variant: ServerVariant,
    parent: ServerVariant,
    before: dict[str, dict[str, float]],
    after: dict[str, dict[str, float]],
    ratios: dict[str, float],
) -> str:
    worst = min(ratios, key=lambda p: ratios[p])
    line = (
        f"- {change} ({variant.name} vs {parent.name}): throughput {ratios[worst]:.2f}x at worst "
        f"({worst})"
    )
    if change == "log on vs off":
        met = "met" if ratios[worst] >= 0.9 else "NOT met"
        line += f", target >= 0.90 at every point: {met}"
    one = "json 1x1"
    if one in before and one in after:
        b, a = before[one]["p50_ms"], after[one]["p50_ms"]
        line += f"; p50 at {one} {b:.3f} → {a:.3f} ms ({a - b:+.3f} ms)"
    if variant.shadow_percent:
        line += (
            f"; the shadow predicts {variant.shadow_percent}% of requests again on the same "
            "cores, so throughput at saturation pays for that work"
        )
    return line + "."


def paired_ratio(after: dict[str, float], before: dict[str, float]) -> tuple[float, float, float]:
    """Throughput after / before: the median of the rounds' ratios, then the lowest and highest.

    Round ``i`` measured both servers one right after the other, so its ratio leaves out the
    drift of a shared box between rounds (on 2 cores a server's rounds spread by 10-30%);
    without rounds, the ratio of the median rounds.
    """
    pairs = [
        after[key] / before[key]
        for key in before
        if key.startswith("round_") and key in after and before[key]
    ]
    if not pairs:
        ratio = _ratio(after["req_s"], before["req_s"])
        return ratio, ratio, ratio
    return statistics.median(pairs), min(pairs), max(pairs)


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")
