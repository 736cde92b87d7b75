"""``prodml serve`` as a user runs it: a real subprocess serving a registered model."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from prodml.cli.demo_serving import running_server, v2_request
from prodml.registry import Registry
from tests.conftest import CliRunner


@pytest.mark.slow
def test_serve_a_registered_alias_over_v2_and_records() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(100, 2)), columns=["x", "y"])
    model = LogisticRegression().fit(frame, (frame["x"] > frame["y"]).astype(int))
    with Registry.open() as registry:
        registry.register("pair", model, sample=frame.head(10), alias="champion")
    expected = model.predict_proba(frame.head(4))[:, 1]
    with running_server(["pair@champion"], None) as url:
        v2 = httpx.post(f"{url}/v2/models/pair/infer", json=v2_request(frame.head(4), "r1"))
        assert v2.status_code == 200, v2.text
        body = v2.json()
        assert (body["id"], body["model_name"], body["model_version"]) == ("r1", "pair", "1")
        np.testing.assert_allclose(body["outputs"][0]["data"], expected, rtol=1e-6)
        bad = httpx.post(f"{url}/v2/models/pair/infer", json=v2_request(frame.head(2)[["x"]], "r2"))
        assert bad.status_code == 400
        assert "y" in bad.json()["error"]


@pytest.mark.parametrize(
    ("yaml", "fragment"),
    [
        (None, "models"),
        ("port: -3\nmodels: [{ref: a@b}]\n", "port"),
        ("models: [{ref: 'not a ref!'}]\n", "ref"),
        ("- just\n- a list\n", "mapping"),
    ],
)
def test_bad_serving_config_is_one_clear_line(
    cli: CliRunner, tmp_path: Path, yaml: str | None, fragment: str
) -> None:
    args = ["serve"]
    if yaml is not None:
        config = tmp_path / "serve.yaml"
        config.write_text(yaml)
        args += ["-f", str(config)]
    code, _, err = cli(*args)
    assert code == 5
    assert fragment in err
    assert "Traceback" not in err
