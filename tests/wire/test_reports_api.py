"""The timeline's reports and the grace registration through the full WSGI stack: real
INSi searches counted in batches (exact once flushed, dropped by a reset), DMP calls
counted by begin_call, the v1/TD0.0 gate following the grace registered here."""
from __future__ import annotations

from datetime import datetime

import pytest
from werkzeug.test import Client

from dmp_builders.client import NOW, Dmp
from envelopes import SOAP_CT, traits_request, vitale_request
from simulator.services.dmp.call import DmpContext
from simulator.services.dmp.faults import DmpFault
from simulator.services.dmp.timeline import check_legacy_access
from simulator.services.dmp.vihf import Role, Vihf
from simulator.settings import parse_datetime
from simulator.soap.errors import ServiceFault

INSI_SOFTWARE = "urn:lps:test:1.0-2022"  # ContexteLPS Nom-Version of tests/envelopes.py
INSI_STRUCTURE = "10B0152872"  # its Emetteur
DPI, CHU = "MON-DPI-4.2", "10B0167011"  # the VIHF of simulator.kit


def at(text: str) -> datetime:
    return parse_datetime(text)


@pytest.fixture
def app(make_app):
    return make_app(date=at("2022-12-10T10:00:00Z"), frozen=True)


@pytest.fixture
def client(app) -> Client:
    return Client(app)


def insi_usage(app):
    return app.simulator.endpoints["/lps"].binding.usage


def entry(report: dict, software: str, structure: str) -> dict:
    found = [e for e in report["software"] if (e["software"], e["structure"]) ==
             (software, structure)]
    assert len(found) == 1, report["software"]
    return found[0]


def readiness(client, day: str | None = None) -> dict:
    response = client.get("/_admin/reports/readiness" + (f"?date={day}" if day else ""))
    assert response.status_code == 200, response.json
    return response.json


# --- INSi usage ----------------------------------------------------------------------------

def test_insi_searches_are_batched_then_reported_with_their_provenance(app, client):
    insi_usage(app)._batcher.interval = 60  # no background flush during this test
    found = client.post("/lps", data=traits_request("ADRTROIS", "DOMINIQUE", "F",
                                                    "1997-02-26"), content_type=SOAP_CT)
    assert b"<CodeCR>00</CodeCR>" in found.data
    missing = client.post("/lps", data=traits_request("HOUILLES", "PIERRE", "M", "1993-01-27"),
                          content_type=SOAP_CT)
    assert b"<CodeCR>01</CodeCR>" in missing.data
    client.post("/lps", data=vitale_request("1997-02-26", individual="297022A020778"),
                content_type=SOAP_CT)
    client.post("/lps", data=b"<not-soap/>", content_type=SOAP_CT)  # a fault: not counted
    timeline = app.simulator.store.timeline
    assert timeline.usage() == []  # nothing written synchronously on the hot path

    insi = entry(readiness(client), INSI_SOFTWARE, INSI_STRUCTURE)["apis"]["insi"]
    assert insi == {"calls": 3, "first_month": "2022-12", "last_month": "2022-12",
                    "operations": ["rechercherInsAvecCarteVitale",
                                   "rechercherInsAvecTraitsIdentite"],
                    "identifiers": {"INS": 3}}
    assert timeline.provenance(INSI_STRUCTURE, "297022A020778") == {"insi"}
    assert timeline.provenance("10B0000000", "297022A020778") == set()
    # The rows themselves (one, the INS cut to 13): SQL valid on both backends, run on
    # the backend's own database object (SQLite: .database; PostgreSQL: .db).
    database = getattr(timeline, "database", None) or timeline.db
    stored = database.query("SELECT structure, ins, source FROM ins_provenance")
    assert stored == [{"structure": INSI_STRUCTURE, "ins": "297022A020778", "source": "insi"}]


def test_the_background_flush_writes_insi_usage_without_a_reader(app, client):
    client.post("/lps", data=traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"),
                content_type=SOAP_CT)
    import time
    deadline = time.monotonic() + 5
    while not app.simulator.store.timeline.usage() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [r["api"] for r in app.simulator.store.timeline.usage()] == ["insi"]


def test_reset_drops_queued_insi_usage(app, client):
    insi_usage(app)._batcher.interval = 60
    client.post("/lps", data=traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"),
                content_type=SOAP_CT)
    assert client.post("/_admin/reset").status_code == 200
    insi_usage(app).flush()
    assert app.simulator.store.timeline.usage() == []
    assert app.simulator.store.timeline.provenance(INSI_STRUCTURE, "297022A020778") == set()
    client.post("/lps", data=traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"),
                content_type=SOAP_CT)
    assert entry(readiness(client), INSI_SOFTWARE, INSI_STRUCTURE)["apis"]["insi"]["calls"] == 1


# --- DMP usage and the readiness report ----------------------------------------------------

def test_dmp_calls_counted_by_begin_call_are_reported(make_app):
    app = make_app(date=at(NOW), frozen=True, population=0)
    dmp = Dmp(app)
    dmp.create_dmp()
    dmp.authorise()
    dmp.authorise()
    report = readiness(Client(app))
    assert report["date"] == "2024-03-01" and report["stage"] == "closed"
    dpi = entry(report, DPI, CHU)
    assert dpi["apis"]["dmp-v2"]["calls"] == 3
    assert dpi["apis"]["dmp-v2"]["operations"] == ["PRPA_IN201311UV02", "setAuthorization"]
    assert dpi["identifiers"] == {"INS": 3} and dpi["breaks"] == []
    assert any("no INSi call" in finding for finding in dpi["findings"])


def test_readiness_tells_what_breaks_on_each_date(app, client):
    timeline = app.simulator.store.timeline
    timeline.record_usage([(at("2022-12-05T09:00:00Z"), DPI, CHU, "dmp-v1", "INS-C", "TD2.1"),
                           (at("2022-12-06T09:00:00Z"), "DxCare-7.7.7.3", CHU, "td00", "none",
                            "identityCertification")])
    timeline.count_feed(at("2022-12-06T09:00:00Z"), CHU, DPI, "non-qualified", 2)

    today = readiness(client)
    assert today["date"] == "2022-12-10" and today["stage"] == "open"
    assert all(e["breaks"] == [] for e in today["software"])
    assert entry(today, "DxCare-7.7.7.3", CHU)["regional_list"] == "DXCARE-7.7.7"

    grace = readiness(client, "2023-01-15")
    assert grace["stage"] == "grace"
    assert [r["name"] for r in grace["rules"]] == ["dmp-v1-grace", "td00-deprecated",
                                                   "dmp-feeding-requires-qualified-ins",
                                                   "td15-available"]
    assert [(b["rule"], b["since"]) for b in entry(grace, DPI, CHU)["breaks"]] == [
        ("dmp-v1-grace", "2023-01-01")]

    closed = readiness(client, "2023-04-29")
    assert [(b["api"], b["rule"]) for b in entry(closed, DPI, CHU)["breaks"]] == [
        ("dmp-v1", "dmp-v1-closed"), ("dmp-v2", "dmp-feeding-requires-qualified-ins")]
    assert [b["rule"] for b in entry(closed, "DxCare-7.7.7.3", CHU)["breaks"]] == [
        "td00-removed"]


@pytest.mark.parametrize("day", ["2023-13-01", "15/01/2023", "2023-02-30", "tomorrow"])
def test_readiness_refuses_a_bad_date(client, day):
    response = client.get(f"/_admin/reports/readiness?date={day}")
    assert response.status_code == 400 and "date" in response.json["error"]


def test_feeding_report_per_structure_and_month(app, client):
    timeline = app.simulator.store.timeline
    timeline.count_feed(at("2022-12-06T09:00:00Z"), CHU, DPI, "qualified", 3)
    timeline.count_feed(at("2022-12-20T09:00:00Z"), CHU, "OTHER-1.0", "qualified", 1)
    timeline.count_feed(at("2022-12-20T09:00:00Z"), CHU, DPI, "ins-c", 4)
    timeline.count_feed(at("2023-01-02T09:00:00Z"), CHU, DPI, "non-qualified", 1)
    body = client.get("/_admin/reports/feeding").json
    assert "SUN-ES" in body["indicator"]
    assert [(m["month"], m["qualified"], m["non_qualified"], m["ins_c"], m["qualified_share"])
            for m in body["months"]] == [("2022-12", 4, 0, 4, 0.5), ("2023-01", 0, 1, 0, 0.0)]
    assert body["structures"] == [{"structure": CHU, "qualified": 4, "non_qualified": 1,
                                   "ins_c": 4, "documents": 9,
                                   "qualified_share": round(4 / 9, 4)}]


# --- the grace -----------------------------------------------------------------------------

def vihf(software_name: str = "MON-DPI", version: str = "4.2",
         structure: str = CHU) -> Vihf:
    return Vihf(issue_instant=at("2023-01-15T10:00:00Z"), name_id=f"{structure}/00B1022322",
                subject_name="Jean DUPONT", structure_id=structure,
                auth_mode="INDIRECTE_RENFORCEE", access_mode="normal",
                roles=(Role("10", "1.2.250.1.71.1.2.7"),), sector="SA07^1.2.250.1.71.4.2.4",
                software_name=software_name, software_version=version,
                homologation_id="EVO-20200654-tmp8", version="3.0",
                patient_ins="2751263220749", patient_oid="1.2.250.1.213.1.4.2", signed=True)


def gate(app, caller: Vihf, api: str, now: str):
    sim = app.simulator
    context = DmpContext(sim.store, sim.settings, sim.clock, sim.calendar, version="v1")
    return check_legacy_access(context, caller, api, at(now))


def refusal(app, caller: Vihf, api: str, now: str) -> str:
    with pytest.raises(ServiceFault) as caught:
        gate(app, caller, api, now)
    assert caught.value.entry is DmpFault.API_CLOSED
    return caught.value.details["detail"]


def test_admin_registration_lets_software_through_the_grace_for_its_api(app, client):
    assert client.get("/_admin/dmp/grace").json["registrations"] == []
    assert "dmp-v1-grace" in refusal(app, vihf(), "dmp-v1", "2023-01-15T10:00:00Z")

    response = client.post("/_admin/dmp/grace", json={"software": DPI, "api": "dmp-v1"})
    assert response.status_code == 201
    assert [(r["kind"], r["name"], r["api"], r["source"]) for r in
            response.json["registered"]] == [("software", DPI, "dmp-v1", "admin")]
    assert gate(app, vihf(), "dmp-v1", "2023-01-15T10:00:00Z").deprecated is True
    assert "td00-deprecated" in refusal(app, vihf(), "td00", "2023-01-15T10:00:00Z")
    assert "dmp-v1-grace" in refusal(app, vihf("OTHER"), "dmp-v1", "2023-01-15T10:00:00Z")
    assert "dmp-v1-closed" in refusal(app, vihf(), "dmp-v1", "2023-04-29T10:00:00Z")

    grace = entry(_with_v1_usage(app, client), DPI, CHU)["grace"]
    assert [(g["by"], g["source"]) for g in grace["dmp-v1"]] == [("software", "admin")]


def _with_v1_usage(app, client) -> dict:
    app.simulator.store.timeline.record_usage(
        [(at("2022-12-05T09:00:00Z"), DPI, CHU, "dmp-v1", "INS-C", "TD2.1")])
    return readiness(client, "2023-01-15")


def test_a_structure_registered_for_both_apis_covers_all_its_software(app, client):
    response = client.post("/_admin/dmp/grace", json={"structure": CHU})
    assert response.status_code == 201
    assert [(r["kind"], r["api"]) for r in response.json["registered"]] == [
        ("structure", "dmp-v1"), ("structure", "td00")]
    for api in ("dmp-v1", "td00"):
        assert gate(app, vihf("ANY-SOFT", "9"), api, "2023-03-01T10:00:00Z").deprecated
    assert "dmp-v1-grace" in refusal(app, vihf(structure="10B0999999"), "dmp-v1",
                                     "2023-03-01T10:00:00Z")


def test_a_december_flow_registers_itself_and_is_listed(app, client):
    assert gate(app, vihf(), "td00", "2022-12-10T10:00:00Z").deprecated is False
    listed = client.get("/_admin/dmp/grace").json
    assert listed["flow_month"] == {"from": "2022-12-01", "to": "2022-12-31"}
    assert listed["stage"] == "open"
    assert {(r["kind"], r["name"], r["api"], r["source"]) for r in listed["registrations"]} == {
        ("software", DPI, "td00", "flow"), ("structure", CHU, "td00", "flow")}
    assert gate(app, vihf(), "td00", "2023-02-01T10:00:00Z").deprecated is True


def test_software_of_the_settings_is_listed(make_app):
    app = make_app(date=at("2023-02-01T10:00:00Z"), frozen=True, dmp_grace_software=(DPI,))
    assert Client(app).get("/_admin/dmp/grace").json["settings"] == [DPI]
    assert gate(app, vihf(), "dmp-v1", "2023-02-01T10:00:00Z").deprecated is True


@pytest.mark.parametrize("body, says", [
    (None, "expected"),
    (["MON-DPI-4.2"], "expected"),
    ({}, "exactly one"),
    ({"software": DPI, "structure": CHU}, "exactly one"),
    ({"software": ""}, "non-empty"),
    ({"structure": 42}, "non-empty"),
    ({"software": "MON"}, "LPS_Nom-LPS_Version"),
    ({"software": "-4.2"}, "LPS_Nom-LPS_Version"),
    ({"software": DPI, "api": "dmp-v2"}, "api must be"),
    ({"software": DPI, "api": ""}, "api must be"),
    ({"software": DPI, "until": "2023-06-01"}, "unknown field"),
])
def test_grace_registration_refuses_anything_else(client, body, says):
    response = client.post("/_admin/dmp/grace", json=body) if body is not None else \
        client.post("/_admin/dmp/grace", data="software=X", content_type="application/xml")
    assert response.status_code == 400 and says in response.json["error"]
    assert client.get("/_admin/dmp/grace").json["registrations"] == []


# --- the dashboard -------------------------------------------------------------------------

def test_dashboard_shows_readiness_on_the_chosen_date_and_the_feeding_chart(app, client):
    timeline = app.simulator.store.timeline
    timeline.record_usage([(at("2022-11-05T09:00:00Z"), DPI, CHU, "dmp-v1", "INS-C", "TD2.1")])
    timeline.count_feed(at("2022-12-06T09:00:00Z"), CHU, DPI, "qualified", 3)
    timeline.count_feed(at("2022-12-06T09:00:00Z"), CHU, DPI, "non-qualified", 1)
    page = client.get("/_admin/?date=2023-01-15").get_data(as_text=True)
    assert 'name="date" value="2023-01-15"' in page and ">grace</b>" in page
    assert '<tr class="breaks"><td>MON-DPI-4.2</td><td>10B0167011</td>' in page
    assert "<b>dmp-v1-grace</b> since 2023-01-01" in page
    assert 'class="bar qualified" data-month="2022-12" data-count="3"' in page
    assert 'class="bar non-qualified" data-month="2022-12" data-count="1"' in page
    assert "<td>75.0 %</td>" in page
    bad = client.get("/_admin/?date=someday").get_data(as_text=True)
    assert "date must be YYYY-MM-DD" in bad and 'value="2022-12-10"' in bad
