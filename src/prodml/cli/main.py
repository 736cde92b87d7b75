"""The ``prodml`` command.

Exit codes (documented in the README too):

====  ===================================================================
0     success
1     unexpected internal error (a bug: run again with ``--debug``)
2     usage error: unknown command, missing argument, bad flag value
3     not found: model, version, alias or file
4     conflict with stored state (nothing was changed)
5     invalid input or configuration
6     artifact error: missing, or failed its sha256 check
7     an optional dependency is missing (the message names the extra)
====  ===================================================================
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from prodml import __version__
from prodml.cli import demo, endpoints, experiments, features, models, monitor, serve
from prodml.cli.output import errors
from prodml.errors import (
    ArtifactError,
    ConfigError,
    ConflictError,
    InvalidInputError,
    MissingExtraError,
    NotFoundError,
    ProdmlError,
    UnsafeArtifactError,
    UnsupportedModelError,
)

EXIT_CODES: list[tuple[type[BaseException], int]] = [
    (NotFoundError, 3),
    (FileNotFoundError, 3),
    (ConflictError, 4),
    (ConfigError, 5),
    (InvalidInputError, 5),
    (UnsafeArtifactError, 5),
    (UnsupportedModelError, 5),
    (ArtifactError, 6),
    (MissingExtraError, 7),
    (ProdmlError, 1),
]

app = typer.Typer(
    name="prodml",
    help="prodml: register, serve, test, watch and retrain production ML models.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(models.app, name="models")
app.add_typer(features.app, name="features")
app.add_typer(endpoints.app, name="endpoints")
app.add_typer(experiments.app, name="experiments")
app.add_typer(monitor.app, name="monitor")
app.command()(serve.serve)
app.command()(demo.demo)


@app.callback()
def _root(
    home: Annotated[
        Path | None,
        typer.Option(help="Where prodml keeps its state (default: $PRODML_HOME or ~/.prodml)."),
    ] = None,
    debug: Annotated[bool, typer.Option(help="Show the full traceback on errors.")] = False,
) -> None:
    if home is not None:
        os.environ["PRODML_HOME"] = str(home)


@app.command()
def version() -> None:
    """Print prodml's version."""
    print(__version__)


def exit_code(exc: BaseException) -> int:
    for kind, code in EXIT_CODES:
        if isinstance(exc, kind):
            return code
    return 1


def _is_usage_error(exc: Exception) -> bool:
    # Typer vendors its own click, so its usage errors are not click.ClickException; both
    # kinds carry show() and exit_code (2 for usage errors).
    return (
        isinstance(exc, typer.TyperException) and hasattr(exc, "show") and hasattr(exc, "exit_code")
    )


def run(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning errors into one readable line and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        app(args=args, prog_name="prodml", standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        errors.print("aborted")
        sys.exit(130)
    except Exception as exc:
        if _is_usage_error(exc):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if debug:
            raise
        code = exit_code(exc)
        message = (
            str(exc) if isinstance(exc, ProdmlError | OSError) else f"{type(exc).__name__}: {exc}"
        )
        prefix = "error" if code != 1 or isinstance(exc, ProdmlError) else "internal error"
        hint = "" if code != 1 else " (run again with --debug for the traceback)"
        errors.print(Text.assemble((f"{prefix}: ", "bold red"), f"{message}{hint}"))
        sys.exit(code)
