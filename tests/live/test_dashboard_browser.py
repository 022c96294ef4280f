"""The dashboard in a real browser: headless Chromium loads /_admin/ from a live
simulator, and the test reads both the DOM it built and the screenshot it drew."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from envelopes import traits_request  # noqa: E402
from simulator.testing import start_simulator  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FAULT_ROW = (0xFD, 0xE2, 0xE2)  # tr.fault background in the dashboard's CSS
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed "
                                "(.ci/run installs Debian's chromium package)")


def chromium(*args: str, profile: Path) -> subprocess.CompletedProcess:
    """Headless Chromium as root, kept off the network (see the machine notes)."""
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={profile}", "--window-size=1280,1000", *args],
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
    assert '<tr class="fault"><td>2022-11-04T09:00' in dom
    assert "fault siram_40/desir_1020" in dom and "<td>CR 00</td>" in dom

    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 1000)
    colours = {colour for _, colour in image.getcolors(maxcolors=1 << 20)}
    assert FAULT_ROW in colours, "the fault row is not drawn in its highlight colour"
    assert len(colours) > 20, "the screenshot looks blank"
