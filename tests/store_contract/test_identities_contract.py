"""Identities through :class:`simulator.ports.identities.IdentityStore`: lookups,
runtime changes, and their replay over a new initial set (issue 17 item 1)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from simulator.identities.cnda import cnda_identities
from simulator.identities.insc import insc_of
from simulator.identities.model import Identity, Matricule


@pytest.fixture(scope="module")
def initial() -> list[Identity]:
    return cnda_identities()


def newcomer(key: str = "vendor-1", number: str = "1850599000111") -> Identity:
    return Identity(key=key, birth_name="VENDEUR", first_names=("JEANNE", "MARIE"), sex="F",
                    birth_date="1985-05-01", birth_place="99100",
                    active=Matricule(number, "42"), source="vendor")


def test_lookups_find_what_was_stored(store, initial):
    store.replace_identities(initial)
    assert store.count_identities() == len(initial)
    person = initial[0]
    assert store.get_identity(person.key) == person
    assert person in store.identities_by_traits(person.birth_name, person.sex, person.birth_date)
    assert [i.key for i in store.identities_by_matricule(person.active.number, ("active",))] \
        == [person.key]
    assert store.identities_by_matricule(person.active.number, ("history",)) == [
        i for i in initial if person.active.number in [m.number for m in i.history]]
    assert store.identity_by_insc(insc_of(person)).key == person.key
    assert store.get_identity("nobody") is None
    assert store.identities_by_traits("NOBODY", "M", "1900-01-01") == []


def test_search_pages_by_key_and_counts_all(store, initial):
    store.replace_identities(initial)
    total, page = store.search_identities("", limit=3, offset=1)
    assert total == len(initial)
    assert [i.key for i in page] == sorted(i.key for i in initial)[1:4]
    person = initial[0]
    total, found = store.search_identities(person.birth_name.lower())
    assert person in found and total == len(found)
    total, found = store.search_identities(person.active.number[:9])
    assert person in found
    assert store.search_identities("", source="no-such-source") == (0, [])


def test_runtime_changes_are_kept_and_refused_when_they_cannot_apply(store, initial):
    store.replace_identities(initial)
    added = newcomer()
    store.add_identity(added)
    with pytest.raises(KeyError):
        store.add_identity(added)
    assert store.get_identity(added.key) == added
    renamed = replace(added, birth_name="AUTRE")
    assert store.update_identity(renamed) is True
    assert store.identities_by_traits("VENDEUR", "F", "1985-05-01") == []
    assert store.identities_by_traits("AUTRE", "F", "1985-05-01") == [renamed]
    assert store.update_identity(newcomer("missing")) is False
    assert store.delete_identity(initial[1].key) is True
    assert store.delete_identity(initial[1].key) is False
    assert store.identities_by_matricule(initial[1].active.number, ("active",)) == []
    assert store.count_identities() == len(initial)


def test_replay_applies_the_changes_in_order_over_a_new_initial_set(store, initial):
    store.replace_identities(initial)
    store.add_identity(newcomer())
    store.update_identity(replace(newcomer(), birth_name="SECOND"))
    store.delete_identity(initial[2].key)
    store.replace_identities(initial[:5], keep_changes=True)
    assert store.get_identity("vendor-1").birth_name == "SECOND"
    assert store.get_identity(initial[2].key) is None
    assert store.count_identities() == 5  # 5 initial, one deleted, one added
    store.replace_identities(initial[:5], keep_changes=False)  # a reset forgets them
    assert store.get_identity("vendor-1") is None
    store.replace_identities(initial[:5], keep_changes=True)
    assert store.get_identity(initial[2].key) is not None


def test_another_worker_sees_the_same_identities(open_store, initial):
    first, second = open_store(), open_store()
    first.replace_identities(initial)
    first.add_identity(newcomer())
    assert second.get_identity("vendor-1") == newcomer()
    assert second.count_identities() == len(initial) + 1
