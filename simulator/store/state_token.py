"""A change token every process that opens a SQLite data directory shares.

The clock and the active scenario are read by every request and change a few times per
test; each worker caches them (:class:`simulator.store.pg_state.StateCache`) and reloads
them when the token changed. On SQLite the token is the first bytes of a small file of
the data directory mapped in shared memory: a write by any process of the machine is
seen by the others' next read, without a system call, as SQLite's own ``-shm`` file
shares its WAL index (a WAL database is only shared on one machine, sqlite.org/wal.html).
"""
from __future__ import annotations

import mmap
import os
from pathlib import Path

TOKEN_FILE = "state-token"  # in the data directory
TOKEN_BYTES = 8


def shared_token(data_dir: Path) -> mmap.mmap:
    """The token's bytes of ``data_dir``, mapped shared (the file is made if needed)."""
    fd = os.open(Path(data_dir) / TOKEN_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size < TOKEN_BYTES:
            os.ftruncate(fd, TOKEN_BYTES)
        return mmap.mmap(fd, TOKEN_BYTES)  # MAP_SHARED
    finally:
        os.close(fd)
