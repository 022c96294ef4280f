"""The PostgreSQL tables: those of :mod:`simulator.store.sqlite`, :mod:`simulator.store.dmp`,
:mod:`simulator.store.xds_registry` and :mod:`simulator.store.timeline` in PostgreSQL's
dialect (the same columns, so that the contract suite compares like with like)."""
from __future__ import annotations

# Key of the advisory lock taken while creating the schema (any constant of our own).
SCHEMA_LOCK = 0x51D_0017

TABLES = r"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    offset_seconds DOUBLE PRECISION NOT NULL,
    frozen_at TEXT
);
CREATE TABLE IF NOT EXISTS identities (
    key TEXT PRIMARY KEY,
    birth_name TEXT NOT NULL,
    sex TEXT NOT NULL,
    birth_date TEXT NOT NULL,
    source TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS identities_traits ON identities (birth_name, sex, birth_date);
CREATE TABLE IF NOT EXISTS matricules (
    number TEXT NOT NULL,
    identity_key TEXT NOT NULL REFERENCES identities (key) ON DELETE CASCADE,
    role TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS matricules_number ON matricules (number, role);
CREATE INDEX IF NOT EXISTS matricules_identity ON matricules (identity_key);
CREATE TABLE IF NOT EXISTS identity_changes (
    seq BIGSERIAL PRIMARY KEY,
    key TEXT NOT NULL,
    payload TEXT
);
CREATE TABLE IF NOT EXISTS journal (
    id BIGSERIAL PRIMARY KEY,
    request_id TEXT NOT NULL,
    at TEXT NOT NULL,
    real_at TEXT NOT NULL,
    service TEXT NOT NULL,
    operation TEXT,
    http_method TEXT NOT NULL,
    path TEXT NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT,
    chaos TEXT,
    duration_ms DOUBLE PRECISION NOT NULL,
    client TEXT,
    software TEXT,
    structure TEXT,
    professional TEXT,
    patient TEXT,
    request_body TEXT,
    response_body TEXT
);
CREATE INDEX IF NOT EXISTS journal_request_id ON journal (request_id);
CREATE INDEX IF NOT EXISTS journal_real_at ON journal (real_at, id);
CREATE TABLE IF NOT EXISTS metrics (
    name TEXT NOT NULL,
    labels TEXT NOT NULL,
    value DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (name, labels)
);
CREATE TABLE IF NOT EXISTS chaos_counters (
    scenario_id TEXT NOT NULL,
    rule INTEGER NOT NULL,
    matched INTEGER NOT NULL,
    fired INTEGER NOT NULL,
    PRIMARY KEY (scenario_id, rule)
);
-- Replicas (simulator/replicas.py): added after the first release of this schema, so
-- the journal's column is added where missing rather than declared in its table.
ALTER TABLE journal ADD COLUMN IF NOT EXISTS replica TEXT;
CREATE TABLE IF NOT EXISTS replicas (
    replica TEXT PRIMARY KEY,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen TIMESTAMPTZ NOT NULL,
    details TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dmp_records (
    ins TEXT PRIMARY KEY,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dmp_authorisations (
    ins TEXT NOT NULL,
    professional_id TEXT NOT NULL,
    structure_id TEXT NOT NULL,
    last_action_at TEXT,
    payload TEXT NOT NULL,
    PRIMARY KEY (ins, professional_id)
);
CREATE INDEX IF NOT EXISTS dmp_authorisations_structure ON dmp_authorisations (structure_id);
CREATE INDEX IF NOT EXISTS dmp_authorisations_professional ON dmp_authorisations (professional_id);
CREATE TABLE IF NOT EXISTS xds_objects (
    entry_uuid TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    ins TEXT NOT NULL,
    unique_id TEXT NOT NULL,
    lid TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    author_id TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    query_time TEXT,
    class_code TEXT,
    payload TEXT NOT NULL,
    UNIQUE (lid, version)
);
-- The columns FindDocuments is counted on (issue 15; xds_registry.py says what they
-- hold), added to a database written before them (filled by pg_dmp.migrate_registry).
ALTER TABLE xds_objects ADD COLUMN IF NOT EXISTS patient_key TEXT;
ALTER TABLE xds_objects ADD COLUMN IF NOT EXISTS object_type TEXT;
ALTER TABLE xds_objects ADD COLUMN IF NOT EXISTS masked INTEGER;
ALTER TABLE xds_objects ADD COLUMN IF NOT EXISTS class_keys TEXT;
CREATE INDEX IF NOT EXISTS xds_objects_unique ON xds_objects (unique_id);
CREATE INDEX IF NOT EXISTS xds_objects_find ON xds_objects (ins, kind, status, query_time, class_code);
CREATE INDEX IF NOT EXISTS xds_objects_registered ON xds_objects (kind, registered_at);
-- A patient's documents in registration order: FindDocuments counts along it and stops
-- one past the result limit. Only short columns: a btree entry is bounded (~2.7 kB)
-- and class_keys is as long as the client's classCodes.
CREATE INDEX IF NOT EXISTS xds_objects_documents ON xds_objects (ins, kind, registered_at, entry_uuid);
-- Empty once migrated: each start finds the objects left to fill at no cost.
CREATE INDEX IF NOT EXISTS xds_objects_unfilled ON xds_objects (entry_uuid) WHERE class_keys IS NULL;
-- Each object as a LeafClass answer carries it (fragments.py), written with it.
CREATE TABLE IF NOT EXISTS xds_fragments (
    entry_uuid TEXT PRIMARY KEY REFERENCES xds_objects (entry_uuid) ON DELETE CASCADE,
    fragment BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS xds_associations (
    seq BIGSERIAL,
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS xds_associations_source ON xds_associations (source);
CREATE INDEX IF NOT EXISTS xds_associations_target ON xds_associations (target);
CREATE TABLE IF NOT EXISTS xds_documents (
    unique_id TEXT PRIMARY KEY,
    mime_type TEXT NOT NULL,
    content BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS api_usage (
    month TEXT NOT NULL,
    software TEXT NOT NULL,
    structure TEXT NOT NULL,
    api TEXT NOT NULL,
    identifier TEXT NOT NULL,
    operation TEXT NOT NULL,
    calls INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (month, software, structure, api, identifier, operation)
);
CREATE TABLE IF NOT EXISTS grace_registrations (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    api TEXT NOT NULL,
    source TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    PRIMARY KEY (kind, name, api)
);
CREATE TABLE IF NOT EXISTS ins_provenance (
    structure TEXT NOT NULL,
    ins TEXT NOT NULL,
    source TEXT NOT NULL,
    first_at TEXT NOT NULL,
    PRIMARY KEY (structure, ins, source)
);
CREATE TABLE IF NOT EXISTS feeds (
    month TEXT NOT NULL,
    structure TEXT NOT NULL,
    software TEXT NOT NULL,
    kind TEXT NOT NULL,
    documents INTEGER NOT NULL,
    PRIMARY KEY (month, structure, software, kind)
);
"""
FUNCTIONS = r"""
-- simulator.journal_query.outcome_has, in SQL: the outcome is the word, starts with it
-- as whole words, or has it as one of its words (separators: blanks / , ( )).
CREATE OR REPLACE FUNCTION outcome_has(outcome TEXT, wanted TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE AS $$
    SELECT outcome IS NOT NULL AND (outcome = wanted
        OR left(outcome, length(wanted) + 1) = wanted || ' '
        OR wanted = ANY (regexp_split_to_array(outcome, '[\s/,()]+')))
$$;
"""
# Every text column compares and sorts bytewise (collation "C"), as SQLite's do, whatever
# the database's default collation: keys, ISO instants and uuids order the same way.
SCHEMA = TABLES.replace(" TEXT", ' TEXT COLLATE "C"') + FUNCTIONS
