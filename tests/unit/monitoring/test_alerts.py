"""Alert rules over window series, and the log, webhook and Prometheus sinks."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from prodml.errors import ConfigError
from prodml.monitoring.alerts import Alert, AlertEvaluator, AlertRule, evaluate_rules
from prodml.monitoring.sinks import AlertSink, LogSink, PrometheusSink, WebhookSink


def fired(rule: AlertRule, values: list[float]) -> list[int]:
    return [a.window_index for a in evaluate_rules([rule], [{"m": v} for v in values])]


def test_threshold_and_comparison() -> None:
    assert fired(AlertRule("r", "m", 0.5, ">="), [0.4, 0.5, 0.6]) == [1, 2]
    assert fired(AlertRule("r", "m", 0.5, "<"), [0.4, 0.5, 0.6]) == [0]


def test_consecutive_windows_are_needed_and_a_gap_resets_the_streak() -> None:
    rule = AlertRule("r", "m", 1.0, ">", consecutive=3)
    assert fired(rule, [2, 2, 0, 2, 2, 2, 2]) == [5, 6]


def test_cooldown_silences_the_rule_for_that_many_windows() -> None:
    rule = AlertRule("r", "m", 1.0, ">", cooldown_windows=2)
    assert fired(rule, [2, 2, 2, 2, 2, 2]) == [0, 3]


def test_missing_metric_or_nan_never_fires() -> None:
    rule = AlertRule("r", "m", 0.0, ">=")
    assert evaluate_rules([rule], [{}, {"m": float("nan")}, {"other": 1.0}]) == []


def test_evaluator_skips_windows_it_has_seen() -> None:
    evaluator = AlertEvaluator([AlertRule("r", "m", 1.0)], labels={"model": "churn/1"})
    window = {"index": 0, "start": "2026-01-01 00:00", "end": "2026-01-01 01:00"}
    first = evaluator.observe({"m": 2.0}, window)
    assert len(first) == 1 and first[0].labels == {"model": "churn/1"}
    assert "model=churn/1" in first[0].message
    assert evaluator.observe({"m": 2.0}, window) == []


def test_parse_and_validation() -> None:
    rule = AlertRule.parse("drift.share>=0.5", consecutive=2)
    assert (rule.metric, rule.comparison, rule.threshold, rule.consecutive) == (
        "drift.share",
        ">=",
        0.5,
        2,
    )
    assert AlertRule.parse("performance.accuracy<0.8").comparison == "<"
    with pytest.raises(ConfigError, match="METRIC<op>NUMBER"):
        AlertRule.parse("drift.share is high")
    with pytest.raises(ConfigError, match="comparison"):
        AlertRule("r", "m", 1.0, "=>")
    with pytest.raises(ConfigError, match="unique"):
        AlertEvaluator([AlertRule("r", "m", 1.0), AlertRule("r", "n", 1.0)])


ALERT = Alert("drift", "drift.share", 0.75, 0.5, ">=", "warning", 3, "a", "b", {"model": "m/1"})


def test_log_sink_writes_one_warning_per_alert(caplog: pytest.LogCaptureFixture) -> None:
    sink: AlertSink = LogSink()
    with caplog.at_level(logging.WARNING, logger="prodml.monitoring.alerts"):
        sink.send([ALERT])
    assert len(caplog.records) == 1 and "drift.share = 0.75 >= 0.5" in caplog.text


class FlakyHandler(BaseHTTPRequestHandler):
    failures_left = 2
    bodies: list[dict[str, Any]] = []  # noqa: RUF012 (shared by the server's handlers)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(503)
        else:
            self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[str]:
    FlakyHandler.failures_left = 2
    FlakyHandler.bodies = []
    httpd = HTTPServer(("127.0.0.1", 0), FlakyHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_webhook_retries_with_exponential_backoff_until_delivered(server: str) -> None:
    sleeps: list[float] = []
    sink = WebhookSink(server, backoff_s=0.1, sleep=sleeps.append)
    sink.send([ALERT])
    assert sink.failures == 0 and sink.attempts == 3
    assert sleeps == [0.1, 0.2]
    body = FlakyHandler.bodies[-1]
    assert body["source"] == "prodml" and body["version"] == 1
    assert body["alerts"][0]["metric"] == "drift.share" and body["alerts"][0]["value"] == 0.75


def test_webhook_gives_up_after_max_attempts_without_raising(server: str) -> None:
    FlakyHandler.failures_left = 10
    sleeps: list[float] = []
    sink = WebhookSink(
        server, max_attempts=3, backoff_s=1.0, max_backoff_s=1.5, sleep=sleeps.append
    )
    sink.send([ALERT])
    assert sink.failures == 1 and len(FlakyHandler.bodies) == 3 and sleeps == [1.0, 1.5]


def test_webhook_does_not_retry_a_client_error() -> None:
    import httpx

    calls = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400)

    sink = WebhookSink("http://hook.invalid/", transport=httpx.MockTransport(answer))
    sink.send([ALERT])
    assert len(calls) == 1 and sink.failures == 1


def test_prometheus_sink_sets_gauges_in_the_given_registry() -> None:
    registry = CollectorRegistry()
    sink = PrometheusSink(registry)
    sink.send([ALERT, ALERT])
    sink.publish({"drift.share": 0.25}, model="m/1", endpoint="e")
    value = registry.get_sample_value
    assert (
        value(
            "prodml_monitor_alert",
            {"rule": "drift", "metric": "drift.share", "severity": "warning"},
        )
        == 0.75
    )
    assert value("prodml_monitor_alerts_fired", {"rule": "drift"}) == 2
    assert (
        value("prodml_monitor_metric", {"metric": "drift.share", "model": "m/1", "endpoint": "e"})
        == 0.25
    )
    PrometheusSink(CollectorRegistry())  # a second registry does not collide
