"""INSi calls counted for the timeline reports, and the INS each structure got from INSi.

INSi is the hot path (a few hundred µs per request, benchmarks/README.md): nothing here
writes to the store per request. Calls are queued in this process and written in
batches (:mod:`simulator.batching`); readers call :meth:`InsiUsage.flush` first.
"""
from __future__ import annotations

from datetime import datetime

from simulator.batching import ProcessBatcher
from simulator.services.insi.contexts import contexts_of, text_of
from simulator.services.insi.contract import LPS_NAME, LPS_VERSION, NS_CTXBAM, NS_CTXLPS
from simulator.services.insi.matching import SearchOutcome
from simulator.soap.parsing import SoapRequest

API_INSI = "insi"  # the api column of the timeline's usage table


def caller_of(request: SoapRequest) -> tuple[str, str]:
    """(software ``Nom-Version`` of ContexteLPS/LPS, structure ``Emetteur``), "" when
    absent; the Emetteur of ContexteBAM stands in when ContexteLPS has none."""
    contexts = contexts_of(request)
    name = _text(contexts.software_element(LPS_NAME[1]))
    version = _text(contexts.software_element(LPS_VERSION[1]))
    software = f"{name}-{version}" if name or version else ""
    structure = _text(contexts.lps_element(f"{{{NS_CTXLPS}}}Emetteur")) or \
        _text(contexts.bam_element(f"{{{NS_CTXBAM}}}Emetteur"))
    return software, structure


class InsiUsage:
    """Queues one usage row per answered search and, for CR 00, the INS provenance."""

    def __init__(self, timeline, flush_interval: float = 0.2, batch: int = 64):
        self.timeline = timeline
        self._batcher = ProcessBatcher(self._write, flush_interval, batch)

    def record(self, request: SoapRequest, operation: str, outcome: SearchOutcome,
               at: datetime) -> None:
        """Queue the call (identifier INS) and, when an identity was found, the INS the
        calling structure now holds from INSi."""
        software, structure = caller_of(request)
        ins = outcome.identity.active.number if outcome.identity is not None else None
        self._batcher.add(((at, software, structure, API_INSI, "INS", operation),
                           (structure, ins, "insi", at) if ins else None))

    def flush(self, timeout: float = 10.0, pause=None) -> bool:
        """Write this process's queued calls now and, under ``insi-dmp-sim serve``, wait
        until the other workers have written theirs (False after ``timeout`` seconds).
        ``pause`` waits without holding the worker (the clock's sleep)."""
        if pause is None:
            self._batcher.flush_for_reading()  # on a full disk, reports read what is stored
            return True
        return self._batcher.flush_everywhere(timeout, pause)

    def share_across_processes(self, workers: int) -> None:
        """Let :meth:`flush` reach the other forked workers (call before the fork)."""
        self._batcher.share_across_processes(workers)

    def discard(self, timeout: float = 10.0, pause=None) -> None:
        """Before a reset: drop this process's queued calls; under ``insi-dmp-sim
        serve`` (with ``pause``), write every worker's instead, so that none reaches the
        store after the caller has cleared it."""
        if pause is None or self._batcher.barrier is None \
                or not self._batcher.flush_everywhere(timeout, pause):
            self._batcher.discard()

    def close(self) -> None:
        """Stop this process's background writer, dropping what it still queues."""
        self._batcher.close()

    def _write(self, items: list) -> None:
        self.timeline.record_usage([usage for usage, _ in items])
        provenance: dict = {}
        for _, given in items:
            if given is not None:
                provenance.setdefault(given[:3], given)  # the first instant is kept
        if provenance:
            self.timeline.record_provenance(list(provenance.values()))


def _text(element) -> str:
    value = text_of(element)
    return value.strip() if value else ""
