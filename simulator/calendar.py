"""The regulatory timeline: dated, named rules evaluated on the simulated clock.

Each rule cites where its date comes from. Settings can move the dates or force a
format generation; everything that depends on "which period are we in" asks here.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

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
            *_dmp_rules(settings.dmp_v1_close_switch, settings.dmp_grace_end_switch),
            *_td15_rules(settings.dmp_td15_removal_switch),
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

    def legacy_stage(self, day: date) -> str:
        """Where DMP API v1 and TD0.0 stand on ``day``: ``open``, ``grace`` (only flows
        active in December 2022) or ``closed``."""
        if self.rule("dmp-v1-open").in_force(day):
            return OPEN
        return GRACE if self.rule("dmp-v1-grace").in_force(day) else CLOSED

    def legacy_rule(self, day: date, api: str) -> DatedRule:
        """The rule in force on ``day`` for ``api`` (``v1`` or ``td00``)."""
        stage = self.legacy_stage(day)
        if api == "v1":
            return self.rule({OPEN: "dmp-v1-open", GRACE: "dmp-v1-grace",
                              CLOSED: "dmp-v1-closed"}[stage])
        return self.rule({OPEN: "td00-available", GRACE: "td00-deprecated",
                          CLOSED: "td00-removed"}[stage])

    def flow_month(self) -> tuple[date, date]:
        """[first, last] day of the month whose v1/TD0.0 flows earn the grace: the month
        before API v1 closes (December 2022)."""
        last = self.settings.dmp_v1_close_switch - timedelta(days=1)
        return last.replace(day=1), last

    def td15_rule(self, day: date) -> DatedRule:
        """``td15-available`` or ``td15-removed``: the rule of TD1.5a-d on ``day``."""
        return self.rule("td15-available" if self.rule("td15-available").in_force(day)
                         else "td15-removed")

    def feeding_requires_qualified_ins(self, day: date) -> bool:
        """After API v1 and TD0.0 are switched off, a v2 feed needs a qualified INS."""
        return self.rule("dmp-feeding-requires-qualified-ins").in_force(day)

    def as_list(self, day: date) -> list[dict]:
        """Every rule, with whether it is in force on ``day``."""
        return [{**r.as_dict(), "in_force": r.in_force(day)} for r in self.rules]


OPEN, GRACE, CLOSED = "open", "grace", "closed"
_QA = "regional Q&A of 2022-12-08"


def _dmp_rules(v1_close: date, grace_end: date) -> tuple[DatedRule, ...]:
    """API v1, TD0.0 and the qualified-INS rule; ``v1_close`` is the first day of the
    grace, ``grace_end`` the first day everything v1/TD0.0 is refused."""
    last_open = (v1_close - timedelta(days=1)).isoformat()
    last_grace = (grace_end - timedelta(days=1)).isoformat()
    return (
        DatedRule("ins-mandatory", "Using the INS is mandatory", _QA, starts=date(2021, 1, 1)),
        DatedRule("dmp-v1-open", f"DMP API v1 (INS-C) open until {last_open}", _QA,
                  ends=v1_close),
        DatedRule("dmp-v1-grace", f"DMP API v1 closed on {last_open}: only software that "
                  f"generated v1 flows in the month before keeps them, until {last_grace}",
                  _QA, starts=v1_close, ends=grace_end),
        DatedRule("dmp-v1-closed", f"DMP API v1 refused for everyone since {grace_end}",
                  _QA, starts=grace_end),
        DatedRule("td00-available", f"TD0.0 identityCertification answers until {last_open}",
                  _QA, ends=v1_close),
        DatedRule("td00-deprecated", "TD0.0 obsolete: only software that used it in the "
                  f"month before {v1_close} keeps it, until {last_grace}", _QA,
                  starts=v1_close, ends=grace_end),
        DatedRule("td00-removed", f"TD0.0 removed since {grace_end}: use INSi and identity "
                  "qualification", _QA, starts=grace_end),
        DatedRule("dmp-feeding-requires-qualified-ins", "The DMP can no longer be fed "
                  f"without a qualified INS (since {grace_end})", _QA, starts=grace_end),
    )


# Issue 12, citing the official DMP WSDL package: its version 2.01.04 (2024-06-11) keeps
# only patientList in patientsSpecific. The package itself is not public (brief §2.3).
_WSDL_PACKAGE = "official DMP WSDL package 2.01.04 of 2024-06-11"


def _td15_rules(removal: date) -> tuple[DatedRule, ...]:
    """TD1.5a-d (patient web access on ``patientsSpecific``): served until the day before
    ``removal``, refused from it, with no grace (a removed operation, not a closed API)."""
    last = (removal - timedelta(days=1)).isoformat()
    return (
        DatedRule("td15-available", "TD1.5a-d createPatientAccess, patientOTPUpdate, "
                  f"updatePatientAccess answer until {last}", _WSDL_PACKAGE, ends=removal),
        DatedRule("td15-removed", f"TD1.5a-d removed since {removal}: patientsSpecific "
                  "keeps patientList only; patients manage their access in Mon espace santé",
                  _WSDL_PACKAGE, starts=removal),
    )
