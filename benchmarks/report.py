"""What the benchmarks report: machine facts, error counts, the spread of a figure over
rounds, table rows; insi_bench's ratios, target verdicts and printed table."""
from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
from pathlib import Path

TARGET_RATIO = 1.0  # issue 15: the INSi search at least as fast as the bare echo
TARGET_P99_MS = 20.0
TARGET_HEALTHY_S = 2.0

PACKAGES = ("spyne", "gunicorn", "gevent", "greenlet", "lxml", "Werkzeug", "Flask",
            "psutil", "insi-dmp-simulator")


def machine_facts() -> dict:
    """CPU count and model, Python, platform, package versions and wrk's version."""
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for dist in PACKAGES:
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    wrk_version = ""
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=5)
        wrk_version = (out.stdout + out.stderr).splitlines()[0].strip()
    return {"nproc": os.cpu_count(), "cpu_model": model,
            "python": platform.python_version(), "platform": platform.platform(),
            "packages": versions, "wrk": wrk_version}


def errors_of(run: dict) -> int:
    """Non-2xx answers, unexpected bodies and socket errors (timeouts included) of a run."""
    return run["non_2xx"] + run.get("bad_body", 0) + sum(run["socket_errors"].values())


def spread(values: list[float]) -> dict:
    """How a figure taken once per round varies over the rounds: mean, min, max and the
    sample standard deviation (0 for a single round)."""
    values = list(values)
    return {"mean": round(statistics.fmean(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3),
            "stdev": round(statistics.stdev(values), 3) if len(values) > 1 else 0.0,
            "rounds": len(values)}


def spread_text(figures: dict, unit: str = "", digits: int = 2) -> str:
    """``mean 0.93 (min 0.88, max 0.97, stdev 0.04, 3 rounds)`` of a :func:`spread`."""
    def number(value):
        return f"{value:.{digits}f}{unit}"
    return (f"mean {number(figures['mean'])} (min {number(figures['min'])}, max "
            f"{number(figures['max'])}, stdev {number(figures['stdev'])}, "
            f"{figures['rounds']} rounds)")


def cpu_per_request(runs: list[dict], kinds=("insi", "echo")) -> dict[str, float]:
    """Mean server CPU microseconds per request of each target of ``kinds``, over its runs."""
    us = {k: [r["server_cpu_us_per_req"] for r in runs
              if r["target"] == k and r.get("server_cpu_us_per_req")] for k in kinds}
    return {k: sum(v) / len(v) for k, v in us.items() if v}


def summarize(runs: list[dict], rounds: int, duration: int, healthy_max: float) -> dict:
    """Pairs and their ratios, worst p99, CPU per request, noisy runs, target verdicts.

    A run is "noisy" when other processes used more than 10% of the machine during it.
    """
    pairs = []
    for round_no in range(1, rounds + 1):
        a = next(r for r in runs if r["target"] == "insi" and r["round"] == round_no)
        b = next(r for r in runs if r["target"] == "echo" and r["round"] == round_no)
        pair = {"round": round_no, "insi_rps": a["requests_per_s"],
                "echo_rps": b["requests_per_s"],
                "ratio": round(a["requests_per_s"] / b["requests_per_s"], 3)}
        if a.get("server_cpu_us_per_req") and b.get("server_cpu_us_per_req"):
            pair["cpu_ratio"] = round(b["server_cpu_us_per_req"] / a["server_cpu_us_per_req"], 3)
        pairs.append(pair)
    insi_runs = [r for r in runs if r["target"] == "insi"]
    echo_runs = [r for r in runs if r["target"] == "echo"]
    mean_ratio = round(sum(r["requests_per_s"] for r in insi_runs)
                       / sum(r["requests_per_s"] for r in echo_runs), 3)
    worst_p99 = max(r.get("p99_ms", float("inf")) for r in insi_runs)
    errors = sum(errors_of(r) for r in runs)
    us_mean = cpu_per_request(runs)
    cpu_ratio = round(us_mean["echo"] / us_mean["insi"], 3) if len(us_mean) == 2 else None
    noise_limit = 0.1 * (os.cpu_count() or 1) * duration
    noisy = [f"{r['target']}#{r['round']}" for r in runs
             if r.get("other_cpu_s", 0) > noise_limit]
    targets = {
        f"insi_throughput >= {TARGET_RATIO}x echo (mean)": mean_ratio >= TARGET_RATIO,
        f"insi p99 < {TARGET_P99_MS:g} ms (worst run)": worst_p99 < TARGET_P99_MS,
        f"time-to-healthy < {TARGET_HEALTHY_S:g} s (max of 3)":
            healthy_max < TARGET_HEALTHY_S,
        "no errors (non-2xx, bad bodies, socket errors)": errors == 0,
    }
    spreads = {"ratio": spread([p["ratio"] for p in pairs])}
    if all("cpu_ratio" in p for p in pairs):
        spreads["cpu_ratio"] = spread([p["cpu_ratio"] for p in pairs])
    for kind in ("insi", "echo"):
        us = [r["server_cpu_us_per_req"] for r in runs
              if r["target"] == kind and r.get("server_cpu_us_per_req")]
        if us:
            spreads[f"{kind}_cpu_us_per_req"] = spread(us)
    return {"runs": runs, "pairs": pairs, "mean_ratio": mean_ratio,
            "insi_worst_p99_ms": worst_p99,
            "server_cpu_us_per_req_mean": {k: round(v, 1) for k, v in us_mean.items()},
            "cpu_per_request_ratio": cpu_ratio, "spread_over_rounds": spreads,
            "noisy_runs": noisy, "targets": targets}


def table_row(cells, widths) -> str:
    """One line of a table: the first cell left-aligned, the others right-aligned."""
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w)
                     for i, (c, w) in enumerate(zip(cells, widths)))


def print_table(runs: list[dict], name_width: int = 8) -> None:
    """One line per wrk run: throughput, latency, errors and CPU."""
    head = ["run", "req/s", "p50 ms", "p99 ms", "non-2xx", "bad body", "sock err",
            "srv CPU s", "µs/req", "wrk CPU s", "other CPU s"]
    widths = [name_width, 9, 7, 7, 7, 8, 8, 9, 7, 9, 11]
    print(table_row(head, widths))
    print(table_row(["-" * w for w in widths], widths))
    for r in runs:
        print(table_row([f"{r['target']}#{r['round']}", f"{r['requests_per_s']:.0f}",
                    f"{r.get('p50_ms', float('nan')):.2f}",
                    f"{r.get('p99_ms', float('nan')):.2f}",
                    r["non_2xx"], r.get("bad_body", "?"),
                    sum(r["socket_errors"].values()), r.get("server_cpu_s", "-"),
                    r.get("server_cpu_us_per_req", "-"), r.get("wrk_cpu_s", "-"),
                    r.get("other_cpu_s", "-")], widths))


def print_report(report: dict, host: str, out_path: str) -> None:
    """The JSON summary (without wrk's raw output), the table, the ratios and verdicts."""
    summary = {k: v for k, v in report.items() if k != "runs"}
    summary["runs"] = [{k: v for k, v in r.items() if k != "wrk_output"}
                       for r in report["runs"]]
    print()
    print(json.dumps(summary, indent=2))
    print()
    m, config = report["machine"], report["config"]
    healthy = report["time_to_healthy_s"]["runs"]
    print(f"machine: {m['nproc']} CPU ({m['cpu_model']}), Python {m['python']}, "
          f"spyne {m['packages']['spyne']}, gunicorn {m['packages']['gunicorn']}, "
          f"gevent {m['packages']['gevent']}; wrk -t2 -c{config['connections']} "
          f"-d{config['duration_s']}s on {host}")
    print(f"time-to-healthy (s): {', '.join(f'{h:.3f}' for h in healthy)}  "
          f"max {max(healthy):.3f}")
    print()
    print_table(report["runs"])
    print()
    for p in report["pairs"]:
        cpu = f"; CPU per request echo/INSi = {p['cpu_ratio']:.2f}x" if "cpu_ratio" in p else ""
        print(f"pair {p['round']}: INSi {p['insi_rps']:.0f} / echo {p['echo_rps']:.0f} req/s "
              f"= {p['ratio']:.2f}x{cpu}")
    print(f"overall: INSi/echo = {report['mean_ratio']:.2f}x")
    us_mean = cpu_per_request(report["runs"])
    if report["cpu_per_request_ratio"] is not None:
        print(f"server CPU per request: INSi {us_mean['insi']:.0f} µs, echo "
              f"{us_mean['echo']:.0f} µs (echo/INSi = {report['cpu_per_request_ratio']:.2f}x, "
              "less sensitive to other load)")
    spreads = report.get("spread_over_rounds", {})
    labels = {"ratio": ("INSi/echo req/s", "x", 2), "cpu_ratio": ("echo/INSi CPU", "x", 2),
              "insi_cpu_us_per_req": ("INSi CPU per request", " µs", 0),
              "echo_cpu_us_per_req": ("echo CPU per request", " µs", 0)}
    for key, (label, unit, digits) in labels.items():
        if key in spreads:
            print(f"  over the rounds, {label}: {spread_text(spreads[key], unit, digits)}")
    if report["noisy_runs"]:
        print(f"warning: other processes used >10% of the machine during "
              f"{', '.join(report['noisy_runs'])}"
              " (column 'other CPU s'): those throughput figures are disturbed")
    print()
    for name, ok in report["targets"].items():
        print(f"  [{'PASS' if ok else 'FAIL'}] {name}")
    print(f"\nresults: {out_path}")
