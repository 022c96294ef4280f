"""The INSi teleservice: thin spyne handlers over the matching rules.

Each handler checks the headers, turns the typed body into a query, asks the registry
and the matching rules, and returns a :class:`SearchOutcome`; rendering and faults are
the binding's job.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from spyne import Service, Unicode, rpc

from simulator.calendar import RegulatoryCalendar
from simulator.clock import SimClock
from simulator.ports.store import InsiStore
from simulator.services.insi import quirks
from simulator.services.insi.contract import (
    NS_RECSANS, NS_RECVIT, OP_TRAITS, OP_VITALE, Beneficiaire, TraitsDIdentite)
from simulator.services.insi.headers import (
    check_action, check_client_certificate, check_headers, invalid)
from simulator.services.insi.matching import (
    SearchOutcome, TraitsQuery, VitaleQuery, match_traits, match_vitale, normalise_name)
from simulator.settings import Settings

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# XSD NIR pattern; positions 6-7 carry the department, 2A/2B for Corsica.
_NIR = re.compile(r"^\d{6}[0-9AB]\d{6}$")


@dataclass
class InsiContext:
    """What the INSi handlers need: the registry, the settings, the clock and calendar."""

    store: InsiStore
    settings: Settings
    clock: SimClock
    calendar: RegulatoryCalendar


class InsiService(Service):
    """Both operations of DESIR_ICIR_EXP 1.5.0.

    Handlers return a :class:`SearchOutcome`, which the binding renders; ``_returns``
    only satisfies spyne, whose serialiser and generated WSDL are not used.
    """

    @rpc(TraitsDIdentite, _body_style="bare", _returns=Unicode,
         _in_message_name=f"{{{NS_RECSANS}}}RECSANSVITALE")
    def rechercherInsAvecTraitsIdentite(ctx, traits):
        """WS #2: the INS of the person with these traits (CR 00, 01 or 02)."""
        service = checked_service(ctx, OP_TRAITS)
        query = traits_query(traits)
        if service.settings.insi_qualif_quirks and quirks.gives_technical_error(query):
            quirks.raise_technical_error()
        candidates = service.store.identities_by_traits(query.birth_name, query.sex,
                                                        query.birth_date)
        return match_traits(candidates, query)

    @rpc(Beneficiaire, _body_style="bare", _returns=Unicode,
         _in_message_name=f"{{{NS_RECVIT}}}RECVITALE")
    def rechercherInsAvecCarteVitale(ctx, beneficiaire):
        """WS #1: the INS of the beneficiary of a Vitale card."""
        service = checked_service(ctx, OP_VITALE)
        query = vitale_query(beneficiaire)
        if query.individual_number:
            candidates = service.store.identities_by_matricule(query.individual_number,
                                                               ("active", "history"))
        else:
            candidates = service.store.identities_by_matricule(query.od_number,
                                                               ("ouvrant-droit",))
        return match_vitale(candidates, query)


def checked_service(ctx, operation: str) -> InsiContext:
    """Check the client certificate, the action and the headers of the request; return
    the INSi context."""
    exchange = ctx.udc
    check_client_certificate(exchange.client_certificate)
    check_action(exchange.request, operation)
    check_headers(exchange.request, exchange.service.settings.insi_idams)
    return exchange.service


def traits_query(traits: TraitsDIdentite) -> TraitsQuery:
    """Validate RECSANSVITALE and build the query (faults name the missing trait)."""
    if traits is None:
        raise invalid("RECSANSVITALE is empty")
    name = normalise_name(traits.NomNaissance or "")
    first_names = tuple(normalise_name(p) for p in (traits.Prenom or []) if p and p.strip())
    if not name:
        raise invalid("RECSANSVITALE/NomNaissance is missing or empty")
    if not first_names:
        raise invalid("RECSANSVITALE/Prenom is missing or empty")
    sex = (traits.Sexe or "").strip()
    if sex not in ("M", "F"):
        raise invalid(f"RECSANSVITALE/Sexe must be M or F, got {traits.Sexe!r}")
    birth_date = _date(traits.DateNaissance, "RECSANSVITALE/DateNaissance")
    place = (traits.LieuNaissance or "").strip() or None
    if place is not None and not re.match(r"^[0-9AB]{5}$", place.upper()):
        raise invalid(f"RECSANSVITALE/LieuNaissance must be a 5-character COG, got {place!r}")
    return TraitsQuery(name, first_names, sex, birth_date, place and place.upper())


def vitale_query(beneficiaire: Beneficiaire) -> VitaleQuery:
    """Validate RECVITALE and build the query."""
    if beneficiaire is None:
        raise invalid("RECVITALE is empty")
    birth_date = _date(beneficiaire.DateNaissance, "RECVITALE/DateNaissance")
    individual = _matricule(beneficiaire.MatriculeIndividu, "MatriculeIndividu")
    od = _matricule(beneficiaire.MatriculeOD, "MatriculeOD")
    if individual is None and od is None:
        raise invalid("RECVITALE needs MatriculeIndividu or MatriculeOD")
    rank = (beneficiaire.RangNaissance or "").strip()
    if rank and not (rank.isascii() and rank.isdigit()):  # not superscripts, as int() is
        raise invalid(f"RECVITALE/RangNaissance must be a whole number, got {rank!r}")
    return VitaleQuery(birth_date, individual, od, int(rank) if rank else None)


def _date(value: str | None, where: str) -> str:
    value = (value or "").strip()
    if not _DATE.match(value):
        raise invalid(f"{where} must be a date YYYY-MM-DD, got {value or '(nothing)'!r}")
    return value


def _matricule(matricule, label: str) -> str | None:
    if matricule is None or not (matricule.NumIdentifiant or "").strip():
        return None
    number = matricule.NumIdentifiant.strip().upper()
    if not _NIR.match(number):
        raise invalid(f"RECVITALE/{label}/NumIdentifiant must be a 13-character NIR "
                      f"without key (6 digits, digit or A/B, 6 digits), got "
                      f"{matricule.NumIdentifiant!r}")
    return number


__all__ = ["InsiService", "InsiContext", "SearchOutcome"]
