"""INSi contract facts (DESIR_ICIR_EXP 1.5.0) and the spyne models of the request bodies.

The models mirror the official XSD types so spyne deserialises request bodies into
typed objects; responses are written by :mod:`simulator.services.insi.rendering`.
"""
from __future__ import annotations

from spyne import ComplexModel, Unicode

NS_RECSANS = "http://www.cnamts.fr/INSiRecSans"
NS_RECVIT = "http://www.cnamts.fr/INSiRecVit"
NS_RESULTAT = "http://www.cnamts.fr/INSiResultat"
NS_CTXLPS = "urn:siram:lps:ctxlps"
NS_CTXBAM = "urn:siram:bam:ctxbam"
NS_SIRAM = "urn:siram"
TNS = "http://www.cnamts.fr/webservice"

OP_TRAITS = "rechercherInsAvecTraitsIdentite"
OP_VITALE = "rechercherInsAvecCarteVitale"
ACTION_PREFIX = "urn:ServiceIdentiteCertifiee:1.0.0:"

# Header blocks, and the paths (child tags) in ContexteLPS of the calling software's
# number (IDAM), name and version.
CONTEXTE_LPS = f"{{{NS_CTXLPS}}}ContexteLPS"
CONTEXTE_BAM = f"{{{NS_CTXBAM}}}ContexteBAM"
LPS_IDAM = (f"{{{NS_CTXLPS}}}LPS", f"{{{NS_CTXLPS}}}IDAM")
LPS_NAME = (f"{{{NS_CTXLPS}}}LPS", f"{{{NS_CTXLPS}}}Nom")
LPS_VERSION = (f"{{{NS_CTXLPS}}}LPS", f"{{{NS_CTXLPS}}}Version")

# Body element -> operation: the service dispatches on the body, not on the action.
OPERATIONS_BY_BODY = {
    f"{{{NS_RECSANS}}}RECSANSVITALE": OP_TRAITS,
    f"{{{NS_RECVIT}}}RECVITALE": OP_VITALE,
}


def action_of(operation: str) -> str:
    """The soapAction / wsa:Action of an operation's input message."""
    return ACTION_PREFIX + operation


class TraitsDIdentite(ComplexModel):
    """RECSANSVITALE: identity traits typed by the operator."""

    __namespace__ = NS_RECSANS
    __type_name__ = "TraitsDIdentite"
    _type_info = [
        ("NomNaissance", Unicode),
        ("Prenom", Unicode(max_occurs="unbounded")),
        ("Sexe", Unicode),
        ("DateNaissance", Unicode),
        ("LieuNaissance", Unicode),
    ]


class MatriculeVitale(ComplexModel):
    """A matricule as read from a Vitale card."""

    __namespace__ = NS_RECVIT
    __type_name__ = "Matricule"
    _type_info = [("NumIdentifiant", Unicode), ("Cle", Unicode), ("TypeMatricule", Unicode)]


class Beneficiaire(ComplexModel):
    """RECVITALE: the beneficiary as read from a Vitale card."""

    __namespace__ = NS_RECVIT
    __type_name__ = "Beneficiaire"
    _type_info = [
        ("MatriculeIndividu", MatriculeVitale),
        ("MatriculeOD", MatriculeVitale),
        ("NomNaissance", Unicode),
        ("DateNaissance", Unicode),
        # Kept as text so that a bad value gets a fault naming the element.
        ("RangNaissance", Unicode),
    ]
