"""TD0.0 identityCertification on ``patientCertif``: whole envelopes in, the soap:Body
child compared by exclusive C14N with hand-written golden messages and validated against
the project's XSD (wsdl/dmp/xsd/si-dmp-patientcertif.xsd); the CNAM identity against the
INSi one for a person whose CNAM traits differ; the INS provenance recorded for the
timeline; the published WSDL; and the regulatory gate at the three stages of 2022-2023
(DMP brief §3, issue 5)."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import xmlschema
import zeep
from lxml import etree

from dmp_builders.client import Answer, BASE, Dmp, PAT, SOAP, assert_reply_addressing, c14n, \
    golden
from simulator.kit.soap import envelope
from envelopes import SOAP_CT, vitale_request
from simulator.identities.insc import insc_of
from simulator.settings import parse_datetime
from simulator.soap.parsing import safe_parser

ACTION = f"{PAT}:PatientCertificationEndPoint:identityCertification"
REPLY = f"{ACTION}Response"
PROJECT = Path(__file__).resolve().parents[2]
WSDL_DIR = PROJECT / "wsdl" / "dmp"
XSD = WSDL_DIR / "xsd" / "si-dmp-patientcertif.xsd"
STRUCTURE = "10B0167011"  # Identifiant_Structure of the builders' VIHF
RUTH_OD = "2760763220901"  # CNDA DE VINCI RUTH, ouvrant droit of test card 'INSi 01'
DONATELLO = "1120563220902"  # her child on that card, born 2012-05-10, rang 1
OPEN_DAY, GRACE_DAY, CLOSED_DAY = ("2022-12-10T09:00:00Z", "2023-01-15T09:00:00Z",
                                   "2023-04-29T09:00:00Z")
LEGRAND = {"birth_name": "LEGRAND", "first_names": "JEAN-PHILIPPE", "sex": "M",
           "birth_date": "1980-03-14", "birth_place": "75112", "nir": "1800375112001",
           "cnam_traits": {"birth_name": "LE GRAND", "first_names": ["JEAN", "PHILIPPE"],
                           "birth_date": "1980-03-00"}}
TWIN = {"birth_name": "DE VINCI", "sex": "F", "birth_date": "2019-09-09",
        "birth_place": "75112", "od_nir": RUTH_OD, "birth_rank": "1"}


def certification(od: str | None = RUTH_OD, born: str | None = "2012-05-10",
                  rank: str | None = "1", individual: str | None = None,
                  prefix: str = "p:") -> str:
    """An identityCertification body (elements left out when None)."""
    fields = [("nirOD", od), ("dateNaissance", born), ("rangNaissance", rank),
              ("nirIndividu", individual)]
    xmlns = f'xmlns:{prefix[:-1]}="{PAT}"' if prefix else f'xmlns="{PAT}"'
    return (f"<{prefix}identityCertification {xmlns}>"
            + "".join(f"<{prefix}{n}>{v}</{prefix}{n}>" for n, v in fields if v is not None)
            + f"</{prefix}identityCertification>")


class Td00:
    """A simulator app and a DMP client whose VIHF instants follow the simulated clock."""

    def __init__(self, app, when: str):
        self.app = app
        self.dmp = Dmp(app)
        self.when = when

    @property
    def store(self):
        return self.app.simulator.store

    def at(self, when: str) -> None:
        response = self.dmp.http.put("/_admin/clock", json={"now": when, "frozen": True})
        assert response.status_code == 200, response.json
        self.when = when

    def call(self, body: str, action: str = ACTION, **vihf_options) -> Answer:
        message_id = f"urn:uuid:{uuid.uuid4()}"
        vihf_options.setdefault("patient", None)  # TD0.0 names no patient in the VIHF
        raw = envelope(body, action=action, service="patientCertif", issue_instant=self.when,
                       message_id=message_id, **vihf_options)
        return self.dmp.send("patientCertif", raw, message_id)

    def add_person(self, fields: dict) -> dict:
        response = self.dmp.http.post("/_admin/identities", json=fields)
        assert response.status_code == 201, response.json
        return response.json


@pytest.fixture
def td00(make_app) -> Td00:
    return Td00(make_app(date=parse_datetime(OPEN_DAY), frozen=True, population=0), OPEN_DAY)


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema(str(XSD))


def assert_valid(schema, element) -> None:
    errors = [f"{error.path}: {error.reason}" for error in schema.iter_errors(element)]
    assert not errors, errors


def assert_golden(answer: Answer, name: str, schema) -> None:
    assert answer.response.status_code == 200, answer.response.data[:800]
    assert answer.response.headers["Content-Type"].startswith("application/soap+xml")
    assert_reply_addressing(answer, REPLY)
    assert c14n(answer.body) == c14n(golden(name))
    assert_valid(schema, answer.body)


def fields(answer: Answer) -> dict[str, str]:
    return {etree.QName(c).localname: c.text for c in answer.body}


# --- answers -------------------------------------------------------------------------------

def test_a_child_on_a_parents_card_gets_the_cnam_identity(td00, schema):
    request = certification()
    assert_valid(schema, etree.fromstring(request))
    assert_golden(td00.call(request), "td00-ok.xml", schema)


def test_the_card_holder_is_found_with_her_own_nir_as_ouvrant_droit(td00):
    answer = td00.call(certification(born="1976-07-14"))
    assert fields(answer) | {"context": None} == {
        "status": "DMPOK", "context": None, "nirIndividu": "276076322090184",
        "prenom": "RUTH", "nomPatronymique": "DE VINCI", "dateNaissance": "1976-07-14"}


@pytest.mark.parametrize("od", [RUTH_OD + "84", RUTH_OD.lower()])
def test_the_ouvrant_droit_may_carry_its_key(td00, od):
    assert fields(td00.call(certification(od=od)))["nirIndividu"] == DONATELLO + "36"


def test_unqualified_children_are_read_too(td00):
    assert fields(td00.call(certification(prefix="")))["status"] == "DMPOK"


def test_the_wrong_birth_date_is_dmpnotfound(td00, schema):
    assert_golden(td00.call(certification(born="2012-05-11")), "td00-not-found.xml", schema)


@pytest.mark.parametrize("change", [{"rank": "2"}, {"od": "1810163220751"},
                                    {"individual": "1810163220751"}])
def test_another_rang_card_or_individual_is_dmpnotfound(td00, change):
    assert fields(td00.call(certification(**change)))["status"] == "DMPNotFound"


def test_a_date_in_display_form_is_dmpinvalidparameter(td00, schema):
    assert_golden(td00.call(certification(born="10/05/2012")), "td00-invalid-parameter.xml",
                  schema)


@pytest.mark.parametrize("change, named", [
    ({"od": None}, "nirOD is required"),
    ({"od": "27607632209"}, "nirOD must be a NIR"),
    ({"od": RUTH_OD + "85"}, "nirOD must be a NIR"),  # the key is 84
    ({"born": "2012-13-10"}, "dateNaissance"),
    ({"born": None}, "dateNaissance"),
    ({"rank": "0"}, "rangNaissance"),
    ({"rank": "premier"}, "rangNaissance"),
    ({"individual": DONATELLO + "99"}, "nirIndividu must be a NIR"),
])
def test_bad_input_is_dmpinvalidparameter_naming_the_field(td00, schema, change, named):
    answer = td00.call(certification(**change))
    assert answer.response.status_code == 200
    assert fields(answer)["status"] == "DMPInvalidParameter"
    assert named in fields(answer)["context"]
    assert_valid(schema, answer.body)


def test_twins_with_the_same_rang_need_the_nir_individu(td00, schema):
    td00.add_person({**TWIN, "first_names": "LUCIA", "nir": "2190975112001"})
    td00.add_person({**TWIN, "first_names": "MARCO", "sex": "M", "nir": "1190975112002"})
    assert_golden(td00.call(certification(born="2019-09-09")),
                  "td00-multiple-identities.xml", schema)
    chosen = td00.call(certification(born="2019-09-09", individual="1190975112002"))
    assert (fields(chosen)["status"], fields(chosen)["prenom"]) == ("DMPOK", "MARCO")
    assert fields(chosen)["nirIndividu"] == "119097511200281"
    assert_valid(schema, chosen.body)


def test_a_lunar_birth_date_is_accepted(td00):
    td00.add_person({"birth_name": "OKAFOR", "first_names": "CHIDI", "sex": "M",
                     "birth_date": "1950-00-00", "birth_place": "99315",
                     "nir": "1502099315007"})
    answer = td00.call(certification(od="1502099315007", born="1950-00-00"))
    assert (fields(answer)["status"], fields(answer)["dateNaissance"]) == ("DMPOK",
                                                                            "1950-00-00")


# --- the CNAM's identity is not the INSi one ----------------------------------------------

def insi_identity(td00: Td00, od: str, born: str) -> dict[str, str]:
    """What INSi (Vitale search, RNIPP traits) returns for the card's data."""
    response = td00.dmp.http.post("/lps", data=vitale_request(born, od=od, rank=1),
                                  content_type=SOAP_CT)
    root = etree.fromstring(response.data, safe_parser())
    assert root.findtext(".//{*}CodeCR") == "00", response.data
    return {name: root.findtext(f".//{{*}}{name}")
            for name in ("NumIdentifiant", "Cle", "NomNaissance", "ListePrenom",
                         "DateNaissance")}


def test_the_cnam_identity_differs_from_the_insi_identity(td00, schema):
    td00.add_person(LEGRAND)
    assert_golden(td00.call(certification(od="1800375112001", born="1980-03-00")),
                  "td00-cnam-identity.xml", schema)
    insi = insi_identity(td00, "1800375112001", "1980-03-14")
    assert insi == {"NumIdentifiant": "1800375112001", "Cle": "04", "NomNaissance": "LEGRAND",
                    "ListePrenom": "JEAN-PHILIPPE", "DateNaissance": "1980-03-14"}


def test_the_rnipp_birth_date_is_not_the_cards(td00):
    td00.add_person(LEGRAND)
    answer = td00.call(certification(od="1800375112001", born="1980-03-14"))
    assert fields(answer)["status"] == "DMPNotFound"


def test_a_generated_person_with_a_cnam_discrepancy_gets_the_cnam_traits(make_app):
    td00 = Td00(make_app(date=parse_datetime(OPEN_DAY), frozen=True, population=300),
                OPEN_DAY)
    total, people = td00.store.search_identities("cnam-discrepancy", source="generated",
                                                 limit=500)
    assert total == 6 and {p.notes.split(": ")[1] for p in people} <= {
        "first_names", "lunar", "birth_date"}
    for person in people:
        cnam_first = person.cnam_trait("first_names")[0]
        born = person.cnam_trait("birth_date")
        answer = fields(td00.call(certification(
            od=person.ouvrant_droit, born=born, rank=str(person.birth_rank))))
        assert answer == {"status": "DMPOK", "context": answer["context"],
                          "nirIndividu": person.active.ins, "prenom": cnam_first,
                          "nomPatronymique": person.birth_name, "dateNaissance": born}
        assert (cnam_first, born) != (person.first_first_name, person.birth_date)


# --- provenance, INS-C in the admin API ----------------------------------------------------

def test_a_certified_ins_is_recorded_as_obtained_through_td00(td00):
    timeline = td00.store.timeline
    assert timeline.provenance(STRUCTURE, DONATELLO) == set()
    td00.call(certification(born="2012-05-11"))  # refused: nothing handed over
    assert timeline.provenance(STRUCTURE, DONATELLO) == set()
    td00.call(certification())
    assert timeline.provenance(STRUCTURE, DONATELLO) == {"td00"}
    assert timeline.provenance("10B0000000", DONATELLO) == set()


def test_the_admin_api_shows_and_finds_the_insc(td00):
    created = td00.add_person(LEGRAND)
    person = td00.store.get_identity(created["key"])
    assert created["insc"] == insc_of(person) and len(created["insc"]) == 22
    assert created["cnam_traits"] == LEGRAND["cnam_traits"]
    found = td00.dmp.http.get("/_admin/identities", query_string={"q": created["insc"]}).json
    assert found["total"] == 1 and found["identities"][0]["key"] == created["key"]
    one = td00.dmp.http.get(f"/_admin/identities/{created['key']}").json
    assert one["insc"] == created["insc"]
    assert td00.store.identity_by_insc(created["insc"]) == person


# --- the published WSDL -------------------------------------------------------------------

@pytest.mark.parametrize("service", ["patientCertif", "patientsSpecific"])
def test_the_wsdls_of_the_patients_namespace_load_in_zeep_offline(service):
    client = zeep.Client(str(WSDL_DIR / f"{service}.wsdl"))
    (binding,) = client.wsdl.bindings.values()
    assert binding._operations  # each WSDL imports one schema of urn:si-dmp-patients


def test_the_served_wsdl_describes_the_endpoint(td00):
    from zeep.transports import Transport

    http = td00.dmp.http

    class AppTransport(Transport):
        def load(self, url):
            path, _, query = url.removeprefix("http://localhost").partition("?")
            response = http.get(path, query_string=query)
            assert response.status_code == 200, url
            return response.data

    client = zeep.Client(f"http://localhost{BASE}/patientCertif?wsdl",
                         transport=AppTransport())
    (binding,) = client.wsdl.bindings.values()
    operation = binding._operations["identityCertification"]
    assert operation.abstract.wsa_action == ACTION
    assert operation.input.body.qname.text == f"{{{PAT}}}identityCertification"
    assert operation.output.body.qname.text == f"{{{PAT}}}identityCertificationResponse"
    (described,) = client.wsdl.services.values()
    (port,) = described.ports.values()
    assert port.binding_options["address"] == f"http://localhost{BASE}/patientCertif"


def test_the_vihf_may_name_a_patient_and_the_action_must_match(td00):
    assert fields(td00.call(certification(), patient="275126322074974"))["status"] == "DMPOK"
    answer = td00.call(certification(), action=f"{PAT}:PatientSpecificEndPoint:patientList")
    assert answer.response.status_code == 500
    assert answer.body.tag == f"{{{SOAP}}}Fault"


# --- the regulatory timeline --------------------------------------------------------------

def reason(answer: Answer) -> str:
    assert answer.response.status_code == 500, answer.response.data[:600]
    return answer.body.findtext(f"{{{SOAP}}}Reason/{{{SOAP}}}Text")


OTHER_SOFTWARE = {"LPS_Nom": "AUTRE-DPI", "LPS_Version": "1.0",
                  "Identifiant_Structure": "10B0000000"}


def test_before_2023_td00_answers_without_deprecation_headers(td00):
    answer = td00.call(certification())
    assert fields(answer)["status"] == "DMPOK"
    assert "Deprecation" not in answer.response.headers
    assert "Sunset" not in answer.response.headers


def test_in_the_grace_only_software_seen_in_december_is_served_deprecated(td00):
    assert fields(td00.call(certification()))["status"] == "DMPOK"  # 2022-12-10
    td00.at(GRACE_DAY)
    served = td00.call(certification())
    assert fields(served)["status"] == "DMPOK"
    assert served.response.headers["Deprecation"] == "@1672531200"  # 2023-01-01T00:00Z
    assert served.response.headers["Sunset"] == "Sat, 29 Apr 2023 00:00:00 GMT"
    refused = td00.call(certification(), **OTHER_SOFTWARE)
    text = reason(refused)
    assert "td00-deprecated" in text and "AUTRE-DPI-1.0" in text and "2022-12" in text
    assert reason(td00.call(certification(), **OTHER_SOFTWARE)) == text  # same every time


def test_a_software_first_seen_in_the_grace_is_refused(td00):
    td00.at(GRACE_DAY)
    assert "td00-deprecated" in reason(td00.call(certification()))


def test_from_2023_04_29_td00_is_refused_for_everyone(td00):
    assert fields(td00.call(certification()))["status"] == "DMPOK"  # December flow
    td00.at(CLOSED_DAY)
    text = reason(td00.call(certification()))
    assert "td00-removed" in text and "2023-04-29" in text
    assert td00.store.timeline.provenance(STRUCTURE, DONATELLO) == {"td00"}  # from December
