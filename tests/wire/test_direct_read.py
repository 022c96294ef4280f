"""The direct reading of request bodies (simulator/soap/direct.py) answers exactly as
spyne's own request path: same objects, same bytes on the wire, same faults.

Each body of the corpus goes through the INSi endpoint twice, with the direct path and
with spyne's path only, and both answers must be byte-identical. The corpus holds the
bodies real clients send (which must take the direct path) and odd or hostile ones
(which the direct reader must hand to spyne, whose faults they get).
"""
from __future__ import annotations

import pytest
from lxml import etree
from spyne import MethodContext
from werkzeug.test import Client

from envelopes import CONTEXTE_BAM, SOAP_CT, contexte_lps, envelope, wsa
from simulator.app import create_app
from simulator.settings import Settings, parse_datetime
from simulator.soap.direct import DECLINED
from simulator.soap.parsing import parse_soap12

RECSANS = 'xmlns:r="http://www.cnamts.fr/INSiRecSans"'
RECVIT = 'xmlns:v="http://www.cnamts.fr/INSiRecVit"'
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
ADRTROIS = ("<r:NomNaissance>ADRTROIS</r:NomNaissance><r:Prenom>DOMINIQUE</r:Prenom>"
            "<r:Sexe>F</r:Sexe><r:DateNaissance>1997-02-26</r:DateNaissance>")


def traits(inner: str, attrs: str = "") -> tuple[str, str]:
    return "rechercherInsAvecTraitsIdentite", f"<r:RECSANSVITALE {RECSANS}{attrs}>{inner}</r:RECSANSVITALE>"


def vitale(inner: str) -> tuple[str, str]:
    return "rechercherInsAvecCarteVitale", f"<v:RECVITALE {RECVIT}>{inner}</v:RECVITALE>"


# Read directly: what clients send, CR 00/01/02 and the faults of the handlers' checks.
DIRECT = {
    "cr00": traits(ADRTROIS),
    "cr00-place": traits(ADRTROIS + "<r:LieuNaissance>2A020</r:LieuNaissance>"),
    "cr01": traits(ADRTROIS.replace("ADRTROIS", "NOBODY")),
    "two-first-names": traits(ADRTROIS.replace(
        "<r:Prenom>DOMINIQUE</r:Prenom>", "<r:Prenom>DOMINIQUE</r:Prenom><r:Prenom>ANNE</r:Prenom>")),
    "pretty-printed": traits("\n  " + ADRTROIS.replace("><r:", ">\n  <r:") + "\n"),
    "empty-sexe": traits(ADRTROIS.replace("<r:Sexe>F</r:Sexe>", "<r:Sexe/>")),
    "spaces-in-name": traits(ADRTROIS.replace("ADRTROIS", "  ADRTROIS ")),
    "cdata-and-entity": traits(ADRTROIS.replace("ADRTROIS", "<![CDATA[ADR]]>TR&#79;IS")),
    "members-reordered": traits("<r:Sexe>F</r:Sexe><r:DateNaissance>1997-02-26</r:DateNaissance>"
                                "<r:Prenom>DOMINIQUE</r:Prenom><r:NomNaissance>ADRTROIS"
                                "</r:NomNaissance>"),
    "no-name": traits(ADRTROIS.replace("<r:NomNaissance>ADRTROIS</r:NomNaissance>", "")),
    "empty-body-element": traits(""),
    "vitale-individual": vitale("<v:MatriculeIndividu><v:NumIdentifiant>297022A020778"
                                "</v:NumIdentifiant></v:MatriculeIndividu>"
                                "<v:DateNaissance>1997-02-26</v:DateNaissance>"),
    "vitale-od-rank": vitale("<v:MatriculeOD><v:NumIdentifiant>1630125395008</v:NumIdentifiant>"
                             "<v:Cle>30</v:Cle></v:MatriculeOD>"
                             "<v:DateNaissance>1997-02-26</v:DateNaissance>"
                             "<v:RangNaissance>1</v:RangNaissance>"),
    "vitale-bad-rank": vitale("<v:MatriculeIndividu><v:NumIdentifiant>297022A020778"
                              "</v:NumIdentifiant></v:MatriculeIndividu>"
                              "<v:DateNaissance>1997-02-26</v:DateNaissance>"
                              "<v:RangNaissance>un</v:RangNaissance>"),
}

# Handed to spyne: its own reading (and faults) must stay what they were.
SPYNE = {
    "duplicate-name": traits("<r:NomNaissance>X</r:NomNaissance>" + ADRTROIS),
    "unknown-member": traits(ADRTROIS + "<r:Surnom>DOM</r:Surnom>"),
    "unqualified-member": traits(ADRTROIS.replace("<r:Sexe>F</r:Sexe>", '<Sexe xmlns="">F</Sexe>')),
    "other-namespace-member": traits(ADRTROIS.replace(
        "<r:Sexe>F</r:Sexe>", '<o:Sexe xmlns:o="urn:other">F</o:Sexe>')),
    "comment-between-members": traits(ADRTROIS.replace("<r:Sexe>", "<!-- c --><r:Sexe>")),
    "comment-in-leaf": traits(ADRTROIS.replace("ADRTROIS", "ADR<!-- c -->TROIS")),
    "element-in-leaf": traits(ADRTROIS.replace("ADRTROIS", "ADR<r:b>TR</r:b>OIS")),
    "attribute-on-leaf": traits(ADRTROIS.replace("<r:Prenom>", '<r:Prenom lang="fr">')),
    "attribute-named-like-a-member": traits(ADRTROIS.replace(
        "<r:NomNaissance>", '<r:NomNaissance Sexe="M">')),
    "xsi-nil-leaf": traits(ADRTROIS.replace("<r:Sexe>F</r:Sexe>",
                                            f'<r:Sexe {XSI} xsi:nil="true"/>')),
    "xsi-nil-body": traits(ADRTROIS, f' {XSI} xsi:nil="true"'),
    "xsi-type-body": traits(ADRTROIS, f' {XSI} xsi:type="r:Nothing"'),
    "vitale-matricule-attribute": vitale(
        '<v:MatriculeIndividu v:x="1"><v:NumIdentifiant>297022A020778</v:NumIdentifiant>'
        "</v:MatriculeIndividu><v:DateNaissance>1997-02-26</v:DateNaissance>"),
    "vitale-two-dates": vitale("<v:MatriculeIndividu><v:NumIdentifiant>297022A020778"
                               "</v:NumIdentifiant></v:MatriculeIndividu>"
                               "<v:DateNaissance>1997-02-26</v:DateNaissance>"
                               "<v:DateNaissance>1997-02-27</v:DateNaissance>"),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """One simulator for the module (a simulator keeps its files open for the process's
    life): 2024-01-15, frozen, as the shared ``app`` fixture."""
    return create_app(Settings(data_dir=tmp_path_factory.mktemp("direct"), population=100,
                               date=parse_datetime("2024-01-15T10:00:00Z"), frozen=True))


def request_of(operation: str, body: str, before_body: str = "") -> bytes:
    return envelope(before_body + body, CONTEXTE_BAM + contexte_lps() + wsa(operation))


def endpoint_of(app):
    return app.simulator.endpoints["/lps"]


def answer(client, data: bytes, endpoint, direct: bool):
    """(status, body) of one request, with the direct path on or off."""
    saved = endpoint.direct
    if not direct:
        endpoint.direct = {}
    try:
        response = client.post("/lps", data=data, content_type=SOAP_CT)
    finally:
        endpoint.direct = saved
    return response.status_code, response.data


def direct_reading(endpoint, data: bytes):
    """What the direct reader makes of the request's body (DECLINED or the argument)."""
    request = parse_soap12(data, SOAP_CT)
    _, key = endpoint.binding.resolve_operation(request)
    return endpoint.direct[key].read(request.body_element)


def spyne_reading(endpoint, data: bytes):
    """The argument spyne's own deserialiser builds from the request's body."""
    request = parse_soap12(data, SOAP_CT)
    _, key = endpoint.binding.resolve_operation(request)
    descriptor = endpoint.app.interface.service_method_map[key][0]
    ctx = MethodContext(endpoint, MethodContext.SERVER)
    return endpoint.app.in_protocol.from_element(ctx, descriptor.in_message,
                                                 request.body_element)


def fields(value):
    """A spyne object as plain data, nested objects included, for comparison."""
    if hasattr(value, "__dict__"):
        return (type(value).__name__, {k: fields(v) for k, v in vars(value).items()})
    if isinstance(value, list):
        return [fields(v) for v in value]
    return value


def test_both_insi_operations_and_every_dmp_method_are_read_directly(app):
    """Every service's methods are eligible (the INSi models and the DMP's AnyXml)."""
    for path, endpoint in app.simulator.endpoints.items():
        assert set(endpoint.direct) == set(endpoint.app.interface.service_method_map), path


@pytest.mark.parametrize("name", sorted(DIRECT))
def test_direct_reading_builds_what_spyne_builds_and_answers_the_same(app, name):
    endpoint, client = endpoint_of(app), Client(app)
    data = request_of(*DIRECT[name])
    argument = direct_reading(endpoint, data)
    assert argument is not DECLINED
    assert fields(argument) == fields(spyne_reading(endpoint, data))
    assert answer(client, data, endpoint, True) == answer(client, data, endpoint, False)


@pytest.mark.parametrize("name", sorted(SPYNE))
def test_odd_bodies_are_left_to_spyne_and_get_its_answer(app, name):
    endpoint, client = endpoint_of(app), Client(app)
    data = request_of(*SPYNE[name])
    assert direct_reading(endpoint, data) is DECLINED
    assert answer(client, data, endpoint, True) == answer(client, data, endpoint, False)


def test_a_comment_before_the_body_element_is_left_to_spyne(app):
    """spyne reads the first child of soap:Body, whatever it is."""
    endpoint, client = endpoint_of(app), Client(app)
    data = request_of(*DIRECT["cr00"], before_body="<!-- first -->")
    assert direct_reading(endpoint, data) is DECLINED
    assert answer(client, data, endpoint, True) == answer(client, data, endpoint, False)


def test_the_duplicate_member_fault_is_spyne_s(app):
    """A member twice is refused with spyne's frequency fault, as before."""
    endpoint, client = endpoint_of(app), Client(app)
    status, body = answer(client, request_of(*SPYNE["duplicate-name"]), endpoint, True)
    erreur = etree.fromstring(body).find(".//{urn:siram}Erreur")
    assert status == 500 and erreur.get("code") == "insi_400"
    assert "does not respect frequency constraints" in erreur.text


def test_dmp_anyxml_body_is_handed_over_as_spyne_does(app):
    """A DMP body (AnyXml): its first child node, or None, as spyne's reader gives."""
    endpoint = app.simulator.endpoints["/si-dmp-server/v2/services/registry"]
    method = next(iter(endpoint.direct.values()))
    for xml in ('<q:AdhocQueryRequest xmlns:q="urn:q"><q:A/><q:B/></q:AdhocQueryRequest>',
                '<q:AdhocQueryRequest xmlns:q="urn:q"><!-- c --><q:A/></q:AdhocQueryRequest>',
                '<q:AdhocQueryRequest xmlns:q="urn:q" x="1"/>'):
        element = etree.fromstring(xml)
        body = etree.Element("{http://www.w3.org/2003/05/soap-envelope}Body")
        body.append(element)
        descriptor = next(iter(endpoint.app.interface.service_method_map.values()))[0]
        ctx = MethodContext(endpoint, MethodContext.SERVER)
        expected = endpoint.app.in_protocol.from_element(ctx, descriptor.in_message, element)
        assert method.read(element) is expected
    nil = etree.fromstring('<q:R xmlns:q="urn:q" xmlns:xsi="http://www.w3.org/2001/'
                           'XMLSchema-instance" xsi:nil="true"/>')
    assert method.read(nil) is DECLINED
