"""``python -m prodml`` is the ``prodml`` command."""

from prodml.cli.main import run

run()
