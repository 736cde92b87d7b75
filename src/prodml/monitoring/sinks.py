"""Where alerts go: the Python log, a webhook, Prometheus gauges.

Webhook body (``POST``, ``Content-Type: application/json``), one request per batch of alerts::

    {
      "source": "prodml",
      "version": 1,
      "alerts": [
        {
          "rule": "dataset drift", "metric": "drift.share", "value": 0.75,
          "threshold": 0.5, "comparison": ">=", "severity": "warning",
          "window_index": 3, "window_start": "2026-01-01 03:00:00+00:00",
          "window_end": "2026-01-01 04:00:00+00:00",
          "labels": {"model": "churn/3", "endpoint": "churn"},
          "message": "dataset drift: drift.share = 0.75 >= 0.5 in window 3 [...]"
        }
      ]
    }

Connection errors, timeouts, 429 and 5xx answers are retried with exponential backoff
(``backoff_s``, doubled each time, capped at ``max_backoff_s``) up to ``max_attempts`` tries;
other 4xx answers are not retried. A sink never raises: a delivery that failed for good is
logged and counted in ``failures``, and the monitor goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from prodml.monitoring.alerts import Alert

logger = logging.getLogger("prodml.monitoring.alerts")


@runtime_checkable
class AlertSink(Protocol):
    """Receives the alerts of one monitor run."""

    def send(self, alerts: Sequence[Alert]) -> None: ...


class LogSink:
    """Each alert as one ``logging`` record (WARNING, or ERROR for severity ``critical``)."""

    def __init__(self, log: logging.Logger | None = None) -> None:
        self.log = log or logger

    def send(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            level = logging.ERROR if alert.severity == "critical" else logging.WARNING
            self.log.log(level, "alert %s", alert.message, extra={"alert": alert.to_dict()})


def webhook_body(alerts: Sequence[Alert]) -> dict[str, Any]:
    return {"source": "prodml", "version": 1, "alerts": [a.to_dict() for a in alerts]}


class WebhookSink:
    """POST the alerts as JSON (see the module docstring), retried with bounded backoff."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 5.0,
        max_attempts: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: Any = None,
    ) -> None:
        self.url = url
        self.headers = dict(headers or {})
        self.timeout_s = timeout_s
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.sleep = sleep
        self.transport = transport
        self.failures = 0
        self.attempts = 0

    def send(self, alerts: Sequence[Alert]) -> None:
        if alerts and not self.deliver(webhook_body(alerts)):
            self.failures += 1

    def deliver(self, body: Mapping[str, Any]) -> bool:
        """POST ``body``; True once a 2xx answer came back."""
        import httpx

        delay = self.backoff_s
        with httpx.Client(timeout=self.timeout_s, transport=self.transport) as client:
            for attempt in range(1, self.max_attempts + 1):
                self.attempts += 1
                try:
                    response = client.post(self.url, json=body, headers=self.headers)
                except httpx.HTTPError as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                else:
                    if response.is_success:
                        return True
                    reason = f"HTTP {response.status_code}"
                    if response.status_code != 429 and response.status_code < 500:
                        break
                if attempt < self.max_attempts:
                    logger.info("webhook %s failed (%s); retry in %.2fs", self.url, reason, delay)
                    self.sleep(delay)
                    delay = min(delay * 2, self.max_backoff_s)
        logger.error("webhook %s: alerts not delivered (%s)", self.url, reason)
        return False


class PrometheusSink:
    """Gauges in the ``registry`` you pass (so tests and apps do not collide).

    - ``prodml_monitor_alert{rule, metric, severity}``: the metric value of the last firing;
    - ``prodml_monitor_alerts_fired{rule}``: how many times the rule fired (a gauge, since it
      is owned by this sink and a restart starts it again);
    - ``prodml_monitor_metric{metric, model, endpoint}``: the latest window's metric values
      (``publish``).
    """

    def __init__(self, registry: Any) -> None:
        from prometheus_client import Gauge

        self.alert = Gauge(
            "prodml_monitor_alert",
            "Metric value of the last firing of an alert rule.",
            ["rule", "metric", "severity"],
            registry=registry,
        )
        self.fired = Gauge(
            "prodml_monitor_alerts_fired",
            "Times an alert rule fired since the monitor started.",
            ["rule"],
            registry=registry,
        )
        self.metric = Gauge(
            "prodml_monitor_metric",
            "Latest monitoring window's value of a metric.",
            ["metric", "model", "endpoint"],
            registry=registry,
        )

    def send(self, alerts: Sequence[Alert]) -> None:
        for a in alerts:
            self.alert.labels(a.rule, a.metric, a.severity).set(a.value)
            self.fired.labels(a.rule).inc()

    def publish(self, metrics: Mapping[str, float], *, model: str = "", endpoint: str = "") -> None:
        for name, value in metrics.items():
            self.metric.labels(name, model, endpoint).set(value)
