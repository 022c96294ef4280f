"""Wire tests: real envelopes in, bytes out, compared with the golden captures."""
from __future__ import annotations

from pathlib import Path

import pytest

from envelopes import (CONTEXTE_BAM, MESSAGE_ID, SOAP_CT, contexte_lps, traits_request, wsa)
from simulator.services.insi.errors import InsiError
from simulator.services.insi.rendering import render_fault
from simulator.settings import parse_datetime

GOLDEN = Path(__file__).parent / "golden"


def golden(name: str) -> bytes:
    return (GOLDEN / name).read_bytes()


def post(client, body: bytes):
    return client.post("/lps", data=body, content_type=SOAP_CT)


def at(client, when: str) -> None:
    assert client.put("/_admin/clock", json={"now": when, "frozen": True}).status_code == 200


@pytest.mark.parametrize("when, name", [("2022-11-02", "cr00_adrtrois_current.xml"),
                                        ("2022-10-24", "cr00_adrtrois_legacy.xml")])
def test_cr00_in_each_generation(client, when, name):
    at(client, when)
    response = post(client, traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/soap+xml; charset=utf-8"
    assert response.data == golden(name)


def test_generation_switch_is_on_2022_10_25(client):
    at(client, "2022-10-24T23:59:59Z")
    assert b"<ns2:RESULTAT" in post(client, traits_request("ADRUN", "ZOE", "F", "1975-12-31")).data
    at(client, "2022-10-25T00:00:00Z")
    assert b"<RESULTAT xmlns=" in post(client, traits_request("ADRUN", "ZOE", "F", "1975-12-31")).data


def test_history_is_rendered_in_xsd_order(client):
    response = post(client, traits_request("ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14"))
    assert response.data == golden("cr00_ecetinsi_current.xml")


def test_cr01(client):
    response = post(client, traits_request("HOUILLES", "PIERRE", "M", "1993-01-27"))
    assert (response.status_code, response.data) == (200, golden("cr01_current.xml"))


@pytest.mark.parametrize("when, name", [("2023-01-01", "cr02_current.xml"),
                                        ("2022-01-01", "cr02_legacy.xml")])
def test_cr02_for_homonyms_without_birth_place(client, when, name):
    at(client, when)
    response = post(client, traits_request("DE VINCI", "LEONARDO", "M", "2014-02-01"))
    assert (response.status_code, response.data) == (200, golden(name))


@pytest.mark.parametrize("when, name", [("2023-06-01", "fault_desir550_legacy.xml"),
                                        ("2026-05-21", "fault_desir550_current.xml")])
def test_unknown_idam_fault_in_each_generation(client, when, name):
    at(client, when)
    headers = CONTEXTE_BAM + contexte_lps(idam="XXX") + wsa("rechercherInsAvecTraitsIdentite")
    response = post(client, traits_request("ADRUN", "ZOE", "F", "1975-12-31", headers=headers))
    assert response.status_code == 500
    assert response.data == golden(name)


def test_idam_list_from_settings(make_app):
    from werkzeug.test import Client
    client = Client(make_app(insi_idams=("LSN17NF23FW0",), date=parse_datetime("2023-06-01")))
    refused = post(client, traits_request("ADRUN", "ZOE", "F", "1975-12-31"))
    assert refused.status_code == 500 and b"desir_550" in refused.data
    headers = CONTEXTE_BAM + contexte_lps(idam="LSN17NF23FW0") + wsa("rechercherInsAvecTraitsIdentite")
    accepted = post(client, traits_request("ADRUN", "ZOE", "F", "1975-12-31", headers=headers))
    assert accepted.status_code == 200 and b"<CodeCR>00</CodeCR>" in accepted.data


@pytest.mark.parametrize("when, name", [("2022-11-04", "fault_insi102_legacy.xml"),
                                        ("2025-01-01", "fault_insi102_current.xml")])
def test_qualification_quirk_gives_insi_102(make_app, when, name):
    from werkzeug.test import Client
    client = Client(make_app(insi_qualif_quirks=True, date=parse_datetime(when), frozen=True))
    headers = CONTEXTE_BAM + contexte_lps() + (wsa("rechercherInsAvecTraitsIdentite", None)
                                               if "legacy" in name else
                                               wsa("rechercherInsAvecTraitsIdentite"))
    response = post(client, traits_request("TCHITCHI", "OLA", "F", "1936-06-21", headers=headers))
    assert (response.status_code, response.data) == (500, golden(name))


def test_desir_1020_rendering_matches_the_capture():
    # No request triggers it before the chaos engine; the renderer is checked directly.
    body = render_fault(InsiError.SERVICE_UNAVAILABLE.spec, "current", MESSAGE_ID)
    assert body == golden("fault_desir1020_current.xml")


def test_fault_generation_is_forced_by_settings(make_app):
    from werkzeug.test import Client
    client = Client(make_app(insi_fault_format="current", insi_response_format="legacy-2022",
                             date=parse_datetime("2023-06-01"), frozen=True))
    headers = CONTEXTE_BAM + contexte_lps(idam="XXX") + wsa("rechercherInsAvecTraitsIdentite")
    fault = post(client, traits_request("ADRUN", "ZOE", "F", "1975-12-31", headers=headers))
    assert fault.data == golden("fault_desir550_current.xml")
    ok = post(client, traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"))
    assert ok.data == golden("cr00_adrtrois_legacy.xml")


def test_cr01_legacy(client):
    at(client, "2022-06-01")
    response = post(client, traits_request("HOUILLES", "PIERRE", "M", "1993-01-27"))
    assert (response.status_code, response.data) == (200, golden("cr01_legacy.xml"))


def test_desir_1020_legacy_rendering():
    body = render_fault(InsiError.SERVICE_UNAVAILABLE.spec, "legacy", MESSAGE_ID)
    assert body == golden("fault_desir1020_legacy.xml")


@pytest.mark.parametrize("when, name", [("2023-06-01", "fault_invalid_request_legacy.xml"),
                                        ("2025-06-01", "fault_invalid_request_current.xml")])
def test_invalid_request_fault_in_each_generation(client, when, name):
    at(client, when)
    response = post(client, traits_request("ADRUN", "ZOE", "X", "1975-12-31"))
    assert (response.status_code, response.data) == (500, golden(name))


@pytest.mark.parametrize("when, name", [("2023-06-01", "fault_version_mismatch_legacy.xml"),
                                        ("2025-06-01", "fault_version_mismatch_current.xml")])
def test_version_mismatch_fault_in_each_generation(client, when, name):
    at(client, when)
    body = (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
            b'<r:RECSANSVITALE xmlns:r="http://www.cnamts.fr/INSiRecSans"/></e:Body></e:Envelope>')
    response = post(client, body)
    assert (response.status_code, response.data) == (500, golden(name))
