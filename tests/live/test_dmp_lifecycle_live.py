"""A DMP's life over a real socket (DMP.md §2): zeep clients built from the WSDLs the
simulator serves for the HL7 v3, DMP-specific and XDS services, TD2.1 as a real MTOM
package. Every step asserts what came back on the wire."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import pytest
from lxml import etree

from simulator.kit import hl7, registry as reg, xds
from simulator.kit.hl7 import ADRUN, ADRUN_TRAITS
from dmp_live import (
    APPROVED, COLLEAGUE, DELETED, DMP_PATH, DOCTOR, NS, SUCCESS, FAILURE, confidentiality_codes,
    entry_for, error_codes, error_contexts, document_bytes, hl7_ack, parse, retrieve_raw,
    same_xml, simulated_now, slot, td02, unique_ids, unique_oid)
from simulator.services.dmp.records import PatientTraits
from simulator.soap.mtom import split_related
from simulator.soap.parsing import content_type_parts

INS_CX = f"{ADRUN}^^^&{hl7.TEST_OID}&ISO^NH"


def local(element: etree._Element) -> str:
    return etree.QName(element).localname


def fed_document(dmp, caller=DOCTOR) -> tuple[str, bytes]:
    """Feed one new CDA (TD2.1) and return its uniqueId and bytes."""
    doc = xds.Doc(unique_id=unique_oid())
    result = dmp.feed((doc,), caller)
    assert (result.status, result.error_codes) == (SUCCESS, []), etree.tostring(result.response)
    return doc.unique_id, doc.bytes()


def current_entry(dmp, unique_id: str, caller=DOCTOR) -> etree._Element:
    answer = dmp.registry(reg.find_documents(), caller)
    assert answer.body.get("status") == SUCCESS, etree.tostring(answer.body)
    return entry_for(answer.body, unique_id)


def mask(dmp, unique_id: str, content: bytes, caller=DOCTOR):
    """TD3.3a: a new version of the document carrying MASQUE_PS."""
    entry = current_entry(dmp, unique_id, caller)
    version = entry.find("rim:VersionInfo", NS).get("versionName")
    return dmp.registry(reg.mask(entry.get("lid"), version, unique_id=unique_id,
                                 hash_=hashlib.sha1(content).hexdigest(),
                                 size=str(len(content))), caller)


# --------------------------------------------------------------------------
# The client itself
# --------------------------------------------------------------------------


def test_zeep_sends_the_builders_messages(dmp, live_server):
    """The open-content operations carry the builders' bodies unchanged, once each
    WS-Addressing header, and the VIHF stamped with the simulated now."""
    cases = [("patients", hl7.query(), "urn:hl7-org:v3:PRPA_IN201307UV02", dmp.patients),
             ("patients", hl7.create(), "urn:hl7-org:v3:PRPA_IN201311UV02", dmp.patients),
             ("patients", hl7.close(), "urn:hl7-org:v3:PRPA_IN201314UV02", dmp.patients),
             ("registry", reg.find_documents(), "urn:ihe:iti:2007:RegistryStoredQuery",
              dmp.registry),
             ("registry", reg.mask("urn:uuid:9b1c3f4e-0000-4000-8000-000000000001", "1"),
              "urn:ihe:iti:2010:UpdateDocumentSet", dmp.registry),
             ("repository", xds.retrieve_body((xds.REPOSITORY, "1.2.3")),
              "urn:ihe:iti:2007:RetrieveDocumentSet",
              lambda body: dmp.client("repository").open_call(body, DOCTOR))]
    for service, body, action, send in cases:
        answer = send(body)
        built = etree.fromstring(body if isinstance(body, bytes) else body.encode())
        assert same_xml(answer.sent_body, built), service
        assert answer.header("Action") == [action]
        assert answer.header("To") == [f"{live_server.base_url}{DMP_PATH}/{service}"]
        assert len(answer.header("MessageID")) == 1
        assert answer.received.findtext("soap:Header/wsa:RelatesTo", namespaces=NS) == \
            answer.header("MessageID")[0]
        assertion = answer.sent.find("soap:Header/wsse:Security/"
                                     "{urn:oasis:names:tc:SAML:2.0:assertion}Assertion", NS)
        issued = datetime.fromisoformat(assertion.get("IssueInstant").replace("Z", "+00:00"))
        assert abs(simulated_now(live_server.base_url) - issued) < timedelta(minutes=1)
        assert answer.http.request.headers["Content-Type"].startswith("application/soap+xml")
        assert answer.http.status_code == 200


# --------------------------------------------------------------------------
# TD0.2, TD1.1, TD0.3, TD1.6, TD0.4
# --------------------------------------------------------------------------


def test_existence_creation_and_authorisation(dmp):
    before = dmp.patients(hl7.query())
    assert local(before.body) == "PRPA_IN201308UV02"
    assert td02(before.body) == ("NF", None, None)

    created = dmp.patients(hl7.create())
    assert local(created.body) == "PRPA_IN201312UV02"
    assert hl7_ack(created.body) == ("AA", None)
    assert created.received.findtext("soap:Header/wsa:Action", namespaces=NS) == \
        "urn:hl7-org:v3:PRPA_IN201312UV02"

    again = dmp.patients(hl7.create())
    assert local(again.body) == "PRPA_IN201313UV02"
    assert hl7_ack(again.body) == ("AE", "DMPFound")
    assert ADRUN in again.body.findtext(".//hl7:acknowledgementDetail/hl7:text", namespaces=NS)

    assert td02(dmp.patients(hl7.query()).body) == ("OK", "NON_EXISTE", "active")

    granted = dmp.set_authorization(action="AJOUT", role="MEDECIN_TRAITANT")
    assert granted.result.status == "DMPOK"
    assert local(granted.body) == "setAuthorizationResponse"
    assert granted.body.findtext("hab:status", namespaces=NS) == "DMPOK"

    listing = dmp.list_authorizations(mode="TOUTE")
    assert listing.result.status == "DMPOK"
    (only,) = listing.result.listOfAuthorizationByPatient.authorization
    assert (only.nationalId, only.status, only.medecinTraitant, only.structureId) == (
        DOCTOR.user, "VALIDE", True, "10B0167011")
    assert (only.firstName, only.lastName) == ("Jean", "DUPONT")

    after = dmp.patients(hl7.query())
    assert td02(after.body) == ("OK", "VALIDE", "active")
    medecin_traitant = [line.find("hl7:value", NS).get("value")
                        for line in after.body.iterfind("hl7:attentionLine", NS)
                        if line.find("hl7:keyWordText", NS).get("code") == "STATUT_MT"]
    assert medecin_traitant == ["true"]
    # Another professional of the same structure has no authorisation of their own.
    assert td02(dmp.patients(hl7.query(), COLLEAGUE).body) == ("OK", "NON_EXISTE", "active")


def test_patient_list_by_last_authorisation_and_last_document(dmp, adrun_dmp, live_server):
    since = (simulated_now(live_server.base_url) - timedelta(days=1)).strftime("%Y-%m-%d")
    assert dmp.patient_list(DOCTOR, since, "LASTAUTORIZATION").result.patientlistData == []
    dmp.set_authorization()

    by_authorisation = dmp.patient_list(DOCTOR, since, "LASTAUTORIZATION")
    assert by_authorisation.result.status == "DMPOK"
    (patient,) = by_authorisation.result.patientlistData
    assert (patient.ins, patient.insOid, patient.lastName, patient.birthDate) == (
        ADRUN, hl7.TEST_OID, "ADRUN", "1975-12-31")
    assert by_authorisation.body.findtext("pat:patientlistData/pat:ins", namespaces=NS) == ADRUN

    assert dmp.patient_list(DOCTOR, since, "LASTDOC").result.patientlistData == []
    fed_document(dmp)
    (with_document,) = dmp.patient_list(DOCTOR, since, "LASTDOC").result.patientlistData
    assert with_document.ins == ADRUN

    tomorrow = (simulated_now(live_server.base_url) + timedelta(days=1)).strftime("%Y-%m-%d")
    assert dmp.patient_list(DOCTOR, tomorrow, "LASTAUTORIZATION").result.patientlistData == []


# --------------------------------------------------------------------------
# TD2.1, TD3.1, TD3.2
# --------------------------------------------------------------------------


def test_feed_find_and_retrieve(dmp, adrun_dmp, live_server):
    dmp.set_authorization()
    doc = xds.Doc(unique_id=unique_oid())
    fed = dmp.feed((doc,))
    assert fed.http.headers["Content-Type"].startswith("application/soap+xml")
    assert (fed.status, fed.error_codes) == (SUCCESS, [])
    assert fed.request.content_ids[doc.entry_id] == "0.2"  # the CDA went as an MTOM part

    found = dmp.registry(reg.find_documents(return_type="LeafClass"))
    assert found.result._attr_1["status"] == SUCCESS  # as zeep read it
    entry = entry_for(found.body, doc.unique_id)
    content = doc.bytes()
    assert entry.get("status") == APPROVED
    assert entry.get("id").startswith("urn:uuid:") and entry.get("lid") == entry.get("id")
    assert slot(entry, "hash") == [hashlib.sha1(content).hexdigest()]
    assert slot(entry, "size") == [str(len(content))]
    assert slot(entry, "repositoryUniqueId") == [xds.REPOSITORY]
    patient_ids = [ei.get("value") for ei in entry.iterfind("rim:ExternalIdentifier", NS)
                   if ei.get("identificationScheme") ==
                   "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"]
    assert patient_ids == [INS_CX]

    by_unique_id = dmp.registry(reg.get_documents(unique_ids=[doc.unique_id],
                                                  return_type="ObjectRef"))
    refs = by_unique_id.body.findall("rim:RegistryObjectList/rim:ObjectRef", NS)
    assert [ref.get("id") for ref in refs] == [entry.get("id")]
    assert by_unique_id.body.find(".//rim:ExtrinsicObject", NS) is None

    # zeep decodes the MTOM answer and inlines the part as base64; zeep 4.3's
    # Attachment.content strips CR and LF around a "binary" part, so its copy lacks the
    # CDA's final line break. The byte-for-byte check is the raw one below.
    retrieved = dmp.retrieve(doc.unique_id)
    assert retrieved.http.headers["Content-Type"].startswith("multipart/related")
    (document,) = retrieved.body.findall("xdsb:DocumentResponse", NS)
    assert document.findtext("xdsb:DocumentUniqueId", namespaces=NS) == doc.unique_id
    assert document.findtext("xdsb:mimeType", namespaces=NS) == "text/xml"
    assert content.endswith(b"</ClinicalDocument>\n")
    assert document_bytes(document) == content.strip(b"\r\n")

    # The same answer split by the simulator's own MTOM reader: byte for byte.
    http, envelope, parts = retrieve_raw(live_server.base_url, doc.unique_id)
    media_type, params = content_type_parts(http.headers["Content-Type"])
    assert media_type == "multipart/related" and params["type"] == "application/xop+xml"
    include = envelope.find(".//xdsb:DocumentResponse/xdsb:Document/xop:Include", NS)
    cid = include.get("href").removeprefix("cid:")
    assert parts == {cid: content}
    assert envelope.find(".//rs:RegistryResponse", NS).get("status") == SUCCESS
    root, _ = split_related(http.content, params)
    assert parse(root).findtext("soap:Header/wsa:Action", namespaces=NS) == \
        "urn:ihe:iti:2007:RetrieveDocumentSetResponse"


# --------------------------------------------------------------------------
# TD3.3: masking and deletion
# --------------------------------------------------------------------------


def test_masked_document_is_hidden_from_others_but_not_from_its_author(dmp, adrun_dmp):
    dmp.set_authorization()
    dmp.set_authorization(COLLEAGUE)
    unique_id, content = fed_document(dmp)
    assert unique_id in unique_ids(dmp.registry(reg.find_documents(), COLLEAGUE).body)

    masked = mask(dmp, unique_id, content)
    assert local(masked.body) == "RegistryResponse"
    assert (masked.body.get("status"), error_codes(masked.body)) == (SUCCESS, [])

    author_view = current_entry(dmp, unique_id)
    assert "MASQUE_PS" in confidentiality_codes(author_view)
    assert author_view.find("rim:VersionInfo", NS).get("versionName") == "2"
    colleague_view = dmp.registry(reg.find_documents(), COLLEAGUE)
    assert colleague_view.body.get("status") == SUCCESS
    assert unique_id not in unique_ids(colleague_view.body)
    assert unique_ids(colleague_view.body)  # the lot signature still shows: not an empty DMP


def test_masked_document_cannot_be_retrieved_by_another_professional(dmp, adrun_dmp,
                                                                    live_server):
    dmp.set_authorization()
    dmp.set_authorization(COLLEAGUE)
    unique_id, content = fed_document(dmp)
    assert mask(dmp, unique_id, content).body.get("status") == SUCCESS
    _, envelope, parts = retrieve_raw(live_server.base_url, unique_id, COLLEAGUE)
    assert parts == {}
    response = envelope.find(".//rs:RegistryResponse", NS)
    assert response.get("status") == FAILURE
    assert error_codes(response) == ["XDSDocumentUniqueIdError"]


def test_new_metadata_version_has_a_urn_uuid_entry_uuid(dmp, adrun_dmp):
    dmp.set_authorization()
    unique_id, content = fed_document(dmp)
    assert mask(dmp, unique_id, content).body.get("status") == SUCCESS
    entry = current_entry(dmp, unique_id)
    assert entry.get("id").startswith("urn:uuid:"), entry.get("id")


def test_only_the_author_deletes(dmp, adrun_dmp, live_server):
    dmp.set_authorization()
    dmp.set_authorization(COLLEAGUE)
    unique_id, _ = fed_document(dmp)
    entry_uuid = current_entry(dmp, unique_id).get("id")

    refused = dmp.registry(reg.delete(entry_uuid), COLLEAGUE)
    assert refused.body.get("status") == FAILURE
    assert error_codes(refused.body) == ["XDSRegistryError"]
    assert "NOT_AUTHOR" in error_contexts(refused.body)[0]
    assert refused.body.find(".//rs:RegistryError", NS).get("location") == entry_uuid
    assert current_entry(dmp, unique_id).get("status") == APPROVED

    deleted = dmp.registry(reg.delete(entry_uuid))
    assert (deleted.body.get("status"), error_codes(deleted.body)) == (SUCCESS, [])
    assert unique_id not in unique_ids(dmp.registry(reg.find_documents()).body)
    as_deleted = dmp.registry(reg.find_documents(statuses=(DELETED,)))
    assert entry_for(as_deleted.body, unique_id).get("status") == DELETED
    _, envelope, parts = retrieve_raw(live_server.base_url, unique_id)
    assert parts == {}
    assert error_codes(envelope) == ["XDSDocumentUniqueIdError"]


def test_deleted_document_with_an_earlier_version_cannot_be_retrieved(dmp, adrun_dmp,
                                                                     live_server):
    unique_id, content = fed_document(dmp)
    dmp.set_authorization()
    assert mask(dmp, unique_id, content).body.get("status") == SUCCESS
    entry_uuid = current_entry(dmp, unique_id).get("id")
    assert dmp.registry(reg.delete(entry_uuid)).body.get("status") == SUCCESS
    _, envelope, parts = retrieve_raw(live_server.base_url, unique_id)
    assert parts == {}
    assert error_codes(envelope) == ["XDSDocumentUniqueIdError"]


# --------------------------------------------------------------------------
# TD1.3a/b, TD1.4, TD1.2
# --------------------------------------------------------------------------


def test_administrative_data_read_and_update(dmp, adrun_dmp):
    read = dmp.patients(hl7.query(reason="CNSLT_DATA"))
    person = read.body.find(".//hl7:patient/hl7:patientPerson", NS)
    assert person.findtext("hl7:name/hl7:family[@qualifier='BR']", namespaces=NS) == "ADRUN"
    assert person.findtext("hl7:addr/hl7:city", namespaces=NS) == "PARIS"

    moved = PatientTraits(birth_name="ADRUN", given_names="ZOE", sex="F",
                          birth_date="1975-12-31", used_name="MARTIN",
                          telecoms=("mailto:zoe.adrun@example.org",),
                          address=("3 place du Marche", "69001", "LYON"))
    updated = dmp.patients(hl7.modify(traits=moved))
    assert local(updated.body) == "PRPA_IN201315UV02"
    assert hl7_ack(updated.body) == ("AA", None)

    person = dmp.patients(hl7.query(reason="CNSLT_DATA")).body.find(
        ".//hl7:patient/hl7:patientPerson", NS)
    assert person.findtext("hl7:name/hl7:family[@qualifier='SP']", namespaces=NS) == "MARTIN"
    assert person.findtext("hl7:addr/hl7:city", namespaces=NS) == "LYON"
    assert person.find("hl7:telecom", NS).get("value") == "mailto:zoe.adrun@example.org"


def test_close_twice_then_reactivate(dmp, adrun_dmp):
    closed = dmp.patients(hl7.close())
    assert (local(closed.body), hl7_ack(closed.body)) == ("PRPA_IN201315UV02", ("AA", None))
    existence = dmp.patients(hl7.query()).body
    code, _, status = td02(existence)
    assert (code, status) == ("OK", "completed")
    assert existence.find(".//hl7:subject1/hl7:patient/hl7:statusCode", NS).get("code") == \
        "terminated"

    again = dmp.patients(hl7.close())
    assert local(again.body) == "PRPA_IN201316UV02"
    assert hl7_ack(again.body) == ("AE", "DMPClosed")

    reopened = dmp.patients(hl7.reactivate())
    assert (local(reopened.body), hl7_ack(reopened.body)) == ("PRPA_IN201315UV02", ("AA", None))
    assert td02(dmp.patients(hl7.query()).body)[2] == "active"
    assert hl7_ack(dmp.patients(hl7.reactivate()).body) == ("AE", "DMPFound")
    # The traits survive closing and reopening.
    assert ADRUN_TRAITS.birth_name == dmp.patients(hl7.query(reason="CNSLT_DATA")).body.findtext(
        ".//hl7:patientPerson/hl7:name/hl7:family[@qualifier='BR']", namespaces=NS)
