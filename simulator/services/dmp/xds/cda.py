"""The patient a CDA R2 document is about: the INS in ``recordTarget/patientRole/id``.

The XDS ``patientId`` of a CDA document is derived from that element (DMP.md §5.3:
``@root`` is an INS OID, ``@extension`` the matricule), so the two must agree.
"""
from __future__ import annotations

from lxml import etree

from simulator.services.dmp.vihf import INS_OIDS
from simulator.soap.parsing import parse_safely

HL7 = "urn:hl7-org:v3"
CLINICAL_DOCUMENT = f"{{{HL7}}}ClinicalDocument"
_PATIENT_IDS = f"{{{HL7}}}recordTarget/{{{HL7}}}patientRole/{{{HL7}}}id"


def parse_cda(content: bytes) -> tuple[etree._Element | None, str]:
    """(the ``ClinicalDocument`` root of ``content``, "") or (None, why not): the bytes
    are not well-formed XML or hold another root element (not a CDA document)."""
    try:
        root = parse_safely(content)
    except (etree.XMLSyntaxError, ValueError) as exc:
        return None, f"not well-formed XML ({exc})"
    if root.tag != CLINICAL_DOCUMENT:
        return None, (f"the root element is {root.tag}, not ClinicalDocument in the HL7 v3 "
                      f"namespace {HL7}")
    return root, ""


def record_target_ins(document: etree._Element) -> list[tuple[str, str]]:
    """Every (matricule, OID) of ``recordTarget/patientRole/id`` whose ``@root`` is an
    INS OID, in document order (local IPP identifiers are left out)."""
    return [((pid.get("extension") or "").strip(), pid.get("root", ""))
            for pid in document.findall(_PATIENT_IDS) if pid.get("root") in INS_OIDS]
