"""TD1.5a-d (the patient's web access) over a real socket, called by zeep built from the
WSDL the simulator serves (``patientsSpecific?wsdl``): created, refused twice, channels
changed, new codes; then the removal of 2024-06-11 (the DMP WSDL package 2.01.04), after
which the client built before gets the SOAP fault, patientList still answers, and a
client built from the WSDL served that day has no TD1.5 operation."""
from __future__ import annotations

import pytest
import requests
import zeep

from dmp_live import DOCTOR, HTTP_TIMEOUT, ServiceClient


@pytest.fixture
def generated_in_march(live_server):
    """A vendor's client generated from the WSDL served on 2024-03-01 (the session's
    shared clients may have been built on another simulated day)."""
    live_server.set_clock("2024-03-01T09:00:00Z", frozen=True)
    client = ServiceClient(live_server.base_url, "patientsSpecific")
    yield client
    client.transport.session.close()


def test_td15_with_zeep_until_its_removal(live_server, dmp, adrun_dmp, generated_in_march):
    def web_access(operation: str, **values):
        return generated_in_march.call(operation, DOCTOR, **values)

    assert dmp.set_authorization().result.status == "DMPOK"
    created = web_access("createPatientAccess", otpChannelType="EMAIL",
                         channel="zoe@example.org")
    assert (created.result.status, len(created.result.login)) == ("DMPOK", 10)
    assert created.http.status_code == 200
    again = web_access("createPatientAccess", otpChannelType="SMS", channel="0612345678")
    assert (again.result.status, again.result.login) == ("DMPPatientAccessAlreadyExists", None)
    same_type = web_access("patientOTPUpdate", channelType="EMAIL",
                           channel="other@example.org", action="AJOUT")
    assert same_type.result.status == "DMPPatientAccessOTPAlreadyExists"
    added = web_access("patientOTPUpdate", channelType="SMS", channel="0612345678",
                       action="AJOUT")
    assert (added.result.status, added.result.context) == (
        "DMPOK", "AJOUT done: OTP channels EMAIL, SMS")
    renewed = web_access("updatePatientAccess")
    assert (renewed.result.status, renewed.result.login) == ("DMPOK", created.result.login)

    record = requests.get(live_server.url(f"/_admin/dmp/patients/{adrun_dmp}"),
                          timeout=HTTP_TIMEOUT)
    access = record.json()["dmp"]["web_access"]  # the admin view shows the stored access
    assert (access["login"], access["codes_issued"], access["channels"]) == (
        created.result.login, 2, [["EMAIL", "zoe@example.org"], ["SMS", "0612345678"]])

    live_server.set_clock("2024-06-11T09:00:00Z", frozen=True)
    with pytest.raises(zeep.exceptions.Fault) as refused:
        web_access("updatePatientAccess")
    assert "td15-removed" in refused.value.message and "2.01.04" in refused.value.message
    listing = dmp.patient_list(DOCTOR.but(patient=None), "2024-01-01", "LASTAUTORIZATION")
    assert listing.result.status == "DMPOK"
    regenerated = ServiceClient(live_server.base_url, "patientsSpecific")  # built today
    with pytest.raises(AttributeError, match="createPatientAccess"):
        regenerated.client.service.createPatientAccess  # noqa: B018 (zeep looks it up)
    assert regenerated.call("patientList", DOCTOR.but(patient=None), date="2024-01-01",
                            dateType="LASTAUTORIZATION").result.status == "DMPOK"
    regenerated.transport.session.close()
