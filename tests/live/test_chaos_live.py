"""The chaos engine on the real server: ``insi-dmp-sim serve`` (gunicorn, 2 gevent
workers) on a real port, every action seen over a real socket by requests, a raw socket
and zeep; distributions, seeds, windows on the simulated clock, runtime switching, the
journal and /metrics, and the command line.

One server for the module (``sim``); an autouse fixture clears the scenario and resets
the simulator before each test. Scenarios are PUT as YAML; rules that must not touch
the other requests of a test match on a birth name (``match.patient.birth_name``).
"""
from __future__ import annotations

import statistics
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import requests
import zeep
from lxml import etree

from chaos_live import (
    CONSOLE_SCRIPT, KNOWN, journal_delay_ms, metric_sum, outcome, poll, post, raw_post,
    run_cli, spawn_server, traits, free_port)
from insi_live import build_our_client, fault_erreur, fault_subcodes

INJECTIONS = "insi_dmp_sim_chaos_injections_total"
DELAYS = "insi_dmp_sim_chaos_delay_seconds_total"
# No assertion here bounds wall-clock time from above (a busy machine stretches every
# request): delays are checked from below, and "served meanwhile" is an order between
# answers or an overlap between the server's own intervals (journal ``real_at`` and
# ``duration_ms``).


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """``insi-dmp-sim serve --port <free> --data-dir <tmp>``, SIM_WORKERS=2."""
    if not CONSOLE_SCRIPT.is_file():
        pytest.skip(f"console script not installed at {CONSOLE_SCRIPT}")
    server = spawn_server(tmp_path_factory.mktemp("chaos-live"), "main")
    try:
        server.wait_healthy()
    except RuntimeError as exc:
        server.stop()
        pytest.fail(str(exc))
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _no_scenario(sim):
    """Every test starts with no scenario, a fresh journal and the real clock."""
    cleared = sim.admin("DELETE", "/_admin/scenario")
    assert cleared.status_code == 200 and cleared.json() == {"active": False}, cleared.text
    reset = sim.admin("POST", "/_admin/reset")
    assert reset.status_code == 200, reset.text
    yield


@pytest.fixture(scope="module")
def client(sim):
    """zeep, from the simulator's own WSDL."""
    insi = build_our_client(sim.base_url)
    yield insi
    insi.transport.session.close()


def call_zeep(insi, name=KNOWN[0], first=KNOWN[1], sex=KNOWN[2], born=KNOWN[3]):
    return insi.traits(name, first, sex, born)


def zeep_fault(insi, **kwargs) -> zeep.exceptions.Fault:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call_zeep(insi, **kwargs)
    return caught.value


def one_rule(action: str | None = None, *, name: str = "r", latency: str | None = None,
             birth_name: str | None = None, seed: int = 1, extra: str = "") -> str:
    """A one-rule scenario as YAML."""
    lines = ["name: live-test", f"seed: {seed}", "rules:", f"  - name: {name}"]
    if birth_name:
        lines.append(f"    match: {{service: insi, patient: {{birth_name: {birth_name}}}}}")
    if latency:
        lines.append(f"    latency: {latency}")
    if action:
        lines.append(f"    action: {action}")
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def most_at_once(entries) -> int:
    """The largest number of requests the server was serving at the same instant, from
    each journal entry's interval (``real_at`` minus ``duration_ms``, ``real_at``)."""
    edges = []
    for entry in entries:
        end = datetime.fromisoformat(entry["real_at"]).timestamp()
        edges += [(end - entry["duration_ms"] / 1000, 1), (end, -1)]
    level = peak = 0
    for _, step in sorted(edges):  # an end sorts before a start at the same instant
        level += step
        peak = max(peak, level)
    return peak


def journal_by_marker(sim, marker: str, count: int = 1) -> list[dict]:
    """Journal entries whose request carries ``marker``, polled until ``count`` are in."""
    def found():
        hits = [e for e in sim.journal(bodies=True) if marker in (e["request_body"] or "")]
        return hits if len(hits) >= count else None
    hits = poll(found)
    assert hits, f"no journal entry with {marker} within the flush wait"
    return hits


def journal_by_ids(sim, ids) -> dict[str, dict]:
    """request_id -> entry for ``ids`` (X-Request-Id of the answers), polled."""
    wanted = set(ids)

    def found():
        entries = {e["request_id"]: e for e in sim.journal() if e["request_id"] in wanted}
        return entries if len(entries) == len(wanted) else None
    entries = poll(found)
    assert entries, "some requests never reached the journal"
    return entries


# --------------------------------------------------------------------------
# Actions, one by one, over a real socket
# --------------------------------------------------------------------------


@pytest.mark.parametrize("fault,subcode,code", [("insi_102", "siram_40", "Receiver"),
                                                ("desir_1020", "siram_40", "Sender")])
def test_fault_action(sim, client, fault, subcode, code):
    sim.activate(one_rule(f"{{fault: {fault}}}", name="down"))
    caught = zeep_fault(client)
    assert caught.code.split(":")[-1] == code
    assert fault_subcodes(caught) == [subcode]
    assert fault_erreur(caught).get("code") == fault
    assert client.last_status == 500

    marker = str(uuid.uuid4())
    response = post(sim.lps_url, traits(marker=marker))
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("application/soap+xml")
    assert outcome(response) == f"fault {fault}"
    entry = journal_by_marker(sim, marker)[0]
    assert entry["chaos"] == f"rule 1 (down): fault {fault}"
    assert entry["outcome"] == f"fault {subcode}/{fault}"


def test_http_status_503_is_html_not_soap(sim, client):
    sim.activate(one_rule("{http_status: 503}", name="proxy"))
    response = post(sim.lps_url, traits())
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.content.startswith(b"<html>") and b"503 Service Unavailable" in response.content
    assert b"Envelope" not in response.content
    with pytest.raises(zeep.exceptions.Fault) as caught:  # no SOAP fault in the HTML
        call_zeep(client)
    assert caught.value.message == "Unknown fault occured" and caught.value.code is None
    assert client.last_status == 503


def test_reset_action(sim, client):
    sim.activate(one_rule("reset", name="rst"))
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        post(sim.lps_url, traits())
    assert "reset" in str(caught.value).lower()
    exchange = raw_post(sim.port, traits())
    assert isinstance(exchange.error, ConnectionResetError), exchange
    assert exchange.data == b""
    with pytest.raises(requests.exceptions.ConnectionError):
        call_zeep(client)
    # the service ran (the answer was lost on the way back)
    marker = str(uuid.uuid4())
    with pytest.raises(requests.exceptions.ConnectionError):
        post(sim.lps_url, traits(marker=marker))
    entry = journal_by_marker(sim, marker)[0]
    assert (entry["chaos"], entry["outcome"]) == ("rule 1 (rst): reset", "CR 00")


def test_empty_action(sim, client):
    sim.activate(one_rule("empty"))
    with pytest.raises(requests.exceptions.ConnectionError) as caught:
        post(sim.lps_url, traits())
    assert "RemoteDisconnected" in repr(caught.value)
    exchange = raw_post(sim.port, traits())
    assert exchange.error is None and exchange.data == b"", exchange  # FIN, no byte
    with pytest.raises(requests.exceptions.ConnectionError):
        call_zeep(client)


def test_truncate_action(sim, client):
    sim.activate(one_rule("{truncate: 0.3}"))
    exchange = raw_post(sim.port, traits())
    assert exchange.status == 200 and exchange.error is None
    length = exchange.content_length
    assert length and length > 500
    assert len(exchange.body) == int(length * 0.3) < length
    with pytest.raises(requests.exceptions.ChunkedEncodingError) as caught:
        post(sim.lps_url, traits())
    assert "IncompleteRead" in str(caught.value)
    with pytest.raises(requests.exceptions.RequestException):
        call_zeep(client)


def test_garble_action(sim, client):
    sim.activate(one_rule("garble", seed=5))
    response = post(sim.lps_url, traits())
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == len(response.content) > 500
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(response.content)
    with pytest.raises(zeep.exceptions.TransportError) as caught:
        call_zeep(client)
    assert "invalid XML" in str(caught.value)
    # the garbage is reproducible: same scenario, same request rank, same bytes
    sim.activate(one_rule("garble", seed=5))
    assert post(sim.lps_url, traits()).content == response.content


def test_garble_depends_on_the_seed(sim):
    sim.activate(one_rule("garble", seed=5))
    first = post(sim.lps_url, traits()).content
    sim.activate(one_rule("garble", seed=6))
    assert post(sim.lps_url, traits()).content != first


def test_dribble_action(sim, client):
    sim.activate(one_rule("{dribble: 1s}"))
    exchange = raw_post(sim.port, traits())
    assert exchange.status == 200 and exchange.error is None
    assert len(exchange.body) == exchange.content_length
    assert b"<CodeCR>00</CodeCR>" in exchange.body or b"CodeCR>00<" in exchange.body
    first = exchange.first_byte_at - exchange.sent_at
    spread = exchange.last_byte_at - exchange.first_byte_at
    assert first < spread, f"first byte after {first:.3f} s, body over {spread:.3f} s"
    assert spread >= 0.85, f"body spread over {spread:.3f} s"
    assert len(exchange.chunks) >= 5, exchange.chunks
    started = time.monotonic()
    assert call_zeep(client).CR.CodeCR == "00"  # slow, but a complete answer
    assert time.monotonic() - started >= 0.85


def test_hang_action_times_the_client_out_while_others_are_served(sim):
    sim.activate(one_rule("{hang: 5s}", birth_name="HANG"))
    hung = {}

    def raw():
        hung["exchange"] = raw_post(sim.port, traits("HANG"), timeout=8)
    watcher = threading.Thread(target=raw)
    watcher.start()
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        post(sim.lps_url, traits("HANG"), timeout=1)
    assert time.monotonic() - started >= 0.9
    # zeep with a 1 s operation timeout gives up too
    impatient = build_our_client(sim.base_url)
    impatient.transport.operation_timeout = 1
    begun = time.monotonic()
    with pytest.raises(requests.exceptions.Timeout):
        call_zeep(impatient, name="HANG")
    impatient.transport.session.close()
    assert time.monotonic() - begun >= 0.9
    # meanwhile everything else is served: all answered before the hang ends
    for _ in range(5):
        assert outcome(post(sim.lps_url, traits())) == "CR 00"
    served = time.monotonic()
    watcher.join(15)
    exchange = hung["exchange"]
    assert exchange.data == b"" and exchange.error is None  # closed, never answered
    assert exchange.closed_at - exchange.sent_at >= 4.9
    assert served < exchange.closed_at, "the other searches waited for the hang"


def test_fixed_latency(sim, client):
    sim.activate(one_rule(latency="400ms", birth_name=KNOWN[0]))
    delayed = []
    for _ in range(3):
        begun = time.monotonic()
        response = post(sim.lps_url, traits())
        assert time.monotonic() - begun >= 0.4
        assert outcome(response) == "CR 00"
        delayed.append(response.headers["X-Request-Id"])
    begun = time.monotonic()
    assert call_zeep(client).CR.CodeCR == "00"
    assert time.monotonic() - begun >= 0.4
    other = post(sim.lps_url, traits("DUPONT", "JEAN", "M", "1980-01-01"))
    assert outcome(other) == "CR 01"
    # the server's account: exactly the rule's delay, once, and none for another name
    entries = journal_by_ids(sim, delayed + [other.headers["X-Request-Id"]])
    assert [journal_delay_ms(entries[i]) for i in delayed] == [400.0] * 3
    assert entries[other.headers["X-Request-Id"]]["chaos"] is None


# --------------------------------------------------------------------------
# Delays never hold a worker
# --------------------------------------------------------------------------


def test_hundred_slow_requests_do_not_hold_the_workers(sim):
    sim.activate(one_rule(latency="2s", name="slow", birth_name="SLOW"))
    before = sim.metrics()
    barrier = threading.Barrier(101)
    results = [None] * 100

    def slow(index):
        barrier.wait()
        begun = time.monotonic()
        response = post(sim.lps_url, traits("SLOW", "LENT", "M", "1970-01-01"), timeout=15)
        results[index] = (response.status_code, response.headers.get("X-Request-Id"),
                          begun, time.monotonic())

    threads = [threading.Thread(target=slow, args=(i,)) for i in range(100)]
    for thread in threads:
        thread.start()
    barrier.wait()
    time.sleep(0.6)
    normal = []
    for _ in range(3):
        answer = post(sim.lps_url, traits())
        assert outcome(answer) == "CR 00"
        normal.append(answer.headers.get("X-Request-Id"))
    for thread in threads:
        thread.join(60)
    assert all(r[0] == 200 for r in results)
    assert min(r[3] - r[2] for r in results) >= 2.0

    entries = journal_by_ids(sim, [r[1] for r in results])
    # The three normal searches, sent after the slow ones, did not queue behind them:
    # by the server's own clock, each was answered before the first slow one was (the
    # client's clock saw that too, but not on a machine loaded enough to make three
    # searches take 2 s, as in one CI run).
    normal_entries = journal_by_ids(sim, normal)
    first_slow_end = min(datetime.fromisoformat(e["real_at"]) for e in entries.values())
    assert all(datetime.fromisoformat(e["real_at"]) < first_slow_end
               for e in normal_entries.values()), (normal_entries, first_slow_end)
    assert {e["chaos"] for e in entries.values()} == {"rule 1 (slow): +2000 ms"}
    # held workers (2 of them) would serve at most 2 at a time: the server's own
    # intervals show how many of the 100 it was serving at once
    overlap = most_at_once(entries.values())
    print(f"100 concurrent 2 s requests: at most {overlap} served at once")
    assert overlap >= 50, overlap

    def delays_grew():
        after = sim.metrics()
        return metric_sum(after, INJECTIONS, rule="slow", action="latency") - \
            metric_sum(before, INJECTIONS, rule="slow", action="latency") == 100 and after
    after = poll(delays_grew)
    assert after, "injections of rule 'slow' did not reach 100 in /metrics"
    assert metric_sum(after, DELAYS, rule="slow") - metric_sum(before, DELAYS, rule="slow") \
        == pytest.approx(200.0)


# --------------------------------------------------------------------------
# Distributions and seeds over HTTP
# --------------------------------------------------------------------------

DISTRIBUTIONS = """\
name: distributions
seed: 11
rules:
  - name: unif
    match: {patient: {birth_name: UNIF}}
    latency: {uniform: [20ms, 60ms]}
  - name: pctl
    match: {patient: {birth_name: PCTL}}
    latency: {percentiles: {p50: 20ms, p90: 60ms}}
  - name: coin
    match: {patient: {birth_name: COIN}}
    probability: 0.3
    action: {fault: insi_102}
"""


def test_latency_distributions_and_probability(sim):
    sim.activate(DISTRIBUTIONS)
    local = threading.local()

    def send(name):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        begun = time.monotonic()
        response = post(sim.lps_url, traits(name, "ANNE", "F", "1990-05-05"),
                        session=local.session)
        return name, response.headers["X-Request-Id"], time.monotonic() - begun, \
            outcome(response)

    names = ["UNIF", "PCTL", "COIN"] * 300
    with ThreadPoolExecutor(24) as pool:
        results = list(pool.map(send, names))
    entries = journal_by_ids(sim, [r[1] for r in results])

    def delays(name):
        pairs = [(journal_delay_ms(entries[r[1]]), r[2]) for r in results if r[0] == name]
        assert all(d is not None for d, _ in pairs)
        # the measured time includes the injected delay (journal rounds to 1 ms)
        assert all(seconds >= (d - 1) / 1000 for d, seconds in pairs)
        return sorted(d for d, _ in pairs)

    unif = delays("UNIF")
    assert len(unif) == 300 and 20 <= unif[0] and unif[-1] <= 60
    assert statistics.mean(unif) == pytest.approx(40, abs=3)
    bins = [sum(1 for d in unif if low <= d < low + 10) for low in (20, 30, 40, 50)]
    assert all(50 <= b <= 100 for b in bins), bins

    pctl = delays("PCTL")
    median, p90 = pctl[149], pctl[269]
    assert 17 <= median <= 23.5, pctl
    assert 48 <= p90 <= 72, pctl

    coin = [r[3] for r in results if r[0] == "COIN"]
    faults = coin.count("fault insi_102")
    assert faults + coin.count("CR 01") == 300
    assert 60 <= faults <= 120, faults
    journaled = sum(1 for r in results if r[0] == "COIN"
                    and entries[r[1]]["chaos"] == "rule 3 (coin): fault insi_102")
    assert journaled == faults
    rules = {rule["name"]: rule for rule in sim.admin("GET", "/_admin/scenario").json()["rules"]}
    assert (rules["coin"]["matched"], rules["coin"]["fired"]) == (300, faults)
    assert (rules["unif"]["matched"], rules["unif"]["fired"]) == (300, 300)
    print(f"uniform 20-60 ms: mean {statistics.mean(unif):.1f} ms, bins {bins}; "
          f"percentiles p50/p90 20/60 ms: measured {median:.0f}/{p90:.0f} ms; "
          f"probability 0.3: {faults}/300 faults")


COIN = """\
name: coin
seed: {seed}
rules:
  - name: coin
    probability: 0.5
    action: {{fault: insi_102}}
"""


def test_same_seed_same_outcomes(sim):
    def run(seed):
        sim.activate(COIN.format(seed=seed))
        with requests.Session() as session:
            return [outcome(post(sim.lps_url, traits(), session=session)) for _ in range(40)]
    first, again, other = run(7), run(7), run(8)
    assert set(first) == {"fault insi_102", "CR 00"}
    assert first == again
    assert other != first


def test_fail_three_times_then_succeed(sim, client):
    sim.activate(one_rule("{fault: desir_1020}", name="flaky", extra="    times: 3"))
    for _ in range(3):
        assert fault_erreur(zeep_fault(client)).get("code") == "desir_1020"
    assert call_zeep(client).CR.CodeCR == "00"
    assert outcome(post(sim.lps_url, traits())) == "CR 00"
    rule = sim.admin("GET", "/_admin/scenario").json()["rules"][0]
    assert (rule["times"], rule["matched"], rule["fired"]) == (3, 5, 3)


# --------------------------------------------------------------------------
# Time windows on the simulated clock
# --------------------------------------------------------------------------


@pytest.mark.parametrize("now,expected", [
    ("2025-03-03T23:00:00+01:00", "fault desir_1020"),
    ("2025-03-04T05:30:00+01:00", "fault desir_1020"),
    ("2025-03-03T10:00:00+01:00", "CR 00"),
    ("2025-03-03T21:59:00+01:00", "CR 00"),
])
def test_nightly_maintenance_follows_the_clock(sim, now, expected):
    sim.activate_shipped("nightly-maintenance")
    sim.set_clock(now)
    assert outcome(post(sim.lps_url, traits())) == expected


def test_windows_move_with_the_clock(sim, client):
    sim.activate_shipped("nightly-maintenance")
    sim.set_clock("2025-06-10T23:00:00+02:00")
    assert fault_erreur(zeep_fault(client)).get("code") == "desir_1020"
    sim.set_clock("2025-06-10T10:00:00+02:00")
    assert call_zeep(client).CR.CodeCR == "00"

    sim.activate_shipped("insi-oct-nov-2022")
    sim.set_clock("2022-10-24T21:00:00+02:00")
    caught = zeep_fault(client)
    assert fault_subcodes(caught) == ["siram_40"]
    assert fault_erreur(caught).get("code") == "desir_1020"
    sim.set_clock("2022-10-24T19:00:00+02:00")  # before the cut-over
    assert call_zeep(client).CR.CodeCR == "00"


# --------------------------------------------------------------------------
# Switching at runtime, the control plane
# --------------------------------------------------------------------------


def test_switch_while_requests_are_in_flight(sim):
    sim.activate(one_rule(latency="1s", name="slow"))
    results = [None] * 20

    def slow(index):
        begun = time.monotonic()
        response = post(sim.lps_url, traits(), timeout=10)
        results[index] = (outcome(response), time.monotonic() - begun,
                          response.headers.get("X-Request-Id"))

    threads = [threading.Thread(target=slow, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # all 20 are in, sleeping in their rule's latency
    switched = sim.put_yaml(one_rule("{fault: desir_1020}", name="down"))
    assert switched.status_code == 200 and switched.json()["name"] == "live-test"
    fresh = post(sim.lps_url, traits())
    assert outcome(fresh) == "fault desir_1020"
    # the new scenario has no latency (the server's account of this request)
    fresh_entry = journal_by_ids(sim, [fresh.headers["X-Request-Id"]])
    assert journal_delay_ms(fresh_entry[fresh.headers["X-Request-Id"]]) is None
    for thread in threads:
        thread.join(10)
    assert all(r is not None for r in results)
    assert {r[0] for r in results} == {"CR 00"}  # the old behaviour...
    assert min(r[1] for r in results) >= 1.0  # ...its latency included
    entries = journal_by_ids(sim, [r[2] for r in results] + [fresh.headers["X-Request-Id"]])
    assert {entries[r[2]]["chaos"] for r in results} == {"rule 1 (slow): +1000 ms"}
    assert entries[fresh.headers["X-Request-Id"]]["chaos"] == "rule 1 (down): fault desir_1020"

    cleared = sim.admin("DELETE", "/_admin/scenario")
    assert cleared.json() == {"active": False}
    assert outcome(post(sim.lps_url, traits())) == "CR 00"
    assert sim.admin("GET", "/_admin/scenario").json() == {"active": False}


def test_get_scenario_shows_rules_and_counters(sim):
    activated = sim.activate(DISTRIBUTIONS)
    view = sim.admin("GET", "/_admin/scenario").json()
    assert view["active"] is True and view["activation"] == activated["activation"]
    assert (view["name"], view["seed"], view["timezone"]) == ("distributions", 11,
                                                              "Europe/Paris")
    assert view["source"] == DISTRIBUTIONS
    assert [r["name"] for r in view["rules"]] == ["unif", "pctl", "coin"]
    unif, pctl, coin = view["rules"]
    assert unif["match"] == {"birth_name": ["UNIF"]}
    assert unif["latency"] == "uniform 20ms-60ms" and unif["action"] is None
    assert pctl["latency"] == "percentiles p50 20ms, p90 60ms"
    assert (coin["probability"], coin["action"]) == (0.3, "fault insi_102")
    assert all((r["matched"], r["fired"]) == (0, 0) for r in view["rules"])
    for _ in range(4):
        post(sim.lps_url, traits("UNIF", "ANNE", "F", "1990-05-05"))
    rules = sim.admin("GET", "/_admin/scenario").json()["rules"]
    assert [(r["matched"], r["fired"]) for r in rules] == [(4, 4), (0, 0), (0, 0)]
    # activating again restarts the counters
    sim.activate(DISTRIBUTIONS)
    rules = sim.admin("GET", "/_admin/scenario").json()["rules"]
    assert [(r["matched"], r["fired"]) for r in rules] == [(0, 0)] * 3


def test_counters_of_a_deterministic_rule(sim):
    """Rules with nothing to draw (insi-down: probability 1, fixed latency) count too."""
    sim.activate_shipped("insi-down")
    for _ in range(3):
        assert outcome(post(sim.lps_url, traits())) == "fault desir_1020"
    rule = sim.admin("GET", "/_admin/scenario").json()["rules"][0]
    assert (rule["matched"], rule["fired"]) == (3, 3)


BAD_SIGMA = """\
name: broken
rules:
  - name: fine
    latency: 10ms
  - name: tail
    latency: {lognormal: {median: 300ms, sigma: wide}}
"""


def test_invalid_scenarios_are_refused_and_the_active_one_stays(sim):
    sim.activate(one_rule("{fault: insi_102}", name="kept"))
    refused = sim.put_yaml(BAD_SIGMA)
    assert refused.status_code == 400
    message = refused.json()["error"]
    assert "rule 2 (tail)" in message and "latency.lognormal.sigma" in message
    assert "'wide'" in message

    refused = sim.put_yaml("name: x\nrules:\n  - name: a\n    probabilty: 0.5\n"
                           "    action: reset\n")
    assert refused.status_code == 400 and "probabilty" in refused.json()["error"]
    refused = sim.put_yaml("name: [unclosed\n")
    assert refused.status_code == 400 and "not valid YAML" in refused.json()["error"]

    unknown = sim.admin("PUT", "/_admin/scenario", json={"name": "nonexistent"})
    assert unknown.status_code == 400
    assert "insi-down" in unknown.json()["shipped"] and "error" in unknown.json()

    view = sim.admin("GET", "/_admin/scenario").json()
    assert view["rules"][0]["name"] == "kept"
    assert outcome(post(sim.lps_url, traits())) == "fault insi_102"


# --------------------------------------------------------------------------
# Journal and metrics
# --------------------------------------------------------------------------

OBSERVED = """\
name: observed
rules:
  - name: slow-fault
    match: {patient: {birth_name: FAULTY}}
    latency: 300ms
    action: {fault: insi_102}
  - name: lag
    match: {patient: {birth_name: ECETINSI}}
    latency: 200ms
  - name: cut
    match: {patient: {birth_name: CUT}}
    action: {truncate: 0.5}
"""


def test_every_injection_is_journaled_and_counted(sim):
    before = sim.metrics()
    sim.activate(OBSERVED)
    ids = {}
    for name in ("FAULTY", "FAULTY", "ECETINSI", "ECETINSI"):
        response = post(sim.lps_url, traits(name, *KNOWN[1:]))
        ids[response.headers["X-Request-Id"]] = name
    marker = str(uuid.uuid4())
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        post(sim.lps_url, traits("CUT", *KNOWN[1:], marker=marker))
    plain = post(sim.lps_url, traits("DUPONT", "JEAN", "M", "1980-01-01"))

    entries = journal_by_ids(sim, list(ids) + [plain.headers["X-Request-Id"]])
    expected = {"FAULTY": "rule 1 (slow-fault): +300 ms, fault insi_102",
                "ECETINSI": "rule 2 (lag): +200 ms"}
    for request_id, name in ids.items():
        assert entries[request_id]["chaos"] == expected[name]
        assert entries[request_id]["duration_ms"] >= (300 if name == "FAULTY" else 200)
    assert entries[plain.headers["X-Request-Id"]]["chaos"] is None
    assert journal_by_marker(sim, marker)[0]["chaos"] == "rule 3 (cut): truncate"

    def grown():
        after = sim.metrics()
        deltas = {key: metric_sum(after, INJECTIONS, rule=key[0], action=key[1])
                  - metric_sum(before, INJECTIONS, rule=key[0], action=key[1])
                  for key in (("slow-fault", "fault"), ("lag", "latency"), ("cut", "truncate"))}
        return after if deltas == {("slow-fault", "fault"): 2, ("lag", "latency"): 2,
                                   ("cut", "truncate"): 1} else None
    after = poll(grown)
    assert after, "chaos injections missing from /metrics"
    assert metric_sum(after, DELAYS, rule="slow-fault") - \
        metric_sum(before, DELAYS, rule="slow-fault") == pytest.approx(0.6)
    assert metric_sum(after, DELAYS, rule="lag") - metric_sum(before, DELAYS, rule="lag") \
        == pytest.approx(0.4)
    sample = next(line for line in after.splitlines()
                  if line.startswith(INJECTIONS + "{") and 'rule="slow-fault"' in line)
    assert 'service="insi"' in sample and 'operation="rechercherInsAvecTraitsIdentite"' in sample


# --------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------


def test_serve_with_scenario_at_start(tmp_path):
    server = spawn_server(tmp_path, "insi-down", "--scenario", "insi-down")
    try:
        server.wait_healthy()
        begun = time.monotonic()
        first = post(server.lps_url, traits())
        assert outcome(first) == "fault desir_1020"
        assert time.monotonic() - begun >= 0.15  # the rule's 150 ms
        # /_admin/reset brings the configured scenario back, not "no scenario"
        assert server.admin("POST", "/_admin/reset").status_code == 200
        view = server.admin("GET", "/_admin/scenario").json()
        assert view["active"] is True and view["name"] == "insi-down"
        insi = build_our_client(server.base_url)
        caught = zeep_fault(insi)
        insi.transport.session.close()
        assert fault_subcodes(caught) == ["siram_40"]
        assert fault_erreur(caught).get("code") == "desir_1020"
    finally:
        code = server.stop()
    assert code == 0, server.log_tail()


def test_serve_with_unknown_scenario_exits_2(tmp_path):
    done = run_cli("serve", "--scenario", "nonexistent", "--port", str(free_port()),
                   "--data-dir", str(tmp_path / "data"))
    assert done.returncode == 2, done
    assert "No scenario named 'nonexistent'" in done.stderr
    assert "insi-down" in done.stderr  # the shipped ones are listed


def test_scenarios_check(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD_SIGMA, encoding="utf-8")
    done = run_cli("scenarios", "check", str(bad))
    assert done.returncode == 1, done
    assert done.stderr.strip() == ("invalid: bad.yaml: rule 2 (tail), field "
                                   "latency.lognormal.sigma: expected a number > 0, got 'wide'")
    good = run_cli("scenarios", "check", "insi-down")
    assert good.returncode == 0 and good.stdout.startswith("ok: insi-down"), good
