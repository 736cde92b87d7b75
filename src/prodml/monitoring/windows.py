"""Splitting a time-indexed frame into windows, and checking each window for drift.

Windows are half-open ``[start, end)``. By time, edges are aligned to ``origin`` (default: the
first timestamp floored to the window length), so the same data always yields the same windows
and nothing reads the clock. Empty windows are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from prodml.errors import ConfigError
from prodml.monitoring.drift.dataset import data_drift
from prodml.monitoring.drift.result import DriftReport


@dataclass(frozen=True)
class Window:
    """Rows ``data`` (a pandas DataFrame) falling in ``[start, end)``; ``index`` counts from 0."""

    index: int
    start: Any
    end: Any
    data: Any

    def __len__(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class WindowDrift:
    window: Window
    report: DriftReport

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.window.index,
            "start": str(self.window.start),
            "end": str(self.window.end),
            "rows": len(self.window),
            "report": self.report.to_dict(),
        }


def windows_by_time(
    frame: Any, *, time_column: str, every: str | timedelta, origin: Any = None
) -> list[Window]:
    """Split ``frame`` into windows of length ``every`` (``"1h"``, ``"1D"`` or a timedelta)."""
    import pandas as pd

    if time_column not in frame.columns:
        raise ConfigError(f"no column {time_column!r} to window by; columns: {list(frame.columns)}")
    step = pd.Timedelta(every)
    if step <= pd.Timedelta(0):
        raise ConfigError(f"window length must be positive; got {every!r}")
    times = pd.to_datetime(frame[time_column])
    if len(times) == 0:
        return []
    start = pd.Timestamp(origin) if origin is not None else times.min().floor(step)
    slot = ((times - start) // step).to_numpy()
    out: list[Window] = []
    for k in sorted(set(slot.tolist())):
        if k < 0:
            continue
        lo = start + k * step
        out.append(Window(len(out), lo, lo + step, frame[slot == k]))
    return out


def windows_by_count(frame: Any, *, size: int, drop_last: bool = False) -> list[Window]:
    """Consecutive windows of ``size`` rows (the last may be shorter unless ``drop_last``)."""
    if size < 1:
        raise ConfigError(f"window size must be >= 1; got {size}")
    out: list[Window] = []
    for i, lo in enumerate(range(0, len(frame), size)):
        part = frame.iloc[lo : lo + size]
        if drop_last and len(part) < size:
            break
        out.append(Window(i, lo, lo + len(part), part))
    return out


def drift_over_windows(
    windows: Sequence[Window],
    reference: object,
    *,
    exclude: Sequence[str] = (),
    check: Callable[..., DriftReport] = data_drift,
    **options: Any,
) -> list[WindowDrift]:
    """Run ``data_drift`` (or ``check``) on each window against one reference.

    Args:
        reference: a ``DatasetProfile``, tabular data, or a past ``Window``.
        exclude: columns not to test (the time column, ids); used when ``columns`` is not
            among ``options``.
        options: passed on to ``check`` (``columns``, ``num_method``, ``thresholds``, ...).
    """
    from prodml.profiles import DatasetProfile
    from prodml.profiles.columns import to_columns

    ref = reference.data if isinstance(reference, Window) else reference
    if "columns" not in options and exclude:
        names = ref.columns if isinstance(ref, DatasetProfile) else to_columns(ref)
        options["columns"] = [c for c in names if c not in exclude]
    return [WindowDrift(w, check(ref, w.data, **options)) for w in windows if len(w)]
