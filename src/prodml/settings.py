"""Where prodml keeps its state, read from the environment (``PRODML_*``) with laptop defaults.

Everything lives under ``PRODML_HOME`` (default ``~/.prodml``) unless a URL says otherwise:

=========================  ==========================================  ===========================
variable                   default                                     production example
=========================  ==========================================  ===========================
``PRODML_HOME``            ``~/.prodml``
``PRODML_METADATA_URL``    ``sqlite:///$PRODML_HOME/prodml.db``        ``postgresql://u@db/prodml``
``PRODML_ARTIFACTS_URL``   ``$PRODML_HOME/artifacts``                  ``s3://bucket/prodml``
``PRODML_USER``            the login name                              ``ci-bot``
=========================  ==========================================  ===========================
"""

from __future__ import annotations

import getpass
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import Engine


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


class Settings(BaseSettings):
    """prodml's locations and identity."""

    model_config = SettingsConfigDict(env_prefix="PRODML_", extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".prodml")
    metadata_url: str | None = None
    artifacts_url: str | None = None
    user: str = Field(default_factory=_login)

    @classmethod
    def at(cls, home: Path | None = None) -> Settings:
        """The environment's settings, with ``home`` in place of ``PRODML_HOME`` when given."""
        return cls() if home is None else cls(home=home)

    def metadata_engine(self, url: str | None = None) -> Engine:
        """The metadata database (``url``, else the configured one), migrated and ready."""
        from prodml._internal.db import connect

        return connect(url or self.resolved_metadata_url())

    def resolved_metadata_url(self) -> str:
        return self.metadata_url or f"sqlite:///{self.home.expanduser() / 'prodml.db'}"

    def resolved_artifacts_url(self) -> str:
        return self.artifacts_url or str(self.home.expanduser() / "artifacts")
