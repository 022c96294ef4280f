"""INSi request envelopes for the tests: the kit's builders (simulator.kit.insi) with
fixed ids and times, so that goldens and recorded bodies are reproducible."""
from __future__ import annotations

from simulator.kit import insi
from simulator.kit.insi import SOAP_CT, envelope, traits_body  # noqa: F401 - for tests

MESSAGE_ID = "uuid:b3549edd-4ae9-472a-b26f-fd2fb4ef397f"
TEMPS = "2022-03-01T10:29:58.604Z"
EMETTEUR = "10B0152872"
CONTEXTE_BAM = insi.contexte_bam(id="db0184e1-c933-462b-acbd-8f24a4f8a338", temps=TEMPS,
                                 emetteur=EMETTEUR)


def contexte_lps(idam: str = "PDP17NF21DD0", version: str | None = "01_00",
                 temps: str = TEMPS) -> str:
    """A ContexteLPS header block with the tests' fixed ids."""
    return insi.contexte_lps(idam, version, id="596fa3a6-c56f-4b8f-96cf-2d89769fc332",
                             temps=temps, emetteur=EMETTEUR, software_version="2022",
                             instance="ff67308e-039f-4158-9dcc-0a08a20ba35c",
                             software="urn:lps:test:1.0")


def wsa(operation: str, message_id: str | None = MESSAGE_ID) -> str:
    """wsa:Action and wsa:MessageID headers."""
    return insi.wsa(operation, message_id)


def traits_request(name, first_names, sex, born, place=None, *, headers=None) -> bytes:
    """A complete traits-search request with the usual headers."""
    return insi.traits_request(name, first_names, sex, born, place, headers_xml=headers if
                               headers is not None else CONTEXTE_BAM + contexte_lps()
                               + wsa(insi.TRAITS))


def vitale_request(born: str, individual: str | None = None, od: str | None = None,
                   rank: int | None = None) -> bytes:
    """A complete Vitale-card search request."""
    return insi.vitale_request(born, individual, od, rank, headers_xml=CONTEXTE_BAM
                               + contexte_lps() + wsa(insi.VITALE))
