"""What an endpoint is: a stable name, its variants, a unit key and a traffic strategy.

Declared in YAML and validated once, here, at the boundary. Every error is a
:class:`~prodml.errors.ConfigError` whose lines name the field (``strategy.weights``,
``variants.1.model``) and say what was expected::

    name: churn
    unit_key: {source: header, name: x-user-id}
    variants:
      - {name: control, model: churn@champion}
      - {name: treatment, model: churn/3}
    strategy: {kind: fixed, weights: {control: 50, treatment: 50}}

Strategies (``strategy.kind``): ``fixed`` (weights), ``canary`` (steps with guardrails),
``shadow`` (a primary answers; sampled requests are mirrored) and ``bandit`` (weights learnt from
rewards).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from prodml.errors import ConfigError
from prodml.registry import ModelRef

_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnitKey(_Strict):
    """Where a request's randomisation unit (user, session...) comes from.

    ``header`` names an HTTP header (case-insensitive), ``param`` a request parameter, ``field``
    a named input field of the request. Requests without the key are randomised per request.
    """

    source: Literal["header", "param", "field"]
    name: str = Field(min_length=1)

    def extract(
        self,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> str | None:
        """The unit key of one request, or None when the request does not carry it."""
        if self.source == "header":
            if not headers:
                return None
            value = headers.get(self.name)
            if value is None:
                wanted = self.name.lower()
                value = next((v for k, v in headers.items() if k.lower() == wanted), None)
        else:
            source = params if self.source == "param" else fields
            value = None if not source else source.get(self.name)
        if value is None or value == "":
            return None
        return str(value)


class Variant(_Strict):
    """One arm: a name used in reports and a registered model (``name/3`` or ``name@alias``)."""

    name: str = Field(pattern=_NAME_PATTERN)
    model: str

    @field_validator("model")
    @classmethod
    def _pinned(cls, value: str) -> str:
        ref = ModelRef.parse(value)
        if ref.version is None and ref.alias is None:
            raise ValueError(
                f"{value!r} names no version; pin one with 'name/3' or follow an alias "
                "with 'name@champion'"
            )
        return value

    @property
    def ref(self) -> ModelRef:
        return ModelRef.parse(self.model)


class FixedStrategy(_Strict):
    """Split by weights (any positive scale). ``keep_assignments``: see :mod:`.router`."""

    kind: Literal["fixed"]
    weights: dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]]
    keep_assignments: bool = False

    @field_validator("weights")
    @classmethod
    def _positive_total(cls, value: dict[str, float]) -> dict[str, float]:
        if not value or sum(value.values()) <= 0:
            raise ValueError("at least one weight must be above 0")
        return value


class ErrorRateGuardrail(_Strict):
    """The candidate's error rate may exceed the baseline's by at most ``max_increase``."""

    # Above 0: "no increase at all" could never be shown with finite traffic.
    max_increase: float = Field(default=0.01, gt=0, lt=1)


class LatencyGuardrail(_Strict):
    """The candidate's p99 latency must stay under ``p99_ms``.

    Judged as "at most 1% of requests are slower than p99_ms", an exact sequential test.
    """

    p99_ms: float = Field(gt=0, allow_inf_nan=False)


class QualityGuardrail(_Strict):
    """A metric from feedback may be worse than the baseline's by at most ``max_decrease``."""

    metric: str = Field(default="reward", min_length=1)
    kind: Literal["proportion", "mean"] = "proportion"
    # Tolerance 0 could never pass for an equally good candidate (non-inferiority needs room).
    max_decrease: float = Field(default=0.02, ge=0, allow_inf_nan=False)
    relative: bool = False
    higher_is_better: bool = True


class Guardrails(_Strict):
    error_rate: ErrorRateGuardrail | None = ErrorRateGuardrail()
    latency: LatencyGuardrail | None = None
    quality: QualityGuardrail | None = None
    alpha: float = Field(default=0.05, gt=0, lt=1)
    min_requests: int = Field(default=30, ge=2)


class CanaryStrategy(_Strict):
    """Move traffic to ``candidate`` in steps (percent), holding each until guardrails pass."""

    kind: Literal["canary"]
    baseline: str
    candidate: str
    steps: list[Annotated[float, Field(gt=0, le=100)]] = Field(default=[5, 25, 50, 100])
    hold_s: float = Field(default=300.0, ge=0, allow_inf_nan=False)
    # A step without a passing verdict by then is rolled back (silence never promotes).
    deadline_s: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    promote_alias: str = "champion"
    guardrails: Guardrails = Guardrails()

    @field_validator("steps")
    @classmethod
    def _increasing(cls, value: list[float]) -> list[float]:
        if not value:
            raise ValueError("give at least one step, e.g. [5, 25, 50, 100]")
        if any(b <= a for a, b in itertools.pairwise(value)):
            raise ValueError(f"steps must strictly increase, got {value}")
        return value

    @model_validator(mode="after")
    def _deadline_after_hold(self) -> CanaryStrategy:
        if self.deadline_s is not None and self.deadline_s < self.hold_s:
            raise ValueError(f"deadline_s ({self.deadline_s}) must be >= hold_s ({self.hold_s})")
        if self.baseline == self.candidate:
            raise ValueError("baseline and candidate must be different variants")
        return self


class ShadowStrategy(_Strict):
    """``primary`` answers every request; a ``sample`` share is mirrored to ``shadows``."""

    kind: Literal["shadow"]
    primary: str
    shadows: list[str] = Field(min_length=1)
    sample: float = Field(default=1.0, gt=0, le=1)


class BanditStrategy(_Strict):
    """Weights learnt from rewards; every arm keeps at least ``floor`` of the traffic."""

    kind: Literal["bandit"]
    policy: Literal["thompson", "ucb1", "epsilon_greedy"] = "thompson"
    reward: Literal["binary", "continuous"] = "binary"
    floor: float = Field(default=0.01, ge=0, lt=1)
    epsilon: float = Field(default=0.1, ge=0, le=1)
    # Workers recompute weights from the shared state at most this often.
    update_interval_s: float = Field(default=60.0, gt=0, allow_inf_nan=False)


Strategy = Annotated[
    FixedStrategy | CanaryStrategy | ShadowStrategy | BanditStrategy, Field(discriminator="kind")
]


class Analysis(_Strict):
    """How ``experiments report`` reads the feedback value (the primary metric)."""

    control: str | None = None
    metric_kind: Literal["proportion", "mean"] = "proportion"
    higher_is_better: bool = True


class EndpointSpec(_Strict):
    """One endpoint, as declared."""

    name: str = Field(pattern=_NAME_PATTERN)
    description: str = ""
    unit_key: UnitKey | None = None
    # Hash salt; defaults to the name. Changing it re-randomises every unit.
    salt: str | None = Field(default=None, min_length=1)
    variants: list[Variant] = Field(min_length=1)
    strategy: Strategy
    analysis: Analysis = Analysis()

    @model_validator(mode="after")
    def _references(self) -> EndpointSpec:
        names = [v.name for v in self.variants]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"variants: duplicate names {dupes}")
        known = set(names)
        for field, refs in _referenced(self.strategy):
            unknown = [r for r in refs if r not in known]
            if unknown:
                raise ValueError(
                    f"strategy.{field}: unknown variant(s) {unknown}; the variants are {names}"
                )
        if self.analysis.control is not None and self.analysis.control not in known:
            raise ValueError(f"analysis.control: unknown variant {self.analysis.control!r}")
        if isinstance(self.strategy, BanditStrategy):
            if len(names) < 2:
                raise ValueError("strategy: a bandit needs at least two variants")
            if self.strategy.floor * len(names) >= 1:
                raise ValueError(
                    f"strategy.floor: {self.strategy.floor} x {len(names)} arms leaves nothing "
                    f"to learn; use a floor below {1 / len(names):.3g}"
                )
        return self

    @property
    def hash_salt(self) -> str:
        return self.salt or self.name

    @property
    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise ConfigError(f"endpoint {self.name!r} has no variant {name!r}")

    @property
    def control(self) -> str:
        """The variant reports compare against."""
        if self.analysis.control is not None:
            return self.analysis.control
        strategy = self.strategy
        if isinstance(strategy, CanaryStrategy):
            return strategy.baseline
        if isinstance(strategy, ShadowStrategy):
            return strategy.primary
        return self.variants[0].name

    def initial_weights(self) -> dict[str, float]:
        """Traffic shares (summing to 1) the strategy starts with, for every variant."""
        shares = dict.fromkeys(self.variant_names, 0.0)
        strategy = self.strategy
        if isinstance(strategy, FixedStrategy):
            total = sum(strategy.weights.values())
            shares.update({k: v / total for k, v in strategy.weights.items()})
        elif isinstance(strategy, CanaryStrategy):
            shares.update(canary_weights(strategy, 0))
        elif isinstance(strategy, ShadowStrategy):
            shares[strategy.primary] = 1.0
        else:
            shares = dict.fromkeys(shares, 1.0 / len(shares))
        return shares

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=False)

    @classmethod
    def parse(cls, data: object, *, source: str = "endpoint") -> EndpointSpec:
        """Validate a mapping (from YAML or JSON) into a spec.

        Raises:
            ConfigError: one line per invalid field, each naming it.
        """
        if not isinstance(data, Mapping):
            raise ConfigError(f"{source}: an endpoint is a mapping, got {type(data).__name__}")
        try:
            return cls.model_validate(dict(data))
        except ValidationError as exc:
            raise ConfigError(_describe(exc, source, data.get("name"))) from None


def canary_weights(strategy: CanaryStrategy, step: int) -> dict[str, float]:
    """Baseline and candidate shares at canary step ``step`` (an index into ``steps``)."""
    share = strategy.steps[step] / 100.0
    return {strategy.baseline: 1.0 - share, strategy.candidate: share}


def _referenced(
    strategy: FixedStrategy | CanaryStrategy | ShadowStrategy | BanditStrategy,
) -> list[tuple[str, list[str]]]:
    if isinstance(strategy, FixedStrategy):
        return [("weights", list(strategy.weights))]
    if isinstance(strategy, CanaryStrategy):
        return [("baseline", [strategy.baseline]), ("candidate", [strategy.candidate])]
    if isinstance(strategy, ShadowStrategy):
        return [("primary", [strategy.primary]), ("shadows", strategy.shadows)]
    return []


def _describe(exc: ValidationError, source: str, name: object) -> str:
    label = f"{source} {name!r}" if isinstance(name, str) else source
    lines = []
    for error in exc.errors():
        loc = [str(p) for p in error["loc"]]
        # The discriminated union puts the kind in the path (strategy.canary.steps); drop it.
        if len(loc) > 1 and loc[0] == "strategy" and loc[1] in _KINDS:
            del loc[1]
        field = ".".join(loc) or "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field; check its spelling"
        lines.append(f"  {field}: {message}")
    return f"{label} is invalid:\n" + "\n".join(lines)


_KINDS = {"fixed", "canary", "shadow", "bandit"}


def load_endpoints(path: Path) -> list[EndpointSpec]:
    """Every endpoint in a YAML file (one document per endpoint, or a list).

    Raises:
        FileNotFoundError: the file does not exist.
        ConfigError: the YAML or an endpoint in it is invalid.
    """
    if not path.exists():
        raise FileNotFoundError(f"endpoint file {path} does not exist")
    try:
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    items: list[object] = []
    for document in documents:
        items.extend(document if isinstance(document, list) else [document])
    if not items:
        raise ConfigError(f"{path}: no endpoint found")
    specs = [EndpointSpec.parse(item, source=str(path)) for item in items]
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{path}: endpoint(s) {dupes} declared more than once")
    return specs
