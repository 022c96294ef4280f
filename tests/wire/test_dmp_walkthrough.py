"""The README's DMP walk-through, replayed: its request files give the answers it shows.

The files in docs/examples/dmp are what the README tells vendors to send with curl to a
simulator started at 2025-01-15T10:00:00Z on a frozen clock; this test sends the same
bytes, in the same order, and checks each answer, so the walk-through stays true.
"""
from __future__ import annotations

from pathlib import Path

from lxml import etree

from simulator.settings import parse_datetime
from simulator.soap.mtom import split_related
from simulator.soap.parsing import content_type_parts

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "dmp"
HL7 = "{urn:hl7-org:v3}"
RIM = "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
ENTRY = "urn:uuid:7c0e6d36-3b0a-4f5e-9a51-5d0b7c1f2a01"
MASKED = "urn:uuid:7c0e6d36-3b0a-4f5e-9a51-5d0b7c1f2a02"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"


def send(client, name: str, service: str):
    if name.endswith(".mtom"):
        content_type = (EXAMPLES / name.replace(".mtom", ".content-type")).read_text().strip()
    else:
        content_type = "application/soap+xml; charset=utf-8"
    response = client.post(f"/si-dmp-server/v2/services/{service}",
                           data=(EXAMPLES / name).read_bytes(), content_type=content_type)
    assert response.status_code == 200, response.data[:500]
    return response


def body(response) -> etree._Element:
    return etree.fromstring(response.data)[1][0]


def documents(response) -> dict[str, etree._Element]:
    return {e.get("id"): e for e in body(response).iter(f"{RIM}ExtrinsicObject")}


def test_the_walkthrough_requests_give_the_documented_answers(make_app):
    from werkzeug.test import Client
    client = Client(make_app(date=parse_datetime("2025-01-15T10:00:00Z"), frozen=True))

    answer = body(send(client, "01-test-existence.xml", "patients"))
    assert answer.find(f".//{HL7}queryResponseCode").get("code") == "NF"

    answer = body(send(client, "02-create.xml", "patients"))
    assert etree.QName(answer).localname == "PRPA_IN201312UV02"
    assert answer.find(f"{HL7}acknowledgement").get("typeCode") == "AA"

    answer = body(send(client, "03-authorise.xml", "habilitations"))
    assert answer.findtext("{urn:si-dmp-habilitations}status") == "DMPOK"

    answer = body(send(client, "01-test-existence.xml", "patients"))
    assert answer.find(f".//{HL7}queryResponseCode").get("code") == "OK"
    authorisation = [a for a in answer.iter(f"{HL7}attentionLine")
                     if a.find(f"{HL7}keyWordText").get("code") == "AUTORISATION"]
    assert authorisation[0].find(f"{HL7}value").get("code") == "VALIDE"

    assert body(send(client, "04-feed.mtom", "repository")).get("status") == SUCCESS

    found = documents(send(client, "05-find-documents.xml", "registry"))
    assert found[ENTRY].get("status") == APPROVED and found[ENTRY].get("lid") == ENTRY

    retrieved = send(client, "06-retrieve.xml", "repository")
    _, params = content_type_parts(retrieved.headers["Content-Type"])
    _, parts = split_related(retrieved.data, params)
    fed_type, fed_raw = (EXAMPLES / "04-feed.content-type").read_text(), \
        (EXAMPLES / "04-feed.mtom").read_bytes()
    _, fed_parts = split_related(fed_raw, content_type_parts(fed_type)[1])
    assert list(parts.values()) == [fed_parts["0.2"]]  # the CDA, byte for byte

    assert body(send(client, "07-mask.xml", "registry")).get("status") == SUCCESS
    found = documents(send(client, "05-find-documents.xml", "registry"))
    assert ENTRY not in found and found[MASKED].get("lid") == ENTRY
    codes = {c.get("nodeRepresentation") for c in found[MASKED].iter(f"{RIM}Classification")}
    assert "MASQUE_PS" in codes

    assert body(send(client, "08-delete.xml", "registry")).get("status") == SUCCESS
    found = documents(send(client, "05-find-documents.xml", "registry"))
    assert MASKED not in found and ENTRY not in found
