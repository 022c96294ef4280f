"""What the soak run compares: Locust's failures against the faults the scenario injected,
the journal's exchanges, the resident memory over time and the DMP store after the run,
and the verdict of each check (:func:`analyse`).

Pure functions over what ``soak.py`` collected (Locust's CSV rows, ``/metrics`` text,
journal entries, RSS samples, registry counts); no process or network here.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from itertools import combinations
from pathlib import Path

# Locust request names (loadtests/) -> the operation the simulator counts them under.
OPERATION_OF_NAME = {
    "traits: first name": "rechercherInsAvecTraitsIdentite",
    "traits: full list": "rechercherInsAvecTraitsIdentite",
    "traits: with birth place": "rechercherInsAvecTraitsIdentite",
    "vitale: ouvrant droit + rang": "rechercherInsAvecCarteVitale",
    "vitale: individual matricule": "rechercherInsAvecCarteVitale",
    "dmp: TD0.2 test existence": "PRPA_IN201307UV02",
    "dmp: TD1.1 create": "PRPA_IN201311UV02",
    "dmp: TD0.3 authorise": "setAuthorization",
    "dmp: TD2.1 feed": "ProvideAndRegisterDocumentSet-b",
    "dmp: TD3.1 find documents": "RegistryStoredQuery",
    "dmp: TD3.2 retrieve": "RetrieveDocumentSet",
    "dmp: TD3.1b entryUUID": "RegistryStoredQuery",
    "dmp: TD3.3c delete": "UpdateDocumentSet",
    "dmp: TD0.0 certify": "identityCertification",
    "dmp v1: TD0.2 test existence": "PRPA_IN201307UV02",
    "dmp v1: TD0.3 authorise": "setAuthorization",
}
FEED_OPERATION = "ProvideAndRegisterDocumentSet-b"
UPDATE_OPERATION = "UpdateDocumentSet"  # ITI-57: each one stored adds a submission set

# What a client can see of an exchange that went wrong (from the failure names of
# loadtests/soapload.py and loadtests/dmp_answers.py).
CONNECTION = "connection"  # "network: ...": reset, closed, timed out; no HTTP answer
FAULT = "fault"            # "fault <code> (...)": a SOAP fault
HTTP = "http"              # "HTTP 503": an HTTP error without a fault
ANSWER = "answer"          # an HTTP answer that is unreadable, incomplete or not right
KINDS = (CONNECTION, FAULT, HTTP, ANSWER)

# Which kinds of client failure each scenario action can cause (docs/scenarios.md,
# "action"). A latency alone causes none: the scenarios' caps stay under the client
# timeout (LOADTEST_TIMEOUT, 60 s). A truncated body may be read as a closed connection
# or as a short answer, depending on where the cut falls; garbage keeps the status line.
EXPLAINS = {
    "reset": {CONNECTION}, "empty": {CONNECTION}, "hang": {CONNECTION},
    "dribble": {CONNECTION}, "truncate": {CONNECTION, ANSWER}, "garble": {ANSWER, HTTP},
    "fault": {FAULT}, "http_status": {HTTP},
}
# Transport actions run after the service: a feed is stored though its answer is lost.
ANSWER_LOST = {"reset", "empty", "hang", "truncate", "garble"}

_LABELS = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
_SAMPLE = re.compile(r"^(\w+)\{(.*)\}\s+(\S+)$")
_CATCH = re.compile(r"""^CatchResponseError\((['"])(.*)\1\)$""", re.S)
_CHAOS = re.compile(r"^rule (\d+)(?: \((.*?)\))?: ")
_ENTRIES = re.compile(r"^Success (\d+) entries")


# --------------------------------------------------------------------- reading


def parse_metrics(text: str) -> list[tuple[str, dict, float]]:
    """The samples of a Prometheus text exposition: (name, labels, value)."""
    samples = []
    for line in text.splitlines():
        found = _SAMPLE.match(line.strip())
        if found:
            labels = {k: v.replace('\\"', '"').replace("\\\\", "\\")
                      for k, v in _LABELS.findall(found.group(2))}
            samples.append((found.group(1), labels, float(found.group(3))))
    return samples


def metric_counts(samples, name: str, *keys: str) -> Counter:
    """Sum of the samples of ``name`` by the tuple of the ``keys`` labels."""
    counts = Counter()
    for sample_name, labels, value in samples:
        if sample_name == name:
            counts[tuple(labels.get(k, "") for k in keys)] += int(round(value))
    return counts


def read_locust_result(path: Path) -> tuple[list[dict], list[dict], list[dict]]:
    """The final statistics written by ``soak_locust.py``: rows by request name
    (``name``, ``requests``, ``failures``, percentiles in ms), failures by message
    (unwrapped from Locust's ``CatchResponseError(...)``, with their kind), exceptions."""
    data = json.loads(Path(path).read_text())
    failures = []
    for row in data["failures"]:
        wrapped = _CATCH.match(row["error"])
        message = wrapped.group(2) if wrapped else row["error"]
        failures.append({"name": row["name"], "message": message,
                         "kind": failure_kind(message), "count": int(row["occurrences"])})
    return data["requests"], failures, data["exceptions"]


def failure_kind(message: str) -> str:
    """The kind of a Locust failure, from its name."""
    if message.startswith("network:"):
        return CONNECTION
    if message.startswith("fault "):
        return FAULT
    if re.fullmatch(r"HTTP \d{3}", message):
        return HTTP
    return ANSWER


# ------------------------------------------------- client failures vs injected faults


def unexplained(failures: Counter, injections: Counter) -> tuple[int, tuple[str, ...]]:
    """How many client failures no injected fault can account for, one fault for one
    failure, and the failure kinds short of faults.

    The most failures a one-to-one assignment can cover is, by the deficiency form of
    Hall's theorem, the total minus the largest shortfall over sets S of failure kinds:
    failures of S minus the injections able to cause some kind of S.
    """
    worst, short = 0, ()
    kinds = sorted(k for k, n in failures.items() if n)
    for size in range(1, len(kinds) + 1):
        for subset in combinations(kinds, size):
            need = sum(failures[k] for k in subset)
            able = sum(n for action, n in injections.items()
                       if EXPLAINS.get(action, set()) & set(subset))
            if need - able > worst:
                worst, short = need - able, subset
    return worst, short


def explain_failures(stats: list[dict], failures: list[dict], injections: Counter) -> dict:
    """Per operation: client requests and failures by kind, faults injected by action
    (``injections`` by (operation, action), latency left out), the failures no fault
    explains and the faults no client noticed; the unexplained failures in detail."""
    operations: dict[str, dict] = {}

    def entry(op):
        return operations.setdefault(op, {"requests": 0, "failures": Counter(),
                                          "injected": Counter()})
    for row in stats:
        entry(OPERATION_OF_NAME.get(row["name"], "?" + row["name"]))["requests"] += \
            row["requests"]
    for failure in failures:
        op = OPERATION_OF_NAME.get(failure["name"], "?" + failure["name"])
        entry(op)["failures"][failure["kind"]] += failure["count"]
    for (op, action), count in injections.items():
        if action != "latency":
            entry(op)["injected"][action] += count
    detail, total_unexplained = [], 0
    for op, data in sorted(operations.items()):
        missing, short = unexplained(data["failures"], data["injected"])
        failed, injected = sum(data["failures"].values()), sum(data["injected"].values())
        data.update(unexplained=missing, short_kinds=list(short),
                    silent=injected - (failed - missing))
        total_unexplained += missing
        if missing:
            detail += [f for f in failures if f["kind"] in short and
                       OPERATION_OF_NAME.get(f["name"], "?" + f["name"]) == op]
    return {"operations": {op: {**d, "failures": dict(d["failures"]),
                                "injected": dict(d["injected"])}
                           for op, d in sorted(operations.items())},
            "failures": sum(f["count"] for f in failures),
            "injected": sum(n for (_, a), n in injections.items() if a != "latency"),
            "unexplained": total_unexplained, "unexplained_detail": detail}


# ---------------------------------------------------------------------- journal


def rule_of(chaos: str | None) -> str | None:
    """The rule name in a journal ``chaos`` label (``rule 2 (cut-answer): ...``)."""
    found = _CHAOS.match(chaos or "")
    if not found:
        return None
    return found.group(2) or f"rule {found.group(1)}"


def journal_check(entries: dict[int, dict], rule_actions: dict[str, str],
                  server_requests: int, injections: Counter) -> dict:
    """Every exchange the journal saw (by id): complete when its ids run from 1 to the
    server's request count; every answer that was an error (not HTTP 200, or a fault)
    carries a rule that alters answers; the exchanges altered by each rule, per
    operation, are those /metrics counted."""
    ids = sorted(entries)
    complete = bool(ids) and ids[0] == 1 and ids[-1] == len(ids) == server_requests
    altered, errors, unexplained_errors = Counter(), Counter(), []
    for entry in entries.values():
        rule = rule_of(entry.get("chaos"))
        action = rule_actions.get(rule, "?") if rule else None
        if action and action != "latency":
            altered[(entry.get("operation") or "", action)] += 1
        is_error = entry.get("status") != 200 or \
            (entry.get("outcome") or "").startswith(("fault", "http"))
        if is_error:
            errors[(entry.get("operation") or "", entry.get("status"),
                    entry.get("outcome") or "", action or "no rule")] += 1
            if not action or action == "latency":
                unexplained_errors.append(entry)
    from_metrics = Counter({k: v for k, v in injections.items() if k[1] != "latency"})
    return {"exchanges": len(ids), "first_id": ids[0] if ids else None,
            "last_id": ids[-1] if ids else None, "complete": complete,
            "error_answers": sum(errors.values()),
            "errors": [{"operation": op, "status": st, "outcome": out, "action": act,
                        "count": n} for (op, st, out, act), n in sorted(errors.items())],
            "unexplained_errors": unexplained_errors[:50],
            "unexplained_error_count": len(unexplained_errors),
            "altered_matches_metrics": altered == from_metrics,
            "altered": {f"{op} {a}": n for (op, a), n in sorted(altered.items())}}


# ----------------------------------------------------------------------- memory


def _slope_mb_per_min(points: list[tuple[float, float]]) -> float | None:
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if not var:
        return None
    cov = sum((t - mean_t) * (v - mean_v) for t, v in points)
    return cov / var * 60 / 1024  # kB per second -> MB per minute


def memory_summary(samples: list[dict], warmup_s: float, bound_mb: float) -> dict:
    """RSS of each process at the end of the warm-up and at the end, the growth, and
    the least-squares slope over the samples in between; flat when every process grew
    less than ``bound_mb`` and the set of processes never changed."""
    after = [s for s in samples if s["t"] >= warmup_s] or samples[-1:]
    start, end = after[0], samples[-1]
    roles = list(start["processes"])
    stable = all(list(s["processes"]) == roles for s in samples[1:]) and \
        list(samples[0]["processes"]) == roles
    processes = {}
    for role in roles:
        first = start["processes"][role]
        last = end["processes"].get(role)
        points = [(s["t"], s["processes"][role]["rss_kb"]) for s in after
                  if role in s["processes"]]
        growth = (last["rss_kb"] - first["rss_kb"]) / 1024 if last else None
        processes[role] = {
            "pid": first["pid"], "rss_mb_before_load": samples[0]["processes"].get(
                role, {}).get("rss_kb", 0) / 1024,
            "rss_mb_start": first["rss_kb"] / 1024,
            "rss_mb_end": last["rss_kb"] / 1024 if last else None,
            "growth_mb": growth,
            "anon_growth_mb": (last["anon_kb"] - first["anon_kb"]) / 1024 if last else None,
            "slope_mb_per_min": _slope_mb_per_min(points)}
    flat = stable and all(p["growth_mb"] is not None and p["growth_mb"] < bound_mb
                          for p in processes.values())
    return {"start_t": start["t"], "end_t": end["t"], "warmup_s": warmup_s,
            "documents_start": start.get("documents"), "documents_end": end.get("documents"),
            "requests_start": start.get("requests"), "requests_end": end.get("requests"),
            "bound_mb": bound_mb, "processes_stable": stable, "flat": flat,
            "processes": processes}


# ------------------------------------------------------------------------ store


def store_check(acknowledged: int, feed_outcomes: Counter, feed_injections: Counter,
                registry: dict, admin_documents: int | None, updates_stored: int = 0) -> dict:
    """The DMP store after the run against what was fed.

    ``feed_outcomes``: the server's answers to the feeds by outcome (/metrics);
    ``feed_injections``: the faults injected into feeds by action; ``registry``: what
    the run added to the state file (submission sets, documents), with its documents
    in all (``documents_total``), those without bytes and its integrity;
    ``updates_stored``: the ITI-57 updates the server stored (each with its submission
    set, like a feed).

    No acknowledged feed lost: the registry holds one submission set per feed the
    server stored, at least as many as the client saw acknowledged, and the rest are
    feeds whose answer a rule destroyed after the service ran."""
    stored = sum(n for outcome, n in feed_outcomes.items() if outcome.startswith("Success"))
    entries = sum(n * int(_ENTRIES.match(outcome).group(1))
                  for outcome, n in feed_outcomes.items() if _ENTRIES.match(outcome))
    answers_lost = sum(n for action, n in feed_injections.items() if action in ANSWER_LOST)
    sets, documents = registry["submission_sets"] - updates_stored, registry["documents"]
    checks = {
        "every stored feed in the registry once": sets == stored,
        "every acknowledged feed stored": acknowledged <= sets,
        "stored but unacknowledged feeds are answers a rule lost":
            0 <= sets - acknowledged <= answers_lost,
        "document entries as stored": documents == entries,
        "every document entry has its bytes": registry["documents_without_bytes"] == 0,
        "integrity_check ok": registry["integrity"] == "ok",
    }
    if admin_documents is not None:
        checks["/_admin/dmp document counts = state file"] = \
            admin_documents == registry["documents_total"]
    return {"acknowledged": acknowledged, "server_stored": stored,
            "updates_stored": updates_stored,
            "answers_lost_by_rule": answers_lost, "registry": registry,
            "expected_documents": entries, "admin_documents": admin_documents,
            "checks": checks, "ok": all(checks.values())}


# ------------------------------------------------------------------------ verdicts


def analyse(raw: dict, bound_mb: float) -> dict:
    """The comparisons and the verdict of each check, from what ``soak.run`` collected."""
    metrics = raw["metrics"]
    injections = metric_counts(metrics, "insi_dmp_sim_chaos_injections_total",
                               "operation", "action")
    rule_actions = {rule: action for (rule, action) in metric_counts(
        metrics, "insi_dmp_sim_chaos_injections_total", "rule", "action")}
    by_op = metric_counts(metrics, "insi_dmp_sim_requests_total", "operation")
    explained = explain_failures(raw["stats"], raw["failures"], injections)
    client_by_op = {op: d["requests"] for op, d in explained["operations"].items()}
    server_by_op = {op: n for (op,), n in by_op.items()}
    journal = journal_check(raw["journal_entries"], rule_actions, sum(by_op.values()),
                            injections)
    memory = memory_summary(raw["samples"], raw["warmup_s"], bound_mb)
    feed_name = next(n for n, op in OPERATION_OF_NAME.items() if op == FEED_OPERATION)
    feed_row = next((r for r in raw["stats"] if r["name"] == feed_name), None)
    acked = feed_row["requests"] - feed_row["failures"] if feed_row else 0
    feed_outcomes = Counter({out: n for (op, out), n in metric_counts(
        metrics, "insi_dmp_sim_requests_total", "operation", "outcome").items()
        if op == FEED_OPERATION})
    feed_injections = Counter({a: n for (op, a), n in injections.items()
                               if op == FEED_OPERATION})
    updates_stored = sum(n for (op, out), n in metric_counts(
        metrics, "insi_dmp_sim_requests_total", "operation", "outcome").items()
        if op == UPDATE_OPERATION and out.startswith("Success"))
    store = store_check(acked, feed_outcomes, feed_injections, raw["registry"],
                        raw["admin_documents"], updates_stored)
    verdicts = {
        "errors beyond the injected ones: 0 (Locust failures vs injections)":
            explained["unexplained"] == 0,
        "no exception in the Locust users": not raw["exceptions"],
        "requests sent = requests the server counted, per operation":
            client_by_op == server_by_op,
        "journal complete (ids 1..N, N = server's requests)": journal["complete"],
        "every error answer in the journal carries a fault rule":
            journal["unexplained_error_count"] == 0,
        "exchanges altered per rule and operation: journal = /metrics":
            journal["altered_matches_metrics"],
        "no error in the server log while serving": not raw["server_log_errors"],
        f"flat memory: every process grew < {bound_mb:g} MB after warm-up":
            memory["flat"],
        "DMP store: no acknowledged feed lost, nothing half-written": store["ok"],
    }
    return {"explained": explained, "client_by_op": client_by_op,
            "server_by_op": server_by_op, "journal": journal, "memory": memory,
            "store": store, "checks": verdicts,
            "verdict": "PASS" if all(verdicts.values()) else "FAIL"}
