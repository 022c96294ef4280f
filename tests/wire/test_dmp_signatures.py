"""Signature refusals at the DMP endpoints, compared with hand-written goldens: the VIHF
ones as SOAP 1.2 faults with their WS-Security 1.1 subcodes (§12: FailedCheck,
FailedAuthentication), the lot signature's as a TD2.1 RegistryResponse."""
from __future__ import annotations

import base64
import hashlib

import pytest
from lxml import etree

from dmp_builders.client import (
    HAB, NOW, SET_AUTHORIZATION, Dmp, assert_reply_addressing, c14n, golden, set_authorization)
from simulator.kit import xds
from simulator.kit.signing import DSIG, session_pki, sign_in_place, signer_of
from simulator.kit.soap import envelope
from simulator.pki import generate_pki
from simulator.settings import parse_datetime
from simulator.soap.mtom import split_related
from simulator.soap.parsing import content_type_parts

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"


@pytest.fixture(scope="module")
def stranger(tmp_path_factory):
    """The ORG SIGN certificate of another PKI (same names, another CA key)."""
    pki = generate_pki(tmp_path_factory.mktemp("stranger-pki"))
    return signer_of(pki.org_sign.key, pki.org_sign.cert)


@pytest.fixture
def dmp(make_app) -> Dmp:
    return Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0))


@pytest.fixture
def trusting(make_app) -> Dmp:
    """A DMP told to trust the test PKI's CA (SIM_DMP_TRUSTED_CAS)."""
    return Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0,
                        dmp_trusted_cas=(session_pki().ca.cert,)))


@pytest.fixture
def relaxed(make_app) -> Dmp:
    return Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0,
                        dmp_relaxed_security=True))


def _request(message_id: str, **options) -> bytes:
    return envelope(set_authorization(), action=SET_AUTHORIZATION, service="habilitations",
                    issue_instant=NOW, message_id=message_id, **options)


def _bad_signature_value(raw: bytes) -> bytes:
    root = etree.fromstring(raw)
    value = root.find(f".//{{{DSIG}}}SignatureValue")
    value.text = base64.b64encode(b"\1" * 256).decode()
    return etree.tostring(root)


def _fault(dmp: Dmp, raw: bytes) -> etree._Element:
    message_id = etree.fromstring(raw).findtext(f".//{{{WSA}}}MessageID")
    answer = dmp.send("habilitations", raw, message_id)
    assert answer.response.status_code == 500
    assert_reply_addressing(answer, FAULT_ACTION)
    return answer.envelope.find(f"{{{SOAP}}}Body/{{{SOAP}}}Fault")


def test_a_bad_vihf_signature_value_gets_the_golden_failed_check_fault(dmp):
    raw = _bad_signature_value(_request("urn:uuid:" + "5" * 32))
    assert c14n(_fault(dmp, raw)) == c14n(golden("fault-vihf-failed-check.xml"))


def test_an_untrusted_vihf_signer_gets_the_golden_failed_authentication_fault(
        trusting, stranger):
    raw = _request("urn:uuid:" + "6" * 32, signer=stranger)
    assert c14n(_fault(trusting, raw)) == c14n(golden("fault-vihf-untrusted.xml"))


def test_the_same_stranger_is_accepted_when_no_ca_is_configured(dmp, stranger):
    dmp.create_dmp()
    answer = dmp.call("habilitations", set_authorization(), SET_AUTHORIZATION, signer=stranger)
    assert answer.body.findtext(f"{{{HAB}}}status") == "DMPOK"


def test_an_unsigned_or_badly_signed_vihf_passes_with_relaxed_security(relaxed):
    relaxed.create_dmp()
    raw = _bad_signature_value(_request("urn:uuid:" + "8" * 32))
    answer = relaxed.send("habilitations", raw, None)
    assert answer.body.findtext(f"{{{HAB}}}status") == "DMPOK"


def test_an_untrusted_lot_signer_gets_the_golden_registry_response(trusting, stranger):
    trusting.create_dmp_and_authorise()
    answer = trusting.feed(signer=stranger)
    assert answer.response.status_code == 200
    assert c14n(answer.body) == c14n(golden("iti41-error-lot-signature-untrusted.xml"))


def test_a_trusted_lot_signer_feeds(trusting):
    trusting.create_dmp_and_authorise()
    assert trusting.feed().body.get("status") == SUCCESS


def _hash_and_size(content: bytes) -> tuple[str, str]:
    return hashlib.sha1(content).hexdigest(), f"<Value>{len(content)}</Value>"


def _feed_changed_lot(dmp: Dmp, change, resign: bool):
    """TD2.1 whose lot signature document went through ``change`` (then re-signed when
    ``resign``), its entry's hash and size following; the RegistryResponse."""
    dmp.create_dmp_and_authorise()
    request = xds.provide_and_register((xds.Doc(),), xop=True)
    old = request.contents["Signature01"]
    root = etree.fromstring(old)
    change(root)
    if resign:
        sign_in_place(root)
    new = etree.tostring(root)
    for before, after in zip(_hash_and_size(old), _hash_and_size(new)):
        assert request.body.count(before) == 1
        request.body = request.body.replace(before, after)
    request.contents["Signature01"] = new
    content_type, raw = xds.mtom_package(xds.iti41_envelope(request, NOW), [
        (request.content_ids[entry], content) for entry, content in request.contents.items()])
    message_id = etree.fromstring(split_related(raw, content_type_parts(content_type)[1])[0]
                                  ).findtext(f".//{{{WSA}}}MessageID")
    return dmp.send("repository", raw, message_id, content_type).body


def test_a_bad_lot_signature_value_gets_the_golden_registry_response(dmp):
    def other_value(root):
        root.find(f"{{{DSIG}}}SignatureValue").text = base64.b64encode(b"\1" * 256).decode()
    answer = _feed_changed_lot(dmp, other_value, resign=False)
    assert c14n(answer) == c14n(golden("iti41-error-lot-signature-failed-check.xml"))


def test_a_lot_signature_with_a_transform_bomb_is_refused(dmp):
    # Issue 14: each manifest transform used to keep a copy of the whole document. A lot
    # whose (validly signed) manifest gives the CDA 400 transforms is refused by count.
    def bomb(root):
        transforms = root.find(
            f".//{{{DSIG}}}Manifest/{{{DSIG}}}Reference[2]/{{{DSIG}}}Transforms")
        for _ in range(399):
            etree.SubElement(transforms, f"{{{DSIG}}}Transform",
                             Algorithm=xds.C14N_WITH_COMMENTS)
    answer = _feed_changed_lot(dmp, bomb, resign=True)
    errors = answer.findall(f".//{{{RS}}}RegistryError")
    assert [(e.get("errorCode"), e.get("location")) for e in errors] == [
        ("XDSRegistryMetadataError", "DocumentCDA")]
    assert "400 transforms (at most 4 accepted)" in errors[0].get("codeContext")
