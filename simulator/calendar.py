"""The regulatory timeline: dated, named rules evaluated on the simulated clock.

Each rule cites where its date comes from. Settings can move the dates or force a
format generation; everything that depends on "which period are we in" asks here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from simulator.settings import Settings


@dataclass(frozen=True)
class DatedRule:
    """A rule in force from ``starts`` (inclusive) until ``ends`` (exclusive)."""

    name: str
    description: str
    source: str
    starts: date | None = None
    ends: date | None = None

    def in_force(self, day: date) -> bool:
        """Whether the rule applies on ``day``."""
        return (self.starts is None or day >= self.starts) and \
               (self.ends is None or day < self.ends)

    def as_dict(self) -> dict:
        """JSON-ready form."""
        return {"name": self.name, "description": self.description, "source": self.source,
                "starts": self.starts and self.starts.isoformat(),
                "ends": self.ends and self.ends.isoformat()}


class RegulatoryCalendar:
    """All dated rules of the simulated platform."""

    def __init__(self, settings: Settings):
        self.settings = settings
        response_switch = settings.insi_response_format_switch
        fault_switch = settings.insi_fault_format_switch
        self.rules = (
            DatedRule("insi-response-format-legacy-2022",
                      "INSi RESULTAT prefixed ns2:, TIQ with Prenom, Corsica birth place 20xxx",
                      "observed: qualification captures until 2022-10-24 (domain brief §6)",
                      ends=response_switch),
            DatedRule("insi-response-format-current",
                      "INSi RESULTAT in the default namespace, TIQ without Prenom, 2A/2B kept",
                      "observed: qualification captures from 2022-10-26 (domain brief §6)",
                      starts=response_switch),
            DatedRule("insi-fault-format-legacy",
                      "INSi faults with S: prefixes, xml:lang en, severite fatal",
                      "observed: captures 2021-12 to 2024-06 (domain brief §7.1)",
                      ends=fault_switch),
            DatedRule("insi-fault-format-current",
                      "INSi faults with soap: prefixes, xml:lang fr, severite fatale",
                      "observed: captures 2023-10 (desir_1020) and 2026-05 (desir_550); "
                      "the switch date is inferred (domain brief §7.1)",
                      starts=fault_switch),
        )

    def rule(self, name: str) -> DatedRule:
        """The rule called ``name``."""
        return next(r for r in self.rules if r.name == name)

    def insi_response_format(self, day: date) -> str:
        """'legacy-2022' or 'current', forced by settings or chosen by date."""
        forced = self.settings.insi_response_format
        if forced != "auto":
            return forced
        return "legacy-2022" if self.rule("insi-response-format-legacy-2022").in_force(day) \
            else "current"

    def insi_fault_format(self, day: date) -> str:
        """'legacy' or 'current', forced by settings or chosen by date."""
        forced = self.settings.insi_fault_format
        if forced != "auto":
            return forced
        return "legacy" if self.rule("insi-fault-format-legacy").in_force(day) else "current"

    def as_list(self, day: date) -> list[dict]:
        """Every rule, with whether it is in force on ``day``."""
        return [{**r.as_dict(), "in_force": r.in_force(day)} for r in self.rules]
