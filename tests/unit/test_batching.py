"""The flusher of a per-process batch (simulator/batching.py) ends with its batcher:
closed, or let go without being closed (an app a test built and dropped)."""
from __future__ import annotations

import gc
import time

from simulator.batching import ProcessBatcher

HANG_GUARD = 60  # seconds a flusher may take to notice, before the test calls it stuck


def started(written: list) -> ProcessBatcher:
    """A batcher whose flusher runs (an item was queued), writing into ``written``."""
    batcher = ProcessBatcher(written.extend, interval=0.01, batch=1000)
    batcher.add("first")
    return batcher


def test_the_flusher_writes_queued_items_on_its_own():
    written: list = []
    batcher = started(written)
    flusher = batcher._buffer.flusher
    batcher.add("second")
    deadline = time.monotonic() + HANG_GUARD
    while len(written) < 2 and time.monotonic() < deadline:
        flusher.join(0.01)
    assert written == ["first", "second"]
    batcher.close()
    flusher.join(HANG_GUARD)
    assert not flusher.is_alive()


def test_a_batcher_let_go_without_close_ends_its_flusher():
    written: list = []
    batcher = started(written)
    flusher = batcher._buffer.flusher
    del batcher
    gc.collect()
    flusher.join(HANG_GUARD)
    assert not flusher.is_alive()  # before: it kept the batcher, and itself, alive
