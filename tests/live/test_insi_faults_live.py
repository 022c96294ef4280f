"""INSi faults and dated wire formats, seen by zeep over a real socket (domain brief §6, §7)."""
from __future__ import annotations

import pytest
import requests
import zeep
from lxml import etree

from insi_live import (
    ACTION_PREFIX, DEFAULT_IDAM, HTTP_TIMEOUT, NS_SOAP12, NS_WSA, OP_TRAITS, fault_erreur,
    fault_subcodes, new_message_id)

NS_RESULTAT = "http://www.cnamts.fr/INSiResultat"
REASON_IDAM = ("L'accès par ce progiciel au service n'est pas autorisé. Contactez l'éditeur "
               "du progiciel ou votre responsable informatique.")


def _call_fault(call) -> zeep.exceptions.Fault:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call()
    return caught.value


def assert_idam_fault(fault, client, message_id):
    assert fault.code.split(":")[-1] == "Sender"
    assert fault_subcodes(fault) == ["siram_100"]
    assert fault.message == REASON_IDAM
    erreur = fault_erreur(fault)
    assert erreur.get("code") == "desir_550"
    assert erreur.get("severite") == "erreur"
    assert erreur.get("messageID") == message_id
    assert erreur.text == "Numéro d'autorisation du logiciel inconnu."
    assert client.last_status == 500


# --------------------------------------------------------------------------
# siram_100 / desir_550: unknown IDAM
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def idam_server(live_server_factory):
    """A server that only knows one software authorisation number."""
    return live_server_factory(insi_idams=("AAA111BBB222",))


@pytest.mark.parametrize("kind", ["ours", "official"])
def test_unknown_idam_on_allow_listed_server(idam_server, client_for, kind):
    client = client_for(kind, idam_server)
    message_id = new_message_id()
    fault = _call_fault(lambda: client.traits("ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14",
                                              message_id=message_id))
    assert_idam_fault(fault, client, message_id)
    # the listed IDAM is accepted by the same server
    result = client.traits("ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14", idam="AAA111BBB222")
    assert result.CR.CodeCR == "00"
    assert client.last_status == 200


@pytest.mark.parametrize("idam,r", [("bad", "4"), (DEFAULT_IDAM.lower(), "4"),
                                    (DEFAULT_IDAM, "3")],
                         ids=["too-short", "lower-case", "R=3"])
def test_malformed_idam(insi_client, idam, r):
    message_id = new_message_id()
    fault = _call_fault(lambda: insi_client.traits(
        "ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14", idam=idam, idam_r=r,
        message_id=message_id))
    assert_idam_fault(fault, insi_client, message_id)


def test_idam_fault_on_vitale_search(insi_client):
    message_id = new_message_id()
    fault = _call_fault(lambda: insi_client.vitale(
        "2009-07-14", individu=("1090763220834", "89"), idam="bad", message_id=message_id))
    assert_idam_fault(fault, insi_client, message_id)


def test_fault_without_message_id_has_no_message_id_attribute(our_client):
    """With no wsa:MessageID in the request, siram:Erreur carries no messageID."""
    envelope = _traits_envelope(our_client, "ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14",
                                idam="bad", message_id=None)
    for message_id in envelope.iter(f"{{{NS_WSA}}}MessageID"):
        message_id.getparent().remove(message_id)
    response = _post_envelope(our_client.address, envelope)
    assert response.status_code == 500
    erreur = etree.fromstring(response.content).find(".//{urn:siram}Erreur")
    assert erreur.get("code") == "desir_550"
    assert "messageID" not in erreur.attrib


# --------------------------------------------------------------------------
# Missing or broken headers
# --------------------------------------------------------------------------


def test_missing_contexte_bam(insi_client):
    message_id = new_message_id()
    fault = _call_fault(lambda: insi_client.traits(
        "ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14", bam=False, message_id=message_id))
    assert fault.code.split(":")[-1] == "Sender"
    erreur = fault_erreur(fault)
    assert "ContexteBAM" in erreur.text
    assert erreur.get("messageID") == message_id
    assert insi_client.last_status == 500


def test_missing_contexte_lps(insi_client):
    fault = _call_fault(lambda: insi_client.traits(
        "ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14", lps=False))
    assert fault.code.split(":")[-1] == "Sender"
    assert "ContexteLPS" in fault_erreur(fault).text
    assert insi_client.last_status == 500


def test_missing_sexe_names_the_trait(insi_client):
    fault = _call_fault(lambda: insi_client.service.rechercherInsAvecTraitsIdentite(
        NomNaissance="ECETINSI", Prenom=["PIERRE-ALAIN"], DateNaissance="2009-07-14",
        _soapheaders=insi_client.headers()))
    assert fault.code.split(":")[-1] == "Sender"
    assert "Sexe" in fault_erreur(fault).text


def test_header_order_does_not_matter(insi_client):
    """Clients send the headers in several orders (domain brief §3.2)."""
    headers = list(reversed(insi_client.headers()))  # MessageID, BAM, LPS
    result = insi_client.service.rechercherInsAvecTraitsIdentite(
        NomNaissance="CORSE", Prenom=["ANTHONY"], Sexe="M", DateNaissance="1980-03-02",
        _soapheaders=headers)
    sent = [etree.QName(h).localname for h in insi_client.last_sent_xml().find(
        f"{{{NS_SOAP12}}}Header")]
    assert sent[:3] == ["MessageID", "ContexteBAM", "ContexteLPS"]
    assert result.CR.CodeCR == "00"


def test_empty_wsse_security_is_accepted(our_client):
    """mTLS mode: an empty wsse:Security header is accepted (domain brief §4.3). The
    official schema requires a SAML assertion inside, so only our client sends it."""
    security = our_client.client.get_element(
        "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd}"
        "Security")
    result = our_client.service.rechercherInsAvecTraitsIdentite(
        NomNaissance="CORSE", Prenom=["ANTHONY"], Sexe="M", DateNaissance="1980-03-02",
        _soapheaders=[security()] + our_client.headers())
    assert result.CR.CodeCR == "00"


def test_success_is_http_200(insi_client):
    insi_client.traits("ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14")
    assert insi_client.last_status == 200
    assert insi_client.transport.last_response.headers["Content-Type"].startswith(
        "application/soap+xml")


# --------------------------------------------------------------------------
# Dated formats: the clock moved back to 2022 (legacy RESULTAT and faults)
# --------------------------------------------------------------------------


def _post_envelope(address: str, envelope: etree._Element,
                   action: str = ACTION_PREFIX + OP_TRAITS) -> requests.Response:
    body = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    return requests.post(address, data=body, timeout=HTTP_TIMEOUT, headers={
        "Content-Type": f'application/soap+xml; charset=utf-8; action="{action}"'})


def _traits_envelope(insi_client, nom, prenom, sexe, date, **header_options):
    client = insi_client.client
    service = insi_client.service
    return client.create_message(service, OP_TRAITS, NomNaissance=nom, Prenom=[prenom],
                                 Sexe=sexe, DateNaissance=date,
                                 _soapheaders=insi_client.headers(**header_options))


def test_legacy_2022_resultat(live_server, insi_client):
    clock = live_server.set_clock("2022-06-01T10:00:00Z")
    assert clock["now"].startswith("2022-06-01")

    raw = _post_envelope(insi_client.address, _traits_envelope(
        insi_client, "ADRTROIS", "DOMINIQUE", "F", "1997-02-26"))
    assert raw.status_code == 200
    text = raw.content.decode("utf-8")
    assert ('<ns2:RESULTAT xmlns:ns3="http://www.cnamts.fr/INSiRecVit" '
            'xmlns:ns2="http://www.cnamts.fr/INSiResultat" '
            'xmlns="http://www.cnamts.fr/INSiRecSans">') in text
    assert "<ns2:TIQ><ns2:NomNaissance>ADRTROIS</ns2:NomNaissance>" \
           "<ns2:Prenom>DOMINIQUE</ns2:Prenom><ns2:ListePrenom>DOMINIQUE</ns2:ListePrenom>" in text
    # Corsica sent as 20xxx before Oct 2022
    assert "<ns2:LieuNaissance>20020</ns2:LieuNaissance>" in text
    root = etree.fromstring(raw.content)
    resultat = root.find(f"{{{NS_SOAP12}}}Body/{{{NS_RESULTAT}}}RESULTAT")
    assert resultat is not None and resultat.prefix == "ns2"

    # zeep still parses the prefixed generation, including TIQ/Prenom
    result = insi_client.traits("ADRTROIS", "DOMINIQUE", "F", "1997-02-26")
    assert result.CR.CodeCR == "00"
    assert result.INDIVIDU.INSACTIF.IdIndividu.NumIdentifiant == "297022A020778"
    assert result.INDIVIDU.TIQ.Prenom == "DOMINIQUE"
    assert result.INDIVIDU.TIQ.ListePrenom == "DOMINIQUE"
    assert result.INDIVIDU.TIQ.LieuNaissance == "20020"
    assert insi_client.history.last_received["envelope"].find(
        f".//{{{NS_RESULTAT}}}RESULTAT").prefix == "ns2"


def test_legacy_fault_generation_still_parsed(live_server, insi_client):
    live_server.set_clock("2022-06-01T10:00:00Z")
    message_id = new_message_id()
    fault = _call_fault(lambda: insi_client.traits(
        "ECETINSI", "PIERRE-ALAIN", "M", "2009-07-14", idam="bad", message_id=message_id))
    received = etree.tostring(insi_client.history.last_received["envelope"]).decode()
    assert "<S:Fault" in received and "S:siram_100" in received
    assert 'xml:lang="en"' in received
    assert fault.code == "S:Sender"
    assert fault_subcodes(fault) == ["siram_100"]
    erreur = fault_erreur(fault)
    assert (erreur.get("code"), erreur.get("messageID")) == ("desir_550", message_id)


def test_reset_brings_back_the_current_format(live_server, insi_client):
    """The autouse reset has undone the 2022 clock of the previous tests."""
    result = insi_client.traits("ADRTROIS", "DOMINIQUE", "F", "1997-02-26")
    assert result.INDIVIDU.TIQ.Prenom is None
    assert result.INDIVIDU.TIQ.LieuNaissance == "2A020"
    assert insi_client.history.last_received["envelope"].find(
        f".//{{{NS_RESULTAT}}}RESULTAT").prefix is None


# --------------------------------------------------------------------------
# Qualification quirks: siram_40 / insi_102 where the platform gave it
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quirks_server(live_server_factory):
    return live_server_factory(insi_qualif_quirks=True)


@pytest.mark.parametrize("kind", ["ours", "official"])
def test_qualif_quirk_tchitchi_ola(quirks_server, client_for, kind):
    client = client_for(kind, quirks_server)
    message_id = new_message_id()
    fault = _call_fault(lambda: client.traits("TCHITCHI", "OLA", "F", "1936-06-21",
                                              message_id=message_id))
    assert fault.code.split(":")[-1] == "Receiver"
    assert fault_subcodes(fault) == ["siram_40"]
    assert fault.message.startswith("Le service est temporairement inaccessible.")
    erreur = fault_erreur(fault)
    assert erreur.get("code") == "insi_102"
    assert erreur.get("severite") == "fatale"
    assert client.last_status == 500
    # the real person is still found on the quirky server
    assert client.traits("TCHITCHI", "CATARINA", "F", "1936-06-21").CR.CodeCR == "00"


def test_qualif_quirk_houilles(quirks_server, client_for):
    client = client_for("ours", quirks_server)
    fault = _call_fault(lambda: client.traits("HOUILLES", "PIERRE", "M", "1993-01-27"))
    assert fault_subcodes(fault) == ["siram_40"]
    assert fault_erreur(fault).get("code") == "insi_102"
