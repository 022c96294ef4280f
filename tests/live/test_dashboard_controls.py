"""The dashboard's controls in a real browser: headless Chromium (driven over the
DevTools protocol, tests/cdp.py) clicks every control of /_admin/ on a live simulator,
and after each click the test asks the server's JSON API what changed. The journal
grows by polling (no reload), filters, opens an exchange with its bodies (hostile ones
stay text), and the charts show the replay of October-November 2022.

The screenshot is kept as a test artefact: ``tests/artefacts/dashboard-controls.png``
(ignored by git; CI may upload the folder).
"""
from __future__ import annotations

import json
import shutil
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cdp import Chromium  # noqa: E402
from envelopes import traits_request  # noqa: E402
from simulator.settings import Settings  # noqa: E402
from simulator.testing import start_simulator  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTEFACTS = Path(__file__).resolve().parents[1] / "artefacts"
SIZE = (1280, 1000)
TOKEN = "dashboard-test-token"
P99, FAULT_BAR = (0x0B, 0x25, 0x59), (0xC6, 0x28, 0x28)  # .p99 and the first action colour
HOSTILE = (b'<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'
           b"</x>&amp;")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                                "(.ci/run installs Debian's chromium package)")


def post(url: str, body: bytes) -> None:
    request = urllib.request.Request(url, data=body, headers={
        "Content-Type": "application/soap+xml; charset=utf-8"})
    try:
        urllib.request.urlopen(request, timeout=60).read()
    except urllib.error.HTTPError:
        pass  # faults are part of the replay


def js(value) -> str:
    return json.dumps(value)


class Page:
    """The dashboard in the browser, with the step counter its script keeps."""

    def __init__(self, browser: Chromium):
        self.browser = browser

    def actions(self) -> int:
        return int(self.browser.evaluate("document.body.dataset.actions || 0"))

    def click(self, selector: str) -> None:
        """Click and wait until the page has finished what the click started."""
        before = self.actions()
        self.browser.click(selector)
        self.browser.wait_for(f"Number(document.body.dataset.actions || 0) > {before}",
                              f"the page to finish the click on {selector}")

    def text(self, selector: str) -> str:
        return self.browser.evaluate(f"document.querySelector({js(selector)}).textContent")

    def rows(self) -> list[dict]:
        return self.browser.evaluate(
            "[...document.querySelectorAll('#journal-rows tr[data-request-id]')].map(r => "
            "({id: r.dataset.requestId, kind: r.className, "
            "cells: [...r.cells].map(c => c.textContent)}))")


def test_every_control_of_the_dashboard_changes_the_server(tmp_path):
    from PIL import Image
    # With an admin token, the page is opened with ?token= and must send it as a
    # bearer header on each of its own calls (they carry no query token).
    settings = Settings.from_env(population=200, admin_token=TOKEN)
    with start_simulator(settings=settings) as sim, \
            Chromium(CHROMIUM, tmp_path / "profile", SIZE) as browser:
        page = Page(browser)
        browser.open(f"{sim.base_url}/_admin/?token={TOKEN}")
        browser.wait_for("document.getElementById('journal-count').textContent")
        browser.evaluate("window.notReloaded = true")

        # Clock: a bad date is refused with the server's message, nothing moves.
        before = sim.clock()["now"][:10]
        browser.type("#clock-input", "tomorrow")
        page.click("#clock-set")
        assert "ISO-8601" in page.text("#status")
        assert browser.evaluate("document.getElementById('status').className") == "error"
        assert sim.clock()["now"][:10] == before
        # A date-time typed in, frozen, then running, then frozen again.
        browser.type("#clock-input", "2022-10-24T21:00:00+02:00")
        if not browser.evaluate("document.getElementById('clock-frozen').checked"):
            browser.click("#clock-frozen")
        page.click("#clock-set")
        assert sim.clock() == {"now": "2022-10-24T19:00:00.000+00:00", "frozen": True}
        assert page.text("#now") == "2022-10-24 19:00:00 UTC"
        assert page.text("#clock-state") == "frozen"
        page.click("#clock-run")
        assert sim.clock()["frozen"] is False and page.text("#clock-state") == "running"
        page.click("#clock-freeze")
        assert sim.clock()["frozen"] is True and page.text("#clock-state") == "frozen"
        at = sim.clock()["now"]

        # Scenario: the replay of October-November 2022, chosen in the list.
        browser.evaluate("document.getElementById('scenario-select').value = "
                         "'insi-oct-nov-2022'")
        page.click("#scenario-activate")
        assert sim.scenario()["name"] == "insi-oct-nov-2022"
        assert page.text("#scenario-name") == "insi-oct-nov-2022"
        assert "cut-over-2022-10-24" in page.text("#scenario-rules")

        # Traffic over simulated days: the cut-over evening (faults), a settling day
        # (latency), and a hostile body; the page must show it without reloading.
        for _ in range(3):
            post(sim.insi_url, traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"))
        sim.set_clock("2022-11-10T20:00:00+01:00")
        for _ in range(3):
            post(sim.insi_url, traits_request("ADRUN", "ZOE", "F", "1975-12-31"))
        post(sim.insi_url, HOSTILE)
        served = sim.journal(bodies=False)
        browser.wait_for(f"document.querySelectorAll('#journal-rows tr[data-request-id]')"
                         f".length === {len(served)}", "the poll to bring the new rows")
        assert browser.evaluate("window.notReloaded") is True
        assert [row["id"] for row in page.rows()] == [e["request_id"] for e in served]
        cut_over = [r for r in page.rows() if r["cells"][0].startswith(at[:16])]
        assert len(cut_over) == 3 and all(r["kind"] == "fault" for r in cut_over)
        assert all("cut-over-2022-10-24" in r["cells"][5] for r in cut_over)

        # Filters: the outcome "fault" only, as the API counts them.
        browser.type("#filter-outcome", "fault")
        page.click("#filter-apply")
        faults = sim.journal(bodies=False, outcome="fault")
        assert [row["id"] for row in page.rows()] == [e["request_id"] for e in faults]
        assert page.text("#journal-count") == f"{len(faults)} matching"
        assert len(faults) < len(served)
        browser.click("#filter-clear")
        browser.wait_for(f"document.querySelectorAll('#journal-rows tr[data-request-id]')"
                         f".length === {len(served)}", "every row back")
        assert browser.evaluate("document.getElementById('filter-outcome').value") == ""

        # Opening an exchange shows its request id and bodies, as text.
        first_call = served[-1]["request_id"]
        page.click(f"#journal-rows tr[data-request-id='{first_call}']")
        entry = sim.journal_entry(first_call)
        assert page.text("#exchange-id") == first_call
        assert page.text("#exchange-request") == entry["request_body"]
        assert page.text("#exchange-response") == entry["response_body"]
        hostile = next(e for e in served if "onerror" in (sim.journal_entry(
            e["request_id"])["request_body"] or ""))
        page.click(f"#journal-rows tr[data-request-id='{hostile['request_id']}']")
        assert page.text("#exchange-request") == HOSTILE.decode()
        assert browser.evaluate("document.querySelectorAll('#exchange img, #exchange script')"
                                ".length") == 0
        assert browser.evaluate("window.pwned") is None

        # Charts: what the stats endpoints say, drawn.
        latency = {op["operation"]: op for op in sim.latency_stats()}
        traits = latency["rechercherInsAvecTraitsIdentite"]
        drawn = browser.evaluate(
            "[...document.querySelectorAll('#latency-chart rect.p99')].map(r => "
            "[r.dataset.operation, Number(r.dataset.ms)])")
        assert ["rechercherInsAvecTraitsIdentite", traits["p99_ms"]] in drawn
        days = sim.injection_stats()
        assert {d["day"] for d in days} == {"2022-10-24", "2022-11-10"}
        assert days[0]["actions"] == {"fault": 3}
        bars = browser.evaluate(
            "[...document.querySelectorAll('#injections-chart rect.injected')].map(r => "
            "[r.dataset.day, r.dataset.action, Number(r.dataset.count)])")
        assert ["2022-10-24", "fault", 3] in bars
        assert browser.evaluate("document.querySelectorAll('#injections-chart rect.delay')"
                                "[0].dataset.day") == "2022-11-10"

        browser.click("#exchange-close")
        browser.wait_for("document.getElementById('exchange').hidden")
        ARTEFACTS.mkdir(exist_ok=True)
        shot = browser.screenshot(ARTEFACTS / "dashboard-controls.png", full_page=False)
        charts = browser.evaluate(  # where the charts are in the screenshot (viewport)
            "['latency-chart', 'injections-chart'].map(id => { const r = document"
            ".querySelector('#' + id + ' svg').getBoundingClientRect();"
            " return [r.left, r.top, r.right, Math.min(r.bottom, innerHeight)]; })")

        # Clearing the scenario, then resetting (a second click confirms).
        page.click("#scenario-clear")
        assert sim.scenario() == {"active": False}
        assert page.text("#scenario-name") == "none"
        browser.click("#reset")
        assert sim.journal(bodies=False), "one click must not reset"
        page.click("#reset")
        assert sim.journal(bodies=False) == [] and sim.clock()["frozen"] is False
        assert page.rows() == [] and page.text("#journal-count") == "0 matching"
        assert "Reset:" in page.text("#status")
        assert browser.evaluate("window.notReloaded") is True

    image = Image.open(shot).convert("RGB")
    assert image.size == SIZE

    def colours(box) -> set:
        return {c for _, c in image.crop(tuple(round(v) for v in box))
                .getcolors(maxcolors=1 << 20)}
    assert P99 in colours(charts[0]), "the latency chart's p99 bars are not drawn"
    assert FAULT_BAR in colours(charts[1]), "the injected faults are not drawn"


def test_without_a_token_the_page_passes_the_cross_site_guard(tmp_path):
    # Tokenless, the control plane refuses changes from foreign pages (Origin, form
    # bodies); the dashboard's own calls (same origin, JSON) must still get through.
    with start_simulator() as sim, Chromium(CHROMIUM, tmp_path / "profile", SIZE) as browser:
        sim.set_clock("2022-11-04T10:00:00+01:00", frozen=False)
        page = Page(browser)
        browser.open(sim.base_url + "/_admin/")
        page.click("#clock-freeze")
        assert sim.clock()["frozen"] is True, page.text("#status")
        page.click("#scenario-activate")
        assert sim.scenario()["active"] is True, page.text("#status")
        page.click("#scenario-clear")
        assert sim.scenario() == {"active": False}, page.text("#status")
