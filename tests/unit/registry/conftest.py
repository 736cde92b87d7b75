"""A small fitted model and its data, shared by the registry tests."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

from prodml.registry import Registry


@pytest.fixture(scope="session")
def iris() -> tuple[pd.DataFrame, pd.Series]:
    data = load_iris(as_frame=True)
    frame = data.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    return frame.drop(columns="target"), frame["target"]


@pytest.fixture(scope="session")
def classifier(iris: tuple[pd.DataFrame, pd.Series]) -> Any:
    x, y = iris
    return LogisticRegression(max_iter=300).fit(x, y)


@pytest.fixture
def registry() -> Registry:
    return Registry.open()
