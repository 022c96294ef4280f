"""The DMP v2 endpoints as a whole: the published WSDLs (loaded by zeep offline, their
actions those the endpoints accept), the SOAP 1.2 faults of the WS-Addressing and VIHF
checks against hand-written goldens, the XDS answers validated at the endpoint against
the official IHE XDS.b / ebRS schemas (../shared/contracts/ihe-xds, skipped when absent),
and the journal of DMP exchanges."""
from __future__ import annotations

import base64
import copy
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import zeep
from lxml import etree
from werkzeug.test import Client
from zeep.transports import Transport

from simulator.kit import hl7, registry, xds
from dmp_builders.client import (
    Answer, BASE, Dmp, HAB, NOW, PAT, SET_AUTHORIZATION, SOAP, WSA,
    assert_reply_addressing, c14n, golden, set_authorization)
from simulator.kit.soap import SOAP_CT, envelope
from string_split_client import read_query_answer, read_retrieve
from simulator.services.dmp.v2 import (
    habilitations, patients, patients_pdq, patients_specific, registry as registry_service,
    repository)
from simulator.settings import parse_datetime
from simulator.soap.mtom import resolve_includes, split_related
from simulator.soap.parsing import content_type_parts, safe_parser

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSAM = "http://www.w3.org/2007/05/addressing/metadata"
XML_NS = "http://www.w3.org/XML/1998/namespace"
FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
LIST_AUTHORIZATIONS = f"{HAB}:HabilitationsEndPoint:listAuthorizationByPatient"
STORED_QUERY = "urn:ihe:iti:2007:RegistryStoredQuery"
UPDATE = "urn:ihe:iti:2010:UpdateDocumentSet"
PROJECT = Path(__file__).resolve().parents[2]
WSDL_DIR = PROJECT / "wsdl" / "dmp"
XDS_XSD = Path(__file__).resolve().parents[2].parent / "shared" / "contracts" / "ihe-xds" / \
    "IHE" / "XDS.b_DocumentRepository.xsd"
SERVICES = {"patients": patients, "habilitations": habilitations,
            "patientsSpecific": patients_specific, "registry": registry_service,
            "repository": repository, "patientsPDQ": patients_pdq}


# --- a DMP client --------------------------------------------------------------------------

@pytest.fixture
def dmp(make_app) -> Dmp:
    return Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0))


# --- the published WSDLs -------------------------------------------------------------------

class OfflineTransport(Transport):
    """zeep's transport for local files only: any network fetch fails the test."""

    def load(self, url):
        if url.startswith(("http:", "https:")):
            raise AssertionError(f"the WSDL made zeep fetch {url}")
        return super().load(url)


class AppTransport(Transport):
    """zeep's transport answering http://localhost/... from the simulator app."""

    def __init__(self, http: Client):
        super().__init__()
        self.http = http

    def load(self, url):
        parts = urlsplit(url)
        assert parts.netloc == "localhost", url
        response = self.http.get(parts.path, query_string=parts.query)
        assert response.status_code == 200, (url, response.status_code)
        return response.data


def wsdl_operations(client: zeep.Client) -> dict[str, dict]:
    """{operation: input body, input action, soapAction, output body} as zeep reads them."""
    found = {}
    for binding in client.wsdl.bindings.values():
        for name, operation in binding._operations.items():
            found[name] = {"body": operation.input.body.qname.text,
                           "action": operation.abstract.wsa_action,
                           "soap_action": operation.soapaction,
                           "reply_body": operation.output.body.qname.text}
    return found


def output_actions(wsdl_file: Path) -> dict[str, str]:
    """{operation: wsam:Action of its portType output}, read from the file."""
    root = etree.parse(str(wsdl_file), safe_parser()).getroot()
    return {op.get("name"): op.find(f"{{{WSDL_NS}}}output").get(f"{{{WSAM}}}Action")
            for op in root.iterfind(f"{{{WSDL_NS}}}portType/{{{WSDL_NS}}}operation")}


def test_each_v2_service_publishes_a_wsdl():
    assert set(SERVICES) <= {p.stem for p in WSDL_DIR.glob("*.wsdl")}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_published_wsdl_loads_in_zeep_offline_with_the_endpoint_actions(service):
    wsdl_file = WSDL_DIR / f"{service}.wsdl"
    client = zeep.Client(str(wsdl_file), transport=OfflineTransport())
    found = wsdl_operations(client)
    replies = output_actions(wsdl_file)
    endpoint = {op.body: op for op in SERVICES[service].OPERATIONS}
    assert sorted(o["body"] for o in found.values()) == sorted(endpoint)
    for name, described in found.items():
        operation = endpoint[described["body"]]
        assert described["action"] in operation.actions, (name, described)
        assert described["soap_action"] == described["action"]
        assert replies[name] == operation.reply_action, name


def _wsdl_requests() -> dict[str, tuple[str, dict]]:
    """{body element: (request body, envelope options)}: what clients send."""
    return {
        f"{{{HAB}}}setAuthorization": (set_authorization(), {}),
        f"{{{HAB}}}listAuthorizationByPatient": (
            f'<h:listAuthorizationByPatient xmlns:h="{HAB}"><h:mode>TOUTE</h:mode>'
            "</h:listAuthorizationByPatient>", {}),
        f"{{{PAT}}}patientList": (
            f'<p:patientList xmlns:p="{PAT}"><p:date>2024-01-01</p:date>'
            "<p:dateType>LASTAUTORIZATION</p:dateType></p:patientList>", {"patient": None}),
        f"{{{PAT}}}createPatientAccess": (
            f'<p:createPatientAccess xmlns:p="{PAT}"><p:otpChannelType>EMAIL</p:otpChannelType>'
            "<p:channel>zoe@example.org</p:channel></p:createPatientAccess>", {}),
        f"{{{PAT}}}patientOTPUpdate": (
            f'<p:patientOTPUpdate xmlns:p="{PAT}"><p:channelType>SMS</p:channelType>'
            "<p:channel>0612345678</p:channel><p:action>AJOUT</p:action></p:patientOTPUpdate>",
            {}),
        f"{{{PAT}}}updatePatientAccess": (f'<p:updatePatientAccess xmlns:p="{PAT}"/>', {}),
        "{urn:hl7-org:v3}PRPA_IN201305UV02": (hl7.find_candidates().decode(), {"patient": None}),
        "{urn:hl7-org:v3}PRPA_IN201307UV02": (hl7.query().decode(), {}),
        "{urn:hl7-org:v3}PRPA_IN201311UV02": (hl7.create().decode(), {}),
        "{urn:hl7-org:v3}PRPA_IN201314UV02": (hl7.close().decode(), {}),
        f"{{{XDSB}}}ProvideAndRegisterDocumentSetRequest": (
            xds.provide_and_register().body, {}),
        f"{{{XDSB}}}RetrieveDocumentSetRequest": (
            xds.retrieve_body((xds.REPOSITORY, xds.Doc().unique_id)), {}),
        "{urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0}AdhocQueryRequest": (
            registry.find_documents(), {}),
        "{urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0}SubmitObjectsRequest": (
            registry.delete("urn:uuid:3f1e2d3c-4b5a-4697-8877-665544332211"), {}),
    }


def test_each_wsdl_operation_is_answered_with_its_wsdl_reply(dmp):
    # Patients first: query (no DMP), create, close, so that each is accepted; every later
    # answer is in-band (200) whatever the DMP's state.
    requests = _wsdl_requests()
    for service in ("patients", "habilitations", "patientsSpecific", "repository",
                    "registry", "patientsPDQ"):
        wsdl_file = WSDL_DIR / f"{service}.wsdl"
        replies = output_actions(wsdl_file)
        found = wsdl_operations(zeep.Client(str(wsdl_file), transport=OfflineTransport()))
        order = list(requests)
        for name, described in sorted(found.items(), key=lambda o: order.index(o[1]["body"])):
            body, options = requests[described["body"]]
            answer = dmp.call(service, body, described["action"], **options)
            assert answer.response.status_code == 200, (name, answer.response.data[:600])
            assert_reply_addressing(answer, replies[name])
            assert answer.body.tag == described["reply_body"], name


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_the_served_wsdl_and_its_schemas_build_a_zeep_client(dmp, service):
    url = f"http://localhost{BASE}/{service}"
    client = zeep.Client(f"{url}?wsdl", transport=AppTransport(dmp.http))
    offline = zeep.Client(str(WSDL_DIR / f"{service}.wsdl"), transport=OfflineTransport())
    assert wsdl_operations(client) == wsdl_operations(offline)
    (described,) = client.wsdl.services.values()
    (port,) = described.ports.values()
    assert port.binding_options["address"] == url


# --- SOAP 1.2 faults of the addressing and VIHF checks -------------------------------------

SOAP12_CODES = {"VersionMismatch", "MustUnderstand", "DataEncodingUnknown", "Sender",
                "Receiver"}


def _qname_value(value: etree._Element) -> tuple[str, str]:
    """A Code or Subcode Value as (namespace, local name): its prefix must be declared."""
    prefix, _, local = (value.text or "").strip().partition(":")
    assert local, f"{value.text!r} is not a prefixed QName"
    namespace = value.nsmap.get(prefix)
    assert namespace, f"prefix {prefix!r} of {value.text!r} is not declared"
    return namespace, local


def assert_soap12_fault(root: etree._Element) -> etree._Element:
    """The SOAP 1.2 Part 1 §5.4 structure: the Fault alone in Body; Code (Value, optional
    Subcode with Value), Reason (Text with xml:lang), then only Node, Role, Detail."""
    assert root.tag == f"{{{SOAP}}}Envelope"
    assert [etree.QName(c).localname for c in root] in (["Header", "Body"], ["Body"])
    (fault,) = [c for c in root.find(f"{{{SOAP}}}Body") if isinstance(c.tag, str)]
    assert fault.tag == f"{{{SOAP}}}Fault"
    parts = [c.tag for c in fault]
    assert parts[:2] == [f"{{{SOAP}}}Code", f"{{{SOAP}}}Reason"]
    optional = [f"{{{SOAP}}}{n}" for n in ("Node", "Role", "Detail")]
    assert [p for p in optional if p in parts[2:]] == parts[2:]
    code = fault[0]
    assert [c.tag for c in code] in ([f"{{{SOAP}}}Value"],
                                     [f"{{{SOAP}}}Value", f"{{{SOAP}}}Subcode"])
    namespace, local = _qname_value(code[0])
    assert namespace == SOAP and local in SOAP12_CODES
    subcode = code.find(f"{{{SOAP}}}Subcode")
    while subcode is not None:
        assert subcode[0].tag == f"{{{SOAP}}}Value"
        _qname_value(subcode[0])
        subcode = subcode.find(f"{{{SOAP}}}Subcode")
    texts = fault[1].findall(f"{{{SOAP}}}Text")
    assert texts and len(texts) == len(fault[1])
    languages = [text.get(f"{{{XML_NS}}}lang") for text in texts]
    assert all(languages) and len(set(languages)) == len(languages)
    assert all((text.text or "").strip() for text in texts)
    return fault


def _repeated_action(raw: bytes) -> bytes:
    root = etree.fromstring(raw)
    action = root.find(f"{{{SOAP}}}Header/{{{WSA}}}Action")
    action.addnext(copy.deepcopy(action))
    return etree.tostring(root)


def _without_action(raw: bytes) -> bytes:
    root = etree.fromstring(raw)
    action = root.find(f"{{{SOAP}}}Header/{{{WSA}}}Action")
    action.getparent().remove(action)
    return etree.tostring(root)


FAULTS = [
    ("fault-addressing-header-required.xml",
     lambda: _without_action(envelope(set_authorization(), action="-", service="habilitations",
                                      issue_instant=NOW, message_id="urn:uuid:" + "1" * 32))),
    ("fault-action-mismatch.xml",
     lambda: envelope(set_authorization(), action=LIST_AUTHORIZATIONS, service="habilitations",
                      issue_instant=NOW, message_id="urn:uuid:" + "2" * 32)),
    ("fault-action-not-supported.xml",
     lambda: envelope(f'<h:deleteAuthorization xmlns:h="{HAB}"/>', action=SET_AUTHORIZATION,
                      service="habilitations", issue_instant=NOW,
                      message_id="urn:uuid:" + "3" * 32)),
    ("fault-invalid-addressing-header.xml",
     lambda: _repeated_action(envelope(set_authorization(), action=SET_AUTHORIZATION,
                                       service="habilitations", issue_instant=NOW,
                                       message_id="urn:uuid:" + "7" * 32))),
    ("fault-invalid-security.xml",
     lambda: envelope(set_authorization(), action=SET_AUTHORIZATION, service="habilitations",
                      issue_instant=NOW, message_id="urn:uuid:" + "4" * 32, patient=None)),
]


@pytest.mark.parametrize("name, request_bytes", FAULTS, ids=[f[0][6:-4] for f in FAULTS])
def test_refused_envelopes_get_the_golden_soap12_fault(dmp, name, request_bytes):
    raw = request_bytes()
    message_id = etree.fromstring(raw).findtext(f".//{{{WSA}}}MessageID")
    answer = dmp.send("habilitations", raw, message_id)
    assert answer.response.status_code == 500
    assert answer.response.headers["Content-Type"].split(";")[0] == "application/soap+xml"
    fault = assert_soap12_fault(answer.envelope)
    assert_reply_addressing(answer, FAULT_ACTION)
    assert c14n(fault) == c14n(golden(name))


def test_a_soap11_envelope_gets_the_golden_version_mismatch_fault(dmp):
    raw = (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
           + set_authorization().encode("utf-8") + b"</e:Body></e:Envelope>")
    answer = dmp.send("habilitations", raw, None)
    assert answer.response.status_code == 500
    assert answer.response.headers["Content-Type"].split(";")[0] == "application/soap+xml"
    assert c14n(assert_soap12_fault(answer.envelope)) == c14n(golden("fault-version-mismatch.xml"))


def test_a_fault_relates_to_the_request_and_has_a_fresh_message_id(dmp):
    raw = envelope(set_authorization(), action=LIST_AUTHORIZATIONS, service="habilitations",
                   issue_instant=NOW, message_id="urn:uuid:" + "5" * 32)
    first, second = (dmp.send("habilitations", raw, "urn:uuid:" + "5" * 32) for _ in range(2))
    assert first.header("MessageID")[0].text != second.header("MessageID")[0].text
    assert {a.header("RelatesTo")[0].text for a in (first, second)} == {"urn:uuid:" + "5" * 32}


@pytest.mark.parametrize("header", ["Action", "MessageID"])
def test_a_repeated_addressing_header_is_refused(dmp, header):
    raw = envelope(set_authorization(), action=SET_AUTHORIZATION, service="habilitations",
                   issue_instant=NOW, message_id="urn:uuid:" + "6" * 32)
    root = etree.fromstring(raw)
    original = root.find(f".//{{{WSA}}}{header}")
    original.addnext(copy.deepcopy(original))
    answer = dmp.send("habilitations", etree.tostring(root), "urn:uuid:" + "6" * 32)
    fault = assert_soap12_fault(answer.envelope)
    assert fault.findtext(f".//{{{SOAP}}}Subcode/{{{SOAP}}}Value") == "wsa:InvalidAddressingHeader"
    assert f"wsa:{header} appears 2 times" in fault.findtext(f".//{{{SOAP}}}Text")


# --- the XDS answers against the official schemas -------------------------------------------

@pytest.fixture(scope="module")
def xds_schema():
    """The official XDS.b repository schema (imports ebRS rs, rim, lcm and query)."""
    if not XDS_XSD.is_file():
        pytest.skip("../shared/contracts/ihe-xds (official XDS.b / ebRS schemas) is not present")
    import xmlschema
    return xmlschema.XMLSchema(str(XDS_XSD))


def assert_valid(schema, element) -> None:
    errors = [f"{error.path}: {error.reason}" for error in schema.iter_errors(element)]
    assert not errors, errors


def body_on_the_wire(raw: bytes) -> str:
    """The SOAP Body's content exactly as the answer's bytes carry it."""
    text = raw.decode("utf-8")
    return text[text.index("<soap:Body>") + len("<soap:Body>"):text.rindex("</soap:Body>")]


def wire_golden(name: str) -> str:
    """A golden of tests/wire/golden/dmp as the wire carries it (no blank text)."""
    return etree.tostring(golden(name), encoding="unicode")


@pytest.fixture
def fed(dmp) -> Dmp:
    """A DMP, the caller's authorisation, and one TD2.1 feed (CDA + lot signature)."""
    dmp.create_dmp_and_authorise()
    answer = dmp.feed()
    assert answer.body.get("status") == SUCCESS, etree.tostring(answer.body)
    return dmp


def find_documents(dmp: Dmp) -> Answer:
    return dmp.call("registry", registry.find_documents(), STORED_QUERY)


def test_iti41_registry_responses_of_success_and_failure_are_schema_valid(dmp, xds_schema):
    dmp.create_dmp_and_authorise()
    success = dmp.feed()
    assert success.response.status_code == 200
    assert_reply_addressing(success, "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse")
    assert success.body.tag == f"{{{RS}}}RegistryResponse"
    assert success.body.get("status") == SUCCESS
    assert body_on_the_wire(success.response.data) == wire_golden(
        "registry-response-success.xml")
    assert_valid(xds_schema, success.body)
    failure = dmp.feed()  # the same uniqueIds again
    assert failure.response.status_code == 200
    assert failure.body.get("status") == FAILURE
    failure_root = wire_golden("registry-response-failure.xml")
    assert body_on_the_wire(failure.response.data).startswith(
        failure_root[:failure_root.index(">") + 1])  # same prefixes, declarations, status
    codes = {e.get("errorCode") for e in failure.body.iter(f"{{{RS}}}RegistryError")}
    assert codes == {"XDSDuplicateUniqueIdInRegistry"}
    assert_valid(xds_schema, failure.body)


def test_find_documents_after_a_feed_is_a_schema_valid_leaf_class_answer(fed, xds_schema):
    answer = find_documents(fed)
    assert answer.response.status_code == 200
    assert_reply_addressing(answer, "urn:ihe:iti:2007:RegistryStoredQueryResponse")
    assert answer.body.tag == "{urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0}AdhocQueryResponse"
    assert answer.body.get("status") == SUCCESS
    unique_ids = {e.get("value") for e in answer.body.iter(f"{{{RIM}}}ExternalIdentifier")
                  if e.get("identificationScheme") ==
                  "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"}
    assert unique_ids == {xds.Doc().unique_id, xds.SIGNATURE_UNIQUE_ID}
    assert_valid(xds_schema, answer.body)
    empty = wire_golden("iti18-empty.xml")
    assert body_on_the_wire(answer.response.data).startswith(
        empty[:empty.index("totalResultCount=")] + 'totalResultCount="2" status=')
    read = read_query_answer(answer.response.data.decode("utf-8"))
    assert {d.unique_id for d in read.documents} == unique_ids


def test_iti43_mtom_answer_is_schema_valid_once_the_xop_includes_are_resolved(fed, xds_schema):
    request = xds.iti43_envelope((xds.REPOSITORY, xds.Doc().unique_id), issue_instant=NOW)
    response = fed.http.post(f"{BASE}/repository", data=request, content_type=SOAP_CT)
    assert response.status_code == 200
    media_type, params = content_type_parts(response.headers["Content-Type"])
    assert (media_type, params["type"]) == ("multipart/related", "application/xop+xml")
    root, parts = split_related(response.data, params)
    answer = Answer(response, etree.fromstring(request).findtext(f".//{{{WSA}}}MessageID"),
                    root)
    assert_reply_addressing(answer, "urn:ihe:iti:2007:RetrieveDocumentSetResponse")
    infoset = copy.deepcopy(answer.body)
    resolve_includes(infoset, parts)
    document = infoset.find(f"{{{XDSB}}}DocumentResponse/{{{XDSB}}}Document")
    assert base64.b64decode(document.text) == xds.Doc().bytes()
    assert_valid(xds_schema, infoset)
    golden_root = wire_golden("iti43-response.xml")
    assert body_on_the_wire(root).startswith(golden_root[:golden_root.index(">") + 1])
    assert read_retrieve(response.headers["Content-Type"], response.data) == (
        "Success", [xds.Doc().bytes()])


def test_iti57_registry_response_is_schema_valid(fed, xds_schema):
    entries = find_documents(fed).body.iter(f"{{{RIM}}}ExtrinsicObject")
    document = next(e for e in entries if e.get("mimeType") == "text/xml" and any(
        x.get("value") == xds.Doc().unique_id for x in e.iter(f"{{{RIM}}}ExternalIdentifier")))
    answer = fed.call("registry", registry.delete(document.get("id")), UPDATE)
    assert answer.response.status_code == 200
    assert_reply_addressing(answer, "urn:ihe:iti:2010:UpdateDocumentSetResponse")
    assert answer.body.tag == f"{{{RS}}}RegistryResponse"
    assert answer.body.get("status") == SUCCESS, etree.tostring(answer.body)
    assert body_on_the_wire(answer.response.data) == wire_golden(
        "registry-response-success.xml")
    assert_valid(xds_schema, answer.body)
    remaining = {e.get("id") for e in find_documents(fed).body.iter(f"{{{RIM}}}ExtrinsicObject")}
    assert document.get("id") not in remaining


# --- the journal ---------------------------------------------------------------------------

def test_the_journal_records_dmp_exchanges_with_operation_and_outcome(dmp):
    sent = [
        dmp.call("patients", hl7.create(), "urn:hl7-org:v3:PRPA_IN201311UV02"),
        dmp.call("habilitations", set_authorization(), SET_AUTHORIZATION),
        dmp.call("habilitations", set_authorization(), SET_AUTHORIZATION, patient=None),
        dmp.call("habilitations", f'<h:deleteAuthorization xmlns:h="{HAB}"/>',
                 SET_AUTHORIZATION),
        dmp.feed(),
        find_documents(dmp),
    ]
    malformed = dmp.http.post(f"{BASE}/registry", data=b"<soap:Envelope", content_type=SOAP_CT)
    entries = dmp.http.get("/_admin/journal?service=dmp&limit=20").json["entries"]
    assert [(e["service"], e["path"], e["operation"], e["status"], e["outcome"])
            for e in reversed(entries)] == [
        ("dmp", f"{BASE}/patients", "PRPA_IN201311UV02", 200, "AA CREA_RD"),
        ("dmp", f"{BASE}/habilitations", "setAuthorization", 200, "DMPOK"),
        ("dmp", f"{BASE}/habilitations", "setAuthorization", 500, "fault INVALID_SECURITY"),
        ("dmp", f"{BASE}/habilitations", None, 500, "fault ACTION_NOT_SUPPORTED"),
        ("dmp", f"{BASE}/repository", "ProvideAndRegisterDocumentSet-b", 200,
         "Success 2 entries, qualified INS"),
        ("dmp", f"{BASE}/registry", "RegistryStoredQuery", 200, "2 objects"),
        ("dmp", f"{BASE}/registry", None, 500, "fault INVALID_REQUEST"),
    ]
    responses = [answer.response for answer in sent] + [malformed]
    assert [e["request_id"] for e in reversed(entries)] == [
        r.headers["X-Request-Id"] for r in responses]
    refused = entries[4]  # the VIHF without a patient
    assert sent[2].request_message_id in refused["request_body"]
    assert "wsse:InvalidSecurity" in refused["response_body"]
    assert dmp.http.get("/_admin/journal?service=insi").json["entries"] == []
