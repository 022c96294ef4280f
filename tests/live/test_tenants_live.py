"""Tenants on a real ``insi-dmp-sim serve`` with 2 worker processes (docs/tenants.md):
several clients at once, each in its own tenant, keep their own clock, scenario,
identities, DMP documents and journal; a reset or a deletion in one reaches no other;
a deleted tenant is never served again by a worker that had it open; /metrics sums
each tenant over both workers under its own label."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from lxml import etree
from prometheus_client.parser import text_string_to_metric_families

from simulator.kit import hl7, registry as reg, xds
from dmp_live import SUCCESS, DmpLive, hl7_ack, unique_ids, unique_oid
from envelopes import SOAP_CT, traits_request
from server_process import spawn_server

SEARCH = traits_request("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26")
SEARCHES = 12  # INSi searches per tenant
TIMEOUT = 30


@pytest.fixture(scope="module")
def server(tmp_path_factory, live_database):
    """Two workers; on a PostgreSQL database under ``SIM_TEST_BACKEND=postgresql``
    (the tenants then live in their own schemas). There, a worker trusts its list of
    tenants for ``SIM_STATE_CACHE_SECONDS`` (docs/tenants.md): 0 here, so that a
    deletion is seen at once, as with the files of the SQLite store."""
    url = live_database()
    database = ("--database-url", url) if url else ()
    server = spawn_server(tmp_path_factory.mktemp("tenants-live"), "tenants",
                          "--max-tenants", "8", *database, workers=2, population=50,
                          env={"SIM_STATE_CACHE_SECONDS": "0"} if url else None)
    try:
        server.wait_healthy()
    except RuntimeError as exc:
        server.stop()
        pytest.fail(str(exc))
    yield server
    server.stop()


def person(n: int) -> dict:
    """A person only tenant ``n`` adds (NIR with a valid key, born in 1990+n)."""
    nir = f"1{90 + n:02d}0135238{123 + n:03d}"
    return {"birth_name": f"TENANT-{chr(65 + n)}", "first_names": "JEAN", "sex": "M",
            "birth_date": f"19{90 + n:02d}-01-15", "birth_place": "35238", "nir": nir}


def work_in_tenant(base: str, n: int) -> dict:
    """One client's session in its tenant at ``base``: a clock and scenario of its own,
    a person, a DMP with two documents, INSi searches on fresh connections (both
    workers answer them). Returns what it did, to be checked against what it sees."""
    admin = requests.Session()
    date = f"202{n}-0{n + 1}-1{n}T08:00:00Z"
    assert admin.put(base + "/_admin/clock", json={"now": date, "frozen": True},
                     timeout=TIMEOUT).status_code == 200
    if n == 0:  # tenant 0's INSi is down; the others' is not
        answer = admin.put(base + "/_admin/scenario", data="name: down\nrules:\n  - action: "
                           "{fault: insi_102}\n    match: {service: insi}\n",
                           headers={"Content-Type": "application/yaml"}, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
    added = admin.post(base + "/_admin/identities", json=person(n), timeout=TIMEOUT)
    assert added.status_code == 201, added.text
    dmp = DmpLive(base)  # zeep clients built from the WSDLs this tenant serves
    try:
        assert hl7_ack(dmp.patients(hl7.create()).body) == ("AA", None)
        dmp.set_authorization()  # TD0.3: the consultation below needs it
        fed = []
        for _ in range(2):
            doc = xds.Doc(unique_id=unique_oid())
            result = dmp.feed((doc,))
            assert (result.status, result.error_codes) == (SUCCESS, []), \
                etree.tostring(result.response)
            fed.append(doc.unique_id)
        found = dmp.registry(reg.find_documents())
        assert found.body.get("status") == SUCCESS, etree.tostring(found.body)[:1000]
    finally:
        dmp.close()
    outcomes = []
    for _ in range(SEARCHES):  # a new connection each: gunicorn spreads them
        answer = requests.post(base + "/lps", data=SEARCH, timeout=TIMEOUT,
                               headers={"Content-Type": SOAP_CT, "Connection": "close"})
        outcomes.append("fault" if answer.status_code != 200 else "ok")
    return {"date": date, "key": added.json()["key"], "fed": fed,
            "found": unique_ids(found.body), "outcomes": outcomes,
            "soap_calls": 1 + 1 + 2 + 1 + SEARCHES}


def test_clients_in_parallel_each_see_only_their_own_tenant(server):
    bases = {n: f"{server.base_url}/t/load-{n}" for n in range(3)}
    with ThreadPoolExecutor(max_workers=len(bases)) as pool:
        done = dict(zip(bases, pool.map(work_in_tenant, bases.values(), bases)))
    for n, base in bases.items():
        mine = done[n]
        assert mine["outcomes"] == (["fault"] if n == 0 else ["ok"]) * SEARCHES
        assert set(mine["fed"]) <= set(mine["found"])  # with the lots' signatures
        clock = requests.get(base + "/_admin/clock", timeout=TIMEOUT).json()
        assert clock["now"].startswith(mine["date"][:16])
        journal = requests.get(base + "/_admin/journal", timeout=TIMEOUT,
                               params={"bodies": "0", "limit": 0}).json()
        assert journal["count"] == mine["soap_calls"]  # complete across both workers
        faults = requests.get(base + "/_admin/journal", timeout=TIMEOUT,
                              params={"outcome": "fault", "service": "insi", "limit": 0})
        assert faults.json()["count"] == (SEARCHES if n == 0 else 0)
        for other, theirs in done.items():
            status = requests.get(f"{base}/_admin/identities/{theirs['key']}",
                                  timeout=TIMEOUT).status_code
            assert status == (200 if other == n else 404), (n, other)
            if other != n:  # not one of another tenant's documents (nor signatures)
                assert not set(theirs["found"]) & set(mine["found"]), (n, other)
    default_journal = requests.get(server.base_url + "/_admin/journal", timeout=TIMEOUT,
                                   params={"limit": 0, "bodies": "0"}).json()
    assert default_journal["count"] == 0
    counts = requests_total(requests.get(server.base_url + "/metrics", timeout=TIMEOUT).text)
    for n in bases:
        assert counts.get((f"load-{n}", "insi"), 0) == SEARCHES


def requests_total(text: str) -> dict[tuple[str, str], float]:
    totals: dict[tuple[str, str], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "insi_dmp_sim_requests_total":
                key = (sample.labels.get("tenant", ""), sample.labels["service"])
                totals[key] = totals.get(key, 0) + sample.value
    return totals


def test_a_reset_under_load_in_one_tenant_reaches_no_other(server):
    quiet, busy = f"{server.base_url}/t/reset-a", f"{server.base_url}/t/reset-b"
    for base in (quiet, busy):
        requests.put(base + "/_admin/clock", json={"now": "2023-02-02T00:00:00Z"},
                     timeout=TIMEOUT)
    stop = threading.Event()

    def search(base: str) -> int:
        sent = 0
        while not stop.is_set():
            assert requests.post(base + "/lps", data=SEARCH, timeout=TIMEOUT,
                                 headers={"Content-Type": SOAP_CT}).status_code == 200
            sent += 1
        return sent

    with ThreadPoolExecutor(max_workers=4) as pool:
        load = [pool.submit(search, busy) for _ in range(3)]
        for _ in range(5):
            assert requests.post(quiet + "/_admin/reset", timeout=TIMEOUT).status_code == 200
        stop.set()
        sent = sum(f.result() for f in load)
    assert requests.get(busy + "/_admin/journal", params={"limit": 0}, timeout=TIMEOUT
                        ).json()["count"] == sent
    assert requests.get(busy + "/_admin/clock", timeout=TIMEOUT).json()["now"] \
        .startswith("2023-02-02")
    assert not requests.get(quiet + "/_admin/clock", timeout=TIMEOUT).json()["now"] \
        .startswith("2023-02-02")


def test_a_deleted_tenant_is_not_resurrected_by_a_worker_that_had_it_open(server):
    base = f"{server.base_url}/t/doomed"
    key = requests.post(base + "/_admin/identities", json=person(5), timeout=TIMEOUT
                        ).json()["key"]
    created = requests.get(server.base_url + "/_admin/tenants/doomed", timeout=TIMEOUT).json()

    def look() -> int:  # a new connection each: both workers open the tenant
        return requests.get(f"{base}/_admin/identities/{key}", timeout=TIMEOUT,
                            headers={"Connection": "close"}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(lambda _: look(), range(40))) == {200}
        assert requests.delete(server.base_url + "/_admin/tenants/doomed",
                               timeout=TIMEOUT).json() == {"deleted": "doomed"}
        assert set(pool.map(lambda _: look(), range(40))) == {404}  # a fresh tenant
    again = requests.get(server.base_url + "/_admin/tenants/doomed", timeout=TIMEOUT).json()
    assert again["id"] != created["id"]


def test_the_limit_holds_across_workers_and_the_soap_answer_is_a_fault(server):
    existing = len(requests.get(server.base_url + "/_admin/tenants", timeout=TIMEOUT
                                ).json()["tenants"])
    free = 8 - existing

    def first_use(n: int) -> int:
        return requests.post(f"{server.base_url}/t/many-{n}/lps", data=SEARCH,
                             headers={"Content-Type": SOAP_CT, "Connection": "close"},
                             timeout=TIMEOUT).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(first_use, range(free + 4)))
    assert statuses.count(200) == free and statuses.count(500) == 4
    listed = requests.get(server.base_url + "/_admin/tenants", timeout=TIMEOUT).json()
    assert len(listed["tenants"]) == 8
    refused = requests.post(server.base_url + "/_admin/tenants", json={"name": "one-more"},
                            timeout=TIMEOUT)
    assert refused.status_code == 409 and "SIM_MAX_TENANTS" in refused.json()["error"]
    for record in listed["tenants"]:
        if record["name"].startswith("many-"):
            requests.delete(f"{server.base_url}/_admin/tenants/{record['name']}",
                            timeout=TIMEOUT)
