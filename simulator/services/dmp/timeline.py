"""The regulatory timeline applied to DMP calls: usage counted for the reports, the
gate of API v1 and TD0.0 (open, grace for flows active in the month before the close,
closed), and the removal of TD1.5 (served, then refused with no grace), each refusal
naming the rule and its date.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime

from simulator.calendar import GRACE, OPEN, DatedRule
from simulator.services.dmp.faults import DmpFault
from simulator.services.dmp.vihf import Vihf
from simulator.soap.errors import ServiceFault

API_V1, API_V2, TD00, INSI = "dmp-v1", "dmp-v2", "td00", "insi"
TD15 = "td15"  # TD1.5a-d, patient web access (patientsSpecific), removed in 2024
_IDENTIFIERS = {"1.2.250.1.213.1.4.2": "INS-C", "1.2.250.1.213.1.4.9": "INS-NIA"}


def software_of(vihf: Vihf) -> str:
    """The calling software as the reports and the grace name it: ``LPS_Nom-LPS_Version``."""
    return f"{vihf.software_name}-{vihf.software_version}"


def identifier_kind(oid: str | None) -> str:
    """INS (NIR, test, demo), INS-NIA, INS-C, or none."""
    return "none" if oid is None else _IDENTIFIERS.get(oid, "INS")


@dataclass(frozen=True)
class LegacyAccess:
    """A v1/TD0.0 call let through: the rule in force and whether it is deprecated."""

    rule: DatedRule
    deprecated: bool


def check_legacy_access(context, vihf: Vihf, api: str, now: datetime) -> LegacyAccess:
    """Let a v1 or TD0.0 call through, or raise the API_CLOSED fault.

    While v1 is open, a call in the flow month (December 2022) registers its software
    and structure for the grace; in the grace only those (and the software named in
    ``SIM_DMP_GRACE_SOFTWARE`` or registered through ``/_admin/dmp/grace``) get in.
    """
    calendar, timeline = context.calendar, context.store.timeline
    day = now.date()
    rule = calendar.legacy_rule(day, "v1" if api == API_V1 else "td00")
    stage = calendar.legacy_stage(day)
    software, structure = software_of(vihf), vihf.structure_id
    first, last = calendar.flow_month()
    if stage == OPEN:
        if first <= day <= last:
            timeline.register_grace("software", software, api, "flow", now)
            timeline.register_grace("structure", structure, api, "flow", now)
        return LegacyAccess(rule, False)
    if stage == GRACE and (software in context.settings.dmp_grace_software
                           or timeline.is_registered(api, software, structure)):
        return LegacyAccess(rule, True)
    if stage == GRACE:
        detail = (f"{rule.name}: {rule.description}. Neither {software} nor structure "
                  f"{structure} made a {api} call from {first} to {last}, nor is registered "
                  f"for the grace ({rule.source})")
    else:
        detail = f"{rule.name}: {rule.description} ({rule.source})"
    raise ServiceFault(DmpFault.API_CLOSED, detail=detail, rule=rule.name)


def deprecation_headers(access: LegacyAccess) -> list[tuple[str, str]]:
    """HTTP headers of a call served in the grace: ``Deprecation`` (RFC 9745, the day
    the API was closed) and ``Sunset`` (RFC 8594, the day it is refused)."""
    closed = datetime.combine(access.rule.starts, datetime.min.time(), timezone.utc)
    sunset = datetime.combine(access.rule.ends, datetime.min.time(), timezone.utc)
    return [("Deprecation", f"@{int(closed.timestamp())}"),
            ("Sunset", format_datetime(sunset, usegmt=True))]


def check_td15(context, now: datetime) -> None:
    """Let a TD1.5a-d call through until their removal, then raise the API_CLOSED fault
    naming ``td15-removed``: the refusal TD0.0 gets once removed (docs/dmp.md)."""
    rule = context.calendar.td15_rule(now.date())
    if rule.name == "td15-removed":
        raise ServiceFault(DmpFault.API_CLOSED,
                           detail=f"{rule.name}: {rule.description} ({rule.source})",
                           rule=rule.name)
