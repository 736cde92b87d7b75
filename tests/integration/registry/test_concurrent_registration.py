"""8 processes x 25 registrations of one model end with exactly versions 1..200."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from prodml.registry import Registry

WORKERS, EACH = 8, 25

# Each worker is a separate interpreter, as separate training jobs would be.
WORKER = """
import sys
import numpy as np
from sklearn.linear_model import LogisticRegression
from prodml.registry import Registry

metadata_url, artifacts_url = sys.argv[1], sys.argv[2]
worker, count = int(sys.argv[3]), int(sys.argv[4])
x = np.random.default_rng(worker).normal(size=(20, 3)).astype("float32")
model = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
registry = Registry.open(metadata_url=metadata_url, artifacts_url=artifacts_url)
for i in range(count):
    registry.register("contended", model, sample=x, tags={"worker": str(worker), "i": str(i)})
"""


def _race(metadata_url: str, artifacts: Path) -> Registry:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, metadata_url, str(artifacts), str(w), str(EACH)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WORKERS)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    return Registry.open(metadata_url=metadata_url, artifacts_url=str(artifacts))


def _assert_exact(registry: Registry) -> None:
    versions = registry.versions("contended")
    assert [v.version for v in versions] == list(range(1, WORKERS * EACH + 1))
    per_worker = {str(w): 0 for w in range(WORKERS)}
    for v in versions:
        per_worker[v.tags["worker"]] += 1
    assert set(per_worker.values()) == {EACH}
    assert registry.get_model("contended").latest_version == WORKERS * EACH


@pytest.mark.slow
def test_concurrent_registration_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'meta.db'}"
    with _race(url, tmp_path / "artifacts") as registry:
        _assert_exact(registry)


@pytest.mark.slow
@pytest.mark.postgres
def test_concurrent_registration_on_postgres(postgres_url: str, tmp_path: Path) -> None:
    with _race(postgres_url, tmp_path / "artifacts") as registry:
        _assert_exact(registry)
