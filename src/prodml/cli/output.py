"""Printing for people (Rich tables) and for machines (``--json``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import orjson
from rich.console import Console
from rich.table import Table

# Piped output (logs, CI) has no terminal width; Rich would fall back to 80 columns and fold
# every wide table, so give it room. A terminal (or COLUMNS) still decides for itself.
_WIDTH = None if sys.stdout.isatty() or "COLUMNS" in os.environ else 140
console = Console(width=_WIDTH)
errors = Console(stderr=True, width=_WIDTH)


def print_json(data: Any) -> None:
    """Plain JSON on stdout (no colour, one document), for scripts and ``jq``."""
    print(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)


def fmt_mapping(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in values.items())


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
