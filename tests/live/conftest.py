"""Live test level: the whole simulator on a real socket, called by a real SOAP client.

* ``live_server`` (session): ``create_app(Settings(...))`` served by werkzeug's threaded
  server on an ephemeral port in a daemon thread; yields a :class:`LiveServer` (base URL,
  WSGI app, simulator state).
* ``live_server_factory`` (session): more servers with other settings (IDAM allow-list,
  qualification quirks...), all stopped at the end of the session.
* an autouse fixture POSTs ``/_admin/reset`` (real HTTP) before every test that uses the
  session server, so tests never see each other's clock or registry changes.
* ``insi_client`` is parametrized over two zeep clients: one built from the simulator's
  own WSDL (``GET /lps?wsdl``), one from the official CNAM contract
  (``DESIR_ICIR_EXP_1.5.0.wsdl``, loaded offline) with its address bound to the live
  server. The official one is skipped cleanly when the contract is not present.
"""
from __future__ import annotations

import pytest

from insi_live import (
    OFFICIAL_WSDL, InsiClient, LiveServer, bind_official_client, build_our_client,
    live_settings, load_official_client, start_live_server)


@pytest.fixture(scope="session")
def live_database(request):
    """``database()`` -> the database URL of a further in-process live server: None
    (SQLite in its data directory), or a new PostgreSQL database on the session's test
    server when ``SIM_TEST_BACKEND=postgresql`` (every live test on PostgreSQL;
    docs/storage.md)."""
    import os
    if os.environ.get("SIM_TEST_BACKEND", "sqlite") != "postgresql":
        yield lambda: None
        return
    from postgres_server import drop_database, new_database
    server = request.getfixturevalue("postgres_server")
    made: list[str] = []

    def database() -> str:
        made.append(new_database(server))
        return made[-1]
    yield database
    for url in made:
        drop_database(server, url)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, live_database):
    """The simulator with default INSi settings, shared by the whole live session."""
    live = start_live_server(live_settings(tmp_path_factory.mktemp("live-data"),
                                           database_url=live_database()))
    yield live
    live.stop()


@pytest.fixture(scope="session")
def live_server_factory(tmp_path_factory, live_database):
    """``factory(**settings_changes)`` -> a further LiveServer, stopped at session end."""
    started: list[LiveServer] = []

    def factory(**changes) -> LiveServer:
        changes.setdefault("database_url", live_database())
        live = start_live_server(live_settings(tmp_path_factory.mktemp("live-data"), **changes))
        started.append(live)
        return live

    yield factory
    for live in started:
        live.stop()


@pytest.fixture(scope="module")
def database_url(postgres_server):
    """A new PostgreSQL database for the test module's ``serve`` processes."""
    from postgres_server import drop_database, new_database
    url = new_database(postgres_server)
    yield url
    drop_database(postgres_server, url)


@pytest.fixture(autouse=True)
def _reset_live_server(request):
    """Reset the session server (real HTTP) before each test that uses it."""
    if "live_server" in request.fixturenames:
        request.getfixturevalue("live_server").reset()
    yield


@pytest.fixture(scope="session")
def our_client(live_server) -> InsiClient:
    return build_our_client(live_server)


@pytest.fixture(scope="session")
def official_zeep_or_none():
    """The loaded official client, or None when the contract is not present."""
    return load_official_client() if OFFICIAL_WSDL.is_file() else None


@pytest.fixture(scope="session")
def official_zeep(official_zeep_or_none):
    if official_zeep_or_none is None:
        pytest.skip(f"official INSi contract not available at {OFFICIAL_WSDL}")
    return official_zeep_or_none


@pytest.fixture(scope="session")
def official_client(official_zeep, live_server) -> InsiClient:
    return bind_official_client(official_zeep, live_server)


@pytest.fixture(params=["ours", "official"])
def insi_client(request) -> InsiClient:
    """Each test runs with the client from our WSDL and the one from the official WSDL."""
    fixture = {"ours": "our_client", "official": "official_client"}[request.param]
    return request.getfixturevalue(fixture)


@pytest.fixture(scope="session")
def client_for(official_zeep_or_none):
    """``client_for(kind, live)``: a client of ``kind`` bound to another live server."""
    cache: dict = {}

    def make(kind: str, live: LiveServer) -> InsiClient:
        key = (kind, live.base_url)
        if key not in cache:
            if kind == "ours":
                cache[key] = build_our_client(live)
            else:
                if official_zeep_or_none is None:
                    pytest.skip(f"official INSi contract not available at {OFFICIAL_WSDL}")
                cache[key] = bind_official_client(official_zeep_or_none, live)
        return cache[key]

    return make


# --------------------------------------------------------------------------
# DMP v2 (helpers in dmp_live.py)
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dmp(live_server):
    """zeep clients of the session server's DMP v2 services (``dmp_live.DmpLive``)."""
    from dmp_live import DmpLive
    return DmpLive(live_server.base_url)


@pytest.fixture
def adrun_dmp(dmp):
    """ADRUN Zoé's DMP, created by TD1.1 on the (reset) session server."""
    from simulator.kit import hl7
    from dmp_live import hl7_ack
    answer = dmp.patients(hl7.create())
    assert hl7_ack(answer.body) == ("AA", None), answer.body
    return hl7.ADRUN


# --------------------------------------------------------------------------
# DMP v1 (helpers in dmp_v1_live.py)
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dmp_v1(live_server):
    """zeep clients of the session server's DMP v1 services (``dmp_v1_live.DmpV1Live``),
    built from the WSDLs served at the v1 paths."""
    from dmp_v1_live import DmpV1Live
    return DmpV1Live(live_server.base_url)
