"""Example: testing your own INSi client code against the simulator with pytest.

With insi-dmp-simulator installed in the test environment, the plugin is active: the
``insi_dmp_sim`` fixture gives a simulator reset for each test, and the marks set its
date and scenario. ``find_ins`` stands for your software's client code.
"""
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timezone
from xml.etree import ElementTree

import pytest

RESULTAT = "{http://www.cnamts.fr/INSiResultat}"


class InsiUnavailable(Exception):
    """INSi answered with a fault: admit the patient with a provisional identity."""


def find_ins(url: str, birth_name: str, first_name: str, sex: str, born: str) -> str | None:
    """Your client: the 15-character INS, None when INSi finds nobody (or several)."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    envelope = f"""<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Header>
<ctxbam:ContexteBAM xmlns:ctxbam="urn:siram:bam:ctxbam" Version="01_02"><ctxbam:Id>{uuid.uuid4()}</ctxbam:Id>
<ctxbam:Temps>{now}</ctxbam:Temps><ctxbam:COUVERTURE/></ctxbam:ContexteBAM>
<ctxlps:ContexteLPS xmlns:ctxlps="urn:siram:lps:ctxlps" Nature="CTXLPS" Version="01_00"><ctxlps:Id>{uuid.uuid4()}</ctxlps:Id>
<ctxlps:Temps>{now}</ctxlps:Temps><ctxlps:LPS><ctxlps:IDAM R="4">PDP17NF21DD0</ctxlps:IDAM>
<ctxlps:Version>1.0</ctxlps:Version><ctxlps:Nom>my-dpi</ctxlps:Nom></ctxlps:LPS></ctxlps:ContexteLPS>
<wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">uuid:{uuid.uuid4()}</wsa:MessageID>
</soap:Header><soap:Body><RECSANSVITALE xmlns="http://www.cnamts.fr/INSiRecSans">
<NomNaissance>{birth_name}</NomNaissance><Prenom>{first_name}</Prenom><Sexe>{sex}</Sexe>
<DateNaissance>{born}</DateNaissance></RECSANSVITALE></soap:Body></soap:Envelope>"""
    request = urllib.request.Request(url, data=envelope.encode(), headers={
        "Content-Type": "application/soap+xml; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            resultat = ElementTree.fromstring(response.read()).find(f".//{RESULTAT}RESULTAT")
    except urllib.error.HTTPError as error:
        raise InsiUnavailable(error.read().decode()) from None
    if resultat.findtext(f"{RESULTAT}CR/{RESULTAT}CodeCR") != "00":
        return None
    matricule = resultat.find(f"{RESULTAT}INDIVIDU/{RESULTAT}INSACTIF/{RESULTAT}IdIndividu")
    return matricule.findtext(f"{RESULTAT}NumIdentifiant") + matricule.findtext(f"{RESULTAT}Cle")


def test_finds_a_cnda_test_person(insi_dmp_sim):
    assert find_ins(insi_dmp_sim.insi_url, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26") \
        == "297022A02077878"


def test_homonyms_give_no_ins(insi_dmp_sim):
    assert find_ins(insi_dmp_sim.insi_url, "DE VINCI", "LEONARDO", "M", "2014-02-01") is None


@pytest.mark.sim_scenario("insi-down")
def test_insi_down_does_not_block_admission(insi_dmp_sim):
    with pytest.raises(InsiUnavailable, match="desir_1020"):
        find_ins(insi_dmp_sim.insi_url, "ADRUN", "ZOE", "F", "1975-12-31")


@pytest.mark.sim_date("2022-06-01")
def test_reads_the_2022_response_format(insi_dmp_sim):
    # Before October 2022 the platform prefixed every element (ns2:): the parser copes.
    assert find_ins(insi_dmp_sim.insi_url, "ADRUN", "ZOE", "F", "1975-12-31") \
        == "275126322074974"


def test_your_own_persons(insi_dmp_sim):
    insi_dmp_sim.add_identity({"birth_name": "MARTIN", "first_names": "JULIE", "sex": "F",
                               "birth_date": "1990-05-04", "birth_place": "75115",
                               "nir": "2900575115123"})
    assert find_ins(insi_dmp_sim.insi_url, "MARTIN", "JULIE", "F", "1990-05-04") \
        .startswith("2900575115123")
