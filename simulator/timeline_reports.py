"""The timeline's reports, as pure functions over the timeline store's rows.

- :func:`readiness`: per calling software (``LPS_Nom-LPS_Version``) and structure, the
  APIs and identifier types it used, its grace, whether it is on the regional list of
  components needing migration, and what the calendar refuses it on a given date.
- :func:`feeding`: documents fed per structure and month, qualified INS vs
  non-qualified INS vs INS-C; the share qualified is the SUN-ES indicator, which counts
  only documents sent with a qualified INS (regional Q&A of 2022-12-08, issue 5).

Rows are those of :class:`simulator.store.timeline.TimelineStore` (``usage()``,
``registrations()``, ``feeds()``); nothing here reads the store or the clock.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from simulator.calendar import GRACE, OPEN, RegulatoryCalendar
from simulator.services.dmp.timeline import API_V1, API_V2, INSI, TD00, TD15
from simulator.settings import Settings

APIS = (API_V1, API_V2, TD00, TD15, INSI)
LEGACY_APIS = {API_V1: "v1", TD00: "td00"}  # api -> the calendar's name for it
QUALIFIED, NON_QUALIFIED, INS_C = "qualified", "non-qualified", "ins-c"
FEED_KINDS = (QUALIFIED, NON_QUALIFIED, INS_C)

# Components (NAME-VERSION) the region listed as needing migration off API v1 / TD0.0.
# Only the examples quoted in issue 5 are known here; the full regional list was not
# available. A software matches when its name is the same (case-insensitive) and its
# version starts with the listed version, component by component ("1.17" matches
# "1.17" and "1.17.2", not "1.170").
REGIONAL_MIGRATION_LIST = (
    "DMPCONNECT-1",
    "HOPITAL MANAGER-1.17",
    "DXCARE-7.7.7",
    "NETSOINS DMP-1.2",
    "LIFEN DMP-1.0",
)
REGIONAL_LIST_SOURCE = ("regional Q&A of 2022-12-08, list of components needing "
                        "migration (five examples only, not the full list)")


def regional_list_entry(software: str,
                        entries: tuple[str, ...] = REGIONAL_MIGRATION_LIST) -> str | None:
    """The entry of the regional list that ``software`` (``NAME-VERSION``) falls
    under, or None."""
    wanted = software.strip().casefold()
    for entry in entries:
        name, _, version = entry.rpartition("-")
        prefix = f"{name.casefold()}-"
        if not wanted.startswith(prefix):
            continue
        given = wanted[len(prefix):]
        if given == version.casefold() or given.startswith(version.casefold() + "."):
            return entry
    return None


def grace_of(software: str, structure: str, api: str, registrations: list[dict],
             settings: Settings) -> list[dict]:
    """How (software, structure) holds the grace of ``api``: each registration of the
    software or the structure (source ``flow`` or ``admin``) and the settings' list
    (``SIM_DMP_GRACE_SOFTWARE``), as the v1/TD0.0 gate applies them."""
    found = [{"by": r["kind"], "name": r["name"], "source": r["source"],
              "registered_at": r["registered_at"]}
             for r in registrations if r["api"] == api and (
                 (r["kind"] == "software" and r["name"] == software)
                 or (r["kind"] == "structure" and r["name"] == structure))]
    if software in settings.dmp_grace_software:
        found.append({"by": "software", "name": software, "source": "settings",
                      "registered_at": None})
    return found


def readiness(usage_rows: list[dict], registrations: list[dict], feeds: list[dict],
              calendar: RegulatoryCalendar, settings: Settings, on: date) -> list[dict]:
    """One entry per (software, structure) seen calling or feeding: its APIs (calls,
    operations, identifier types, first and last month), identifier totals, grace per
    legacy API, regional-list entry, feeds per kind, findings, and ``breaks`` (what the
    calendar refuses on ``on``, each with its rule and date) and ``deprecated`` (what
    is still served on ``on`` with a deprecation signal)."""
    usage: dict = defaultdict(list)
    fed: dict = defaultdict(lambda: dict.fromkeys(FEED_KINDS, 0))
    for row in usage_rows:
        usage[(row["software"], row["structure"])].append(row)
    # The identity server (GAM) that calls INSi is often not the software that feeds.
    insi_structures = {row["structure"] for row in usage_rows if row["api"] == INSI}
    for row in feeds:
        counts = fed[(row["software"], row["structure"])]
        counts[row["kind"]] = counts.get(row["kind"], 0) + row["documents"]
    entries = []
    for software, structure in sorted(set(usage) | set(fed)):
        apis = _apis(usage.get((software, structure), []))
        feeds_of = dict(fed.get((software, structure)) or dict.fromkeys(FEED_KINDS, 0))
        grace = {api: grace_of(software, structure, api, registrations, settings)
                 for api in LEGACY_APIS}
        listed = regional_list_entry(software)
        identifiers: dict = defaultdict(int)
        for summary in apis.values():
            for kind, calls in summary["identifiers"].items():
                identifiers[kind] += calls
        breaks, deprecated = _refusals(apis, grace, feeds_of, calendar, on)
        entries.append({
            "software": software, "structure": structure, "apis": apis,
            "identifiers": dict(sorted(identifiers.items())), "grace": grace,
            "regional_list": listed, "feeds": feeds_of,
            "findings": _findings(apis, feeds_of, listed, structure in insi_structures),
            "breaks": breaks, "deprecated": deprecated})
    return entries


def _apis(rows: list[dict]) -> dict:
    """Per API: calls, first and last month, operations, identifier types."""
    apis: dict = {}
    for row in rows:
        summary = apis.setdefault(row["api"], {"calls": 0, "first_month": row["month"],
                                               "last_month": row["month"],
                                               "operations": set(), "identifiers": {}})
        summary["calls"] += row["calls"]
        summary["first_month"] = min(summary["first_month"], row["month"])
        summary["last_month"] = max(summary["last_month"], row["month"])
        summary["operations"].add(row["operation"])
        summary["identifiers"][row["identifier"]] = \
            summary["identifiers"].get(row["identifier"], 0) + row["calls"]
    order = {api: index for index, api in enumerate(APIS)}
    return {api: {**s, "operations": sorted(s["operations"]),
                  "identifiers": dict(sorted(s["identifiers"].items()))}
            for api, s in sorted(apis.items(), key=lambda item: (order.get(item[0], 99),
                                                                  item[0]))}


def _refusals(apis: dict, grace: dict, feeds: dict, calendar: RegulatoryCalendar,
              on: date) -> tuple[list[dict], list[dict]]:
    """(refused on ``on``, served on ``on`` with a deprecation signal)."""
    breaks, deprecated = [], []
    stage = calendar.legacy_stage(on)
    for api, calendar_name in LEGACY_APIS.items():
        if api not in apis or stage == OPEN:
            continue
        rule = calendar.legacy_rule(on, calendar_name)
        item = {"api": api, "usage": "calls", "operations": apis[api]["operations"],
                "count": apis[api]["calls"], "rule": rule.name,
                "since": rule.starts.isoformat(), "description": rule.description}
        (deprecated if stage == GRACE and grace[api] else breaks).append(item)
    td15 = calendar.td15_rule(on)
    if TD15 in apis and td15.name == "td15-removed":
        breaks.append({"api": TD15, "usage": "calls", "operations": apis[TD15]["operations"],
                       "count": apis[TD15]["calls"], "rule": td15.name,
                       "since": td15.starts.isoformat(), "description": td15.description})
    if calendar.feeding_requires_qualified_ins(on):
        rule = calendar.rule("dmp-feeding-requires-qualified-ins")
        for kind, api, label in ((NON_QUALIFIED, API_V2, "a non-qualified INS"),
                                 (INS_C, API_V1, "an INS-C")):
            if feeds.get(kind):
                breaks.append({"api": api, "usage": f"documents fed with {label}",
                               "operations": [], "count": feeds[kind], "rule": rule.name,
                               "since": rule.starts.isoformat(),
                               "description": rule.description})
    return breaks, deprecated


def _findings(apis: dict, feeds: dict, listed: str | None, structure_uses_insi: bool
              ) -> list[str]:
    """What needs migrating, in words."""
    findings = []
    if listed:
        findings.append(f"on the regional list of components needing migration ({listed})")
    if API_V1 in apis:
        findings.append("uses DMP API v1 (patients identified by INS-C)")
    if TD00 in apis:
        findings.append("obtains identities through TD0.0 (obsolete: the CNAM's identity "
                        "may differ from the INS; use INSi and identity qualification)")
    if TD15 in apis:
        findings.append("manages the patient's web access through TD1.5 (removed from the "
                        "DMP WSDL package 2.01.04 of 2024-06-11: patients manage their access "
                        "in Mon espace santé)")
    if any(kind == "INS-C" for s in apis.values() for kind in s["identifiers"]) \
            and API_V1 not in apis:
        findings.append("sends INS-C identifiers")
    if feeds.get(NON_QUALIFIED) or feeds.get(INS_C):
        findings.append("feeds documents without a qualified INS (not counted by SUN-ES)")
    if (API_V2 in apis or TD00 in apis or TD15 in apis) and not structure_uses_insi:
        findings.append("no INSi call seen from its structure: its INS are not obtained "
                        "from INSi")
    return findings


def feeding(feeds_rows: list[dict]) -> list[dict]:
    """Documents fed per structure and month (all software together): qualified,
    non-qualified, INS-C, total, and the share qualified (the SUN-ES indicator; None
    when nothing was fed). Raises ValueError on a kind it does not know."""
    months: dict = defaultdict(lambda: dict.fromkeys(FEED_KINDS, 0))
    for row in feeds_rows:
        if row["kind"] not in FEED_KINDS:
            raise ValueError(f"feed kind {row['kind']!r} is none of {', '.join(FEED_KINDS)}")
        months[(row["structure"], row["month"])][row["kind"]] += row["documents"]
    return [_feeding_row({"structure": structure, "month": month}, counts)
            for (structure, month), counts in sorted(months.items())]


def feeding_totals(feeding_rows: list[dict]) -> list[dict]:
    """The rows of :func:`feeding` summed per structure over every month."""
    totals: dict = defaultdict(lambda: dict.fromkeys(FEED_KINDS, 0))
    for row in feeding_rows:
        for kind in FEED_KINDS:
            totals[row["structure"]][kind] += row[_key(kind)]
    return [_feeding_row({"structure": structure}, counts)
            for structure, counts in sorted(totals.items())]


def _feeding_row(head: dict, counts: dict) -> dict:
    total = sum(counts.values())
    return {**head, **{_key(kind): counts[kind] for kind in FEED_KINDS}, "documents": total,
            "qualified_share": round(counts[QUALIFIED] / total, 4) if total else None}


def _key(kind: str) -> str:
    return kind.replace("-", "_")
