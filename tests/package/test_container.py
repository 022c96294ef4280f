"""The image, built and run with podman: health check (plain and under SIM_TLS), an INSi
search, the README's DMP walk-through, state kept across a restart on the same volume.

The image is built from the Dockerfile with the wheel under test (build argument
``PACKAGE``), on ``INSI_DMP_SIM_BASE_IMAGE`` when set (CI: a Debian image it builds
itself, no registry being reachable) and with ``INSI_DMP_SIM_WHEELS`` as the only
package source when set (``PIP_ARGS``).
"""
from __future__ import annotations

import socket
import subprocess
import time
import uuid

import pytest
import requests
from lxml import etree

from package_support import ROOT, podman
from envelopes import SOAP_CT, traits_request

pytestmark = pytest.mark.package

EXAMPLES = ROOT / "docs" / "examples" / "dmp"
DMP = "/si-dmp-server/v2/services"
HL7 = "{urn:hl7-org:v3}"
RIM = "{urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0}"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
ENTRY = "urn:uuid:7c0e6d36-3b0a-4f5e-9a51-5d0b7c1f2a01"
MASKED = "urn:uuid:7c0e6d36-3b0a-4f5e-9a51-5d0b7c1f2a02"
TOKEN = "container-test-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Container:
    """One ``podman run -d`` of the image, published on a free port of the host."""

    def __init__(self, image: str, volume: str, env: dict[str, str]):
        self.port = free_port()
        options = [arg for k, v in env.items() for arg in ("-e", f"{k}={v}")]
        self.started = time.monotonic()
        # No systemd here: podman cannot schedule the health check; it is run by hand.
        self.id = podman("run", "-d", "--health-interval", "disable", "-p",
                         f"127.0.0.1:{self.port}:8080", "-v", f"{volume}:/data", *options,
                         image).stdout.strip().splitlines()[-1]

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_answering(self, scheme: str = "http") -> float:
        """Seconds from ``podman run`` to the first 200 on /_admin/health from the host."""
        url = f"{scheme}://127.0.0.1:{self.port}/_admin/health"
        while time.monotonic() - self.started < 60:
            try:
                if requests.get(url, timeout=1, verify=False).status_code == 200:
                    return time.monotonic() - self.started
            except requests.RequestException:
                time.sleep(0.05)
        raise AssertionError(f"not answering after 60 s:\n{self.logs()}")

    def healthcheck(self) -> subprocess.CompletedProcess:
        """The image's own HEALTHCHECK command, run inside the container."""
        return podman("healthcheck", "run", self.id, check=False, timeout=60)

    def logs(self) -> str:
        done = podman("logs", self.id, check=False)
        return done.stdout + done.stderr

    def stop(self) -> subprocess.CompletedProcess:
        return podman("stop", "-t", "20", self.id, check=False, timeout=60)

    def remove(self) -> None:
        podman("rm", "-f", self.id, check=False)


@pytest.fixture
def volume():
    name = f"insi-dmp-sim-test-{uuid.uuid4().hex[:8]}"
    podman("volume", "create", name)
    yield name
    podman("volume", "rm", "-f", name, check=False)


def soap(container: Container, service: str, name: str) -> requests.Response:
    content_type = SOAP_CT
    if name.endswith(".mtom"):
        content_type = (EXAMPLES / name.replace(".mtom", ".content-type")).read_text().strip()
    answer = requests.post(container.url(f"{DMP}/{service}"), timeout=30,
                           data=(EXAMPLES / name).read_bytes(),
                           headers={"Content-Type": content_type})
    assert answer.status_code == 200, answer.text[:500]
    return answer


def body(answer: requests.Response):
    return etree.fromstring(answer.content)[1][0]


def existence(container: Container) -> str:
    answer = body(soap(container, "patients", "01-test-existence.xml"))
    return answer.find(f".//{HL7}queryResponseCode").get("code")


def documents(container: Container) -> set[str]:
    answer = body(soap(container, "registry", "05-find-documents.xml"))
    return {e.get("id") for e in answer.iter(f"{RIM}ExtrinsicObject")}


def test_image_runs_answers_and_keeps_its_state_across_a_restart(image, volume):
    # The walk-through's requests carry VIHFs dated 2025-01-15T10:00:00Z (README).
    env = {"SIM_DATE": "2025-01-15T10:00:00Z", "SIM_FROZEN": "true", "SIM_ADMIN_TOKEN": TOKEN}
    first = Container(image, volume, env)
    try:
        answering = first.wait_answering()
        check = first.healthcheck()
        assert check.returncode == 0, check.stdout + check.stderr + first.logs()
        print(f"first start: answering after {answering:.2f} s, health check "
              f"{check.stdout.strip()!r}")
        assert "Ready on port 8080" in first.logs()
        insi = requests.post(first.url("/lps"), timeout=30, headers={"Content-Type": SOAP_CT},
                             data=traits_request("ADRUN", "ZOE", "F", "1975-12-31"))
        assert insi.status_code == 200 and b"<CodeCR>00</CodeCR>" in insi.content
        # Seen from a container the host is not loopback: the control plane wants the token.
        assert requests.get(first.url("/_admin/journal"), timeout=10).status_code in (401, 403)
        journal = requests.get(first.url("/_admin/journal"), timeout=10,
                               headers={"Authorization": f"Bearer {TOKEN}"})
        assert journal.status_code == 200

        assert existence(first) == "NF"
        create = body(soap(first, "patients", "02-create.xml"))
        assert create.find(f"{HL7}acknowledgement").get("typeCode") == "AA"
        authorise = body(soap(first, "habilitations", "03-authorise.xml"))
        assert authorise.findtext("{urn:si-dmp-habilitations}status") == "DMPOK"
        assert existence(first) == "OK"
        assert body(soap(first, "repository", "04-feed.mtom")).get("status") == SUCCESS
        assert ENTRY in documents(first)
        retrieved = soap(first, "repository", "06-retrieve.xml")
        assert retrieved.headers["Content-Type"].startswith("multipart/related")
        stopped = first.stop()
        assert stopped.returncode == 0, stopped.stderr
        assert "Traceback" not in first.logs()
    finally:
        first.remove()

    second = Container(image, volume, env)  # same volume: the DMP and its document remain
    try:
        answering = second.wait_answering()
        print(f"restart: answering after {answering:.2f} s")
        assert existence(second) == "OK"
        assert ENTRY in documents(second)
        assert body(soap(second, "registry", "07-mask.xml")).get("status") == SUCCESS
        assert body(soap(second, "registry", "08-delete.xml")).get("status") == SUCCESS
        assert not {ENTRY, MASKED} & documents(second)  # the lot signature remains
        assert second.stop().returncode == 0
    finally:
        second.remove()


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_health_check_follows_sim_tls(image, volume):
    # A required client certificate: the check presents the generated one.
    container = Container(image, volume, {"SIM_TLS": "true",
                                          "SIM_TLS_REQUIRE_CLIENT_CERT": "true"})
    try:
        deadline = time.monotonic() + 60
        while (check := container.healthcheck()).returncode != 0:
            assert time.monotonic() < deadline, check.stdout + check.stderr + container.logs()
            time.sleep(0.2)
        assert "TLS: generated a test PKI in /data/pki" in container.logs()
        with pytest.raises(requests.exceptions.SSLError):  # no client certificate
            requests.get(container.url("/_admin/health").replace("http:", "https:"),
                         timeout=10, verify=False)
    finally:
        container.stop()
        container.remove()


def test_healthcheck_runs_often_enough_to_see_a_server_up_within_two_seconds():
    # The server answers about a second after start (README, Performance); Docker runs
    # the first check one interval after start, so the interval must stay at 1 s.
    text = (ROOT / "Dockerfile").read_text()
    assert "HEALTHCHECK --interval=1s " in text
    assert "pip install -e" not in text
