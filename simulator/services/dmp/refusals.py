"""The DMP's business refusal codes, in one place.

Verified codes (DMP brief §6.2): ``DMPOK``, ``DMPFound``, ``DMPClosed``,
``DMPPatientAccessAlreadyExists``, ``DMPPatientAccessOTPAlreadyExists``. The brief found
no public code for "no DMP", "professional blocked", "no authorisation" or a bad
parameter of a DMP-specific service; the simulator uses the names below, documented in
docs/dmp.md as simulator-defined, so vendors can match on them and swap them in one
place if the official guide says otherwise.
"""
from __future__ import annotations

OK = "DMPOK"
FOUND = "DMPFound"  # verified: TD1.1 on an existing DMP, TD1.2 on an active one
CLOSED = "DMPClosed"  # verified: TD1.4 on a closed DMP
PATIENT_ACCESS_EXISTS = "DMPPatientAccessAlreadyExists"  # verified: TD1.5a, the kit's tests
OTP_CHANNEL_EXISTS = "DMPPatientAccessOTPAlreadyExists"  # verified: TD1.5b, the kit's tests
# Simulator-defined (not found in public sources):
NOT_FOUND = "DMPNotFound"
UNKNOWN_INS = "DMPUnknownINS"
ACCESS_DENIED = "DMPAccessDenied"
INVALID_PARAMETER = "DMPInvalidParameter"
NO_PATIENT_ACCESS = "DMPPatientAccessNotFound"  # TD1.5b/c/d before TD1.5a
NO_OTP_CHANNEL = "DMPPatientAccessOTPNotFound"  # TD1.5b changes a channel type not set
TOO_MANY_RESULTS = "DMPTooManyResults"  # TD0.5: more candidates than answered


class DmpRefusal(Exception):
    """A business rule refused the transaction: ``code`` goes on the wire in the
    service's own carrier, ``text`` says why in words a vendor can act on."""

    def __init__(self, code: str, text: str):
        super().__init__(f"{code}: {text}")
        self.code = code
        self.text = text


def refusal_for(reason: str, message: str) -> DmpRefusal:
    """The refusal for an access-rule decision (see :mod:`access` reason codes)."""
    code = {"DMP_ABSENT": NOT_FOUND, "DMP_CLOSED": CLOSED}.get(reason, ACCESS_DENIED)
    return DmpRefusal(code, f"{reason}: {message}")
