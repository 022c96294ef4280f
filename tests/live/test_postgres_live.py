"""The REAL server on PostgreSQL (``insi-dmp-sim serve --database-url``, gunicorn with 2
workers) against a real PostgreSQL server (tests/postgres_server.py): the state lives in
the database, and a clock change, a scenario switch and a ``times: N`` rule hold on both
workers at once although each worker caches the clock and the scenario.

The cache's own bound (SIM_STATE_CACHE_SECONDS) is set to an hour here, so that a
stale read would show: what these tests see comes from the in-server invalidation
(simulator/store/pg_state.py), not from the cache expiring. The DMP on PostgreSQL
(feeds, one winner among concurrent feeds, SIGKILL, reset) is in
test_dmp_durability_live.py, parametrised by backend.
"""
from __future__ import annotations

import pytest
import requests

from chaos_live import outcome, post, traits
from postgres_server import admin_connection
from server_process import spawn_server

HTTP_TIMEOUT = 10
ROUNDS = 24  # requests on fresh connections: gunicorn hands them to either worker


@pytest.fixture(scope="module")
def server(tmp_path_factory, database_url):
    process = spawn_server(tmp_path_factory.mktemp("pg-live"), "pg", workers=2,
                           env={"SIM_DATABASE_URL": database_url,
                                "SIM_STATE_CACHE_SECONDS": "3600"})
    process.wait_healthy()
    yield process
    process.stop()


def fresh_get(server, path: str) -> dict:
    """GET on a new connection (no keep-alive: another worker may answer)."""
    response = requests.get(server.url(path), timeout=HTTP_TIMEOUT,
                            headers={"Connection": "close"})
    assert response.status_code == 200, response.text
    return response.json()


def test_the_state_lives_in_the_database(server, database_url):
    identities = fresh_get(server, "/_admin/health")["identities"]
    conn = admin_connection(database_url)
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT COUNT(*) FROM identities")
        assert cursor.fetchone()[0] == identities > 200
    finally:
        conn.close()


def test_a_clock_change_holds_on_every_worker_at_once(server):
    for moment in ("2023-02-01T08:00:00+00:00", "2022-12-15T10:30:00+00:00"):
        server.set_clock(moment)
        seen = {fresh_get(server, "/_admin/clock")["now"][:19] for _ in range(ROUNDS)}
        assert seen == {moment[:19]}


def test_a_scenario_switch_holds_on_every_worker_at_once(server):
    for _ in range(2):
        activation = server.activate_shipped("insi-down")["activation"]
        seen = {fresh_get(server, "/_admin/scenario").get("activation")
                for _ in range(ROUNDS)}
        assert seen == {activation}
        assert server.admin("DELETE", "/_admin/scenario").status_code == 200
        assert {fresh_get(server, "/_admin/scenario")["active"] for _ in range(ROUNDS)} \
            == {False}


def test_a_times_rule_counts_across_workers(server):
    """``times: 3``: exactly three of the calls, whichever worker answers, get the fault."""
    server.activate("name: three\nseed: 1\nrules:\n  - name: three-faults\n"
                    "    match: {service: insi}\n    times: 3\n"
                    "    action: {fault: desir_1020}\n")
    outcomes = [outcome(post(server.lps_url, traits())) for _ in range(ROUNDS // 2)]
    assert outcomes == ["fault desir_1020"] * 3 + ["CR 00"] * (ROUNDS // 2 - 3)
    rule = fresh_get(server, "/_admin/scenario")["rules"][0]
    assert (rule["matched"], rule["fired"]) == (ROUNDS // 2, 3)
    server.admin("DELETE", "/_admin/scenario")
