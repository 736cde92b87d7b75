"""The examples in the experiments docstrings run and print what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import prodml.experiments

MODULES = sorted(
    f"prodml.experiments.{m.name}" for m in pkgutil.iter_modules(prodml.experiments.__path__)
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
