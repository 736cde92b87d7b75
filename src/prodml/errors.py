"""Every error prodml raises, in one tree.

Each message says what failed, what was seen, and what to do. Errors carry only a message, so
they pickle (Ray ships them between processes), and nothing here imports a web framework: the
serving layer maps them to status codes in one table.

Each error also subclasses the matching builtin, so ``except ValueError`` keeps working::

    ProdmlError
    ├── ConfigError (ValueError)              bad configuration, flag or YAML field
    ├── NotFoundError (LookupError)          a name that does not exist
    │   ├── ModelNotFoundError
    │   ├── VersionNotFoundError
    │   └── AliasNotFoundError
    ├── ConflictError                        the request contradicts stored state
    │   ├── AliasInUseError                  deleting a version that an alias points at
    │   └── CanaryMovedError                 another controller moved the canary first
    ├── InvalidInputError (ValueError)       prediction input does not match the signature
    ├── ArtifactError
    │   └── ArtifactIntegrityError           an artifact's bytes do not match its sha256
    ├── UnsafeArtifactError                  pickle without trusted=True
    ├── MissingExtraError (ImportError)      an optional dependency is not installed
    ├── UnsupportedModelError (TypeError)    no runtime knows this model object or format
    ├── ModelLoadError                       a runtime could not load an artifact
    ├── ModelExecutionError                  the model raised while predicting
    ├── NotReadyError                        a model or server is not ready (yet)
    ├── OverloadedError                      over a concurrency cap or shedding load
    └── DeadlineExceededError (TimeoutError) a request ran past its deadline
"""

from __future__ import annotations


class ProdmlError(Exception):
    """Base class of every error prodml raises on purpose."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(ProdmlError, ValueError):
    """A configuration value, flag or file field is invalid."""


class NotFoundError(ProdmlError, LookupError):
    """A named thing does not exist."""

    def __str__(self) -> str:
        # KeyError-style quoting from LookupError would wrap the message in quotes; keep it plain.
        return self.message


class ModelNotFoundError(NotFoundError):
    """No registered model has this name."""


class VersionNotFoundError(NotFoundError):
    """The model exists but not this version."""


class AliasNotFoundError(NotFoundError):
    """The model exists but has no such alias."""


class ConflictError(ProdmlError):
    """The request contradicts stored state (nothing was changed)."""


class AliasInUseError(ConflictError):
    """A version that an alias points at cannot be deleted without force."""


class CanaryMovedError(ConflictError):
    """Another controller moved the canary after this look read it; nothing was recorded."""


class InvalidInputError(ProdmlError, ValueError):
    """Prediction input does not match the model's signature or the protocol's rules."""


class ArtifactError(ProdmlError):
    """An artifact could not be stored or fetched."""


class ArtifactIntegrityError(ArtifactError):
    """An artifact's content does not match the sha256 recorded at registration."""


class UnsafeArtifactError(ProdmlError):
    """Loading would execute untrusted code (pickle) and the source was not marked trusted."""


class MissingExtraError(ProdmlError, ImportError):
    """An optional dependency is missing; the message names the ``pip install`` extra."""


class UnsupportedModelError(ProdmlError, TypeError):
    """No runtime knows how to save or load this model object or format."""


class ModelLoadError(ProdmlError):
    """A runtime failed to turn an artifact into a model."""


class ModelExecutionError(ProdmlError):
    """The model raised while predicting on input that passed validation."""


class NotReadyError(ProdmlError):
    """A model or the server is not ready to serve (still loading, or stopping)."""


class OverloadedError(ProdmlError):
    """The server is over its concurrency cap or shedding load; retry later."""

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message, retry_after_s)
        self.retry_after_s = retry_after_s


class DeadlineExceededError(ProdmlError, TimeoutError):
    """A request ran past its deadline."""


def missing_extra(module: str, extra: str) -> MissingExtraError:
    """The error to raise when an optional dependency cannot be imported."""
    return MissingExtraError(
        f"{module} is not installed; install it with: pip install 'prodml[{extra}]'"
    )
