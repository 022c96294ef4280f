"""DMP access rules without XML."""
from __future__ import annotations

import pytest

from simulator.services.dmp.access import (
    Authorisation, DmpState, document_visible, may_consult, may_delete, may_feed)

OPEN = DmpState()
CLOSED = DmpState(closed=True)
ABSENT = DmpState(exists=False)
OPPOSED = DmpState(opposes_bris_de_glace=True, opposes_centre_15=True)
A = Authorisation


@pytest.mark.parametrize("dmp, authorisation, mode, reason", [
    (OPEN, A.VALIDE, "normal", "OK"),
    (OPEN, A.NON_EXISTE, "normal", "NO_AUTHORISATION"),
    (OPEN, A.EXPIRE, "normal", "AUTHORISATION_EXPIRED"),
    (OPEN, A.INTERDIT, "normal", "PS_BLOCKED"),
    (OPEN, A.NON_EXISTE, "bris_de_glace", "OK"),
    (OPEN, A.NON_EXISTE, "centre_15", "OK"),
    (OPEN, A.INTERDIT, "bris_de_glace", "PS_BLOCKED"),
    (OPEN, A.INTERDIT, "centre_15", "PS_BLOCKED"),
    (OPPOSED, A.NON_EXISTE, "bris_de_glace", "OPPOSITION_BRIS_DE_GLACE"),
    (OPPOSED, A.NON_EXISTE, "centre_15", "OPPOSITION_CENTRE_15"),
    (OPPOSED, A.VALIDE, "normal", "OK"),
    (CLOSED, A.VALIDE, "normal", "DMP_CLOSED"),
    (CLOSED, A.NON_EXISTE, "bris_de_glace", "DMP_CLOSED"),
    (ABSENT, A.NON_EXISTE, "normal", "DMP_ABSENT"),
])
def test_consultation(dmp, authorisation, mode, reason):
    decision = may_consult(dmp, authorisation, mode)
    assert (decision.allowed, decision.reason) == (reason == "OK", reason)
    assert decision.allowed or decision.message


@pytest.mark.parametrize("dmp, authorisation, reason", [
    (OPEN, A.NON_EXISTE, "OK"),
    (OPEN, A.EXPIRE, "OK"),
    (OPEN, A.VALIDE, "OK"),
    (OPEN, A.INTERDIT, "PS_BLOCKED"),
    (CLOSED, A.VALIDE, "DMP_CLOSED"),
    (ABSENT, A.NON_EXISTE, "DMP_ABSENT"),
])
def test_feeding_needs_no_authorisation(dmp, authorisation, reason):
    decision = may_feed(dmp, authorisation)
    assert (decision.allowed, decision.reason) == (reason == "OK", reason)


def test_only_the_author_deletes():
    assert may_delete(OPEN, "10B0167011/00B1022322", "10B0167011/00B1022322").allowed
    refused = may_delete(OPEN, "10B0167011/00B1022322", "10B0007712/00B0000001")
    assert (refused.allowed, refused.reason) == (False, "NOT_AUTHOR")
    assert may_delete(CLOSED, "x", "x").reason == "DMP_CLOSED"


def test_masked_documents_are_seen_by_their_author_only():
    assert document_visible(False, "author", "other")
    assert document_visible(True, "author", "author")
    assert not document_visible(True, "author", "other")
