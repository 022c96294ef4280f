"""Bad and hostile input: each gets the service's own fault with an actionable message,
and the server keeps answering."""
from __future__ import annotations

import pytest
from lxml import etree
from werkzeug.test import Client

from envelopes import (CONTEXTE_BAM, SOAP_CT, contexte_lps, envelope, traits_body,
                       traits_request, vitale_request, wsa)

NS = {"s": "http://www.w3.org/2003/05/soap-envelope", "siram": "urn:siram"}
TRAITS = traits_body("ADRUN", "ZOE", "F", "1975-12-31")


def fault_of(response) -> dict:
    """Code, subcode and siram:Erreur of a fault response (either generation)."""
    root = etree.fromstring(response.data)
    erreur = root.find(".//siram:Erreur", NS)
    return {"code": root.findtext(".//s:Code/s:Value", namespaces=NS),
            "subcode": root.findtext(".//s:Subcode/s:Value", namespaces=NS),
            "erreur": erreur.get("code") if erreur is not None else None,
            "text": erreur.text if erreur is not None else ""}


def assert_still_serving(client):
    ok = client.post("/lps", data=traits_request("ADRUN", "ZOE", "F", "1975-12-31"),
                     content_type=SOAP_CT)
    assert ok.status_code == 200 and b"<CodeCR>00</CodeCR>" in ok.data


def headers(lps=None, bam=CONTEXTE_BAM, action="rechercherInsAvecTraitsIdentite"):
    return (bam or "") + (contexte_lps() if lps is None else lps) + wsa(action)


INVALID = [
    ("malformed", b"<soap:Envelope", "not well-formed"),
    ("empty", b"", "Empty request body"),
    ("not-soap", b"<hello/>", "not a SOAP 1.2 Envelope"),
    ("no-body", b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"/>',
     "has no Body"),
    ("unknown-operation", envelope("<x:verifierIns xmlns:x='urn:x'/>", headers()),
     "Unknown operation: body element {urn:x}verifierIns"),
    ("action-mismatch", envelope(TRAITS, headers(action="rechercherInsAvecCarteVitale")),
     "does not match the body element"),
    ("no-contexte-lps", envelope(TRAITS, headers(lps="")), "ContexteLPS (urn:siram:lps:ctxlps) is missing"),
    ("no-contexte-bam", envelope(TRAITS, headers(bam="")), "ContexteBAM (urn:siram:bam:ctxbam) is missing"),
    ("no-couverture", envelope(TRAITS, headers(bam=CONTEXTE_BAM.replace("<ctxbam:COUVERTURE/>", ""))),
     "COUVERTURE is missing"),
    ("no-version", envelope(TRAITS, headers(lps=contexte_lps(version=None))),
     "ContexteLPS/@Version is missing"),
    ("bad-temps", envelope(TRAITS, headers(lps=contexte_lps(temps="yesterday"))),
     "ContexteLPS/Temps 'yesterday' is not an xs:dateTime"),
    ("no-name", envelope(traits_body("", "ZOE", "F", "1975-12-31"), headers()),
     "NomNaissance is missing"),
    ("bad-sex", envelope(traits_body("ADRUN", "ZOE", "U", "1975-12-31"), headers()),
     "Sexe must be M or F"),
    ("bad-date", envelope(traits_body("ADRUN", "ZOE", "F", "31/12/1975"), headers()),
     "DateNaissance must be a date YYYY-MM-DD"),
    ("bad-place", envelope(traits_body("ADRUN", "ZOE", "F", "1975-12-31", "PARIS"), headers()),
     "LieuNaissance must be a 5-character COG"),
    ("vitale-no-matricule", vitale_request("1975-12-31"), "needs MatriculeIndividu or MatriculeOD"),
    ("vitale-bad-rank", vitale_request("1975-12-31", od="2751263220749").replace(
        b"</v:DateNaissance>", b"</v:DateNaissance><v:RangNaissance>first</v:RangNaissance>"),
     "RangNaissance"),
]


@pytest.mark.parametrize("case, body, message", INVALID, ids=[c[0] for c in INVALID])
def test_invalid_requests_get_a_sender_fault_that_says_why(client, case, body, message):
    response = client.post("/lps", data=body, content_type=SOAP_CT)
    assert response.status_code == 500
    fault = fault_of(response)
    assert fault["code"].endswith(":Sender"), fault
    assert fault["subcode"].endswith(":siram_30") and fault["erreur"] == "insi_400"
    assert message in fault["text"]
    assert_still_serving(client)


def test_xxe_is_refused_without_reading_the_file(client):
    body = (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            + envelope(traits_body("&x;", "ZOE", "F", "1975-12-31"), headers()))
    response = client.post("/lps", data=body, content_type=SOAP_CT)
    assert response.status_code == 500 and b"root:" not in response.data
    assert "DOCTYPE declarations are not allowed" in fault_of(response)["text"]


def test_billion_laughs_is_refused_quickly(client):
    entities = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "{("&a%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    body = (f'<!DOCTYPE e [{entities}]>'.encode()
            + envelope(traits_body("&a9;", "ZOE", "F", "1975-12-31"), headers()))
    response = client.post("/lps", data=body, content_type=SOAP_CT)
    assert response.status_code == 500 and len(response.data) < 2000
    assert_still_serving(client)


def test_soap11_envelope_gets_version_mismatch(client):
    body = (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
            + TRAITS.encode() + b"</e:Body></e:Envelope>")
    fault = fault_of(client.post("/lps", data=body, content_type=SOAP_CT))
    assert fault["code"].endswith(":VersionMismatch") and fault["subcode"] is None


def test_wrong_content_type_is_415_with_a_fault(client):
    response = client.post("/lps", data=traits_request("ADRUN", "ZOE", "F", "1975-12-31"),
                           content_type="text/xml; charset=utf-8")
    assert response.status_code == 415
    assert "expects application/soap+xml" in fault_of(response)["text"]


def test_get_without_wsdl_is_405(client):
    response = client.get("/lps")
    assert response.status_code == 405 and response.headers["Allow"] == "GET, POST"


def test_oversized_body_is_413(make_app):
    client = Client(make_app(max_request_bytes=2048))
    body = traits_request("ADRUN", "Z" * 4096, "F", "1975-12-31")
    response = client.post("/lps", data=body, content_type=SOAP_CT)
    assert response.status_code == 413
    assert "exceeds the limit of 2048 bytes" in fault_of(response)["text"]


def test_unexpected_error_becomes_technical_fault_and_is_journalled(app, client, monkeypatch):
    store = app.simulator.store

    def broken(*args):
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(store, "identities_by_traits", broken)
    response = client.post("/lps", data=traits_request("ADRUN", "ZOE", "F", "1975-12-31"),
                           content_type=SOAP_CT)
    fault = fault_of(response)
    assert response.status_code == 500
    assert (fault["subcode"].split(":")[1], fault["erreur"]) == ("siram_40", "insi_102")
    assert b"disk on fire" not in response.data
    entry = client.get("/_admin/journal?limit=1").json["entries"][0]
    assert entry["outcome"] == "fault siram_40/insi_102"
    assert entry["request_id"] == response.headers["X-Request-Id"]
    monkeypatch.undo()
    assert_still_serving(client)
