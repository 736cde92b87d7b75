"""A correlation flip with unchanged marginals: caught by multivariate detectors only."""

from __future__ import annotations

import numpy as np
import pytest

from prodml.errors import ConfigError
from prodml.monitoring import ReconstructionDrift, data_drift, domain_classifier_drift


def _pair(rng: np.random.Generator, n: int, rho: float) -> dict[str, np.ndarray]:
    x = rng.normal(size=n)
    y = rho * x + np.sqrt(1 - rho * rho) * rng.normal(size=n)
    return {"a": x, "b": y, "c": rng.choice(["u", "v"], n)}


def test_correlation_flip_is_caught_only_by_multivariate_detectors() -> None:
    rng = np.random.default_rng(11)
    reference = _pair(rng, 1500, 0.8)
    same = _pair(rng, 600, 0.8)
    # 600 reference rows with b re-paired to fall as a rises: each column's values are exactly
    # a subsample of the reference's, only the pairing (the correlation) changes.
    idx = rng.choice(1500, 600, replace=False)
    a, b = reference["a"][idx], np.sort(reference["b"][idx])
    flipped_b = np.empty_like(b)
    flipped_b[np.argsort(a)] = b[::-1]
    flipped = {"a": a, "b": flipped_b, "c": reference["c"][idx]}
    assert np.corrcoef(flipped["a"], flipped["b"])[0, 1] < -0.9

    per_column = data_drift(reference, flipped)
    assert per_column.drifted_columns == []
    assert min(c.score for c in per_column.columns) > 0.5

    assert not domain_classifier_drift(reference, same, seed=1).drifted
    caught = domain_classifier_drift(reference, flipped, seed=1)
    assert caught.drifted and caught.statistic > 0.7

    detector = ReconstructionDrift.fit(reference, columns=["a", "b", "c"])
    assert not detector.check(same).drifted
    flip = detector.check(flipped)
    assert flip.drifted and flip.statistic > 2 * detector.error_mean
    assert flip.to_dict()["method"] == "reconstruction_error"


def test_reconstruction_needs_enough_rows() -> None:
    with pytest.raises(ConfigError, match="20 reference rows"):
        ReconstructionDrift.fit({"a": np.arange(10.0), "b": np.arange(10.0)})
