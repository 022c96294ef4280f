"""The PostgreSQL tables: those of :mod:`simulator.store.sqlite` in PostgreSQL's dialect
(the same columns, so that the contract suite compares like with like)."""
from __future__ import annotations

# Key of the advisory lock taken while creating the schema (any constant of our own).
SCHEMA_LOCK = 0x51D_0017

SCHEMA = r"""
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
-- simulator.journal_query.outcome_has, in SQL: the outcome is the word, starts with it
-- as whole words, or has it as one of its words (separators: blanks / , ( )).
CREATE OR REPLACE FUNCTION outcome_has(outcome TEXT, wanted TEXT) RETURNS BOOLEAN
LANGUAGE sql IMMUTABLE AS $$
    SELECT outcome IS NOT NULL AND (outcome = wanted
        OR left(outcome, length(wanted) + 1) = wanted || ' '
        OR wanted = ANY (regexp_split_to_array(outcome, '[\s/,()]+')))
$$;
"""
