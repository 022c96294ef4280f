"""Identity data out of the journal (``SIM_JOURNAL_PSEUDONYMISE=true``).

Names, first names, birth dates and places, matricules (NIR, INS, INS-C), addresses,
telecoms and TD1.5 OTP channels (e-mail, mobile) and the HL7 / XDS patient traits of the
journalled bodies become ``PSEUDO-<10 hex>`` tokens: the same
value gives the same token within a run (HMAC keyed by a per-process secret), so
exchanges about one patient can still be followed. Documents carried inline in base64
are not decoded; their text is not in the journal's readable bodies either.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

_FIELDS = ("NomNaissance|NomUsage|Prenom|ListePrenom|PrenomUsuel|DateNaissance|LieuNaissance"
           "|NumIdentifiant|Cle|family|given|nirOD|nirIndividu|prenom|nomPatronymique"
           "|dateNaissance|lastName|firstName|usedName|birthDate|ins|insc|nationalId"
           "|channel|city|postalCode|streetAddressLine")
_ELEMENT_TEXT = re.compile(rf"(<(?:[\w.-]+:)?(?:{_FIELDS})(?:\s[^>]*)?>)([^<]+)(</)")
# NIR, INS (with key), INS-C: 13 to 22 characters, Corsican departments 2A/2B included.
_MATRICULE = re.compile(r"(?<![\w.])[0-9]{5}[0-9AB]{2}[0-9]{6,15}(?![\w.])")
_PATIENT_INFO = re.compile(r"(PID-(?:3|5|7|8|11)\|)([^<\"]+)")
_BIRTH_TIME = re.compile(r'(<(?:[\w.-]+:)?birthTime\s+value=")([^"]+)(")')
# TD0.5 criteria: <livingSubjectBirthTime><value value="YYYYMMDD"/>; telecoms tel:/mailto:.
_SEARCHED_BIRTH = re.compile(
    r'(<(?:[\w.-]+:)?livingSubjectBirthTime>\s*<(?:[\w.-]+:)?value\s+value=")([^"]+)(")')
_TELECOM = re.compile(r'(<(?:[\w.-]+:)?telecom\s[^>]*?\bvalue=")([^"]+)(")')


class Pseudonymiser:
    """Replaces identity data in message text with stable tokens."""

    def __init__(self, secret: bytes | None = None):
        self.secret = secret or secrets.token_bytes(32)

    def token(self, value: str) -> str:
        """The stable token of one value."""
        digest = hmac.new(self.secret, value.strip().encode("utf-8"), hashlib.sha256)
        return f"PSEUDO-{digest.hexdigest()[:10]}"

    def __call__(self, text: str) -> str:
        """``text`` with every identity field replaced."""
        text = _ELEMENT_TEXT.sub(lambda m: m[1] + self.token(m[2]) + m[3], text)
        text = _PATIENT_INFO.sub(lambda m: m[1] + self.token(m[2]), text)
        for pattern in (_BIRTH_TIME, _SEARCHED_BIRTH, _TELECOM):
            text = pattern.sub(lambda m: m[1] + self.token(m[2]) + m[3], text)
        return _MATRICULE.sub(lambda m: self.token(m[0]), text)
