"""What the dashboard charts: latency quantiles estimated from the stored histogram
(as Prometheus' histogram_quantile does) and scenario injections per simulated day."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from simulator.admin.stats import histogram_quantile, injections_view, latency_view
from simulator.chaos.engine import Decision
from simulator.chaos.scenario import Action, Rule
from simulator.metrics import Metrics
from simulator.soap.reply import Reply
from simulator.store.sqlite import open_store

OK = Reply(200, b"", outcome="CR 00")
FAULT = Reply(500, b"", outcome="fault siram_40/insi_102")
OP = "rechercherInsAvecTraitsIdentite"
INF = float("inf")


def test_a_quantile_is_interpolated_inside_its_bucket():
    # 10 requests under 0.1 s, 10 more between 0.1 and 0.5 s.
    buckets = [(0.1, 10.0), (0.5, 20.0), (INF, 20.0)]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.1)
    assert histogram_quantile(0.25, buckets) == pytest.approx(0.05)  # lowest bucket from 0
    assert histogram_quantile(0.75, buckets) == pytest.approx(0.3)
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.1 + 0.4 * 9.8 / 10)


def test_a_rank_beyond_the_last_finite_bound_gives_that_bound_and_empty_gives_none():
    assert histogram_quantile(0.99, [(1.0, 1.0), (60.0, 1.0), (INF, 5.0)]) == 60.0
    assert histogram_quantile(0.5, [(1.0, 0.0), (INF, 0.0)]) is None
    assert histogram_quantile(0.5, []) is None


def test_latency_per_operation_from_the_stored_histogram(tmp_path):
    metrics = Metrics(open_store(tmp_path), flush_interval=60)
    for seconds in (0.3,) * 98 + (2.0, 20.0):  # 98 between 0.25 and 0.5 s, two slow
        metrics.count_request("insi", OP, OK, seconds)
    metrics.count_request("dmp", "find", OK, 0.004)
    view = {row["operation"]: row for row in latency_view(metrics.rows())}
    insi = view[OP]
    assert insi["service"] == "insi" and insi["count"] == 100
    assert insi["mean_ms"] == pytest.approx((0.3 * 98 + 22) * 10)
    # The bounds below 0.3 s were never incremented, yet p50 interpolates from 0.25 s.
    assert insi["p50_ms"] == pytest.approx(250 + 250 * 50 / 98)
    assert insi["p95_ms"] == pytest.approx(250 + 250 * 95 / 98)
    assert insi["p99_ms"] == pytest.approx(1000 + 1500 * (99 - 98) / 1)  # in (1, 2.5]
    assert view["find"]["p99_ms"] == pytest.approx(5 * 0.99)


def test_injections_are_counted_per_simulated_day_and_action(tmp_path):
    metrics = Metrics(open_store(tmp_path), flush_interval=60)
    fault = Rule(1, "cut-over", action=Action("fault", fault="desir_1020"))
    slow = Rule(2, "slow", latency=object())
    day_one = datetime(2022, 10, 24, 19, 0, tzinfo=timezone.utc)
    day_two = datetime(2022, 11, 4, 9, 0, tzinfo=timezone.utc)
    for _ in range(3):
        metrics.count_request("insi", OP, FAULT, 0.01, Decision(fault, 0.0, fault.action, 1, 7),
                              day_one)
    metrics.count_request("insi", OP, OK, 1.5, Decision(slow, 1.25, slow.action, 1, 7), day_two)
    metrics.count_request("insi", OP, OK, 0.8, Decision(slow, 0.75, slow.action, 2, 7), day_two)
    metrics.count_request("insi", OP, OK, 0.01)  # no rule fired: not an injection
    assert injections_view(metrics.rows()) == [
        {"day": "2022-10-24", "actions": {"fault": 3}, "injected": 3, "delay_seconds": 0.0},
        {"day": "2022-11-04", "actions": {"latency": 2}, "injected": 2,
         "delay_seconds": 2.0}]
    # Not exported: a label per simulated day would grow without bound in Prometheus.
    assert "2022-10-24" not in metrics.render()
