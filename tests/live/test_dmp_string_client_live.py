"""Over a real socket, the DMP's XDS answers read two ways: by a client that only splits
strings as the ANS's DRIMbox does (tests/string_split_client.py) and by zeep/lxml, which
read namespaces. Every TD3.1 stored query in both return types, TD2.1, TD3.2 and TD3.3:
both readers must agree (docs/dmp.md, "How answers are serialised")."""
from __future__ import annotations

import pytest
from lxml import etree

from simulator.kit import hl7, registry as reg, xds
from dmp_live import DmpLive, NS, SUCCESS, retrieve_raw, unique_oid
from string_split_client import (
    SplitReadError, read_query_answer, read_registry_response, read_retrieve)

ACCESSION = "ACC-4242^^^&1.2.250.1.999.1.1.8121.5&ISO^urn:ihe:iti:xds:2013:accession"
STUDY = "1.2.250.1.999.1.1.8121.6.1^^^^urn:ihe:iti:xds:2016:studyInstanceUID"
LANGUAGE = '<Slot name="languageCode"><ValueList><Value>fr-FR</Value></ValueList></Slot>'
SOURCE_EVENT = ("1.2.840.10065.1.12.1.14", "1.2.840.10065.1.12", "Source")


def with_reference_ids(body: str) -> str:
    """The CDA entry with a referenceIdList slot, as DRIMbox's imaging documents carry."""
    assert body.count(LANGUAGE) == 1
    slot = ('<Slot name="urn:ihe:iti:xds:2013:referenceIdList"><ValueList>'
            f'<Value>{ACCESSION.replace("&", "&amp;")}</Value><Value>{STUDY}</Value>'
            "</ValueList></Slot>")
    return body.replace(LANGUAGE, slot + LANGUAGE)


def objects(answer_body: etree._Element) -> list[etree._Element]:
    """The RegistryObjectList children, read by namespace."""
    return list(answer_body.find("rim:RegistryObjectList", NS))


def unique_id_of(entry: etree._Element) -> str:
    return next(e.get("value") for e in entry.iterfind("rim:ExternalIdentifier", NS)
                if e.get("identificationScheme") == "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab")


def both_reads(answer):
    """(string-split reading of the raw HTTP text, namespace reading of the same answer)."""
    return read_query_answer(answer.http.text), answer.body


@pytest.fixture
def fed(dmp, adrun_dmp):
    """One TD2.1 feed (CDA with a referenceIdList, lot signature with an eventCode)."""
    dmp.set_authorization()
    doc = xds.Doc(unique_id=unique_oid())
    feed = dmp.feed((doc,), tweak=with_reference_ids)
    assert feed.status == SUCCESS, etree.tostring(feed.response)
    assert read_registry_response(feed.http.text) == ("Success", [])
    return doc


def test_every_td31_answer_reads_by_string_splits_as_by_namespaces(dmp, fed):
    leaf, body = both_reads(dmp.registry(reg.find_documents()))
    entries = {unique_id_of(e): e for e in body.iterfind(".//rim:ExtrinsicObject", NS)}
    cda, signature = entries[fed.unique_id], next(e for k, e in entries.items()
                                                  if k != fed.unique_id)
    queries = {
        "FindDocuments": lambda rt: reg.find_documents(return_type=rt),
        "FindDocumentsByReferenceId": lambda rt: reg.find_documents_by_reference_id(
            [ACCESSION], return_type=rt),
        "FindSubmissionSets": lambda rt: reg.find_submission_sets(return_type=rt),
        "GetDocuments": lambda rt: reg.get_documents([cda.get("id"), signature.get("id")],
                                                     return_type=rt),
        "GetAssociations": lambda rt: reg.get_associations([cda.get("id")], return_type=rt),
        "GetDocumentsAndAssociations": lambda rt: reg.get_documents_and_associations(
            [cda.get("id")], return_type=rt),
    }
    seen = set()
    for name, build in queries.items():
        for return_type in ("LeafClass", "ObjectRef"):
            read, body = both_reads(dmp.registry(build(return_type)))
            listed = objects(body)
            assert body.get("status") == SUCCESS and listed, (name, return_type)
            assert (read.status, read.total) == ("Success", len(listed)), (name, return_type)
            kinds = {k: sum(etree.QName(e).localname == k for e in listed) for k in read.entries}
            assert read.entries == kinds, (name, return_type)
            if return_type == "ObjectRef":
                assert read.object_refs == [e.get("id") for e in listed]
                continue
            documents = [e for e in listed if etree.QName(e).localname == "ExtrinsicObject"]
            assert [d.unique_id for d in read.documents] == [unique_id_of(e) for e in documents]
            assert [d.id_after_patient_id for d in read.documents] == \
                [d.unique_id for d in read.documents]
            seen.update(etree.QName(e).localname for e in listed)
    assert seen == {"ExtrinsicObject", "RegistryPackage", "Association"}

    by_id = {d.unique_id: d for d in leaf.documents}
    assert leaf.repository_id == xds.REPOSITORY
    assert (leaf.patient_name, leaf.patient_sex) == ("ADRUN", "F")
    # Splits see the text as escaped on the wire (DRIMbox does not unescape either).
    assert by_id[fed.unique_id].reference_ids == [ACCESSION.replace("&", "&amp;"), STUDY]
    assert by_id[fed.unique_id].mime_type == "text/xml"
    assert by_id[fed.unique_id].title == fed.title
    assert by_id[fed.unique_id].creation_time == "20240301083000"
    assert by_id[unique_id_of(signature)].event_codes == [SOURCE_EVENT]


def test_td32_and_td33_answers_read_by_string_splits(dmp, fed, live_server):
    http, _, _ = retrieve_raw(live_server.base_url, fed.unique_id)
    assert read_retrieve(http.headers["Content-Type"], http.content) == ("Success", [fed.bytes()])
    entry = next(e for e in dmp.registry(reg.find_documents()).body.iterfind(
        ".//rim:ExtrinsicObject", NS) if unique_id_of(e) == fed.unique_id)
    deleted = dmp.registry(reg.delete(entry.get("id")))
    assert read_registry_response(deleted.http.text) == ("Success", [])
    refused = dmp.registry(reg.delete(entry.get("id")))
    status, codes = read_registry_response(refused.http.text)
    assert status == "Failure" and codes
    assert [e.get("errorCode") for e in refused.body.iter(f"{{{NS['rs']}}}RegistryError")] == codes


def test_with_the_ihe_prefixes_zeep_still_reads_and_the_string_client_cannot(live_server_factory):
    """SIM_DMP_XDS_PREFIXES=ihe changes only prefixes: namespace-aware clients read the same
    answer; a client that splits on ns4: does not (the check above can fail)."""
    live = live_server_factory(dmp_xds_prefixes="ihe")
    other = DmpLive(live.base_url)
    try:
        other.patients(hl7.create())
        other.set_authorization()
        doc = xds.Doc(unique_id=unique_oid())
        assert other.feed((doc,)).status == SUCCESS
        answer = other.registry(reg.find_documents())
        assert answer.http.text.count("<rim:ExtrinsicObject ") == 2
        assert unique_id_of(next(answer.body.iterfind(".//rim:ExtrinsicObject", NS)))
        with pytest.raises(SplitReadError):
            read_query_answer(answer.http.text)
    finally:
        other.close()
