"""Config of the optional stages, the row-id scheme and feedback parsing."""

from __future__ import annotations

from typing import get_args

import pytest

from prodml.errors import ConfigError, InvalidInputError
from prodml.monitoring.log import segments
from prodml.serving.config import PredictionLogConfig, parse_config
from prodml.serving.endpoints import parse_feedback
from prodml.serving.predictions import row_ids


def test_a_feature_service_needs_a_feature_store_and_endpoints_need_no_models() -> None:
    with pytest.raises(ConfigError, match="feature_store"):
        parse_config({"models": [{"ref": "m", "feature_service": "pricing"}]})
    assert parse_config({"endpoints": True}).models == ()
    with pytest.raises(ConfigError, match="endpoints"):
        parse_config({})
    cfg = parse_config({"models": [{"ref": "m"}], "prediction_log": {"path": "/tmp/log"}})
    assert cfg.prediction_log is not None and cfg.prediction_log.flush_interval_s == 1.0
    assert cfg.prediction_log.compression == "none"
    # The config's choices are the log's: the schema spells them for users, the log checks them.
    field = PredictionLogConfig.model_fields["compression"]
    assert get_args(field.annotation) == segments.COMPRESSIONS
    with pytest.raises(ConfigError, match="compression"):
        parse_config(
            {"models": [{"ref": "m"}], "prediction_log": {"path": "/tmp/log", "compression": "xz"}}
        )


def test_row_ids_are_the_request_id_for_one_row_and_indexed_for_several() -> None:
    assert row_ids("r", 1) == ["r"]
    assert row_ids("r", 3) == ["r/0", "r/1", "r/2"]


def test_feedback_accepts_one_or_many_and_refuses_what_it_cannot_record() -> None:
    one = parse_feedback({"request_id": "a", "reward": 1})
    many = parse_feedback([{"request_id": "a", "label": "cat"}, {"request_id": "b", "value": 0.5}])
    assert one[0].value == 1.0 and many[0].label == "cat" and many[1].value == 0.5
    bads: list[object] = [[], {"request_id": 3, "reward": 1}, {"request_id": "a", "score": 1}]
    for bad in bads:
        with pytest.raises(InvalidInputError):
            parse_feedback(bad)
