"""``registry``: TD3.1 ITI-18 stored queries and TD3.3 ITI-57 metadata updates (masking,
visibility, archive, logical delete)."""
from __future__ import annotations

import uuid

from spyne import Service

from simulator.services.dmp.access import may_delete
from simulator.services.dmp.binding import dmp_rpc
from simulator.services.dmp.call import DmpCall, begin_call
from simulator.services.dmp.document_access import (
    check_may_consult, check_may_feed, patient_of, visible_to)
from simulator.services.dmp.operations import DmpAnswer, DmpOperation
from simulator.services.dmp.refusals import refusal_for
from simulator.services.dmp.xds.coded_metadata import ContentPolicy, update_coded_errors
from simulator.services.dmp.xds.errors import (
    DUPLICATE_UNIQUE_ID, PATIENT_ID_DOES_NOT_MATCH, REGISTRY_ERROR, UNKNOWN_PATIENT_ID, XdsError,
    XdsFailure, failure_label, registry_response)
from simulator.services.dmp.xds.model import DE_UNIQUE_ID, LCM, QUERY, SS_UNIQUE_ID, RegistryObject
from simulator.services.dmp.xds.fragments import association_fragment, object_fragment
from simulator.services.dmp.xds.query_engine import Narrowing, document_find, run_query
from simulator.services.dmp.xds.query_response import (
    query_response_bytes, render_query_response)
from simulator.services.dmp.xds.rules import parse_patient_id
from simulator.services.dmp.xds.stored_queries import (
    GET_DOCUMENTS, LEAF_CLASS, OBJECT_REF, parse_adhoc_query)
from simulator.services.dmp.xds.updates import parse_update, plan_update
from simulator.ports.dmp import DOCUMENT, SUBMISSION_SET, RegistryAccess

STORED_QUERY = DmpOperation(
    "RegistryStoredQuery", f"{{{QUERY}}}AdhocQueryRequest",
    frozenset({"urn:ihe:iti:2007:RegistryStoredQuery",
               "urn:ihe:iti:xds-b:2007:RegistryStoredQuery-b"}),  # the ANS kit's spelling
    "urn:ihe:iti:2007:RegistryStoredQueryResponse")
UPDATE = DmpOperation(
    "UpdateDocumentSet", f"{{{LCM}}}SubmitObjectsRequest",
    frozenset({"urn:ihe:iti:2010:UpdateDocumentSet"}),
    "urn:ihe:iti:2010:UpdateDocumentSetResponse")
OPERATIONS = [STORED_QUERY, UPDATE]
_BY_NAME = {op.name: op for op in OPERATIONS}


class _RegistryView:
    """The query engine's view of the store, for one patient's INS."""

    def __init__(self, registry: RegistryAccess):
        self.registry = registry

    def documents_for_patient(self, patient_id: str,
                              narrowing: Narrowing) -> list[RegistryObject]:
        patient = parse_patient_id(patient_id)
        return self.registry.documents_for_patient(patient[0], narrowing) if patient else []

    def submission_sets_for_patient(self, patient_id: str,
                                    narrowing: Narrowing) -> list[RegistryObject]:
        patient = parse_patient_id(patient_id)
        return (self.registry.submission_sets_for_patient(patient[0], narrowing)
                if patient else [])

    def object_by_uuid(self, entry_uuid: str) -> RegistryObject | None:
        return self.registry.entry(entry_uuid)

    def documents_by_unique_id(self, unique_id: str) -> list[RegistryObject]:
        return self.registry.documents_by_unique_id(unique_id)

    def associations_for(self, uuids) -> list:
        return self.registry.associations_for(list(uuids))


def _check_query_patient(call: DmpCall, query) -> None:
    """The query's patientId names the VIHF patient, under an OID that may name it
    (brief §3.2: ``XDSUnknownPatientId``, that identifier names no patient)."""
    for name in ("$XDSDocumentEntryPatientId", "$XDSSubmissionSetPatientId"):
        value = query.one(name)
        if value is None:
            continue
        patient = parse_patient_id(value)
        refusal = call.ins_oids.refusal(*patient) \
            if patient and call.context.version != "v1" else None
        if refusal is not None:
            raise XdsFailure([XdsError(UNKNOWN_PATIENT_ID, f"{name} {value}: {refusal}",
                                       name)])
        if patient != (call.patient_id, call.patient.oid):
            raise XdsFailure([XdsError(
                PATIENT_ID_DOES_NOT_MATCH, f"{name} {value} is not the patient the VIHF "
                f"names ({call.patient_id}^^^&{call.patient.oid}&ISO^NH)", name)])


def _is_td31b(query) -> bool:
    """TD3.1b (brief §2.5): GetDocuments by $XDSDocumentEntryUniqueId, returnType
    ObjectRef, which finds the entryUUID of a document the LPS fed, without consulting."""
    return (query.query_id == GET_DOCUMENTS and query.return_type == OBJECT_REF
            and bool(query.values("$XDSDocumentEntryUniqueId")))


def _check_update_patient(call: DmpCall, plan) -> None:
    """Every changed entry belongs to the VIHF patient (metadata consistency)."""
    errors = [XdsError(PATIENT_ID_DOES_NOT_MATCH, f"document {entry.id} is not in the DMP "
                       f"of {call.patient_id}", entry.id)
              for entry in plan.affected_entries() if patient_of(entry) != call.patient_id]
    if errors:
        raise XdsFailure(errors)


def _plan_checked(call: DmpCall, request, registry: RegistryAccess):
    """The update plan, with the value-set errors of the new metadata reported together
    with the registry's (docs/dmp.md, "Coded metadata and CDA checks")."""
    coded = update_coded_errors(request, ContentPolicy.from_settings(call.context.settings))
    try:
        plan = plan_update(request, lookup=registry, now=call.now,
                           new_uuid=lambda: f"urn:uuid:{uuid.uuid4()}")
    except XdsFailure as failure:
        raise XdsFailure(coded + failure.errors) from None
    if coded:
        raise XdsFailure(coded)
    return plan


def _check_update_rights(call: DmpCall, plan, registry: RegistryAccess) -> None:
    """Only the author deletes; other changes need the author or a consultation right
    (brief §2.5 TD3.3), which indirect authentication does not have (§4.1)."""
    errors = []
    deleting = {change.entry.id for change in plan.status_changes if change.action == "delete"}
    record = call.dmp.record(call.patient_ins)
    for entry in plan.affected_entries():
        author = registry.author_of(entry.id) or ""
        if entry.id in deleting:
            decision = may_delete(record.state(), author, call.vihf.name_id)
            if not decision.allowed:
                refusal = refusal_for(decision.reason, decision.message)
                errors.append(XdsError(REGISTRY_ERROR, f"{refusal.code}: {refusal.text}",
                                       entry.id))
        elif author != call.vihf.name_id:
            check_may_consult(call, "TD3.1a")
    if errors:
        raise XdsFailure(errors)


def _check_new_submission_set(plan, registry: RegistryAccess) -> None:
    """An update's submission set needs a uniqueId of its own, as a feed's does."""
    unique_id = plan.submission_set.external(SS_UNIQUE_ID) or ""
    if registry.unique_id_exists(unique_id):
        raise XdsFailure([XdsError(
            DUPLICATE_UNIQUE_ID, f"submission set uniqueId {unique_id} is already registered: "
            "each update needs a new one", plan.submission_set.id)])


def _store_plan(registry: RegistryAccess, plan, call: DmpCall) -> None:
    registry.add_object(plan.submission_set, kind=SUBMISSION_SET, ins=call.patient_id,
                        unique_id=plan.submission_set.external(SS_UNIQUE_ID) or "",
                        author_id=call.vihf.name_id, registered_at=call.now)
    for version in plan.versions:
        registry.set_status(version.previous.id, version.deprecated.status)
        registry.add_object(version.new_version, kind=DOCUMENT, ins=call.patient_id,
                            unique_id=version.new_version.external(DE_UNIQUE_ID) or "",
                            # The document keeps its author across metadata versions.
                            author_id=registry.author_of(version.previous.id) or "",
                            registered_at=call.now)
    for change in plan.status_changes:
        registry.set_status(change.entry.id, change.new_status)
    for association in plan.associations:
        registry.add_association(association)


def _run(call: DmpCall, query) -> tuple[int, int, list[tuple[str, bytes | None]], bool]:
    """(objects and associations found, objects found, [(id, stored answer fragment)],
    whether counting stopped past the limit).

    A FindDocuments on stored columns only (query_engine.document_find) is counted in
    SQL first, up to one past the limit a LeafClass answer may carry
    (SIM_DMP_MAX_RESULTS), and its entries read only when the answer carries them; any
    other query decodes the entries and runs the engine."""
    view = call.dmp.view()
    leaf = query.return_type == LEAF_CLASS
    limit = call.context.settings.dmp_max_results if leaf else None
    find = document_find(query)
    if find is not None:
        count, found = view.find_documents(find, ins=call.patient_id,
                                           caller=call.vihf.name_id, limit=limit,
                                           with_fragments=leaf)
        return count, count, found, limit is not None and count > limit
    shown = visible_to(call, view.author_of)
    result = run_query(query, _RegistryView(view), visible=lambda obj: (
        patient_of(obj) == call.patient_id and shown(obj)))
    count = len(result.objects) + len(result.associations)
    if not leaf or (limit is not None and count > limit):
        found = [(item.id, None) for item in [*result.objects, *result.associations]]
        return count, len(result.objects), found, False
    stored = view.fragments([obj.id for obj in result.objects])
    found = [(obj.id, stored.get(obj.id) or object_fragment(obj)) for obj in result.objects]
    found += [(a.id, association_fragment(a)) for a in result.associations]
    return count, len(result.objects), found, False


class RegistryService(Service):
    """The DMP's XDS.b document registry."""

    @dmp_rpc(STORED_QUERY.body)
    def AdhocQueryRequest(ctx, _body):
        """TD3.1: a stored query over the VIHF patient's documents the caller may see."""
        call = begin_call(ctx, _BY_NAME)
        return_type = LEAF_CLASS
        try:
            query = parse_adhoc_query(call.body)
            return_type = query.return_type
            _check_query_patient(call, query)  # consistency, then the business rules
            if _is_td31b(query):
                check_may_feed(call, "TD3.1b")
            else:
                check_may_consult(call, "TD3.1a")
            count, objects, found, counted_to_limit = _run(call, query)
        except XdsFailure as failure:
            return DmpAnswer(render_query_response(None, return_type, failure.errors,
                                                   profile=call.context.wire_profile),
                             outcome=failure_label(failure.errors))
        body = query_response_bytes(count, found, return_type,
                                    limit=call.context.settings.dmp_max_results,
                                    counted_to_limit=counted_to_limit,
                                    profile=call.context.wire_profile)
        shown = f"more than {objects - 1}" if counted_to_limit else str(objects)
        return DmpAnswer(body, outcome=f"{shown} objects")

    @dmp_rpc(UPDATE.body)
    def SubmitObjectsRequest(ctx, _body):
        """TD3.3: new metadata versions or availability status changes."""
        call = begin_call(ctx, _BY_NAME)
        try:
            request = parse_update(call.body)
            with call.dmp.registry_transaction() as registry:
                # Inside: a concurrent TD1.4 lands before or after. The metadata and
                # their consistency first, then the business rules (docs/dmp.md).
                registry.reserve(ins=call.patient_id)  # the patient first: lock order
                plan = _plan_checked(call, request, registry)
                _check_update_patient(call, plan)
                _check_new_submission_set(plan, registry)
                check_may_feed(call, "TD3.3")
                _check_update_rights(call, plan, registry)
                _store_plan(registry, plan, call)
        except XdsFailure as failure:
            return DmpAnswer(registry_response(failure.errors,
                                               profile=call.context.wire_profile),
                             outcome=failure_label(failure.errors))
        return DmpAnswer(registry_response([], profile=call.context.wire_profile),
                         outcome="Success")
