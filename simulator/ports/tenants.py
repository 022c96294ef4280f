"""The list of tenants (docs/tenants.md) as the tenant manager uses it, whichever store
holds it: the files of the data directory or the PostgreSQL database."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


class TenantLimit(RuntimeError):
    """Creating one more tenant would exceed ``SIM_MAX_TENANTS``."""


@dataclass(frozen=True)
class TenantRecord:
    """One tenant: its name, the id of its creation, when (real UTC time), its data
    (files in ``data_dir``; on PostgreSQL, the database ``schema``)."""

    name: str
    id: str
    created: str
    data_dir: Path
    schema: str | None = None

    def view(self) -> dict:
        """The tenant as the control plane shows it."""
        return {"name": self.name, "id": self.id, "created": self.created,
                "prefix": f"/t/{self.name}"}


class TenantList(Protocol):
    """The list of tenants every process shares: the files of
    :class:`simulator.tenants.directory.TenantDirectory`, or the PostgreSQL table of
    :class:`simulator.store.pg_tenants.PgTenantDirectory`."""

    limit: int

    def get(self, name: str) -> TenantRecord | None: ...

    def records(self) -> list[TenantRecord]: ...

    def reserve(self, name: str) -> TenantRecord: ...

    def publish(self, record: TenantRecord) -> tuple[TenantRecord, bool]: ...

    def delete(self, name: str) -> bool: ...

    def discard_stale(self, record: TenantRecord) -> None: ...

    def is_current(self, record: TenantRecord) -> bool: ...

    def stored_metrics(self, record: TenantRecord) -> list: ...
