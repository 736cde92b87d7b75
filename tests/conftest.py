"""Shared fixtures: an isolated PRODML_HOME per test, and real PostgreSQL / Redis when present.

Tests that need PostgreSQL or Redis skip with the reason when the server cannot be reached,
except when ``PRODML_REQUIRE_SERVICES=1`` (set by CI), where an unreachable server fails them.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

POSTGRES_URL = os.environ.get(
    "PRODML_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("PRODML_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url.replace("+psycopg", ""))
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), timeout=1
        ):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> None:
    """Skip (or, in CI, fail) when the server behind ``url`` cannot be reached."""
    if _reachable(url, default_port):
        return
    reason = f"{name} is not reachable at {url}; start it or set PRODML_TEST_{name.upper()}_URL"
    if os.environ.get("PRODML_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (PRODML_REQUIRE_SERVICES=1: CI must not skip it)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def prodml_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own PRODML_HOME, so nothing touches the user's real state."""
    home = tmp_path / "prodml-home"
    monkeypatch.setenv("PRODML_HOME", str(home))
    for var in ("PRODML_METADATA_URL", "PRODML_ARTIFACTS_URL"):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    require_service("postgres", POSTGRES_URL, 5432)
    import sqlalchemy as sa

    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"prodml_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    require_service("redis", REDIS_URL, 6379)
    return REDIS_URL


CliResult = tuple[int, str, str]
CliRunner = Callable[..., CliResult]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CliRunner:
    """Run the ``prodml`` command in-process, as a user would: ``(exit code, stdout, stderr)``."""
    from prodml.cli.main import run

    def invoke(*args: str) -> CliResult:
        try:
            run(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI (``PRODML_REQUIRE_SERVICES=1``) a skipped test fails the run: nothing may hide."""
    if os.environ.get("PRODML_REQUIRE_SERVICES") == "1" and _skipped:
        print(f"\n{len(_skipped)} test(s) skipped, which CI does not allow:")
        for nodeid in _skipped:
            print(f"  {nodeid}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
