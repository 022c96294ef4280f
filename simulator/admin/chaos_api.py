"""Scenario control under ``/_admin``: see, switch and clear the active scenario."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from simulator.admin import current_simulator
from simulator.chaos.loader import ScenarioError, load_scenario, parse_scenario, \
    shipped_scenarios
from simulator.chaos.scenario import Rule, Scenario

chaos_admin = Blueprint("chaos_admin", __name__, url_prefix="/_admin")
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml",
              "text/plain")


@chaos_admin.get("/scenario")
def get_scenario():
    """The active scenario, its rules and their counters."""
    active = current_simulator().chaos.active()
    if active is None:
        return jsonify(active=False)
    activation, scenario = active
    counters = current_simulator().store.rule_counters(activation)
    return jsonify(active=True, activation=activation, **scenario_view(scenario, counters))


@chaos_admin.put("/scenario")
def put_scenario():
    """Activate a shipped scenario (``{"name": ...}``) or a YAML body; atomic."""
    content_type = (request.mimetype or "").lower()
    try:
        if content_type in YAML_TYPES:
            scenario, origin = parse_scenario(request.get_data(as_text=True), "request body"), \
                "request body"
        else:
            body = request.get_json(silent=True)
            name = body.get("name") if isinstance(body, dict) else None
            if not isinstance(name, str) or name not in shipped_scenarios():
                return jsonify(error='expected {"name": <shipped scenario>} as JSON, or a '
                                     "scenario as a YAML body (Content-Type: application/yaml)",
                               shipped=sorted(shipped_scenarios())), 400
            scenario, origin = load_scenario(name), name
    except ScenarioError as exc:
        return jsonify(error=str(exc)), 400
    activation = current_simulator().chaos.activate(scenario, origin)
    return jsonify(active=True, activation=activation, **scenario_view(scenario, {}))


@chaos_admin.delete("/scenario")
def delete_scenario():
    """No scenario: every request gets its normal answer."""
    current_simulator().chaos.clear()
    return jsonify(active=False)


@chaos_admin.get("/scenarios")
def list_scenarios():
    """The scenarios shipped in ``scenarios/``."""
    items = []
    for name in shipped_scenarios():
        scenario = load_scenario(name)
        items.append({"name": name, "description": scenario.description,
                      "rules": len(scenario.rules)})
    return jsonify(scenarios=items)


def scenario_view(scenario: Scenario, counters: dict) -> dict:
    """JSON-ready description of a scenario."""
    return {"name": scenario.name, "description": scenario.description, "seed": scenario.seed,
            "timezone": scenario.timezone,
            "rules": [_rule_view(rule, counters.get(rule.index, (0, 0)))
                      for rule in scenario.rules],
            "source": scenario.source}


def _rule_view(rule: Rule, counter: tuple[int, int]) -> dict:
    match = rule.match
    criteria = {key: sorted(value) for key, value in (
        ("service", match.services), ("version", match.versions),
        ("operation", match.operations), ("idam", match.idams),
        ("lps_name", match.lps_names), ("ins", match.ins),
        ("birth_name", match.birth_names)) if value is not None}
    if match.windows:
        criteria["when"] = [w.describe() for w in match.windows]
    return {"index": rule.index, "name": rule.name, "match": criteria,
            "probability": rule.probability, "times": rule.times,
            "latency": rule.latency.describe() if rule.latency else None,
            "action": rule.action.describe() if rule.action.kind else None,
            "matched": counter[0], "fired": counter[1]}
