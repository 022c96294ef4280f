"""Matching rules without XML."""
from __future__ import annotations

from simulator.identities.model import Identity, Matricule
from simulator.services.insi.matching import (
    TraitsQuery, VitaleQuery, match_traits, match_vitale, same_birth_place)


def person(key, first_names="JEAN-PIERRE MARIE", place="63220", od=None, rank=1,
           born="1980-05-17", history=()):
    return Identity(key=key, birth_name="MARTIN", first_names=tuple(first_names.split()),
                    sex="M", birth_date=born, birth_place=place,
                    active=Matricule("18005632201" + key[-2:], "00"), history=history,
                    od_number=od, birth_rank=rank)


def query(first, place=None):
    return TraitsQuery("MARTIN", tuple(first.split("|")), "M", "1980-05-17", place)


def test_first_first_name_or_whole_list_matches():
    jp = person("p01")
    assert match_traits([jp], query("JEAN-PIERRE")).code == "00"
    assert match_traits([jp], query("JEAN-PIERRE MARIE")).code == "00"
    assert match_traits([jp], query("jean-pierre  marie")).code == "00"


def test_other_first_names_alone_do_not_match():
    jp = person("p01")
    assert match_traits([jp], query("MARIE")).code == "01"
    assert match_traits([jp], query("JEAN")).code == "01"
    assert match_traits([jp], query("MARIE JEAN-PIERRE")).code == "01"


def test_several_prenom_elements_count_as_one_list():
    assert match_traits([person("p01")], query("JEAN-PIERRE|MARIE")).code == "00"


def test_homonyms_give_02_and_birth_place_narrows():
    a, b = person("p01", place="63220"), person("p02", place="75056")
    outcome = match_traits([a, b], query("JEAN-PIERRE"))
    assert (outcome.code, outcome.label, outcome.identity) == (
        "02", "Plusieurs identites trouvees", None)
    assert match_traits([a, b], query("JEAN-PIERRE", "75056")).identity is b
    assert match_traits([a, b], query("JEAN-PIERRE", "13055")).code == "01"


def test_other_traits_must_be_equal():
    jp = person("p01")
    assert match_traits([jp], TraitsQuery("MARTIN", ("JEAN-PIERRE",), "F", "1980-05-17")).code == "01"
    assert match_traits([jp], TraitsQuery("MARTINE", ("JEAN-PIERRE",), "M", "1980-05-17")).code == "01"
    assert match_traits([jp], TraitsQuery("MARTIN", ("JEAN-PIERRE",), "M", "1980-05-18")).code == "01"


def test_corsica_legacy_and_current_codes_are_the_same_place():
    assert same_birth_place("2A020", "20020") and same_birth_place("20020", "2B020")
    assert not same_birth_place("2A020", "2A021")
    corsican = person("p01", place="2A020")
    assert match_traits([corsican], query("JEAN-PIERRE", "20020")).code == "00"


def test_vitale_by_ouvrant_droit_uses_birth_date_and_rank():
    twin1 = person("c01", od="2750563220111", rank=1, born="2015-03-03")
    twin2 = person("c02", od="2750563220111", rank=2, born="2015-03-03")
    by_rank = VitaleQuery("2015-03-03", od_number="2750563220111", birth_rank=2)
    assert match_vitale([twin1, twin2], by_rank).identity is twin2
    no_rank = VitaleQuery("2015-03-03", od_number="2750563220111")
    assert match_vitale([twin1, twin2], no_rank).code == "02"
    wrong_date = VitaleQuery("2015-03-04", od_number="2750563220111", birth_rank=1)
    assert match_vitale([twin1, twin2], wrong_date).code == "01"


def test_vitale_by_own_matricule_checks_birth_date():
    p = person("p01")
    assert match_vitale([p], VitaleQuery("1980-05-17", individual_number=p.active.number)).code == "00"
    assert match_vitale([p], VitaleQuery("1980-05-18", individual_number=p.active.number)).code == "01"
