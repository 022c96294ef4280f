"""Reading a patient's traits from ``patientPerson`` and from the Vitale contact party.

Name rules (brief §2.2; as the ANS kit and Mediboard send them): ``family`` with
qualifier ``BR`` is the birth name, ``SP`` the used name; a ``family`` without
qualifier counts as the birth name; when only ``SP`` is sent (Mediboard sends ``BR``
only when it differs) it is both the birth and the used name. Every ``given`` is one
first name; they are joined with spaces, as :class:`PatientTraits` keeps them.
``prefix`` (civilité) and ``birthPlace`` are not kept. Telecoms keep their ``value``
only (``tel:...``, ``mailto:...``); empty ones are skipped (Mediboard sends them).
``addr`` becomes ``(*streetAddressLine, postalCode, city)``, the country is dropped.
"""
from __future__ import annotations

import re

from lxml import etree

from simulator.services.dmp.hl7.codes import CARTE_SESAM_VITALE, INVALID, MISSING
from simulator.services.dmp.hl7.xmlread import (
    Hl7RequestError, attribute, children, optional, path_of, text_of)
from simulator.services.dmp.records import PatientTraits

#: HL7 TS with at least a full date: YYYYMMDD[hhmm[ss[.f]]][+-zzzz]. Lunar dates
#: (month or day 00, as on some Vitale cards) are accepted as they are.
_TS_DATE = re.compile(r"\d{8}(?:\d{4}(?:\d{2}(?:\.\d+)?)?)?(?:[+-]\d{4})?")
#: The Vitale block's birth date: YYMMDD as the card holds it (kit, Mediboard) or YYYYMMDD.
_VITALE_DATE = re.compile(r"\d{6}|\d{8}")
SEXES = ("M", "F", "U")


def read_person(person: etree._Element, *, complete: bool) -> PatientTraits:
    """The traits in ``patientPerson``.

    ``complete``: creation (TD1.1) needs a name, a first name, the sex and the birth
    date, and each missing one raises. Otherwise (TD1.2, TD1.3b, TD1.4) what is absent
    is left empty (``''``, ``None``, ``()``): "not sent", to keep the stored value.
    Values that are present are always checked.
    """
    name = optional(person, "name")
    birth_name, used_name, given = _names(name)
    if complete and not birth_name:
        raise Hl7RequestError("the patient's name needs a family element (qualifier BR for "
                              "the birth name, SP for the used name)",
                              f"{_name_path(person, name)}/family", MISSING)
    if complete and not given:
        raise Hl7RequestError("the patient's name needs at least one given element (first "
                              "name)", f"{_name_path(person, name)}/given", MISSING)
    return PatientTraits(
        birth_name=birth_name, given_names=given, used_name=used_name,
        sex=_sex(person, complete), birth_date=_birth_date(person, complete),
        telecoms=tuple(value for value in (
            (t.get("value") or "").strip() for t in children(person, "telecom")) if value),
        address=_address(optional(person, "addr")))


def _name_path(person: etree._Element, name: etree._Element | None) -> str:
    """Where the name is (or would be), for an error: worked out only on an error."""
    return path_of(name) if name is not None else f"{path_of(person)}/name"


def read_vitale(person: etree._Element) -> PatientTraits | None:
    """The Vitale card traits sent unchanged in ``contactParty`` coded CARTE_SESAM_VITALE
    (EX_GEN-1265), or None when there is none or it is empty. The birth date is kept as
    sent (``YYMMDD`` or ``YYYYMMDD``, possibly lunar); the card gives no sex (``''``)."""
    for party in children(person, "contactParty"):
        code = optional(party, "code")
        if code is None or code.get("code") != CARTE_SESAM_VITALE:
            continue
        contact = optional(party, "contactPerson")
        birth_name, used_name, given = _names(optional(contact, "name"))
        birth = optional(contact, "birthTime")
        born = (birth.get("value") or "").strip() if birth is not None else ""
        if born and not _VITALE_DATE.fullmatch(born):
            raise Hl7RequestError(
                f"the Vitale birth date must be YYMMDD (as on the card) or YYYYMMDD, got "
                f"{born!r}", f"{path_of(birth)}/@value", INVALID)
        if not (birth_name or given or born):
            return None
        return PatientTraits(birth_name=birth_name, given_names=given, used_name=used_name,
                             sex="", birth_date=born)
    return None


def _names(name: etree._Element | None) -> tuple[str, str | None, str]:
    families = {"BR": "", "SP": "", "": ""}
    for family in children(name, "family"):
        qualifier = (family.get("qualifier") or "").strip().upper()
        if qualifier in families and not families[qualifier]:
            families[qualifier] = text_of(family)
    birth = families["BR"] or families[""] or families["SP"]
    used = families["SP"] or None
    given = " ".join(t for t in (text_of(g) for g in children(name, "given")) if t)
    return birth, used, given


def _sex(person: etree._Element, complete: bool) -> str:
    gender = optional(person, "administrativeGenderCode")
    if gender is None:
        if complete:
            raise Hl7RequestError("the patient's sex is required (code M, F or U)",
                                  f"{path_of(person)}/administrativeGenderCode", MISSING)
        return ""
    code = attribute(gender, "code", "M, F or U").upper()
    if code not in SEXES:
        raise Hl7RequestError(f"the sex code must be M, F or U, got {code!r}",
                              f"{path_of(gender)}/@code", INVALID)
    return code


def _birth_date(person: etree._Element, complete: bool) -> str:
    birth = optional(person, "birthTime")
    if birth is None:
        if complete:
            raise Hl7RequestError("the patient's birth date is required (YYYYMMDD)",
                                  f"{path_of(person)}/birthTime", MISSING)
        return ""
    value = attribute(birth, "value", "YYYYMMDD")
    if not _TS_DATE.fullmatch(value):
        raise Hl7RequestError(f"birthTime must be an HL7 date YYYYMMDD, got {value!r}",
                              f"{path_of(birth)}/@value", INVALID)
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}"


def _address(addr: etree._Element | None) -> tuple[str, ...]:
    if addr is None:
        return ()
    lines = [t for t in (text_of(e) for e in children(addr, "streetAddressLine")) if t]
    postcode, city = text_of(optional(addr, "postalCode")), text_of(optional(addr, "city"))
    if not (lines or postcode or city):
        return ()
    return (*lines, postcode, city)
