"""Reading scenario YAML into a :class:`Scenario`, with precise error messages.

Every error names the file, the rule (number and name), the field and what was
expected, e.g. ``insi-slow.yaml: rule 2 (tail), field latency.lognormal.sigma:
expected a number > 0, got 'wide'``. The format is documented in docs/scenarios.md.
"""
from __future__ import annotations

import re
from datetime import datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from simulator.chaos import latency as models
from simulator.chaos.scenario import ACTION_KINDS, Action, Match, Rule, Scenario
from simulator.chaos.windows import DAY_NAMES, Daily, Period
from simulator.services.catalog import SERVICES
from simulator.soap.errors import capped

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|min)\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "min": 60.0}
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


MAX_YAML_DEPTH = 20  # nesting levels; a scenario needs 6 (rules > rule > match > when > ...)
MAX_YAML_NODES = 20_000  # values with aliases expanded; the largest shipped scenario has
# a few hundred


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message says where and why."""


class _ScenarioYamlLoader(yaml.SafeLoader):
    """``yaml.safe_load`` with the expansion of aliases and the nesting bounded (issue 14):
    an alias re-uses a node, so a few hundred bytes of nested aliases expand to millions
    of values once the scenario is walked or shown (a "billion laughs" in YAML); and
    PyYAML composes nested nodes recursively, so deep nesting would exhaust the stack.
    Aliases that repeat a block a few times stay fine."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._sizes: dict[int, int] = {}  # id(node) -> its node count, aliases expanded

    def compose_node(self, parent, index):
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise self._error(f"nested more than {MAX_YAML_DEPTH} levels deep")
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if id(node) not in self._sizes:  # an alias gives back a node already counted
            children = node.value if isinstance(node, yaml.SequenceNode) else \
                [n for pair in node.value for n in pair] \
                if isinstance(node, yaml.MappingNode) else []
            self._sizes[id(node)] = 1 + sum(self._sizes[id(child)] for child in children)
            if self._sizes[id(node)] > MAX_YAML_NODES:
                raise self._error(f"more than {MAX_YAML_NODES} values once its aliases "
                                  "(*name) are expanded")
        return node

    def _error(self, problem: str) -> yaml.YAMLError:
        return yaml.composer.ComposerError(None, None, problem, self.peek_event().start_mark)


def shipped_scenarios() -> dict[str, Path]:
    """Name -> file of the scenarios shipped in ``scenarios/``."""
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.yaml"))}


def load_scenario(name_or_path: str) -> Scenario:
    """A shipped scenario by name, or a scenario file by path."""
    shipped = shipped_scenarios()
    path = shipped.get(name_or_path) or Path(name_or_path)
    if not path.is_file():
        raise ScenarioError(f"No scenario named {name_or_path!r} and no such file; shipped "
                            f"scenarios: {', '.join(shipped)}")
    return parse_scenario(path.read_text(encoding="utf-8"), path.name)


def parse_scenario(text: str, origin: str = "scenario") -> Scenario:
    """Parse and validate scenario YAML; ``origin`` names it in error messages."""
    try:
        data = yaml.load(text, Loader=_ScenarioYamlLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise ScenarioError(f"{origin}: not valid YAML ({capped(str(exc), 500)})") from None
    return _Reader(origin).scenario(data, text)


class _Reader:
    """Walks the YAML data; ``where`` is the prefix of every error message."""

    def __init__(self, origin: str):
        self.origin = origin
        self.where = origin

    def fail(self, field: str, expected: str, value) -> ScenarioError:
        place = f"{self.where}, field {field}" if field else self.where
        return ScenarioError(f"{place}: expected {expected}, got {capped(repr(value), 200)}")

    def mapping(self, value, field: str, allowed: tuple[str, ...]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(field, "a mapping", value)
        unknown = [k for k in value if k not in allowed]
        if unknown:
            raise self.fail(f"{field}.{unknown[0]}" if field else unknown[0],
                            f"one of {', '.join(allowed)}", "an unknown key")
        return value

    def scenario(self, data, text: str) -> Scenario:
        data = self.mapping(data, "", ("name", "description", "seed", "timezone", "rules"))
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise self.fail("name", "a scenario name", name)
        seed = data.get("seed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise self.fail("seed", "a whole number", seed)
        zone_name = data.get("timezone", "Europe/Paris")
        try:
            zone = ZoneInfo(str(zone_name))
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail("timezone", "an IANA time zone such as Europe/Paris",
                            zone_name) from None
        rules = data.get("rules")
        if not isinstance(rules, list) or not rules:
            raise self.fail("rules", "a non-empty list of rules", rules)
        parsed = tuple(self.rule(i, raw, zone) for i, raw in enumerate(rules, start=1))
        return Scenario(name.strip(), str(data.get("description", "")).strip(), seed,
                        str(zone_name), parsed, text)

    def rule(self, index: int, raw, zone: ZoneInfo) -> Rule:
        label = raw.get("name") if isinstance(raw, dict) else None
        self.where = f"{self.origin}: rule {index}" + (f" ({label})" if label else "")
        raw = self.mapping(raw, "", ("name", "match", "probability", "times", "latency",
                                     "action"))
        match = self.match(raw.get("match", {}), zone)
        probability = raw.get("probability", 1.0)
        if isinstance(probability, bool) or not isinstance(probability, (int, float)) \
                or not 0 <= probability <= 1:
            raise self.fail("probability", "a number from 0 to 1", probability)
        times = raw.get("times")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int)
                                  or times < 1):
            raise self.fail("times", "a whole number >= 1", times)
        latency = self.latency(raw["latency"], "latency") if "latency" in raw else None
        action = self.action(raw.get("action"), match)
        if latency is None and action.kind is None:
            raise self.fail("action", "an action or a latency (a rule must do something)",
                            None)
        rule = Rule(index, str(label or f"rule {index}"), match, float(probability), times,
                    latency, action)
        self.where = self.origin
        return rule

    def names(self, value, field: str, known: tuple[str, ...] | None = None) -> frozenset:
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise self.fail(field, "a name or a list of names", value)
        if known is not None:
            bad = [v for v in values if v not in known]
            if bad:
                raise self.fail(field, f"one of {', '.join(known)}", bad[0])
        return frozenset(v.strip() for v in values)

    def match(self, raw, zone: ZoneInfo) -> Match:
        raw = self.mapping(raw, "match", ("service", "version", "operation", "software",
                                          "patient", "when"))
        services = self.names(raw["service"], "match.service", tuple(SERVICES)) \
            if "service" in raw else None
        infos = [SERVICES[s] for s in (services or SERVICES)]
        versions = operations = None
        if "version" in raw:
            known = tuple(sorted({v for i in infos for v in i.versions}))
            versions = self.names(raw["version"], "match.version", known)
        if "operation" in raw:
            known = None if any(i.operations is None for i in infos) else \
                tuple(o for i in infos for o in i.operations)
            operations = self.names(raw["operation"], "match.operation", known)
        software = self.mapping(raw.get("software", {}), "match.software", ("idam", "lps_name"))
        patient = self.mapping(raw.get("patient", {}), "match.patient", ("ins", "birth_name"))
        ins = None
        if "ins" in patient:
            ins = self.names(patient["ins"], "match.patient.ins")
            bad = [v for v in ins if not re.match(r"^\d{6}[0-9AB]\d{6}(\d{2})?$", v)]
            if bad:
                raise self.fail("match.patient.ins", "a 13- or 15-character INS", bad[0])
            ins = frozenset(v[:13] for v in ins)
        when = raw.get("when", [])
        windows = tuple(self.window(w, f"match.when[{i}]", zone)
                        for i, w in enumerate(when if isinstance(when, list) else [when]))
        return Match(services, versions, operations,
                     self.names(software["idam"], "match.software.idam") if "idam" in software else None,
                     self.names(software["lps_name"], "match.software.lps_name")
                     if "lps_name" in software else None, ins,
                     frozenset(n.upper() for n in self.names(patient["birth_name"],
                                                             "match.patient.birth_name"))
                     if "birth_name" in patient else None, windows)

    def window(self, raw, field: str, zone: ZoneInfo):
        raw = self.mapping(raw, field, ("from", "to", "daily", "days"))
        period = None
        if "from" in raw or "to" in raw:
            start, end = (self.instant(raw.get(k), f"{field}.{k}", zone) for k in ("from", "to"))
            if start and end and end <= start:
                raise self.fail(f"{field}.to", "an instant after from", raw.get("to"))
            period = Period(start, end)
        if "daily" not in raw:
            if "days" in raw:
                raise self.fail(field, "days together with daily hours", raw)
            if period is None:
                raise self.fail(field, "from/to instants, daily hours, or both", raw)
            return period
        hours = _HOURS.match(str(raw["daily"]))
        if not hours or int(hours[1]) > 23 or int(hours[2]) > 59 or int(hours[4]) > 59 or \
                int(hours[3]) > 24 or (int(hours[3]) == 24 and int(hours[4]) != 0):
            raise self.fail(f"{field}.daily", "hours such as 22:00-06:00", raw["daily"])
        start = time(int(hours[1]), int(hours[2]))
        end = time(23, 59, 59, 999999) if int(hours[3]) == 24 else time(int(hours[3]),
                                                                        int(hours[4]))
        names = self.names(raw.get("days", list(DAY_NAMES)), f"{field}.days", DAY_NAMES)
        return Daily(start, end, frozenset(DAY_NAMES.index(d) for d in names), zone, period)

    def instant(self, value, field: str, zone: ZoneInfo) -> datetime | None:
        if value is None:
            return None
        try:
            moment = value if isinstance(value, datetime) else \
                datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise self.fail(field, "an ISO-8601 date-time such as 2022-11-04T08:00", value) \
                from None
        return moment if moment.tzinfo else moment.replace(tzinfo=zone)

    def duration(self, value, field: str) -> float:
        if value == 0 and not isinstance(value, bool):
            return 0.0
        found = _DURATION.match(str(value)) if isinstance(value, str) else None
        if not found:
            raise self.fail(field, "a duration such as 300ms, 2s or 1.5min", value)
        return float(found[1]) * _UNITS[found[2]]

    def number(self, value, field: str, low: float, high: float | None = None) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= low \
                or (high is not None and value >= high):
            bounds = f"> {low:g}" + (f" and < {high:g}" if high is not None else "")
            raise self.fail(field, f"a number {bounds}", value)
        return float(value)

    def latency(self, raw, field: str) -> models.Latency:
        if not isinstance(raw, dict):
            return models.Latency(models.Fixed(self.duration(raw, field)))
        kinds = ("fixed", "uniform", "lognormal", "percentiles")
        raw = self.mapping(raw, field, kinds + ("cap", "spike"))
        chosen = [k for k in kinds if k in raw]
        if len(chosen) != 1:
            raise self.fail(field, f"exactly one of {', '.join(kinds)}", sorted(raw))
        kind, value, path = chosen[0], raw[chosen[0]], f"{field}.{chosen[0]}"
        if kind == "fixed":
            model = models.Fixed(self.duration(value, path))
        elif kind == "uniform":
            if not isinstance(value, list) or len(value) != 2:
                raise self.fail(path, "[low, high] durations", value)
            low, high = (self.duration(v, path) for v in value)
            if high < low:
                raise self.fail(path, "low <= high", value)
            model = models.Uniform(low, high)
        elif kind == "lognormal":
            value = self.mapping(value, path, ("median", "sigma"))
            model = models.LogNormal(self.duration(value.get("median"), f"{path}.median"),
                                     self.number(value.get("sigma"), f"{path}.sigma", 0))
        else:
            model = self.percentiles(value, path)
        cap = self.duration(raw["cap"], f"{field}.cap") if "cap" in raw else None
        spike, probability = None, 0.0
        if "spike" in raw:
            spike_raw = self.mapping(raw["spike"], f"{field}.spike", ("probability", "latency"))
            probability = self.number(spike_raw.get("probability"),
                                      f"{field}.spike.probability", 0, 1)
            spike = self.latency(spike_raw.get("latency"), f"{field}.spike.latency")
        return models.Latency(model, cap, probability, spike)

    def percentiles(self, value, path: str) -> models.Percentiles:
        if not isinstance(value, dict) or not value:
            raise self.fail(path, "percentiles such as {p50: 300ms, p99: 8s}", value)
        points = []
        for key, raw in value.items():
            found = re.match(r"^p(\d{1,2}(?:\.\d+)?)$", str(key))
            if not found or not 0 < float(found[1]) < 100:
                raise self.fail(f"{path}.{key}", "a percentile name such as p50 or p99.9", key)
            points.append((float(found[1]) / 100, self.duration(raw, f"{path}.{key}")))
        points.sort()
        if len({p for p, _ in points}) != len(points):
            raise self.fail(path, "each percentile given once", value)
        if any(b[1] < a[1] for a, b in zip(points, points[1:])) or points[0][1] <= 0:
            raise self.fail(path, "positive delays growing with the percentile", value)
        return models.Percentiles(tuple(points))

    def action(self, raw, match: Match) -> Action:
        if raw is None:
            return Action()
        if isinstance(raw, str):
            if raw not in ("reset", "empty", "truncate", "garble", "hang"):
                raise self.fail("action", "reset, empty, truncate, garble, hang or a "
                                "mapping (fault, http_status, dribble, hang, truncate)", raw)
            return Action(raw, seconds=300.0 if raw == "hang" else None)
        raw = self.mapping(raw, "action", ACTION_KINDS)
        if len(raw) != 1:
            raise self.fail("action", "exactly one action", sorted(raw))
        kind, value = next(iter(raw.items()))
        if kind == "fault":
            services = match.services or frozenset(SERVICES)
            known = tuple(f for s in sorted(services) for f in SERVICES[s].faults)
            if value not in known:
                raise self.fail("action.fault", f"a fault of {', '.join(sorted(services))}: "
                                f"{', '.join(known) or 'none yet'}", value)
            return Action("fault", fault=value)
        if kind == "http_status":
            if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
                raise self.fail("action.http_status", "an HTTP status from 100 to 599", value)
            return Action("http_status", status=value)
        if kind == "truncate":
            return Action("truncate", fraction=self.number(value, "action.truncate", 0, 1))
        if kind in ("dribble", "hang"):
            return Action(kind, seconds=self.duration(value, f"action.{kind}"))
        raise self.fail(f"action.{kind}", "no value (write it as a plain word)", value)
