"""The list of tenants, shared by every worker process through the file system.

Layout under ``<data-dir>/tenants/``::

    .lock                     flock(2): one creation or deletion at a time, any process
    <name>/tenant.json        {"name", "id", "created"}: the tenant exists (published)
    <name>/<id>/              its data directory (its own SQLite files)

A tenant's data lives in a directory named by a random id of its creation, so a
tenant deleted and created again is a new directory: a worker still holding the old
one sees it gone (:meth:`TenantDirectory.is_current`) and can never write the old
state into the new tenant. Deleting renames ``<name>`` away under the lock, then
removes it. A name directory without ``tenant.json`` is a creation under way.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from simulator.ports.tenants import TenantLimit, TenantRecord
from simulator.store.sqlite import SQLiteStore
from simulator.tenants.names import check_name

RECORD = "tenant.json"


class TenantDirectory:
    """Creates, finds, lists and deletes tenants under ``root``, for every process
    (a :class:`simulator.ports.tenants.TenantList`)."""

    def __init__(self, root: Path, limit: int):
        self.root = Path(root)
        self.limit = limit

    def get(self, name: str) -> TenantRecord | None:
        """The published tenant ``name`` (a checked name), or None."""
        try:
            raw = json.loads((self.root / name / RECORD).read_text())
        except (FileNotFoundError, NotADirectoryError, ValueError):
            return None
        return TenantRecord(name, raw["id"], raw["created"], self.root / name / raw["id"])

    def records(self) -> list[TenantRecord]:
        """Every published tenant, by name."""
        found = (self.get(name) for name in self._names())
        return [record for record in found if record is not None]

    def reserve(self, name: str) -> TenantRecord:
        """A new, empty, unpublished data directory for ``name``; raises
        :class:`TenantLimit` when ``limit`` tenants (created or being created) exist."""
        check_name(name)
        with self._locked():
            if not (self.root / name).is_dir() and len(self._names()) >= self.limit:
                raise TenantLimit(f"this simulator serves at most {self.limit} tenants "
                                  "(SIM_MAX_TENANTS); delete one (DELETE /_admin/tenants/"
                                  "<name>) or raise the limit")
            tenant_id = uuid.uuid4().hex[:12]
            data_dir = self.root / name / tenant_id
            data_dir.mkdir(parents=True)
        created = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return TenantRecord(name, tenant_id, created, data_dir)

    def publish(self, record: TenantRecord) -> tuple[TenantRecord, bool]:
        """Make a reserved (and initialised) tenant visible to every process. Returns
        (the tenant, True) or, when another process published ``name`` first, (theirs,
        False) after removing ``record``'s directory. Raises ``FileNotFoundError`` when
        the tenant was deleted meanwhile."""
        with self._locked():
            if not record.data_dir.is_dir():
                raise FileNotFoundError(f"tenant {record.name!r} was deleted while it was "
                                        "being created")
            winner = self.get(record.name)
            if winner is None:
                _write_atomically(self.root / record.name / RECORD, json.dumps(
                    {"name": record.name, "id": record.id, "created": record.created}))
                return record, True
        shutil.rmtree(record.data_dir, ignore_errors=True)
        return winner, False

    def delete(self, name: str) -> bool:
        """Remove tenant ``name`` and its data; whether it existed (published or being
        created)."""
        check_name(name)
        trash = self.root / f".deleted-{uuid.uuid4().hex}"
        with self._locked():
            try:
                (self.root / name).rename(trash)
            except FileNotFoundError:
                return False
        shutil.rmtree(trash, ignore_errors=True)
        return True

    def discard_stale(self, record: TenantRecord) -> None:
        """Remove ``record``'s data directory unless it is its tenant's current one (a
        process opening a tenant deleted meanwhile may have made it again), and the
        name's directory when nothing else is in it."""
        with self._locked():
            current = self.get(record.name)
            if current is not None and current.id == record.id:
                return
            shutil.rmtree(record.data_dir, ignore_errors=True)
            try:
                (self.root / record.name).rmdir()
            except OSError:  # not empty (the tenant exists again, or is being created)
                pass

    @staticmethod
    def is_current(record: TenantRecord) -> bool:
        """Whether ``record`` still is its tenant (not deleted, nor deleted and created
        again): one ``stat``, cheap enough for every request."""
        return record.data_dir.is_dir()

    @staticmethod
    def stored_metrics(record: TenantRecord) -> list:
        """The stored metrics of a tenant this process has not opened (its other
        workers write theirs as they come: docs/tenants.md). Never creates the
        directory: a tenant deleted meanwhile has no series, and stays deleted."""
        if not record.data_dir.is_dir():
            return []
        try:
            store = SQLiteStore(record.data_dir)  # unlike open_store, makes no directory
        except Exception:  # noqa: BLE001 - deleted meanwhile
            return []
        try:
            return store.read_metrics()
        finally:
            store.close()

    def _names(self) -> list[str]:
        try:
            return sorted(entry.name for entry in os.scandir(self.root)
                          if entry.is_dir() and not entry.name.startswith("."))
        except FileNotFoundError:
            return []

    @contextmanager
    def _locked(self):
        """The cross-process lock, held for a few file operations only (flock blocks
        the worker, greenlets included, for that long)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    temporary.write_text(text)
    temporary.rename(path)
