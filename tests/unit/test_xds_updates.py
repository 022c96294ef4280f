"""ITI-57 Update Document Set (TD3.3): each kind of update and each error."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone

import pytest
from lxml import etree

from simulator.kit import registry as b
from simulator.services.dmp.xds import errors
from simulator.services.dmp.xds.errors import XdsFailure
from simulator.services.dmp.xds.model import (
    ARCHIVED, DELETED, DEPRECATED, HAS_MEMBER, UPDATE_AVAILABILITY, read_registry_object)
from simulator.services.dmp.xds.updates import (
    author_ids, parse_update, plan_update, visibility_codes)
from simulator.soap.parsing import safe_parser

NOW = datetime(2024, 1, 15, 10, 30, tzinfo=timezone.utc)
DOC = "urn:uuid:0f0e5b8c-0000-4000-8000-000000000001"
ARCH = "urn:uuid:0f0e5b8c-0000-4000-8000-000000000002"
GONE = "urn:uuid:0f0e5b8c-0000-4000-8000-000000000003"
MASKED = "urn:uuid:0f0e5b8c-0000-4000-8000-000000000004"
UNIQUE_ID = "1.2.250.1.999.1.1.7001"


def xml(text: str) -> etree._Element:
    return etree.fromstring(text.encode("utf-8"), safe_parser())


def stored(uuid: str, status: str = b.APPROVED, unique_id: str = UNIQUE_ID, **options):
    obj = read_registry_object(xml(b.document_entry(uuid, unique_id=unique_id, **options)))
    return obj.evolve(status=status, lid=uuid, version="1")


class Lookup:
    """The registry as planning sees it."""

    def __init__(self, *objects):
        self.objects = {o.id: o for o in objects}

    def entry(self, uuid):
        return self.objects.get(uuid)

    def current_version(self, lid):
        versions = [o for o in self.objects.values() if o.lid == lid]
        return max(versions, key=lambda o: int(o.version)) if versions else None


REGISTRY = Lookup(stored(DOC), stored(ARCH, ARCHIVED, "1.2.250.1.999.1.1.7002"),
                  stored(GONE, DELETED, "1.2.250.1.999.1.1.7003"),
                  stored(MASKED, unique_id="1.2.250.1.999.1.1.7004", visibility=("MASQUE_PS",)))


def uuids():
    counter = itertools.count(1)
    return lambda: f"urn:uuid:00000000-0000-4000-8000-{next(counter):012d}"


def plan(text: str, lookup=REGISTRY):
    return plan_update(parse_update(xml(text)), lookup=lookup, now=NOW, new_uuid=uuids())


def codes_of(failure: pytest.ExceptionInfo) -> list[str]:
    return [error.code for error in failure.value.errors]


def plan_fails(text: str, lookup=REGISTRY) -> list[str]:
    with pytest.raises(XdsFailure) as raised:
        plan(text, lookup)
    return codes_of(raised)


def parse_fails(text: str) -> list[str]:
    with pytest.raises(XdsFailure) as raised:
        parse_update(xml(text))
    return codes_of(raised)


# --- metadata updates (TD3.3a/b) ------------------------------------------------------

def test_mask_makes_a_new_version_and_deprecates_the_previous_one():
    result = plan(b.mask(DOC, "1"))
    assert len(result.versions) == 1 and not result.status_changes
    change = result.versions[0]
    new, previous = change.new_version, change.previous
    assert previous.id == DOC and change.deprecated.status == DEPRECATED
    assert new.id.startswith("urn:uuid:00000000") and new.id != DOC
    assert (new.lid, new.version, new.status) == (DOC, "2", b.APPROVED)
    assert visibility_codes(previous) == frozenset()
    assert visibility_codes(new) == {"MASQUE_PS"}
    assert {c.classified_object for c in new.classifications} == {new.id}
    assert {x.registry_object for x in new.external_ids} == {new.id}
    assert all(c.id.startswith("urn:uuid:") for c in new.classifications)


def test_the_plan_stores_the_set_the_versions_and_a_resolved_has_member():
    result = plan(b.mask(DOC, "1"))
    new = result.versions[0].new_version
    assert result.submission_set.id.startswith("urn:uuid:")
    assert result.submission_set.status == b.APPROVED
    [association] = result.associations
    assert (association.type, association.source, association.target, association.status) == \
        (HAS_MEMBER, result.submission_set.id, new.id, b.APPROVED)
    assert association.id.startswith("urn:uuid:")
    assert association.slot("PreviousVersion") == "1"
    assert [o.id for o in result.objects_to_store()] == [result.submission_set.id, DOC, new.id]
    assert [o.status for o in result.objects_to_store()][1] == DEPRECATED
    assert [o.id for o in result.affected_entries()] == [DOC]
    assert result.registered_at == NOW


def test_unmask():
    new = plan(b.unmask(MASKED, "1", unique_id="1.2.250.1.999.1.1.7004")).versions[0]
    assert visibility_codes(new.previous) == {"MASQUE_PS"}
    assert visibility_codes(new.new_version) == frozenset()


def test_visibility_to_patient_and_legal_representatives():
    codes = ("INVISIBLE_PATIENT", "INVISIBLE_REPRESENTANTS_LEGAUX")
    new = plan(b.set_visibility(DOC, "1", codes)).versions[0].new_version
    assert visibility_codes(new) == set(codes)


def test_an_archived_document_stays_archived_in_its_new_version():
    new = plan(b.mask(ARCH, "1", unique_id="1.2.250.1.999.1.1.7002")).versions[0].new_version
    assert (new.status, new.version) == (ARCHIVED, "2")


def test_registry_slots_left_out_are_copied_from_the_previous_version():
    new = plan(b.mask(DOC, "1", hash_=None, size=None)).versions[0].new_version
    assert (new.slot("hash"), new.slot("size")) == (
        "da39a3ee5e6b4b0d3255bfef95601890afd80709", "1024")


def test_an_update_of_the_second_version():
    first = plan(b.mask(DOC, "1")).versions[0]
    lookup = Lookup(first.deprecated, first.new_version)
    second = plan_update(parse_update(xml(b.unmask(DOC, "2"))), lookup=lookup, now=NOW,
                         new_uuid=lambda: "urn:uuid:99999999-0000-4000-8000-000000000000")
    assert second.versions[0].previous.id == first.new_version.id
    assert second.versions[0].new_version.version == "3"
    assert "XDSMetadataVersionError" in plan_fails(b.unmask(DOC, "1"), lookup)


@pytest.mark.parametrize("previous", ["0", "2", "v1"])
def test_previous_version_must_be_the_current_one(previous):
    assert plan_fails(b.mask(DOC, previous)) == [errors.METADATA_VERSION_ERROR]


def test_unknown_lid():
    assert plan_fails(b.mask("urn:uuid:0f0e5b8c-0000-4000-8000-0000000000ff", "1")) == \
        [errors.METADATA_UPDATE_ERROR]


@pytest.mark.parametrize("lid", ["", "Document01"])
def test_the_new_version_must_name_the_lid_it_updates(lid):
    assert plan_fails(b.mask(lid, "1")) == [errors.METADATA_UPDATE_ERROR]


def test_a_deleted_document_cannot_be_updated():
    assert plan_fails(b.mask(GONE, "1", unique_id="1.2.250.1.999.1.1.7003")) == \
        [errors.METADATA_UPDATE_ERROR]


def test_the_patient_cannot_change():
    other = b.cx("180032B01234567")
    assert plan_fails(b.mask(DOC, "1", patient=other)) == [errors.PATIENT_ID_DOES_NOT_MATCH]
    assert plan_fails(b.mask(DOC, "1", set_patient=other)) == [errors.PATIENT_ID_DOES_NOT_MATCH]


def test_the_unique_id_cannot_change():
    assert plan_fails(b.mask(DOC, "1", unique_id="1.2.250.1.999.1.1.8888")) == \
        [errors.METADATA_IDENTIFIER_ERROR]


def test_the_new_version_needs_a_new_entry_uuid():
    assert plan_fails(b.mask(DOC, "1", entry_id=ARCH)) == [errors.METADATA_IDENTIFIER_ERROR]


def test_hash_cannot_change():
    assert plan_fails(b.mask(DOC, "1", hash_="0" * 40)) == [errors.METADATA_UPDATE_ERROR]


def test_every_problem_is_reported():
    found = plan_fails(b.mask(DOC, "5", unique_id="9.9", patient=b.cx("180032B01234567"),
                              set_patient=b.cx()))
    assert sorted(found) == sorted([errors.METADATA_VERSION_ERROR, errors.PATIENT_ID_DOES_NOT_MATCH,
                                    errors.METADATA_IDENTIFIER_ERROR,
                                    errors.PATIENT_ID_DOES_NOT_MATCH])


# --- availability status (TD3.3c/d) -----------------------------------------------------

@pytest.mark.parametrize("text, target, new_status, action", [
    (b.delete(DOC), DOC, DELETED, "delete"),
    (b.delete(ARCH, ARCHIVED), ARCH, DELETED, "delete"),
    (b.archive(DOC), DOC, ARCHIVED, "archive"),
    (b.unarchive(ARCH), ARCH, b.APPROVED, "unarchive"),
])
def test_status_changes(text, target, new_status, action):
    result = plan(text)
    [change] = result.status_changes
    assert (change.entry.id, change.new_status, change.action) == (target, new_status, action)
    assert change.updated.status == new_status and change.entry.status != new_status
    [association] = result.associations
    assert (association.type, association.source, association.target) == \
        (UPDATE_AVAILABILITY, result.submission_set.id, target)
    assert association.slot("NewStatus") == new_status
    assert [o.id for o in result.objects_to_store()] == [result.submission_set.id, target]
    assert [o.id for o in result.affected_entries()] == [target]


def test_original_status_must_be_the_current_one():
    # The kit's ArchiveMessage says Deleted -> Archived for an approved document (brief §2.5).
    assert plan_fails(b.status_update(DOC, DELETED, ARCHIVED)) == [errors.METADATA_UPDATE_ERROR]
    assert plan_fails(b.unarchive(DOC)) == [errors.METADATA_UPDATE_ERROR]


@pytest.mark.parametrize("target, original, new", [
    (GONE, DELETED, b.APPROVED),  # no undelete
    (DOC, b.APPROVED, DEPRECATED),
    (DOC, b.APPROVED, "urn:oasis:names:tc:ebxml-regrep:StatusType:Submitted"),
])
def test_transitions_the_dmp_does_not_make(target, original, new):
    assert plan_fails(b.status_update(target, original, new)) == [errors.METADATA_UPDATE_ERROR]


def test_status_change_of_an_unknown_entry():
    assert plan_fails(b.delete("urn:uuid:0f0e5b8c-0000-4000-8000-0000000000ff")) == \
        [errors.METADATA_UPDATE_ERROR]


def test_status_change_of_another_patients_document():
    assert plan_fails(b.delete(DOC, patient=b.cx("180032B01234567"))) == \
        [errors.PATIENT_ID_DOES_NOT_MATCH]


def test_helpers_for_the_access_rules():
    assert author_ids(REGISTRY.entry(DOC)) == ["801234567897"]


# --- what parse_update refuses ----------------------------------------------------------

def _set_and(*parts: str) -> str:
    return b.submit_objects(b.submission_set(), *parts)


@pytest.mark.parametrize("text", [
    _set_and(b.document_entry(lid=DOC), b.association(
        "a", HAS_MEMBER, "SubmissionSet01", "Document01", [("SubmissionSetStatus", "Original")])),
    _set_and(b.document_entry(lid=DOC), b.association(
        "a", HAS_MEMBER, "SubmissionSet01", "Document01",
        [("SubmissionSetStatus", "Reference"), ("PreviousVersion", "1")])),
    _set_and(b.document_entry(lid=DOC)),
    _set_and(b.association("a", "urn:ihe:iti:2007:AssociationType:RPLC", "Document01", DOC)),
    _set_and(),
])
def test_what_is_not_an_update(text):
    assert parse_fails(text) == [errors.METADATA_UPDATE_ERROR]


@pytest.mark.parametrize("text", [
    b.submit_objects(b.association("a", UPDATE_AVAILABILITY, "SubmissionSet01", DOC,
                                   [("OriginalStatus", b.APPROVED), ("NewStatus", DELETED)])),
    b.submit_objects(b.submission_set(), b.submission_set("SubmissionSet02")),
    _set_and(b.association("a", UPDATE_AVAILABILITY, "SubmissionSet01", DOC,
                           [("OriginalStatus", b.APPROVED)])),
    _set_and(b.association("a", UPDATE_AVAILABILITY, DOC, DOC,
                           [("OriginalStatus", b.APPROVED), ("NewStatus", DELETED)])),
])
def test_malformed_update_metadata(text):
    assert parse_fails(text) == [errors.REGISTRY_METADATA_ERROR]


def test_a_body_that_is_no_submit_objects_request():
    assert parse_fails(b.find_documents()) == [errors.REGISTRY_ERROR]


def test_the_submission_set_marker_inside_the_package_is_read_too():
    marker = ('<rim:Classification id="m" classifiedObject="SubmissionSet01" '
              'classificationNode="urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"/>')
    text = b.delete(DOC)
    outside = text[text.index('<rim:Classification xmlns:rim'):text.index("<rim:Association")]
    text = text.replace(outside, "").replace("</rim:RegistryPackage>",
                                             marker + "</rim:RegistryPackage>")
    assert "classificationNode" in text and plan(text).status_changes[0].entry.id == DOC
