"""A self-contained HTML report of a monitor run: inline SVG drawn here, no JavaScript, no
network. Sections: alerts; drift share and per-feature drift scores over time; performance
(realised, and CBPE estimates dashed) over time; each feature's reference vs current histogram.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b")
W, H, PAD = 640, 220, 40

CSS = """body{font-family:system-ui,sans-serif;margin:2rem;max-width:1400px;color:#222}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
.grid{display:flex;flex-wrap:wrap;gap:1rem}.card{border:1px solid #e3e3e3;padding:.5rem}
.alert{background:#fdecea;border-left:4px solid #d62728;padding:.4rem .8rem;margin:.3rem 0}
.ok{color:#2ca02c}svg text{font-size:11px;fill:#444}table{border-collapse:collapse}
td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}"""


def write_html_report(result: Any, path: str | Path) -> Path:
    """Write ``result`` (a ``MonitorResult`` or its ``to_dict()``) as one HTML file."""
    data: Mapping[str, Any] = result.to_dict() if hasattr(result, "to_dict") else result
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(data), encoding="utf-8")
    return out


def render(data: Mapping[str, Any]) -> str:
    windows: Sequence[Mapping[str, Any]] = data.get("windows", [])
    title = f"prodml monitor: {data.get('model', '')} {data.get('endpoint') or ''}".strip()
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title>",
        f"<style>{CSS}</style></head><body><h1>{_e(title)}</h1>",
        f"<p>{data.get('rows', 0)} logged predictions in {len(windows)} windows of "
        f"{_e(str(data.get('window', '')))}.</p>",
        _alerts(data.get("alerts", [])),
        "<h2>Drift over time</h2><div class='grid'>",
        _card(
            "Share of drifted features",
            _lines(
                {"drift share": _series(windows, "drift.share")},
                lo=0.0,
                hi=1.0,
                labels=_labels(windows),
            ),
        ),
    ]
    scores = {
        k.removeprefix("drift.").removesuffix(".score"): _series(windows, k)
        for k in _metric_names(windows)
        if k.startswith("drift.") and k.endswith(".score")
    }
    if scores:
        parts.append(
            _card(
                "Per-feature drift score (p-value: lower is drift; distance: higher is drift)",
                _lines(scores, labels=_labels(windows)),
            )
        )
    parts.append("</div><h2>Performance over time</h2><div class='grid'>")
    perf = [k for k in _metric_names(windows) if k.startswith(("performance.", "estimated."))]
    names = sorted({k.split(".", 1)[1] for k in perf})
    for name in names:
        series = {
            "realised": _series(windows, f"performance.{name}"),
            "estimated (CBPE)": _series(windows, f"estimated.{name}"),
        }
        parts.append(
            _card(name, _lines(series, labels=_labels(windows), dashed={"estimated (CBPE)"}))
        )
    if not names:
        parts.append(
            "<p>No performance to show: no labels have arrived, and a performance estimate "
            "(CBPE) needs some labelled rows to calibrate the model's probabilities.</p>"
        )
    parts.append("</div><h2>Reference vs current (latest window)</h2><div class='grid'>")
    for name, dist in data.get("distributions", {}).items():
        parts.append(_card(name, _histogram(dist)))
    parts.append("</div></body></html>")
    return "\n".join(parts)


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _card(title: str, svg: str) -> str:
    return f"<div class='card'><strong>{_e(title)}</strong><br>{svg}</div>"


def _alerts(alerts: Sequence[Mapping[str, Any]]) -> str:
    if not alerts:
        return "<h2>Alerts</h2><p class='ok'>No alerts fired.</p>"
    rows = "".join(f"<div class='alert'>{_e(str(a.get('message', '')))}</div>" for a in alerts)
    return f"<h2>Alerts ({len(alerts)})</h2>{rows}"


def _metric_names(windows: Sequence[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for w in windows:
        seen.update(dict.fromkeys(w.get("metrics", {})))
    return list(seen)


def _series(windows: Sequence[Mapping[str, Any]], metric: str) -> list[float]:
    values = []
    for w in windows:
        v = w.get("metrics", {}).get(metric)
        values.append(float(v) if isinstance(v, int | float) else math.nan)
    return values


def _labels(windows: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(w.get("start", w.get("index", "")))[:16] for w in windows]


def _lines(
    series: Mapping[str, Sequence[float]],
    *,
    labels: Sequence[str],
    lo: float | None = None,
    hi: float | None = None,
    dashed: set[str] | frozenset[str] = frozenset(),
) -> str:
    finite = [v for vs in series.values() for v in vs if not math.isnan(v)]
    if not finite:
        return "<p>no data</p>"
    lo = min(finite) if lo is None else lo
    hi = max(finite) if hi is None else hi
    if lo > 0 and hi / lo > 1000:
        # Scores that span many decades (p-values) are drawn on a log10 scale.
        series = {k: [math.log10(v) if v > 0 else math.nan for v in vs] for k, vs in series.items()}
        body_lo, body_hi = f"{lo:.1e}", f"{hi:.3g}"
        lo, hi = math.log10(lo), math.log10(hi)
    else:
        body_lo, body_hi = f"{lo:.3g}", f"{hi:.3g}"
    hi = hi if hi > lo else lo + 1.0
    n = max(len(vs) for vs in series.values())

    def x(i: int) -> float:
        return PAD + (W - 2 * PAD) * (i / max(n - 1, 1))

    def y(v: float) -> float:
        return H - PAD - (H - 2 * PAD) * (v - lo) / (hi - lo)

    body = [_axes(body_lo, body_hi, labels[0] if labels else "", labels[-1] if labels else "")]
    for k, (name, values) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        dash = " stroke-dasharray='5,3'" if name in dashed else ""
        points = [(x(i), y(v)) for i, v in enumerate(values) if not math.isnan(v)]
        if not points:
            continue
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        body.append(
            f"<polyline fill='none' stroke='{colour}' stroke-width='2'{dash} points='{path}'/>"
        )
        body += [
            f"<circle cx='{px:.1f}' cy='{py:.1f}' r='2.5' fill='{colour}'/>" for px, py in points
        ]
        body.append(
            f"<text x='{W - PAD + 4}' y='{PAD + 14 * k}' style='fill:{colour}'>{_e(name)}</text>"
        )
    return _svg(body, width=W + 120)


def _histogram(dist: Mapping[str, Any]) -> str:
    ref: list[float] = list(dist.get("reference", []))
    cur: list[float] = list(dist.get("current", []))
    if not ref:
        return "<p>no data</p>"
    top = max(ref + cur) or 1.0
    n = len(ref)
    slot = (W - 2 * PAD) / n
    body = [_axes("0", f"{top:.2f}", *_ends(dist))]
    for i, (r, c) in enumerate(zip(ref, cur, strict=True)):
        for j, (v, colour) in enumerate(((r, COLOURS[0]), (c, COLOURS[1]))):
            h = (H - 2 * PAD) * v / top
            bx = PAD + i * slot + j * slot / 2
            body.append(
                f"<rect x='{bx:.1f}' y='{H - PAD - h:.1f}' width='{max(slot / 2 - 1, 1):.1f}' "
                f"height='{h:.1f}' fill='{colour}' fill-opacity='0.75'/>"
            )
    body.append(f"<text x='{W - 150}' y='{PAD - 10}' style='fill:{COLOURS[0]}'>reference</text>")
    body.append(f"<text x='{W - 80}' y='{PAD - 10}' style='fill:{COLOURS[1]}'>current</text>")
    return _svg(body, width=W)


def _ends(dist: Mapping[str, Any]) -> tuple[str, str]:
    if dist.get("kind") == "numeric":
        edges = dist["edges"]
        return f"{edges[0]:.3g}", f"{edges[-1]:.3g}"
    cats = [str(c) for c in dist.get("categories", [])]
    return (cats[0], cats[-1]) if cats else ("", "")


def _axes(lo: str, hi: str, first: str, last: str) -> str:
    return (
        f"<line x1='{PAD}' y1='{H - PAD}' x2='{W - PAD}' y2='{H - PAD}' stroke='#999'/>"
        f"<line x1='{PAD}' y1='{PAD}' x2='{PAD}' y2='{H - PAD}' stroke='#999'/>"
        f"<text x='2' y='{H - PAD}'>{_e(lo)}</text><text x='2' y='{PAD}'>{_e(hi)}</text>"
        f"<text x='{PAD}' y='{H - PAD + 16}'>{_e(first)}</text>"
        f"<text x='{W - PAD}' y='{H - PAD + 16}' text-anchor='end'>{_e(last)}</text>"
    )


def _svg(body: Sequence[str], *, width: int) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{H}' "
        f"viewBox='0 0 {width} {H}' role='img'>{''.join(body)}</svg>"
    )
