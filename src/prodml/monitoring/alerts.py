"""Alert rules evaluated over a series of window results.

A rule fires when a metric compares true against its threshold in ``consecutive`` windows in
a row, and again on every later window where it still holds, except during the
``cooldown_windows`` windows after each firing. Window metrics are flat ``name -> number`` maps
(``run_monitor`` produces them: ``drift.share``, ``drift.dataset``, ``drift.<column>.score``,
``quality.issues``, ``performance.accuracy``, ``estimated.accuracy``, ...). A metric missing
from a window breaks the streak.

>>> rule = AlertRule("drift", "drift.share", 0.5, ">=", consecutive=2)
>>> series = [{"drift.share": s} for s in (0.6, 0.2, 0.6, 0.7, 0.9)]
>>> [a.window_index for a in evaluate_rules([rule], series)]
[3, 4]
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from prodml.errors import ConfigError

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


@dataclass(frozen=True)
class AlertRule:
    """Fire when ``metric <comparison> threshold`` holds ``consecutive`` windows in a row."""

    name: str
    metric: str
    threshold: float
    comparison: str = ">="
    consecutive: int = 1
    cooldown_windows: int = 0
    severity: str = "warning"

    def __post_init__(self) -> None:
        if self.comparison not in COMPARISONS:
            raise ConfigError(
                f"rule {self.name!r}: comparison {self.comparison!r} is not one of "
                f"{', '.join(COMPARISONS)}"
            )
        if self.consecutive < 1 or self.cooldown_windows < 0:
            raise ConfigError(
                f"rule {self.name!r}: need consecutive >= 1 and cooldown_windows >= 0; got "
                f"{self.consecutive}, {self.cooldown_windows}"
            )

    @classmethod
    def parse(cls, text: str, **options: Any) -> AlertRule:
        """``"drift.share>=0.5"`` -> a rule named after the metric."""
        for op in sorted(COMPARISONS, key=len, reverse=True):
            metric, sep, value = text.partition(op)
            if sep and metric.strip():
                try:
                    threshold = float(value)
                except ValueError:
                    break
                name = options.pop("name", metric.strip())
                return cls(name, metric.strip(), threshold, op, **options)
        raise ConfigError(f"alert rule {text!r} is not METRIC<op>NUMBER, e.g. drift.share>=0.5")

    def holds(self, value: float) -> bool:
        return not math.isnan(value) and COMPARISONS[self.comparison](value, self.threshold)


@dataclass(frozen=True)
class Alert:
    """A rule that fired on one window."""

    rule: str
    metric: str
    value: float
    threshold: float
    comparison: str
    severity: str
    window_index: int
    window_start: str = ""
    window_end: str = ""
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def message(self) -> str:
        where = f" ({', '.join(f'{k}={v}' for k, v in self.labels.items())})" if self.labels else ""
        return (
            f"{self.rule}: {self.metric} = {self.value:.4g} {self.comparison} {self.threshold:g} "
            f"in window {self.window_index} [{self.window_start}, {self.window_end}){where}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message}


@dataclass
class _State:
    streak: int = 0
    quiet_until: int = -1


class AlertEvaluator:
    """Rules with memory (streaks, cool-downs), fed one window at a time.

    Windows are identified by ``window.start`` when present so that a scheduled monitor can
    feed overlapping runs: a window already seen is skipped.
    """

    def __init__(self, rules: Sequence[AlertRule], labels: Mapping[str, str] | None = None):
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise ConfigError(f"alert rule names must be unique; got {names}")
        self.rules = list(rules)
        self.labels = dict(labels or {})
        self._state = {r.name: _State() for r in rules}
        self._seen: set[str] = set()
        self._count = 0

    def observe(
        self, metrics: Mapping[str, float], window: Mapping[str, Any] | None = None
    ) -> list[Alert]:
        window = window or {}
        key = str(window.get("start", ""))
        if key and key in self._seen:
            return []
        if key:
            self._seen.add(key)
        index = int(window.get("index", self._count))
        position = self._count
        self._count += 1
        fired = []
        for rule in self.rules:
            state = self._state[rule.name]
            value = metrics.get(rule.metric)
            if value is None or not rule.holds(float(value)):
                state.streak = 0
                continue
            state.streak += 1
            if state.streak >= rule.consecutive and position > state.quiet_until:
                state.quiet_until = position + rule.cooldown_windows
                fired.append(
                    Alert(
                        rule=rule.name,
                        metric=rule.metric,
                        value=float(value),
                        threshold=rule.threshold,
                        comparison=rule.comparison,
                        severity=rule.severity,
                        window_index=index,
                        window_start=str(window.get("start", "")),
                        window_end=str(window.get("end", "")),
                        labels=self.labels,
                    )
                )
        return fired


def evaluate_rules(
    rules: Sequence[AlertRule],
    series: Sequence[Mapping[str, float]],
    windows: Sequence[Mapping[str, Any]] | None = None,
    labels: Mapping[str, str] | None = None,
) -> list[Alert]:
    """Every alert ``rules`` fire over ``series`` (one metrics map per window, oldest first)."""
    evaluator = AlertEvaluator(rules, labels)
    out: list[Alert] = []
    for i, metrics in enumerate(series):
        out += evaluator.observe(metrics, windows[i] if windows is not None else {"index": i})
    return out
