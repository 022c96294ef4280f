"""This simulator process's name among the replicas sharing a store, and its heartbeat.

Several ``insi-dmp-sim serve`` processes on one PostgreSQL database (``--database-url``)
are one simulator (docs/storage.md, "Replicas"). Each has an id (``SIM_REPLICA_ID``,
default ``<hostname>:<port>``) written in the journal entries and the ``/metrics``
series it answers, and each of its workers records in the store, every
``SIM_REPLICA_HEARTBEAT_SECONDS``, that the replica is alive, so that
``GET /_admin/replicas`` on any of them lists all (on SQLite: the one).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime, timezone

from simulator import __version__
from simulator.ports.replicas import ReplicaStore

LOG = logging.getLogger(__name__)
STALE_AFTER_BEATS = 3  # heartbeats missed before a replica is shown as stale
FORGET_AFTER = 24 * 3600.0  # seconds of silence after which a replica is no longer listed


def default_replica_id(port: int) -> str:
    """``<hostname>:<port>``; ``<hostname>:pid<pid>`` when the port is chosen by the
    system (0), which is not known when the app is built."""
    return f"{socket.gethostname()}:{port if port else f'pid{os.getpid()}'}"


class Replica:
    """This replica: its id, and the heartbeat its worker processes write."""

    def __init__(self, store: ReplicaStore, replica_id: str, interval: float,
                 workers: int = 1):
        self.store = store
        self.id = replica_id
        self.interval = interval
        self.details = {"version": __version__, "workers": workers, "pid": os.getpid(),
                        "started_at": datetime.now(timezone.utc).isoformat(),
                        "heartbeat_seconds": interval}
        self._beating_in: int | None = None  # pid of the process whose loop runs

    def beat(self) -> None:
        """Record now that this replica is alive."""
        self.store.beat_replica(self.id, self.details, FORGET_AFTER)

    def start(self) -> None:
        """Beat every ``interval`` seconds in this process, in the background (a
        greenlet under gunicorn's gevent worker, which patched ``threading``); once
        per process."""
        if self._beating_in == os.getpid():
            return
        self._beating_in = os.getpid()
        threading.Thread(target=self._loop, name="replica-heartbeat", daemon=True).start()

    def _loop(self) -> None:
        pid = os.getpid()
        while self._beating_in == pid:
            try:
                self.beat()
            except Exception as error:  # noqa: BLE001 - the database may be down a while
                LOG.warning("replica %s: heartbeat not recorded (%s)", self.id, error)
            time.sleep(self.interval)

    def stop(self) -> None:
        """End this process's heartbeat loop (at its next wake-up)."""
        self._beating_in = None

    def leave(self) -> None:
        """This replica stops cleanly: no longer listed (``serve``'s master, at exit)."""
        self.stop()
        try:
            self.store.forget_replica(self.id)
        except Exception as error:  # noqa: BLE001 - the database may be gone first
            LOG.warning("replica %s: not removed from the list (%s)", self.id, error)

    def others_alive(self) -> list[str]:
        """The other replicas alive on this store (a server starting now joins them)."""
        return [row["replica"] for row in self.view() if row["alive"] and not row["self"]]

    def view(self) -> list[dict]:
        """Every replica recorded, this one first beaten (it is alive: it answers),
        each with ``alive`` (a heartbeat within :data:`STALE_AFTER_BEATS` periods) and
        ``self`` (the replica answering)."""
        self.beat()
        return [{**row, "self": row["replica"] == self.id,
                 "alive": row["silent_seconds"] <= STALE_AFTER_BEATS * row["details"].get(
                     "heartbeat_seconds", self.interval)} for row in self.store.replicas()]
