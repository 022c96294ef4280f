import pytest

from simulator.identities.loader import IdentityFileError, load_identities
from simulator.identities.model import (OID_INS_NIA, OID_INS_NIR, OID_INS_NIR_DEMO,
                                        OID_INS_NIR_TEST, Matricule)

HEADER = "birth_name,first_names,sex,birth_date,birth_place,nir,key,oid,od_nir,birth_rank,notes\n"
ADRUN = "ADRUN,ZOE,F,1975-12-31,63220,2751263220749,74,,,,qualif\n"


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path, name, text):
    with pytest.raises(IdentityFileError) as caught:
        load_identities(write(tmp_path, name, text))
    return str(caught.value)


def test_csv_happy_path(tmp_path):
    path = write(tmp_path, "persons.csv", HEADER + ADRUN
                 + "ecetinsi,PIERRE-ALAIN MURIEL FLORIANT,M,2009-07-14,63220,1090763220834,,nia,"
                   "2751263220749,2,\n"
                 + "CORSE,ANTHONY,M,1980-03-02,,180032B020401,23,1.2.250.1.213.1.4.8,,,\n")
    first, second, third = load_identities(path)
    assert first.key == "vendor-275126322074974"
    assert (first.birth_name, first.first_names, first.sex) == ("ADRUN", ("ZOE",), "F")
    assert (first.birth_date, first.birth_place, first.notes) == ("1975-12-31", "63220", "qualif")
    assert first.active == Matricule("2751263220749", "74", OID_INS_NIR)
    assert first.source == "vendor" and first.od_number is None and first.birth_rank == 1
    assert second.birth_name == "ECETINSI"
    assert second.first_names == ("PIERRE-ALAIN", "MURIEL", "FLORIANT")
    assert second.first_names_list == "PIERRE-ALAIN MURIEL FLORIANT"
    assert second.active == Matricule("1090763220834", "89", OID_INS_NIA)
    assert (second.od_number, second.od_key, second.birth_rank) == ("2751263220749", "74", 2)
    assert third.birth_place == "2B020"  # taken from the NIR when absent
    assert third.key == "vendor-180032B02040123"


def test_csv_semicolon_and_bom(tmp_path):
    text = "\ufeff" + HEADER.replace(",", ";") + ADRUN.replace(",", ";")
    (person,) = load_identities(write(tmp_path, "excel.csv", text))
    assert person.active.ins == "275126322074974"


def test_yaml_happy_path(tmp_path):
    path = write(tmp_path, "persons.yaml", """
identities:
  - birth_name: ECETINSI
    first_names: [PIERRE-ALAIN, MURIEL FLORIANT]
    sex: M
    birth_date: 2009-07-14
    birth_place: 63220
    nir: 1090763220834
    key: 89
    history:
      - {nir: 2090763220834, key: 39, start: 2019-03-01, end: 2019-02-28}
      - {nir: 2090663220123, oid: test}
  - birth_name: NOMAD
    first_names: JEAN  PAUL
    sex: F
    birth_date: 1950-00-00
    birth_place: 99350
    nir: 2502099350005
    oid: demo
  - birth_name: HERMANN
    first_names: GATIEN
    sex: M
    birth_date: 1981-03-24
    birth_place: 01053
    nir: 1810363220456
    key: 60
    allow_bad_key: true
""")
    ecetinsi, nomad, hermann = load_identities(path)
    assert ecetinsi.birth_date == "2009-07-14" and ecetinsi.birth_place == "63220"
    assert ecetinsi.active.key == "89"
    assert ecetinsi.history == (
        Matricule("2090763220834", "39", OID_INS_NIR, "2019-03-01", "2019-02-28"),
        Matricule("2090663220123", "55", OID_INS_NIR_TEST),
    )
    assert nomad.first_names == ("JEAN", "PAUL")
    assert nomad.birth_date == "1950-00-00"  # lunar date kept verbatim
    assert nomad.active.oid == OID_INS_NIR_DEMO
    assert hermann.active.key == "60" and hermann.birth_place == "01053"


def test_yaml_plain_list_and_empty(tmp_path):
    path = write(tmp_path, "list.yml", "- {birth_name: ADRUN, first_names: ZOE, sex: F, "
                 "birth_date: '1975-12-31', nir: '2751263220749'}\n")
    (person,) = load_identities(path)
    assert person.birth_place == "63220" and person.active.key == "74"
    assert load_identities(write(tmp_path, "empty.yaml", "")) == []
    assert load_identities(write(tmp_path, "empty.csv", HEADER)) == []


@pytest.mark.parametrize("row,message", [
    ("ADRUN,ZOE,X,1975-12-31,63220,2751263220749,74,,,,",
     "persons.csv row 3, field sex: expected M or F, got 'X'"),
    ("ADRUN,ZOE,F,31/12/1975,63220,2751263220749,74,,,,",
     "persons.csv row 3, field birth_date: expected a date YYYY-MM-DD, got '31/12/1975'"),
    ("ADRUN,ZOE,F,1975-12-31,63220,275126322074,74,,,,",
     "persons.csv row 3, field nir: expected 13 characters (digits, department 2A/2B "
     "allowed), got '275126322074'"),
    ("ADRUN,ZOE,F,1975-12-31,63220,2751263220749,7,,,,",
     "persons.csv row 3, field key: expected 2 digits, got '7'"),
    ("ADRUN,ZOE,F,1975-12-31,63220,2751263220749,75,,,,",
     "persons.csv row 3, field key: expected 74 (the key of 2751263220749; set "
     "allow_bad_key to keep a wrong key), got '75'"),
    ("ADRUN,ZOE,F,1975-12-31,63220,2751263220749,74,ins,,,",
     "persons.csv row 3, field oid: expected nir, nia, test, demo or an INS OID "
     "(1.2.250.1.213.1.4.8-11), got 'ins'"),
    ("ADRÜN,ZOE,F,1975-12-31,63220,2751263220749,74,,,,",
     "persons.csv row 3, field birth_name: expected upper-case A-Z, space, hyphen or "
     "apostrophe, got 'ADRÜN'"),
    (",ZOE,F,1975-12-31,63220,2751263220749,74,,,,",
     "persons.csv row 3, field birth_name: expected a value, got ''"),
    ("ADRUN,,F,1975-12-31,63220,2751263220749,74,,,,",
     "persons.csv row 3, field first_names: expected at least one first name, got ''"),
    ("ADRUN,ZOE,F,1975-12-31,6322,2751263220749,74,,,,",
     "persons.csv row 3, field birth_place: expected a 5-character COG, got '6322'"),
    ("ADRUN,ZOE,F,1975-12-31,63220,2751263220749,74,,123,,",
     "persons.csv row 3, field od_nir: expected 13 characters (digits, department 2A/2B "
     "allowed), got '123'"),
    ("ADRUN,ZOE,F,1975-12-31,63220,2751263220749,74,,,0,",
     "persons.csv row 3, field birth_rank: expected a positive integer, got '0'"),
    (ADRUN.strip(),
     "persons.csv row 3, field nir: expected a unique INS, got '275126322074974' "
     "(already in persons.csv row 2)"),
])
def test_csv_errors(tmp_path, row, message):
    text = HEADER + ADRUN + row + "\n"
    assert load_error(tmp_path, "persons.csv", text) == message


def test_csv_structure_errors(tmp_path):
    assert load_error(tmp_path, "p.csv", "birth_name,firstnames\nA,B\n") == (
        "p.csv row 1, field firstnames: expected one of birth_name, first_names, sex, "
        "birth_date, birth_place, nir, key, oid, od_nir, birth_rank, history, notes, "
        "allow_bad_key, got an unknown column")
    assert load_error(tmp_path, "p.csv", HEADER + ADRUN.strip() + ",extra\n") == (
        "p.csv row 2: more values than columns")
    assert load_error(tmp_path, "p.csv", "history\n2751263220749\n") == (
        "p.csv row 2, field history: expected history only in YAML files")
    assert load_error(tmp_path, "p.txt", "x") == "p.txt: expected a .csv, .yaml or .yml file"


@pytest.mark.parametrize("text,message", [
    ("identities: 3\n",
     "p.yaml: expected a list of identities or a mapping with key 'identities'"),
    ("- just a string\n", "p.yaml item 1: expected a mapping, got 'just a string'"),
    ("- {birth_name: A, first_names: B, sex: M, birth_date: '2000-01-01', "
     "nir: '1000199350005', allow_bad_key: maybe}\n",
     "p.yaml item 1, field allow_bad_key: expected true or false, got 'maybe'"),
    ("- {birth_name: A, first_names: B, sex: M, birth_date: '2000-01-01', "
     "nir: '1000199350005', history: [{nir: '100019935000'}]}\n",
     "p.yaml item 1, field history[1].nir: expected 13 characters (digits, department "
     "2A/2B allowed), got '100019935000'"),
    ("- {birth_name: A, first_names: B, sex: M, birth_date: '2000-01-01', "
     "nir: '1000199350005', history: [{nir: '2000199350005', end: 2001}]}\n",
     "p.yaml item 1, field history[1].end: expected a date YYYY-MM-DD, got '2001'"),
    ("- {birth_name: A, first_names: B, sex: M, birth_date: '2000-01-01', "
     "nir: '1000199350005', history: [{nir: '2000199350005', until: x}]}\n",
     "p.yaml item 1, field history[1]: expected a mapping with nir, key, oid, start, end, "
     "got {'nir': '2000199350005', 'until': 'x'}"),
    ("- {birth_name: A, first_names: B, sex: M, birth_date: '2000-01-01', "
     "nir: '1000199350005', sexe: M}\n",
     "p.yaml item 1, field sexe: expected one of birth_name, first_names, sex, birth_date, "
     "birth_place, nir, key, oid, od_nir, birth_rank, history, notes, allow_bad_key, "
     "got an unknown field"),
    ("- {birth_name: A}\n: [\n", None),
])
def test_yaml_errors(tmp_path, text, message):
    error = load_error(tmp_path, "p.yaml", text)
    if message is None:
        assert error.startswith("p.yaml: expected valid YAML")
    else:
        assert error == message
