"""The examples in the routing docstrings run."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from prodml.routing import bandits, router


@pytest.mark.parametrize("module", [bandits, router], ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
