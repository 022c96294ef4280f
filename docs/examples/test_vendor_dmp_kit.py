"""Example: testing your DMP client code with the client kit and the journal.

``send`` stands for your software's DMP client; the requests are built with
``simulator.kit`` (docs/kit.md), dated by the simulator's clock and signed with the
kit's test PKI (accepted while the simulator judges no certificate chain). Each test
checks what was sent with the journal, right after the calls: no sleep, no retry.
"""
import urllib.error
import urllib.request

from simulator.kit import habilitations, hl7, registry, soap, vihf, xds

ADRUN = "275126322074974"  # ADRUN Zoé, a CNDA test person
SOFTWARE = "MY-DPI"


def send(sim, service, body, action, **vihf_options):
    """POST one DMP request built with the kit; (HTTP status, answer bytes)."""
    options = dict({"software": SOFTWARE, "software_version": "2.0"}, **vihf_options)
    raw = soap.envelope(body, action=action, service=service,
                        issue_instant=sim.clock()["now"], host=sim.base_url, **options)
    return post(sim.dmp_url(service), raw, soap.SOAP_CT)


def post(url, raw, content_type):
    request = urllib.request.Request(url, raw, {"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def open_and_authorise(sim):
    """TD1.1 then TD0.3 for ADRUN, as a physician in AIR mode."""
    status, answer = send(sim, "patients", hl7.create().decode(),
                          "urn:hl7-org:v3:PRPA_IN201311UV02")
    assert status == 200 and b'typeCode="AA"' in answer
    status, answer = send(sim, "habilitations", habilitations.set_authorization("AJOUT"),
                          habilitations.SET_AUTHORIZATION)
    assert status == 200 and b"DMPOK" in answer


def test_a_discharge_letter_is_fed_once(insi_dmp_sim):
    open_and_authorise(insi_dmp_sim)
    content_type, package, _ = xds.iti41_mtom(
        (xds.Doc(),), issue_instant=insi_dmp_sim.clock()["now"],
        envelope_options={"host": insi_dmp_sim.base_url, "software": SOFTWARE,
                          "software_version": "2.0"})
    status, answer = post(insi_dmp_sim.dmp_url("repository"), package, content_type)
    assert status == 200 and b"ResponseStatusType:Success" in answer
    insi_dmp_sim.assert_sent(times=1, service="dmp",
                             operation="ProvideAndRegisterDocumentSet-b", patient=ADRUN)
    assert insi_dmp_sim.count(service="dmp", outcome="fault") == 0


def test_the_eai_may_feed_but_not_consult(insi_dmp_sim):
    open_and_authorise(insi_dmp_sim)
    mark = insi_dmp_sim.mark()
    status, _ = send(insi_dmp_sim, "registry", registry.find_documents(),
                     registry.STORED_QUERY_ACTION, **vihf.structure(software=SOFTWARE))
    assert status == 200                              # refused in-band (XDS RegistryError)
    [refused] = insi_dmp_sim.find(since=mark)
    assert refused["operation"] == "RegistryStoredQuery"
    assert "Failure" in refused["outcome"], refused


def test_every_call_is_in_the_journal_at_once(insi_dmp_sim):
    for number in range(1, 6):
        send(insi_dmp_sim, "patients", hl7.query().decode(),
             "urn:hl7-org:v3:PRPA_IN201307UV02")
        assert insi_dmp_sim.count(service="dmp", operation="PRPA_IN201307UV02") == number
