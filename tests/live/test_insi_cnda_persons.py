"""The CNDA / qualification test persons, searched over a real socket by real SOAP
clients (one built from our WSDL, one from the official contract).

Expected values come from the domain brief (§9 test identities, §6.1 CR codes), not
from the simulator's registry; only the matricules the sources do not give (DE VINCI)
are taken from ``simulator.identities.cnda`` (the simulator builds them).
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import pytest
import requests
import zeep
from lxml import etree

from simulator.identities.cnda import cnda_identities

NS_RESULTAT = "http://www.cnamts.fr/INSiResultat"
OID_NIR = "1.2.250.1.213.1.4.8"
OID_NIA = "1.2.250.1.213.1.4.9"


@dataclass(frozen=True)
class Expected:
    """A CNDA person, its traits and the INS the service must return (CR 00)."""

    key: str  # registry key without the "cnda-" prefix
    nom: str
    prenoms: str  # ListePrenom
    sexe: str
    naissance: str
    lieu: str
    numero: str
    cle: str
    oid: str = OID_NIR
    # INSHISTO: (NumIdentifiant, Cle, DateDeb, DateFin)
    histo: tuple = ()
    lieu_query: str | None = None  # LieuNaissance sent in the query, when needed

    @property
    def premier_prenom(self) -> str:
        return self.prenoms.split()[0]


def _devinci(key: str) -> tuple[str, str]:
    person = next(i for i in cnda_identities() if i.key == f"cnda-{key}")
    return person.active.number, person.active.key


LEONARDO_63220 = _devinci("devinci-leonardo-63220")
LEONARDO_75056 = _devinci("devinci-leonardo-75056")
RUTH = _devinci("devinci-ruth")
DONATELLO = _devinci("devinci-donatello")

# Domain brief §9: every person whose documented outcome is CR 00 with the first
# first name (DE VINCI LEONARDO: with the birth place COG, CNDA 2.06 cas 2).
CR00_PERSONS = [
    Expected("adrun-zoe", "ADRUN", "ZOE", "F", "1975-12-31", "63220", "2751263220749", "74"),
    Expected("adrtrois-dominique", "ADRTROIS", "DOMINIQUE", "F", "1997-02-26", "2A020",
             "297022A020778", "78"),
    Expected("adrtrois-toussaint", "ADRTROIS", "TOUSSAINT", "M", "1960-01-01", "2B020",
             "160012B020777", "13"),
    Expected("tchitchi-catarina", "TCHITCHI", "CATARINA BELLA", "F", "1936-06-21", "63220",
             "2360663220836", "56"),
    Expected("ecetinsi-pierre-alain", "ECETINSI", "PIERRE-ALAIN MURIEL FLORIANT", "M",
             "2009-07-14", "63220", "1090763220834", "89",
             histo=(("2090763220834", "39", "2019-03-01", "2019-02-28"),
                    ("2090663220123", "55", None, None))),
    Expected("provisoire-matricule", "PROVISOIRE", "MATRICULE", "M", "2009-07-01", "63220",
             "1090763220888", "35", oid=OID_NIA),
    Expected("devinci-leonardo-63220", "DE VINCI", "LEONARDO", "M", "2014-02-01", "63220",
             *LEONARDO_63220, lieu_query="63220"),
    Expected("corse-anthony", "CORSE", "ANTHONY", "M", "1980-03-02", "2B020",
             "180032B020401", "23", histo=(("180032B020401", "23", None, None),)),
    Expected("hermann-gatien", "HERMANN", "GATIEN", "M", "1981-03-24", "63220",
             "1810363220456", "60",
             histo=(("1810363220456", "60", None, None), ("2810363220456", "10", None, None))),
    Expected("nessi-michelangelo", "NESSI", "MICHELANGELO ANTHONY", "M", "2010-08-07",
             "63220", "1100863220830", "60"),
    Expected("dartagnan-pierre-alain", "D'ARTAGNAN DE L'HERAULT",
             "PIERRE-ALAIN MURIEL FLORIANT", "M", "2001-06-17", "63220", "1010663220754", "60"),
]


def _as_date(value):
    """zeep gives xs:date as datetime.date; compare with the ISO strings above."""
    return value.isoformat() if isinstance(value, date) else value


def assert_matricule(ins, numero, cle, oid, deb=None, fin=None):
    assert ins.IdIndividu.NumIdentifiant == numero
    assert ins.IdIndividu.Cle == cle
    assert ins.OID == oid
    assert _as_date(ins.DateDeb) == deb
    assert _as_date(ins.DateFin) == fin


def assert_found(result, person: Expected):
    assert (result.CR.CodeCR, result.CR.LibelleCR) == ("00", "OK")
    individu = result.INDIVIDU
    assert individu is not None
    assert_matricule(individu.INSACTIF, person.numero, person.cle, person.oid)
    histo = individu.INSHISTO or []
    assert len(histo) == len(person.histo)
    for got, (numero, cle, deb, fin) in zip(histo, person.histo):
        assert_matricule(got, numero, cle, OID_NIR, deb, fin)
    tiq = individu.TIQ
    assert tiq.NomNaissance == person.nom
    assert tiq.ListePrenom == person.prenoms
    assert tiq.Sexe == person.sexe
    assert tiq.DateNaissance == person.naissance
    assert tiq.LieuNaissance == person.lieu
    # Since Oct 2022 TIQ carries no Prenom (domain brief §6).
    assert tiq.Prenom is None


def assert_not_found(result, code: str):
    labels = {"01": "Aucune identite trouvee", "02": "Plusieurs identites trouvees"}
    assert (result.CR.CodeCR, result.CR.LibelleCR) == (code, labels[code])
    assert result.INDIVIDU is None


def test_table_covers_every_documented_cr00_person():
    """Every CNDA person whose notes document a CR 00 is searched below (PROVISOIRE
    MATRICULE too: CNDA 2.05 expects its NIA, the qualification platform's insi_102 is
    a quirk)."""
    documented = {i.key.removeprefix("cnda-") for i in cnda_identities() if "CR 00" in i.notes}
    assert documented <= {p.key for p in CR00_PERSONS}


# --------------------------------------------------------------------------
# rechercherInsAvecTraitsIdentite
# --------------------------------------------------------------------------


@pytest.mark.parametrize("person", CR00_PERSONS, ids=lambda p: p.key)
def test_traits_search_with_first_first_name(insi_client, person):
    result = insi_client.traits(person.nom, person.premier_prenom, person.sexe,
                                person.naissance, person.lieu_query)
    assert_found(result, person)


def test_ecetinsi_has_two_inshisto(insi_client):
    result = insi_client.traits("ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14")
    histo = result.INDIVIDU.INSHISTO
    assert [(h.IdIndividu.NumIdentifiant, h.IdIndividu.Cle) for h in histo] == \
        [("2090763220834", "39"), ("2090663220123", "55")]


def test_provisoire_matricule_is_a_nia(insi_client):
    result = insi_client.traits("PROVISOIRE", "MATRICULE", "M", "2009-07-01")
    assert result.CR.CodeCR == "00"
    assert result.INDIVIDU.INSACTIF.OID == OID_NIA


def test_de_vinci_leonardo_homonyms(insi_client):
    """CNDA 2.06: two DE VINCI LEONARDO born the same day; the COG decides."""
    assert_not_found(insi_client.traits("DE VINCI", "LEONARDO", "M", "2014-02-01"), "02")
    found = insi_client.traits("DE VINCI", "LEONARDO", "M", "2014-02-01", "63220")
    assert found.CR.CodeCR == "00"
    assert (found.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant,
            found.INDIVIDU.INSACTIF.IdIndividu.Cle) == LEONARDO_63220
    other = insi_client.traits("DE VINCI", "LEONARDO", "M", "2014-02-01", "75056")
    assert other.CR.CodeCR == "00"
    assert (other.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant,
            other.INDIVIDU.INSACTIF.IdIndividu.Cle) == LEONARDO_75056
    assert other.INDIVIDU.TIQ.LieuNaissance == "75056"


def test_tchitchi_ola_is_not_found(insi_client):
    """CNDA 2.07 cas 1 (without the qualification quirks)."""
    assert_not_found(insi_client.traits("TCHITCHI", "OLA", "F", "1936-06-21"), "01")


@pytest.mark.parametrize("prenom", ["PIERRE", "PAUL", "JACQUES", "PIERRE PAUL JACQUES"])
def test_houilles_is_not_found(insi_client, prenom):
    """CNDA 2.07 cas 2: CR 01 for every query."""
    assert_not_found(insi_client.traits("HOUILLES", prenom, "M", "1993-01-27"), "01")


def test_apostrophes_in_birth_name(insi_client):
    """CNDA 2.03 cas 1: D'ARTAGNAN DE L'HERAULT / PIERRE-ALAIN must be sendable."""
    result = insi_client.traits("D'ARTAGNAN DE L'HERAULT", "PIERRE-ALAIN", "M", "2001-06-17")
    sent = insi_client.last_sent_xml()
    assert "D'ARTAGNAN DE L'HERAULT" in [e.text for e in sent.iter("{*}NomNaissance")]
    assert result.CR.CodeCR == "00"
    assert result.INDIVIDU.TIQ.NomNaissance == "D'ARTAGNAN DE L'HERAULT"
    assert result.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant == "1010663220754"


@pytest.mark.parametrize("query", [["CATARINA BELLA"], ["CATARINA", "BELLA"]],
                         ids=["one-prenom", "two-prenom-elements"])
def test_whole_first_name_list(insi_client, query):
    """Clients query once more with all first names (domain brief §5.1 strategy step 2)."""
    result = insi_client.traits("TCHITCHI", query, "F", "1936-06-21")
    assert result.CR.CodeCR == "00"
    assert result.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant == "2360663220836"
    assert result.INDIVIDU.TIQ.ListePrenom == "CATARINA BELLA"


def test_second_first_name_alone_is_not_found(insi_client):
    assert_not_found(insi_client.traits("TCHITCHI", "BELLA", "F", "1936-06-21"), "01")


# --------------------------------------------------------------------------
# rechercherInsAvecCarteVitale
# --------------------------------------------------------------------------


def test_vitale_child_by_ouvrant_droit_and_rang(insi_client):
    """Card 'INSi 01': DE VINCI DONATELLO found through RUTH's matricule."""
    result = insi_client.vitale("2012-05-10", od=RUTH, rang=1, nom="DE VINCI")
    assert result.CR.CodeCR == "00"
    ins = result.INDIVIDU.INSACTIF
    assert (ins.IdIndividu.NumIdentifiant, ins.IdIndividu.Cle) == DONATELLO
    assert ins.OID == OID_NIR
    tiq = result.INDIVIDU.TIQ
    assert (tiq.NomNaissance, tiq.ListePrenom, tiq.Sexe, tiq.DateNaissance) == \
        ("DE VINCI", "DONATELLO", "M", "2012-05-10")


def test_vitale_child_with_wrong_rang_is_not_found(insi_client):
    assert_not_found(insi_client.vitale("2012-05-10", od=RUTH, rang=2), "01")


def test_vitale_ouvrant_droit_herself(insi_client):
    result = insi_client.vitale("1976-07-14", od=RUTH, rang=1)
    assert result.CR.CodeCR == "00"
    assert (result.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant,
            result.INDIVIDU.INSACTIF.IdIndividu.Cle) == RUTH


@pytest.mark.parametrize("who,born", [(DONATELLO, "2012-05-10"), (RUTH, "1976-07-14")],
                         ids=["donatello", "ruth"])
def test_vitale_by_matricule_individu(insi_client, who, born):
    result = insi_client.vitale(born, individu=who, od=RUTH)
    assert result.CR.CodeCR == "00"
    assert (result.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant,
            result.INDIVIDU.INSACTIF.IdIndividu.Cle) == who


def test_vitale_by_matricule_individu_wrong_birth_date(insi_client):
    assert_not_found(insi_client.vitale("2012-05-11", individu=DONATELLO), "01")


def test_vitale_by_historical_matricule(insi_client):
    """A card still carrying an INSHISTO matricule finds the person (ECETINSI)."""
    result = insi_client.vitale("2009-07-14", individu=("2090663220123", "55"))
    assert result.CR.CodeCR == "00"
    assert result.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant == "1090763220834"



@pytest.mark.parametrize("numero,cle,born", [
    pytest.param("180032B020401", "23", "1980-03-02", id="corse"),
    pytest.param("1810363220456", "60", "1981-03-24", id="hermann"),
])
def test_vitale_matricule_also_in_history_is_one_person(insi_client, numero, cle, born):
    """CNDA 2.08: INSHISTO repeats INSACTIF; the card search still finds one person."""
    result = insi_client.vitale(born, individu=(numero, cle))
    assert result.CR.CodeCR == "00"
    assert result.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant == numero


@pytest.mark.parametrize("role,numero,cle,born", [
    ("individu", "297022A020778", "78", "1997-02-26"),
    ("od", "160012B020777", "13", "1960-01-01"),
], ids=["adrtrois-dominique-individu", "adrtrois-toussaint-od"])
def test_vitale_corsican_matricule(insi_client, role, numero, cle, born):
    """Cards of persons born in Corsica (NIR with 2A/2B, domain brief §8.2)."""
    result = insi_client.vitale(born, **{role: (numero, cle)})
    assert result.CR.CodeCR == "00"
    assert result.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant == numero

# --------------------------------------------------------------------------
# Many clients at once, and the journal of what was exchanged
# --------------------------------------------------------------------------


def test_concurrent_searches_do_not_mix_answers(live_server, our_client):
    """40 searches over 8 parallel connections: each answer is its own person's, and
    the journal (emptied by the autouse reset) holds exactly these 40 exchanges."""
    client = our_client.client
    jobs = []
    for round_ in range(4):
        for person in CR00_PERSONS[:10]:
            envelope = client.create_message(
                client.service, "rechercherInsAvecTraitsIdentite", NomNaissance=person.nom,
                Prenom=[person.premier_prenom], Sexe=person.sexe,
                DateNaissance=person.naissance, LieuNaissance=person.lieu_query,
                _soapheaders=our_client.headers())
            jobs.append((person, etree.tostring(envelope, xml_declaration=True,
                                                encoding="utf-8")))
    headers = {"Content-Type": 'application/soap+xml; charset=utf-8; '
                               'action="urn:ServiceIdentiteCertifiee:1.0.0:'
                               'rechercherInsAvecTraitsIdentite"'}

    def post(job):
        person, body = job
        response = requests.post(our_client.address, data=body, headers=headers, timeout=10)
        return person, response

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, jobs))
    for person, response in answers:
        assert response.status_code == 200, response.text
        root = etree.fromstring(response.content)
        assert root.findtext(f".//{{{NS_RESULTAT}}}CodeCR") == "00"
        assert root.findtext(f".//{{{NS_RESULTAT}}}INSACTIF//{{{NS_RESULTAT}}}NumIdentifiant") \
            == person.numero

    journal = requests.get(live_server.url("/_admin/journal"),
                           params={"limit": 100, "bodies": 0}, timeout=10).json()
    entries = [e for e in journal["entries"] if e["service"] == "insi"]
    assert len(entries) == len(jobs)
    assert {e["outcome"] for e in entries} == {"CR 00"}
    assert {e["operation"] for e in entries} == {"rechercherInsAvecTraitsIdentite"}
