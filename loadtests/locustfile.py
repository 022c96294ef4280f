"""Locust load test of the INSi teleservice (simulated, or any INSi-compatible endpoint).

    locust -f loadtests/locustfile.py --headless -u 50 -r 10 -t 2m --host http://127.0.0.1:8080

Users (FastHttpUser: keep-alive connections, about twice as cheap per request as
HttpUser on the same machine):

* ``InsiDeskUser``: an admission desk searching patients by traits with the real
  first-name sequence (each first name, then the full list; the birth place after a
  CR 02), over a weighted mix of the CNDA test persons (insi_load.DESK_CASES).
* ``InsiVitaleUser``: a desk reading Vitale cards (RECVITALE by ouvrant droit + rang, or
  by the beneficiary's own matricule; insi_load.CARD_CASES).

Every answer is checked (HTTP 200 and the CodeCR, and the INS, expected at that step);
faults count as failures named by their siram:Erreur code. Environment:

    INSI_PATH         INSi endpoint path on --host (default /lps)
    INSI_IDAM         software number sent in ContexteLPS (default PDP17NF21DD0)
    INSI_CHECK_INS    0: check the CodeCR only, not the INS returned
    LOADTEST_WAIT     pause between tasks: MIN,MAX seconds (default 0.5,2), or 0
    LOADTEST_TIMEOUT  client timeout in seconds (default 60)

Pick users by class name: ``locust -f loadtests/locustfile.py InsiVitaleUser``.
DMP users will subclass soapload.SoapUser the same way, with their own path variable.
"""
from __future__ import annotations

import random

from locust import task

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
