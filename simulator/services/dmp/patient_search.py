"""TD0.5: searching the DMPs by identity traits, without an INS (no XML here).

Verified (DMP brief §2.1; DmpConnect-JS ``hl_findPatients``): the criteria are part of
the patient's name (at least 2 characters), given name, birth date, city, postcode,
sex, and two flags, approximate name and approximate city; the answer lists candidate
patients with their DMP.

Reconstructed (the simulator's rules, docs/dmp-hl7.md): the DMP searches its own
administrative data (the traits TD1.1/TD1.3b recorded), closed DMPs included; names and
cities compare upper case, without accents, hyphens and apostrophes read as spaces;
the name matches the birth or the used name, exactly, or as their beginning when
approximate; the given name matches the first given name or the whole list, or the
beginning of one given name when the name is approximate; the city likewise with its
own flag; birth date, postcode and sex (``U`` = any) exactly. More candidates than
``SIM_DMP_PDQ_MAX_RESULTS`` is ``DMPTooManyResults``.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from simulator.services.dmp import refusals
from simulator.services.dmp.records import DmpRecord
from simulator.services.dmp.refusals import DmpRefusal

SEXES = ("M", "F", "U")
MIN_NAME_LENGTH = 2  # DmpConnect-JS hl_findPatients: "At least 2 characters"


@dataclass(frozen=True)
class SearchCriteria:
    """A TD0.5 search; empty strings are criteria not given."""

    name: str
    given: str = ""
    birth_date: str = ""  # YYYY-MM-DD
    sex: str = ""  # M | F | U | ''
    city: str = ""
    postcode: str = ""
    approximate_name: bool = False
    approximate_city: bool = False


def normalise(text: str) -> str:
    """Upper case without accents; hyphens, apostrophes and runs of spaces as one space."""
    decomposed = unicodedata.normalize("NFKD", text.replace("Œ", "OE").replace("œ", "oe"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).upper()
    return " ".join(re.sub(r"[-'’]", " ", plain).split())


def check(criteria: SearchCriteria) -> SearchCriteria:
    """The criteria, or :class:`ValueError` saying which one is unusable."""
    if len(normalise(criteria.name).replace(" ", "")) < MIN_NAME_LENGTH:
        raise ValueError(f"the name must have at least {MIN_NAME_LENGTH} letters, got "
                         f"{criteria.name!r}")
    if criteria.sex and criteria.sex not in SEXES:
        raise ValueError(f"the sex must be M, F or U, got {criteria.sex!r}")
    return criteria


def _text_matches(stored: str | None, wanted: str, approximate: bool) -> bool:
    stored = normalise(stored or "")
    return bool(stored) and (stored.startswith(wanted) if approximate else stored == wanted)


def _given_matches(given_names: str, wanted: str, approximate: bool) -> bool:
    # Given names are space-separated; a composite one keeps its hyphen (PIERRE-ALAIN).
    each = [normalise(name) for name in given_names.split()]
    if approximate:
        return any(name.startswith(wanted) for name in each) or \
            normalise(given_names).startswith(wanted)
    return wanted in (normalise(given_names), each[0] if each else "")


def matches(record: DmpRecord, criteria: SearchCriteria) -> bool:
    """Whether one DMP answers the (checked) criteria."""
    traits = record.traits
    name = normalise(criteria.name)
    if not any(_text_matches(n, name, criteria.approximate_name)
               for n in (traits.birth_name, traits.used_name)):
        return False
    if criteria.given and not _given_matches(traits.given_names, normalise(criteria.given),
                                             criteria.approximate_name):
        return False
    if criteria.birth_date and traits.birth_date != criteria.birth_date:
        return False
    if criteria.sex not in ("", "U") and traits.sex != criteria.sex:
        return False
    postcode, city = (traits.address[-2], traits.address[-1]) \
        if len(traits.address) >= 2 else ("", "")
    if criteria.postcode and postcode.replace(" ", "") != criteria.postcode.replace(" ", ""):
        return False
    return not criteria.city or _text_matches(city, normalise(criteria.city),
                                              criteria.approximate_city)


def search(records: list[DmpRecord], criteria: SearchCriteria,
           max_results: int) -> list[DmpRecord]:
    """The DMPs matching, by birth name, given names and INS; more than ``max_results``
    raises ``DMPTooManyResults``."""
    found = sorted((r for r in records if matches(r, criteria)),
                   key=lambda r: (normalise(r.traits.birth_name),
                                  normalise(r.traits.given_names), r.ins))
    if len(found) > max_results:
        raise DmpRefusal(refusals.TOO_MANY_RESULTS, f"{len(found)} patients match, more than "
                         f"the {max_results} answered: add criteria (given name, birth date, "
                         "city)")
    return found
