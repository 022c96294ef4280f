"""HL7 v3 request bodies of the DMP ``patients`` service, as real clients send them.

Modelled on the DMP brief §2.2 (the ANS editor kit's MessageBuilder, DRIMbox and
Mediboard): ``ITSVersion``, message id (LPS OID root, UUID extension), creationTime,
interactionId, processingCode, processingModeCode T, acceptAckCode AL, receiver = the
DMP device, sender = the LPS, controlActProcess CACT/EVN with a reasonCode of
1.2.250.1.213.1.1.4.11. Each builder returns the body element only (UTF-8 bytes, no
XML declaration), ready to go inside ``soap:Body``; every value is a keyword argument.
"""
from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from simulator.services.dmp.records import PatientTraits

TEST_OID = "1.2.250.1.213.1.4.10"  # INS-NIR test, as DRIMbox and the kit send it
ADRUN = "275126322074974"  # ADRUN Zoé, CNDA test person (key 74)
ADRUN_TRAITS = PatientTraits(birth_name="ADRUN", given_names="ZOE", sex="F",
                             birth_date="1975-12-31", telecoms=("tel:0102030405",),
                             address=("1 rue du Chat qui Peche", "75005", "PARIS"))
LPS_OID = "1.2.250.1.999.1.1.356"
LPS_NAME = "MON-DPI"
MESSAGE_ID = "6c3e9f0a-2b1d-4d8e-9a47-0f5c2e1b7d36"
QUERY_ID = "0d1f7a52-8e3b-4c69-b1a2-5e4f3d2c1b0a"
CREATION_TIME = "20240301095830"
PS_ID = "899900063480"  # PS idNat (kit sample)
PS_NAME = ("CARDIO", "FELIX")
STRUCTURE_ID = "10B0167011"
STRUCTURE_NAME = "CABINET DR CARDIO"
CLOSE_TEXT = "Raison de cloture sur demande du patient"

_HL7 = "urn:hl7-org:v3"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_REASON_NAMES = {
    "TEST_EXST": "Test d'existence de dossier",
    "CNSLT_DATA": "Consultation des données de gestion de dossier",
    "CREA_RD": "Création de dossier", "REAC": "Réactivation de dossier",
    "MODIF_DATA": "Modification des données de gestion du dossier",
    "FERM": "Fermeture de dossier",
}


def query(reason: str = "TEST_EXST", *, ins: str = ADRUN, ins_oid: str = TEST_OID,
          query_id: str = QUERY_ID, **wrapper) -> bytes:
    """PRPA_IN201307UV02: TD0.2 (TEST_EXST) or TD1.3a (CNSLT_DATA)."""
    control = (_reason_code(reason)
               + f'<queryByParameter><queryId root="{LPS_OID}.4" extension="{query_id}"/>'
               '<statusCode code="new"/><parameterList><patientIdentifier>'
               f"<value root={quoteattr(ins_oid)} extension={quoteattr(ins)}/>"
               "<semanticsText>Patient.id</semanticsText></patientIdentifier>"
               "</parameterList></queryByParameter>")
    return _message("PRPA_IN201307UV02", control, **wrapper)


def create(*, ins: str = ADRUN, ins_oid: str = TEST_OID,
           traits: PatientTraits | None = ADRUN_TRAITS, vitale: PatientTraits | None = ADRUN_TRAITS,
           consent: bool | None = True, opposes_bris_de_glace: bool = False,
           opposes_acces_urgence: bool = False, **wrapper) -> bytes:
    """PRPA_IN201311UV02 CREA_RD (TD1.1): traits, the Vitale block, consents and
    oppositions (``consent=None`` leaves the consent observation out)."""
    observations = [("OPPOSITION_BRIS_DE_GLACE", opposes_bris_de_glace),
                    ("OPPOSITION_ACCES_URGENCE", opposes_acces_urgence)]
    if consent is not None:
        observations.insert(0, ("CONSENTEMENT_OUVERTURE_DMP", consent))
    patient = _patient(ins, ins_oid, "active", traits, vitale, observations)
    return _registration("PRPA_IN201311UV02", "CREA_RD", "active", patient, **wrapper)


def reactivate(*, ins: str = ADRUN, ins_oid: str = TEST_OID,
               traits: PatientTraits | None = ADRUN_TRAITS, consent: bool | None = True,
               **wrapper) -> bytes:
    """PRPA_IN201314UV02 REAC (TD1.2) with CONSENTEMENT_REACTIVATION_DMP."""
    observations = [] if consent is None else [("CONSENTEMENT_REACTIVATION_DMP", consent)]
    patient = _patient(ins, ins_oid, "active", traits, None, observations)
    return _registration("PRPA_IN201314UV02", "REAC", "active", patient, **wrapper)


def modify(*, ins: str = ADRUN, ins_oid: str = TEST_OID,
           traits: PatientTraits | None = ADRUN_TRAITS, **wrapper) -> bytes:
    """PRPA_IN201314UV02 MODIF_DATA (TD1.3b) with the new administrative data."""
    patient = _patient(ins, ins_oid, "active", traits, None, [])
    return _registration("PRPA_IN201314UV02", "MODIF_DATA", "active", patient, **wrapper)


def close(*, ins: str = ADRUN, ins_oid: str = TEST_OID,
          reason: str | None = "FERMETURE_DEMANDE_PATIENT", text: str | None = CLOSE_TEXT,
          traits: PatientTraits | None = ADRUN_TRAITS, **wrapper) -> bytes:
    """PRPA_IN201314UV02 FERM (TD1.4): registration completed, patient terminated, and
    reasonOf/detectedIssueEvent with the closure reason (``reason=None`` leaves it out)."""
    patient = _patient(ins, ins_oid, "terminated", traits, None, [])
    reason_of = ""
    if reason is not None:
        reason_of = ('<reasonOf typeCode="RSON"><detectedIssueEvent classCode="ALRT" '
                     f'moodCode="EVN"><code code={quoteattr(reason)} '
                     'codeSystem="1.2.250.1.213.4.1.2.4"/>'
                     + (f"<text>{escape(text)}</text>" if text else "")
                     + "</detectedIssueEvent></reasonOf>")
    return _registration("PRPA_IN201314UV02", "FERM", "completed", patient,
                         reason_of=reason_of, **wrapper)


def _message(interaction: str, control: str, *, message_id: str = MESSAGE_ID,
             message_root: str = f"{LPS_OID}.3", creation_time: str = CREATION_TIME,
             processing_code: str = "P", sender_oid: str = LPS_OID,
             sender_name: str = LPS_NAME, receiver_oid: str = "1.2.250.1.213.4.1.1.1",
             interaction_id: str | None = None) -> bytes:
    xml = (f'<{interaction} xmlns="{_HL7}" xmlns:xsi="{_XSI}" ITSVersion="XML_1.0">'
           f"<id root={quoteattr(message_root)} extension={quoteattr(message_id)}/>"
           f'<creationTime value="{creation_time}"/>'
           '<interactionId root="2.16.840.1.113883.1.6" '
           f'extension="{interaction_id or interaction}"/>'
           f'<processingCode code="{processing_code}"/><processingModeCode code="T"/>'
           '<acceptAckCode code="AL"/>'
           + _device("receiver", "RCV", receiver_oid, "DMP")
           + _device("sender", "SND", sender_oid, sender_name)
           + f'<controlActProcess classCode="CACT" moodCode="EVN">{control}</controlActProcess>'
           f"</{interaction}>")
    return xml.encode("utf-8")


def _device(role: str, type_code: str, oid: str, name: str) -> str:
    return (f'<{role} typeCode="{type_code}"><device classCode="DEV" determinerCode="INSTANCE">'
            f"<id root={quoteattr(oid)}/><softwareName>{escape(name)}</softwareName>"
            f"</device></{role}>")


def _reason_code(reason: str) -> str:
    return (f"<reasonCode code={quoteattr(reason)} codeSystem=\"1.2.250.1.213.1.1.4.11\" "
            f"displayName={quoteattr(_REASON_NAMES.get(reason, reason))}/>")


def _registration(interaction: str, reason: str, status: str, patient: str, *,
                  reason_of: str = "", **wrapper) -> bytes:
    family, given = PS_NAME
    author = ('<author typeCode="AUT"><assignedEntity classCode="ASSIGNED">'
              f'<id root="1.2.250.1.71.4.2.1" extension="{PS_ID}"/>'
              '<code code="G15_10/SM04" codeSystem="1.2.250.1.213.1.1.4.5" '
              'displayName="Cardiologie et maladies vasculaires (SM)"/>'
              '<assignedPerson classCode="PSN" determinerCode="INSTANCE">'
              f"<name><prefix>Dr.</prefix><family>{family}</family><given>{given}</given></name>"
              '</assignedPerson><representedOrganization classCode="ORG" '
              'determinerCode="INSTANCE">'
              f'<id root="1.2.250.1.71.4.2.2" extension="{STRUCTURE_ID}"/>'
              f'<name>{STRUCTURE_NAME}</name><contactParty classCode="CON"/>'
              "</representedOrganization></assignedEntity></author>")
    control = (_reason_code(reason)
               + '<subject typeCode="SUBJ" contextConductionInd="false">'
               f'<registrationRequest classCode="REG" moodCode="RQO"><statusCode code="{status}"/>'
               f'<subject1 typeCode="SBJ">{patient}</subject1>{author}'
               "</registrationRequest></subject>" + reason_of)
    return _message(interaction, control, **wrapper)


def _patient(ins: str, ins_oid: str, status: str, traits: PatientTraits | None,
             vitale: PatientTraits | None, observations: list[tuple[str, bool]]) -> str:
    person = ""
    if traits is not None:
        person = ('<patientPerson classCode="PSN" determinerCode="INSTANCE">'
                  + _name(traits, prefix=True)
                  + "".join(_telecom(t) for t in traits.telecoms)
                  + (f'<administrativeGenderCode code="{traits.sex}"/>' if traits.sex else "")
                  + (f'<birthTime value="{traits.birth_date.replace("-", "")}"/>'
                     if traits.birth_date else "")
                  + _addr(traits.address) + _vitale(vitale) + "</patientPerson>")
    subjects = "".join(
        '<subjectOf typeCode="SBJ"><administrativeObservation classCode="OBS" moodCode="EVN">'
        f'<code code="{code}" codeSystem="1.2.250.1.213.4.1.2.3"/>'
        f'<effectiveTime value="{CREATION_TIME[:8]}"/>'
        f'<value xsi:type="BL" value="{"true" if value else "false"}"/>'
        "</administrativeObservation></subjectOf>" for code, value in observations)
    return (f'<patient classCode="PAT"><id root={quoteattr(ins_oid)} extension={quoteattr(ins)}/>'
            f'<statusCode code="{status}"/>{person}{subjects}</patient>')


def _name(traits: PatientTraits, prefix: bool = False) -> str:
    parts = [f"<prefix>{'MME' if traits.sex == 'F' else 'M'}</prefix>"] if prefix else []
    if traits.birth_name:
        parts.append(f'<family qualifier="BR">{escape(traits.birth_name)}</family>')
    if traits.used_name:
        parts.append(f'<family qualifier="SP">{escape(traits.used_name)}</family>')
    parts += [f"<given>{escape(g)}</given>" for g in traits.given_names.split()]
    return "<name>" + "".join(parts) + "</name>"


def _telecom(value: str) -> str:
    use = ' use="HP"' if value.startswith("tel:") else ""
    return f"<telecom{use} value={quoteattr(value)}/>"


def _addr(address: tuple[str, ...]) -> str:
    if not address:
        return ""
    *lines, postcode, city = address
    return ("<addr>" + "".join(f"<streetAddressLine>{escape(line)}</streetAddressLine>"
                               for line in lines)
            + f"<postalCode>{escape(postcode)}</postalCode><city>{escape(city)}</city>"
            "<country>FRANCE</country></addr>")


def _vitale(vitale: PatientTraits | None) -> str:
    """The Vitale card block; the card holds the birth date as YYMMDD (kit, Mediboard)."""
    if vitale is None:
        return ""
    born = vitale.birth_date.replace("-", "")[2:]
    return ('<contactParty classCode="CON"><code code="CARTE_SESAM_VITALE" '
            'codeSystem="1.2.250.1.213.4.1.2.5"/><contactPerson>'
            + _name(vitale) + f'<birthTime value="{born}"/></contactPerson></contactParty>')


def find_candidates(name: str | None = "ADRUN", *, given: str | None = None,
                    birth_date: str | None = None, sex: str | None = None,
                    city: str | None = None, postcode: str | None = None,
                    approximate_name: bool = False, approximate_city: bool = False,
                    query_id: str = QUERY_ID, **wrapper) -> bytes:
    """PRPA_IN201305UV02 (TD0.5, ``patientsPDQ``): as the ANS kit sends it
    (controlActProcess code PRPA_TE201305UV02, livingSubjectName with semanticsText
    LivingSubject.name), with the IHE PDQ v3 parameters for the other criteria and
    ``use="SRCH"`` on a value searched approximately (reconstructed, docs/dmp-hl7.md)."""
    def search_use(approximate: bool) -> str:
        return ' use="SRCH"' if approximate else ""

    parameters = ""
    if sex is not None:
        parameters += (f"<livingSubjectAdministrativeGender><value code={quoteattr(sex)}/>"
                       "<semanticsText>LivingSubject.administrativeGender</semanticsText>"
                       "</livingSubjectAdministrativeGender>")
    if birth_date is not None:
        parameters += (f"<livingSubjectBirthTime><value value={quoteattr(birth_date)}/>"
                       "<semanticsText>LivingSubject.birthTime</semanticsText>"
                       "</livingSubjectBirthTime>")
    if name is not None:
        given_xml = f"<given>{escape(given)}</given>" if given is not None else ""
        parameters += (f"<livingSubjectName><value{search_use(approximate_name)}>"
                       f"<family>{escape(name)}</family>{given_xml}</value>"
                       "<semanticsText>LivingSubject.name</semanticsText></livingSubjectName>")
    if city is not None or postcode is not None:
        lines = (f"<postalCode>{escape(postcode)}</postalCode>" if postcode is not None else "") \
            + (f"<city>{escape(city)}</city>" if city is not None else "")
        parameters += (f"<patientAddress><value{search_use(approximate_city)}>{lines}</value>"
                       "<semanticsText>Patient.addr</semanticsText></patientAddress>")
    control = ('<code code="PRPA_TE201305UV02" codeSystem="2.16.840.1.113883.1.6"/>'
               f'<queryByParameter><queryId root="{LPS_OID}.4" extension="{query_id}"/>'
               f'<statusCode code="new"/><parameterList>{parameters}</parameterList>'
               "</queryByParameter>")
    return _message("PRPA_IN201305UV02", control, **wrapper)
