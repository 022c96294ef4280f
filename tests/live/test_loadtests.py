"""The Locust load tests (loadtests/), smoke-run against a simulator on a free port.

Locust runs as a subprocess, as it would by hand, and the tests read its CSV reports:
every request name of the INSi sequences and of the DMP transactions shows up with no
failure; with the insi-down scenario the failures are named by their fault code, and a
DMP refusal by its DMP code. The DMP requests' content (canonical CDA and lot-signature
digest, INS, OID and traits of the registry) is checked in a subprocess, since importing
the load-test modules imports Locust, which monkey-patches the process.
Skipped when Locust is not installed (it comes with the ``test`` extra).
"""
from __future__ import annotations

import csv
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.testing import start_simulator

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = ROOT / "loadtests" / "locustfile.py"
LOCUST = Path(sys.executable).with_name("locust")

EXPECTED_NAMES = ("traits: first name", "traits: full list", "traits: with birth place",
                  "vitale: ouvrant droit + rang", "vitale: individual matricule")
INSI_USERS = ("InsiDeskUser", "InsiVitaleUser")
DMP_USERS = ("DmpFeedUser", "DmpConsultUser")
DMP_NAMES = ("dmp: TD0.2 test existence", "dmp: TD1.1 create", "dmp: TD0.3 authorise",
             "dmp: TD2.1 feed", "dmp: TD3.1 find documents", "dmp: TD3.2 retrieve",
             "dmp: TD3.1b entryUUID", "dmp: TD3.3c delete")
LEGACY_NAMES = ("dmp: TD0.0 certify", "dmp v1: TD0.2 test existence")
ADRUN = "275126322074974"
EAI = "10B0167011/EAI"            # the feeding EAI's VIHF NameID with the default structure

pytestmark = pytest.mark.skipif(not LOCUST.exists(),
                                reason=f"locust is not installed ({LOCUST} not found)")


@pytest.fixture(scope="module")
def sim():
    """An in-process simulator for this module (quiet request log)."""
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)
    try:
        with start_simulator() as handle:
            yield handle
    finally:
        werkzeug_log.setLevel(level)


def run_locust(sim, out: Path, users: int, seconds: int, classes: tuple[str, ...] = INSI_USERS,
               **env_changes: str) -> tuple[subprocess.CompletedProcess, dict, list[dict]]:
    """Run the locustfile's ``classes`` headless; returns the process, the stats rows by
    name and the failure rows."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("LOCUST_", "INSI_", "DMP_", "LOADTEST_", "SIM_"))}
    env["LOADTEST_WAIT"] = "0.01,0.05"       # brisk, so a few seconds cover every path
    env.update(env_changes)
    command = [str(LOCUST), "-f", str(LOCUSTFILE), *classes, "--headless", "-u", str(users),
               "-r", str(users), "-t", f"{seconds}s", "--only-summary",
               "--host", sim.base_url, "--csv", str(out / "run")]
    # cwd: a directory without locust.conf or pyproject.toml, so no stray configuration.
    process = subprocess.run(command, cwd=out, env=env, capture_output=True, text=True,
                             timeout=seconds + 30)
    stats_file = out / "run_stats.csv"
    assert stats_file.exists(), f"no CSV report\n{process.stdout}\n{process.stderr}"
    with stats_file.open(newline="") as f:
        stats = {row["Name"]: row for row in csv.DictReader(f)}
    with (out / "run_failures.csv").open(newline="") as f:
        failures = list(csv.DictReader(f))
    return process, stats, failures


def test_smoke_run_covers_every_step_without_failure(sim, tmp_path):
    sim.clear_scenario()
    process, stats, failures = run_locust(sim, tmp_path, users=5, seconds=5)
    report = f"{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    total = stats["Aggregated"]
    assert int(total["Request Count"]) > 100, report
    assert int(total["Failure Count"]) == 0, f"{failures}\n{report}"
    assert failures == []
    for name in EXPECTED_NAMES:
        assert name in stats and int(stats[name]["Request Count"]) > 0, (name, report)
    assert process.returncode == 0, report
    assert "Traceback" not in process.stderr, report


def test_insi_down_failures_are_named_by_fault_code(sim, tmp_path):
    sim.set_scenario("insi-down")
    try:
        process, stats, failures = run_locust(sim, tmp_path, users=2, seconds=2)
    finally:
        sim.clear_scenario()
    report = f"{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    assert int(stats["Aggregated"]["Failure Count"]) > 0, report
    assert failures, report
    for row in failures:
        assert "fault desir_1020 (siram_40, HTTP 500)" in row["Error"], row
    assert process.returncode == 1, report     # Locust's exit code when requests failed


@pytest.fixture
def fresh_sim(sim):
    """The module's simulator, reset before and after the test (the DMP tests move its
    clock and fill its DMPs)."""
    sim.clear_scenario()
    sim.reset()
    yield sim
    sim.reset()


def test_dmp_smoke_run_covers_every_transaction_without_failure(fresh_sim, tmp_path):
    # A simulated date far from the wall clock: the VIHF IssueInstant is accepted only
    # when the users read the platform's clock. After 2023-04-29, so feeds must carry a
    # qualified INS (known to the registry, traits as INSi gives them).
    fresh_sim.set_clock("2024-03-01T09:00:00+01:00", frozen=False)
    process, stats, failures = run_locust(fresh_sim, tmp_path, users=4, seconds=5,
                                          classes=DMP_USERS, DMP_DELETE_SHARE="0.5")
    report = f"{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    assert int(stats["Aggregated"]["Failure Count"]) == 0, f"{failures}\n{report}"
    assert failures == []
    for name in DMP_NAMES:
        assert name in stats and int(stats[name]["Request Count"]) > 0, (name, report)
    assert process.returncode == 0, report
    assert "Traceback" not in process.stderr, report
    feeds = [e for e in fresh_sim.journal(limit=100)
             if e["operation"] == "ProvideAndRegisterDocumentSet-b"]
    assert feeds and all(e["outcome"].endswith(", qualified INS") for e in feeds), feeds
    # Each deletion the client counted is an ITI-57 the server recorded (no sleep: the
    # journal read is complete when it returns); the server may have answered a few more
    # that Locust's run-time limit cut before the client counted them.
    assert fresh_sim.count(operation="UpdateDocumentSet", outcome="Success") >= \
        int(stats["dmp: TD3.3c delete"]["Request Count"]) > 0


def test_legacy_flows_run_before_their_cutoff_and_stop_after(fresh_sim, tmp_path):
    # December 2022: TD0.0 and API v1 still answer (docs/timeline.md).
    fresh_sim.set_clock("2022-12-10T09:00:00+01:00", frozen=False)
    process, stats, failures = run_locust(fresh_sim, tmp_path, users=2, seconds=4,
                                          classes=("DmpLegacyUser",))
    report = f"{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    assert failures == [] and process.returncode == 0, f"{failures}\n{report}"
    for name in LEGACY_NAMES:
        assert name in stats and int(stats[name]["Request Count"]) > 0, (name, report)
    assert fresh_sim.count(operation="identityCertification") >= \
        int(stats["dmp: TD0.0 certify"]["Request Count"])
    # After the grace (2023-04-29), a client no longer calls them: nothing is sent.
    fresh_sim.reset()
    fresh_sim.set_clock("2023-05-02T09:00:00+02:00", frozen=False)
    process, stats, failures = run_locust(fresh_sim, tmp_path, users=2, seconds=2,
                                          classes=("DmpLegacyUser",))
    assert not any(name in stats for name in LEGACY_NAMES), process.stdout[-3000:]
    assert fresh_sim.count(service="dmp") == 0


def test_dmp_refusal_is_named_by_its_code(fresh_sim, tmp_path):
    # ADRUN's DMP exists (TD1.1 sent with the client kit, so that no timed run is needed
    # to open it); the patient blocks the EAI: its TD0.3 is refused in-band, named by the
    # DMP status, and nothing is fed.
    import urllib.request

    from simulator.kit import hl7, soap, vihf
    raw = soap.envelope(hl7.create().decode(), action="urn:hl7-org:v3:PRPA_IN201311UV02",
                        service="patients", issue_instant=fresh_sim.clock()["now"],
                        host=fresh_sim.base_url, **vihf.structure())
    with urllib.request.urlopen(urllib.request.Request(
            fresh_sim.dmp_url("patients"), raw, {"Content-Type": soap.SOAP_CT})) as answer:
        assert b'typeCode="AA"' in answer.read()
    fresh_sim.admin("PUT", f"/dmp/patients/{ADRUN}/professionals",
                    {"professional_id": EAI, "blocked": True})
    # One run, whose first two requests (TD0.2, TD0.3) are all the test needs.
    process, stats, failures = run_locust(fresh_sim, tmp_path, users=1, seconds=5,
                                          classes=("DmpFeedUser",), DMP_PATIENTS=ADRUN)
    report = f"{process.stdout[-3000:]}\n{process.stderr[-3000:]}"
    assert failures, report
    for row in failures:
        assert row["Name"] == "dmp: TD0.3 authorise", row
        assert "'status DMPAccessDenied'" in row["Error"], row
    assert "dmp: TD2.1 feed" not in stats, report
    assert process.returncode == 1, report


_FEED_CHECK = r"""
import base64, hashlib, json, random
from lxml import etree
from dmp_answers import unpack
from dmp_load import PATIENTS, PlatformClock, Session, hospital_eai
from dmp_xds import feed_request
from simulator.identities.cnda import cnda_identities
from simulator.identities.model import OID_INS_NIA
from simulator.services.dmp.ins_oid import NIA, NIR, allowed_oids

H, R, DS = "urn:hl7-org:v3", "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0", \
    "http://www.w3.org/2000/09/xmldsig#"
registry = {i.active.number + i.active.key: i for i in cnda_identities()}
clock = PlatformClock("http://127.0.0.1:9")          # nobody there: the wall clock
sessions = [Session("http://dmp.example", hospital_eai(), clock, random.Random(n))
            for n in (1, 2)]
problems, unique_ids = [], []
for patient in PATIENTS:
    for session in sessions:
        request = feed_request(session, patient)
        root, parts = unpack(request.content_type, request.body)
        envelope = etree.fromstring(root)
        document, signature = parts["0.2"], parts["0.3"]
        canonical = etree.tostring(etree.fromstring(document).getroottree(), method="c14n",
                                   with_comments=True)
        if canonical != document:
            problems.append((patient.label, "the CDA bytes are not their canonical form"))
        ids = {e.get("identificationScheme"): e.get("value")
               for e in envelope.iter("{%s}ExternalIdentifier" % R)}
        set_uid = ids["urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"]
        entry = envelope.find(".//{%s}ExtrinsicObject[@id='Document01']" % R)
        doc_uid = [e.get("value") for e in entry.iter("{%s}ExternalIdentifier" % R)
                   if e.get("identificationScheme").endswith("8640a32e42ab")][0]
        sig = etree.fromstring(signature)
        digests = {r.get("URI"): r.findtext("{%s}DigestValue" % DS)
                   for r in sig.iter("{%s}Reference" % DS) if r.get("URI", "").startswith("urn:oid:")}
        expected = {f"urn:oid:{set_uid}": "AA==",
                    f"urn:oid:{doc_uid}": base64.b64encode(hashlib.sha1(canonical).digest()).decode()}
        if digests != expected:
            problems.append((patient.label, "manifest", digests, expected))
        unique_ids += [set_uid, doc_uid, sig.get("Id")]
        cda = etree.fromstring(document)
        target = cda.find(f"{{{H}}}recordTarget/{{{H}}}patientRole/{{{H}}}id")
        person = registry[patient.ins]
        resource = [v.text for a in envelope.iter("{urn:oasis:names:tc:SAML:2.0:assertion}Attribute")
                    if a.get("Name").endswith("resource-id") for v in a]
        cx = f"{target.get('extension')}^^^&{target.get('root')}&ISO^NH"
        # The OID of the identity's type on the test platform (DMP.md §3.2).
        oid = allowed_oids(NIA if person.active.oid == OID_INS_NIA else NIR, "test")[0]
        if (target.get("extension"), target.get("root")) != (patient.ins, oid) \
                or resource != [cx] or ids["urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"] != cx:
            problems.append((patient.label, "INS/OID", cx, resource, oid))
        info = [v.text for s in envelope.iter("{%s}Slot" % R) if s.get("name") == "sourcePatientInfo"
                for v in s.iter("{%s}Value" % R)]
        wanted = [f"PID-5|{person.birth_name}^{person.first_names[0]}^^^^^L",
                  "PID-7|" + person.birth_date.replace("-", ""), "PID-8|" + person.sex]
        if info != wanted:
            problems.append((patient.label, "traits", info, wanted))
print(json.dumps({"patients": len(PATIENTS), "problems": problems,
                  "unique": len(set(unique_ids)) == len(unique_ids) == 6 * len(PATIENTS)}))
"""


def test_dmp_feed_requests_carry_the_registry_identity_and_canonical_digests():
    env = {key: value for key, value in os.environ.items() if not key.startswith("DMP_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "loadtests"), str(ROOT)])
    process = subprocess.run([sys.executable, "-c", _FEED_CHECK], cwd=ROOT / "loadtests",
                             env=env, capture_output=True, text=True, timeout=60)
    assert process.returncode == 0, process.stderr[-3000:]
    result = json.loads(process.stdout.strip().splitlines()[-1])
    assert result["patients"] >= 10 and result["problems"] == [] and result["unique"], result
