"""The soak run's printed report: requests per name, failures by kind, failures against
injected faults per operation, the journal, memory, the DMP store and the checks."""
from __future__ import annotations

from benchmarks.soak_checks import CONNECTION, KINDS, OPERATION_OF_NAME


def table_row(cells, widths) -> str:
    """One line of a table: numbers right-aligned, text left-aligned."""
    def numeric(cell) -> bool:
        return isinstance(cell, (int, float)) or \
            str(cell).replace(".", "", 1).lstrip("+-").isdigit()
    return "  ".join(str(c).rjust(w) if numeric(c) else str(c).ljust(w)
                     for c, w in zip(cells, widths)).rstrip()


def _mb(value) -> str:
    return "-" if value is None else f"{value:.1f}"


def _counts(counter: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counter.items()) if v) or "-"


def print_requests(result: dict) -> None:
    """Requests sent, answered (an HTTP answer came back), succeeded, by request name."""
    lost = {}
    for f in result["failures"]:
        if f["kind"] == CONNECTION:
            lost[f["name"]] = lost.get(f["name"], 0) + f["count"]
    widths = (30, 32, 7, 8, 9, 6, 6, 6, 6, 7)
    print(table_row(("request", "operation", "sent", "answered", "succeeded", "failed",
                     "p50", "p95", "p99", "max ms"), widths))
    print(table_row(["-" * w for w in widths], widths))
    totals = [0, 0, 0, 0]
    for row in sorted(result["stats"], key=lambda r: r["name"]):
        sent, failed = row["requests"], row["failures"]
        answered = sent - lost.get(row["name"], 0)
        for i, v in enumerate((sent, answered, sent - failed, failed)):
            totals[i] += v
        print(table_row((row["name"], OPERATION_OF_NAME.get(row["name"], "?"), sent, answered,
                         sent - failed, failed, round(row["p50"]), round(row["p95"]),
                         round(row["p99"]), round(row["max"] or 0)), widths))
    print(table_row(("total", "", *totals, "", "", "", ""), widths))


def print_failures(result: dict) -> None:
    """Locust's failures, by name and message, with their kind."""
    failures = sorted(result["failures"], key=lambda f: (f["kind"], f["name"], f["message"]))
    if not failures:
        print("\nno failure reported by Locust")
        return
    print("\nfailures reported by Locust (kind: connection = no HTTP answer, answer = an "
          "HTTP 200 unreadable or wrong,\n  fault = a SOAP fault, http = an HTTP error "
          "without fault)")
    widths = (10, 30, 70, 6)
    print(table_row(("kind", "request", "failure", "count"), widths))
    for f in failures:
        print(table_row((f["kind"], f["name"], f["message"][:70], f["count"]), widths))


def print_explained(result: dict) -> None:
    """Client failures against the faults /metrics counted, per operation."""
    explained = result["explained"]
    print("\nLocust's failures against the faults injected (insi_dmp_sim_chaos_injections_"
          "total, latency left out), per operation:")
    widths = (32, 7, 7, 46, 62, 11, 6)
    print(table_row(("operation", "client", "server", "client failures by kind",
                     "faults injected by action", "unexplained", "silent"), widths))
    for op, data in explained["operations"].items():
        print(table_row((op, data["requests"], result["server_by_op"].get(op, 0),
                         _counts({k: data["failures"].get(k, 0) for k in KINDS}),
                         _counts(data["injected"]), data["unexplained"], data["silent"]),
                        widths))
    print(f"total: {explained['failures']} client failures, {explained['injected']} faults "
          f"injected; errors beyond the injected ones: {explained['unexplained']}")
    for f in explained["unexplained_detail"]:
        print(f"  UNEXPLAINED: {f['name']}: {f['message']} (x{f['count']}, {f['kind']})")
    for exc in result["exceptions"]:
        print(f"  EXCEPTION in a Locust user: {exc['message']} (x{exc['count']})")


def print_journal(result: dict) -> None:
    """The journal's view of the same exchanges."""
    j = result["journal"]
    print(f"\njournal: {j['exchanges']} exchanges seen (ids {j['first_id']}..{j['last_id']}, "
          f"{'complete' if j['complete'] else 'INCOMPLETE'}); {j['error_answers']} error "
          f"answers (not HTTP 200, or a fault), {j['unexplained_error_count']} without a "
          f"fault rule; altered exchanges per rule = /metrics: "
          f"{'yes' if j['altered_matches_metrics'] else 'NO'}")
    for e in j["errors"]:
        print(f"  {e['operation']}: HTTP {e['status']} {e['outcome']!r} by {e['action']} "
              f"x{e['count']}")
    for e in j["unexplained_errors"]:
        print(f"  UNEXPLAINED in the journal: {e}")
    for line in result["server_log_errors"][:20]:
        print(f"  SERVER LOG: {line}")
    if result["server_log_errors_at_stop"]:
        print(f"  server log after SIGTERM (teardown, not counted): "
              f"{len(result['server_log_errors_at_stop'])} line(s), e.g. "
              f"{result['server_log_errors_at_stop'][-1].strip()}")


def print_memory(result: dict) -> None:
    """RSS per process: before the load, after warm-up, at the end; growth and slope."""
    m = result["memory"]
    print(f"\nmemory (VmRSS, MB): start = first sample after the {m['warmup_s']:.0f} s warm-up "
          f"(t = {m['start_t']:.0f} s), end = after the load (t = {m['end_t']:.0f} s)")
    widths = (14, 12, 8, 8, 9, 12, 14)
    print(table_row(("process", "before load", "start", "end", "growth", "anon growth",
                     "slope MB/min"), widths))
    for role, p in m["processes"].items():
        slope = "-" if p["slope_mb_per_min"] is None else f"{p['slope_mb_per_min']:+.3f}"
        print(table_row((role, _mb(p["rss_mb_before_load"]), _mb(p["rss_mb_start"]),
                         _mb(p["rss_mb_end"]), _mb(p["growth_mb"]),
                         _mb(p["anon_growth_mb"]), slope), widths))
    print(f"  over that window: requests {m['requests_start']} -> {m['requests_end']}, DMP "
          f"document entries {m['documents_start']} -> {m['documents_end']}")
    if not m["processes_stable"]:
        print("  the set of server processes changed during the run (a worker restarted)")


def print_store(result: dict) -> None:
    """Feeds acknowledged against the registry."""
    s = result["store"]
    r = s["registry"]
    added = " added by the run" if r["before"]["documents"] else ""
    print(f"\nDMP store: {s['acknowledged']} feeds acknowledged to the clients, "
          f"{s['server_stored']} stored by the server ({s['answers_lost_by_rule']} answers "
          f"to feeds lost by a rule); registry{added}: {r['submission_sets']} submission sets, "
          f"{r['documents']} document entries (expected {s['expected_documents']}); in all "
          f"{r['documents_total']} entries (/_admin/dmp: {s['admin_documents']}), "
          f"{r['documents_without_bytes']} without bytes, {r['patients']} patients, "
          f"integrity_check {r['integrity']}")
    for name, ok in s["checks"].items():
        if not ok:
            print(f"  FAILED: {name}")


def print_report(result: dict, out_path) -> None:
    """The whole report."""
    machine = result["machine"]
    loads = [s["loadavg"][0] for s in result["samples"]]
    scenario = (result["scenario_source"] or "").split("name:", 1)[-1].split("\n")[0].strip()
    print(f"\nsoak: {result['duration_s']} s of load, {result['options']['users']} Locust users "
          f"({', '.join(result['users'])}, by their weights), scenario {scenario or '?'}, "
          f"simulated date {result['options']['date']}")
    print(f"machine: {machine['nproc']} CPU ({machine['cpu_model']}), Python "
          f"{machine['python']}; load average (1 min) before {result['load_before'][0]:.2f}, "
          f"max {max(loads):.2f}, at the end {loads[-1]:.2f}\n")
    print_requests(result)
    print_failures(result)
    print_explained(result)
    print_journal(result)
    print_memory(result)
    print_store(result)
    print()
    for name, ok in result["checks"].items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    print(f"\nerrors beyond the injected ones: {result['explained']['unexplained']}")
    print(f"verdict: {result['verdict']}")
    print(f"results: {out_path}")
