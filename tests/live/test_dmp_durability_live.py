"""DMP state in the REAL server (``insi-dmp-sim serve``, gunicorn with 2 workers, a data
directory of the test's choosing): documents survive a restart, /_admin/reset clears
them, and concurrent feeds neither lose nor duplicate anything (the duplicate check and
the write happen in one transaction, shared by both worker processes).

Every test runs on both store backends: SQLite in the data directory, and a real
PostgreSQL database (``--database-url``, the session's server of tests/postgres_server.py)."""
from __future__ import annotations

import os
import signal
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from simulator.kit import hl7, registry as reg, xds
from simulator.kit.hl7 import ADRUN
from dmp_live import (
    DMP_PATH, DOCTOR, FAILURE, NS, SUCCESS, DmpLive, Feed, entry_for, error_codes,
    feed_package, hl7_ack, parse, retrieve_raw, simulated_now, td02, unique_ids, unique_oid)
from server_process import spawn_server

SIM_DATE = "2025-03-03T09:30:00+00:00"  # the simulated start of every server here
HTTP_TIMEOUT = 10


class Server:
    """The module's server process, replaceable by a restart on the same data dir."""

    def __init__(self, tmp_dir, database_url: str | None = None):
        self.tmp_dir = tmp_dir
        self.env = {"SIM_DATABASE_URL": database_url} if database_url else {}
        self.process = None
        self.dmp: DmpLive | None = None

    def start(self) -> None:
        # Same name, same tmp dir: the same --data-dir <tmp>/dmp-data every time.
        self.process = spawn_server(self.tmp_dir, "dmp", "--date", SIM_DATE, workers=2,
                                    env=self.env)
        self.process.wait_healthy()
        self.dmp = DmpLive(self.process.base_url)

    def stop(self) -> None:
        """SIGTERM: gunicorn's graceful shutdown (a normal restart)."""
        if self.dmp is not None:
            self.dmp.close()
        if self.process is not None:
            self.process.stop()
            self.process = None

    def kill(self) -> None:
        """SIGKILL to the server's process group: a crash, and a fast end of module."""
        if self.dmp is not None:
            self.dmp.close()
        if self.process is not None:
            try:
                os.killpg(self.process.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.process.wait(timeout=10)
            self.process = None

    @property
    def base_url(self) -> str:
        return self.process.base_url

    def reset(self) -> None:
        response = requests.post(self.base_url + "/_admin/reset", timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, response.text


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(tmp_path_factory, request):
    database_url = None
    if request.param == "postgresql":
        from postgres_server import drop_database, new_database
        server_url = request.getfixturevalue("postgres_server")
        database_url = new_database(server_url)
    started = Server(tmp_path_factory.mktemp("dmp-process"), database_url)
    started.start()
    yield started
    started.kill()
    if database_url:
        drop_database(server_url, database_url)


@pytest.fixture
def dmp(server) -> DmpLive:
    """The process server's DMP clients, after a reset, with ADRUN's DMP open and the
    doctor authorised."""
    server.reset()
    assert hl7_ack(server.dmp.patients(hl7.create()).body) == ("AA", None)
    assert server.dmp.set_authorization().result.status == "DMPOK"
    return server.dmp


def feeds_in_threads(base_url: str, documents: list[xds.Doc]) -> list[Feed]:
    """One TD2.1 per document from one thread each, on its own connection: the packages
    are built first, then every thread waits at a barrier and posts at the same time."""
    now = simulated_now(base_url)
    packages = [feed_package(base_url, (doc,), DOCTOR, now) for doc in documents]
    barrier = threading.Barrier(len(packages))

    def one(package) -> Feed:
        content_type, raw, request = package
        with requests.Session() as session:
            session.get(base_url + "/_admin/health", timeout=HTTP_TIMEOUT)  # connect first
            barrier.wait(timeout=HTTP_TIMEOUT)
            http = session.post(f"{base_url}{DMP_PATH}/repository", data=raw,
                                headers={"Content-Type": content_type}, timeout=HTTP_TIMEOUT)
        assert http.status_code == 200, http.text
        return Feed(request, http, parse(http.content).find(f"{{{NS['soap']}}}Body")[0])

    with ThreadPoolExecutor(max_workers=len(packages)) as pool:
        return list(pool.map(one, packages))


def document_uids(found) -> set[str]:
    """uniqueIds of the documents proper (lot signatures left aside)."""
    return {uid for uid in unique_ids(found) if ".8121.21." in uid}


def test_the_server_runs_at_the_simulated_date(server):
    assert simulated_now(server.base_url).isoformat().startswith("2025-03-03T09:")


def test_reset_clears_dmps_and_documents(dmp, server):
    doc = xds.Doc(unique_id=unique_oid())
    assert dmp.feed((doc,)).status == SUCCESS
    admin = requests.get(f"{server.base_url}/_admin/dmp/patients/{ADRUN}", timeout=HTTP_TIMEOUT)
    assert admin.status_code == 200 and admin.json()["documents"] == 2  # CDA + signature

    server.reset()
    assert td02(dmp.patients(hl7.query()).body)[0] == "NF"
    assert requests.get(f"{server.base_url}/_admin/dmp/patients/{ADRUN}",
                        timeout=HTTP_TIMEOUT).status_code == 404
    _, envelope, parts = retrieve_raw(server.base_url, doc.unique_id)
    assert parts == {} and error_codes(envelope)  # no DMP, no document
    # The patient starts again from nothing: the old uniqueId is free again.
    assert hl7_ack(dmp.patients(hl7.create()).body) == ("AA", None)
    assert dmp.set_authorization().result.status == "DMPOK"
    assert document_uids(dmp.registry(reg.find_documents()).body) == set()
    assert dmp.feed((doc,)).status == SUCCESS


def test_twenty_concurrent_feeds_all_register_once(dmp, server):
    documents = [xds.Doc(unique_id=unique_oid()) for _ in range(20)]
    results = feeds_in_threads(server.base_url, documents)
    assert [(r.status, r.error_codes) for r in results] == [(SUCCESS, [])] * 20

    found = dmp.registry(reg.find_documents())
    assert found.body.get("status") == SUCCESS
    uids = unique_ids(found.body)
    assert len(uids) == 40  # each document and its lot signature, once
    assert document_uids(found.body) == {doc.unique_id for doc in documents}


def test_ten_concurrent_feeds_of_one_unique_id_register_it_once(dmp, server):
    doc = xds.Doc(unique_id=unique_oid())
    results = feeds_in_threads(server.base_url, [doc] * 10)
    outcomes = Counter((r.status, tuple(r.error_codes)) for r in results)
    assert outcomes == {(SUCCESS, ()): 1, (FAILURE, ("XDSDuplicateUniqueIdInRegistry",)): 9}

    found = dmp.registry(reg.find_documents())
    assert document_uids(found.body) == {doc.unique_id}
    entry_for(found.body, doc.unique_id)  # exactly one entry


@pytest.mark.parametrize("how", ["sigterm", "sigkill"])
def test_documents_survive_a_restart(dmp, server, how):
    """A normal restart, and a crash: what was acknowledged Success is on disk."""
    docs = [xds.Doc(unique_id=unique_oid()), xds.Doc(unique_id=unique_oid())]
    assert dmp.feed((docs[0],)).status == SUCCESS
    assert dmp.feed((docs[1],)).status == SUCCESS
    before = dmp.registry(reg.find_documents()).body
    entry_uuids = {doc.unique_id: entry_for(before, doc.unique_id).get("id") for doc in docs}

    server.stop() if how == "sigterm" else server.kill()
    server.start()  # same data directory, new port, new workers

    assert td02(server.dmp.patients(hl7.query()).body) == ("OK", "VALIDE", "active")
    after = server.dmp.registry(reg.find_documents()).body
    assert {doc.unique_id: entry_for(after, doc.unique_id).get("id") for doc in docs} == \
        entry_uuids
    for doc in docs:
        http, _, parts = retrieve_raw(server.base_url, doc.unique_id)
        assert http.headers["Content-Type"].startswith("multipart/related")
        assert list(parts.values()) == [doc.bytes()]  # byte for byte
