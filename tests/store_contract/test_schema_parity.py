"""The two schemas name the same columns: each table of the SQLite DDL
(simulator/store/sqlite.py, dmp.py, xds_registry.py, timeline.py) exists on PostgreSQL
(simulator/store/pg_schema.py) with the same columns, so a column added on one side
only is caught here rather than by a query failing on the other backend. PostgreSQL may
have tables of its own (what only a shared database needs) and its ``seq`` ordering
column where SQLite orders by rowid."""
from __future__ import annotations

import sqlite3

from simulator.store.dmp import DMP_SCHEMA
from simulator.store.sqlite import DIAGNOSTICS_SCHEMA, SCHEMA
from simulator.store.timeline import TIMELINE_SCHEMA
from simulator.store.xds_registry import XDS_SCHEMA

# PostgreSQL's ordering column where SQLite has the implicit rowid.
PG_ORDERING = {"xds_associations": {"seq"}}


def sqlite_columns() -> dict[str, set[str]]:
    conn = sqlite3.connect(":memory:")
    for ddl in (SCHEMA, DIAGNOSTICS_SCHEMA, DMP_SCHEMA, XDS_SCHEMA, TIMELINE_SCHEMA):
        conn.executescript(ddl)
    tables = [row[0] for row in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {table: {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            for table in tables}


def test_every_sqlite_table_has_the_same_columns_on_postgresql(postgres_server):
    from postgres_server import drop_database, new_database

    from simulator.store.postgres import PostgresStore
    url = new_database(postgres_server)
    store = PostgresStore(url)
    try:
        pg: dict[str, set[str]] = {}
        for table, column in store.db.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema()"):
            pg.setdefault(table, set()).add(column)
    finally:
        store.close()
        drop_database(postgres_server, url)
    expected = sqlite_columns()
    assert expected, "no SQLite table read"
    assert {table: pg.get(table, set()) - PG_ORDERING.get(table, set())
            for table in expected} == expected
