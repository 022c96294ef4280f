"""Identity data out of the journal (SIM_JOURNAL_PSEUDONYMISE)."""
from __future__ import annotations

from simulator.kit import hl7
from envelopes import traits_request, vitale_request
from simulator.pseudonymise import Pseudonymiser


def test_insi_traits_and_matricules_become_stable_tokens():
    pseudonymise = Pseudonymiser(b"k" * 32)
    text = pseudonymise(traits_request("ADRTROIS", ["DOMINIQUE"], "F", "1997-02-26").decode())
    for secret in ("ADRTROIS", "DOMINIQUE", "1997-02-26"):
        assert secret not in text
    assert text.count(pseudonymise.token("ADRTROIS")) == 1
    card = pseudonymise(vitale_request("2012-05-10", od="2760763220901", rank=1).decode())
    assert "2760763220901" not in card and "2012-05-10" not in card
    assert pseudonymise.token("2760763220901") in card


def test_hl7_and_xds_patient_data_are_replaced():
    pseudonymise = Pseudonymiser(b"k" * 32)
    text = pseudonymise(
        '<id root="1.2.250.1.213.1.4.10" extension="275126322074974"/>'
        '<name><family qualifier="BR">ADRUN</family><given>ZOE</given></name>'
        '<birthTime value="19751231"/>'
        "<rim:Value>PID-5|ADRUN^ZOE^^^^^L</rim:Value><rim:Value>PID-7|19751231</rim:Value>"
        '<rim:ExternalIdentifier value="275126322074974^^^&amp;1.2.250.1.213.1.4.10&amp;ISO^NH"/>')
    for secret in ("275126322074974", "ADRUN", "ZOE", "19751231"):
        assert secret not in text, text
    assert "1.2.250.1.213.1.4.10" in text  # OIDs are not identity data
    assert text.count(pseudonymise.token("275126322074974")) == 2


def test_another_run_gives_other_tokens():
    assert Pseudonymiser().token("ADRUN") != Pseudonymiser().token("ADRUN")


def test_corsican_matricules_in_attributes_are_replaced():
    pseudonymise = Pseudonymiser(b"k" * 32)
    text = pseudonymise('<id extension="297022A020778"/><x value="297022B02077812"/>')
    assert "297022A020778" not in text and "297022B02077812" not in text


def test_search_criteria_addresses_telecoms_and_otp_channels_are_replaced():
    pseudonymise = Pseudonymiser(b"k" * 32)
    search = pseudonymise(hl7.find_candidates("ADRUN", given="ZOE", birth_date="19751231",
                                              city="PARIS", postcode="75005").decode())
    creation = pseudonymise(hl7.create().decode())
    channel = pseudonymise('<p:createPatientAccess xmlns:p="urn:si-dmp-patients">'
                           "<p:otpChannelType>SMS</p:otpChannelType>"
                           "<p:channel>0612345678</p:channel></p:createPatientAccess>")
    for text, secrets_ in ((search, ("ADRUN", "ZOE", "19751231", "PARIS", "75005")),
                           (creation, ("0102030405", "Chat qui Peche", "75005", "PARIS")),
                           (channel, ("0612345678",))):
        for secret in secrets_:
            assert secret not in text, (secret, text)
    assert "LivingSubject.birthTime" in search and ">SMS<" in channel
