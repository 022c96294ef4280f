"""Builders of INSi request envelopes as real clients send them (domain brief §3.2)."""
from __future__ import annotations

from xml.sax.saxutils import escape

MESSAGE_ID = "uuid:b3549edd-4ae9-472a-b26f-fd2fb4ef397f"
SOAP_CT = "application/soap+xml; charset=utf-8"

CONTEXTE_BAM = (
    '<ctxbam:ContexteBAM xmlns:ctxbam="urn:siram:bam:ctxbam" Version="01_02">'
    "<ctxbam:Id>db0184e1-c933-462b-acbd-8f24a4f8a338</ctxbam:Id>"
    "<ctxbam:Temps>2022-03-01T10:29:58.604Z</ctxbam:Temps>"
    "<ctxbam:Emetteur>10B0152872</ctxbam:Emetteur><ctxbam:COUVERTURE/></ctxbam:ContexteBAM>")


def contexte_lps(idam: str = "PDP17NF21DD0", version: str | None = "01_00",
                 temps: str = "2022-03-01T10:29:58.604Z") -> str:
    """A ContexteLPS header block."""
    version_attr = f' Version="{version}"' if version else ""
    return (f'<ctxlps:ContexteLPS xmlns:ctxlps="urn:siram:lps:ctxlps" Nature="CTXLPS"'
            f"{version_attr}><ctxlps:Id>596fa3a6-c56f-4b8f-96cf-2d89769fc332</ctxlps:Id>"
            f"<ctxlps:Temps>{temps}</ctxlps:Temps><ctxlps:Emetteur>10B0152872</ctxlps:Emetteur>"
            f'<ctxlps:LPS><ctxlps:IDAM R="4">{idam}</ctxlps:IDAM><ctxlps:Version>2022'
            "</ctxlps:Version><ctxlps:Instance>ff67308e-039f-4158-9dcc-0a08a20ba35c"
            "</ctxlps:Instance><ctxlps:Nom>urn:lps:test:1.0</ctxlps:Nom></ctxlps:LPS>"
            "</ctxlps:ContexteLPS>")


def wsa(operation: str, message_id: str | None = MESSAGE_ID) -> str:
    """wsa:Action and wsa:MessageID headers."""
    text = ('<wsa:Action xmlns:wsa="http://www.w3.org/2005/08/addressing">'
            f"urn:ServiceIdentiteCertifiee:1.0.0:{operation}</wsa:Action>")
    if message_id:
        text += ('<wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">'
                 f"{message_id}</wsa:MessageID>")
    return text


def envelope(body: str, headers: str) -> bytes:
    """A SOAP 1.2 envelope."""
    return ('<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
            f"<soap:Header>{headers}</soap:Header><soap:Body>{body}</soap:Body>"
            "</soap:Envelope>").encode("utf-8")


def traits_body(name: str, first_names, sex: str, born: str, place: str | None = None) -> str:
    """A RECSANSVITALE body (first_names: one string or a list of Prenom elements)."""
    names = [first_names] if isinstance(first_names, str) else list(first_names)
    parts = [f"<r:NomNaissance>{escape(name)}</r:NomNaissance>"]
    parts += [f"<r:Prenom>{escape(p)}</r:Prenom>" for p in names]
    parts += [f"<r:Sexe>{sex}</r:Sexe>", f"<r:DateNaissance>{born}</r:DateNaissance>"]
    if place:
        parts.append(f"<r:LieuNaissance>{place}</r:LieuNaissance>")
    return ('<r:RECSANSVITALE xmlns:r="http://www.cnamts.fr/INSiRecSans">'
            + "".join(parts) + "</r:RECSANSVITALE>")


def traits_request(name, first_names, sex, born, place=None, *, headers=None) -> bytes:
    """A complete traits-search request with the usual headers."""
    headers = headers if headers is not None else (
        CONTEXTE_BAM + contexte_lps() + wsa("rechercherInsAvecTraitsIdentite"))
    return envelope(traits_body(name, first_names, sex, born, place), headers)


def vitale_request(born: str, individual: str | None = None, od: str | None = None,
                   rank: int | None = None) -> bytes:
    """A complete Vitale-card search request."""
    def matricule(tag, number):
        return (f"<v:{tag}><v:NumIdentifiant>{number}</v:NumIdentifiant></v:{tag}>"
                if number else "")
    body = ('<v:RECVITALE xmlns:v="http://www.cnamts.fr/INSiRecVit">'
            + matricule("MatriculeIndividu", individual) + matricule("MatriculeOD", od)
            + f"<v:DateNaissance>{born}</v:DateNaissance>"
            + (f"<v:RangNaissance>{rank}</v:RangNaissance>" if rank is not None else "")
            + "</v:RECVITALE>")
    return envelope(body, CONTEXTE_BAM + contexte_lps() + wsa("rechercherInsAvecCarteVitale"))
