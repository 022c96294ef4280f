"""Locust plugin of the soak test: writes Locust's final statistics to the JSON file named
by ``SOAK_LOCUST_RESULT``, once every user has finished (``--stop-timeout``).

Loaded beside the load test (``locust -f loadtests/locustfile.py,benchmarks/soak_locust.py``);
it defines no user. Locust's CSV files are rewritten once a second by a greenlet and
closed without a last write, so they miss the requests of the last second, among them
those the users complete while stopping; this file is written from the ``quit`` event,
after the runner stopped, with the same figures as Locust's printed summary.
"""
from __future__ import annotations

import json
import os

from locust import events
from locust.stats import StatsError

_SEEN: dict = {}


@events.init.add_listener
def remember_environment(environment, **_kwargs) -> None:
    """Keep the environment: the ``quit`` event does not pass it."""
    _SEEN["environment"] = environment


@events.quit.add_listener
def write_final_stats(exit_code, **_kwargs) -> None:
    """Requests, failures and response-time percentiles by name; failures by message;
    exceptions raised in the users."""
    path, environment = os.environ.get("SOAK_LOCUST_RESULT"), _SEEN.get("environment")
    if not path or environment is None:
        return
    stats = environment.stats
    requests = [{"name": e.name, "method": e.method, "requests": e.num_requests,
                 "failures": e.num_failures,
                 "p50": e.get_response_time_percentile(0.5),
                 "p95": e.get_response_time_percentile(0.95),
                 "p99": e.get_response_time_percentile(0.99),
                 "max": e.max_response_time} for e in stats.entries.values()]
    errors = [{"name": e.name, "method": e.method, "error": StatsError.parse_error(e.error),
               "occurrences": e.occurrences} for e in stats.errors.values()]
    runner = environment.runner
    exceptions = [{"count": row["count"], "message": row["msg"],
                   "traceback": row["traceback"]}
                  for row in (runner.exceptions.values() if runner else [])]
    with open(path, "w") as f:
        json.dump({"exit_code": exit_code, "requests": requests, "failures": errors,
                   "exceptions": exceptions}, f, indent=1)
