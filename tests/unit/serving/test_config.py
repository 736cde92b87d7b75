from __future__ import annotations

from pathlib import Path

import pytest

from prodml.errors import ConfigError
from prodml.serving.config import load_config, parse_config


def test_yaml_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "serve.yaml"
    path.write_text(
        "port: 9000\nmodels:\n  - ref: fraud@champion\n    watch_alias: true\n"
        "    batching: {max_batch_size: 8, max_batch_delay_ms: 2}\n"
        "  - name: lgbm\n    path: model.txt\n"
    )
    cfg = load_config(path, workers=2)
    assert cfg.port == 9000 and cfg.workers == 2
    assert [m.served_name for m in cfg.models] == ["fraud", "lgbm"]
    assert cfg.models[0].batching.settings().max_batch_delay_s == 0.002


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"models": []}, "models"),
        ({"models": [{"ref": "a", "path": "b", "name": "c"}]}, "exactly one"),
        ({"models": [{"ref": "bad ref!"}]}, "is not name"),
        ({"models": [{"path": "m.txt"}]}, "needs a 'name'"),
        ({"models": [{"ref": "a/1", "watch_alias": True}]}, "name@alias"),
        ({"models": [{"ref": "a@x"}, {"ref": "a/2"}]}, "same name"),
        ({"models": [{"ref": "a"}], "port": 99999}, "port"),
        ({"models": [{"ref": "a"}], "bogus": 1}, "bogus"),
        ({"models": [{"ref": "a", "batching": {"max_concurrent_batches": 2}}]}, "thread"),
    ],
)
def test_invalid_configs_name_the_field(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_unreadable_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("seconds", [0, -5])
def test_canary_check_interval_must_be_positive(seconds: float) -> None:
    with pytest.raises(ConfigError, match="canary_check_s: Input should be greater than 0"):
        parse_config({"endpoints": True, "canary_check_s": seconds})
    assert parse_config({"endpoints": True}).canary_check_s == 10.0
