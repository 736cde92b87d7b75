from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import pytest

from prodml.serving import InMemoryLoader, ServerConfig, TestServer
from prodml.serving.config import BatchingConfig, ModelConfig
from prodml.testing.fakes import FakeModel
from prodml.types import Signature, TensorSpec


@pytest.fixture(scope="module", params=["uvicorn", "fast"])
def server(request: pytest.FixtureRequest) -> Iterator[TestServer]:
    """One server with a doubling model ``m`` and a two-column classifier ``clf``, on each HTTP
    server (``http_server``): every test that uses it holds for both."""
    sig = Signature(
        inputs=(TensorSpec("a", "float32", (-1,)), TensorSpec("b", "float32", (-1,))),
        outputs=(TensorSpec("probability", "float64", (-1,)), TensorSpec("label", "int64", (-1,))),
    )

    def classify(cols: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        c = cols
        p = 1 / (1 + np.exp(-(c["a"].astype(np.float64) + c["b"])))
        return {"probability": p, "label": (p > 0.5).astype(np.int64)}

    loader = InMemoryLoader(
        {
            "m": FakeModel(reject_negative=True),
            "clf": FakeModel(signature=sig, fn=classify),
            "slow": FakeModel(delay_s=0.3),
        }
    )
    config = ServerConfig(
        models=(
            ModelConfig(ref="m"),
            ModelConfig(ref="clf"),
            ModelConfig(
                ref="slow",
                timeout_s=0.1,
                batching=BatchingConfig(executor="thread", max_batch_size=1),
            ),
        ),
        max_body_bytes=4096,
        http_server=request.param,
    )
    with TestServer(loader, config) as s:
        yield s


@pytest.fixture(scope="session")
def lgbm_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real LightGBM binary classifier on 4 features."""
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    booster = lgb.train(
        {"objective": "binary", "verbose": -1, "num_threads": 1},
        lgb.Dataset(x, y),
        num_boost_round=10,
    )
    path = tmp_path_factory.mktemp("lgbm") / "model.txt"
    booster.save_model(str(path))
    return path
