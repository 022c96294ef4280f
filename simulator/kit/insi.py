"""INSi requests: the SOAP headers every call needs and the two search bodies.

The INSi teleservice refuses a call without its context headers (domain brief INSI.md
§3.2, docs/insi.md): ``ContexteBAM`` (Version 01_02, Id, Temps, ``COUVERTURE``),
``ContexteLPS`` (Nature CTXLPS, Version 01_00, Id, Temps, the software's ``IDAM`` with
R=4, Version, Nom) and WS-Addressing ``Action`` and ``MessageID`` (``uuid:...``).
:func:`headers` writes them as XML; :func:`zeep_headers` as zeep elements for
``service.rechercherInsAvecTraitsIdentite(..., _soapheaders=zeep_headers(client))``.

Example::

    import urllib.request
    from simulator.kit import insi
    raw = insi.traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26")
    urllib.request.urlopen(urllib.request.Request(
        "http://127.0.0.1:8080/lps", raw, {"Content-Type": insi.SOAP_CT}))
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from xml.sax.saxutils import escape

SOAP_CT = "application/soap+xml; charset=utf-8"
NS_CTXBAM = "urn:siram:bam:ctxbam"
NS_CTXLPS = "urn:siram:lps:ctxlps"
NS_WSA = "http://www.w3.org/2005/08/addressing"
ACTION_PREFIX = "urn:ServiceIdentiteCertifiee:1.0.0:"
TRAITS = "rechercherInsAvecTraitsIdentite"
VITALE = "rechercherInsAvecCarteVitale"
DEFAULT_IDAM = "PDP17NF21DD0"  # the IDAM of the CNDA test book's software


def xs_now() -> str:
    """Now as INSi clients send it: UTC, milliseconds, ``Z``."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def contexte_bam(*, id: str | None = None, temps: str | None = None,
                 emetteur: str | None = None) -> str:
    """A ContexteBAM header block (fresh Id and Temps unless given)."""
    sender = f"<ctxbam:Emetteur>{escape(emetteur)}</ctxbam:Emetteur>" if emetteur else ""
    return (f'<ctxbam:ContexteBAM xmlns:ctxbam="{NS_CTXBAM}" Version="01_02">'
            f"<ctxbam:Id>{id or uuid.uuid4()}</ctxbam:Id>"
            f"<ctxbam:Temps>{temps or xs_now()}</ctxbam:Temps>{sender}"
            "<ctxbam:COUVERTURE/></ctxbam:ContexteBAM>")


def contexte_lps(idam: str = DEFAULT_IDAM, version: str | None = "01_00", *,
                 id: str | None = None, temps: str | None = None,
                 emetteur: str | None = None, software_version: str = "1.0",
                 instance: str | None = None, software: str = "urn:lps:my-software:1.0") -> str:
    """A ContexteLPS header block: ``idam`` is the software's number (IDAM R=4),
    ``software`` its ``Nom``, what the simulator's journal reports as the calling
    software."""
    version_attr = f' Version="{version}"' if version else ""
    sender = f"<ctxlps:Emetteur>{escape(emetteur)}</ctxlps:Emetteur>" if emetteur else ""
    instance_xml = f"<ctxlps:Instance>{instance}</ctxlps:Instance>" if instance else ""
    return (f'<ctxlps:ContexteLPS xmlns:ctxlps="{NS_CTXLPS}" Nature="CTXLPS"'
            f"{version_attr}><ctxlps:Id>{id or uuid.uuid4()}</ctxlps:Id>"
            f"<ctxlps:Temps>{temps or xs_now()}</ctxlps:Temps>{sender}"
            f'<ctxlps:LPS><ctxlps:IDAM R="4">{escape(idam)}</ctxlps:IDAM>'
            f"<ctxlps:Version>{escape(software_version)}</ctxlps:Version>{instance_xml}"
            f"<ctxlps:Nom>{escape(software)}</ctxlps:Nom></ctxlps:LPS></ctxlps:ContexteLPS>")


def wsa(operation: str, message_id: str | None = "") -> str:
    """wsa:Action (of ``operation``) and wsa:MessageID headers; ``message_id`` '' makes a
    fresh ``uuid:...``, None leaves it out."""
    text = f'<wsa:Action xmlns:wsa="{NS_WSA}">{ACTION_PREFIX}{operation}</wsa:Action>'
    if message_id is not None:
        text += (f'<wsa:MessageID xmlns:wsa="{NS_WSA}">{message_id or f"uuid:{uuid.uuid4()}"}'
                 "</wsa:MessageID>")
    return text


def headers(operation: str, **lps_options) -> str:
    """Every header an INSi call needs: ContexteBAM, ContexteLPS (``lps_options``),
    WS-Addressing; fresh ids and time."""
    temps = xs_now()
    return contexte_bam(temps=temps) + contexte_lps(temps=temps, **lps_options) + wsa(operation)


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


def vitale_body(born: str, individual: str | None = None, od: str | None = None,
                rank: int | None = None) -> str:
    """A RECVITALE body; a matricule of 15 characters is sent as NumIdentifiant + Cle,
    one of 13 as NumIdentifiant alone."""
    def matricule(tag, number):
        if not number:
            return ""
        key = f"<v:Cle>{number[13:]}</v:Cle>" if len(number) > 13 else ""
        return f"<v:{tag}><v:NumIdentifiant>{number[:13]}</v:NumIdentifiant>{key}</v:{tag}>"
    return ('<v:RECVITALE xmlns:v="http://www.cnamts.fr/INSiRecVit">'
            + matricule("MatriculeIndividu", individual) + matricule("MatriculeOD", od)
            + f"<v:DateNaissance>{born}</v:DateNaissance>"
            + (f"<v:RangNaissance>{rank}</v:RangNaissance>" if rank is not None else "")
            + "</v:RECVITALE>")


def traits_request(name, first_names, sex, born, place=None, *, headers_xml=None,
                   **lps_options) -> bytes:
    """A complete traits search (rechercherInsAvecTraitsIdentite)."""
    return envelope(traits_body(name, first_names, sex, born, place),
                    headers_xml if headers_xml is not None else headers(TRAITS, **lps_options))


def vitale_request(born: str, individual: str | None = None, od: str | None = None,
                   rank: int | None = None, *, headers_xml=None, **lps_options) -> bytes:
    """A complete Vitale-card search (rechercherInsAvecCarteVitale)."""
    return envelope(vitale_body(born, individual, od, rank),
                    headers_xml if headers_xml is not None else headers(VITALE, **lps_options))


def zeep_headers(client, *, idam: str = DEFAULT_IDAM, idam_r: str | None = "4",
                 software: str = "urn:lps:my-software:1.0", emetteur: str | None = None,
                 instance: str | None = None, message_id: str | None = "",
                 lps: bool = True, bam: bool = True, couverture: dict | None = None) -> list:
    """The same headers as zeep element objects of ``client``'s schema (a zeep.Client
    built from the simulator's ``/lps?wsdl``), for ``_soapheaders=``. zeep writes
    wsa:Action itself; ``message_id`` '' makes a fresh ``uuid:...``, None none."""
    found, temps = [], xs_now()
    if lps:
        idam_value = {"_value_1": idam}
        if idam_r is not None:
            idam_value["R"] = idam_r
        lps_value = {"IDAM": idam_value, "Version": "1.0.0", "Nom": software}
        if instance:
            lps_value["Instance"] = instance
        found.append(client.get_element(f"{{{NS_CTXLPS}}}ContexteLPS")(
            Nature="CTXLPS", Version="01_00", Id=str(uuid.uuid4()), Temps=temps,
            Emetteur=emetteur, LPS=lps_value))
    if bam:
        found.append(client.get_element(f"{{{NS_CTXBAM}}}ContexteBAM")(
            Version="01_02", Id=str(uuid.uuid4()), Temps=temps, Emetteur=emetteur,
            COUVERTURE=couverture or {}))
    if message_id is not None:
        found.append(client.get_element(f"{{{NS_WSA}}}MessageID")(
            message_id or f"uuid:{uuid.uuid4()}"))
    return found
