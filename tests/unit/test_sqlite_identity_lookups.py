"""The matricule lookups each SQLite store keeps (simulator/store/identity_cache.py):
an identity added, changed or deleted through any store of the data directory, in this
process or another, is seen by the next lookup of every other, whatever the state
cache's time bound; what is kept answers without reading the database."""
from __future__ import annotations

import multiprocessing
from dataclasses import replace

from simulator.identities.model import Identity, Matricule
from simulator.store.sqlite import open_store

HOUR = 3600.0  # a bound no test waits for: what is seen comes from the token
NUMBER = "1850599000111"
ROLES = ("active", "history")


def person(number: str = NUMBER, birth_name: str = "VENDEUR") -> Identity:
    return Identity(key="vendor-1", birth_name=birth_name, first_names=("JEANNE",), sex="F",
                    birth_date="1985-05-01", birth_place="99100",
                    active=Matricule(number, "42"), source="vendor")


def names(store, number: str = NUMBER) -> list[str]:
    return [i.birth_name for i in store.identities_by_matricule(number, ROLES)]


def test_a_change_through_another_store_is_seen_by_the_next_lookup(tmp_path):
    writer, reader = open_store(tmp_path, HOUR), open_store(tmp_path, HOUR)
    assert names(reader) == [] and names(reader) == []  # the empty answer is kept too
    writer.add_identity(person())
    assert names(reader) == ["VENDEUR"]
    writer.update_identity(person(birth_name="AUTRE"))
    assert names(reader) == ["AUTRE"]
    writer.update_identity(person(number="1850599000222"))
    assert names(reader) == [] and names(reader, "1850599000222") == ["VENDEUR"]
    writer.delete_identity("vendor-1")
    assert names(reader, "1850599000222") == []
    writer.replace_identities([person()])
    assert names(reader) == ["VENDEUR"]


def test_a_kept_answer_is_not_read_again_and_cannot_be_changed_by_its_caller(tmp_path):
    store = open_store(tmp_path, HOUR)
    store.add_identity(person())
    found = store.identities_by_matricule(NUMBER, ROLES)
    found.clear()
    # Deleted behind the store's back (no token change): the kept answer stays.
    store.data.execute("DELETE FROM matricules")
    assert names(store) == ["VENDEUR"]
    assert names(open_store(tmp_path, HOUR)) == []  # a store of its own reads the database


def test_no_answer_is_kept_with_a_zero_bound(tmp_path):
    store = open_store(tmp_path, 0.0)
    store.add_identity(person())
    assert names(store) == ["VENDEUR"]
    store.data.execute("DELETE FROM matricules")
    assert names(store) == []


def _add(data_dir) -> None:
    open_store(data_dir, HOUR).add_identity(replace(person(), birth_name="AILLEURS"))


def test_a_change_made_by_another_process_is_seen_by_the_next_lookup(tmp_path):
    store = open_store(tmp_path, HOUR)
    assert names(store) == []  # kept
    process = multiprocessing.get_context("spawn").Process(target=_add, args=(tmp_path,))
    process.start()
    process.join(60)
    assert process.exitcode == 0
    assert names(store) == ["AILLEURS"]
