"""XDS.b registry objects as plain data, read from and written back to ebRIM 3.0 XML.

The model is generic on purpose: an object keeps every slot, classification and
external identifier the client sent, in order, so that what a query returns is what
was submitted (plus what the registry sets: entryUUID, lid, version, status,
repositoryUniqueId). Typed accessors give the metadata the rules and queries need.
Objects are JSON-serialisable through :meth:`RegistryObject.to_dict` for the store.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from lxml import etree


RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
XDSB = "urn:ihe:iti:xds-b:2007"

# Object types and classification nodes (IHE ITI TF-3 §4.2.5).
DOCUMENT_ENTRY_TYPE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
SUBMISSION_SET_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
REGISTRY_PACKAGE_TYPE = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage"
CLASSIFICATION_TYPE = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification"
EXTERNAL_ID_TYPE = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:ExternalIdentifier"
ASSOCIATION_TYPE = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Association"

# DocumentEntry classification schemes.
DE_CLASS_CODE = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
DE_TYPE_CODE = "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983"
DE_FORMAT_CODE = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
DE_FACILITY_TYPE = "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1"
DE_PRACTICE_SETTING = "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead"
DE_CONFIDENTIALITY = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
DE_EVENT_CODE = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
DE_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
DE_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
DE_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
# SubmissionSet schemes.
SS_CONTENT_TYPE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
SS_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
SS_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
SS_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"

# Availability status (ebRIM, plus the French CI-SIS values, DMP brief §2.5).
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
ARCHIVED = "urn:asip:ci-sis:2010:StatusType:Archived"
DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"

HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
SIGNS = "urn:ihe:iti:2007:AssociationType:signs"
UPDATE_AVAILABILITY = "urn:ihe:iti:2010:AssociationType:UpdateAvailabilityStatus"


@dataclass(frozen=True)
class Code:
    """A coded value: code, coding scheme (OID or name) and display name."""

    code: str
    scheme: str
    display: str = ""


@dataclass
class Classification:
    """``rim:Classification``: a coded value (node representation + codingScheme slot)
    or an author (slots only), or the submission-set marker (classificationNode)."""

    scheme: str  # classificationScheme, empty for the submission-set marker
    node: str  # nodeRepresentation (code)
    id: str = ""
    classified_object: str = ""
    classification_node: str = ""
    name: str = ""
    slots: dict[str, list[str]] = field(default_factory=dict)

    @property
    def code(self) -> Code:
        """The coded value this classification carries."""
        return Code(self.node, (self.slots.get("codingScheme") or [""])[0], self.name)


@dataclass
class ExternalId:
    """``rim:ExternalIdentifier`` (patientId, uniqueId, sourceId)."""

    scheme: str
    value: str
    id: str = ""
    registry_object: str = ""
    name: str = ""


@dataclass
class RegistryObject:
    """An ``ExtrinsicObject`` (document entry) or ``RegistryPackage`` (submission set,
    folder)."""

    kind: str  # "ExtrinsicObject" | "RegistryPackage"
    id: str  # entryUUID once registered (symbolic id in a submission)
    object_type: str = ""
    mime_type: str = ""
    status: str = ""
    lid: str = ""
    version: str = ""
    home: str = ""
    name: str = ""
    description: str = ""
    slots: dict[str, list[str]] = field(default_factory=dict)
    classifications: list[Classification] = field(default_factory=list)
    external_ids: list[ExternalId] = field(default_factory=list)

    def slot(self, name: str) -> str | None:
        """First value of a slot, or None."""
        values = self.slots.get(name)
        return values[0] if values else None

    def codes(self, scheme: str) -> list[Code]:
        """Every coded value classified under ``scheme``."""
        return [c.code for c in self.classifications if c.scheme == scheme]

    def code(self, scheme: str) -> Code | None:
        """The one coded value under ``scheme``, or None."""
        found = self.codes(scheme)
        return found[0] if found else None

    def external(self, scheme: str) -> str | None:
        """The value of the external identifier of ``scheme``, or None."""
        return next((e.value for e in self.external_ids if e.scheme == scheme), None)

    @property
    def is_submission_set(self) -> bool:
        """Classified by the submission-set node."""
        return self.kind == "RegistryPackage" and any(
            c.classification_node == SUBMISSION_SET_NODE for c in self.classifications)

    def to_dict(self) -> dict:
        """JSON-ready form (what ``dataclasses.asdict`` gives, built directly: asdict's
        deep copy cost a feed 206 µs, issue 15)."""
        return {"kind": self.kind, "id": self.id, "object_type": self.object_type,
                "mime_type": self.mime_type, "status": self.status, "lid": self.lid,
                "version": self.version, "home": self.home, "name": self.name,
                "description": self.description, "slots": _slots_dict(self.slots),
                "classifications": [
                    {"scheme": c.scheme, "node": c.node, "id": c.id,
                     "classified_object": c.classified_object,
                     "classification_node": c.classification_node, "name": c.name,
                     "slots": _slots_dict(c.slots)} for c in self.classifications],
                "external_ids": [
                    {"scheme": e.scheme, "value": e.value, "id": e.id,
                     "registry_object": e.registry_object, "name": e.name}
                    for e in self.external_ids]}

    @classmethod
    def from_dict(cls, data: dict) -> RegistryObject:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["classifications"] = [Classification(**c) for c in data["classifications"]]
        data["external_ids"] = [ExternalId(**e) for e in data["external_ids"]]
        return cls(**data)

    def evolve(self, **changes) -> RegistryObject:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)


@dataclass
class Association:
    """``rim:Association`` between two objects."""

    id: str
    type: str
    source: str
    target: str
    status: str = ""
    slots: dict[str, list[str]] = field(default_factory=dict)

    def slot(self, name: str) -> str | None:
        """First value of a slot, or None."""
        values = self.slots.get(name)
        return values[0] if values else None

    def to_dict(self) -> dict:
        """JSON-ready form (as ``dataclasses.asdict``, built directly)."""
        return {"id": self.id, "type": self.type, "source": self.source,
                "target": self.target, "status": self.status,
                "slots": _slots_dict(self.slots)}

    @classmethod
    def from_dict(cls, data: dict) -> Association:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


def _slots_dict(slots: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: list(values) for name, values in slots.items()}


# --- reading ebRIM ---------------------------------------------------------------------

def _q(name: str) -> str:
    return f"{{{RIM}}}{name}"


# Child iteration rather than ``find``/``findall``: the same elements in the same order,
# without lxml's ElementPath, a Python layer that took a tenth of a feed (issue 15). An
# object's children are read in one pass, grouped by tag: an ``iterchildren(tag)`` per
# kind of child (six an object, two a classification) cost more than the reading.
_SLOT, _VALUE_LIST, _VALUE = _q("Slot"), _q("ValueList"), _q("Value")
_NAME, _DESCRIPTION, _VERSION_INFO = _q("Name"), _q("Description"), _q("VersionInfo")
_CLASSIFICATION, _EXTERNAL_ID = _q("Classification"), _q("ExternalIdentifier")
_LOCALIZED_STRING = _q("LocalizedString")


def _children(element: etree._Element) -> dict:
    """The children of ``element`` by tag, each list in document order."""
    groups: dict = {}
    for child in element:
        groups.setdefault(child.tag, []).append(child)
    return groups


def _localized(children: dict, tag: str) -> str:
    # The first LocalizedString of the first such child that has one (ElementPath's
    # "Name/LocalizedString").
    for holder in children.get(tag, ()):
        found = next(holder.iterchildren(_LOCALIZED_STRING), None)
        if found is not None:
            return found.get("value", "")
    return ""


def _slots(children: dict) -> dict[str, list[str]]:
    slots: dict[str, list[str]] = {}
    for slot in children.get(_SLOT, ()):
        values = [(v.text or "") for value_list in slot.iterchildren(_VALUE_LIST)
                  for v in value_list.iterchildren(_VALUE)]
        slots.setdefault(slot.get("name", ""), []).extend(values)
    return slots


def read_classification(element: etree._Element) -> Classification:
    """A ``rim:Classification`` element as data."""
    children = _children(element)
    return Classification(
        scheme=element.get("classificationScheme", ""),
        node=element.get("nodeRepresentation", ""), id=element.get("id", ""),
        classified_object=element.get("classifiedObject", ""),
        classification_node=element.get("classificationNode", ""),
        name=_localized(children, _NAME), slots=_slots(children))


def read_registry_object(element: etree._Element) -> RegistryObject:
    """A ``rim:ExtrinsicObject`` or ``rim:RegistryPackage`` element as data."""
    children = _children(element)
    version = children.get(_VERSION_INFO)
    return RegistryObject(
        kind=etree.QName(element).localname, id=element.get("id", ""),
        object_type=element.get("objectType", ""), mime_type=element.get("mimeType", ""),
        status=element.get("status", ""), lid=element.get("lid", ""),
        version=version[0].get("versionName", "") if version else "",
        home=element.get("home", ""), name=_localized(children, _NAME),
        description=_localized(children, _DESCRIPTION), slots=_slots(children),
        classifications=[read_classification(c) for c in children.get(_CLASSIFICATION, ())],
        external_ids=[ExternalId(e.get("identificationScheme", ""), e.get("value", ""),
                                 e.get("id", ""), e.get("registryObject", ""),
                                 _localized(_children(e), _NAME))
                      for e in children.get(_EXTERNAL_ID, ())])


def read_association(element: etree._Element) -> Association:
    """A ``rim:Association`` element as data."""
    return Association(id=element.get("id", ""), type=element.get("associationType", ""),
                       source=element.get("sourceObject", ""),
                       target=element.get("targetObject", ""),
                       status=element.get("status", ""), slots=_slots(_children(element)))


# --- writing ebRIM ---------------------------------------------------------------------

def _add_slots(parent: etree._Element, slots: dict[str, list[str]]) -> None:
    for name, values in slots.items():
        slot = etree.SubElement(parent, _q("Slot"), name=name)
        value_list = etree.SubElement(slot, _q("ValueList"))
        for value in values:
            etree.SubElement(value_list, _q("Value")).text = value


def _add_localized(parent: etree._Element, child: str, value: str) -> None:
    if value:
        holder = etree.SubElement(parent, _q(child))
        etree.SubElement(holder, _q("LocalizedString"), value=value)


# Attributes are written in the order a JAXB marshaller writes them, which is the order
# of the pairs below: the element's own type first (schema order), then the types it
# extends (RegistryObjectType: lid, objectType, status; IdentifiableType: id, home).
# Inferred from JAXB registries' answers (wire_profile.py); string-reading clients rely
# on e.g. classificationScheme before nodeRepresentation (DRIMbox documents.service.ts).
def _attributes(pairs: list[tuple[str, str]], keep_empty: frozenset[str] = frozenset()
                ) -> dict[str, str]:
    return {name: value for name, value in pairs if value or name in keep_empty}


def write_classification(parent: etree._Element, c: Classification) -> etree._Element:
    """Append ``c`` to ``parent`` as a ``rim:Classification``."""
    element = etree.SubElement(parent, _q("Classification"), _attributes([
        ("classificationScheme", c.scheme), ("classifiedObject", c.classified_object),
        ("classificationNode", c.classification_node), ("nodeRepresentation", c.node),
        ("objectType", CLASSIFICATION_TYPE), ("id", c.id)],
        # author classifications carry an empty nodeRepresentation
        keep_empty=frozenset({"nodeRepresentation"} if c.scheme else ())))
    _add_slots(element, c.slots)
    _add_localized(element, "Name", c.name)
    return element


def write_registry_object(parent: etree._Element, obj: RegistryObject) -> etree._Element:
    """Append ``obj`` to ``parent`` in ebRIM element order (Slot, Name, Description,
    VersionInfo, Classification, ExternalIdentifier)."""
    element = etree.SubElement(parent, _q(obj.kind), _attributes([
        ("mimeType", obj.mime_type), ("lid", obj.lid),
        ("objectType", obj.object_type or (REGISTRY_PACKAGE_TYPE
                                           if obj.kind == "RegistryPackage" else "")),
        ("status", obj.status), ("id", obj.id), ("home", obj.home)]))
    _add_slots(element, obj.slots)
    _add_localized(element, "Name", obj.name)
    _add_localized(element, "Description", obj.description)
    if obj.version:
        etree.SubElement(element, _q("VersionInfo"), versionName=obj.version)
    for classification in obj.classifications:
        write_classification(element, classification)
    for ext in obj.external_ids:
        ext_element = etree.SubElement(element, _q("ExternalIdentifier"), _attributes([
            ("registryObject", ext.registry_object or obj.id),
            ("identificationScheme", ext.scheme), ("value", ext.value),
            ("objectType", EXTERNAL_ID_TYPE), ("id", ext.id)]))
        _add_localized(ext_element, "Name", ext.name)
    return element


def write_association(parent: etree._Element, a: Association) -> etree._Element:
    """Append ``a`` to ``parent`` as a ``rim:Association``."""
    element = etree.SubElement(parent, _q("Association"), _attributes([
        ("associationType", a.type), ("sourceObject", a.source), ("targetObject", a.target),
        ("objectType", ASSOCIATION_TYPE), ("status", a.status), ("id", a.id)]))
    _add_slots(element, a.slots)
    return element
