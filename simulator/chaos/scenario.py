"""A scenario: an ordered list of rules; the first rule that fires decides.

A rule *matches* a request on its criteria (service, version, operation, calling
software, patient, time windows); it *fires* when it matches, its probability draw
succeeds and it has fired fewer than ``times`` times. Its effect is an optional
latency before the first byte and an optional action replacing or altering the answer.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RequestFacts:
    """What the chaos engine may match on, extracted from one request."""

    service: str
    operation: str | None = None
    version: str | None = None
    idam: str | None = None
    lps_name: str | None = None
    ins: str | None = None  # 13-character matricule, when the request carries one
    birth_name: str | None = None
    structure: str | None = None  # the calling structure (journal queries)
    professional: str | None = None  # the user, VIHF NameID (journal queries)


@dataclass(frozen=True)
class Match:
    """Criteria; a None criterion matches anything, a set matches any of its values."""

    services: frozenset | None = None
    versions: frozenset | None = None
    operations: frozenset | None = None
    idams: frozenset | None = None
    lps_names: frozenset | None = None
    ins: frozenset | None = None
    birth_names: frozenset | None = None
    windows: tuple = ()  # any of them; empty = always

    def matches(self, facts: RequestFacts, now: datetime) -> bool:
        """Whether the request and the simulated instant meet every criterion."""
        pairs = ((self.services, facts.service), (self.versions, facts.version),
                 (self.operations, facts.operation), (self.idams, facts.idam),
                 (self.lps_names, facts.lps_name), (self.ins, facts.ins),
                 (self.birth_names, facts.birth_name))
        if any(allowed is not None and value not in allowed for allowed, value in pairs):
            return False
        return not self.windows or any(w.contains(now) for w in self.windows)


ACTION_KINDS = ("fault", "http_status", "reset", "empty", "truncate", "garble",
                "dribble", "hang")


@dataclass(frozen=True)
class Action:
    """What replaces or alters the answer; ``kind`` None = the normal answer."""

    kind: str | None = None
    fault: str | None = None  # catalogue name, for kind "fault"
    status: int | None = None  # for kind "http_status"
    seconds: float | None = None  # dribble duration, or how long to hang
    fraction: float = 0.5  # share of the body sent, for kind "truncate"

    def describe(self) -> str:
        """Short label for the journal and metrics."""
        if self.kind == "fault":
            return f"fault {self.fault}"
        if self.kind == "http_status":
            return f"http {self.status}"
        if self.kind in ("dribble", "hang"):
            return f"{self.kind} {self.seconds:g}s"
        return self.kind or "none"


@dataclass(frozen=True)
class Rule:
    """One rule of a scenario."""

    index: int  # 1-based, as in error messages
    name: str
    match: Match = field(default_factory=Match)
    probability: float = 1.0
    times: int | None = None
    latency: object | None = None  # a chaos.latency.Latency
    action: Action = field(default_factory=Action)


@dataclass(frozen=True)
class Scenario:
    """A named, seeded list of rules, with the YAML it came from."""

    name: str
    description: str
    seed: int
    timezone: str
    rules: tuple[Rule, ...]
    source: str = ""
