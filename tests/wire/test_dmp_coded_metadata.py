"""TD2.1 coded metadata and CDA content on the wire (docs/dmp.md, "Coded metadata and CDA
checks"): the MTOM feeds the issue found accepted (formatCode ``urn:foo:bar``, classCode
``999``, facility ``ZZ99``; a ``text/xml`` document holding ``<foo/>``) get the
RegistryResponse of the hand-written goldens, every error at once, nothing registered;
the settings relax them; a newer value-set release is read from SIM_DMP_VALUE_SETS_DIR."""
from __future__ import annotations

import base64
import hashlib
import json

import pytest

from simulator.kit import registry, xds
from dmp_builders.client import NOW, Dmp, c14n, golden
from simulator.services.dmp.xds.value_sets import TerminologyError
from simulator.settings import parse_datetime

SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
RIM = "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}"
BAD_CODES = (("class", "999", "Inconnue", "1.2.250.1.213.1.1.4.1"),
             ("format", "urn:foo:bar", "Foo", "1.3.6.1.4.1.19376.1.2.3"),
             ("facility", "ZZ99", "Inconnu", "1.2.250.1.71.4.2.4"))

PDF_B64 = base64.b64encode(b"%PDF-1.4\n% simulated report\n%%EOF\n")
# A CDA that is not R2 (typeId), not French (realmCode), dated an hour after its
# creationTime, with a GIF as PDF body; classCode 10 for an imaging report (ASS_X16: 31)
# and the facility code under the practice-setting codingScheme.
BAD_CDA = (xds.cda_document().replace(b'extension="POCD_HD000040"', b'extension="POCD_MT000040"')
           .replace(b'<realmCode code="FR"/>', b'<realmCode code="US"/>')
           .replace(b"20240301093000+0100", b"20240301103000+0100")
           .replace(PDF_B64, base64.b64encode(b"GIF89a: not a PDF")))
BAD_PAIRING = (("class", "10", "Compte rendu", "1.2.250.1.213.1.1.4.1"),
               ("facility", "SA01", "Etablissement public de santé", "1.2.250.1.213.1.1.4.9"))


def ready(make_app, **settings) -> Dmp:
    dmp = Dmp(make_app(date=parse_datetime(NOW), frozen=True, population=0, **settings))
    dmp.create_dmp_and_authorise()
    return dmp


def registered(dmp: Dmp) -> int:
    answer = dmp.call("registry", registry.find_documents(),
                      "urn:ihe:iti:2007:RegistryStoredQuery")
    return len(list(answer.body.iter(f"{RIM}ExtrinsicObject")))


@pytest.mark.parametrize("doc, name", [
    (xds.Doc(codes=BAD_CODES), "iti41-coded-metadata-refused.xml"),
    (xds.Doc(content=b"<foo/>"), "iti41-not-a-cda-refused.xml"),
])
def test_a_feed_with_bad_codes_or_no_cda_gets_the_golden_refusal(make_app, doc, name):
    dmp = ready(make_app)
    answer = dmp.feed(documents=(doc,))
    assert answer.response.status_code == 200
    assert c14n(answer.body) == c14n(golden(name))
    assert registered(dmp) == 0


def test_a_bad_cda_and_pairing_get_the_golden_refusal(make_app):
    dmp = ready(make_app)
    answer = dmp.feed(documents=(xds.Doc(content=BAD_CDA, codes=BAD_PAIRING),),
                      content_type=("ZZ", "Inconnu", "1.2.250.1.213.2.2"))
    assert c14n(answer.body) == c14n(golden("iti41-cda-and-pairing-refused.xml"))
    assert registered(dmp) == 0


def test_a_metadata_update_with_a_code_outside_its_value_set_gets_the_golden_refusal(make_app):
    dmp = ready(make_app)
    fed = xds.Doc()
    assert dmp.feed(documents=(fed,)).body.get("status") == SUCCESS
    found = dmp.call("registry", registry.find_documents(), "urn:ihe:iti:2007:RegistryStoredQuery")
    lid = next(e.get("lid") for e in found.body.iter(f"{RIM}ExtrinsicObject")
               if any(x.get("value") == fed.unique_id for x in e.iter(f"{RIM}ExternalIdentifier")))
    content = fed.bytes()
    same = dict(unique_id=fed.unique_id, hash_=hashlib.sha1(content).hexdigest(),
                size=str(len(content)))
    update = registry.mask(lid, "1", class_code=("999", "1.2.250.1.213.1.1.4.1", "Inconnue"),
                           **same)
    answer = dmp.call("registry", update, "urn:ihe:iti:2010:UpdateDocumentSet")
    assert c14n(answer.body) == c14n(golden("iti57-coded-metadata-refused.xml"))
    accepted = dmp.call("registry", registry.mask(lid, "1", **same),
                        "urn:ihe:iti:2010:UpdateDocumentSet")
    assert accepted.body.get("status") == SUCCESS


def test_the_builders_feed_passes_and_is_registered(make_app):
    dmp = ready(make_app)
    assert dmp.feed().body.get("status") == SUCCESS
    assert registered(dmp) == 2  # the document and the lot-signature entry


def test_the_settings_relax_the_checks(make_app):
    dmp = ready(make_app, dmp_coded_metadata="off", dmp_cda_checks="patient")
    answer = dmp.feed(documents=(xds.Doc(codes=BAD_CODES[:1]),))
    assert answer.body.get("status") == SUCCESS
    answer = dmp.feed(documents=(xds.Doc(content=b"<foo/>",
                                         unique_id="1.2.250.1.999.1.1.8121.21.2"),),
                      set_unique_id="1.2.250.1.999.1.1.8121.7.4243",
                      signature_unique_id="1.2.250.1.999.1.1.8121.9.4243")
    assert answer.body.get("status") == SUCCESS


def test_a_newer_release_is_read_from_sim_dmp_value_sets_dir(make_app, tmp_path):
    newer = {"id": "JDV_J02-XdsHealthcareFacilityTypeCode-CISIS", "version": "2099",
             "date": "2099-01-01", "codes": [{"code": "ZZ99", "system": "1.2.250.1.71.4.2.4",
                                              "display": "Secteur de demain"}]}
    (tmp_path / "JDV_J02-XdsHealthcareFacilityTypeCode-CISIS.json").write_text(json.dumps(newer))
    dmp = ready(make_app, dmp_value_sets_dir=tmp_path)
    answer = dmp.feed(documents=(xds.Doc(codes=BAD_CODES[2:]),))
    assert answer.body.get("status") == SUCCESS
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "JDV_J66-TypeCode-DMP.json").write_text("[]")
    with pytest.raises(TerminologyError, match="JDV_J66-TypeCode-DMP"):
        make_app(dmp_value_sets_dir=tmp_path / "bad")
