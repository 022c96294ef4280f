"""What a journal read can ask for, as SQL conditions on the journal table.

The filters are those of ``GET /_admin/journal`` (README, "The journal"): exact
matches on the service, operation, calling software, structure, professional,
patient and replica; ``outcome`` by word (``fault``, ``siram_40``, ``CR 00``,
``DMPAccessDenied``); ``since`` a request id or a simulated or real date-time.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_WORDS = re.compile(r"[\s/,()]+")
EXACT_FILTERS = ("service", "operation", "software", "structure", "professional", "replica")


@dataclass(frozen=True)
class JournalQuery:
    """Which entries a read wants; None = any.

    ``since`` is a request id (entries answered after that one), or ``(column, text)``
    with column ``"at"`` (simulated time) or ``"real_at"`` (real time) and text an
    ISO-8601 date-time in UTC as the journal writes it (entries at or after it).
    ``patient`` is a 13-character matricule (an INS with its key is cut to 13).
    """

    service: str | None = None
    operation: str | None = None
    outcome: str | None = None
    software: str | None = None
    structure: str | None = None
    professional: str | None = None
    patient: str | None = None
    replica: str | None = None  # the simulator process that answered (replicas.py)
    since: str | tuple[str, str] | None = None
    limit: int = 100
    bodies: bool = True


def outcome_has(outcome: str | None, wanted: str) -> bool:
    """Whether a journal outcome is ``wanted``, starts with it as whole words, or has
    it as one of its words (``fault siram_40/insi_102`` has ``fault``, ``siram_40``
    and ``insi_102``)."""
    if outcome is None:
        return False
    if outcome == wanted or outcome.startswith(wanted + " "):
        return True
    return wanted in _WORDS.split(outcome)


def journal_conditions(query: JournalQuery) -> tuple[list[str], list]:
    """SQL conditions (joined with AND) and their parameters for ``query``; the
    ``outcome_has`` function must be registered on the connection."""
    where, params = [], []
    for name in EXACT_FILTERS:
        value = getattr(query, name)
        if value:
            where.append(f"{name} = ?")
            params.append(value)
    if query.patient:
        where.append("patient = ?")
        params.append(query.patient.strip().upper()[:13])
    if query.outcome:
        where.append("outcome_has(outcome, ?)")
        params.append(query.outcome)
    if isinstance(query.since, str):
        where.append("(real_at, id) > (SELECT real_at, id FROM journal WHERE request_id = ?"
                     " ORDER BY id DESC LIMIT 1)")
        params.append(query.since)
    elif query.since is not None:
        column, moment = query.since
        if column not in ("at", "real_at"):
            raise ValueError(f"since: unknown time column {column!r}")
        where.append(f"{column} >= ?")
        params.append(moment)
    return where, params
