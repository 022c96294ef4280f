"""The summary of dmp_bench.py: per operation against the echo of the same rounds, the
issue-15 figures derived from them, and the printed tables."""
from __future__ import annotations

from benchmarks.processes import HOST
from benchmarks.report import cpu_per_request, errors_of, print_table, table_row


def summarize(runs: list[dict], kinds: list[str], rounds: int) -> dict:
    """Per operation: mean req/s, worst p50/p90/p99, errors, CPU per request, ratios to
    the echo (per round and overall: the sums of req/s), CPU per request over the echo's."""
    echo_rps = {r["round"]: r["requests_per_s"] for r in runs if r["target"] == "echo"}
    us = cpu_per_request(runs, kinds)
    out = {}
    for kind in kinds:
        mine = [r for r in runs if r["target"] == kind]
        row = {"requests_per_s": round(sum(r["requests_per_s"] for r in mine) / len(mine), 1),
               **{f"worst_{p}_ms": max(r.get(f"{p}_ms", float("nan")) for r in mine)
                  for p in ("p50", "p90", "p99")},
               "non_200": sum(r.get("non_200", r["non_2xx"]) for r in mine),
               "bad_body": sum(r.get("bad_body", 0) for r in mine),
               "errors": sum(errors_of(r) for r in mine),
               "server_cpu_us_per_req": round(us[kind], 1) if kind in us else None}
        row["server_cpu_us_per_req_by_round"] = [r.get("server_cpu_us_per_req")
                                                  for r in mine]
        if mine and "sequential" in mine[0]:
            row["sequential_p50_ms_by_round"] = [r["sequential"]["p50_ms"] for r in mine]
            row["sequential_max_ms_by_round"] = [r["sequential"]["max_ms"] for r in mine]
        if len(echo_rps) == rounds:
            row["ratio_to_echo_by_round"] = [
                round(r["requests_per_s"] / echo_rps[r["round"]], 3) for r in mine]
            row["ratio_to_echo"] = round(sum(r["requests_per_s"] for r in mine)
                                         / sum(echo_rps.values()), 3)
            if kind in us and "echo" in us:
                row["cpu_per_req_over_echo"] = round(us[kind] / us["echo"], 2)
        out[kind] = row
    return out


def derived(operations: dict, setups: dict[str, dict]) -> dict:
    """The issue-15 figures read from the operations: TD3.1's server CPU per extra
    document between its DMP sizes, and TD2.1's throughput by workers."""
    out: dict = {}
    sizes = {setups[kind]["documents"]: row["server_cpu_us_per_req"]
             for kind, row in operations.items()
             if kind.startswith("td3.1") and not kind.endswith("-over")
             and row.get("server_cpu_us_per_req")}
    ordered = sorted(sizes)
    for small, large in zip(ordered, ordered[1:]):
        out[f"td3.1_us_per_extra_document_{small}_to_{large}"] = round(
            (sizes[large] - sizes[small]) / (large - small), 1)
    feeds = {setups[kind]["workers"]: row["requests_per_s"]
             for kind, row in operations.items()
             if kind.startswith("td2.1") and kind != "td2.1-strict"}
    if feeds:
        out["td2.1_requests_per_s_by_workers"] = dict(sorted(feeds.items()))
    return out


def print_summary(report: dict) -> None:
    """The machine, the load, the runs and the per-operation table."""
    m, c, load = report["machine"], report["config"], report["load"]
    print(f"\nmachine: {m['nproc']} CPU ({m['cpu_model']}), Python {m['python']}, "
          f"gunicorn {m['packages']['gunicorn']}, gevent {m['packages']['gevent']}; "
          f"wrk -t2 -c{c['connections']} -d{c['duration_s']}s on {HOST}; "
          f"DMP clock frozen at {c['sim_date']}, {c['documents']} documents in the DMP")
    print(f"load average at start {load['at_start']} (waited {load['waited_s']} s), "
          f"at end {load['at_end']}\n")
    print_table(report["runs"], name_width=14)
    print()
    head = ["operation", "req/s", "p50 ms", "p90 ms", "p99 ms", "non-200", "bad body",
            "µs/req", "x echo req/s", "x echo µs/req"]
    widths = [12, 8, 7, 7, 7, 7, 8, 7, 12, 13]
    print(table_row(head, widths))
    print(table_row(["-" * w for w in widths], widths))
    for kind, s in report["operations"].items():
        print(table_row([kind, f"{s['requests_per_s']:.0f}", f"{s['worst_p50_ms']:.2f}",
                         f"{s['worst_p90_ms']:.2f}", f"{s['worst_p99_ms']:.2f}",
                         s["non_200"], s["bad_body"], s["server_cpu_us_per_req"],
                         f"{s.get('ratio_to_echo', float('nan')):.2f}",
                         s.get("cpu_per_req_over_echo", "-")], widths))
    print("\nreq/s: mean over the rounds; p50/p90/p99: the worst round; x echo req/s: the "
          "operation's req/s summed over the rounds / the echo's;\nµs/req: server CPU per "
          "request, mean over the rounds; x echo µs/req: that / the echo's")
    if report["noisy_runs"]:
        print(f"\nwarning: other processes used >10% of the machine during "
              f"{', '.join(report['noisy_runs'])} (column 'other CPU s')")
    for name, value in report.get("derived", {}).items():
        print(f"{name}: {value}")
    for kind, row in report["operations"].items():
        if "sequential_p50_ms_by_round" in row:
            print(f"{kind} one request at a time on an idle server: p50 "
                  f"{row['sequential_p50_ms_by_round']} ms, max "
                  f"{row['sequential_max_ms_by_round']} ms (by round)")
    errors = sum(s["errors"] for s in report["operations"].values())
    print(f"\n  [{'PASS' if errors == 0 else 'FAIL'}] no errors (non-2xx, bad bodies, "
          "socket errors)")
