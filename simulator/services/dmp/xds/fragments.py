"""Registry objects stored pre-rendered: the bytes of each ``rim:ExtrinsicObject`` or
``rim:RegistryPackage`` as a TD3.1 answer carries them (issue 15: building and
serialising each entry at every query cost 146 µs of the 3.2 ms a 10-document
FindDocuments took).

A fragment is rendered once, when the object is stored (or its status changes), with the
ebRIM prefix of the default wire profile (``ns4``) and without its namespace
declaration, which the answer's root carries. :func:`object_fragment` writes the text
directly (issue 15: building the tree with lxml and serialising it cost a feed's three
fragments 0.64 M of its 22.4 M instructions more), giving the bytes lxml gives for the tree that
:func:`~simulator.services.dmp.xds.model.write_registry_object` builds, which stays the
reference (``tests/unit/test_xds_fragments.py`` compares the two on generated objects):
libxml2 escapes ``& < > "`` and tab, line feed and carriage return in attribute values,
``& < >`` and carriage return in text, writes an element without content as ``<x/>``
and one with an empty text as ``<x></x>``. An answer under another profile
(``SIM_DMP_XDS_PREFIXES``) renames the prefix of the element tags: every name in a
fragment is ebRIM's, attributes are unprefixed, and a ``<`` in a value is always written
``&lt;``, so ``<ns4:`` and ``</ns4:`` occur only as tags. The answer is then the bytes
lxml would have written for the same tree (the wire goldens check it byte for byte).
"""
from __future__ import annotations

from lxml import etree

from simulator.services.dmp.xds.model import (
    CLASSIFICATION_TYPE, EXTERNAL_ID_TYPE, REGISTRY_PACKAGE_TYPE, RIM, Association,
    Classification, RegistryObject, write_association, write_registry_object)
from simulator.services.dmp.xds.wire_profile import DEFAULT_PROFILE, WireProfile
from simulator.soap.xml_text import escape_attribute, escape_text

CANONICAL_PREFIX = DEFAULT_PROFILE.prefix(RIM)
_DECLARATION = f' xmlns:{CANONICAL_PREFIX}="{RIM}"'.encode()
_OPEN, _CLOSE = f"<{CANONICAL_PREFIX}:".encode(), f"</{CANONICAL_PREFIX}:".encode()


def _fragment(write, item) -> bytes:
    holder = etree.Element(f"{{{RIM}}}RegistryObjectList", nsmap={CANONICAL_PREFIX: RIM})
    text = etree.tostring(write(holder, item), encoding="UTF-8")
    return text.replace(_DECLARATION, b"", 1)  # declared once, on the answer's root


def object_fragment(obj: RegistryObject) -> bytes:
    """The canonical bytes of a registry object in a LeafClass answer: what
    :func:`lxml_object_fragment` gives, written directly."""
    return "".join(_object_parts(obj)).encode()


def lxml_object_fragment(obj: RegistryObject) -> bytes:
    """The canonical bytes of a registry object, by lxml from the tree of
    :func:`~simulator.services.dmp.xds.model.write_registry_object` (the reference)."""
    return _fragment(write_registry_object, obj)


_P = f"{CANONICAL_PREFIX}:"


def _start(name: str, pairs, keep_empty: tuple[str, ...] = ()) -> str:
    # The attributes in model._attributes' order, empty ones left out as it does.
    return f"<{_P}{name}" + "".join(
        f' {key}="{escape_attribute(value)}"' for key, value in pairs
        if value or key in keep_empty)


def _element(start: str, name: str, content: list[str]) -> str:
    return f"{start}>{''.join(content)}</{_P}{name}>" if content else f"{start}/>"


def _slot_parts(slots: dict[str, list[str]]) -> list[str]:
    parts = []
    for name, values in slots.items():
        listed = "".join(f"<{_P}Value/>" if value is None else
                         f"<{_P}Value>{escape_text(value)}</{_P}Value>"
                         for value in values)
        value_list = f"<{_P}ValueList>{listed}</{_P}ValueList>" if listed \
            else f"<{_P}ValueList/>"
        parts.append(f'<{_P}Slot name="{escape_attribute(name)}">{value_list}'
                     f"</{_P}Slot>")
    return parts


def _localized(name: str, value: str) -> list[str]:
    if not value:
        return []
    return [f'<{_P}{name}><{_P}LocalizedString value="{escape_attribute(value)}"'
            f"/></{_P}{name}>"]


def _classification(c: Classification) -> str:
    start = _start("Classification", (
        ("classificationScheme", c.scheme), ("classifiedObject", c.classified_object),
        ("classificationNode", c.classification_node), ("nodeRepresentation", c.node),
        ("objectType", CLASSIFICATION_TYPE), ("id", c.id)),
        ("nodeRepresentation",) if c.scheme else ())
    return _element(start, "Classification", _slot_parts(c.slots) + _localized("Name", c.name))


def _object_parts(obj: RegistryObject) -> list[str]:
    start = _start(obj.kind, (
        ("mimeType", obj.mime_type), ("lid", obj.lid),
        ("objectType", obj.object_type or (REGISTRY_PACKAGE_TYPE
                                           if obj.kind == "RegistryPackage" else "")),
        ("status", obj.status), ("id", obj.id), ("home", obj.home)))
    content = _slot_parts(obj.slots) + _localized("Name", obj.name) + _localized(
        "Description", obj.description)
    if obj.version:
        content.append(_start("VersionInfo", (("versionName", obj.version),)) + "/>")
    content += [_classification(c) for c in obj.classifications]
    for ext in obj.external_ids:
        ext_start = _start("ExternalIdentifier", (
            ("registryObject", ext.registry_object or obj.id),
            ("identificationScheme", ext.scheme), ("value", ext.value),
            ("objectType", EXTERNAL_ID_TYPE), ("id", ext.id)))
        content.append(_element(ext_start, "ExternalIdentifier", _localized("Name", ext.name)))
    return [_element(start, obj.kind, content)]


def association_fragment(association: Association) -> bytes:
    """The canonical bytes of an association in a LeafClass answer."""
    return _fragment(write_association, association)


def for_profile(fragment: bytes, profile: WireProfile) -> bytes:
    """``fragment`` with the ebRIM prefix of ``profile``."""
    prefix = profile.prefix(RIM)
    if prefix == CANONICAL_PREFIX:
        return fragment
    return fragment.replace(_OPEN, f"<{prefix}:".encode()).replace(
        _CLOSE, f"</{prefix}:".encode())
