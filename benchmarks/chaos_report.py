"""What chaos_bench reports: the slow load against its ideal, the normal search against its
baseline and the control, the target verdicts and the printed table."""
from __future__ import annotations

from benchmarks.chaos_load import CONTROL_NAME, DELAY_S, SLOW_NAME
from benchmarks.processes import HOST
from benchmarks.report import errors_of, table_row

TARGET_RATIO = 0.9         # slow load: achieved / ideal throughput
TARGET_SLOW_P99_S = 2.2    # slow load: p99 within 10% of the delay
TARGET_NORMAL_P99_X = 2.0  # normal search: p99 under the slow load / alone ("same range")
TARGET_NORMAL_MAX_S = DELAY_S / 2  # normal search: none waited behind a delayed request


def summarize(report: dict, connections: int) -> dict:
    """Ideal and achieved throughput, latency ratios, error count, target verdicts."""
    baseline, load, control = report["baseline"], report["load"], report["control"]
    slow, normal, normal_ctl = load["background"], load["normal"], control["normal"]
    ideal = connections / DELAY_S
    start, end = slow["window_s"]
    window_rps = slow["window_responses"] / (end - start)
    errors = sum(errors_of(r) for r in (baseline, slow, normal, control["background"],
                                        normal_ctl))
    summary = {
        "ideal_rps": ideal,
        "achieved_rps": round(window_rps, 1),
        "ratio": round(window_rps / ideal, 3),
        "wrk_rps": slow["requests_per_s"],
        "wrk_ratio": round(slow["requests_per_s"] / ideal, 3),
        "control_rps": control["background"]["requests_per_s"],
        "slow_p50_s": slow["p50_ms"] / 1000, "slow_p99_s": slow["p99_ms"] / 1000,
        "normal_p50_ratio": round(normal["p50_ms"] / baseline["p50_ms"], 2),
        "normal_p99_ratio": round(normal["p99_ms"] / baseline["p99_ms"], 2),
        "control_normal_p50_ratio": round(normal_ctl["p50_ms"] / baseline["p50_ms"], 2),
        "control_normal_p99_ratio": round(normal_ctl["p99_ms"] / baseline["p99_ms"], 2),
        "normal_p99_load_over_control": round(normal["p99_ms"] / normal_ctl["p99_ms"], 2),
        "errors": errors,
    }
    summary["targets"] = {
        f"slow throughput >= {TARGET_RATIO:g}x ideal (C / {DELAY_S:g} s)":
            summary["ratio"] >= TARGET_RATIO,
        f"slow latency ~{DELAY_S:g} s ({DELAY_S:g} s <= p50, p99 < {TARGET_SLOW_P99_S:g} s)":
            DELAY_S <= summary["slow_p50_s"] and summary["slow_p99_s"] < TARGET_SLOW_P99_S,
        f"normal max under the SLOW load < {TARGET_NORMAL_MAX_S:g} s (none waited for a "
        "delay)": normal["latency_max_ms"] < TARGET_NORMAL_MAX_S * 1000,
        f"normal p99 under the SLOW load <= {TARGET_NORMAL_P99_X:g}x alone (same range)":
            summary["normal_p99_ratio"] <= TARGET_NORMAL_P99_X,
        "no errors (non-2xx, bad bodies, socket errors)": errors == 0,
    }
    return summary


def print_report(report: dict, out_path: str) -> None:
    """The machine line, one table row per wrk run, the ratios and the verdicts."""
    m, c, s = report["machine"], report["config"], report["summary"]
    load, control, base = report["load"], report["control"], report["baseline"]
    print()
    print(f"machine: {m['nproc']} CPU ({m['cpu_model']}), Python {m['python']}, "
          f"gunicorn {m['packages']['gunicorn']}, gevent {m['packages']['gevent']}; "
          f"2 gevent workers x 1000 connections; wrk -t2 on {HOST}")
    answers = report["answers"]
    print(f"scenario: fixed {DELAY_S:g} s latency on birth name {SLOW_NAME} (answer CR 01); "
          f"single requests: normal {answers['normal_s']:.3f} s, {SLOW_NAME} "
          f"{answers['slow_s']:.3f} s, {CONTROL_NAME} {answers['control_s']:.3f} s")
    print()
    head = ["run", "conns", "dur s", "requests", "req/s", "p50 ms", "p99 ms", "max ms",
            "non-2xx", "bad body", "sock err"]
    widths = [26, 5, 5, 8, 7, 8, 8, 8, 7, 8, 8]
    print(table_row(head, widths))
    print(table_row(["-" * w for w in widths], widths))
    for label, r, dur in (
            ("normal, alone", base, c["normal_s"]),
            (f"{SLOW_NAME} ({DELAY_S:g} s delay)", load["background"], c["slow_s"]),
            ("normal, under SLOW load", load["normal"], c["normal_s"]),
            (f"{CONTROL_NAME} (control)", control["background"], c["slow_s"]),
            ("normal, under control", control["normal"], c["normal_s"])):
        print(table_row([label, r["connections"], dur, r["requests"],
                         f"{r['requests_per_s']:.1f}", f"{r['p50_ms']:.2f}",
                         f"{r['p99_ms']:.2f}", f"{r['latency_max_ms']:.2f}", r["non_2xx"],
                         r.get("bad_body", "?"), sum(r["socket_errors"].values())], widths))
    print()
    slow = load["background"]
    print(f"SLOW load: ideal {c['connections']} / {DELAY_S:g} s = {s['ideal_rps']:.0f} req/s; "
          f"achieved {s['achieved_rps']:.1f} req/s ({slow['window_responses']} responses from "
          f"{slow['window_s'][0]:g} s to {slow['window_s'][1]:g} s) = {s['ratio']:.3f}x ideal")
    print(f"  (wrk's own {s['wrk_rps']:.1f} req/s = {s['wrk_ratio']:.3f}x counts the first "
          "seconds, before the first answers, and misses the requests in flight at the stop)")
    print(f"SLOW latency: p50 {s['slow_p50_s']:.3f} s, p99 {s['slow_p99_s']:.3f} s")
    print(f"normal search, p50 / p99 against alone ({base['p50_ms']:.2f} / "
          f"{base['p99_ms']:.2f} ms): under SLOW load {s['normal_p50_ratio']:.2f}x / "
          f"{s['normal_p99_ratio']:.2f}x, under control {s['control_normal_p50_ratio']:.2f}x / "
          f"{s['control_normal_p99_ratio']:.2f}x; p99 under SLOW load / under control = "
          f"{s['normal_p99_load_over_control']:.2f}x")
    for name, phase in (("normal search alone", base), ("SLOW load", load),
                        ("control", control)):
        print(f"CPU during the {name} ({phase['elapsed_s']:.1f} s): server "
              f"{phase['server_cpu_s']:.2f} s, wrk {phase['wrk_cpu_s']:.2f} s, other processes "
              f"{phase['other_cpu_s']:.2f} s")
        if phase["other_cpu_s"] > 0.1 * (m["nproc"] or 1) * phase["elapsed_s"]:
            print(f"warning: other processes used >10% of the machine during the {name}: "
                  "its figures are disturbed")
    print()
    for name, ok in s["targets"].items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    print(f"\nresults: {out_path}")
