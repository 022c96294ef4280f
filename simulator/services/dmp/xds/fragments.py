"""Registry objects stored pre-rendered: the bytes of each ``rim:ExtrinsicObject`` or
``rim:RegistryPackage`` as a TD3.1 answer carries them (issue 15: building and
serialising each entry at every query cost 146 µs of the 3.2 ms a 10-document
FindDocuments took).

A fragment is rendered once, when the object is stored (or its status changes), by the
same :func:`~simulator.services.dmp.xds.model.write_registry_object` as before, with the
ebRIM prefix of the default wire profile (``ns4``) and without its namespace
declaration, which the answer's root carries. An answer under another profile
(``SIM_DMP_XDS_PREFIXES``) renames the prefix of the element tags: every name in a
fragment is ebRIM's, attributes are unprefixed, and a ``<`` in a value is always written
``&lt;``, so ``<ns4:`` and ``</ns4:`` occur only as tags. The answer is then the bytes
lxml would have written for the same tree (the wire goldens check it byte for byte).
"""
from __future__ import annotations

from lxml import etree

from simulator.services.dmp.xds.model import (
    RIM, Association, RegistryObject, write_association, write_registry_object)
from simulator.services.dmp.xds.wire_profile import DEFAULT_PROFILE, WireProfile

CANONICAL_PREFIX = DEFAULT_PROFILE.prefix(RIM)
_DECLARATION = f' xmlns:{CANONICAL_PREFIX}="{RIM}"'.encode()
_OPEN, _CLOSE = f"<{CANONICAL_PREFIX}:".encode(), f"</{CANONICAL_PREFIX}:".encode()


def _fragment(write, item) -> bytes:
    holder = etree.Element(f"{{{RIM}}}RegistryObjectList", nsmap={CANONICAL_PREFIX: RIM})
    text = etree.tostring(write(holder, item), encoding="UTF-8")
    return text.replace(_DECLARATION, b"", 1)  # declared once, on the answer's root


def object_fragment(obj: RegistryObject) -> bytes:
    """The canonical bytes of a registry object in a LeafClass answer."""
    return _fragment(write_registry_object, obj)


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
