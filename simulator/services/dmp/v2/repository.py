"""``repository``: TD2.1 ITI-41 Provide and Register (MTOM in) and TD3.2 ITI-43
Retrieve (MTOM out)."""
from __future__ import annotations

from spyne import Service

from simulator.services.dmp.binding import dmp_rpc
from simulator.services.dmp.call import begin_call
from simulator.ports.dmp import DocumentVersion
from simulator.services.dmp.document_access import (
    check_may_consult, check_may_feed, patient_of, version_visible)
from simulator.services.dmp.operations import DmpAnswer, DmpOperation
from simulator.services.dmp.qualification import NON_QUALIFIED, Qualification, assess_feed
from simulator.services.dmp.timeline import software_of
from simulator.services.dmp.xds.coded_metadata import ContentPolicy
from simulator.services.dmp.xds.errors import (
    DOCUMENT_UNIQUE_ID_ERROR, REGISTRY_ERROR, UNKNOWN_REPOSITORY_ID, CalendarRefusal, XdsError,
    XdsFailure, failure_label, registry_response)
from simulator.services.dmp.xds.model import DELETED, XDSB
from simulator.services.dmp.xds.registration import DMP_REPOSITORY_UNIQUE_ID, plan_registration
from simulator.services.dmp.xds.retrieve import parse_retrieve_request, render_retrieve_response
from simulator.services.dmp.xds.rules import check_submission
from simulator.services.dmp.xds.store_registration import (
    prepare_registration, register_checked)
from simulator.services.dmp.xds.submission import parse_provide_and_register
from simulator.soap.addressing import random_uuid

PROVIDE_AND_REGISTER = DmpOperation(
    "ProvideAndRegisterDocumentSet-b", f"{{{XDSB}}}ProvideAndRegisterDocumentSetRequest",
    frozenset({"urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"}),
    "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse")
RETRIEVE = DmpOperation(
    "RetrieveDocumentSet", f"{{{XDSB}}}RetrieveDocumentSetRequest",
    frozenset({"urn:ihe:iti:2007:RetrieveDocumentSet"}),
    "urn:ihe:iti:2007:RetrieveDocumentSetResponse")
OPERATIONS = [PROVIDE_AND_REGISTER, RETRIEVE]
_BY_NAME = {op.name: op for op in OPERATIONS}


def check_qualified_ins(call, submission) -> Qualification:
    """The feed's INS qualification; once the calendar requires a qualified INS, a
    non-qualified one is refused, naming the rule and its date."""
    qualification = assess_feed(
        call.context.store, call.vihf.structure_id, call.patient_id, call.vihf.patient_oid,
        [entry.slots.get("sourcePatientInfo", []) for entry in submission.documents])
    calendar = call.context.calendar
    if qualification.kind == NON_QUALIFIED and \
            calendar.feeding_requires_qualified_ins(call.now.date()):
        rule = calendar.rule("dmp-feeding-requires-qualified-ins")
        raise CalendarRefusal([XdsError(REGISTRY_ERROR, f"{rule.name}: {rule.description}; "
                                        f"{qualification.reason}")], rule.name)
    return qualification


def _current_version(versions: list[DocumentVersion]) -> DocumentVersion | None:
    """The latest metadata version decides (an earlier one lacks a later MASQUE_PS or
    Deleted status); a document replaced by RPLC stays retrievable."""
    return max(versions, key=lambda version: version.version, default=None)


class RepositoryService(Service):
    """The DMP's XDS.b document repository."""

    @dmp_rpc(PROVIDE_AND_REGISTER.body)
    def ProvideAndRegisterDocumentSetRequest(ctx, _body):
        """TD2.1: check and store a submission set, whole or not at all."""
        call = begin_call(ctx, _BY_NAME)
        try:
            submission = parse_provide_and_register(call.body, call.parts)
            # The order of an XDS registry (docs/dmp.md, "Order of the checks"): the
            # metadata and their consistency, then the business rules. All of it, the
            # planning and the rows to write are done before the write lock, on what
            # is committed (issue 15: other feeds waited for them).
            view = call.dmp.view()
            check_submission(submission, lookup=view, vihf_patient=(
                call.vihf.patient_ins, call.vihf.patient_oid),
                version=call.context.version,
                policy=ContentPolicy.from_settings(call.context.settings),
                ins_oid_refusal=(call.ins_oids.refusal
                                 if call.context.version != "v1" else None),
                signatures=call.context.signature_verifier)
            check_may_feed(call)
            qualification = check_qualified_ins(call, submission)
            registration = plan_registration(
                submission, now=call.now, new_uuid=random_uuid,
                repository_unique_id=DMP_REPOSITORY_UNIQUE_ID, lookup=view)
            prepared = prepare_registration(registration, ins=call.patient_id,
                                            feeder=call.vihf.name_id, now=call.now)
            with call.dmp.registry_transaction() as registry:
                # What the registry and the record decide is read again under the
                # lock: two concurrent feeds of one uniqueId cannot both be stored,
                # and a concurrent TD1.4 or block lands wholly before or after the feed.
                register_checked(registry, submission, prepared, ins=call.patient_id,
                                 check_rights=lambda: check_may_feed(call))
        except XdsFailure as failure:
            return DmpAnswer(registry_response(failure.errors,
                                               profile=call.context.wire_profile),
                             outcome=failure_label(failure.errors),
                             rule=getattr(failure, "rule", None))
        call.context.usage.record_feed(call.now, call.vihf.structure_id,
                                       software_of(call.vihf), qualification.kind,
                                       len(submission.documents))
        return DmpAnswer(registry_response([], profile=call.context.wire_profile),
                         outcome=f"Success {len(registration.entries)} entries, "
                                 f"{qualification.kind} INS")

    @dmp_rpc(RETRIEVE.body)
    def RetrieveDocumentSetRequest(ctx, _body):
        """TD3.2: the documents asked for, as MTOM parts."""
        call = begin_call(ctx, _BY_NAME)
        try:
            wanted = parse_retrieve_request(call.body)
            check_may_consult(call, "TD3.2")
        except XdsFailure as failure:
            body, _ = render_retrieve_response([], failure.errors,
                                               profile=call.context.wire_profile)
            return DmpAnswer(body, outcome=failure_label(failure.errors))
        found, errors = [], []
        view = call.dmp.view()
        for request in wanted:
            if request.repository_unique_id != DMP_REPOSITORY_UNIQUE_ID:
                errors.append(XdsError(
                    UNKNOWN_REPOSITORY_ID, f"repository {request.repository_unique_id} is not "
                    f"the DMP's ({DMP_REPOSITORY_UNIQUE_ID})", request.repository_unique_id))
                continue
            # The stored columns, not the decoded entries (issue 15): the same decision.
            current = _current_version(view.document_versions(request.document_unique_id))
            shown = current is not None and current.status != DELETED \
                and version_visible(call, current) and patient_of(current) == call.patient_id
            content = call.dmp.document_content(request.document_unique_id) if shown else None
            if content is None:
                errors.append(XdsError(
                    DOCUMENT_UNIQUE_ID_ERROR, f"no document {request.document_unique_id} in "
                    f"the DMP of {call.patient_id} that this professional may see",
                    request.document_unique_id))
                continue
            found.append((request, content[0], content[1]))
        body, attachments = render_retrieve_response(found, errors,
                                                     profile=call.context.wire_profile)
        return DmpAnswer(body, attachments=attachments,
                         outcome=f"{len(found)} found" + (f", {len(errors)} errors"
                                                          if errors else ""))
