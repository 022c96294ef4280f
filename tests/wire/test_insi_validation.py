"""Responses validated against the official XSDs (and ours), and compared with the
CNDA sample files of ../shared/samples/insi."""
from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from envelopes import (CONTEXTE_BAM, SOAP_CT, contexte_lps, traits_request, vitale_request,
                       wsa)

OUR_XSD = Path(__file__).resolve().parents[2] / "wsdl" / "insi" / "xsd"
NS_RES = "{http://www.cnamts.fr/INSiResultat}"
NS_SIRAM = "{urn:siram}"


@pytest.fixture(scope="module")
def official(shared_dir):
    base = shared_dir / "contracts" / "insi" / "xsd"
    return {"resultat": etree.XMLSchema(etree.parse(
                str(base / "ServiceIdentiteCertifiee" / "INSi_RESULTAT_INS.xsd"))),
            "fault": etree.XMLSchema(etree.parse(str(base / "schema_faultSOAP_V01_01.xsd")))}


@pytest.fixture(scope="module")
def ours():
    return {"resultat": etree.XMLSchema(etree.parse(str(OUR_XSD / "INSi_RESULTAT_INS.xsd"))),
            "fault": etree.XMLSchema(etree.parse(str(OUR_XSD / "siram_fault.xsd")))}


RESULT_REQUESTS = {
    "cr00": traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"),
    "cr00-history": traits_request("ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14"),
    "cr00-nia": traits_request("PROVISOIRE", "MATRICULE", "M", "2009-07-01"),
    "cr00-vitale": vitale_request("2012-05-10", od="2760763220901", rank=1),
    "cr01": traits_request("HOUILLES", "PIERRE", "M", "1993-01-27"),
    "cr02": traits_request("DE VINCI", "LEONARDO", "M", "2014-02-01"),
}


def resultat_of(client, body: bytes) -> etree._Element:
    response = client.post("/lps", data=body, content_type=SOAP_CT)
    assert response.status_code == 200, response.data
    return etree.fromstring(response.data).find(f".//{NS_RES}RESULTAT")


@pytest.mark.parametrize("when", ["2022-06-01", "2023-06-01"])
@pytest.mark.parametrize("kind", sorted(RESULT_REQUESTS))
def test_every_result_validates(client, official, ours, kind, when):
    client.put("/_admin/clock", json={"now": when, "frozen": True})
    resultat = resultat_of(client, RESULT_REQUESTS[kind])
    for schemas in (official, ours):
        schemas["resultat"].assertValid(resultat)


def _erreur(client, when: str, body: bytes) -> etree._Element:
    client.put("/_admin/clock", json={"now": when, "frozen": True})
    response = client.post("/lps", data=body, content_type=SOAP_CT)
    assert response.status_code == 500
    return etree.fromstring(response.data).find(f".//{NS_SIRAM}Erreur")


@pytest.mark.parametrize("when", ["2022-06-01", "2025-06-01"])
def test_desir_550_detail_validates(client, official, ours, when):
    headers = CONTEXTE_BAM + contexte_lps(idam="XXX") + wsa("rechercherInsAvecTraitsIdentite")
    erreur = _erreur(client, when, traits_request("A", "B", "F", "2000-01-01", headers=headers))
    official["fault"].assertValid(erreur)
    ours["fault"].assertValid(erreur)


def test_invalid_request_detail_validates(client, official):
    erreur = _erreur(client, "2025-06-01", traits_request("A", "B", "X", "2000-01-01"))
    official["fault"].assertValid(erreur)


def test_legacy_insi_102_keeps_the_platforms_off_schema_severity(make_app, official):
    # The platform sent severite="fatal", outside the XSD enumeration; we reproduce it.
    from werkzeug.test import Client
    from simulator.settings import parse_datetime
    client = Client(make_app(insi_qualif_quirks=True, date=parse_datetime("2022-11-04")))
    erreur = _erreur(client, "2022-11-04", traits_request("TCHITCHI", "OLA", "F", "1936-06-21"))
    assert erreur.get("severite") == "fatal"
    assert not official["fault"].validate(erreur)
    erreur.set("severite", "fatale")
    official["fault"].assertValid(erreur)


def _summary(resultat: etree._Element) -> dict:
    """The data of a RESULTAT, independent of prefixes, whitespace and child order."""
    def matricule(el):
        return (el.findtext(f"{NS_RES}IdIndividu/{NS_RES}NumIdentifiant"),
                el.findtext(f"{NS_RES}IdIndividu/{NS_RES}Cle"), el.findtext(f"{NS_RES}OID"),
                el.findtext(f"{NS_RES}DateDeb"), el.findtext(f"{NS_RES}DateFin"))
    individu = resultat.find(f"{NS_RES}INDIVIDU")
    summary = {"code": resultat.findtext(f"{NS_RES}CR/{NS_RES}CodeCR"),
               "label": resultat.findtext(f"{NS_RES}CR/{NS_RES}LibelleCR")}
    if individu is not None:
        tiq = individu.find(f"{NS_RES}TIQ")
        summary.update(
            active=matricule(individu.find(f"{NS_RES}INSACTIF")),
            history=sorted(matricule(h) for h in individu.findall(f"{NS_RES}INSHISTO")),
            traits={etree.QName(c).localname: c.text for c in tiq
                    if isinstance(c.tag, str) and etree.QName(c).localname != "Prenom"})
    return summary


SAMPLES = {
    "REP_CR01.xml": traits_request("HOUILLES", "PIERRE", "M", "1993-01-27"),
    "TEST_2.04_cas2.xml": traits_request("ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14"),
    "TEST_2.05.xml": traits_request("PROVISOIRE", "MATRICULE", "M", "2009-07-01"),
    "TEST_2.08_cas1.xml": traits_request("CORSE", "ANTHONY", "M", "1980-03-02"),
    "TEST_2.08_cas2.xml": traits_request("HERMANN", "GATIEN", "M", "1981-03-24"),
}


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_answers_carry_the_cnda_sample_data(client, shared_dir, sample):
    expected = etree.parse(str(shared_dir / "samples" / "insi" / sample)).getroot()
    expected = expected.find(f".//{NS_RES}RESULTAT")
    assert _summary(resultat_of(client, SAMPLES[sample])) == _summary(expected)
