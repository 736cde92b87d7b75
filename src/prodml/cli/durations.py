"""Durations given on the command line (``--every 30s``)."""

from __future__ import annotations

from prodml.errors import ConfigError


def seconds(text: str, *, flag: str = "--every") -> float:
    """``"30s"``, ``"5min"``, ``"1h"`` -> seconds; a clear error for anything else."""
    import pandas as pd

    try:
        value = pd.Timedelta(text).total_seconds()
    except ValueError as exc:
        raise ConfigError(f"{flag} {text!r} is not a duration such as 60s or 5min") from exc
    if value <= 0:
        raise ConfigError(f"{flag} must be positive; got {text!r}")
    return float(value)
