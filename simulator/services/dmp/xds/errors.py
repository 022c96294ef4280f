"""XDS errors and the ``RegistryResponse`` that carries them (IHE ITI TF-3 §4.2.4).

Every XDS rule of the simulator reports an :class:`XdsError` with a standard IHE error
code; this module is the one place that writes them as ``rs:RegistryErrorList``.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from simulator.services.dmp.xds.model import RS
from simulator.services.dmp.xds.wire_profile import DEFAULT_PROFILE, WireProfile

SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
PARTIAL_SUCCESS = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
WARNING = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"

# The standard codes the simulator emits (DMP brief §6.2, from IHE ITI TF-3 Table 4.2.4.1-2).
REGISTRY_ERROR = "XDSRegistryError"
REPOSITORY_ERROR = "XDSRepositoryError"
REGISTRY_METADATA_ERROR = "XDSRegistryMetadataError"
REPOSITORY_METADATA_ERROR = "XDSRepositoryMetadataError"
UNKNOWN_PATIENT_ID = "XDSUnknownPatientId"
PATIENT_ID_DOES_NOT_MATCH = "XDSPatientIdDoesNotMatch"
DOCUMENT_UNIQUE_ID_ERROR = "XDSDocumentUniqueIdError"
DUPLICATE_UNIQUE_ID = "XDSDuplicateUniqueIdInRegistry"
NON_IDENTICAL_HASH = "XDSNonIdenticalHash"
NON_IDENTICAL_SIZE = "XDSNonIdenticalSize"
MISSING_DOCUMENT = "XDSMissingDocument"
MISSING_DOCUMENT_METADATA = "XDSMissingDocumentMetadata"
TOO_MANY_RESULTS = "XDSTooManyResults"
UNKNOWN_STORED_QUERY = "XDSUnknownStoredQuery"
STORED_QUERY_MISSING_PARAM = "XDSStoredQueryMissingParam"
STORED_QUERY_PARAM_NUMBER = "XDSStoredQueryParamNumber"
UNKNOWN_REPOSITORY_ID = "XDSUnknownRepositoryId"
REGISTRY_BUSY = "XDSRegistryBusy"
# ITI-57 (IHE XDS Metadata Update supplement).
METADATA_IDENTIFIER_ERROR = "XDSMetadataIdentifierError"
DEPRECATED_DOCUMENT = "XDSRegistryDeprecatedDocumentError"
METADATA_UPDATE_ERROR = "XDSMetadataUpdateError"
METADATA_VERSION_ERROR = "XDSMetadataVersionError"


@dataclass(frozen=True)
class XdsError:
    """One ``RegistryError``: IHE code, a message a vendor can act on, and where."""

    code: str
    message: str
    location: str = ""
    severity: str = ERROR


class XdsFailure(Exception):
    """Raised by XDS rules: the request fails with these errors."""

    def __init__(self, errors: list[XdsError]):
        super().__init__("; ".join(f"{e.code}: {e.message}" for e in errors))
        self.errors = list(errors)


class CalendarRefusal(XdsFailure):
    """A failure because a regulatory calendar rule (``rule``) refuses the request."""

    def __init__(self, errors: list[XdsError], rule: str):
        super().__init__(errors)
        self.rule = rule


def failure_label(errors: list[XdsError]) -> str:
    """A short journal label of a failed XDS transaction: its error codes."""
    return "Failure " + ",".join(sorted({e.code for e in errors}))


def status_for(errors: list[XdsError], partial: bool = False) -> str:
    """Success without errors, Failure with any (PartialSuccess where the transaction
    allows it, e.g. ITI-43 with some documents found)."""
    if not any(e.severity == ERROR for e in errors):
        return SUCCESS
    return PARTIAL_SUCCESS if partial else FAILURE


# A request full of faulty objects gets the first errors and a count of the others: an
# answer must not grow with the request (a 140 KB submission gave a 900 KB answer).
MAX_LISTED_ERRORS = 50


def add_error_list(parent: etree._Element, errors: list[XdsError]) -> None:
    """Append ``rs:RegistryErrorList`` to ``parent`` when there are errors (the first
    :data:`MAX_LISTED_ERRORS`, then one error saying how many more there were)."""
    if not errors:
        return
    if len(errors) > MAX_LISTED_ERRORS:
        left_out = errors[MAX_LISTED_ERRORS:]
        errors = errors[:MAX_LISTED_ERRORS] + [XdsError(
            left_out[0].code, f"{len(left_out)} further errors not listed (codes: "
            f"{', '.join(sorted({e.code for e in left_out}))})")]
    error_list = etree.SubElement(
        parent, f"{{{RS}}}RegistryErrorList",
        highestSeverity=ERROR if any(e.severity == ERROR for e in errors) else WARNING)
    for error in errors:
        attributes = {"codeContext": error.message, "errorCode": error.code,
                      "severity": error.severity}
        if error.location:
            attributes["location"] = error.location
        etree.SubElement(error_list, f"{{{RS}}}RegistryError", attributes)


def registry_response(errors: list[XdsError] = (), status: str | None = None,
                      parent: etree._Element | None = None,
                      profile: WireProfile = DEFAULT_PROFILE) -> etree._Element:
    """A ``rs:RegistryResponse``: standalone (the answer's root, declaring ``profile``'s
    namespaces), or appended to ``parent``."""
    errors = list(errors)
    status = status or status_for(errors)
    element = profile.root(RS, "RegistryResponse", [("status", status)]) \
        if parent is None else etree.SubElement(parent, f"{{{RS}}}RegistryResponse",
                                                status=status)
    add_error_list(element, errors)
    return element
