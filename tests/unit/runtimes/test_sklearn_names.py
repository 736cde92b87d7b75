"""scikit-learn models fitted on DataFrames: predicted on a plain matrix when the column names
only get checked, on a DataFrame when the model needs them; the same answers either way."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from prodml.runtimes import load_model, save_model

NAMES = [f"f{i}" for i in range(6)]


def frame(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(rows, len(NAMES))), columns=NAMES)


def test_a_plain_estimator_predicts_without_building_a_dataframe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    train = frame(200)
    clf = LogisticRegression().fit(train, (train.f0 - train.f3 > 0).astype(int))
    save_model(clf, tmp_path, sample=train.head(3))
    model = load_model(tmp_path)
    test = frame(5, seed=1)

    built: list[int] = []
    original = pd.DataFrame.__init__

    def counting(self: pd.DataFrame, *args: Any, **kwargs: Any) -> None:
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "__init__", counting)
    columns = {n: test[n].to_numpy() for n in reversed(NAMES)}  # order of the mapping is free
    got = model.predict_columns(columns)
    one = model.predict_columns({n: test[n].to_numpy()[:1] for n in NAMES})
    monkeypatch.undo()
    assert built == []
    want: Any = clf.predict_proba(test)[:, 1]
    np.testing.assert_allclose(got["probability"].astype(float), want)
    assert got["label"].tolist() == clf.predict(test).tolist()
    assert one["probability"][0] == pytest.approx(got["probability"][0])


def test_a_model_that_selects_columns_by_name_still_gets_a_dataframe(tmp_path: Path) -> None:
    train = frame(200)
    # Scales only f3 and f0, in that order: a plain matrix would feed it the wrong columns.
    model = make_pipeline(
        ColumnTransformer([("picked", StandardScaler(), ["f3", "f0"])]), LogisticRegression()
    ).fit(train, (train.f0 - train.f3 > 0).astype(int))
    save_model(model, tmp_path, sample=train.head(3))
    loaded = load_model(tmp_path)
    test = frame(7, seed=2)
    got = loaded.predict_columns({n: test[n].to_numpy() for n in NAMES})
    want: Any = model.predict_proba(test)[:, 1]
    np.testing.assert_allclose(got["probability"].astype(float), want)
