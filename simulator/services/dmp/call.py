"""The start of every DMP transaction: WS-Addressing and VIHF checks, then the call.

A handler's first line is ``call = begin_call(ctx)``; it gets the checked VIHF, the
simulated instant, the request body and the DMP store, or the request is refused with
the right SOAP fault before any business rule runs.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from lxml import etree

from simulator.calendar import RegulatoryCalendar
from simulator.clock import SimClock
from simulator.services.dmp.access import mode_allows
from simulator.services.dmp.faults import DmpFault
from simulator.services.dmp.ins_oid import InsOidRule
from simulator.services.dmp.operations import DmpOperation
from simulator.services.dmp.refusals import refusal_for
from simulator.services.dmp.usage import DmpUsage
from simulator.services.dmp.timeline import (
    API_V1, API_V2, TD00, TD15, check_legacy_access, check_td15, deprecation_headers,
    identifier_kind, software_of)
from simulator.services.dmp.v1.insc_patient import UnknownInsc, ins_of_insc
from simulator.services.dmp.xds.wire_profile import WireProfile, parse_prefixes
from simulator.services.dmp.vihf import (
    Vihf, VihfCache, VihfError, identifier_refusal, read_vihf)
from simulator.services.dmp.xmldsig import (
    FAILED_CHECK, INVALID, UNSUPPORTED, UNTRUSTED, SignatureError, SignatureVerifier,
    verify_vihf_signature)
from simulator.settings import Settings
from simulator.soap.errors import ServiceFault
from simulator.soap.namespaces import WSA
from simulator.ports.dmp import DmpRecordStore
from simulator.ports.store import SimulatorStore

LOG = logging.getLogger(__name__)


@dataclass
class DmpContext:
    """What every DMP service needs: the store, the settings, the clock and calendar."""

    store: SimulatorStore
    settings: Settings
    clock: SimClock
    calendar: RegulatoryCalendar
    version: str = "v2"
    # Verifies the VIHF and lot signatures; create_app gives it the trusted CAs.
    signatures: SignatureVerifier = field(default_factory=SignatureVerifier)
    # Counts calls and feeds for the reports in per-worker batches (one for v1 and v2).
    usage: DmpUsage | None = None
    # The VIHFs read and found right, reused by the next requests of the same bytes.
    vihf_cache: VihfCache = field(default_factory=VihfCache)

    def __post_init__(self):
        if self.usage is None:
            self.usage = DmpUsage(self.store.timeline)

    @property
    def signature_verifier(self) -> SignatureVerifier | None:
        """The verifier, or None when SIM_DMP_RELAXED_SECURITY turns verification off."""
        return None if self.settings.dmp_relaxed_security else self.signatures

    @property
    def wire_profile(self) -> WireProfile:
        """How XDS answers are serialised (``SIM_DMP_XDS_PREFIXES``)."""
        return parse_prefixes(self.settings.dmp_xds_prefixes)


# The SOAP fault of each kind of VIHF signature refusal (WS-Security 1.1 §12).
SIGNATURE_FAULTS = {INVALID: DmpFault.INVALID_SECURITY, FAILED_CHECK: DmpFault.FAILED_CHECK,
                    UNSUPPORTED: DmpFault.UNSUPPORTED_ALGORITHM,
                    UNTRUSTED: DmpFault.FAILED_AUTHENTICATION}


@dataclass(frozen=True)
class Patient:
    """The patient of a call: ``id``/``oid``, the identifier the messages carry (the INS
    in v2, the INS-C in v1), and ``ins``/``ins_oid``, the INS their one DMP is keyed by."""

    id: str
    oid: str
    ins: str
    ins_oid: str


@dataclass
class DmpCall:
    """One checked request."""

    operation: DmpOperation
    vihf: Vihf
    now: datetime
    body: etree._Element
    context: DmpContext
    request_id: str
    patient: Patient | None = None  # None when the VIHF names no patient
    # One rule per call, so that each INS is looked up in the identity registry once
    # (the VIHF, the message and every entry of a feed name it).
    _ins_oids: InsOidRule | None = field(default=None, repr=False)
    # MTOM: the binary parts the body's elements were resolved from (SoapRequest.parts).
    parts: dict = field(default_factory=dict, repr=False)

    @property
    def dmp(self) -> DmpRecordStore:
        """The DMP part of the store."""
        return self.context.store.dmp

    def check_mode(self, transaction: str) -> None:
        """Raise the DmpRefusal (``DMPAccessDenied``, reason ``AUTH_MODE``) when the
        VIHF's authentication mode may not use ``transaction`` (access.mode_allows, brief
        §4.1); every service calls it and answers the refusal in its own carrier."""
        decision = mode_allows(self.vihf.auth_mode, transaction,
                               self.context.settings.dmp_indirect_denied)
        if not decision.allowed:
            raise refusal_for(decision.reason, decision.message)

    @property
    def ins_oids(self) -> InsOidRule:
        """The INS OID rule of this simulator (brief §3.2), for the message carriers."""
        if self._ins_oids is None:
            self._ins_oids = ins_oid_rule(self.context)
        return self._ins_oids

    @property
    def patient_ins(self) -> str | None:
        """The INS the patient's DMP (record, authorisations) is keyed by: the VIHF's in
        v2, the one the VIHF's INS-C resolves to in v1."""
        return self.patient.ins if self.patient else None

    @property
    def patient_id(self) -> str | None:
        """The patient identifier as the messages carry it (XDS patientId, HL7 id): the
        VIHF's resource-id, an INS in v2 and an INS-C in v1."""
        return self.patient.id if self.patient else None


def begin_call(ctx, operations: dict[str, DmpOperation]) -> DmpCall:
    """Check the request's WS-Addressing headers and its VIHF, count the call for the
    reports, apply the timeline to API v1, TD0.0 and TD1.5; return the call."""
    exchange = ctx.udc
    context: DmpContext = exchange.service
    operation = operations[exchange.operation]
    check_addressing(exchange.request, operation)
    now = exchange.at = context.clock.now()
    verifier = context.signature_verifier
    try:
        vihf = read_vihf(exchange.request.header, now,
                         max_skew=timedelta(seconds=context.settings.dmp_vihf_max_skew),
                         require_patient=operation.patient_in_vihf,
                         require_signature=verifier is not None,
                         verify_signature=partial(verify_vihf_signature, verifier)
                         if verifier is not None else None, memo=exchange.request.memo,
                         cache=context.vihf_cache, source=exchange.request.source)
    except VihfError as error:
        raise ServiceFault(DmpFault.INVALID_SECURITY, detail=str(error)) from None
    except SignatureError as error:
        raise ServiceFault(SIGNATURE_FAULTS[error.kind],
                           detail=f"ds:Signature: {error}") from None
    api = operation.api or (API_V1 if context.version == "v1" else API_V2)
    # Queued, written in a batch (a full disk drops the batch, never fails the call).
    context.usage.record_call(now, software_of(vihf), vihf.structure_id, api,
                              identifier_kind(vihf.patient_oid), operation.name)
    if api in (API_V1, TD00):
        access = check_legacy_access(context, vihf, api, now)
        if access.deprecated:
            exchange.reply_headers.extend(deprecation_headers(access))
    elif api == TD15:
        check_td15(context, now)
    ins_oids = ins_oid_rule(context)
    return DmpCall(operation, vihf, now, exchange.request.body_element, context,
                   exchange.request_id, identify_patient(context, vihf, ins_oids),
                   ins_oids, exchange.request.parts)


def identify_patient(context: DmpContext, vihf: Vihf,
                     ins_oids: InsOidRule | None = None) -> Patient | None:
    """The VIHF's patient, named with the identifier of the context's API version (v1
    the INS-C, v2 the INS, DMP.md §3.1) and, in v1, resolved to the INS of its DMP.
    Refused with the VIHF fault otherwise; checked after the v1 gate, so that a closed
    API is reported as closed whatever the request names."""
    if vihf.patient_ins is None:
        return None
    refusal = identifier_refusal(context.version, vihf.patient_oid)
    if refusal is not None:
        raise ServiceFault(DmpFault.INVALID_SECURITY, detail=f"resource-id: {refusal}")
    if context.version != "v1":
        refusal = (ins_oids or ins_oid_rule(context)).refusal(vihf.patient_ins,
                                                              vihf.patient_oid)
        if refusal is not None:
            raise ServiceFault(DmpFault.INVALID_SECURITY, detail=f"resource-id: {refusal}")
        return Patient(vihf.patient_ins, vihf.patient_oid, vihf.patient_ins, vihf.patient_oid)
    try:
        ins, ins_oid = ins_of_insc(context.store, vihf.patient_ins)
    except UnknownInsc as error:
        raise ServiceFault(DmpFault.INVALID_SECURITY, detail=f"resource-id: {error}") from None
    return Patient(vihf.patient_ins, vihf.patient_oid, ins, ins_oid)


def ins_oid_rule(context: DmpContext) -> InsOidRule:
    """The INS OID rule (ins_oid.py) with the context's store and settings."""
    settings = context.settings
    return InsOidRule(context.store, settings.dmp_platform, settings.dmp_ins_oid_check)


_ACTION = f"{{{WSA}}}Action"
_COUNTED = {_ACTION: "Action", f"{{{WSA}}}MessageID": "MessageID", f"{{{WSA}}}To": "To"}


def check_addressing(request, operation: DmpOperation) -> None:
    """wsa:Action (one of the operation's spellings) and wsa:MessageID are required
    (DMP brief §1.2). Clients mark Action mustUnderstand; its absence is tolerated, as
    WS-Addressing servers do."""
    header = request.header
    # One pass over the header blocks rather than four ElementPath searches (issue 15).
    counts = {tag: 0 for tag in _COUNTED}
    action = None
    for block in (header if header is not None else ()):
        tag = block.tag
        if tag in counts:
            counts[tag] += 1
            if action is None and tag == _ACTION:
                action = block
    for tag, count in counts.items():
        if count > 1:  # WS-Addressing 1.0 SOAP binding §6.4.1, InvalidCardinality
            raise ServiceFault(DmpFault.INVALID_ADDRESSING_HEADER,
                               detail=f"wsa:{_COUNTED[tag]} appears {count} times (at most "
                                      "once)")
    if action is None or not (action.text or "").strip():
        raise ServiceFault(DmpFault.ADDRESSING_HEADER_REQUIRED,
                           detail=f"wsa:Action (expected {sorted(operation.actions)[0]})")
    if action.text.strip() not in operation.actions:
        raise ServiceFault(DmpFault.ACTION_MISMATCH,
                           detail=f"the body is {etree.QName(operation.body).localname}, "
                                  f"whose action is {' or '.join(sorted(operation.actions))};"
                                  f" got {action.text.strip()!r}")
    if not request.message_id:
        raise ServiceFault(DmpFault.ADDRESSING_HEADER_REQUIRED,
                           detail="wsa:MessageID (e.g. urn:uuid:...)")


def check_same_patient(call: DmpCall, ins: str, oid: str | None, where: str) -> None:
    """The patient of the message must be the one the VIHF names (brief §8.4)."""
    if call.vihf.patient_ins != ins or (oid is not None and call.vihf.patient_oid != oid):
        raise ServiceFault(DmpFault.INVALID_SECURITY,
                           detail=f"the VIHF resource-id names {call.vihf.patient_ins}^^^&"
                                  f"{call.vihf.patient_oid}, but {where} names {ins}^^^&{oid}")
