"""TD2.1 (ITI-41) and TD3.2 (ITI-43) on the wire: real-shaped requests (inline and MTOM)
read, the registration planned, responses compared with the golden message and
validated against the official XDS.b / ebRS schemas (../shared/contracts/ihe-xds)."""
from __future__ import annotations

import copy
import hashlib
import itertools
from datetime import datetime, timezone
from pathlib import Path

import pytest
from lxml import etree

from simulator.kit.soap import ADRUN, SOAP_CT, TEST_OID
from simulator.kit.xds import (
    AUTHOR, PATIENT_ID, REPOSITORY, SIGNATURE_UNIQUE_ID, Doc, iti41_envelope,
    iti41_mtom, iti43_envelope, provide_and_register, retrieve_body)
from simulator.services.dmp.xds.errors import XdsError, XdsFailure, registry_response
from simulator.services.dmp.xds.model import (
    APPROVED, DE_PATIENT_ID, DE_UNIQUE_ID, LCM, RIM, RPLC, ExternalId, RegistryObject,
    write_association, write_registry_object)
from simulator.services.dmp.xds.registration import plan_registration
from simulator.services.dmp.xds.retrieve import (
    DocumentRequest, parse_retrieve_request, render_retrieve_response)
from simulator.services.dmp.xds.rules import check_submission
from simulator.services.dmp.xds.submission import parse_provide_and_register
from simulator.services.dmp.xds.wire_profile import parse_prefixes
from simulator.soap.mtom import build_related, resolve_includes, split_related
from simulator.soap.parsing import content_type_parts, parse_soap12

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
XDS_SCHEMA = SHARED / "contracts" / "ihe-xds" / "IHE" / "XDS.b_DocumentRepository.xsd"
GOLDEN = Path(__file__).parent / "golden" / "dmp"
NOW = datetime(2024, 3, 1, 8, 30, tzinfo=timezone.utc)
OLD_UUID = "urn:uuid:0b1c6b9e-49a4-4c43-9d0b-0e7c3c0f6a11"
PDF = Doc("DocumentPDF", "1.2.250.1.999.1.1.8121.21.2", b"%PDF-1.4\n\x00\xff binary\r\n",
          "application/pdf", hash_and_size=False)


class Registry:
    def __init__(self, entries=()):
        self.entries = {e.id: e for e in entries}

    def unique_id_exists(self, unique_id):
        return False

    def entry(self, entry_uuid):
        return self.entries.get(entry_uuid)


@pytest.fixture(scope="module")
def schema():
    """The official XDS.b repository schema (imports ebRS rs, rim, lcm, query)."""
    if not XDS_SCHEMA.is_file():
        pytest.skip("../shared/contracts/ihe-xds is not present")
    import xmlschema
    return xmlschema.XMLSchema(str(XDS_SCHEMA))


def assert_valid(schema, element):
    errors = [f"{e.path}: {e.reason}" for e in schema.iter_errors(element)]
    assert not errors, errors


def assert_valid_xop(schema, element, attachments):
    """The schema describes the XOP infoset: xop:Include replaced by the part's base64."""
    infoset = copy.deepcopy(element)
    resolve_includes(infoset, dict(attachments))
    assert_valid(schema, infoset)


def uuids():
    counter = itertools.count(1)
    return lambda: f"00000000-0000-4000-8000-{next(counter):012d}"


# --- ITI-41 request ----------------------------------------------------------------------

def test_the_builder_request_is_schema_valid_ebrs(schema):
    # The shared XDS.b schema is the RAD-68 variant whose Document has no id attribute,
    # so only lcm:SubmitObjectsRequest, the metadata, is checked against it.
    request = provide_and_register((Doc(), PDF), replaces={"DocumentPDF": OLD_UUID})
    body = etree.fromstring(request.body)
    assert_valid(schema, body.find(f"{{{LCM}}}SubmitObjectsRequest"))


def test_an_inline_request_is_read_with_every_object_and_document():
    request = provide_and_register((Doc(), PDF), set_classification_apart=True)
    sub = parse_provide_and_register(etree.fromstring(request.body))
    assert sub.submission_set.id == "SubmissionSet01" and sub.submission_set.is_submission_set
    assert [e.id for e in sub.entries] == ["DocumentCDA", "DocumentPDF", "Signature01"]
    assert [e.id for e in sub.signatures] == ["Signature01"]
    assert [(a.source, a.target) for a in sub.associations] == [
        ("SubmissionSet01", "DocumentCDA"), ("SubmissionSet01", "DocumentPDF"),
        ("SubmissionSet01", "Signature01"), ("Signature01", "SubmissionSet01")]
    assert sub.contents == request.contents
    assert sub.entry("DocumentPDF").external(DE_UNIQUE_ID) == PDF.unique_id


def test_an_mtom_request_as_drimbox_sends_it_is_read_and_passes_the_rules():
    content_type, raw, request = iti41_mtom((Doc(), PDF))
    assert b"Content-ID: <0.1>\r\n\r\n<?xml version=" in raw
    assert request.content_ids == {"DocumentCDA": "0.2", "DocumentPDF": "0.3",
                                   "Signature01": "0.4"}
    soap = parse_soap12(raw, content_type)
    assert soap.action == "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
    sub = parse_provide_and_register(soap.body_element)
    assert sub.contents == request.contents  # every byte, binary PDF included
    check_submission(sub, vihf_patient=(ADRUN, TEST_OID), lookup=Registry())


def test_mtom_documents_are_their_parts_without_decoding_their_text_again():
    content_type, raw, request = iti41_mtom((Doc(), PDF))
    soap = parse_soap12(raw, content_type)
    documents = soap.body_element.findall("{urn:ihe:iti:xds-b:2007}Document")
    assert {d.get("id"): soap.parts[d] for d in documents} == request.contents
    # The text is still the part's base64 (for every other reader), and decoding it
    # gives what the parts give.
    assert parse_provide_and_register(soap.body_element).contents == request.contents
    assert parse_provide_and_register(soap.body_element, soap.parts).contents == \
        request.contents


def test_a_part_beside_other_text_is_decoded_from_the_text():
    # Text beside the include is part of what the element holds: no shortcut then.
    content_type, raw, request = iti41_mtom((Doc(),))
    raw = raw.replace(b'<xop:Include', b'QUJD<xop:Include', 1)  # base64 of "ABC"
    soap = parse_soap12(raw, content_type)
    with_parts = parse_provide_and_register(soap.body_element, soap.parts).contents
    assert with_parts == parse_provide_and_register(soap.body_element).contents
    first = next(iter(request.contents))
    assert with_parts[first] == b"ABC" + request.contents[first]


def test_whitespace_beside_an_include_keeps_the_part():
    content_type, raw, request = iti41_mtom((Doc(),))
    raw = raw.replace(b'<xop:Include', b'\n   <xop:Include', 1)
    soap = parse_soap12(raw, content_type)
    assert parse_provide_and_register(soap.body_element, soap.parts).contents == \
        parse_provide_and_register(soap.body_element).contents == request.contents


def test_a_plain_soap_request_is_read_too():
    raw = iti41_envelope(provide_and_register())
    sub = parse_provide_and_register(parse_soap12(raw, SOAP_CT).body_element)
    assert set(sub.contents) == {"DocumentCDA", "Signature01"}


def failure(body: str | etree._Element):
    element = etree.fromstring(body) if isinstance(body, str) else body
    with pytest.raises(XdsFailure) as caught:
        parse_provide_and_register(element)
    return [(e.code, e.location) for e in caught.value.errors], caught.value.errors


def test_a_document_without_entry_and_an_entry_without_document_are_named():
    body = etree.fromstring(provide_and_register().body)
    document = body.find("{urn:ihe:iti:xds-b:2007}Document")
    document.set("id", "DocumentOrphan")
    found, _ = failure(body)
    assert found == [("XDSMissingDocument", "DocumentCDA"),
                     ("XDSMissingDocumentMetadata", "DocumentOrphan")]


@pytest.mark.parametrize("change, expected", [
    (lambda b: b.replace("ns4:ProvideAndRegisterDocumentSetRequest",
                         "ns4:RetrieveDocumentSetRequest"),
     ("XDSRegistryMetadataError", "ProvideAndRegisterDocumentSetRequest")),
    (lambda b: b.replace('<ExtrinsicObject id="DocumentCDA"', '<ExtrinsicObject id="Signature01"'),
     ("XDSRegistryMetadataError", "more than one object")),
    (lambda b: b.replace('classificationNode="urn:uuid:a54d6aa5',
                         'classificationNode="urn:uuid:x54d6aa5'),
     ("XDSRegistryMetadataError", "exactly one submission set")),
    (lambda b: b.replace('<ns4:Document id="DocumentCDA">',
                         '<ns4:Document id="DocumentCDA">#'),
     ("XDSRepositoryError", "not valid base64")),
    (lambda b: b.replace("</RegistryObjectList>",
                         '<RegistryPackage id="Folder01"/></RegistryObjectList>'),
     ("XDSRegistryMetadataError", "folders")),
])
def test_structural_errors_are_xds_failures(change, expected):
    _, errors = failure(change(provide_and_register().body))
    assert any(e.code == expected[0] and expected[1] in e.message for e in errors), errors


def test_an_unresolved_xop_include_is_explained():
    request = provide_and_register(xop=True)
    _, errors = failure(request.body)
    assert {e.location for e in errors} == {"DocumentCDA", "Signature01"}
    assert all("MTOM" in e.message for e in errors)


def test_a_failed_submission_answer_is_a_schema_valid_registry_response(schema):
    sub = parse_provide_and_register(etree.fromstring(provide_and_register(signed=False).body))
    with pytest.raises(XdsFailure) as caught:
        check_submission(sub, vihf_patient=(ADRUN, TEST_OID), lookup=Registry())
    response = registry_response(caught.value.errors)
    assert_valid(schema, response)
    assert response.find(f".//{{{etree.QName(response).namespace}}}RegistryError").get(
        "location") == "SubmissionSet01"


# --- registration plan ---------------------------------------------------------------------

def plan(documents=(Doc(),), registry=None, **options):
    request = provide_and_register(documents, **options)
    sub = parse_provide_and_register(etree.fromstring(request.body))
    registry = registry or Registry()
    check_submission(sub, vihf_patient=(ADRUN, TEST_OID), lookup=registry)
    return request, plan_registration(sub, now=NOW, new_uuid=uuids(),
                                      repository_unique_id=REPOSITORY, lookup=registry)


def test_registration_replaces_every_symbolic_id():
    _, registration = plan((Doc(), PDF))
    ids = [o.id for o in registration.objects]
    assert all(i.startswith("urn:uuid:00000000-0000-4000-8000-") for i in ids)
    assert len(set(ids)) == 3 + 1  # set, two documents, the signature
    for obj in registration.objects:
        assert (obj.lid, obj.version, obj.status) == (obj.id, "1", APPROVED)
        assert {c.classified_object for c in obj.classifications} == {obj.id}
        assert {e.registry_object for e in obj.external_ids} == {obj.id}
        assert all(c.id.startswith("urn:uuid:") for c in obj.classifications)
    known = set(ids)
    for association in registration.associations:
        assert association.id.startswith("urn:uuid:") and association.status == APPROVED
        assert {association.source, association.target} <= known
    text = etree.tostring(as_rim(registration)).decode()
    for symbolic in ("SubmissionSet01", "DocumentCDA", "Signature01", '"cla1"', '"ei1"'):
        assert symbolic not in text


def test_registration_adds_repository_size_and_hash_and_keys_documents_both_ways():
    request, registration = plan((Doc(), PDF))
    pdf = next(e for e in registration.entries if e.external(DE_UNIQUE_ID) == PDF.unique_id)
    content = request.contents["DocumentPDF"]
    assert pdf.slot("repositoryUniqueId") == REPOSITORY
    assert (pdf.slot("size"), pdf.slot("hash")) == (str(len(content)),
                                                   hashlib.sha1(content).hexdigest())
    assert registration.documents[pdf.id] == registration.documents[PDF.unique_id] == content
    signature = next(e for e in registration.entries if e.external(DE_UNIQUE_ID) ==
                     SIGNATURE_UNIQUE_ID)
    assert registration.documents[signature.id] == request.contents["Signature01"]
    assert registration.submission_set.slot("repositoryUniqueId") is None
    assert registration.author == AUTHOR.split("^")[0] == "00B1022322"
    assert set(registration.entry_authors.values()) == {"00B1022322"}
    assert [c.code for c in registration.confidentiality[pdf.id]] == ["N"]
    assert registration.registered_at == NOW and registration.deprecate == []


def test_a_replacement_deprecates_its_target_and_starts_a_new_lid():
    old = RegistryObject("ExtrinsicObject", OLD_UUID, status=APPROVED, lid=OLD_UUID,
                         external_ids=[ExternalId(DE_PATIENT_ID, PATIENT_ID)])
    _, registration = plan(registry=Registry([old]), replaces={"DocumentCDA": OLD_UUID})
    rplc = next(a for a in registration.associations if a.type == RPLC)
    new = next(e for e in registration.entries if e.id == rplc.source)
    assert rplc.target == OLD_UUID and registration.deprecate == [OLD_UUID]
    assert new.lid == new.id != OLD_UUID


def test_a_replacement_whose_target_vanished_is_not_planned():
    request = provide_and_register(replaces={"DocumentCDA": OLD_UUID})
    sub = parse_provide_and_register(etree.fromstring(request.body))
    with pytest.raises(XdsFailure) as caught:
        plan_registration(sub, now=NOW, new_uuid=uuids(), repository_unique_id=REPOSITORY,
                          lookup=Registry())
    assert [(e.code, e.location) for e in caught.value.errors] == [
        ("XDSRegistryMetadataError", OLD_UUID)]


def test_client_uuids_are_kept_and_bare_uuids_get_the_urn_prefix():
    chosen = "urn:uuid:5b0c9f2e-7c1a-4d0b-9a51-1f2e3d4c5b6a"
    _, registration = plan((Doc(entry_id=chosen),))
    assert chosen in [e.id for e in registration.entries]


def as_rim(registration) -> etree._Element:
    request = etree.Element(f"{{{LCM}}}SubmitObjectsRequest", nsmap={"lcm": LCM, "rim": RIM})
    object_list = etree.SubElement(request, f"{{{RIM}}}RegistryObjectList")
    for obj in registration.objects:
        write_registry_object(object_list, obj)
    for association in registration.associations:
        write_association(object_list, association)
    return request


def test_registered_metadata_is_schema_valid_ebrim(schema):
    _, registration = plan((Doc(), PDF))
    assert_valid(schema, as_rim(registration))


# --- ITI-43 ------------------------------------------------------------------------------

def test_a_retrieve_request_is_read():
    raw = iti43_envelope((REPOSITORY, "1.2.3.1"), (REPOSITORY, "1.2.3.2", "urn:oid:1.2.3"))
    requests = parse_retrieve_request(parse_soap12(raw, SOAP_CT).body_element)
    assert requests == [DocumentRequest(REPOSITORY, "1.2.3.1"),
                        DocumentRequest(REPOSITORY, "1.2.3.2", "urn:oid:1.2.3")]


def test_the_builder_document_requests_are_schema_valid(schema):
    body = etree.fromstring(retrieve_body((REPOSITORY, "1.2.3.1")))
    assert_valid(schema, body[0])


@pytest.mark.parametrize("body, code, location, words", [
    ('<x:RetrieveDocumentSetRequest xmlns:x="urn:other"/>', "XDSRepositoryError", "",
     "RetrieveDocumentSetRequest"),
    (retrieve_body(), "XDSRepositoryError", "", "no DocumentRequest"),
    (retrieve_body((REPOSITORY, "1.2.3.1"), ("", "1.2.3.2")), "XDSRegistryMetadataError",
     "DocumentRequest[2]", "RepositoryUniqueId"),
    (retrieve_body((REPOSITORY, " "),), "XDSRegistryMetadataError", "DocumentRequest[1]",
     "DocumentUniqueId"),
])
def test_incomplete_retrieve_requests_are_refused(body, code, location, words):
    with pytest.raises(XdsFailure) as caught:
        parse_retrieve_request(etree.fromstring(body))
    [error] = caught.value.errors
    assert (error.code, error.location) == (code, location) and words in error.message


CDA_REQUEST = DocumentRequest(REPOSITORY, "1.2.250.1.999.1.1.8121.21.1")
PDF_REQUEST = DocumentRequest(REPOSITORY, "1.2.250.1.999.1.1.8121.21.2",
                              "urn:oid:1.2.250.1.213.4.1")
MISSING = XdsError("XDSDocumentUniqueIdError", "document 1.2.250.1.999.1.1.8121.21.404 is "
                   f"not in repository {REPOSITORY}", "1.2.250.1.999.1.1.8121.21.404")


def wire_golden(name: str) -> str:
    """A golden as the wire carries it (blank text and comments dropped; prefixes,
    declarations and attribute order kept: docs/dmp.md, "How answers are serialised")."""
    golden = etree.parse(str(GOLDEN / name),
                         etree.XMLParser(remove_blank_text=True, remove_comments=True))
    return etree.tostring(golden.getroot(), encoding="unicode")


def test_retrieve_response_matches_the_golden_message(schema):
    element, attachments = render_retrieve_response(
        [(CDA_REQUEST, "text/xml", b"<ClinicalDocument/>"),
         (PDF_REQUEST, "application/pdf", b"%PDF")], [MISSING])
    assert etree.tostring(element, encoding="unicode") == wire_golden("iti43-response.xml")
    assert attachments == [("document1@insi-dmp-sim", b"<ClinicalDocument/>"),
                           ("document2@insi-dmp-sim", b"%PDF")]
    assert_valid_xop(schema, element, attachments)


DUPLICATE = XdsError("XDSDuplicateUniqueIdInRegistry", "uniqueId 1.2.250.1.999.1.1.7001 is "
                     "already in the registry with other content", "1.2.250.1.999.1.1.7001")


@pytest.mark.parametrize("errors, name", [([], "registry-response-success.xml"),
                                          ([DUPLICATE], "registry-response-failure.xml")])
def test_registry_responses_match_the_golden_messages(schema, errors, name):
    """TD2.1 and TD3.3 answers: one writer, the DMP's prefixes and declarations."""
    element = registry_response(errors)
    assert etree.tostring(element, encoding="unicode") == wire_golden(name)
    assert_valid(schema, element)


def test_the_ihe_prefixes_change_only_the_prefixes_of_td21_and_td32_answers(schema):
    """SIM_DMP_XDS_PREFIXES=ihe: same names and values, schema-valid, readable prefixes."""
    ihe = parse_prefixes("ihe")
    failure = registry_response([DUPLICATE], profile=ihe)
    assert etree.tostring(failure, encoding="unicode").startswith(
        '<rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" ')
    assert_valid(schema, failure)
    found = [(CDA_REQUEST, "text/xml", b"<ClinicalDocument/>")]
    element, attachments = render_retrieve_response(found, [], profile=ihe)
    assert element.prefix == "xdsb" and element[0].prefix == "rs"
    assert_valid_xop(schema, element, attachments)
    default, _ = render_retrieve_response(found, [])
    assert etree.tostring(element, method="c14n") != etree.tostring(default, method="c14n")
    assert [e.tag for e in element.iter()] == [e.tag for e in default.iter()]
    assert [dict(e.attrib) for e in element.iter()] == [dict(e.attrib) for e in default.iter()]


def test_retrieve_success_is_schema_valid_and_its_mtom_package_carries_the_bytes(schema):
    documents = [(CDA_REQUEST, "text/xml", bytes(range(256))),
                 (PDF_REQUEST, "application/pdf", b"%PDF\r\n--MIMEBoundary\r\n")]
    element, attachments = render_retrieve_response(documents, [])
    assert element[0].get("status") == "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
    assert_valid_xop(schema, element, attachments)
    assert len({cid for cid, _ in attachments}) == 2
    content_type, raw = build_related(etree.tostring(element), attachments)
    root, parts = split_related(raw, content_type_parts(content_type)[1])
    hrefs = [i.get("href") for i in etree.fromstring(root).iter(
        "{http://www.w3.org/2004/08/xop/include}Include")]
    assert [parts[h[4:]] for h in hrefs] == [d[2] for d in documents]


def test_retrieve_failure_has_no_document_response(schema):
    element, attachments = render_retrieve_response([], [MISSING])
    assert element[0].get("status") == "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
    assert len(element) == 1 and attachments == []
    # IHE ITI-43 returns no DocumentResponse on Failure; the shared (WADO-extended)
    # schema requires one, so only the RegistryResponse is validated.
    assert_valid(schema, element[0])
    assert [e.reason for e in schema.iter_errors(element)] != []  # the schema's stance


def test_retrieve_warnings_alone_keep_success():
    warning = XdsError("XDSDocumentUniqueIdError", "just a warning",
                       severity="urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning")
    element, _ = render_retrieve_response([(CDA_REQUEST, "text/xml", b"x")], [warning])
    assert element[0].get("status").endswith(":Success")
