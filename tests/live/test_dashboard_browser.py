"""The dashboard in a real browser: headless Chromium loads /_admin/ from a live
simulator, and the test reads both the DOM it built and the screenshot it drew: the
date, scenario and journal, and the timeline's readiness table and feeding chart."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from simulator.kit import hl7  # noqa: E402
from simulator.kit.soap import envelope  # noqa: E402
from envelopes import traits_request  # noqa: E402
from simulator.settings import Settings, parse_datetime  # noqa: E402
from simulator.store.sqlite import open_store  # noqa: E402
from simulator.testing import start_simulator  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FAULT_ROW = (0xFD, 0xE2, 0xE2)  # tr.fault background in the dashboard's CSS
# Bar colours of the feeding chart (.qualified, .non-qualified, .ins-c in the CSS).
QUALIFIED, NON_QUALIFIED, INS_C = (0x2E, 0x7D, 0x32), (0xE0, 0xA0, 0x00), (0xC6, 0x28, 0x28)
SIZE = (1280, 3200)  # tall enough for the reports below the journal and charts
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                                "(.ci/run installs Debian's chromium package)")


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    """Headless Chromium as root, kept off the network (see the machine notes)."""
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}",
         f"--window-size={SIZE[0]},{SIZE[1]}", *args],
        capture_output=True, timeout=60, check=True)


def post(url: str, body: bytes) -> None:
    import urllib.error
    import urllib.request
    request = urllib.request.Request(url, data=body, headers={
        "Content-Type": "application/soap+xml; charset=utf-8"})
    try:
        urllib.request.urlopen(request, timeout=10).read()
    except urllib.error.HTTPError:
        pass  # the fault is what we want on the page


def test_dashboard_shows_date_scenario_and_highlighted_faults(tmp_path):
    from PIL import Image
    with start_simulator() as sim:
        sim.set_clock("2022-11-04T10:00:00+01:00")
        post(sim.insi_url, traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"))
        sim.set_scenario("insi-down")
        post(sim.insi_url, traits_request("ADRUN", "ZOE", "F", "1975-12-31"))
        page = sim.base_url + "/_admin/"
        dom = chromium("--dump-dom", page, profile=tmp_path / "p1").stdout.decode()
        shot = tmp_path / "dashboard.png"
        chromium(f"--screenshot={shot}", page, profile=tmp_path / "p2")

    assert '<span class="now" id="now">2022-11-04 09:00:00 UTC</span>' in dom
    assert "insi-down" in dom and "insi-response-format-current" in dom
    # Rendered by the server, or again by the page's script (focusable rows).
    assert re.search(r'<tr class="fault" data-request-id="[0-9a-f]{16}"( tabindex="0")?>'
                     r'<td>2022-11-04T09:00', dom)
    assert "fault siram_40/desir_1020" in dom and "<td>CR 00</td>" in dom

    image = Image.open(shot).convert("RGB")
    assert image.size == SIZE
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 20)}
    assert FAULT_ROW in colours, "the fault row is not drawn in its highlight colour"
    assert len(colours) > 20, "the screenshot looks blank"
    assert QUALIFIED not in colours, "a feeding bar is drawn though nothing was fed"


def test_dashboard_shows_readiness_on_a_chosen_date_and_the_feeding_chart(tmp_path):
    from PIL import Image
    data = tmp_path / "data"
    with start_simulator(settings=Settings.from_env(population=50, data_dir=data)) as sim:
        sim.set_clock("2022-12-10T10:00:00+01:00")
        post(sim.insi_url, traits_request("ADRTROIS", "DOMINIQUE", "F", "1997-02-26"))
        # A DMP v2 call (TD0.2) from MON-DPI 4.2 of structure 10B0167011, counted by
        # begin_call.
        post(sim.base_url + "/si-dmp-server/v2/services/patients", envelope(
            hl7.query().decode(), action="urn:hl7-org:v3:PRPA_IN201307UV02",
            service="patients", issue_instant="2022-12-10T09:00:00Z"))
        # Feeds and a TD0.0 flow written as another worker would (the counting of real
        # feeds is the repository's business, tested with it).
        timeline, day = open_store(data).timeline, parse_datetime("2022-12-10T09:00:00Z")
        timeline.record_usage([(day, "DXCARE-7.7.7", "10B0167011", "td00", "none",
                                "identityCertification")])
        timeline.count_feed(day, "10B0167011", "MON-DPI-4.2", "qualified", 6)
        timeline.count_feed(day, "10B0167011", "MON-DPI-4.2", "non-qualified", 2)
        timeline.count_feed(parse_datetime("2022-11-10T09:00:00Z"), "10B0167011",
                            "DXCARE-7.7.7", "ins-c", 3)
        page = sim.base_url + "/_admin/?date=2023-04-29"
        dom = chromium("--dump-dom", page, profile=tmp_path / "p1").stdout.decode()
        shot = tmp_path / "reports.png"
        chromium(f"--screenshot={shot}", page, profile=tmp_path / "p2")

    assert 'id="readiness-stage">closed</b>' in dom and 'value="2023-04-29"' in dom
    assert '<tr class="breaks"><td>DXCARE-7.7.7</td><td>10B0167011</td>' in dom
    assert "<b>td00-removed</b> since 2023-04-29" in dom
    assert "<b>dmp-feeding-requires-qualified-ins</b> since 2023-04-29" in dom
    assert "<td>urn:lps:test:1.0-2022</td><td>10B0152872</td>" in dom
    assert "<code>insi</code> 2022-12" in dom and "<code>dmp-v2</code> 2022-12" in dom
    assert "<td>2022-12</td><td>6</td><td>2</td><td>0</td><td>8</td>" in dom
    assert "<td>75.0 %</td>" in dom
    assert 'class="bar qualified" data-month="2022-12" data-count="6"' in dom
    assert 'class="bar ins-c" data-month="2022-11" data-count="3"' in dom

    image = Image.open(shot).convert("RGB")
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 20)}
    for colour, kind in ((QUALIFIED, "qualified"), (NON_QUALIFIED, "non-qualified"),
                         (INS_C, "INS-C")):
        assert colour in colours, f"no {kind} bar drawn in the feeding chart"
