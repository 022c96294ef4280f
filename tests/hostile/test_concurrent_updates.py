"""Many clients at once on ONE DMP (ADRUN Zoé's), on the real server (``insi-dmp-sim
serve``, 2 gevent workers: two processes race on one SQLite file), client threads here:
feeders send TD2.1; racers all read a document's current version, then all send an ITI-57
new version naming it (mask, unmask...): one wins each round, the others get
XDSMetadataVersionError; the author's clients and a colleague send the same delete: one
Success, never the colleague's; a mask and a delete of one version race; professionals
add and remove their authorisation (TD0.3), some actions in parallel.

Afterwards, over the wire: per lid, versions 1..n without gap or duplicate, exactly one
not Deprecated (version n, so never two Deleted), unique entryUUIDs, one uniqueId per
lid, every acknowledged document there with its bytes, each history as acknowledged,
each professional's authorisation as their last acknowledged action left it.

Two defects these tests found are fixed: ITI-57 reused a submission set uniqueId, and
TD0.3 was a read then a separate write (now one transaction); the latter is replayed
in-process, step by step, as two workers interleave it (live, a few % of concurrent
pairs lost an update before the fix).
"""
from __future__ import annotations

import re

import hashlib
import os
import random
import signal
import sys
import threading
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from lxml import etree
from werkzeug.test import Client as WsgiClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "live"))
from simulator.kit import hl7, registry as reg, soap, xds  # noqa: E402
from dmp_builders.client import NOW, SET_AUTHORIZATION, Dmp, set_authorization  # noqa: E402
from dmp_live import (  # noqa: E402
    APPROVED, COLLEAGUE, DE_UNIQUE_ID, DELETED, DMP_PATH, DOCTOR, FAILURE, NS, SUCCESS, Caller,
    confidentiality_codes, error_codes, feed_package, parse, retrieve_raw, simulated_now, td02,
    unique_oid, xs_instant)
from server_process import spawn_server  # noqa: E402
from simulator.app import create_app  # noqa: E402
from simulator.settings import Settings, parse_datetime  # noqa: E402

SIM_DATE = "2025-03-03T09:30:00+00:00"
FEEDERS, FEEDS_EACH = 3, 10
MASKED, MASK_ROUNDS, RACERS = 6, 4, 4  # documents, rounds per document, clients per round
DELETED_DOCS, DELETERS = 4, 4  # the author's clients (plus one colleague) per document
CONTESTED = 4  # documents where a mask and a delete race
PROFESSIONALS = 6
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
QUERY = "urn:ihe:iti:2007:RegistryStoredQuery"
UPDATE = "urn:ihe:iti:2010:UpdateDocumentSet"
LIST = "urn:si-dmp-habilitations:HabilitationsEndPoint:listAuthorizationByPatient"
TD02 = "urn:hl7-org:v3:PRPA_IN201307UV02"
LIST_BODY = ('<h:listAuthorizationByPatient xmlns:h="urn:si-dmp-habilitations"><h:mode>TOUTE'
             '</h:mode></h:listAuthorizationByPatient>')
HTTP_TIMEOUT = 20
STATE_AFTER = {"AJOUT": "VALIDE", "SUPPRESSION": "NON_EXISTE"}
HAB = "{urn:si-dmp-habilitations}"


@dataclass(frozen=True)
class Fed:
    """A document whose TD2.1 was acknowledged."""

    unique_id: str
    content: bytes


class Client:
    """One client: its own keep-alive connection, one professional's VIHF."""

    def __init__(self, base_url: str, caller: Caller = DOCTOR):
        self.base_url, self.caller = base_url, caller
        self.session = requests.Session()

    def call(self, service: str, body: str | bytes, action: str) -> etree._Element:
        now = simulated_now(self.base_url)
        raw = soap.envelope(body.decode() if isinstance(body, bytes) else body, action=action,
                            service=service, issue_instant=xs_instant(now), host=self.base_url,
                            security=self.caller.security_xml(now))
        http = self.session.post(f"{self.base_url}{DMP_PATH}/{service}", data=raw,
                                 headers={"Content-Type": soap.SOAP_CT}, timeout=HTTP_TIMEOUT)
        assert http.status_code == 200, http.text[:2000]
        return parse(http.content).find(f"{{{NS['soap']}}}Body")[0]

    def feed(self) -> Fed:
        doc = xds.Doc(unique_id=unique_oid())
        content_type, raw, _ = feed_package(self.base_url, (doc,), self.caller,
                                            simulated_now(self.base_url))
        http = self.session.post(f"{self.base_url}{DMP_PATH}/repository", data=raw,
                                 headers={"Content-Type": content_type}, timeout=HTTP_TIMEOUT)
        body = parse(http.content).find(f"{{{NS['soap']}}}Body")[0]
        assert (body.get("status"), error_codes(body)) == (SUCCESS, []), http.text[:2000]
        return Fed(doc.unique_id, doc.bytes())

    def current(self, unique_id: str) -> etree._Element:
        """The current version of a document (GetDocuments by uniqueId)."""
        answer = self.call("registry", reg.get_documents(unique_ids=[unique_id],
                                                         return_type="LeafClass"), QUERY)
        (entry,) = answer.iterfind(".//rim:ExtrinsicObject", NS)
        return entry

    def update(self, body: str, set_unique_id: str | None = None) -> tuple[str, list[str]]:
        """ITI-57, under a fresh submission set uniqueId (the builders') unless one is
        given."""
        if set_unique_id:
            body = re.sub(r"1\.2\.250\.1\.999\.1\.2\.\d+", set_unique_id, body)
        answer = self.call("registry", body, UPDATE)
        return answer.get("status"), error_codes(answer)

    def authorise(self, action: str) -> str:
        return self.call("habilitations", set_authorization(action), SET_AUTHORIZATION) \
            .findtext("hab:status", namespaces=NS)

    def authorisation(self) -> str:
        """TD0.2 as this professional: the AUTORISATION status."""
        return td02(self.call("patients", hl7.query(), TD02))[1]


def version_of(entry: etree._Element) -> str:
    return entry.find("rim:VersionInfo", NS).get("versionName")


def new_version(doc: Fed, entry: etree._Element, masked: bool) -> str:
    return reg.metadata_update(entry.get("lid"), version_of(entry), unique_id=doc.unique_id,
                               hash_=hashlib.sha1(doc.content).hexdigest(),
                               size=str(len(doc.content)),
                               visibility=("MASQUE_PS",) if masked else ())


def at_once(jobs: list) -> list:
    """Run the callables on as many threads, released together; their results."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        barrier.wait(timeout=HTTP_TIMEOUT)
        return job()
    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(run, jobs))


# --- the actors -----------------------------------------------------------------------

def feeder(base_url: str) -> list[Fed]:
    client = Client(base_url)
    return [client.feed() for _ in range(FEEDS_EACH)]


def mask_racers(base_url: str, doc: Fed) -> list[list[tuple[str, str, list[str]]]]:
    """MASK_ROUNDS rounds of RACERS clients: each reads the current version, then all
    send a new version naming it (odd rounds mask, even rounds unmask)."""
    clients = [Client(base_url) for _ in range(RACERS)]
    rounds = []
    for round_no in range(1, MASK_ROUNDS + 1):
        read = [client.current(doc.unique_id) for client in clients]
        masking = round_no % 2 == 1
        rounds.append(at_once([
            (lambda c=client, e=entry: (version_of(e),) + c.update(new_version(doc, e, masking)))
            for client, entry in zip(clients, read)]))
    return rounds


def delete_racers(base_url: str, doc: Fed) -> list[tuple[str, str, list[str]]]:
    """The author's clients and a colleague delete the same version at once."""
    clients = [Client(base_url) for _ in range(DELETERS)] + [Client(base_url, COLLEAGUE)]
    target = clients[0].current(doc.unique_id).get("id")
    return at_once([(lambda c=c: (c.caller.user,) + c.update(reg.delete(target)))
                    for c in clients])


def mask_or_delete(base_url: str, doc: Fed) -> dict[str, tuple[str, list[str]]]:
    """A mask and a delete of version 1, at once."""
    masker, deleter = Client(base_url), Client(base_url)
    entry = masker.current(doc.unique_id)
    masked, deleted = at_once([lambda: masker.update(new_version(doc, entry, True)),
                               lambda: deleter.update(reg.delete(entry.get("id")))])
    return {"mask": masked, "delete": deleted}


def professional(base_url: str, index: int, draw: random.Random) -> list[tuple]:
    """A professional's TD0.3 actions: bursts sent in parallel, each followed by a
    single action; after each step the TD0.2 status it reads back."""
    caller = DOCTOR.but(user=f"10B0167011/00B77700{index:02d}")
    clients = [Client(base_url, caller) for _ in range(3)]
    steps = []
    for burst in (3, 1, 2, 1, 3, 1):
        actions = [draw.choice(tuple(STATE_AFTER)) for _ in range(burst)]
        statuses = at_once([(lambda c=c, a=a: c.authorise(a))
                            for c, a in zip(clients, actions)])
        steps.append((actions, statuses, clients[0].authorisation()))
    return [caller.user] + steps


# --- the live test --------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = spawn_server(tmp_path_factory.mktemp("concurrent"), "concurrent", "--date",
                           SIM_DATE, workers=2, env={"SIM_DMP_MAX_RESULTS": "100000"})
    try:
        process.wait_healthy()
        yield process
    finally:  # SIGKILL: the clients' keep-alive connections would hold a SIGTERM 5 s
        os.killpg(process.process.pid, signal.SIGKILL)
        process.process.wait(timeout=10)


@pytest.fixture
def base_url(server) -> str:
    """The server, reset, with ADRUN Zoé's DMP open and the doctor and a colleague
    authorised."""
    assert server.admin("POST", "/_admin/reset").status_code == 200
    setup = Client(server.base_url)
    assert setup.call("patients", hl7.create(), "urn:hl7-org:v3:PRPA_IN201311UV02").find(
        "hl7:acknowledgement", NS).get("typeCode") == "AA"
    assert setup.authorise("AJOUT") == "DMPOK"
    assert Client(server.base_url, COLLEAGUE).authorise("AJOUT") == "DMPOK"
    return server.base_url


def all_versions(base_url: str) -> list[etree._Element]:
    answer = Client(base_url).call("registry", reg.find_documents(
        statuses=(APPROVED, DEPRECATED, DELETED)), QUERY)
    assert answer.get("status") == SUCCESS, etree.tostring(answer)[:2000]
    return answer.findall(".//rim:ExtrinsicObject", NS)


def uid_of(entry: etree._Element) -> str:
    return next(ei.get("value") for ei in entry.iterfind("rim:ExternalIdentifier", NS)
                if ei.get("identificationScheme") == DE_UNIQUE_ID)


def test_many_clients_at_once_on_one_dmp_keep_every_invariant(base_url):
    draw = random.Random(20250303)
    seeded = at_once([Client(base_url).feed
                      for _ in range(MASKED + DELETED_DOCS + CONTESTED)])
    masked = seeded[:MASKED]
    deleted = seeded[MASKED:MASKED + DELETED_DOCS]
    contested = seeded[MASKED + DELETED_DOCS:]
    actors = ([lambda: feeder(base_url)] * FEEDERS
              + [(lambda d=d: mask_racers(base_url, d)) for d in masked]
              + [(lambda d=d: delete_racers(base_url, d)) for d in deleted]
              + [(lambda d=d: mask_or_delete(base_url, d)) for d in contested]
              + [(lambda i=i, r=random.Random(draw.random()): professional(base_url, i, r))
                 for i in range(PROFESSIONALS)])
    results = at_once(actors)
    fed = seeded + [doc for batch in results[:FEEDERS] for doc in batch]
    mask_rounds = results[FEEDERS:FEEDERS + MASKED]
    delete_races = results[FEEDERS + MASKED:FEEDERS + MASKED + DELETED_DOCS]
    contests = results[FEEDERS + MASKED + DELETED_DOCS:-PROFESSIONALS]
    professionals = results[-PROFESSIONALS:]

    # What each client was told.
    for rounds in mask_rounds:
        for answers in rounds:
            assert len({version for version, _, _ in answers}) == 1, answers  # all read one
            outcomes = Counter((status, tuple(codes)) for _, status, codes in answers)
            assert outcomes == {(SUCCESS, ()): 1,
                                (FAILURE, ("XDSMetadataVersionError",)): RACERS - 1}, answers
    for answers in delete_races:
        winners = [user for user, status, _ in answers if status == SUCCESS]
        assert winners == [DOCTOR.user], answers  # one, and not the colleague's
        assert all(codes for _, status, codes in answers if status != SUCCESS), answers
    for contest in contests:
        assert sorted(status for status, _ in contest.values()) == [FAILURE, SUCCESS], contest

    # The registry afterwards.
    entries = all_versions(base_url)
    uuids = [entry.get("id") for entry in entries]
    assert len(uuids) == len(set(uuids)), "an entryUUID twice"
    by_lid: dict[str, list[etree._Element]] = defaultdict(list)
    for entry in entries:
        by_lid[entry.get("lid")].append(entry)
    lid_of_uid: dict[str, str] = {}
    current: dict[str, etree._Element] = {}
    for lid, versions in by_lid.items():
        numbers = sorted(int(version_of(v)) for v in versions)
        assert numbers == list(range(1, len(versions) + 1)), (lid, numbers)
        live = [v for v in versions if v.get("status") != DEPRECATED]  # so one Deleted at most
        assert len(live) == 1 and version_of(live[0]) == str(len(versions)), lid
        (unique_id,) = {uid_of(v) for v in versions}
        assert lid_of_uid.setdefault(unique_id, lid) == lid, f"{unique_id} under two lids"
        current[unique_id] = live[0]
    assert len(by_lid) == 2 * len(fed)  # each document and its lot signature, no more
    assert {doc.unique_id for doc in fed} <= set(current)

    def history(doc: Fed) -> tuple[int, str, bool]:
        versions = by_lid[lid_of_uid[doc.unique_id]]
        now = current[doc.unique_id]
        return len(versions), now.get("status"), "MASQUE_PS" in confidentiality_codes(now)
    # An even number of rounds ends on an unmask; every round added exactly one version.
    assert {history(doc) for doc in masked} == {(1 + MASK_ROUNDS, APPROVED, False)}
    assert {history(doc) for doc in deleted} == {(1, DELETED, False)}
    for doc, contest in zip(contested, contests):
        assert history(doc) == ((2, APPROVED, True) if contest["mask"][0] == SUCCESS
                                else (1, DELETED, False))
    assert {history(doc) for doc in fed[len(seeded):]} == {(1, APPROVED, False)}
    for doc in fed:  # the bytes of every document not deleted, unchanged
        _, _, parts = retrieve_raw(base_url, doc.unique_id)
        wanted = [] if current[doc.unique_id].get("status") == DELETED else [doc.content]
        assert list(parts.values()) == wanted, doc.unique_id

    # Authorisations: each step reads back a state its own actions explain; the
    # listing has each professional once, authorised as their last action left them.
    granted = set()
    for user, *steps in professionals:
        for actions, statuses, seen in steps:
            assert statuses == ["DMPOK"] * len(actions), (user, actions, statuses)
            assert seen in {STATE_AFTER[a] for a in actions}, (user, actions, seen)
            if len(actions) == 1:
                assert seen == STATE_AFTER[actions[0]], (user, actions, seen)
        if steps[-1][0] == ["AJOUT"]:
            granted.add(user)
    listing = Client(base_url).call("habilitations", LIST_BODY, LIST)
    listed = [item.findtext("hab:nationalId", namespaces=NS)
              for item in listing.iterfind(".//hab:authorization", NS)]
    assert sorted(listed) == sorted(granted | {DOCTOR.user, COLLEAGUE.user})

    iti57 = sum(len(answers) for rounds in mask_rounds for answers in rounds)
    td03 = sum(len(actions) for _, *steps in professionals for actions, _, _ in steps)
    print(f"\nconcurrency: {len(fed)} feeds acknowledged and intact, "
          f"{iti57} ITI-57 new versions raced ({MASKED * MASK_ROUNDS} won, "
          f"{iti57 - MASKED * MASK_ROUNDS} XDSMetadataVersionError), "
          f"{DELETED_DOCS * (DELETERS + 1)} deletes raced ({DELETED_DOCS} won), "
          f"{CONTESTED} mask-vs-delete races "
          f"({sum(c['mask'][0] == SUCCESS for c in contests)} won by the mask), "
          f"{td03} TD0.3 actions by {PROFESSIONALS} professionals; "
          f"{len(entries)} entries over {len(by_lid)} lids checked")


def test_updates_sent_at_once_under_one_submission_set_unique_id_register_it_once(base_url):
    documents = at_once([Client(base_url).feed for _ in range(RACERS)])
    clients = [Client(base_url) for _ in documents]
    entries = [client.current(doc.unique_id) for client, doc in zip(clients, documents)]
    set_unique_id = unique_oid("1.2.250.1.999.1.2")
    answers = at_once([
        (lambda c=c, d=d, e=e: c.update(new_version(d, e, True), set_unique_id))
        for c, d, e in zip(clients, documents, entries)])
    assert Counter((status, tuple(codes)) for status, codes in answers) == {
        (SUCCESS, ()): 1, (FAILURE, ("XDSDuplicateUniqueIdInRegistry",)): RACERS - 1}


# --- two workers, one interleaving, in-process ----------------------------------------

def paused_between_read_and_write(app, resume: threading.Event, paused: threading.Event):
    """Make ``app``'s TD0.3 stop after its read, just before its write, until ``resume``
    (at most 2 s): how a worker process is descheduled at the wrong moment. An atomic
    TD0.3 holds the store's write lock there, so the other worker then waits instead."""
    store = app.simulator.store.dmp
    update = store.update_authorisation

    def update_authorisation(ins, professional_id, change):
        def paused_change(current):
            paused.set()
            resume.wait(timeout=2)
            return change(current)
        return update(ins, professional_id, paused_change)
    store.update_authorisation = update_authorisation


def block(app, user: str) -> None:
    """The patient blocks a professional (control plane, as Mon espace santé would)."""
    answer = WsgiClient(app).put(f"/_admin/dmp/patients/{hl7.ADRUN}/professionals",
                                 json={"professional_id": user, "blocked": True})
    assert answer.status_code == 200, answer.get_data(as_text=True)


def add_role(app, user: str) -> None:
    """TD0.3 AJOUT with the médecin traitant role."""
    answer = Dmp(app).call("habilitations", set_authorization("AJOUT", "MEDECIN_TRAITANT"),
                           SET_AUTHORIZATION, user=user)
    assert answer.body.findtext(f"{HAB}status") == "DMPOK"


def authorisation(app, user: str) -> tuple[str, str | None]:
    """(TD0.2 AUTORISATION status, medecinTraitant of TD1.6) as ``user`` sees them."""
    status = td02(Dmp(app).call("patients", hl7.query(), TD02, user=user).body)[1]
    listing = Dmp(app).call("habilitations", LIST_BODY, LIST, user=user).body
    role = next((item.findtext(f"{HAB}medecinTraitant") for item in listing.iter(
        f"{HAB}authorization") if item.findtext(f"{HAB}nationalId") == user), None)
    return status, role


@pytest.mark.parametrize("meanwhile, expected", [
    (add_role, ("VALIDE", "true")),  # AJOUT keeps a role it does not name
    (block, ("INTERDIT", "false")),  # a blocked professional stays blocked
], ids=["medecin-traitant-role", "patient-block"])
def test_td03_is_atomic_when_another_worker_writes_between_its_read_and_write(
        tmp_path, meanwhile, expected):
    settings = Settings(data_dir=tmp_path / "data", population=0,
                        date=parse_datetime(NOW), frozen=True)
    first, second = create_app(settings), create_app(settings)  # two workers, one file
    Dmp(first).create_dmp()
    user = "10B0167011/00B8888801"
    resume, paused = threading.Event(), threading.Event()
    paused_between_read_and_write(first, resume, paused)
    answers = []
    plain_ajout = threading.Thread(target=lambda: answers.append(Dmp(first).call(
        "habilitations", set_authorization("AJOUT"), SET_AUTHORIZATION, user=user)))
    plain_ajout.start()
    assert paused.wait(timeout=5)  # the first worker has read the record
    meanwhile(second, user)  # the second worker writes the same record
    resume.set()
    plain_ajout.join(timeout=15)
    status = answers[0].body.findtext(f"{HAB}status")
    # AJOUT answered after the block must have been refused; before it, overridden.
    assert (status, authorisation(second, user)) in [
        ("DMPOK", expected), ("DMPAccessDenied", expected)]
