"""INSi responses and faults, byte for byte, in both serialisation generations.

Templates, not a generic serialiser: the prefixes, namespace declarations and
attribute order are those of the qualification platform's captures (domain brief
§6 and §7.1), which an lxml tree could not reproduce (it always writes namespace
declarations before attributes).
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from simulator.identities.model import Identity, Matricule
from simulator.services.insi.errors import FaultSpec
from simulator.services.insi.matching import SearchOutcome

PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n'
ENVELOPE_OPEN = '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">'
ENVELOPE_CLOSE = "</env:Body></soap:Envelope>"
BODY_WITH_S = ('<env:Body xmlns:S="http://www.w3.org/2003/05/soap-envelope" '
               'xmlns:env="http://www.w3.org/2003/05/soap-envelope">')
BODY_ENV_ONLY = '<env:Body xmlns:env="http://www.w3.org/2003/05/soap-envelope">'

RESULTAT_OPEN = {
    # Since 2022-10-25: default namespace, ns0/ns1 declared but unused.
    "current": ('<RESULTAT xmlns="http://www.cnamts.fr/INSiResultat" '
                'xmlns:ns0="http://www.cnamts.fr/INSiRecVit" '
                'xmlns:ns1="http://www.cnamts.fr/INSiRecSans">'),
    # Before: prefixed ns2:, with INSiRecSans as the default namespace.
    "legacy-2022": ('<ns2:RESULTAT xmlns:ns3="http://www.cnamts.fr/INSiRecVit" '
                    'xmlns:ns2="http://www.cnamts.fr/INSiResultat" '
                    'xmlns="http://www.cnamts.fr/INSiRecSans">'),
}


def render_result(outcome: SearchOutcome, generation: str) -> bytes:
    """The full response envelope for a search outcome."""
    p = "ns2:" if generation == "legacy-2022" else ""
    parts = [PROLOG, ENVELOPE_OPEN, BODY_WITH_S, RESULTAT_OPEN[generation],
             _el(p, "CR", _el(p, "CodeCR", outcome.code) + _el(p, "LibelleCR", outcome.label))]
    if outcome.identity is not None:
        parts.append(_el(p, "INDIVIDU", _individu(outcome.identity, p, generation)))
    parts += [f"</{p}RESULTAT>", ENVELOPE_CLOSE]
    return "".join(parts).encode("utf-8")


def _individu(identity: Identity, p: str, generation: str) -> str:
    inner = _el(p, "INSACTIF", _matricule(identity.active, p))
    inner += "".join(_el(p, "INSHISTO", _matricule(m, p)) for m in identity.history)
    tiq = _el(p, "NomNaissance", identity.birth_name)
    if generation == "legacy-2022":
        tiq += _el(p, "Prenom", identity.first_first_name)
    tiq += _el(p, "ListePrenom", identity.first_names_list)
    tiq += _el(p, "Sexe", identity.sex) + _el(p, "DateNaissance", identity.birth_date)
    tiq += _el(p, "LieuNaissance", birth_place_as_sent(identity.birth_place, generation))
    return inner + _el(p, "TIQ", tiq)


def birth_place_as_sent(cog: str, generation: str) -> str:
    """Before Oct 2022 the platform sent Corsican places as 20xxx (ADRTROIS: 20020)."""
    if generation == "legacy-2022" and cog[:2] in ("2A", "2B"):
        return "20" + cog[2:]
    return cog


def _matricule(m: Matricule, p: str) -> str:
    text = _el(p, "IdIndividu", _el(p, "NumIdentifiant", m.number) + _el(p, "Cle", m.key))
    text += _el(p, "OID", m.oid)
    if m.start:
        text += _el(p, "DateDeb", m.start)
    if m.end:
        text += _el(p, "DateFin", m.end)
    return text


def _el(prefix: str, name: str, content: str) -> str:
    # Content is either escaped text or already-rendered child elements.
    return f"<{prefix}{name}>{content if content.startswith('<') else escape(content)}</{prefix}{name}>"


def render_fault(spec: FaultSpec, generation: str, message_id: str | None,
                 detail: str | None = None) -> bytes:
    """A SOAP 1.2 fault in the INSi dialect of the given generation ('legacy'/'current')."""
    legacy = generation == "legacy"
    s = "S:" if legacy else "soap:"
    reason = spec.reason.format(sep="\n" if legacy else " ")
    values = {"code": spec.erreur_code, "messageID": message_id,
              "severite": spec.severite_legacy if legacy else spec.severite_current}
    order = spec.attrs_legacy if legacy else spec.attrs_current
    attrs = "".join(f' {name}="{_attr(values[name])}"' for name in order
                    if values.get(name) is not None)
    text = spec.erreur_text.format(detail=detail or "")
    subcode = (f"<{s}Subcode><{s}Value>{s}{spec.subcode}</{s}Value></{s}Subcode>"
               if spec.subcode else "")
    fault_open = (f'<S:Fault xmlns:ns4="http://schemas.xmlsoap.org/soap/envelope/">'
                  if legacy else "<soap:Fault>")
    return "".join([
        PROLOG, ENVELOPE_OPEN, BODY_WITH_S if legacy else BODY_ENV_ONLY, fault_open,
        f"<{s}Code><{s}Value>{s}{spec.code_value}</{s}Value>{subcode}</{s}Code>",
        f'<{s}Reason><{s}Text xml:lang="{"en" if legacy else "fr"}">{escape(reason)}'
        f"</{s}Text></{s}Reason>",
        f'<{s}Detail><siram:Erreur{attrs} xmlns:siram="urn:siram">{escape(text)}'
        f"</siram:Erreur></{s}Detail>",
        f"</{s}Fault>", ENVELOPE_CLOSE,
    ]).encode("utf-8")


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})
