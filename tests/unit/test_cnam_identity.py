"""The identity the CNAM knows (``cnam_traits``, what TD0.0 answers): the generated
population's share of persons whose CNAM identity differs, vendor files giving it, the
JSON round trip of the store, and the TD0.0 lookup rules (no XML)."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest

from simulator.identities.cnda import cnda_identities
from simulator.identities.loader import IdentityFileError, load_identities
from simulator.identities.nir import NAME_PATTERN
from simulator.identities import population as population_module
from simulator.identities.population import generate_population
from simulator.services.dmp.refusals import DmpRefusal
from simulator.services.dmp.v2.patient_certif import (
    MULTIPLE_IDENTITIES, CertificationQuery, certify, cnam_identity)
from simulator.store.codec import identity_from_json, identity_to_json

SIZE = 3000


@pytest.fixture(scope="module")
def population():
    return generate_population(2024, SIZE)


def test_a_share_of_ordinary_persons_has_a_different_cnam_identity(population):
    differing = [p for p in population if p.cnam_traits]
    assert len(differing) == int(SIZE * 0.02)
    kinds = Counter()
    for person in differing:
        kind = person.notes.removeprefix("cnam-discrepancy: ")
        assert person.notes == f"cnam-discrepancy: {kind}"
        kinds[kind] += 1
        assert not person.document_traits and not person.history
        if kind == "first_names":
            assert set(person.cnam_traits) == {"first_names"}
            assert person.cnam_traits["first_names"] != person.first_names
            assert all(NAME_PATTERN.fullmatch(n) for n in person.cnam_traits["first_names"])
        else:
            (born,) = person.cnam_traits.values()
            assert set(person.cnam_traits) == {"birth_date"}
            assert born != person.birth_date and born[:8] == person.birth_date[:8]
            assert (born[8:] == "00") == (kind == "lunar")
    assert set(kinds) == {"first_names", "lunar", "birth_date"}


def test_the_cnam_share_keeps_the_population_deterministic(population):
    again = generate_population(2024, SIZE)
    assert [p.cnam_traits for p in again] == [p.cnam_traits for p in population]
    assert again == population


def test_the_cnam_share_leaves_everyone_else_as_drawn_before(population, monkeypatch):
    # The CNAM share is drawn last: the population is the one drawn without it, with
    # only the chosen persons' cnam_traits and notes added.
    monkeypatch.setattr(population_module, "CNAM_DISCREPANCY", 0)
    before = generate_population(2024, SIZE)
    assert not any(p.cnam_traits for p in before)
    for old, new in zip(before, population, strict=True):
        assert replace(new, cnam_traits={}, notes=old.notes) == old
        assert new.notes == old.notes or (not old.notes and new.cnam_traits)


def test_cnam_trait_falls_back_to_the_rnipp(population):
    person = next(p for p in population if "first_names" in p.cnam_traits)
    assert person.cnam_trait("first_names") == person.cnam_traits["first_names"]
    assert person.cnam_trait("birth_date") == person.birth_date
    assert person.cnam_trait("birth_name") == person.birth_name


def test_cnam_traits_survive_the_store_json(population):
    person = next(p for p in population if "first_names" in p.cnam_traits)
    assert identity_from_json(identity_to_json(person)) == person
    assert identity_from_json(identity_to_json(replace(person, cnam_traits={}))) \
        .cnam_traits == {}


# --- vendor files -----------------------------------------------------------------------

def test_yaml_gives_cnam_traits(tmp_path):
    path = tmp_path / "persons.yaml"
    path.write_text(
        "- {birth_name: LEGRAND, first_names: JEAN-PHILIPPE, sex: M, birth_date: 1980-03-14,\n"
        "   nir: '1800375112001', cnam_traits: {birth_name: le grand,\n"
        "   first_names: [JEAN, PHILIPPE], birth_date: 1980-03-00}}\n", encoding="utf-8")
    (person,) = load_identities(path)
    assert person.cnam_traits == {"birth_name": "LE GRAND", "first_names": ("JEAN", "PHILIPPE"),
                                  "birth_date": "1980-03-00"}


def test_csv_gives_cnam_columns(tmp_path):
    path = tmp_path / "persons.csv"
    path.write_text("birth_name,first_names,sex,birth_date,nir,cnam_first_names,"
                    "cnam_birth_date\nADRUN,ZOE,F,1975-12-31,2751263220749,ZOEE,\n"
                    "NESSI,NATHALIE,F,1977-07-14,2770763220829,,\n", encoding="utf-8")
    first, second = load_identities(path)
    assert first.cnam_traits == {"first_names": ("ZOEE",)}
    assert second.cnam_traits == {}


@pytest.mark.parametrize("traits, message", [
    ("{birth_date: 14/03/1980}", "field cnam_traits.birth_date: expected a date YYYY-MM-DD"),
    ("{first_names: ''}", "field cnam_traits.first_names: expected at least one first name"),
    ("{sex: F}", "field cnam_traits: expected a mapping with birth_name, first_names"),
    ("[JEAN]", "field cnam_traits: expected a mapping"),
    ("{birth_name: 'LE_GRAND'}", "field cnam_traits.birth_name: expected upper-case A-Z"),
])
def test_bad_cnam_traits_are_refused_with_the_field(tmp_path, traits, message):
    path = tmp_path / "persons.yaml"
    path.write_text("- {birth_name: LEGRAND, first_names: JEAN, sex: M, "
                    f"birth_date: 1980-03-14, nir: '1800375112001', cnam_traits: {traits}}}\n",
                    encoding="utf-8")
    with pytest.raises(IdentityFileError) as caught:
        load_identities(path)
    assert message in str(caught.value)


# --- the TD0.0 lookup rules --------------------------------------------------------------

def cnda(key):
    return next(p for p in cnda_identities() if p.key == f"cnda-{key}")


def test_certify_selects_by_cnam_birth_date_and_rang():
    ruth, donatello = cnda("devinci-ruth"), cnda("devinci-donatello")
    od = ruth.active.number
    assert certify([ruth, donatello], CertificationQuery(od, "2012-05-10", 1)) is donatello
    assert certify([ruth, donatello], CertificationQuery(od, "1976-07-14", 1)) is ruth
    for query in (CertificationQuery(od, "2012-05-10", 2),
                  CertificationQuery(od, "2012-05-10", 1, "1810163220751")):
        with pytest.raises(DmpRefusal) as caught:
            certify([ruth, donatello], query)
        assert caught.value.code == "DMPNotFound"
    moved = replace(donatello, cnam_traits={"birth_date": "2012-05-00"})
    assert certify([moved], CertificationQuery(od, "2012-05-00", 1)) is moved
    with pytest.raises(DmpRefusal):
        certify([moved], CertificationQuery(od, "2012-05-10", 1))


def test_certify_needs_the_nir_individu_among_lookalikes():
    donatello = cnda("devinci-donatello")
    twin = replace(donatello, key="twin", first_names=("RAFFAELLO",),
                   active=replace(donatello.active, number="1120563220903", key="05"))
    query = CertificationQuery(donatello.od_number, "2012-05-10", 1)
    with pytest.raises(DmpRefusal) as caught:
        certify([donatello, twin], query)
    assert caught.value.code == MULTIPLE_IDENTITIES
    chosen = certify([donatello, twin], replace(query, individual_number="1120563220903"))
    assert chosen is twin


def test_the_answer_uses_cnam_traits_when_present():
    donatello = cnda("devinci-donatello")
    plain = cnam_identity(donatello)
    assert (plain.nir_individu, plain.first_name, plain.birth_name, plain.birth_date) == (
        donatello.active.ins, "DONATELLO", "DE VINCI", "2012-05-10")
    differing = cnam_identity(replace(donatello, cnam_traits={
        "first_names": ("DONATELO", "X"), "birth_name": "DEVINCI", "birth_date": "2012-05-00"}))
    assert (differing.nir_individu, differing.first_name, differing.birth_name,
            differing.birth_date) == (donatello.active.ins, "DONATELO", "DEVINCI", "2012-05-00")
