"""Locust load test of the INSi teleservice and the DMP v2 web services (simulated, or
any compatible endpoint).

    locust -f loadtests/locustfile.py --headless -u 50 -r 10 -t 2m --host http://127.0.0.1:8080

Users (FastHttpUser: keep-alive connections, about twice as cheap per request as
HttpUser on the same machine):

* ``InsiDeskUser``: an admission desk searching patients by traits with the real
  first-name sequence (each first name, then the full list; the birth place after a
  CR 02), over a weighted mix of the CNDA test persons (insi_load.DESK_CASES).
* ``InsiVitaleUser``: a desk reading Vitale cards (RECVITALE by ouvrant droit + rang, or
  by the beneficiary's own matricule; insi_load.CARD_CASES).
* ``DmpFeedUser``: a hospital EAI at discharge: TD0.2, TD1.1 when there is no DMP,
  TD0.3 when not authorised, TD2.1 (ITI-41 MTOM, CDA and lot signature).
* ``DmpConsultUser``: a physician: TD0.2, TD0.3 when not authorised, TD3.1
  FindDocuments, TD3.2 of one document found (MTOM answer). Both DMP users take the
  INSi persons that have an INS (dmp_load.PATIENTS). The EAI withdraws a share of its
  feeds (``DMP_DELETE_SHARE``): TD3.1b, then TD3.3c (ITI-57).
* ``DmpLegacyUser``: while the platform's date is on or before ``DMP_LEGACY_LAST_DAY``
  (2023-04-28), TD0.0 identity certification of a Vitale card and the API v1 flow
  (TD0.2 and TD0.3 by INS-C); after it, idle. Weights: loadtests/README.md.

Every answer is checked (HTTP 200 and the CodeCR, and the INS, expected at that step;
for the DMP the HL7 acknowledgement and queryResponseCode, the RegistryResponse status,
the DMP status, the document's size and SHA-1); faults and refusals count as failures
named by their code. Environment:

    INSI_PATH         INSi endpoint path on --host (default /lps)
    INSI_IDAM         software number sent in ContexteLPS (default PDP17NF21DD0)
    INSI_CHECK_INS    0: check the CodeCR only, not the INS returned
    DMP_BASE_PATH     DMP services path on --host (default /si-dmp-server/v2/services)
    DMP_*             structure, software, OIDs, patients... (loadtests/README.md)
    LOADTEST_WAIT     pause between tasks: MIN,MAX seconds (default 0.5,2), or 0
    LOADTEST_TIMEOUT  client timeout in seconds (default 60)

Pick users by class name: ``locust -f loadtests/locustfile.py DmpFeedUser DmpConsultUser``.
"""
from __future__ import annotations

import os
import random

from locust import task

from dmp_answers import fault_name, unpack
from dmp_load import (
    CERTIFY_CASES, PATIENTS, Session, certify_sequence, consult_sequence, feed_sequence,
    hospital_eai, legacy_open, physician, platform_clock, v1_sequence)
from dmp_soap import DmpRequest
from insi_load import (
    ACTION_TRAITS, ACTION_VITALE, CARD_CASES, DESK_CASES, INSI_PATH, card_search, deck,
    desk_search)
from soapload import SoapUser


class _DeckUser(SoapUser):
    """Walks its own shuffled deck of weighted cases, from a random position."""

    abstract = True
    cases: tuple = ()

    def on_start(self) -> None:
        rng = random.Random()
        self._deck = deck(self.cases, rng)
        self._position = rng.randrange(len(self._deck))

    def next_case(self):
        self._position = (self._position + 1) % len(self._deck)
        return self._deck[self._position]


class InsiDeskUser(_DeckUser):
    """Searches by traits (rechercherInsAvecTraitsIdentite), first-name strategy."""

    weight = 3
    cases = DESK_CASES

    @task
    def search_by_traits(self) -> None:
        desk_search(self._traits_call, self.next_case())

    def _traits_call(self, name, envelope, check):
        return self.soap_call(INSI_PATH, ACTION_TRAITS, envelope, name, check)


class InsiVitaleUser(_DeckUser):
    """Searches with the Vitale card (rechercherInsAvecCarteVitale)."""

    weight = 1
    cases = CARD_CASES

    @task
    def search_by_card(self) -> None:
        card_search(self._card_call, self.next_case())

    def _card_call(self, name, envelope, check):
        return self.soap_call(INSI_PATH, ACTION_VITALE, envelope, name, check)


class _DmpUser(_DeckUser):
    """A DMP client: its caller (``make_caller``), the platform's clock, new uniqueIds
    per feed, and :meth:`dmp_call`, which posts one request (plain SOAP or MTOM) and
    reports it to Locust as a success only when the answer is HTTP 200 and passes the
    check; otherwise as a failure named by its fault or refusal code."""

    abstract = True
    cases = PATIENTS

    def make_caller(self, rng: random.Random):
        raise NotImplementedError

    def on_start(self) -> None:
        super().on_start()
        rng = random.Random()
        self.session = Session(self.host, self.make_caller(rng), platform_clock(self.host),
                               rng)

    def dmp_call(self, name: str, request: DmpRequest, check):
        """POST ``request``; returns what ``check`` extracted, or None on any failure."""
        with self.client.post(f"{request.base_path}/{request.service}", data=request.body,
                              headers={"Content-Type": request.content_type}, name=name,
                              catch_response=True) as response:
            status = response.status_code or 0
            if status == 0:                  # no HTTP answer at all
                error = response.error
                response.failure(f"network: {type(error).__name__ if error else 'no answer'}")
                return None
            try:
                envelope, parts = unpack(response.headers.get("Content-Type") or "",
                                         response.content or b"")
            except ValueError as error:
                response.failure(f"unreadable MTOM answer (HTTP {status}): {error}")
                return None
            if status != 200:
                response.failure(fault_name(status, envelope))
                return None
            result, problem = check(envelope, parts)
            if problem:
                response.failure(problem)
                return None
            response.success()
            return result


class DmpFeedUser(_DmpUser):
    """A hospital EAI feeding discharge letters (TD0.2, TD1.1, TD0.3, TD2.1)."""

    weight = 2

    def make_caller(self, rng: random.Random):
        return hospital_eai()

    @task
    def feed(self) -> None:
        feed_sequence(self.dmp_call, self.session, self.next_case())


class DmpConsultUser(_DmpUser):
    """A physician consulting the DMP (TD0.2, TD0.3, TD3.1, TD3.2)."""

    weight = 2

    def make_caller(self, rng: random.Random):
        return physician(rng)

    @task
    def consult(self) -> None:
        consult_sequence(self.dmp_call, self.session, self.next_case())


class DmpLegacyUser(_DmpUser):
    """Software of before 2023: TD0.0 certification and API v1, while they are open."""

    weight = int(os.environ.get("LOADTEST_LEGACY_WEIGHT", "1"))

    def make_caller(self, rng: random.Random):
        return physician(rng)

    def on_start(self) -> None:
        super().on_start()
        self._cards = deck(CERTIFY_CASES, random.Random())

    @task
    def legacy(self) -> None:
        if not legacy_open(self.session):
            return                      # after the cutoff: a client no longer calls them
        card = self._cards[self._position % len(self._cards)]
        certify_sequence(self.dmp_call, self.session, card)
        v1_sequence(self.dmp_call, self.session, self.next_case())
