"""Scenario YAML loading: shipped scenarios, and precise errors for invalid files."""
from __future__ import annotations

import random
import re
from datetime import time
from zoneinfo import ZoneInfo

import pytest
import yaml

from simulator.chaos.latency import Fixed, Latency, LogNormal, Percentiles, Uniform
from simulator.chaos.loader import ScenarioError, load_scenario, parse_scenario, \
    shipped_scenarios
from simulator.chaos.scenario import Action, RequestFacts
from simulator.chaos.windows import Daily
from simulator.services.catalog import SERVICES

ORIGIN = "t.yaml"
# "<origin>[: rule N[ (name)]], field F: expected X, got Y"
MESSAGE = re.compile(r"^t\.yaml(?:: rule (?P<rule>\d+)(?: \((?P<name>[^)]*)\))?)?"
                     r"(?:, field (?P<field>\S*))?: expected (?P<expected>.+), got (?P<got>.+)$",
                     re.DOTALL)
GOOD_RULE = {"name": "ok", "match": {"service": "insi"}, "latency": "1s"}


# -- shipped scenarios ------------------------------------------------------------------

def test_the_expected_scenarios_are_shipped():
    assert set(shipped_scenarios()) == {"dmp-feed-timeouts", "flaky-network", "insi-down",
                                        "insi-oct-nov-2022", "insi-slow",
                                        "nightly-maintenance"}


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_every_shipped_scenario_loads(name):
    scenario = load_scenario(name)
    assert scenario.name == name
    assert scenario.description
    assert scenario.rules and [r.index for r in scenario.rules] == \
        list(range(1, len(scenario.rules) + 1))
    assert scenario.source == shipped_scenarios()[name].read_text(encoding="utf-8")
    for rule in scenario.rules:
        assert rule.latency is not None or rule.action.kind is not None
        if rule.latency is not None:  # every latency model can be drawn from
            assert rule.latency.sample(random.Random(1)) >= 0
    # the stored source parses back to the same scenario
    assert parse_scenario(scenario.source, name) == scenario


def test_shipped_scenarios_content():
    slow = load_scenario("insi-slow")
    assert slow.rules[0].latency == Latency(
        Percentiles(((0.5, 0.8), (0.95, 4.0), (0.99, 12.0))), cap=30.0)
    down = load_scenario("insi-down")
    assert down.rules[0].action == Action("fault", fault="desir_1020")
    assert down.rules[0].latency == Latency(Fixed(0.15))
    night = load_scenario("nightly-maintenance")
    assert night.rules[0].match.windows == (
        Daily(time(22, 0), time(6, 0), frozenset(range(7)), ZoneInfo("Europe/Paris")),)
    assert night.rules[1].action == Action("http_status", status=503)
    flaky = load_scenario("flaky-network")
    assert [r.probability for r in flaky.rules] == [0.02, 0.01, 0.01, 0.005, 1.0]
    jitter = flaky.rules[4].latency
    assert jitter.model == Uniform(0.02, 0.08) and jitter.spike_probability == 0.03
    assert jitter.spike == Latency(LogNormal(2.0, 0.6), cap=20.0)
    assert load_scenario("insi-oct-nov-2022").seed == 2022


def test_load_scenario_by_path_and_unknown_name(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("name: mine\nrules:\n  - {action: reset}\n", encoding="utf-8")
    assert load_scenario(str(path)).name == "mine"
    with pytest.raises(ScenarioError, match="No scenario named 'nope'.*insi-slow"):
        load_scenario("nope")
    path.write_text("name: mine\nrules:\n  - {action: explode}\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"^mine\.yaml: rule 1, field action: "):
        load_scenario(str(path))


def test_defaults():
    scenario = parse_scenario("name: ' x '\nrules:\n  - {action: reset}\n", ORIGIN)
    assert (scenario.name, scenario.description, scenario.seed, scenario.timezone) == \
        ("x", "", 0, "Europe/Paris")
    rule = scenario.rules[0]
    assert (rule.name, rule.probability, rule.times, rule.latency) == ("rule 1", 1.0, None, None)
    assert rule.match.matches(RequestFacts("dmp"), None)  # no criteria, no windows


@pytest.mark.parametrize("raw, expected", [
    ("reset", Action("reset")),
    ("empty", Action("empty")),
    ("garble", Action("garble")),
    ("truncate", Action("truncate", fraction=0.5)),
    ("hang", Action("hang", seconds=300.0)),
    ({"truncate": 0.3}, Action("truncate", fraction=0.3)),
    ({"hang": "90s"}, Action("hang", seconds=90.0)),
    ({"dribble": "1.5min"}, Action("dribble", seconds=90.0)),
    ({"http_status": 503}, Action("http_status", status=503)),
    ({"fault": "insi_102"}, Action("fault", fault="insi_102")),
    ({"fault": "TECHNICAL_ERROR"}, Action("fault", fault="TECHNICAL_ERROR")),
])
def test_actions(raw, expected):
    rule = {"match": {"service": "insi"}, "action": raw}
    scenario = parse_scenario(yaml.safe_dump({"name": "a", "rules": [rule]}), ORIGIN)
    assert scenario.rules[0].action == expected


@pytest.mark.parametrize("raw, seconds", [
    ("300ms", 0.3), ("2s", 2.0), ("1.5min", 90.0), (" 2 s ", 2.0), (0, 0.0),
])
def test_durations(raw, seconds):
    scenario = parse_scenario(yaml.safe_dump({"name": "a", "rules": [{"latency": raw}]}))
    assert scenario.rules[0].latency == Latency(Fixed(seconds))


def test_ins_of_15_characters_is_kept_as_its_13_character_matricule():
    scenario = parse_scenario(yaml.safe_dump({"name": "a", "rules": [
        {"match": {"patient": {"ins": ["180012A12345678", "2800175123456"]}},
         "action": "reset"}]}))
    assert scenario.rules[0].match.ins == frozenset({"180012A123456", "2800175123456"})


def test_birth_names_are_upper_cased():
    scenario = parse_scenario(yaml.safe_dump({"name": "a", "rules": [
        {"match": {"patient": {"birth_name": ["Dupont", "martin"]}}, "action": "reset"}]}))
    assert scenario.rules[0].match.birth_names == frozenset({"DUPONT", "MARTIN"})


# -- errors -----------------------------------------------------------------------------

def doc(**top) -> dict:
    return {"name": "t", "rules": [GOOD_RULE], **top}


def bad_rule(**fields) -> dict:
    """A document whose second rule, named 'bad', has these fields."""
    return doc(rules=[GOOD_RULE, {"name": "bad", **fields}])


def fails(data) -> str:
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, ORIGIN)
    return str(info.value)


INSI_FAULTS = ", ".join(SERVICES["insi"].faults)
DMP_FAULTS = ", ".join(SERVICES["dmp"].faults)

# (id, document, rule number or None, field, expected, got) -- expected/got None = any
ERRORS = [
    ("missing-name", {"rules": [GOOD_RULE]}, None, "name", "a scenario name", "None"),
    ("blank-name", doc(name="  "), None, "name", "a scenario name", "'  '"),
    ("not-a-mapping", "- a\n- b\n", None, "", "a mapping", "['a', 'b']"),
    ("empty-rules", doc(rules=[]), None, "rules", "a non-empty list of rules", "[]"),
    ("missing-rules", {"name": "t"}, None, "rules", "a non-empty list of rules", "None"),
    ("unknown-top-level-key", doc(sede=1), None, "sede",
     "one of name, description, seed, timezone, rules", "'an unknown key'"),
    ("bad-seed", doc(seed="abc"), None, "seed", "a whole number", "'abc'"),
    ("bad-timezone", doc(timezone="Europe/Pariss"), None, "timezone",
     "an IANA time zone such as Europe/Paris", "'Europe/Pariss'"),
    ("unknown-rule-key", bad_rule(probabilty=0.5, action="reset"), 2, "probabilty",
     "one of name, match, probability, times, latency, action", "'an unknown key'"),
    ("probability-1.5", bad_rule(probability=1.5, action="reset"), 2, "probability",
     "a number from 0 to 1", "1.5"),
    ("probability-negative", bad_rule(probability=-0.1, action="reset"), 2, "probability",
     "a number from 0 to 1", "-0.1"),
    ("probability-string", bad_rule(probability="x", action="reset"), 2, "probability",
     "a number from 0 to 1", "'x'"),
    ("probability-bool", bad_rule(probability=True, action="reset"), 2, "probability",
     "a number from 0 to 1", "True"),
    ("times-0", bad_rule(times=0, action="reset"), 2, "times", "a whole number >= 1", "0"),
    ("times-float", bad_rule(times=1.5, action="reset"), 2, "times", "a whole number >= 1",
     "1.5"),
    ("unknown-service", bad_rule(match={"service": "insii"}, action="reset"), 2,
     "match.service", "one of insi, dmp", "'insii'"),
    ("unknown-service-in-list", bad_rule(match={"service": ["insi", "dp"]}, action="reset"),
     2, "match.service", "one of insi, dmp", "'dp'"),
    ("unknown-insi-operation",
     bad_rule(match={"service": "insi", "operation": "rechercherIns"}, action="reset"), 2,
     "match.operation", "one of rechercherInsAvecTraitsIdentite, rechercherInsAvecCarteVitale",
     "'rechercherIns'"),
    ("unknown-dmp-version", bad_rule(match={"service": "dmp", "version": "v3"},
                                     action="reset"), 2, "match.version", "one of v1, v2",
     "'v3'"),
    ("unknown-match-key", bad_rule(match={"services": "insi"}, action="reset"), 2,
     "match.services", None, "'an unknown key'"),
    ("unknown-software-key", bad_rule(match={"software": {"idm": "X"}}, action="reset"), 2,
     "match.software.idm", "one of idam, lps_name", "'an unknown key'"),
    ("bad-ins", bad_rule(match={"patient": {"ins": "12345"}}, action="reset"), 2,
     "match.patient.ins", "a 13- or 15-character INS", "'12345'"),
    ("ins-not-a-string", bad_rule(match={"patient": {"ins": 1800175123456}},
                                  action="reset"), 2, "match.patient.ins",
     "a name or a list of names", "1800175123456"),
    ("unknown-fault", bad_rule(match={"service": "insi"}, action={"fault": "insi_999"}), 2,
     "action.fault", f"a fault of insi: {INSI_FAULTS}", "'insi_999'"),
    ("fault-on-dmp", bad_rule(match={"service": "dmp"}, action={"fault": "insi_102"}), 2,
     "action.fault", f"a fault of dmp: {DMP_FAULTS}", "'insi_102'"),
    ("bad-duration-words", bad_rule(latency="2 seconds"), 2, "latency",
     "a duration such as 300ms, 2s or 1.5min", "'2 seconds'"),
    ("bad-duration-number", bad_rule(latency=5), 2, "latency",
     "a duration such as 300ms, 2s or 1.5min", "5"),
    ("bad-fixed", bad_rule(latency={"fixed": "1h"}), 2, "latency.fixed", None, "'1h'"),
    ("bad-cap", bad_rule(latency={"fixed": "1s", "cap": "soon"}), 2, "latency.cap", None,
     "'soon'"),
    ("two-models", bad_rule(latency={"fixed": "1s", "uniform": ["1s", "2s"]}), 2, "latency",
     "exactly one of fixed, uniform, lognormal, percentiles", "['fixed', 'uniform']"),
    ("uniform-high-below-low", bad_rule(latency={"uniform": ["2s", "1s"]}), 2,
     "latency.uniform", "low <= high", "['2s', '1s']"),
    ("uniform-one-bound", bad_rule(latency={"uniform": ["2s"]}), 2, "latency.uniform",
     "[low, high] durations", "['2s']"),
    ("lognormal-sigma-0", bad_rule(latency={"lognormal": {"median": "1s", "sigma": 0}}), 2,
     "latency.lognormal.sigma", "a number > 0", "0"),
    ("lognormal-sigma-negative",
     bad_rule(latency={"lognormal": {"median": "1s", "sigma": -0.5}}), 2,
     "latency.lognormal.sigma", "a number > 0", "-0.5"),
    ("lognormal-sigma-word",
     bad_rule(latency={"lognormal": {"median": "1s", "sigma": "wide"}}), 2,
     "latency.lognormal.sigma", "a number > 0", "'wide'"),
    ("lognormal-no-median", bad_rule(latency={"lognormal": {"sigma": 0.5}}), 2,
     "latency.lognormal.median", None, "None"),
    ("percentiles-not-growing",
     bad_rule(latency={"percentiles": {"p50": "2s", "p95": "1s"}}), 2,
     "latency.percentiles", "positive delays growing with the percentile", None),
    ("percentiles-bad-key", bad_rule(latency={"percentiles": {"q50": "2s"}}), 2,
     "latency.percentiles.q50", "a percentile name such as p50 or p99.9", "'q50'"),
    ("percentiles-p100", bad_rule(latency={"percentiles": {"p100": "2s"}}), 2,
     "latency.percentiles.p100", "a percentile name such as p50 or p99.9", "'p100'"),
    ("percentiles-p0", bad_rule(latency={"percentiles": {"p0": "2s"}}), 2,
     "latency.percentiles.p0", "a percentile name such as p50 or p99.9", "'p0'"),
    ("percentiles-empty", bad_rule(latency={"percentiles": {}}), 2, "latency.percentiles",
     None, "{}"),
    ("spike-probability-1", bad_rule(latency={"fixed": "1s", "spike": {
        "probability": 1, "latency": "5s"}}), 2, "latency.spike.probability",
     "a number > 0 and < 1", "1"),
    ("spike-bad-latency", bad_rule(latency={"fixed": "1s", "spike": {
        "probability": 0.1, "latency": {"lognormal": {"median": "1s", "sigma": 0}}}}), 2,
     "latency.spike.latency.lognormal.sigma", "a number > 0", "0"),
    ("daily-25h", bad_rule(match={"when": {"daily": "25:00-06:00"}}, action="reset"), 2,
     "match.when[0].daily", "hours such as 22:00-06:00", "'25:00-06:00'"),
    ("daily-no-dash", bad_rule(match={"when": {"daily": "22:00"}}, action="reset"), 2,
     "match.when[0].daily", "hours such as 22:00-06:00", "'22:00'"),
    ("daily-minutes-60",
     bad_rule(match={"when": [{"from": "2022-01-01"}, {"daily": "22:60-23:00"}]},
              action="reset"), 2, "match.when[1].daily", None, "'22:60-23:00'"),
    ("days-without-daily", bad_rule(match={"when": {"days": ["mon"]}}, action="reset"), 2,
     "match.when[0]", "days together with daily hours", None),
    ("bad-day-name", bad_rule(match={"when": {"daily": "08:00-10:00", "days": ["monday"]}},
                              action="reset"), 2, "match.when[0].days",
     "one of mon, tue, wed, thu, fri, sat, sun", "'monday'"),
    ("empty-window", bad_rule(match={"when": {}}, action="reset"), 2, "match.when[0]",
     "from/to instants, daily hours, or both", "{}"),
    ("to-before-from", bad_rule(match={"when": {"from": "2022-11-04T18:00",
                                                "to": "2022-11-04T08:00"}}, action="reset"),
     2, "match.when[0].to", "an instant after from", "'2022-11-04T08:00'"),
    ("to-equal-from", bad_rule(match={"when": {"from": "2022-11-04T08:00",
                                               "to": "2022-11-04T08:00"}}, action="reset"),
     2, "match.when[0].to", "an instant after from", "'2022-11-04T08:00'"),
    ("bad-instant", bad_rule(match={"when": {"from": "yesterday"}}, action="reset"), 2,
     "match.when[0].from", "an ISO-8601 date-time such as 2022-11-04T08:00", "'yesterday'"),
    ("unknown-action-word", bad_rule(action="explode"), 2, "action", None, "'explode'"),
    ("dribble-needs-a-duration", bad_rule(action="dribble"), 2, "action", None, "'dribble'"),
    ("unknown-action-key", bad_rule(action={"explode": 1}), 2, "action.explode",
     "one of fault, http_status, reset, empty, truncate, garble, dribble, hang",
     "'an unknown key'"),
    ("two-actions", bad_rule(action={"fault": "insi_102", "http_status": 503}), 2, "action",
     "exactly one action", "['fault', 'http_status']"),
    ("bad-http-status", bad_rule(action={"http_status": 600}), 2, "action.http_status",
     "an HTTP status from 100 to 599", "600"),
    ("truncate-1", bad_rule(action={"truncate": 1}), 2, "action.truncate",
     "a number > 0 and < 1", "1"),
    ("reset-with-value", bad_rule(action={"reset": True}), 2, "action.reset",
     "no value (write it as a plain word)", "True"),
    ("no-action-no-latency", bad_rule(match={"service": "insi"}, probability=0.5), 2,
     "action", "an action or a latency (a rule must do something)", "None"),
]


@pytest.mark.parametrize("data, rule, field, expected, got", [case[1:] for case in ERRORS],
                         ids=[case[0] for case in ERRORS])
def test_error_messages(data, rule, field, expected, got):
    message = fails(data)
    found = MESSAGE.match(message)
    assert found, message
    assert (found["field"] or "") == field, message
    if rule is None:
        assert found["rule"] is None, message
    else:
        assert (int(found["rule"]), found["name"]) == (rule, "bad"), message
    if expected is not None:
        assert found["expected"] == expected, message
    if got is not None:
        assert found["got"] == got, message


def test_error_message_exact_shapes():
    assert fails(bad_rule(probability=1.5, action="reset")) == \
        "t.yaml: rule 2 (bad), field probability: expected a number from 0 to 1, got 1.5"
    assert fails(bad_rule(latency={"lognormal": {"median": "300ms", "sigma": "wide"}})) == \
        ("t.yaml: rule 2 (bad), field latency.lognormal.sigma: expected a number > 0, "
         "got 'wide'")
    assert fails(bad_rule(match={"service": "dmp"}, action={"fault": "insi_102"})) == \
        f"t.yaml: rule 2 (bad), field action.fault: expected a fault of dmp: {DMP_FAULTS}, " \
        "got 'insi_102'"
    assert fails(doc(timezone="Mars/Olympus")) == \
        "t.yaml, field timezone: expected an IANA time zone such as Europe/Paris, " \
        "got 'Mars/Olympus'"


def test_a_rule_without_a_name_is_named_by_its_number():
    message = fails({"name": "t", "rules": [GOOD_RULE, GOOD_RULE, {"times": 0,
                                                                     "action": "reset"}]})
    assert message == "t.yaml: rule 3, field times: expected a whole number >= 1, got 0"


def test_not_yaml():
    message = fails("name: t\nrules: [unclosed\n")
    assert message.startswith("t.yaml: not valid YAML (") and message.endswith(")")


def test_an_error_after_a_good_rule_names_the_bad_one_not_the_good_one():
    message = fails(doc(rules=[GOOD_RULE, GOOD_RULE, GOOD_RULE,
                               {"name": "fourth", "action": "boom"}]))
    assert message.startswith("t.yaml: rule 4 (fourth), field action: ")


# -- validation gaps found while writing these tests (fixed since) -----------------------

def test_duplicate_percentile_is_refused():
    # p50 and p50.0 once made Percentiles.quantile divide by zero.
    assert "expected each percentile given once" in fails(
        bad_rule(latency={"percentiles": {"p50": "1s", "p50.0": "2s"}}))


def test_daily_end_after_24_00_is_refused():
    # 22:00-24:30 was once read as 22:00-24:00.
    assert "expected hours such as 22:00-06:00" in fails(
        bad_rule(match={"when": {"daily": "22:00-24:30"}}, action="reset"))


def test_boolean_duration_is_refused():
    # YAML false once passed the "== 0" test and became a zero delay.
    assert "expected a duration such as 300ms" in fails(bad_rule(latency=False))


def test_a_rule_that_is_not_a_mapping_names_the_rule():
    assert fails(doc(rules=["reset"])) == "t.yaml: rule 1: expected a mapping, got 'reset'"
