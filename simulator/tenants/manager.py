"""The tenants as one worker process sees them: opened lazily, checked on every request.

Each process keeps the tenants it has served open (their store connections, clock,
journal, services). The list itself is shared through the file system
(:mod:`simulator.tenants.directory`) or the PostgreSQL database
(:mod:`simulator.store.pg_tenants`), so a tenant created or deleted by one worker is
seen by every other at its next request for that tenant: a cached tenant whose data
directory is gone is closed and forgotten, never served again.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable

from simulator.ports.tenants import TenantLimit, TenantList, TenantRecord
from simulator.tenants.names import check_name

LOG = logging.getLogger(__name__)

__all__ = ["Tenants", "TenantLimit", "TenantMissing"]


class TenantMissing(LookupError):
    """No such tenant, and it is not to be created on first use."""


class Tenants:
    """Every tenant of one simulator (the default one excepted).

    ``open_app(data_dir, initialise)`` builds a tenant's WSGI app on its data directory;
    with ``initialise`` it also loads the initial identities, the configured clock and
    scenario (done once, by the process that creates the tenant, before other processes
    can see it).
    """

    def __init__(self, directory: TenantList,
                 open_app: Callable[[TenantRecord, bool], object], auto_create: bool,
                 sweep_every: float = 1.0):
        self.directory = directory
        self.open_app = open_app
        self.auto_create = auto_create
        self.sweep_every = sweep_every  # seconds between two looks for deleted tenants
        self._open: dict[str, tuple[TenantRecord, object]] = {}
        self._lock: tuple[int, threading.RLock] | None = None
        self._swept = 0.0

    @property
    def limit(self) -> int:
        """How many tenants may exist at once (``SIM_MAX_TENANTS``)."""
        return self.directory.limit

    def app(self, name: str, create: bool | None = None):
        """The WSGI app of tenant ``name`` (a checked name), created when absent if
        ``create`` (default: ``SIM_TENANT_AUTO_CREATE``). Raises :class:`TenantMissing`,
        :class:`TenantLimit`."""
        if time.monotonic() - self._swept >= self.sweep_every:
            self._sweep()
        entry = self._open.get(name)
        if entry is not None and self.directory.is_current(entry[0]):
            return entry[1]
        with self._process_lock():
            return self._resolve(name, self.auto_create if create is None else create)[1]

    def create(self, name: str) -> tuple[TenantRecord, bool]:
        """(tenant ``name``, whether this call created it). Raises
        ``TenantNameError``, :class:`TenantLimit`."""
        check_name(name)
        with self._process_lock():
            record, _, created = self._resolve(name, True, report=True)
            return record, created

    def records(self) -> list[TenantRecord]:
        """Every tenant, by name."""
        return self.directory.records()

    def get(self, name: str) -> TenantRecord | None:
        """Tenant ``name`` (a checked name), or None."""
        return self.directory.get(name)

    def delete(self, name: str) -> bool:
        """Delete tenant ``name`` and its data; whether it existed. Other processes
        close their copy at their next request for it."""
        check_name(name)
        with self._process_lock():
            existed = self.directory.delete(name)
            self._forget(name)
            return existed

    def opened(self) -> dict[str, object]:
        """name -> WSGI app of the current tenants this process has open."""
        return {name: app for name, (record, app) in list(self._open.items())
                if self.directory.is_current(record)}

    def stored_metrics(self, record: TenantRecord) -> list:
        """The stored metrics of a tenant this process has not opened."""
        return self.directory.stored_metrics(record)

    def close(self) -> None:
        """Close every tenant this process has open."""
        for name in list(self._open):
            self._forget(name)

    # -- internals -------------------------------------------------------------------
    def _resolve(self, name: str, create: bool, report: bool = False):
        entry = self._open.get(name)
        if entry is not None:
            if self.directory.is_current(entry[0]):
                return entry[0], entry[1], False
            self._forget(name)  # deleted (maybe created again) by another process
        for _ in range(3):
            record = self.directory.get(name)
            if record is None:
                if not create:
                    raise TenantMissing(f"no tenant {name!r} (create it with POST "
                                        "/_admin/tenants)")
                record, app, created = self._create(name)
                break
            app = self.open_app(record, False)
            if self.directory.get(name) == record:
                created = False
                break
            # Deleted while it was being opened: opening may have made its directory
            # again (the store creates its directory); remove it, look again.
            _close(app)
            self.directory.discard_stale(record)
        else:
            raise TenantMissing(f"tenant {name!r} keeps being deleted and created again")
        self._open[name] = (record, app)
        return record, app, created

    def _create(self, name: str):
        reserved = self.directory.reserve(name)
        app = self.open_app(reserved, True)
        try:
            record, created = self.directory.publish(reserved)
        except BaseException:
            _close(app)
            raise
        if not created:  # another process published it first: use theirs
            _close(app)
            app = self.open_app(record, False)
        else:
            LOG.info("tenant %s created (%s)", name, record.data_dir)
        return record, app, created

    def _sweep(self) -> None:
        """Close the tenants deleted by other processes, whatever their name: tenants
        made per test are never asked for again, and their connections and background
        writers would pile up."""
        self._swept = time.monotonic()
        stale = [name for name, (record, _) in list(self._open.items())
                 if not self.directory.is_current(record)]
        if stale:
            with self._process_lock():
                for name in stale:
                    entry = self._open.get(name)
                    if entry is not None and not self.directory.is_current(entry[0]):
                        self._forget(name)

    def _forget(self, name: str) -> None:
        entry = self._open.pop(name, None)
        if entry is not None:
            _close(entry[1])

    def _process_lock(self) -> threading.RLock:
        # Made in the process that uses it, after gevent patched threading (the app is
        # built in gunicorn's master): a lock from the master would block the worker.
        if self._lock is None or self._lock[0] != os.getpid():
            self._lock = (os.getpid(), threading.RLock())
        return self._lock[1]


def _close(app) -> None:
    try:
        app.simulator.close()
    except Exception:  # noqa: BLE001 - a tenant going away must not fail the request
        LOG.warning("closing a tenant failed", exc_info=True)
