"""Errors every store backend raises in the same way, so that the services can name
them without importing a backend."""
from __future__ import annotations


class StorageFull(OSError):
    """The disk (or the database's size limit) is full: nothing of the write was kept.
    Raised instead of the driver's own error (SQLite's ``database or disk is full``,
    PostgreSQL's ``53100 disk_full``) so that the services can say so in their fault,
    and the bookkeeping writes (journal, metrics, usage) can wait for space without
    failing the call they record (issue 14)."""
