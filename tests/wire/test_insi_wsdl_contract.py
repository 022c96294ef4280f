"""Contract test: the simulator's own INSi WSDL/XSDs (wsdl/insi/) must be
interface-equivalent to the official CNAM contract DESIR_ICIR_EXP 1.5.0.

Everything runs offline.  The official contract is optional: when it is not
present next to the project (../shared/contracts/insi) the comparison parts
are skipped and only our own documents are checked.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest
import requests
import xmlschema
import zeep
from lxml import etree
from zeep.transports import Transport
from zeep.wsdl.bindings.soap import Soap12Binding
from zeep.xsd.elements.any import Any as ZeepAny
from zeep.xsd.types.complex import ComplexType

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OUR_DIR = PROJECT_ROOT / "wsdl" / "insi"
OUR_WSDL = OUR_DIR / "insi.wsdl"
OUR_XSD = OUR_DIR / "xsd"
OFFICIAL_DIR = PROJECT_ROOT.parent / "shared" / "contracts" / "insi"
OFFICIAL_WSDL = OFFICIAL_DIR / "DESIR_ICIR_EXP_1.5.0.wsdl"

# The official WSDL imports WS-Addressing from this (unreachable) URL.
W3_WSADDR_URL = "http://www.w3.org/2006/03/addressing/ws-addr.xsd"

NS_WSDL = "http://schemas.xmlsoap.org/wsdl/"
NS_WSAW = "http://www.w3.org/2006/02/addressing/wsdl"
NS_RECSANS = "http://www.cnamts.fr/INSiRecSans"
NS_RECVIT = "http://www.cnamts.fr/INSiRecVit"
NS_RESULTAT = "http://www.cnamts.fr/INSiResultat"
NS_WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
NS_WSA = "http://www.w3.org/2005/08/addressing"
NS_CTXLPS = "urn:siram:lps:ctxlps"
NS_CTXBAM = "urn:siram:bam:ctxbam"
NS_SIRAM = "urn:siram"

OPERATIONS = {
    "rechercherInsAvecCarteVitale": f"{{{NS_RECVIT}}}RECVITALE",
    "rechercherInsAvecTraitsIdentite": f"{{{NS_RECSANS}}}RECSANSVITALE",
}
HEADER_PARTS = [
    ("NO1_Security", f"{{{NS_WSSE}}}Security"),
    ("NO1_ContexteLPS", f"{{{NS_CTXLPS}}}ContexteLPS"),
    ("NO1_MessageID", f"{{{NS_WSA}}}MessageID"),
    ("NO1_ContexteBAM", f"{{{NS_CTXBAM}}}ContexteBAM"),
]
COMPARED_ELEMENTS = [
    f"{{{NS_RECSANS}}}RECSANSVITALE",
    f"{{{NS_RECVIT}}}RECVITALE",
    f"{{{NS_RESULTAT}}}RESULTAT",
    f"{{{NS_CTXLPS}}}ContexteLPS",
    f"{{{NS_CTXBAM}}}ContexteBAM",
    f"{{{NS_SIRAM}}}Erreur",
]

# namespace -> schema file (ours, official relative to the contract dir)
OUR_SCHEMAS = {
    NS_RECSANS: OUR_XSD / "INSi_RECSANS_INS.xsd",
    NS_RECVIT: OUR_XSD / "INSi_RECVITALE_INS.xsd",
    NS_RESULTAT: OUR_XSD / "INSi_RESULTAT_INS.xsd",
    NS_CTXLPS: OUR_XSD / "ctxlps.xsd",
    NS_CTXBAM: OUR_XSD / "ctxbam.xsd",
    NS_SIRAM: OUR_XSD / "siram_fault.xsd",
    NS_WSA: OUR_XSD / "ws-addr.xsd",
    NS_WSSE: OUR_XSD / "wsse.xsd",
}
OFFICIAL_SCHEMAS = {
    NS_RECSANS: "xsd/ServiceIdentiteCertifiee/INSi_RECSANS_INS.xsd",
    NS_RECVIT: "xsd/ServiceIdentiteCertifiee/INSi_RECVITALE_INS.xsd",
    NS_RESULTAT: "xsd/ServiceIdentiteCertifiee/INSi_RESULTAT_INS.xsd",
    NS_CTXLPS: "xsd/CTX/ROOT_ctxlps_CTXLPS_V01_00.xsd",
    NS_CTXBAM: "xsd/CTX/ROOT_ctxbam_CTXBAM_V01_02.xsd",
    NS_SIRAM: "xsd/schema_faultSOAP_V01_01.xsd",
}


# --------------------------------------------------------------------------
# Offline zeep loading
# --------------------------------------------------------------------------


class _NoNetworkSession(requests.Session):
    """requests session that only serves file:// URLs."""

    def request(self, method, url, *args, **kwargs):
        if urlparse(str(url)).scheme in ("http", "https"):
            raise AssertionError(f"network access attempted: {method} {url}")
        return super().request(method, url, *args, **kwargs)


class _LocalWsAddrTransport(Transport):
    """Serves the w3.org WS-Addressing schema from our local copy and refuses
    any other http(s) URL."""

    def load(self, url):
        if url == W3_WSADDR_URL:
            return (OUR_XSD / "ws-addr.xsd").read_bytes()
        if urlparse(str(url)).scheme in ("http", "https"):
            raise AssertionError(f"network access attempted: {url}")
        return super().load(url)


def _offline_transport(cls=Transport):
    return cls(session=_NoNetworkSession())


def _require_official():
    if not OFFICIAL_WSDL.is_file():
        pytest.skip(f"official INSi contract not available at {OFFICIAL_DIR}")


@pytest.fixture(scope="module")
def our_client():
    settings = zeep.Settings(forbid_external=True)
    return zeep.Client(wsdl=str(OUR_WSDL), transport=_offline_transport(), settings=settings)


@pytest.fixture(scope="module")
def official_client():
    _require_official()
    return zeep.Client(
        wsdl=str(OFFICIAL_WSDL), transport=_offline_transport(_LocalWsAddrTransport)
    )


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def _the_port(client):
    services = list(client.wsdl.services.values())
    assert len(services) == 1
    ports = list(services[0].ports.values())
    assert len(ports) == 1
    return services[0], ports[0]


def _wsaw_actions(wsdl_path: Path) -> dict:
    """operation -> (input wsaw:Action, output wsaw:Action), read from the XML."""
    doc = etree.parse(str(wsdl_path))
    result = {}
    for op in doc.iterfind(f"{{{NS_WSDL}}}portType/{{{NS_WSDL}}}operation"):
        actions = tuple(
            op.find(f"{{{NS_WSDL}}}{kind}").get(f"{{{NS_WSAW}}}Action")
            for kind in ("input", "output")
        )
        result[op.get("name")] = actions
    return result


def interface_summary(client, wsdl_path: Path) -> dict:
    """A comparable description of the SOAP interface exposed by a WSDL."""
    service, port = _the_port(client)
    binding = port.binding
    actions = _wsaw_actions(wsdl_path)
    ops = {}
    for name, op in binding._operations.items():
        ops[name] = {
            "soapAction": op.soapaction,
            "style": op.style,
            "wsaw": actions[name],
            "input_message": op.input.abstract.name.text,
            "output_message": op.output.abstract.name.text,
            "input_parts": list(op.abstract.input_message.parts),
            "output_parts": list(op.abstract.output_message.parts),
            "input_body": op.input.body.qname.text,
            "input_headers": [(n, e.qname.text) for n, e in op.input.header.type.elements],
            "output_body": op.output.body.qname.text,
            "output_headers": [e.qname.text for _, e in op.output.header.type.elements],
            "faults": {
                fname: [
                    (pname, part.element.qname.text)
                    for pname, part in msg.parts.items()
                ]
                for fname, msg in op.abstract.fault_messages.items()
            },
        }
    root = etree.parse(str(wsdl_path)).getroot()
    return {
        "definitions": (root.get("name"), root.get("targetNamespace")),
        "service": service.name,
        "port": port.name,
        "binding": binding.name.text,
        "binding_class": type(binding).__name__,
        "transport": binding.transport,
        "port_type": binding.port_type.name.text,
        "operations": ops,
    }


def _builtin_name(xsd_type) -> str | None:
    """Name of the XSD builtin a zeep simple type derives from."""
    for cls in type(xsd_type).__mro__:
        if cls.__module__ == "zeep.xsd.types.builtins" and getattr(cls, "_default_qname", None):
            return etree.QName(cls._default_qname).localname
    return None


def type_signature(xsd_type, _path: tuple = ()) -> tuple:
    """Recursive structural signature of a zeep xsd type: child elements
    (names in order, min/max occurs, nested signature), attributes (name,
    required, base builtin) and, for simple content, the base builtin."""
    if not isinstance(xsd_type, ComplexType):
        return ("simple", _builtin_name(xsd_type))
    key = xsd_type.qname.text if xsd_type.qname is not None else id(xsd_type)
    if key in _path:
        return ("recursive", key)
    path = _path + (key,)

    indicator = type(xsd_type._element).__name__ if xsd_type._element is not None else None
    children = []
    for _name, child in xsd_type.elements:
        if isinstance(child, ZeepAny):
            children.append(("any", child.min_occurs, child.max_occurs, child.process_contents))
            continue
        if indicator == "Element":
            # simpleContent: zeep exposes the text value as a pseudo element
            children.append(("simpleContent", _builtin_name(child.type)))
            continue
        children.append(
            (
                child.qname.text if child.qname is not None else child.name,
                child.min_occurs,
                child.max_occurs,
                type_signature(child.type, path),
            )
        )
    attributes = sorted(
        (a.qname.text if a.qname is not None else name, bool(getattr(a, "required", False)),
         _builtin_name(a.type) if not isinstance(a.type, ComplexType) else None)
        for name, a in xsd_type.attributes
    )
    return ("complex", indicator, tuple(children), tuple(attributes))


def element_signature(client, qname: str) -> tuple:
    element = client.wsdl.types.get_element(qname)
    return (element.qname.text, type_signature(element.type))


def facet_signature(xs_type, _path: tuple = ()) -> tuple:
    """Lexical constraints (patterns, enumerations, primitive) of a type and of
    everything below it, computed with xmlschema (zeep drops facets)."""

    def simple(t):
        patterns, enums, cursor = [], None, t
        while cursor is not None and cursor.target_namespace != "http://www.w3.org/2001/XMLSchema":
            if getattr(cursor, "patterns", None) is not None:
                patterns.append(tuple(cursor.patterns.regexps))
            if enums is None and getattr(cursor, "enumeration", None):
                enums = tuple(str(v) for v in cursor.enumeration)
            cursor = getattr(cursor, "base_type", None)
        primitive = t.primitive_type.local_name if getattr(t, "primitive_type", None) else None
        # a pattern repeated down a derivation chain adds no constraint
        return ("simple", primitive, tuple(sorted(set(patterns))), enums)

    if xs_type.is_simple():
        return simple(xs_type)
    if xs_type.name and xs_type.name in _path:
        return ("recursive", xs_type.name)
    path = _path + (xs_type.name,)
    attrs = tuple(
        sorted(
            (str(name), attr.use, simple(attr.type))
            for name, attr in xs_type.attributes.items()
            if name is not None
        )
    )
    if xs_type.has_simple_content():
        return ("simpleContent", simple(xs_type.content), attrs)
    children = tuple(
        (e.local_name, e.min_occurs, e.max_occurs, facet_signature(e.type, path))
        for e in xs_type.content.iter_elements()
    )
    return ("complex", children, attrs)


def _load_xs(path: Path) -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(path))


def _lxml_schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


# --------------------------------------------------------------------------
# 1. Our WSDL, offline
# --------------------------------------------------------------------------


def test_our_wsdl_loads_offline_with_expected_interface(our_client):
    service, port = _the_port(our_client)
    binding = port.binding
    assert isinstance(binding, Soap12Binding)
    assert service.name == "ICIR-v1"
    assert port.name == "ICIRService"
    assert binding.name.text == "{http://www.cnamts.fr/webservice}ICIRServiceBinding"
    assert binding.port_type.name.text == "{http://www.cnamts.fr/webservice}ICIRService"
    assert binding.transport == "http://schemas.xmlsoap.org/soap/http"

    root = etree.parse(str(OUR_WSDL)).getroot()
    assert root.get("name") == "ServiceIdentiteCertifiee-v1"
    assert root.get("targetNamespace") == "http://www.cnamts.fr/webservice"

    summary = interface_summary(our_client, OUR_WSDL)
    assert set(summary["operations"]) == set(OPERATIONS)
    for name, body in OPERATIONS.items():
        op = summary["operations"][name]
        action = f"urn:ServiceIdentiteCertifiee:1.0.0:{name}"
        assert op["soapAction"] == action
        assert op["wsaw"] == (action, action + "Response")
        assert op["style"] == "document"
        assert op["input_body"] == body
        assert op["input_headers"] == HEADER_PARTS
        assert op["input_parts"] == [name] + [p for p, _ in HEADER_PARTS]
        assert op["output_body"] == f"{{{NS_RESULTAT}}}RESULTAT"
        assert op["output_parts"] == [name + "Response"]
        assert op["output_headers"] == []
        assert op["faults"] == {"Erreur": [("Erreur", f"{{{NS_SIRAM}}}Erreur")]}


def test_our_wsdl_imports_are_relative_local_files():
    root = etree.parse(str(OUR_WSDL)).getroot()
    locations = [
        imp.get("schemaLocation")
        for imp in root.iter("{http://www.w3.org/2001/XMLSchema}import")
    ]
    assert locations, "no xs:import found"
    for loc in locations:
        assert loc.startswith("xsd/") and loc.endswith(".xsd"), loc
        assert (OUR_DIR / loc).is_file(), loc
    # and every schema it pulls in stays local too
    for xsd in OUR_XSD.glob("*.xsd"):
        for imp in etree.parse(str(xsd)).getroot().iter(
            "{http://www.w3.org/2001/XMLSchema}import", "{http://www.w3.org/2001/XMLSchema}include"
        ):
            assert not urlparse(imp.get("schemaLocation") or "").scheme, (xsd.name, imp.get("schemaLocation"))


# --------------------------------------------------------------------------
# 2. Equivalence with the official contract
# --------------------------------------------------------------------------


def test_interface_equivalent_to_official(our_client, official_client):
    ours = interface_summary(our_client, OUR_WSDL)
    official = interface_summary(official_client, OFFICIAL_WSDL)
    assert ours == official


@pytest.mark.parametrize("qname", COMPARED_ELEMENTS)
def test_element_structure_equivalent_to_official(our_client, official_client, qname):
    assert element_signature(our_client, qname) == element_signature(official_client, qname)


@pytest.mark.parametrize("namespace", sorted(OFFICIAL_SCHEMAS))
def test_global_declarations_equivalent_to_official(our_client, official_client, namespace):
    def declared(client):
        schema = client.wsdl.types
        elements = {e.qname.text for e in schema.elements if e.qname.namespace == namespace}
        complex_types = {
            t.qname.text
            for t in schema.types
            if isinstance(t, ComplexType) and t.qname is not None and t.qname.namespace == namespace
        }
        return elements, complex_types

    assert declared(our_client) == declared(official_client)


@pytest.mark.parametrize("namespace", sorted(OFFICIAL_SCHEMAS))
def test_facets_equivalent_to_official(namespace):
    _require_official()
    ours = _load_xs(OUR_SCHEMAS[namespace])
    official = _load_xs(OFFICIAL_DIR / OFFICIAL_SCHEMAS[namespace])
    assert sorted(ours.elements) == sorted(official.elements)
    for name in official.elements:
        assert facet_signature(ours.elements[name].type) == facet_signature(
            official.elements[name].type
        ), name
    # named simple types of the INSi schemas carry the same constraints
    if namespace in (NS_RECSANS, NS_RECVIT, NS_RESULTAT):
        assert sorted(ours.types) == sorted(official.types)
        for name, xs_type in official.types.items():
            if xs_type.is_simple():
                assert facet_signature(ours.types[name]) == facet_signature(xs_type), name


def test_type_signature_detects_differences(our_client):
    """Guard against a signature helper that would compare nothing."""
    sig_resultat = element_signature(our_client, f"{{{NS_RESULTAT}}}RESULTAT")
    sig_recsans = element_signature(our_client, f"{{{NS_RECSANS}}}RECSANSVITALE")
    assert sig_resultat != sig_recsans
    children = sig_resultat[1][2]
    assert [c[0] for c in children] == [f"{{{NS_RESULTAT}}}CR", f"{{{NS_RESULTAT}}}INDIVIDU"]
    assert children[0][1:3] == (1, 1) and children[1][1:3] == (0, 1)
    erreur = element_signature(our_client, f"{{{NS_SIRAM}}}Erreur")[1]
    assert [a[0] for a in erreur[3]] == ["code", "messageID", "severite"]


# --------------------------------------------------------------------------
# 3. Instance documents
# --------------------------------------------------------------------------

RESULTAT_FOUND = """
<RESULTAT xmlns="http://www.cnamts.fr/INSiResultat">
  <CR><CodeCR>00</CodeCR><LibelleCR>OK</LibelleCR></CR>
  <INDIVIDU>
    <INSACTIF>
      <IdIndividu><NumIdentifiant>2800575123456</NumIdentifiant><Cle>42</Cle><TypeMatricule>NIR</TypeMatricule></IdIndividu>
      <OID>1.2.250.1.213.1.4.8</OID>
    </INSACTIF>
    <INSHISTO>
      <IdIndividu><NumIdentifiant>2800575123457</NumIdentifiant><Cle>15</Cle></IdIndividu>
      <OID>1.2.250.1.213.1.4.10</OID>
      <DateDeb>2010-01-01</DateDeb>
      <DateFin>2019-12-31</DateFin>
    </INSHISTO>
    <TIQ>
      <NomNaissance>MARTIN</NomNaissance>
      <ListePrenom>MARIE ANNE</ListePrenom>
      <Sexe>F</Sexe>
      <DateNaissance>1980-05-00</DateNaissance>
      <LieuNaissance>75056</LieuNaissance>
    </TIQ>
  </INDIVIDU>
</RESULTAT>
"""

RESULTAT_NOT_FOUND = """
<RESULTAT xmlns="http://www.cnamts.fr/INSiResultat">
  <CR><CodeCR>01</CodeCR><LibelleCR>Aucune identite trouvee</LibelleCR></CR>
</RESULTAT>
"""

RECSANSVITALE = """
<RECSANSVITALE xmlns="http://www.cnamts.fr/INSiRecSans">
  <NomNaissance>MARTIN</NomNaissance>
  <Prenom>MARIE</Prenom>
  <Prenom>ANNE</Prenom>
  <Sexe>F</Sexe>
  <DateNaissance>1980-05-00</DateNaissance>
  <LieuNaissance>75056</LieuNaissance>
</RECSANSVITALE>
"""

RECVITALE = """
<RECVITALE xmlns="http://www.cnamts.fr/INSiRecVit">
  <MatriculeIndividu><NumIdentifiant>2800575123456</NumIdentifiant><Cle>42</Cle></MatriculeIndividu>
  <NomNaissance>MARTIN</NomNaissance>
  <DateNaissance>1980-05-12</DateNaissance>
  <RangNaissance>1</RangNaissance>
</RECVITALE>
"""

CONTEXTE_LPS = """
<ctxlps:ContexteLPS xmlns:ctxlps="urn:siram:lps:ctxlps" Nature="CTXLPS" Version="01_00">
  <ctxlps:Id>1f7425e2-b913-415c-8acb-0a9c1b1c3c2f</ctxlps:Id>
  <ctxlps:Temps>2024-05-01T10:15:30.123Z</ctxlps:Temps>
  <ctxlps:Emetteur>medecin.exemple@hopital.fr</ctxlps:Emetteur>
  <ctxlps:LPS>
    <ctxlps:IDAM R="4">AGR-00-001</ctxlps:IDAM>
    <ctxlps:Version>1.0.0</ctxlps:Version>
    <ctxlps:Instance>b3c2a1d0-0000-4000-8000-000000000001</ctxlps:Instance>
    <ctxlps:Nom>LPS-TEST</ctxlps:Nom>
  </ctxlps:LPS>
</ctxlps:ContexteLPS>
"""

CONTEXTE_BAM = """
<ctxbam:ContexteBAM xmlns:ctxbam="urn:siram:bam:ctxbam" Version="01_02">
  <ctxbam:Id>4d1b7e9a-3c55-4b8e-9f1a-2a1e0c9d8b7f</ctxbam:Id>
  <ctxbam:Temps>2024-05-01T10:15:30.123Z</ctxbam:Temps>
  <ctxbam:Emetteur>medecin.exemple@hopital.fr</ctxbam:Emetteur>
  <ctxbam:COUVERTURE/>
</ctxbam:ContexteBAM>
"""

ERREUR = """
<siram:Erreur xmlns:siram="urn:siram" severite="erreur" code="insi_102_108"
    messageID="uuid:1f7425e2-b913-415c-8acb-0a9c1b1c3c2f">Erreur technique</siram:Erreur>
"""

VALID_INSTANCES = {
    "resultat_found": RESULTAT_FOUND,
    "resultat_not_found": RESULTAT_NOT_FOUND,
    "recsansvitale": RECSANSVITALE,
    "recvitale": RECVITALE,
    "contexte_lps": CONTEXTE_LPS,
    "contexte_bam": CONTEXTE_BAM,
    "erreur": ERREUR,
}

INVALID_INSTANCES = {
    "resultat_without_cr": """
<RESULTAT xmlns="http://www.cnamts.fr/INSiResultat">
  <INDIVIDU/>
</RESULTAT>""",
    "resultat_bad_nir": RESULTAT_FOUND.replace("2800575123456", "28005751234"),
    "resultat_tiq_out_of_order": RESULTAT_FOUND.replace(
        "<NomNaissance>MARTIN</NomNaissance>\n      <ListePrenom>MARIE ANNE</ListePrenom>",
        "<ListePrenom>MARIE ANNE</ListePrenom>\n      <NomNaissance>MARTIN</NomNaissance>",
    ),
    "contexte_lps_without_version": CONTEXTE_LPS.replace(' Version="01_00"', ""),
    "contexte_bam_without_couverture": CONTEXTE_BAM.replace("<ctxbam:COUVERTURE/>", ""),
    "contexte_bam_bad_nature": CONTEXTE_BAM.replace('Version="01_02"', 'Version="01_02" Nature="CTXLPS"'),
    "erreur_unknown_severite": ERREUR.replace('severite="erreur"', 'severite="grave"'),
    "erreur_without_code": ERREUR.replace(' code="insi_102_108"', ""),
}


def _parse(text: str) -> etree._Element:
    return etree.fromstring(text.strip().encode())


def _schemas_for(doc: etree._Element):
    ns = etree.QName(doc).namespace
    yield "ours", OUR_SCHEMAS[ns]
    if OFFICIAL_WSDL.is_file():
        yield "official", OFFICIAL_DIR / OFFICIAL_SCHEMAS[ns]


@pytest.mark.parametrize("name", sorted(VALID_INSTANCES))
def test_valid_instances_accepted(name):
    doc = _parse(VALID_INSTANCES[name])
    for label, xsd in _schemas_for(doc):
        schema = _lxml_schema(xsd)
        assert schema.validate(doc), f"{label}: {schema.error_log}"


@pytest.mark.parametrize("name", sorted(INVALID_INSTANCES))
def test_invalid_instances_rejected(name):
    doc = _parse(INVALID_INSTANCES[name])
    for label, xsd in _schemas_for(doc):
        assert not _lxml_schema(xsd).validate(doc), f"{label} accepted invalid {name}"


def test_minimal_wsse_and_wsa_schemas_accept_client_headers():
    security = _parse(
        """
<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
    xmlns:soap="http://www.w3.org/2003/05/soap-envelope" soap:mustUnderstand="true">
  <saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0"
      IssueInstant="2024-05-01T10:15:30Z"><saml2:Issuer>LPS</saml2:Issuer></saml2:Assertion>
</wsse:Security>"""
    )
    assert _lxml_schema(OUR_SCHEMAS[NS_WSSE]).validate(security)

    wsa = _lxml_schema(OUR_SCHEMAS[NS_WSA])
    for tag in ("MessageID", "Action", "To", "RelatesTo"):
        doc = _parse(f'<wsa:{tag} xmlns:wsa="{NS_WSA}">uuid:1f7425e2-b913-415c-8acb-0a9c1b1c3c2f</wsa:{tag}>')
        assert wsa.validate(doc), (tag, wsa.error_log)
