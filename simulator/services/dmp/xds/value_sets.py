"""The CI-SIS / DMP value sets (JDV_*) and associations (ASS_*) the coded XDS metadata
are checked against (DMP.md §5.2), with the version and date the ANS gave them.

The files in ``terminology/`` were made from the ANS release (repository
ansforge/IG-terminologie-de-sante, ``ig/DM-37`` and ``DM/input/fsh``) by
``tools/value_sets_from_fhir.py``. A newer release needs no code change: convert it
with that tool into a folder and point ``SIM_DMP_VALUE_SETS_DIR`` at it; a file there
replaces the shipped file of the same name.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

# XDS metadata -> the value set that constrains it (DMP.md §5.2). healthcareFacilityTypeCode
# uses the CI-SIS JDV_J02: the DMP restriction JDV_J61 was not found in any public
# release, and J02 is the set J61 restricts (so the simulator may accept a code the DMP
# refuses; docs/dmp.md says so).
SLOT_VALUE_SETS = {
    "classCode": "JDV_J57-ClassCode-DMP",
    "typeCode": "JDV_J66-TypeCode-DMP",
    "formatCode": "JDV_J60-FormatCode-DMP",
    "healthcareFacilityTypeCode": "JDV_J02-XdsHealthcareFacilityTypeCode-CISIS",
    "practiceSettingCode": "JDV_J62-PracticeSettingCode-DMP",
    "confidentialityCode": "JDV_J58-ConfidentialityCode-DMP",
    "contentTypeCode": "JDV_J59-ContentTypeCode-DMP",
}
# typeCode -> classCode: ASS_X16 is the ANS restriction of ASS_X04 to the DMP's J66/J57.
TYPE_TO_CLASS = "ASS_X16-CorrespondanceType-Classe-DMP"
# CDA N1 body ``nonXMLBody/text/@mediaType`` -> formatCode.
MEDIA_TYPE_TO_FORMAT = "ASS_A12-CorresMediaTypeCDANonStructure-XdsFormatCode-CISIS"
_PACKAGE = "simulator.services.dmp.xds"


class TerminologyError(ValueError):
    """A value-set file cannot be used; the message names the file."""


def _label(name: str, version: str | None, date: str | None) -> str:
    if not (version or date):
        return name
    return f"{name} (version {version or 'unnumbered'} of {date or 'no date'})"


@dataclass(frozen=True)
class ValueSet:
    """One JDV: code -> (codingScheme or None when unknown, display)."""

    id: str
    version: str | None
    date: str | None
    codes: dict[str, tuple[str | None, str]]

    @property
    def label(self) -> str:
        """``JDV_J57-ClassCode-DMP (version 1.1.0 of 2023-09-22)``."""
        return _label(self.id, self.version, self.date)


@dataclass(frozen=True)
class Association:
    """One ASS table: source code -> target code."""

    id: str
    version: str | None
    date: str | None
    pairs: dict[str, str]

    @property
    def label(self) -> str:
        """``ASS_X16-... (version ... of ...)``, or the id alone for an undated draft."""
        return _label(self.id, self.version, self.date)


@dataclass(frozen=True)
class Terminology:
    """Every value set and association the XDS rules use."""

    value_sets: dict[str, ValueSet]  # XDS metadata name -> value set
    type_to_class: Association
    media_type_to_format: Association

    def for_slot(self, name: str) -> ValueSet:
        """The value set of an XDS metadata item (``classCode``, ``typeCode``...)."""
        return self.value_sets[name]


def _read(name: str, folder: Path | None) -> dict:
    override = folder / f"{name}.json" if folder is not None else None
    try:
        if override is not None and override.is_file():
            text = override.read_text(encoding="utf-8")
        else:
            text = (resources.files(_PACKAGE) / "terminology" / f"{name}.json").read_text(
                encoding="utf-8")
        return json.loads(text)
    except (OSError, ValueError) as exc:
        raise TerminologyError(f"value set {name}: {exc}") from exc


def _value_set(name: str, folder: Path | None) -> ValueSet:
    data = _read(name, folder)
    try:
        codes = {c["code"]: (c.get("system"), c.get("display", "")) for c in data["codes"]}
    except (KeyError, TypeError) as exc:
        raise TerminologyError(f"value set {name}: no 'codes' list of {{code, system, "
                               f"display}} ({exc!r})") from exc
    return ValueSet(name, data.get("version"), data.get("date"), codes)


def _association(name: str, folder: Path | None) -> Association:
    data = _read(name, folder)
    try:
        pairs = {p["source"]: p["target"] for p in data["pairs"]}
    except (KeyError, TypeError) as exc:
        raise TerminologyError(f"association {name}: no 'pairs' list of {{source, "
                               f"target}} ({exc!r})") from exc
    return Association(name, data.get("version"), data.get("date"), pairs)


@lru_cache(maxsize=8)
def load_terminology(folder: Path | None = None) -> Terminology:
    """The shipped value sets, each replaced by ``folder/<id>.json`` when that exists.
    Immutable and cached per folder; raises :class:`TerminologyError` on a bad file."""
    return Terminology(
        {slot: _value_set(name, folder) for slot, name in SLOT_VALUE_SETS.items()},
        _association(TYPE_TO_CLASS, folder), _association(MEDIA_TYPE_TO_FORMAT, folder))
