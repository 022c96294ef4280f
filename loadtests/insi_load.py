"""INSi traffic for the load tests: envelopes, the test persons' expected answers, and
the search sequences real clients run (first-name strategy of docs/insi.md).

The persons are the CNDA test persons the simulator serves (simulator/identities/cnda.py)
and HOUILLES, who is in no registry. The DE VINCI matricules are built by the simulator:
against another platform, set ``INSI_CHECK_INS=0`` to check the compte-rendu only.

Request names in Locust's statistics (operation: step):

    traits: first name          one birth first name, in civil-status order
    traits: full list           every first name in one Prenom, after all failed
    traits: with birth place    the same first name(s) again with the COG, after a CR 02
    vitale: ouvrant droit + rang    card search by the card holder's matricule
    vitale: individual matricule    card search by the beneficiary's own matricule
"""
from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape

from simulator.kit import insi
from soapload import env_path, soap_time

INSI_PATH = env_path("INSI_PATH", "/lps")
IDAM = os.environ.get("INSI_IDAM", "PDP17NF21DD0")
CHECK_INS = os.environ.get("INSI_CHECK_INS", "1").strip().lower() not in ("0", "false", "no")

ACTION_TRAITS = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecTraitsIdentite"
ACTION_VITALE = "urn:ServiceIdentiteCertifiee:1.0.0:rechercherInsAvecCarteVitale"

FIRST_NAME = "traits: first name"
FULL_LIST = "traits: full list"
BIRTH_PLACE = "traits: with birth place"
VITALE_OD = "vitale: ouvrant droit + rang"
VITALE_INDIVIDUAL = "vitale: individual matricule"


# --- envelopes -------------------------------------------------------------------------

def _headers(action: str) -> str:
    """ContexteBAM, ContexteLPS and WS-Addressing (simulator.kit.insi), fresh ids and
    time for each request."""
    now = soap_time()
    return (insi.contexte_bam(temps=now)
            + insi.contexte_lps(IDAM, temps=now, software="urn:lps:insi-dmp-sim-loadtest:1.0")
            + insi.wsa(action.rsplit(":", 1)[-1]))


def _envelope(action: str, body: str) -> bytes:
    return ('<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
            f"<soap:Header>{_headers(action)}</soap:Header><soap:Body>{body}</soap:Body>"
            "</soap:Envelope>").encode("utf-8")


def traits_envelope(name: str, first_name: str, sex: str, born: str,
                    place: str | None = None) -> bytes:
    """RECSANSVITALE with one Prenom (one first name, or the list joined by spaces)."""
    place_element = f"<LieuNaissance>{place}</LieuNaissance>" if place else ""
    return _envelope(ACTION_TRAITS, (
        '<RECSANSVITALE xmlns="http://www.cnamts.fr/INSiRecSans">'
        f"<NomNaissance>{escape(name)}</NomNaissance><Prenom>{escape(first_name)}</Prenom>"
        f"<Sexe>{sex}</Sexe><DateNaissance>{born}</DateNaissance>{place_element}"
        "</RECSANSVITALE>"))


def vitale_envelope(born: str, individual: str | None = None, od: str | None = None,
                    rank: int | None = None) -> bytes:
    """RECVITALE with the matricules read from the card (15 characters: NIR + key)."""
    def matricule(tag: str, ins: str | None) -> str:
        if not ins:
            return ""
        return (f"<{tag}><NumIdentifiant>{ins[:13]}</NumIdentifiant><Cle>{ins[13:]}</Cle>"
                f"</{tag}>")
    rank_element = f"<RangNaissance>{rank}</RangNaissance>" if rank is not None else ""
    return _envelope(ACTION_VITALE, (
        '<RECVITALE xmlns="http://www.cnamts.fr/INSiRecVit">'
        f"{matricule('MatriculeIndividu', individual)}{matricule('MatriculeOD', od)}"
        f"<DateNaissance>{born}</DateNaissance>{rank_element}</RECVITALE>"))


# --- answers ---------------------------------------------------------------------------

_CODE_CR = re.compile(rb"<(?:[\w.-]+:)?CodeCR>\s*(\d\d)\s*</")
_INS_ACTIF = re.compile(
    rb"<(?:[\w.-]+:)?INSACTIF>\s*<(?:[\w.-]+:)?IdIndividu>\s*"
    rb"<(?:[\w.-]+:)?NumIdentifiant>([^<]*)</(?:[\w.-]+:)?NumIdentifiant>\s*"
    rb"<(?:[\w.-]+:)?Cle>([^<]*)</")


def expect(code_cr: str, ins: str | None = None):
    """A check (see soapload.Check): CR ``code_cr`` and, for CR 00, the active INS."""
    def check(content: bytes):
        found = _CODE_CR.search(content)
        if not found:
            return None, "HTTP 200 without CodeCR"
        got = found.group(1).decode()
        if got != code_cr:
            return None, f"CR {got} instead of CR {code_cr}"
        if got == "00" and ins and CHECK_INS:
            active = _INS_ACTIF.search(content)
            if not active:
                return None, "CR 00 without INSACTIF"
            got_ins = (active.group(1) + active.group(2)).decode()
            if got_ins != ins:
                return None, f"CR 00 with INS {got_ins} instead of {ins}"
        return got, None
    return check


# --- the persons and what the service answers them -------------------------------------

@dataclass(frozen=True)
class DeskCase:
    """A patient at the admission desk: traits as the desk software holds them (first
    names in civil-status order), and the answers expected step by step."""

    label: str
    weight: int
    birth_name: str
    first_names: tuple[str, ...]
    sex: str
    born: str
    place: str                            # the COG, sent only after a CR 02
    steps: tuple[tuple[str, str], ...]    # (request name, CodeCR) in order
    ins: str | None = None                # INS of the final CR 00


def _found(label, weight, name, first_names, sex, born, place, ins) -> DeskCase:
    return DeskCase(label, weight, name, tuple(first_names.split("|")), sex, born, place,
                    ((FIRST_NAME, "00"),), ins)


# Weights: most admissions find the patient at once; the other paths are the CNDA cases.
DESK_CASES: tuple[DeskCase, ...] = (
    # Found at the first first name.
    _found("ADRUN ZOE", 3, "ADRUN", "ZOE", "F", "1975-12-31", "63220", "275126322074974"),
    _found("ADRTROIS DOMINIQUE", 3, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26", "2A020",
           "297022A02077878"),
    _found("ADRTROIS TOUSSAINT", 2, "ADRTROIS", "TOUSSAINT", "M", "1960-01-01", "2B020",
           "160012B02077713"),
    _found("TCHITCHI CATARINA BELLA", 2, "TCHITCHI", "CATARINA|BELLA", "F", "1936-06-21",
           "63220", "236066322083656"),
    _found("ECETINSI PIERRE-ALAIN", 2, "ECETINSI", "PIERRE-ALAIN|MURIEL|FLORIANT", "M",
           "2009-07-14", "63220", "109076322083489"),
    _found("NESSI MICHELANGELO", 2, "NESSI", "MICHELANGELO|ANTHONY", "M", "2010-08-07",
           "63220", "110086322083060"),
    _found("NESSI NATHALIE", 1, "NESSI", "NATHALIE", "F", "1977-07-14", "63220",
           "277076322082910"),
    _found("CORSE ANTHONY", 1, "CORSE", "ANTHONY", "M", "1980-03-02", "2B020",
           "180032B02040123"),
    _found("HERMANN GATIEN", 1, "HERMANN", "GATIEN", "M", "1981-03-24", "63220",
           "181036322045660"),
    _found("PROVISOIRE MATRICULE (NIA)", 1, "PROVISOIRE", "MATRICULE", "M", "2009-07-01",
           "63220", "109076322088835"),
    _found("D'ARTAGNAN DE L'HERAULT", 1, "D'ARTAGNAN DE L'HERAULT",
           "PIERRE-ALAIN|MURIEL|FLORIANT", "M", "2001-06-17", "63220", "101066322075460"),
    # Found only with the full list: the desk keyed two first names in its first field,
    # so neither field is the first first name, but joined they are the whole list.
    # (TCHITCHI CATARINA BELLA cannot take this path with the real sequence: CATARINA,
    # the first first name, already answers CR 00.)
    DeskCase("ECETINSI full list", 2, "ECETINSI", ("PIERRE-ALAIN MURIEL", "FLORIANT"), "M",
             "2009-07-14", "63220", ((FIRST_NAME, "01"), (FIRST_NAME, "01"), (FULL_LIST, "00")),
             "109076322083489"),
    DeskCase("D'ARTAGNAN full list", 1, "D'ARTAGNAN DE L'HERAULT",
             ("PIERRE-ALAIN MURIEL", "FLORIANT"), "M", "2001-06-17", "63220",
             ((FIRST_NAME, "01"), (FIRST_NAME, "01"), (FULL_LIST, "00")), "101066322075460"),
    # Nobody: CR 01 for each first name, then for the list (CNDA 2.07 cas 2).
    DeskCase("HOUILLES", 2, "HOUILLES", ("PIERRE", "PAUL", "JACQUES"), "M", "1993-01-27",
             "63220", ((FIRST_NAME, "01"),) * 3 + ((FULL_LIST, "01"),)),
    # A first name that is not TCHITCHI's: CR 01, one first name so no list (CNDA 2.07 cas 1).
    DeskCase("TCHITCHI OLA", 1, "TCHITCHI", ("OLA",), "F", "1936-06-21", "63220",
             ((FIRST_NAME, "01"),)),
    # Homonyms: CR 02, then the birth place picks one (CNDA 2.06).
    DeskCase("DE VINCI LEONARDO 63220", 2, "DE VINCI", ("LEONARDO",), "M", "2014-02-01",
             "63220", ((FIRST_NAME, "02"), (BIRTH_PLACE, "00")), "114026322012387"),
    DeskCase("DE VINCI LEONARDO 75056", 1, "DE VINCI", ("LEONARDO",), "M", "2014-02-01",
             "75056", ((FIRST_NAME, "02"), (BIRTH_PLACE, "00")), "114027505632123"),
)


@dataclass(frozen=True)
class CardCase:
    """A Vitale card read at the desk and the INS it must give."""

    label: str
    weight: int
    born: str
    individual: str | None = None         # beneficiary's matricule (15 chars) on the card
    od: str | None = None                 # ouvrant droit's matricule
    rank: int | None = None
    ins: str = ""

    @property
    def request_name(self) -> str:
        return VITALE_INDIVIDUAL if self.individual else VITALE_OD


CARD_CASES: tuple[CardCase, ...] = (
    # Card "INSi 01": DONATELLO is a beneficiary on his mother RUTH's card.
    CardCase("DE VINCI DONATELLO via RUTH", 3, "2012-05-10", od="276076322090184", rank=1,
             ins="112056322090236"),
    CardCase("DE VINCI RUTH", 1, "1976-07-14", individual="276076322090184",
             ins="276076322090184"),
    CardCase("ADRTROIS DOMINIQUE", 2, "1997-02-26", individual="297022A02077878",
             ins="297022A02077878"),
    # An old matricule (INSHISTO) on the card still gives the active INS.
    CardCase("ECETINSI by historical matricule", 1, "2009-07-14",
             individual="209076322083439", ins="109076322083489"),
)


def deck(cases, rng: random.Random) -> list:
    """Every case ``weight`` times, shuffled: a user walks it round and round, so a short
    run already covers every path in the intended proportions."""
    cards = [case for case in cases for _ in range(case.weight)]
    rng.shuffle(cards)
    return cards


# --- the sequences ---------------------------------------------------------------------

def desk_search(call, case: DeskCase) -> None:
    """The client's traits search for one patient, as docs/insi.md describes it: each
    first name in order until CR 00; on CR 02 once more with the birth place; if none
    matched and there were several, the whole list in one Prenom (and its CR 02 retry).

    ``call(name, envelope, check)`` posts and returns the CodeCR, or None after a
    failure (which ends the sequence, as a client would give up and admit the patient
    with a provisional identity). Every answer is checked against ``case.steps``.
    """
    expected = iter(case.steps)

    def step(name: str, first_name: str, place: str | None = None) -> str | None:
        want = next(expected, None)
        if want is None or want[0] != name:
            raise AssertionError(f"{case.label}: unexpected step {name!r}, "
                                 f"the case expects {want!r}")
        ins = case.ins if want[1] == "00" else None
        return call(name, traits_envelope(case.birth_name, first_name, case.sex, case.born,
                                          place), expect(want[1], ins))

    def search(name: str, first_name: str) -> bool:
        """One query (and its birth-place retry); True when the sequence is over."""
        code = step(name, first_name)
        if code == "02":
            step(BIRTH_PLACE, first_name, case.place)
            return True
        return code != "01"          # found, or a failure

    for first_name in case.first_names:
        if search(FIRST_NAME, first_name):
            return
    if len(case.first_names) > 1:
        search(FULL_LIST, " ".join(case.first_names))


def card_search(call, case: CardCase) -> None:
    """One Vitale-card search."""
    call(case.request_name,
         vitale_envelope(case.born, individual=case.individual, od=case.od, rank=case.rank),
         expect("00", case.ins))
