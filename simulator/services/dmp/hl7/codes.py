"""Identifiers and codes of the DMP HL7 v3 patient messages, in one place.

Verified (DMP brief §2.2, §3.2, §6.2; the ANS editor kit and two homologated clients):
interaction ids, reason codes and their code system, the DMP device OID, the INS OIDs,
the PS / structure id roots, the administrative observation codes, the Vitale contact
party code, the closure reason code, the reject codes DMPFound / DMPClosed.

Observed in clients, not in a published specification: the TD0.2 outputs
"authorisation status" and "médecin traitant DMP" travel in two ``attentionLine``
elements of the response, keyed ``AUTORISATION`` (value ``@code``) and ``STATUT_MT``
(value ``@value``); the closure date in ``registrationEvent/effectiveTime``, the closure
reason in ``controlActProcess/reasonOf/detectedIssueEvent`` (Mediboard's reader of
PRPA_IN201308UV02 reads exactly these paths).

Reconstructed by the simulator (marked ``# reconstructed`` below; change them here):
the code systems of the attentionLine keywords, where the INTERDIT reason goes, the
Mon espace santé and web access observation codes, the HL7 detail codes of request
errors.
"""
from __future__ import annotations

HL7 = "urn:hl7-org:v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

INTERACTION_ROOT = "2.16.840.1.113883.1.6"

QUERY = "PRPA_IN201307UV02"  # TD0.2, TD1.3a
QUERY_RESPONSE = "PRPA_IN201308UV02"
ADD = "PRPA_IN201311UV02"  # TD1.1
ADD_ACCEPTED = "PRPA_IN201312UV02"
ADD_REJECTED = "PRPA_IN201313UV02"
REVISE = "PRPA_IN201314UV02"  # TD1.2, TD1.3b, TD1.4
REVISE_ACCEPTED = "PRPA_IN201315UV02"
REVISE_REJECTED = "PRPA_IN201316UV02"

#: request interaction -> (answer when accepted, answer when rejected)
ANSWERS = {QUERY: (QUERY_RESPONSE, QUERY_RESPONSE), ADD: (ADD_ACCEPTED, ADD_REJECTED),
           REVISE: (REVISE_ACCEPTED, REVISE_REJECTED)}

REASON_SYSTEM = "1.2.250.1.213.1.1.4.11"
TEST_EXST = "TEST_EXST"
CNSLT_DATA = "CNSLT_DATA"
CREA_RD = "CREA_RD"
REAC = "REAC"
MODIF_DATA = "MODIF_DATA"
FERM = "FERM"
REASON_NAMES = {
    TEST_EXST: "Test d'existence de dossier",
    CNSLT_DATA: "Consultation des données de gestion de dossier",
    CREA_RD: "Création de dossier",
    REAC: "Réactivation de dossier",
    MODIF_DATA: "Modification des données de gestion du dossier",
    FERM: "Fermeture de dossier",
}
REASONS_OF = {QUERY: (TEST_EXST, CNSLT_DATA), ADD: (CREA_RD,), REVISE: (REAC, MODIF_DATA, FERM)}

DMP_DEVICE_OID = "1.2.250.1.213.4.1.1.1"
DMP_SOFTWARE_NAME = "DMP"

INS_NIR = "1.2.250.1.213.1.4.8"
INS_NIA = "1.2.250.1.213.1.4.9"
INS_NIR_TEST = "1.2.250.1.213.1.4.10"
INS_NIR_DEMO = "1.2.250.1.213.1.4.11"
INS_C = "1.2.250.1.213.1.4.2"  # API v1 only (brief §3.1)
INS_OIDS = {INS_NIR: "INS-NIR", INS_NIA: "INS-NIA", INS_NIR_TEST: "INS-NIR test",
            INS_NIR_DEMO: "INS-NIR démonstration"}

PS_ID_ROOT = "1.2.250.1.71.4.2.1"  # PS idNat
STRUCTURE_ID_ROOT = "1.2.250.1.71.4.2.2"  # StructIdNat

OBSERVATION_SYSTEM = "1.2.250.1.213.4.1.2.3"
CONSENTEMENT_OUVERTURE_DMP = "CONSENTEMENT_OUVERTURE_DMP"
CONSENTEMENT_REACTIVATION_DMP = "CONSENTEMENT_REACTIVATION_DMP"
OPPOSITION_BRIS_DE_GLACE = "OPPOSITION_BRIS_DE_GLACE"
OPPOSITION_ACCES_URGENCE = "OPPOSITION_ACCES_URGENCE"
RATTACHEMENT_MES = "RATTACHEMENT_ENS"  # reconstructed: name as one client reads it
# Reconstructed, from the same client: whether the patient's web access (TD1.5a) exists,
# DevBox's "compte internet ouvert" TD0.2 output.
COMPTE_INTERNET_OUVERT = "COMPTE_INTERNET_OUVERT"
OBSERVATION_NAMES = {
    CONSENTEMENT_OUVERTURE_DMP: "Consentement à l'ouverture du DMP",
    CONSENTEMENT_REACTIVATION_DMP: "Consentement à la réactivation du DMP",
    OPPOSITION_BRIS_DE_GLACE: "Opposition au mode bris de glace",
    OPPOSITION_ACCES_URGENCE: "Opposition à l'accès en mode urgence",
    RATTACHEMENT_MES: "Rattachement à Mon espace santé",
    COMPTE_INTERNET_OUVERT: "Accès web du patient ouvert",
}

VITALE_SYSTEM = "1.2.250.1.213.4.1.2.5"
CARTE_SESAM_VITALE = "CARTE_SESAM_VITALE"

CLOSE_REASON_SYSTEM = "1.2.250.1.213.4.1.2.4"
FERMETURE_DEMANDE_PATIENT = "FERMETURE_DEMANDE_PATIENT"

# TD0.2 outputs carried in attentionLine (keys observed in clients; code system reconstructed).
ATTENTION_AUTHORISATION = "AUTORISATION"
ATTENTION_MEDECIN_TRAITANT = "STATUT_MT"
ATTENTION_SYSTEM = OBSERVATION_SYSTEM  # reconstructed

# Reject codes in acknowledgementDetail/code/@code (brief §6.2).
DMP_FOUND = "DMPFound"
DMP_CLOSED = "DMPClosed"

# Request errors: HL7 AcknowledgementDetailCode values (reconstructed choice: the DMP's
# own codes for malformed requests are not public).
DETAIL_CODE_SYSTEM = "2.16.840.1.113883.5.1100"
MISSING = "SYN105"  # required element missing
INVALID = "SYN102"  # data type error
NOT_ALLOWED = "SYN106"  # terminology error: a code or identifier the DMP does not accept
