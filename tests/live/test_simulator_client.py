"""SimulatorClient(url, token): every control-plane call against a running simulator
that has an admin token, as a vendor's suite attached by URL uses it."""
from __future__ import annotations

import pytest
import requests

from simulator.kit import hl7
from dmp_builders.client import CREATE, NOW
from simulator.kit.soap import ADRUN, SOAP_CT, envelope
from envelopes import traits_request
from simulator.client import SimulatorClient, SimulatorError
from simulator.settings import Settings
from simulator.testing import start_simulator

TOKEN = "client-test-token"
PERSON = {"birth_name": "DUPONT-MOREAU", "first_names": "ANNE-SOPHIE CLAIRE", "sex": "F",
          "birth_date": "1988-04-09", "birth_place": "35238", "nir": "2880435238123"}


@pytest.fixture(scope="module")
def sim():
    with start_simulator("thread", Settings.from_env(population=20, admin_token=TOKEN)) \
            as handle:
        yield SimulatorClient(handle.base_url, TOKEN)


@pytest.fixture(autouse=True)
def _reset(sim):
    sim.reset()


def test_without_the_token_every_call_is_refused_with_the_reason(sim):
    with pytest.raises(SimulatorError, match="401 the control plane needs the admin token") \
            as refused:
        SimulatorClient(sim.base_url).clock()
    assert refused.value.status == 401
    assert SimulatorClient(sim.base_url).health()["status"] == "ok"  # open for probes


def test_clock_scenarios_and_calendar(sim):
    assert sim.set_clock("2023-01-15T08:00:00Z") == {"now": "2023-01-15T08:00:00.000+00:00",
                                                     "frozen": True}
    assert sim.clock()["frozen"] is True
    assert sim.set_clock(frozen=False)["frozen"] is False
    assert sim.calendar()["today"] == "2023-01-15"
    assert "insi-down" in {s["name"] for s in sim.scenarios()}
    assert sim.set_scenario("insi-down")["name"] == "insi-down"
    assert sim.scenario()["active"] is True
    sim.clear_scenario()
    assert sim.scenario() == {"active": False}
    with pytest.raises(SimulatorError, match="400"):
        sim.set_scenario("no-such-scenario")


def test_identities(sim):
    key = sim.add_identity(PERSON)["key"]
    assert sim.identity(key)["birth_name"] == "DUPONT-MOREAU"
    assert sim.identities(q="DUPONT-MOREAU")["total"] == 1
    assert sim.update_identity(key, {**PERSON, "first_names": "ANNE"})["first_names"] == \
        ["ANNE"]
    sim.delete_identity(key)
    with pytest.raises(SimulatorError, match="404") as missing:
        sim.identity(key)
    assert missing.value.status == 404


def test_dmp_state_grace_and_reports(sim):
    sim.set_clock(NOW)
    raw = envelope(hl7.create().decode(), action=CREATE, service="patients",
                   issue_instant=NOW)
    assert requests.post(sim.dmp_url("patients"), data=raw, timeout=30,
                         headers={"Content-Type": SOAP_CT}).status_code == 200
    assert [p["ins"] for p in sim.dmp_patients()] == [ADRUN]
    assert sim.set_patient_options(ADRUN, opposes_centre_15=True)["dmp"]["opposes_centre_15"]
    blocked = sim.set_professional(ADRUN, "899900063480", blocked=True)["professional"]
    assert blocked["blocked"] is True
    assert sim.dmp_patient(ADRUN)["professionals"][0]["professional_id"] == "899900063480"
    assert sim.register_grace(software="MON-DPI-4.2", api="td00")["registered"][0]["api"] \
        == "td00"
    assert sim.dmp_grace()["registrations"]
    assert sim.readiness_report("2023-01-15")["date"] == "2023-01-15"
    assert sim.feeding_report()["months"] == []
    assert sim.openapi()["openapi"] == "3.1.0"
    assert 'insi_dmp_sim_requests_total{service="dmp"' in sim.metrics()
    # the journal filters on what the VIHF says
    assert sim.count(service="dmp", structure="10B0167011", patient=ADRUN) == 1


def test_journal_helpers(sim):
    assert sim.mark() is None
    answer = requests.post(sim.insi_url, timeout=30, headers={"Content-Type": SOAP_CT},
                           data=traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"))
    request_id = answer.headers["X-Request-Id"]
    assert sim.mark() == request_id
    assert sim.journal_entry(request_id)["response_body"].count("<CodeCR>00</CodeCR>") == 1
    assert [e["request_id"] for e in sim.find(outcome="CR 00")] == [request_id]
    assert "request_body" not in sim.find()[0]
    assert "request_body" in sim.journal(limit=1)[0]
    assert sim.assert_sent(times=1, software="urn:lps:test:1.0")[0]["request_id"] == request_id
    sim.assert_not_sent(outcome="fault")
    with pytest.raises(AssertionError, match=r"expected exactly 2 exchange\(s\) matching "
                                             r"service='insi', found 1"):
        sim.assert_sent(times=2, service="insi")
    with pytest.raises(TypeError, match="unknown journal filter 'operations'"):
        sim.find(operations="x")
    assert sim.find(since=request_id) == []
