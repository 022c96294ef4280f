import time
from collections import Counter, defaultdict

import pytest

from simulator.identities import places
from simulator.identities.model import OID_INS_NIA, OID_INS_NIR
from simulator.identities.nir import NAME_PATTERN, is_valid_nir
from simulator.identities.population import generate_population, normalize_name

SIZE = 3000


@pytest.fixture(scope="module")
def population():
    return generate_population(2024, SIZE)


def noted(population, prefix):
    return [p for p in population if p.notes.startswith(prefix)]


def test_same_seed_same_population():
    assert generate_population(7, 400) == generate_population(7, 400)


def test_different_seed_different_population():
    first, second = generate_population(7, 400), generate_population(8, 400)
    assert [p.active.ins for p in first] != [p.active.ins for p in second]
    assert [p.birth_name for p in first] != [p.birth_name for p in second]


@pytest.mark.parametrize("size", [0, 1, 9, 137, 1000])
def test_size_and_keys(size):
    population = generate_population(1, size)
    assert len(population) == size
    assert [p.key for p in population] == ["gen-%06d" % i for i in range(size)]
    assert all(p.source == "generated" for p in population)


def test_every_key_valid_and_numbers_unique(population):
    numbers = [p.active.number for p in population]
    numbers += [m.number for p in population for m in p.history]
    assert len(set(numbers)) == len(numbers)
    for p in population:
        for matricule in (p.active, *p.history):
            assert is_valid_nir(matricule.number, matricule.key), p


def test_nir_matches_traits(population):
    for p in population:
        number = p.active.number
        assert number[0] == {"M": "1", "F": "2"}[p.sex]
        assert number[1:3] == p.birth_date[2:4]
        assert number[5:10] == p.birth_place
        assert p.birth_place in places.LABELS
        if p.birth_date[5:7] != "00":
            assert number[3:5] == p.birth_date[5:7]


def test_birth_places_mix(population):
    counts = Counter(
        "abroad" if places.is_abroad(p.birth_place) else
        "corsica" if places.is_corsica(p.birth_place) else
        "overseas" if places.is_overseas(p.birth_place) else "mainland"
        for p in population)
    assert counts["mainland"] > SIZE * 0.7
    assert 0 < counts["corsica"] < counts["overseas"] < counts["abroad"] < counts["mainland"]
    assert not {p.birth_place for p in population} & places.PLM_COMMUNES


def test_birth_dates_spread(population):
    years = [int(p.birth_date[:4]) for p in population]
    assert min(years) >= 1925 and max(years) <= 2025
    assert min(years) < 1935 and max(years) > 2015


def test_homonym_pairs_collide_on_traits(population):
    groups = defaultdict(list)
    for p in population:
        groups[(p.birth_name, p.first_names, p.sex, p.birth_date)].append(p)
    collisions = [g for g in groups.values() if len(g) > 1]
    homonyms = noted(population, "homonym of ")
    assert len(homonyms) == 2 * int(SIZE * 0.01)
    assert len(collisions) == len(homonyms) // 2
    by_key = {p.key: p for p in population}
    for first, second in collisions:
        assert first.notes == f"homonym of {second.key}"
        assert by_key[second.notes.removeprefix("homonym of ")] is first
        assert first.birth_place != second.birth_place


def test_twins_share_parent_and_birth_date(population):
    twins = noted(population, "twin of ")
    assert len(twins) == 2 * int(SIZE * 0.005)
    by_key = {p.key: p for p in population}
    by_number = {p.active.number: p for p in population}
    for twin in twins:
        other = by_key[twin.notes.removeprefix("twin of ")]
        assert other.notes == f"twin of {twin.key}"
        assert (twin.birth_date, twin.birth_name) == (other.birth_date, other.birth_name)
        assert (twin.od_number, twin.od_key) == (other.od_number, other.od_key)
        assert {twin.birth_rank, other.birth_rank} == {1, 2}
        assert twin.birth_date > "2010-01-01"
        parent = by_number[twin.od_number]
        assert parent.active.key == twin.od_key and parent.od_number is None
        assert parent.notes.startswith("parent of twins ") and twin.key in parent.notes
        assert 19 <= int(twin.birth_date[:4]) - int(parent.birth_date[:4]) <= 46


def test_minors_have_a_parent_adults_their_own(population):
    numbers = {p.active.number: p for p in population}
    for p in population:
        if p.birth_date > "2010-01-01":
            assert p.od_number in numbers and numbers[p.od_number].od_number is None
            assert numbers[p.od_number].active.key == p.od_key
            assert p.ouvrant_droit == p.od_number
        else:
            assert p.od_number is None and p.od_key is None
            assert p.ouvrant_droit == p.active.number


def test_nia_share(population):
    nia = [p for p in population if p.active.oid == OID_INS_NIA]
    assert len(nia) == int(SIZE * 0.02) == 60
    assert all(p.notes == "nia" and p.active.number[0] in "12" for p in nia)
    assert Counter(p.active.oid for p in population)[OID_INS_NIR] == SIZE - 60


def test_history(population):
    with_history = [p for p in population if p.history]
    assert len(with_history) == int(SIZE * 0.03)
    for p in with_history:
        (old,) = p.history
        assert p.notes == "history" and old.number != p.active.number
        assert old.start == p.birth_date and old.start <= old.end <= "2025-12-31"
    sex_changes = [p for p in with_history if p.history[0].number[1:] == p.active.number[1:]]
    assert 0 < len(sex_changes) < len(with_history)


def test_discrepancies(population):
    discrepant = [p for p in population if p.document_traits]
    assert len(discrepant) == int(SIZE * 0.05)
    kinds = Counter()
    for p in discrepant:
        assert p.notes == "discrepancy"
        for trait, value in p.document_traits.items():
            kinds[trait] += 1
            assert value != getattr(p, trait)
            if trait == "birth_date":
                assert value[:8] == p.birth_date[:8]
    assert set(kinds) == {"first_names", "birth_date"}


def test_lunar_dates(population):
    lunar = noted(population, "lunar-date")
    assert len(lunar) == int(SIZE * 0.005)
    for p in lunar:
        assert p.birth_date.endswith("-00") and places.is_abroad(p.birth_place)
        if p.birth_date[5:7] == "00":
            assert p.active.number[3:5] == "20"


def test_names_use_allowed_characters(population):
    first_names = Counter()
    for p in population:
        assert NAME_PATTERN.fullmatch(p.birth_name), p.birth_name
        assert 1 <= len(p.first_names) <= 3
        for name in p.first_names + tuple(p.document_traits.get("first_names", ())):
            assert NAME_PATTERN.fullmatch(name), name
        first_names[len(p.first_names)] += 1
    assert all(first_names[n] > 0 for n in (1, 2, 3))
    assert any("-" in p.first_first_name for p in population)


@pytest.mark.parametrize("raw,expected", [
    ("D’Æion", "D'AEION"), ("Cœur", "COEUR"), ("Héloïse", "HELOISE"),
    ("François", "FRANCOIS"), ("Le  Gall", "LE GALL"), ("Jean-Noël", "JEAN-NOEL"),
])
def test_normalize_name(raw, expected):
    assert normalize_name(raw) == expected


def test_fast_enough():
    start = time.perf_counter()
    generate_population(99, 5000)
    assert time.perf_counter() - start < 2.0
