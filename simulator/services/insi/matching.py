"""How INSi finds a person: pure rules, no XML, no store.

Traits search (domain brief §9): exact birth name, sex and birth date; the queried first
name must equal the first first name or the whole ListePrenom; an optional birth place
narrows. Vitale search: the beneficiary's own matricule, or the ouvrant-droit's
matricule plus birth date and rang. Zero matches -> CR 01, one -> CR 00, more -> CR 02.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from simulator.identities.model import Identity

CR_LABELS = {"00": "OK", "01": "Aucune identite trouvee", "02": "Plusieurs identites trouvees"}
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class TraitsQuery:
    """The traits typed by the operator (RECSANSVITALE)."""

    birth_name: str
    first_names: tuple[str, ...]
    sex: str
    birth_date: str
    birth_place: str | None = None

    @property
    def first_name(self) -> str:
        """The queried first name(s): several Prenom elements count as one list."""
        return " ".join(self.first_names)


@dataclass(frozen=True)
class VitaleQuery:
    """What a Vitale card gives (RECVITALE)."""

    birth_date: str
    individual_number: str | None = None
    od_number: str | None = None
    birth_rank: int | None = None


@dataclass(frozen=True)
class SearchOutcome:
    """The compte-rendu of a search and, for CR 00, the identity found."""

    code: str
    identity: Identity | None = None

    @property
    def label(self) -> str:
        """LibelleCR, exactly as the service spells it (no accents)."""
        return CR_LABELS[self.code]


def normalise_name(text: str) -> str:
    """Upper case, trimmed, inner runs of spaces collapsed."""
    return _SPACES.sub(" ", text.strip()).upper()


def same_birth_place(a: str, b: str) -> bool:
    """Compare COGs, treating Corsica's 2A/2B and the legacy 20 as the same department."""
    def canon(cog: str) -> str:
        cog = cog.strip().upper()
        return "20" + cog[2:] if cog[:2] in ("2A", "2B") else cog
    return canon(a) == canon(b)


def first_name_matches(identity: Identity, queried: str) -> bool:
    """The query equals the first first name or the whole list of birth first names."""
    queried = normalise_name(queried)
    return queried in (identity.first_first_name, identity.first_names_list)


def outcome_of(matches: list[Identity]) -> SearchOutcome:
    """CR 00 for one match, 01 for none, 02 for several."""
    if len(matches) == 1:
        return SearchOutcome("00", matches[0])
    return SearchOutcome("01" if not matches else "02")


def match_traits(candidates: list[Identity], query: TraitsQuery) -> SearchOutcome:
    """Apply the traits rules to identities already sharing birth name, sex and date."""
    found = [i for i in candidates
             if normalise_name(i.birth_name) == normalise_name(query.birth_name)
             and i.sex == query.sex and i.birth_date == query.birth_date
             and first_name_matches(i, query.first_name)]
    if query.birth_place:
        found = [i for i in found if same_birth_place(i.birth_place, query.birth_place)]
    return outcome_of(found)


def match_vitale(candidates: list[Identity], query: VitaleQuery) -> SearchOutcome:
    """Apply the card rules to identities holding the card's matricule."""
    found = [i for i in candidates if i.birth_date == query.birth_date]
    if query.individual_number is None:
        found = [i for i in found if i.ouvrant_droit == query.od_number]
        if query.birth_rank is not None:
            found = [i for i in found if i.birth_rank == query.birth_rank]
    return outcome_of(found)
