"""DMP traffic for the load tests: the patients, the platform's clock, who calls, and
the sequences of a hospital EAI feeding (and withdrawing) documents, of a physician
consulting them, and of software of before 2023 (TD0.0, API v1). The requests are built
by :mod:`dmp_soap` and :mod:`dmp_xds` with the simulator's client kit, the answers read
by :mod:`dmp_answers`; the same locustfile runs against any DMP-compatible platform.

Request names in Locust's statistics:

    dmp: TD0.2 test existence    PRPA_IN201307UV02 TEST_EXST (patients)
    dmp: TD1.1 create            PRPA_IN201311UV02 CREA_RD, when TD0.2 answered NF
    dmp: TD0.3 authorise         setAuthorization AJOUT, when not VALIDE (habilitations)
    dmp: TD2.1 feed              ITI-41 as MTOM: a CDA and its lot signature (repository)
    dmp: TD3.1 find documents    ITI-18 FindDocuments (registry)
    dmp: TD3.2 retrieve          ITI-43, MTOM answer (repository)
    dmp: TD3.1b entryUUID        ITI-18 GetDocuments by uniqueId, ObjectRef (registry)
    dmp: TD3.3c delete           ITI-57 UpdateAvailabilityStatus -> Deleted (registry)
    dmp: TD0.0 certify           identityCertification (patientCertif), before its removal
    dmp v1: TD0.2 test existence the same by INS-C on API v1, before its closure
    dmp v1: TD0.3 authorise      setAuthorization on API v1
"""
from __future__ import annotations

import json
import os
import random
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from dmp_answers import (
    expect_certified, expect_created, expect_document, expect_documents, expect_entry_uuid,
    expect_existence, expect_registered, expect_status_ok)
from dmp_soap import (
    LPS_OID, SOFTWARE, STRUCTURE, V1_BASE_PATH, Caller, Patient, authorise_request,
    create_request, existence_request, soap_request)
from dmp_xds import (
    delete_request, entry_uuid_request, feed_request, find_request, retrieve_request)
from insi_load import CARD_CASES, DESK_CASES

INS_OID = os.environ.get("DMP_INS_OID", "").strip()
PATIENT_FILTER = {p.strip() for p in os.environ.get("DMP_PATIENTS", "").split(",") if p.strip()}
CLOCK = os.environ.get("DMP_CLOCK", "auto").strip().lower()
ADMIN_TOKEN = os.environ.get("SIM_ADMIN_TOKEN", "")
# Inferred (no public volume): the share of feeds the EAI deletes again (TD3.3c), and the
# last day (simulated calendar) API v1 and TD0.0 are called: the end of the grace the
# platform gave software that used them in December 2022 (docs/timeline.md).
DELETE_SHARE = float(os.environ.get("DMP_DELETE_SHARE", "0.05"))
LEGACY_LAST_DAY = datetime.fromisoformat(
    os.environ.get("DMP_LEGACY_LAST_DAY", "2023-04-28")).date()

EXISTENCE = "dmp: TD0.2 test existence"
CREATE = "dmp: TD1.1 create"
AUTHORISE = "dmp: TD0.3 authorise"
FEED = "dmp: TD2.1 feed"
FIND = "dmp: TD3.1 find documents"
RETRIEVE = "dmp: TD3.2 retrieve"
ENTRY_UUID = "dmp: TD3.1b entryUUID"
DELETE = "dmp: TD3.3c delete"
CERTIFY = "dmp: TD0.0 certify"
V1_EXISTENCE = "dmp v1: TD0.2 test existence"
V1_AUTHORISE = "dmp v1: TD0.3 authorise"
INS_C_OID = "1.2.250.1.213.1.4.2"


# --- patients --------------------------------------------------------------------------

def _key_is_right(ins: str) -> bool:
    number = ins[:5] + {"2A": "19", "2B": "18"}.get(ins[5:7], ins[5:7]) + ins[7:13]
    return ins[13:] == "%02d" % (97 - int(number) % 97)


# PROVISOIRE MATRICULE is a NIA, named under the INS-NIA OID .9; the NIR persons are
# named under the INS-NIR OID of the platform: the test OID .10 on a test platform (the
# simulator's default, SIM_DMP_PLATFORM=test, as on the DMP's test platforms: DMP.md
# §3.2), DMP_INS_OID=1.2.250.1.213.1.4.8 for a production-like one.
NIA_INS = {"109076322088835"}
TEST_PLATFORM_NIR_OID = "1.2.250.1.213.1.4.10"


def _patients() -> tuple[Patient, ...]:
    found: dict[str, Patient] = {}
    for case in DESK_CASES:
        # The DMP checks the INS key (HERMANN GATIEN's published key is wrong).
        if not case.ins or case.ins in found or not _key_is_right(case.ins):
            continue
        oid = "1.2.250.1.213.1.4.9" if case.ins in NIA_INS else \
            INS_OID or TEST_PLATFORM_NIR_OID
        found[case.ins] = Patient(case.label, case.weight, case.ins, oid, case.birth_name,
                                  case.first_names, case.sex, case.born)
    chosen = tuple(p for p in found.values() if not PATIENT_FILTER or p.ins in PATIENT_FILTER)
    if not chosen:
        raise SystemExit(f"DMP_PATIENTS: none of {sorted(PATIENT_FILTER)} is a patient of the "
                         f"load test ({', '.join(found)})")
    return chosen


PATIENTS = _patients()


# --- the platform's clock --------------------------------------------------------------

class PlatformClock:
    """The platform's time, for VIHF IssueInstant (checked within minutes, §4.2) and
    the metadata dates. The simulator tells its simulated time at ``/_admin/clock``
    (re-read every minute: a test may move it); elsewhere the wall clock is used."""

    def __init__(self, host: str, refresh: float = 60.0):
        self.url = host.rstrip("/") + "/_admin/clock"
        self.refresh, self.read_at = refresh, float("-inf")
        self.offset, self.frozen_at = timedelta(0), None
        self.simulator, self.known = CLOCK != "wall", False
        self._lock = threading.Lock()      # gevent's under Locust (monkey-patched)

    def now(self) -> datetime:
        """The platform's current instant (UTC)."""
        if self._stale():
            with self._lock:            # one read at a time; the others wait for it
                if self._stale():
                    self._read()
        return self.frozen_at or datetime.now(timezone.utc) + self.offset

    def _stale(self) -> bool:
        return self.simulator and time.monotonic() - self.read_at > self.refresh

    def _read(self) -> None:
        request = urllib.request.Request(self.url, headers={"Accept": "application/json"})
        if ADMIN_TOKEN:
            request.add_header("Authorization", f"Bearer {ADMIN_TOKEN}")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                clock = json.loads(answer.read())
            now = datetime.fromisoformat(clock["now"]).astimezone(timezone.utc)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            # No answer at start: not the simulator, the wall clock it is. Later, a
            # missed refresh keeps the offset read before.
            self.simulator = self.known
            return
        finally:
            self.read_at = time.monotonic()
        self.known = True
        self.frozen_at = now if clock.get("frozen") else None
        self.offset = now - datetime.now(timezone.utc)


_CLOCKS: dict[str, PlatformClock] = {}


def platform_clock(host: str) -> PlatformClock:
    """The clock of ``host``, one per process."""
    return _CLOCKS.setdefault(host, PlatformClock(host))


# --- who calls --------------------------------------------------------------------------

def hospital_eai() -> Caller:
    """The EAI of the structure; one identity for all its feeds."""
    return Caller(f"{STRUCTURE}/EAI", f"EAI {SOFTWARE}", "INDIRECTE", "810100000017")


def physician(rng: random.Random) -> Caller:
    """A physician of the structure with a PS idNat of their own (8 + RPPS-like)."""
    ps_id = "8" + "".join(rng.choice("0123456789") for _ in range(11))
    return Caller(ps_id, f"MEDECIN {ps_id[-4:]}", "INDIRECTE_RENFORCEE", ps_id)


@dataclass
class Session:
    """One load-test user: its caller, the platform's host and clock, its ids."""

    host: str
    caller: Caller
    clock: PlatformClock
    rng: random.Random = field(default_factory=random.Random)
    feeds: int = 0

    def __post_init__(self):
        # Every feed needs new uniqueIds: a random root per user, then a counter.
        self.id_root = f"{LPS_OID}.{self.rng.randrange(10 ** 11, 10 ** 12)}"

    def next_ids(self) -> tuple[str, str, str]:
        """uniqueIds of the next feed: submission set, document, signature."""
        self.feeds += 1
        return tuple(f"{self.id_root}.{self.feeds}.{n}" for n in (1, 2, 3))


# --- the sequences ---------------------------------------------------------------------
# ``call(name, request, check)`` posts and returns what the check extracted, or None
# after a failure (already reported), which ends the sequence.

def _existence_and_authorisation(call, session: Session, patient: Patient,
                                 create: bool) -> bool:
    """TD0.2; TD1.1 when there is no DMP (``create``); TD0.3 unless the caller's
    authorisation is VALIDE. True when the DMP can be fed or consulted."""
    state = call(EXISTENCE, existence_request(session, patient), expect_existence(patient))
    if state is None or (not state[0] and not create):
        return False
    if not state[0] and call(CREATE, create_request(session, patient), expect_created) is None:
        return False
    if state[1] == "VALIDE":
        return True
    return call(AUTHORISE, authorise_request(session, patient), expect_status_ok) is not None


def feed_sequence(call, session: Session, patient: Patient) -> None:
    """A hospital EAI at discharge: TD0.2, TD1.1 if NF, TD0.3 if needed, TD2.1; then,
    for ``DMP_DELETE_SHARE`` of the feeds, the letter withdrawn: TD3.1b for its
    entryUUID and TD3.3c (the author deletes, as DRIMbox does, brief S1)."""
    if not _existence_and_authorisation(call, session, patient, create=True):
        return
    withdrawn = session.rng.random() < DELETE_SHARE
    if call(FEED, feed_request(session, patient, withdrawn), expect_registered) is None \
            or not withdrawn:
        return
    unique_id = f"{session.id_root}.{session.feeds}.2"   # the letter of this feed
    entry_uuid = call(ENTRY_UUID, entry_uuid_request(session, patient, unique_id),
                      expect_entry_uuid)
    if entry_uuid:
        call(DELETE, delete_request(session, patient, entry_uuid), expect_registered)


def consult_sequence(call, session: Session, patient: Patient) -> None:
    """A physician: TD0.2 (no DMP: nothing to consult), TD0.3 if needed (the patient
    consents at the visit), TD3.1, then TD3.2 of one document found."""
    if not _existence_and_authorisation(call, session, patient, create=False):
        return
    found = call(FIND, find_request(session, patient), expect_documents(patient))
    if found:
        chosen = session.rng.choice(found)
        call(RETRIEVE, retrieve_request(session, patient, chosen), expect_document(chosen))


# --- before the 2023 cutoffs: TD0.0 and API v1 -----------------------------------------

def legacy_open(session: Session) -> bool:
    """Whether the platform's date is on or before ``DMP_LEGACY_LAST_DAY``."""
    return session.clock.now().date() <= LEGACY_LAST_DAY


# TD0.0 takes the card holder's NIR (13 characters), the birth date and the rank; the
# expected INS is the beneficiary's (cards of insi_load.CARD_CASES, historical
# matricules left out: TD0.0 reads the card, not the INSi history).
CERTIFY_CASES = tuple(c for c in CARD_CASES if (c.od or c.individual) and
                      (c.od or c.individual == c.ins))


def certify_sequence(call, session: Session, case) -> None:
    """TD0.0 identityCertification of a Vitale card (the INS before INSi, DMP.md §3)."""
    from simulator.kit import patient_certif
    body = patient_certif.identity_certification((case.od or case.individual)[:13],
                                                 case.born, case.rank or 1)
    call(CERTIFY, soap_request(session, None, "patientCertif", patient_certif.ACTION, body),
         expect_certified)


_INSC: dict[str, str | None] = {}


def insc_of(host: str, ins: str) -> str | None:
    """The INS-C of a person from the simulator's identities API (an API v1 client
    computed it from the Vitale card); None elsewhere: no v1 flow for that patient."""
    if ins not in _INSC:
        url = host.rstrip("/") + "/_admin/identities?q=" + ins[:13]
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        if ADMIN_TOKEN:
            request.add_header("Authorization", f"Bearer {ADMIN_TOKEN}")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                found = json.loads(answer.read()).get("identities", [])
            _INSC[ins] = found[0].get("insc") if len(found) == 1 else None
        except (OSError, ValueError, AttributeError):
            _INSC[ins] = None
    return _INSC[ins]


def v1_sequence(call, session: Session, patient: Patient) -> None:
    """A v1 client: TD0.2 by INS-C on API v1, TD0.3 when not authorised."""
    from dataclasses import replace
    insc = insc_of(session.host, patient.ins)
    if not insc:
        return
    by_insc = replace(patient, ins=insc, oid=INS_C_OID)
    state = call(V1_EXISTENCE, existence_request(session, by_insc, V1_BASE_PATH),
                 expect_existence(by_insc))
    if state and state[0] and state[1] != "VALIDE":
        call(V1_AUTHORISE, authorise_request(session, by_insc, V1_BASE_PATH, INS_C_OID),
             expect_status_ok)
