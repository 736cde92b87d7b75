"""Registering, resolving, aliases, archive and delete, on the embedded defaults."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from prodml.errors import (
    AliasInUseError,
    AliasNotFoundError,
    ConfigError,
    ConflictError,
    InvalidInputError,
    ModelNotFoundError,
    VersionNotFoundError,
)
from prodml.registry import ModelRef, Registry


def test_register_records_everything_a_version_needs(
    registry: Registry, classifier: Any, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = iris
    v = registry.register(
        "iris",
        classifier,
        sample=x.head(10),
        training_data=x,
        metrics={"accuracy": 0.97},
        params={"max_iter": np.int64(300)},
        tags={"team": "ml"},
        description="first",
    )
    assert (v.name, v.version, v.flavor, v.status) == ("iris", 1, "sklearn", "ready")
    assert v.signature.input_names == list(x.columns)
    assert v.signature.output_names[0] == "probabilities"
    assert v.metrics == {"accuracy": 0.97}
    assert v.params == {"max_iter": 300}
    assert v.tags == {"team": "ml"}
    assert len(v.artifact_sha256) == 64
    assert v.lineage.data_fingerprint is not None and len(v.lineage.data_fingerprint) == 64
    assert v.lineage.registered_by
    assert v.lineage.registered_at is not None
    assert v.profile is not None and v.profile["row_count"] == len(x)
    again = registry.register("iris", classifier, sample=x.head(10), training_data=x)
    assert again.version == 2
    # Same training rows, same fingerprint: lineage can tell two versions shared their data.
    assert again.lineage.data_fingerprint == v.lineage.data_fingerprint


def test_resolve_by_number_alias_and_bare_name(
    registry: Registry, classifier: Any, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = iris
    for _ in range(3):
        registry.register("iris", classifier, sample=x.head(5))
    assert registry.resolve("iris").version == 3  # no champion yet: newest live version
    registry.set_alias("iris", "champion", 2, reason="best on holdout")
    assert registry.resolve("iris").version == 2
    assert registry.resolve("iris@champion").version == 2
    assert registry.resolve("iris/1").version == 1
    assert registry.resolve(ModelRef("iris", version=3)).aliases == ()
    assert registry.resolve("iris/2").aliases == ("champion",)


def test_alias_moves_are_audited(
    registry: Registry, classifier: Any, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = iris
    registry.register("iris", classifier, sample=x.head(5))
    registry.register("iris", classifier, sample=x.head(5))
    registry.set_alias("iris", "champion", 1, reason="first")
    registry.set_alias("iris", "champion", 2, reason="better", actor="alice")
    registry.delete_alias("iris", "champion", reason="retired")
    history = registry.alias_history("iris", "champion")
    assert [(e.from_version, e.to_version, e.reason) for e in history] == [
        (None, 1, "first"),
        (1, 2, "better"),
        (2, None, "retired"),
    ]
    assert history[1].actor == "alice"
    with pytest.raises(AliasNotFoundError, match="no alias 'champion'"):
        registry.resolve("iris@champion")


def test_deleting_an_aliased_version_is_refused_unless_forced(
    registry: Registry, classifier: Any, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = iris
    registry.register("iris", classifier, sample=x.head(5))
    registry.register("iris", classifier, sample=x.head(5))
    registry.set_alias("iris", "champion", 1)
    with pytest.raises(AliasInUseError, match="champion"):
        registry.delete_version("iris", 1)
    assert registry.resolve("iris@champion").version == 1  # nothing changed
    registry.delete_version("iris", 1, force=True, reason="bad data")
    with pytest.raises(VersionNotFoundError):
        registry.resolve("iris/1")
    assert registry.alias_history("iris")[-1].reason == "bad data"
    # Numbers are never reused: the next version is 3, not 1.
    assert registry.register("iris", classifier, sample=x.head(5)).version == 3


def test_archived_versions_are_skipped_by_bare_names(
    registry: Registry, classifier: Any, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = iris
    registry.register("iris", classifier, sample=x.head(5))
    registry.register("iris", classifier, sample=x.head(5))
    registry.archive("iris", 2)
    assert registry.resolve("iris").version == 1
    assert registry.resolve("iris/2").status == "archived"
    with pytest.raises(ConflictError, match="archived"):
        registry.set_alias("iris", "champion", 2)
    registry.set_alias("iris", "champion", 1)
    with pytest.raises(AliasInUseError):
        registry.archive("iris", 1)


def test_list_and_search(
    registry: Registry, classifier: Any, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = iris
    registry.register("iris-a", classifier, sample=x.head(5), tags={"team": "red"})
    registry.register("iris-b", classifier, sample=x.head(5), tags={"team": "blue"})
    registry.register("other", classifier, sample=x.head(5))
    assert [m.name for m in registry.list_models()] == ["iris-a", "iris-b", "other"]
    assert [m.name for m in registry.list_models("iris*")] == ["iris-a", "iris-b"]
    assert [m.name for m in registry.list_models(tags={"team": "blue"})] == ["iris-b"]
    assert [m.name for m in registry.list_models(tags={"team": "*"})] == ["iris-a", "iris-b"]


def test_load_predicts_and_validates(
    registry: Registry, classifier: Any, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = iris
    registry.register("iris", classifier, sample=x.head(5), alias="champion")
    model = registry.load("iris@champion")
    out = model.predict(x.head(7))
    assert out["label"].tolist() == classifier.predict(x.head(7)).tolist()
    np.testing.assert_allclose(
        np.asarray(out["probabilities"], dtype=float), classifier.predict_proba(x.head(7))
    )
    with pytest.raises(InvalidInputError, match="petal_width"):
        model.predict(x.head(3).drop(columns="petal_width"))


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (lambda r, m: r.register("bad name!", m), ConfigError, "model name"),
        (lambda r, m: r.register("ok", m, metrics={"auc": "high"}), ConfigError, "metric 'auc'"),
        (lambda r, m: r.register("ok", m, tags={"k": 1}), ConfigError, "tags"),
        (lambda r, m: r.register("ok", m, alias="9lives"), ConfigError, "alias"),
        (lambda r, m: r.resolve("missing@champion"), ModelNotFoundError, "no registered model"),
        (lambda r, m: r.resolve("x/0"), ConfigError, "positive number"),
    ],
)
def test_bad_input_is_refused_clearly_and_stores_nothing(
    registry: Registry, classifier: Any, call: Any, error: type[Exception], fragment: str
) -> None:
    with pytest.raises(error, match=fragment):
        call(registry, classifier)
    assert registry.list_models() == []


def test_unknown_version_and_parent_are_refused(
    registry: Registry, classifier: Any, iris: tuple[pd.DataFrame, pd.Series]
) -> None:
    x, _ = iris
    registry.register("iris", classifier, sample=x.head(5))
    with pytest.raises(VersionNotFoundError, match="no version 7"):
        registry.resolve("iris/7")
    with pytest.raises(VersionNotFoundError):
        registry.register("iris", classifier, sample=x.head(5), parent_version=9)
    child = registry.register("iris", classifier, sample=x.head(5), parent_version=1)
    assert child.lineage.parent_version == 1
    assert [v.version for v in registry.versions("iris")] == [1, 2]
