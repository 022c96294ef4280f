"""Convert ANS terminology releases (FHIR R4 JSON) into the simulator's value-set files.

The ANS publishes the CI-SIS / DMP value sets (JDV_*) and associations (ASS_*) as FHIR
``ValueSet`` and ``ConceptMap`` resources: on the NOS (mos.esante.gouv.fr) and in the
repository ansforge/IG-terminologie-de-sante (folder ``ig/``). XDS metadata carry a
code with its ``codingScheme`` (an OID, or ``URN`` / ``ASTM``), not the FHIR system
URL, so each system is translated to the scheme XDS uses.

Usage::

    python tools/value_sets_from_fhir.py OUT_DIR RESOURCE.json... [--code-systems DIR]

Each resource becomes ``OUT_DIR/<NOS id>.json`` (e.g. ``JDV_J57-ClassCode-DMP.json``).
Point ``SIM_DMP_VALUE_SETS_DIR`` at OUT_DIR to use a newer release without a code change
(files there replace the shipped ones of the same name). ``--code-systems`` reads the
``CodeSystem`` resources of a release to learn the OIDs of systems not listed below.
Standard library only.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

_NOS = "https://mos.esante.gouv.fr/NOS/"
# XDS codingScheme of the CI-SIS systems: "TRE_x, OID : y" in the ANS PDSm profiles
# (ansforge/IG-FHIR-PDSM4DMP-EEDS, DocumentReference and SubmissionSet definitions).
SYSTEM_SCHEMES = {
    "TRE_A00-ProducteurDocNonPS": "1.2.250.1.213.1.1.4.6",
    "TRE_A01-CadreExercice": "1.2.250.1.213.1.1.4.9",
    "TRE_A03-ClasseDocument": "1.2.250.1.213.1.1.4.1",
    "TRE_A04-Loinc": "2.16.840.1.113883.6.1",
    "TRE_A05-TypeDocComplementaire": "1.2.250.1.213.1.1.4.12",
    "TRE_A06-FormatCodeComplementaire": "1.2.250.1.213.1.1.4.2.282",
    "TRE_A07-StatutVisibiliteDocument": "1.2.250.1.213.1.1.4.13",
    "TRE_A08-HL7Confidentiality": "2.16.840.1.113883.5.25",
    "TRE_A09-DICOMuidRegistry": "1.2.840.10008.2.6.1",
    "TRE_A10-NomenclatureURN": "URN",
    "TRE_A11-IheFormatCode": "1.3.6.1.4.1.19376.1.2.3",
    "TRE_A12-NomenclatureASTM": "ASTM",
    "TRE_R02-SecteurActivite": "1.2.250.1.71.4.2.4",
    "TRE_R209-TypeActivite": "1.2.250.1.213.2.2",
}
_OTHER_SYSTEMS = {"http://loinc.org": "2.16.840.1.113883.6.1",
                  "http://dicom.nema.org/resources/ontology/DCM": "1.2.840.10008.2.6.1"}


def _nos_name(url: str) -> str | None:
    """``TRE_A03-ClasseDocument`` for a NOS canonical URL, None for another URL."""
    found = re.match(re.escape(_NOS) + r"([^/]+)", url or "")
    return found.group(1) if found else None


def scheme_of(system: str, learned: dict[str, str]) -> str | None:
    """The XDS codingScheme of a FHIR system URL, or None when unknown."""
    if system in learned:
        return learned[system]
    name = _nos_name(system)
    return SYSTEM_SCHEMES.get(name) if name else _OTHER_SYSTEMS.get(system)


def learn_code_systems(folder: Path) -> dict[str, str]:
    """System URL -> OID of every ``CodeSystem`` JSON in ``folder`` with an urn:oid."""
    learned = {}
    for path in sorted(folder.glob("*.json")):
        resource = json.loads(path.read_text(encoding="utf-8"))
        if resource.get("resourceType") != "CodeSystem":
            continue
        for identifier in resource.get("identifier", []):
            value = identifier.get("value", "")
            if value.startswith("urn:oid:") and resource.get("url"):
                learned[resource["url"]] = value[len("urn:oid:"):]
    return learned


def _header(resource: dict) -> dict:
    oid = next((i["value"][len("urn:oid:"):] for i in _identifiers(resource)
                if i.get("value", "").startswith("urn:oid:")), None)
    return {"id": _nos_name(resource.get("url", "")) or resource.get("name") or resource["id"],
            "oid": oid, "version": resource.get("version"),
            "date": (resource.get("date") or "")[:10] or None,
            "url": resource.get("url"), "status": resource.get("status")}


def _identifiers(resource: dict) -> list[dict]:
    identifier = resource.get("identifier", [])
    return identifier if isinstance(identifier, list) else [identifier]


def convert_value_set(resource: dict, learned: dict[str, str], warn) -> dict:
    """Our value-set file for a FHIR ValueSet with an enumerated ``compose``."""
    codes = []
    for include in resource.get("compose", {}).get("include", []):
        system = include.get("system", "")
        scheme = scheme_of(system, learned)
        if scheme is None:
            warn(f"{resource.get('id')}: no codingScheme known for {system}; its codes "
                 "are accepted with any codingScheme")
        if not include.get("concept"):
            warn(f"{resource.get('id')}: include of {system} lists no concepts (filters "
                 "and whole systems are not expanded)")
        codes += [{"code": c["code"], "system": scheme, "display": c.get("display", "")}
                  for c in include.get("concept", [])]
    return {**_header(resource), "kind": "value set", "codes": codes}


def convert_concept_map(resource: dict, learned: dict[str, str], warn) -> dict:
    """Our association file for a FHIR ConceptMap (source code -> target code)."""
    pairs = []
    for group in resource.get("group", []):
        source, target = (scheme_of(group.get(k, ""), learned) for k in ("source", "target"))
        for element in group.get("element", []):
            for mapped in element.get("target", []):
                pairs.append({"source": element["code"], "source_system": source,
                              "target": mapped["code"], "target_system": target})
    return {**_header(resource), "kind": "association", "pairs": pairs}


def convert(resource: dict, learned: dict[str, str], warn=print) -> dict:
    """Our file for a ValueSet or ConceptMap resource."""
    kind = resource.get("resourceType")
    if kind == "ValueSet":
        return convert_value_set(resource, learned, warn)
    if kind == "ConceptMap":
        return convert_concept_map(resource, learned, warn)
    raise ValueError(f"{resource.get('id')}: a {kind} is neither a ValueSet nor a ConceptMap")


def main(argv=None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("resources", type=Path, nargs="+")
    parser.add_argument("--code-systems", type=Path)
    args = parser.parse_args(argv)
    learned = learn_code_systems(args.code_systems) if args.code_systems else {}
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for path in args.resources:
        converted = convert(json.loads(path.read_text(encoding="utf-8")), learned,
                            warn=lambda text: print(f"warning: {text}", file=sys.stderr))
        target = args.out_dir / f"{converted['id']}.json"
        target.write_text(json.dumps(converted, ensure_ascii=False, indent=1) + "\n",
                          encoding="utf-8")
        print(f"{target}: {len(converted.get('codes', converted.get('pairs', [])))} entries, "
              f"version {converted['version']} of {converted['date']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
