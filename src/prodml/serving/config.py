"""Configuration of ``prodml serve``: a validated pydantic model, loadable from YAML.

Example YAML::

    host: 0.0.0.0
    port: 8080
    grpc_port: 8081
    workers: 2
    request_timeout_s: 10
    models:
      - ref: fraud@champion          # registry model by alias (or fraud/3, or fraud)
        watch_alias: true            # swap with zero downtime when the alias moves
        batching: {max_batch_size: 128, latency_target_ms: 50}
      - name: lgbm                   # a LightGBM text model file, no registry needed
        path: model.txt
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from prodml.errors import ConfigError
from prodml.serving.batching import BatchSettings

_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(@[A-Za-z0-9_.-]+|/[0-9]+)?$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BatchingConfig(_Strict):
    """Per-model batching (see ``prodml.serving.batching.BatchSettings``); times in ms."""

    max_batch_size: int = Field(default=64, ge=1, description="most rows in one batch; 1 = off")
    max_batch_delay_ms: float = Field(default=0.0, ge=0, description="longest wait to fill")
    mode: Literal["fixed", "adaptive"] = "adaptive"
    latency_target_ms: float | None = Field(default=None, gt=0, description="adaptive: shed")
    max_queue_rows: int = Field(default=4096, ge=1)
    executor: Literal["inline", "thread"] = "inline"
    max_concurrent_batches: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _inline_is_serial(self) -> BatchingConfig:
        if self.executor == "inline" and self.max_concurrent_batches != 1:
            raise ValueError(
                "executor 'inline' runs one batch at a time; set executor: thread to allow "
                f"max_concurrent_batches={self.max_concurrent_batches}"
            )
        return self

    def settings(self) -> BatchSettings:
        return BatchSettings(
            max_batch_size=self.max_batch_size,
            max_batch_delay_s=self.max_batch_delay_ms / 1000,
            mode=self.mode,
            latency_target_s=None
            if self.latency_target_ms is None
            else self.latency_target_ms / 1000,
            max_queue_rows=self.max_queue_rows,
            executor=self.executor,
            max_concurrent_batches=self.max_concurrent_batches,
        )


class ModelConfig(_Strict):
    """One served model: a registry reference or a LightGBM model file."""

    ref: str | None = Field(default=None, description="registry: name@alias, name/3 or name")
    path: Path | None = Field(default=None, description="a LightGBM text model file (no registry)")
    name: str | None = Field(default=None, description="served name (default: the ref's)")
    batching: BatchingConfig = BatchingConfig()
    timeout_s: float | None = Field(default=None, gt=0, description="overrides request_timeout_s")
    warm_up: bool = True
    watch_alias: bool = Field(default=False, description="reload when the ref's alias moves")
    compiled: bool = Field(
        default=False,
        description="LightGBM only: run the forest as native code compiled by lleaves (same "
        "predictions, ~5x less CPU per row; pip install 'prodml[lleaves]')",
    )
    feature_service: str | None = Field(
        default=None, description="requests carry entity keys; features are looked up online"
    )
    feature_overrides: bool = Field(
        default=False, description="a request field named like a feature replaces its value"
    )
    missing_entities: Literal["null", "reject"] = Field(
        default="null", description="null: NaN features and a counter; reject: 400"
    )
    drop_stale: bool = Field(default=False, description="null features older than their TTL")

    @model_validator(mode="after")
    def _one_source(self) -> ModelConfig:
        if (self.ref is None) == (self.path is None):
            raise ValueError("give exactly one of 'ref' (registry) or 'path' (model file)")
        if self.ref is not None and not _REF.match(self.ref):
            raise ValueError(f"ref {self.ref!r} is not name, name@alias or name/<version>")
        if self.path is not None and self.name is None:
            raise ValueError("a model served from 'path' needs a 'name'")
        if self.watch_alias and (self.ref is None or "@" not in self.ref):
            raise ValueError("watch_alias needs a ref of the form name@alias")
        return self

    @property
    def served_name(self) -> str:
        if self.name is not None:
            return self.name
        ref = self.ref or ""
        return re.split(r"[@/]", ref, maxsplit=1)[0]


_SHADOW_BATCH_DELAY_MS = 20.0


class EndpointModelsConfig(_Strict):
    """How the models behind endpoint variants are served: an endpoint names registered
    versions, and these settings apply to every one of them."""

    batching: BatchingConfig = BatchingConfig()
    timeout_s: float | None = Field(default=None, gt=0, description="overrides request_timeout_s")
    compiled: bool = Field(default=False, description="LightGBM variants: see ModelConfig")

    def for_variant(self, ref: str, name: str, *, shadow: bool = False) -> ModelConfig:
        """The model config of one variant.

        A shadow answers nobody, so its latency does not matter and its cost must stay off the
        primary's path: its requests wait up to ``_SHADOW_BATCH_DELAY_MS`` to be predicted
        together (one prediction per window instead of one per request), in a thread (the
        model library releases the GIL while it computes, so the event loop that answers the
        primary's requests is not held).
        """
        batching = self.batching
        if shadow:
            batching = batching.model_copy(
                update={
                    "mode": "fixed",
                    "max_batch_delay_ms": max(batching.max_batch_delay_ms, _SHADOW_BATCH_DELAY_MS),
                    "executor": "thread",
                }
            )
        return ModelConfig(
            ref=ref,
            name=name,
            batching=batching,
            timeout_s=self.timeout_s,
            compiled=self.compiled,
        )


class FeatureStoreConfig(_Strict):
    """The feature store that ``feature_service`` models read (see ``prodml.features``)."""

    path: Path | None = Field(default=None, description="store folder (default in PRODML_HOME)")
    metadata_url: str | None = Field(default=None, description="default: PRODML_METADATA_URL")
    online: dict[str, Any] | None = Field(default=None, description="{kind: sqlite|redis, ...}")
    definitions: Path | None = Field(
        default=None, description="Python file with the definitions (on-demand functions)"
    )


class PredictionLogConfig(_Strict):
    """Where and how every served prediction is logged (``ParquetPredictionLog``)."""

    path: str = Field(description="a directory or an fsspec URL")
    flush_interval_s: float = Field(default=1.0, gt=0, description="the crash window")
    flush_rows: int = Field(default=10_000, ge=1)
    max_buffer_rows: int = Field(default=200_000, ge=1)
    sample_rate: float = Field(default=1.0, ge=0, le=1)
    exclude_columns: tuple[str, ...] = ()
    hash_columns: tuple[str, ...] = ()
    hash_salt: str = ""
    compression: Literal["none", "snappy", "lz4", "zstd"] = Field(
        default="none",
        description="the Parquet codec of new segments; `prodml monitor maintain` rewrites "
        "finished days with zstd",
    )


class ServerConfig(_Strict):
    """Everything ``run_server`` needs."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    grpc_port: int | None = Field(default=8081, ge=0, le=65535, description="None turns gRPC off")
    workers: int = Field(default=1, ge=0, description="worker processes; 0 = one per CPU")
    models: tuple[ModelConfig, ...] = ()
    max_concurrency: int = Field(default=1024, ge=1, description="in-flight requests per worker")
    request_timeout_s: float = Field(default=30.0, gt=0)
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    graceful_shutdown_s: float = Field(default=30.0, ge=0)
    alias_poll_s: float = Field(default=10.0, gt=0, description="watched-alias check interval")
    http_server: Literal["uvicorn", "fast"] = Field(
        default="uvicorn",
        description="uvicorn, or fast: prodml's lean HTTP/1.1 server (~1.5x the requests/s)",
    )
    omp_threads: int | None = Field(default=1, ge=1, description="OMP_NUM_THREADS for workers")
    metrics: bool = True
    server_name: str = "prodml"
    feature_store: FeatureStoreConfig | None = None
    prediction_log: PredictionLogConfig | None = None
    endpoints: bool | tuple[str, ...] = Field(
        default=False, description="serve every endpoint of the EndpointStore (true) or these"
    )
    endpoint_poll_s: float = Field(default=2.0, gt=0, description="endpoint change check interval")
    endpoint_models: EndpointModelsConfig = EndpointModelsConfig()
    canary_check_s: float = Field(
        default=10.0, gt=0, allow_inf_nan=False, description="how often served canaries are judged"
    )
    shadow_queue_size: int = Field(default=256, ge=1, description="mirrored requests waiting")
    max_pending_served: int = Field(
        default=200_000,
        ge=1,
        description="served records (one per answered row) waiting to be written; beyond: dropped",
    )

    @model_validator(mode="after")
    def _unique_names(self) -> ServerConfig:
        if not self.models and not self.endpoints:
            raise ValueError("serve at least one model (models) or endpoints")
        needs_store = [m.served_name for m in self.models if m.feature_service is not None]
        if needs_store and self.feature_store is None:
            raise ValueError(
                f"model(s) {', '.join(needs_store)} name a feature_service; add a feature_store "
                "section (path, online) so the server can look features up"
            )
        names = [m.served_name for m in self.models]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"two models are served under the same name: {', '.join(dupes)}")
        if self.grpc_port is not None and self.grpc_port == self.port and self.port != 0:
            raise ValueError("grpc_port must differ from port")
        return self


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a serving YAML file (not yet validated); an empty file is ``{}``."""
    import yaml

    try:
        loaded = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read serving config {str(path)!r}: {exc}") from exc
    if loaded is not None and not isinstance(loaded, dict):
        raise ConfigError(f"serving config {str(path)!r} must be a YAML mapping")
    return loaded or {}


def load_config(path: str | Path | None = None, **overrides: Any) -> ServerConfig:
    """Read a YAML file (optional) and apply overrides (CLI flags); raise ConfigError if invalid."""
    data = read_config_file(path) if path is not None else {}
    data.update({k: v for k, v in overrides.items() if v is not None})
    return parse_config(data)


def parse_config(data: dict[str, Any]) -> ServerConfig:
    """Validate a mapping into a ServerConfig, turning pydantic's errors into one ConfigError."""
    try:
        return ServerConfig.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ConfigError("invalid serving config:\n" + "\n".join(lines)) from None
