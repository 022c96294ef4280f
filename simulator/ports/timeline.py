"""What the regulatory timeline remembers (:mod:`simulator.services.dmp.timeline`,
the reports of :mod:`simulator.timeline_reports`)."""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Protocol


class TimelineRecords(Protocol):
    """API usage, grace registrations, INS provenance and feeding counts."""

    def before_reading(self, flush: Callable[[], None]) -> None:
        """Call ``flush`` before usage and feeds are read (a per-worker batch of counts)."""

    def record_counts(self, usage: list[tuple[datetime, str, str, str, str, str]],
                      feeds: list[tuple[datetime, str, str, str, int]]) -> None:
        """Count calls (as :meth:`record_usage`) and fed documents (as :meth:`count_feed`)."""

    def record_usage(self, entries: list[tuple[datetime, str, str, str, str, str]]) -> None:
        """Count calls: (at, software, structure, api, identifier, operation) each."""

    def usage(self) -> list[dict]:
        """Every usage row."""

    def register_grace(self, kind: str, name: str, api: str, source: str,
                       at: datetime) -> None:
        """Register software or a structure for the grace of ``api`` (kept if present)."""

    def is_registered(self, api: str, software: str, structure: str) -> bool:
        """Whether the software or the structure has the grace of ``api``."""

    def registrations(self) -> list[dict]:
        """Every grace registration."""

    def record_provenance(self, entries: list[tuple[str, str, str, datetime]]) -> None:
        """(structure, INS, insi | td00, at): who handed the INS to whom."""

    def provenance(self, structure: str, ins: str) -> set[str]:
        """The sources through which ``structure`` obtained ``ins``."""

    def count_feed(self, at: datetime, structure: str, software: str, kind: str,
                   documents: int) -> None:
        """Add fed documents to the month's count for the structure."""

    def feeds(self) -> list[dict]:
        """Documents fed, per month, structure, software and kind."""

    def clear(self) -> None:
        """Forget everything (``POST /_admin/reset``)."""
