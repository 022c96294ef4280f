"""The /metrics exposition: counters and a latency histogram summed over workers."""
from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from simulator.chaos.engine import Decision
from simulator.chaos.scenario import Action, Rule
from simulator.metrics import BUCKETS, Metrics
from simulator.soap.reply import Reply
from simulator.store.sqlite import open_store

OK = Reply(200, b"", outcome="CR 00")
FAULT = Reply(500, b"", outcome="fault siram_40/insi_102")
OP = "rechercherInsAvecTraitsIdentite"


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample(family, suffix="", **labels):
    return next(s.value for s in family.samples
                if s.name == family.name + suffix and
                all(s.labels.get(k) == v for k, v in labels.items()))


def test_two_workers_are_summed_and_the_histogram_is_cumulative(tmp_path):
    worker_a = Metrics(open_store(tmp_path), flush_interval=60)
    worker_b = Metrics(open_store(tmp_path), flush_interval=60)
    worker_a.count_request("insi", OP, OK, 0.004)
    worker_a.count_request("insi", OP, OK, 0.3)
    worker_b.count_request("insi", OP, FAULT, 2.0)
    worker_a._batcher.flush()
    worker_b._batcher.flush()
    found = families(worker_a.render())
    requests = found["insi_dmp_sim_requests"]
    assert requests.type == "counter"
    assert sample(requests, "_total", outcome="CR 00", status="200") == 2
    assert sample(requests, "_total", outcome="fault siram_40/insi_102", status="500") == 1
    duration = found["insi_dmp_sim_request_duration_seconds"]
    assert duration.type == "histogram"
    buckets = {s.labels["le"]: s.value for s in duration.samples if s.name.endswith("_bucket")}
    assert (buckets["0.005"], buckets["0.25"], buckets["0.5"], buckets["2.5"], buckets["+Inf"]) \
        == (1, 1, 2, 3, 3)
    assert list(buckets) == [f"{b:g}" for b in BUCKETS] + ["+Inf"]  # ascending bounds
    assert sample(duration, "_count") == 3
    assert abs(sample(duration, "_sum") - 2.304) < 1e-9


def test_chaos_injections_are_counted_by_rule(tmp_path):
    metrics = Metrics(open_store(tmp_path), flush_interval=60)
    rule = Rule(1, "slow", latency=object(), action=Action("fault", fault="insi_102"))
    metrics.count_request("insi", OP, FAULT, 1.5, Decision(rule, 1.25, rule.action, 1, 7))
    found = families(metrics.render())
    labels = dict(rule="slow", action="fault", operation=OP)
    assert sample(found["insi_dmp_sim_chaos_injections"], "_total", **labels) == 1
    assert sample(found["insi_dmp_sim_chaos_delay_seconds"], "_total", **labels) == 1.25
