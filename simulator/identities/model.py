"""The identity record shared by every simulated service (INSi now, the DMP next).

An :class:`Identity` is what the national bases (RNIPP/SNGI/RFI) know of one person:
the five INS traits, the active matricule and its history, and the Vitale-card data
(ouvrant-droit matricule and rang de naissance) that a card search uses.
"""
from __future__ import annotations

from dataclasses import dataclass, field

OID_INS_NIR = "1.2.250.1.213.1.4.8"
OID_INS_NIA = "1.2.250.1.213.1.4.9"
OID_INS_NIR_TEST = "1.2.250.1.213.1.4.10"
OID_INS_NIR_DEMO = "1.2.250.1.213.1.4.11"


@dataclass(frozen=True)
class Matricule:
    """One INS matricule: 13-character number, 2-digit key, assigning-authority OID.

    ``start`` and ``end`` are the optional ``DateDeb``/``DateFin`` of a historical
    matricule (``INSHISTO``), as ``YYYY-MM-DD`` strings, returned verbatim.
    """

    number: str
    key: str
    oid: str = OID_INS_NIR
    start: str | None = None
    end: str | None = None

    @property
    def ins(self) -> str:
        """The 15-character INS (number followed by key)."""
        return self.number + self.key


@dataclass(frozen=True)
class Identity:
    """A person as the national identity bases know them.

    ``first_names`` are the birth first names in civil-status order; ``ListePrenom``
    is their space-separated join. ``birth_date`` is a ``DateLunaire`` string and may
    be a non-calendar date such as ``1950-00-00``. ``document_traits`` holds the traits
    printed on the person's identity document when they differ from the RNIPP
    (a discrepancy the CNAM says happens): keys among ``birth_name``,
    ``first_names``, ``sex``, ``birth_date``, ``birth_place``. ``cnam_traits`` holds
    what the CNAM (SNGI, the Vitale data TD0.0 answers from) knows when it differs from
    the RNIPP/INSi identity: keys among ``birth_name``, ``first_names``, ``birth_date``.
    """

    key: str
    birth_name: str
    first_names: tuple[str, ...]
    sex: str
    birth_date: str
    birth_place: str
    active: Matricule
    history: tuple[Matricule, ...] = ()
    od_number: str | None = None
    od_key: str | None = None
    birth_rank: int = 1
    source: str = "generated"
    document_traits: dict = field(default_factory=dict)
    notes: str = ""
    cnam_traits: dict = field(default_factory=dict)

    @property
    def first_names_list(self) -> str:
        """``ListePrenom``: the birth first names joined by single spaces."""
        return " ".join(self.first_names)

    @property
    def first_first_name(self) -> str:
        """The first first name (premier prénom), possibly composite."""
        return self.first_names[0] if self.first_names else ""

    def cnam_trait(self, name: str):
        """A trait as the CNAM knows it: ``cnam_traits[name]``, else the RNIPP's."""
        return self.cnam_traits.get(name, getattr(self, name))

    @property
    def ouvrant_droit(self) -> str:
        """The ouvrant-droit matricule number used on the Vitale card (own if adult)."""
        return self.od_number or self.active.number
