"""Fixtures shared by every test level."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from werkzeug.test import Client

from simulator.app import create_app
from simulator.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = PROJECT_ROOT.parent / "shared"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``../shared`` beside the project; tests needing it skip cleanly without it."""
    if not SHARED_DIR.is_dir():
        pytest.skip("../shared (official contracts and samples) is not present")
    return SHARED_DIR


@pytest.fixture
def make_app(tmp_path, request):
    """Build a simulator app on a fresh data directory (small population); on a new
    PostgreSQL database instead under ``SIM_TEST_BACKEND=postgresql`` (docs/storage.md)."""
    made: list[str] = []
    server = None
    if os.environ.get("SIM_TEST_BACKEND", "sqlite") == "postgresql":
        server = request.getfixturevalue("postgres_server")

    def build(**overrides):
        if server is not None and "database_url" not in overrides:
            from postgres_server import new_database
            made.append(new_database(server))
            overrides["database_url"] = made[-1]
        settings = Settings(data_dir=tmp_path / f"data{len(list(tmp_path.iterdir()))}",
                            population=overrides.pop("population", 100), **overrides)
        return create_app(settings)
    yield build
    if made:
        from postgres_server import drop_database
        for url in made:
            drop_database(server, url)


@pytest.fixture
def app(make_app):
    """A simulator at 2024-01-15 (current response format, legacy fault format)."""
    from simulator.settings import parse_datetime
    return make_app(date=parse_datetime("2024-01-15T10:00:00Z"), frozen=True)


@pytest.fixture
def client(app) -> Client:
    """A WSGI test client on ``app`` (in-process, full request path)."""
    return Client(app)


@pytest.fixture(scope="session")
def postgres_server():
    """URL of the maintenance database of a real PostgreSQL server for this session
    (tests/postgres_server.py says where it comes from); skips, saying why, when none
    can be had, and fails instead under ``SIM_TEST_REQUIRE_POSTGRES=1`` (.ci/run)."""
    from postgres_server import NoServer, start_server
    try:
        url, server = start_server()
    except NoServer as missing:
        if os.environ.get("SIM_TEST_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"SIM_TEST_REQUIRE_POSTGRES=1 but {missing}")
        pytest.skip(f"no PostgreSQL server for the PostgreSQL tests: {missing}")
    yield url
    if server is not None:
        server.stop()
