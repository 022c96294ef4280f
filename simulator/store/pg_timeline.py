"""The regulatory timeline's records on PostgreSQL (:class:`simulator.ports.timeline.TimelineRecords`):
the tables and statements of :mod:`simulator.store.timeline` in PostgreSQL's dialect.
Written against the timeline interface of this commit (issue 17; to reconcile with the
perf-dmp rewrite of the SQLite side)."""
from __future__ import annotations

from datetime import datetime

from simulator.store.pg_pool import PgDatabase
from simulator.store.read_hooks import FlushBeforeReading


class PgTimelineStore(FlushBeforeReading):
    """Usage, grace registrations, INS provenance and feeding counts."""

    def __init__(self, db: PgDatabase):
        super().__init__()
        self.db = db

    def record_counts(self, usage: list[tuple[datetime, str, str, str, str, str]],
                      feeds: list[tuple[datetime, str, str, str, int]]) -> None:
        """Count calls (as :meth:`record_usage`) and fed documents (as :meth:`count_feed`)."""
        self.record_usage(usage)
        for feed in feeds:
            self.count_feed(*feed)

    def record_usage(self, entries: list[tuple[datetime, str, str, str, str, str]]) -> None:
        """Count calls: (at, software, structure, api, identifier, operation) each; the
        batch is summed per row first and written in one statement, in key order (so
        that two workers' batches lock rows in the same order)."""
        counted: dict[tuple, list] = {}
        for at, software, structure, api, identifier, operation in entries:
            key = (at.strftime("%Y-%m"), software, structure, api, identifier, operation)
            moment = at.isoformat()
            row = counted.setdefault(key, [0, moment, moment])
            row[0] += 1
            row[1], row[2] = min(row[1], moment), max(row[2], moment)
        if not counted:
            return
        rows = [(*key, *values) for key, values in sorted(counted.items())]
        self.db.execute(
            "INSERT INTO api_usage SELECT * FROM unnest(%s::text[], %s::text[], %s::text[],"
            " %s::text[], %s::text[], %s::text[], %s::int4[], %s::text[], %s::text[])"
            " ON CONFLICT (month, software, structure, api, identifier, operation)"
            " DO UPDATE SET calls = api_usage.calls + excluded.calls,"
            " last_at = greatest(api_usage.last_at, excluded.last_at)",
            [list(column) for column in zip(*rows)])

    def usage(self) -> list[dict]:
        """Every usage row."""
        self._flush_pending()
        return self.db.query("SELECT * FROM api_usage ORDER BY software, structure, month,"
                             " api, identifier, operation")

    def register_grace(self, kind: str, name: str, api: str, source: str,
                       at: datetime) -> None:
        """Register software or a structure for the grace of ``api`` (kept if present)."""
        self.db.execute("INSERT INTO grace_registrations VALUES (%s, %s, %s, %s, %s)"
                        " ON CONFLICT DO NOTHING", (kind, name, api, source, at.isoformat()))

    def is_registered(self, api: str, software: str, structure: str) -> bool:
        """Whether the software or the structure earned (or was given) the grace."""
        return bool(self.db.execute(
            "SELECT 1 FROM grace_registrations WHERE api = %s AND ((kind = 'software' AND"
            " name = %s) OR (kind = 'structure' AND name = %s)) LIMIT 1",
            (api, software, structure)))

    def registrations(self) -> list[dict]:
        """Every grace registration."""
        return self.db.query("SELECT * FROM grace_registrations ORDER BY kind, name, api")

    def record_provenance(self, entries: list[tuple[str, str, str, datetime]]) -> None:
        """(structure, 13-character INS, insi | td00, at): who handed the INS to whom."""
        with self.db.transaction() as cursor:
            for structure, ins, source, at in entries:
                cursor.execute("INSERT INTO ins_provenance VALUES (%s, %s, %s, %s)"
                               " ON CONFLICT DO NOTHING",
                               (structure, ins[:13], source, at.isoformat()))

    def provenance(self, structure: str, ins: str) -> set[str]:
        """The sources through which ``structure`` obtained ``ins``."""
        return {row[0] for row in self.db.execute(
            "SELECT source FROM ins_provenance WHERE structure = %s AND ins = %s",
            (structure, ins[:13]))}

    def count_feed(self, at: datetime, structure: str, software: str, kind: str,
                   documents: int) -> None:
        """Add fed documents to the month's count for the structure."""
        self.db.execute(
            "INSERT INTO feeds VALUES (%s, %s, %s, %s, %s) ON CONFLICT (month, structure,"
            " software, kind) DO UPDATE SET documents = feeds.documents + excluded.documents",
            (at.strftime("%Y-%m"), structure, software, kind, documents))

    def feeds(self) -> list[dict]:
        """Documents fed, per month, structure, software and kind."""
        self._flush_pending()
        return self.db.query("SELECT * FROM feeds ORDER BY structure, month, kind")

    def clear(self) -> None:
        """Forget everything (``POST /_admin/reset``)."""
        self.db.execute("TRUNCATE api_usage, grace_registrations, ins_provenance, feeds")
