"""``patientsPDQ``: TD0.5, finding a patient's DMP by identity traits, without an INS
(DMP brief §1.1, §2.1; messages in :mod:`simulator.services.dmp.hl7.pdq`, the search
in :mod:`simulator.services.dmp.patient_search`).

The VIHF names no patient (the point is to find one). The authentication mode is
checked as for every transaction (``TD0.5`` in :data:`..access.TRANSACTIONS`; every mode
may search by default, as TD0.2: the answer gives identities and DMP status, no
document).
wsa:Action: IHE's ``urn:hl7-org:v3:PRPA_IN201305UV02`` (ITI-47) and the ANS kit's
``urn:ihe:iti:pdqv3:2007:PDQSupplier_Service:findCandidatesQuery`` are both accepted
(brief §2.4: the kit's string is not proof of the wire); the reply action is IHE's.
"""
from __future__ import annotations

import copy
import uuid

from spyne import Service

from simulator.services.dmp import patient_search, refusals
from simulator.services.dmp.binding import dmp_rpc
from simulator.services.dmp.call import DmpCall, begin_call
from simulator.services.dmp.hl7 import codes as c
from simulator.services.dmp.hl7.pdq import (
    ANSWER, QUERY, echo_of, parse_pdq_request, render_candidates, render_refusal)
from simulator.services.dmp.hl7.xmlread import Hl7RequestError
from simulator.services.dmp.operations import DmpAnswer, DmpOperation
from simulator.services.dmp.refusals import DmpRefusal

KIT_ACTION = "urn:ihe:iti:pdqv3:2007:PDQSupplier_Service:findCandidatesQuery"
FIND_CANDIDATES = DmpOperation(
    QUERY, f"{{{c.HL7}}}{QUERY}", frozenset({f"urn:hl7-org:v3:{QUERY}", KIT_ACTION}),
    f"urn:hl7-org:v3:{ANSWER}", patient_in_vihf=False)
OPERATIONS = [FIND_CANDIDATES]
_BY_NAME = {op.name: op for op in OPERATIONS}


def _message_id() -> str:
    return str(uuid.uuid4())


def find_candidates(call: DmpCall) -> DmpAnswer:
    """TD0.5: the DMPs whose patient matches the traits."""
    body = copy.deepcopy(call.body)  # detached: error locations start at the message
    try:
        request = parse_pdq_request(body)
    except Hl7RequestError as error:
        # A bad criterion is a query error (QE); a message that cannot be read, AE.
        response = "QE" if "/parameterList/" in error.location else "AE"
        answer = render_refusal(echo_of(body), error.code, error.message, error.location,
                                message_id=_message_id(), now=call.now, response_code=response)
        return DmpAnswer(answer, outcome=f"AE {error.code}")
    try:
        call.check_mode("TD0.5")  # parameters first, then the authentication mode
        records = call.dmp.records()
        found = patient_search.search(records, request.criteria,
                                      call.context.settings.dmp_pdq_max_results)
    except DmpRefusal as refusal:
        too_many = refusal.code == refusals.TOO_MANY_RESULTS
        total = sum(patient_search.matches(r, request.criteria) for r in records) \
            if too_many else None
        answer = render_refusal(request.echo, refusal.code, refusal.text, None,
                                message_id=_message_id(), now=call.now,
                                response_code="QE" if too_many else "AE", total=total,
                                query_by_parameter=request.query_by_parameter)
        return DmpAnswer(answer, outcome=f"AE {refusal.code}")
    answer = render_candidates(request, found, message_id=_message_id(), now=call.now)
    return DmpAnswer(answer, outcome=f"{'OK' if found else 'NF'} {len(found)}")


class PatientsPdqService(Service):
    """The DMP's PDQ v3 supplier."""

    @dmp_rpc(FIND_CANDIDATES.body)
    def PRPA_IN201305UV02(ctx, _body):
        """TD0.5 findCandidatesQuery."""
        return find_candidates(begin_call(ctx, _BY_NAME))

