"""Coded XDS metadata of a TD2.1 submission against the CI-SIS / DMP value sets
(DMP.md §5.2): every code must be in its JDV with the codingScheme the JDV gives it,
and the classCode must be the one ASS_X16 (the DMP's ASS_X04) gives the typeCode.

Each refusal is an ``XDSRegistryMetadataError`` naming the metadata item, the value
and the value set with its version. The lot-signature entry carries fixed codes of its
own (DMP.md §2.5) and is left to the lot-signature rules. eventCodeList is not checked:
the DMP constrains it by no value set (acts, modalities, regions of several systems).
"""
from __future__ import annotations

from dataclasses import dataclass

from simulator.services.dmp.xds.errors import REGISTRY_METADATA_ERROR, XdsError
from simulator.services.dmp.xds.model import (
    DE_CLASS_CODE, DE_FACILITY_TYPE, DE_FORMAT_CODE, DE_PRACTICE_SETTING, DE_TYPE_CODE,
    SS_CONTENT_TYPE, Code, RegistryObject)
from simulator.services.dmp.xds.submission import is_signature
from simulator.services.dmp.xds.value_sets import Terminology, load_terminology

ENTRY_SLOTS = {DE_CLASS_CODE: "classCode", DE_TYPE_CODE: "typeCode",
               DE_FORMAT_CODE: "formatCode", DE_FACILITY_TYPE: "healthcareFacilityTypeCode",
               DE_PRACTICE_SETTING: "practiceSettingCode"}
SET_SLOTS = {SS_CONTENT_TYPE: "contentTypeCode"}


@dataclass(frozen=True)
class ContentPolicy:
    """How strictly TD2.1 coded metadata and CDA content are checked (settings
    ``SIM_DMP_CODED_METADATA`` and ``SIM_DMP_CDA_CHECKS``, docs/dmp.md)."""

    terminology: Terminology
    coded: str = "strict"  # strict: code + codingScheme + ASS_X16; codes: code only; off
    cda: str = "strict"  # strict: CDA R2, CI-SIS header, agreement; patient: INS only

    @classmethod
    def from_settings(cls, settings) -> "ContentPolicy":
        """The policy of a simulator's settings."""
        return cls(load_terminology(settings.dmp_value_sets_dir),
                   settings.dmp_coded_metadata, settings.dmp_cda_checks)

    @classmethod
    def default(cls) -> "ContentPolicy":
        """Strict, with the shipped value sets."""
        return cls(load_terminology(None))


def coded_metadata_errors(obj: RegistryObject, policy: ContentPolicy) -> list[XdsError]:
    """Every coded-metadata error of a submission set or a (non-signature) entry."""
    if policy.coded == "off" or (not obj.is_submission_set and is_signature(obj)):
        return []
    slots = SET_SLOTS if obj.is_submission_set else ENTRY_SLOTS
    errors = []
    for scheme, name in slots.items():
        for code in obj.codes(scheme):
            errors += _membership(obj, name, code, policy)
    if not obj.is_submission_set and policy.coded == "strict":
        errors += _class_matches_type(obj, policy.terminology)
    return errors


def update_coded_errors(request, policy: ContentPolicy) -> list[XdsError]:
    """The coded-metadata errors of an ITI-57 request (TD3.3): its submission set and
    each new version of a DocumentEntry carry the same value sets as in TD2.1."""
    objects = [request.submission_set, *(u.entry for u in request.metadata_updates)]
    return [error for obj in objects for error in coded_metadata_errors(obj, policy)]


def _membership(obj, name: str, code: Code, policy: ContentPolicy) -> list[XdsError]:
    value_set = policy.terminology.for_slot(name)
    known = value_set.codes.get(code.code)
    if known is None:
        return [XdsError(REGISTRY_METADATA_ERROR, (
            f"{name} {code.code!r} (codingScheme {code.scheme!r}) is not in "
            f"{value_set.label}"), obj.id)]
    scheme, display = known
    if policy.coded == "strict" and scheme is not None and code.scheme \
            and code.scheme != scheme:
        return [XdsError(REGISTRY_METADATA_ERROR, (
            f"{name} {code.code!r} ({display}) has codingScheme {scheme} in "
            f"{value_set.label}, got {code.scheme!r}"), obj.id)]
    return []


def _class_matches_type(entry: RegistryObject, terminology: Terminology) -> list[XdsError]:
    classes, types = entry.codes(DE_CLASS_CODE), entry.codes(DE_TYPE_CODE)
    if len(classes) != 1 or len(types) != 1:
        return []  # reported as a cardinality error
    if classes[0].code not in terminology.for_slot("classCode").codes:
        return []  # reported as outside JDV_J57
    table = terminology.type_to_class
    expected = table.pairs.get(types[0].code)
    if expected is None or expected == classes[0].code:
        return []
    display = terminology.for_slot("classCode").codes.get(expected, (None, ""))[1]
    return [XdsError(REGISTRY_METADATA_ERROR, (
        f"classCode {classes[0].code!r} does not go with typeCode {types[0].code!r}: "
        f"{table.label} gives classCode {expected!r} ({display})"), entry.id)]
