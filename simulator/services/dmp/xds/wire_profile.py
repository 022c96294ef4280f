"""How every DMP XDS answer is serialised: namespace prefixes, where they are declared,
and attribute order (docs/dmp.md, "How answers are serialised").

The real DMP answers like a Java JAXB marshaller: numbered prefixes (``ns2``, ``ns3``...)
all declared on the payload's root element, attributes of each type before those of the
type it extends. What is evidenced and what is inferred:

* ``ns4`` is ebRIM: evidenced. The ANS's public DMP client (DRIMbox,
  FrontendConso/src/app/request/documents.service.ts) reads TD3.1 answers by splitting
  on ``<ns4:ExtrinsicObject``, ``<ns4:Name>``, ``</ns4:ValueList>`` and ``<ns4:Value>``.
* ``totalResultCount`` on ``AdhocQueryResponse``: evidenced (same file, and
  Backend/.../api/conso/DmpAPI.java, which also reads ``ObjectRef id="``).
* The other prefixes (rs ``ns2``, query ``ns3``, lcm ``ns5``, xds-b ``ns6``): inferred,
  keeping the relative order of DRIMbox's own JAXB-numbered requests
  (Backend/.../dmp/request/FindAllDocumentRequest.java: rs ``ns2``, query ``ns3``).
  Configurable with ``SIM_DMP_XDS_PREFIXES``.
* Declarations on the payload root and attributes derived-type-first (``startIndex``,
  ``totalResultCount`` then ``status``; ``mimeType`` then ``status`` then ``id``):
  inferred from JAXB registries' answers (gematik/zero-lab go/epa/xds_test.go, a CXF
  registry answer), where every context namespace is declared on the root.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from simulator.services.dmp.xds.model import LCM, QUERY, RIM, RS, XDSB

# The short names the setting uses for each namespace, in declaration order.
NAMESPACES = {"rs": RS, "query": QUERY, "rim": RIM, "lcm": LCM, "xdsb": XDSB}

# Named prefix maps. "jaxb" is the real platform's (rim evidenced, the rest inferred);
# "ihe" gives the readable prefixes of the IHE texts, for vendors debugging by eye.
PROFILES = {
    "jaxb": {"rs": "ns2", "query": "ns3", "rim": "ns4", "lcm": "ns5", "xdsb": "ns6"},
    "ihe": {"rs": "rs", "query": "query", "rim": "rim", "lcm": "lcm", "xdsb": "xdsb"},
}
DEFAULT_PREFIXES = "jaxb"

# Prefixes the SOAP envelope and the MTOM layer use: an answer never rebinds them.
_RESERVED = {"soap", "wsa", "wsse", "xop", "xml", "xmlns"}
_NCNAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


class WireProfileError(ValueError):
    """SIM_DMP_XDS_PREFIXES cannot be used; the message says why."""


@dataclass(frozen=True)
class WireProfile:
    """The prefix of each XDS namespace; every one is declared on the answer's root."""

    prefixes: tuple[tuple[str, str], ...]  # (namespace URI, prefix), in declaration order

    @property
    def nsmap(self) -> dict[str, str]:
        """The lxml nsmap (prefix -> URI) every answer root carries."""
        return {prefix: uri for uri, prefix in self.prefixes}

    def prefix(self, namespace: str) -> str:
        """The prefix of ``namespace`` (one of :data:`NAMESPACES`)."""
        return dict(self.prefixes)[namespace]

    def root(self, namespace: str, local: str, attributes: list[tuple[str, str]]
             ) -> etree._Element:
        """The root element of an answer: every profile namespace declared on it, its
        attributes in the given order (empty values left out)."""
        element = etree.Element(f"{{{namespace}}}{local}", nsmap=self.nsmap)
        for name, value in attributes:
            if value:
                element.set(name, value)
        return element


@lru_cache(maxsize=16)
def parse_prefixes(text: str) -> WireProfile:
    """The profile that ``SIM_DMP_XDS_PREFIXES`` names: a profile name (``jaxb``,
    ``ihe``), optionally followed by ``,name=prefix`` overrides (``jaxb,rs=ns3,query=ns2``)
    or overrides alone (applied to ``jaxb``). Raise :class:`WireProfileError`."""
    parts = [p.strip() for p in (text or DEFAULT_PREFIXES).split(",") if p.strip()]
    base = DEFAULT_PREFIXES
    if parts and "=" not in parts[0]:
        base = parts.pop(0)
    if base not in PROFILES:
        raise WireProfileError(f"SIM_DMP_XDS_PREFIXES: unknown profile {base!r}; "
                               f"known: {', '.join(PROFILES)}")
    chosen = dict(PROFILES[base])
    for part in parts:
        name, _, prefix = (s.strip() for s in part.partition("="))
        if name not in NAMESPACES:
            raise WireProfileError(f"SIM_DMP_XDS_PREFIXES: {name!r} is not one of "
                                   f"{', '.join(NAMESPACES)} (in {part!r})")
        if not _NCNAME.match(prefix) or prefix.lower() in _RESERVED \
                or prefix.lower().startswith("xml"):
            raise WireProfileError(f"SIM_DMP_XDS_PREFIXES: {prefix!r} cannot be the prefix "
                                   f"of {name} (an XML name, not soap/wsa/wsse/xop/xml...)")
        chosen[name] = prefix
    if len(set(chosen.values())) != len(chosen):
        raise WireProfileError(f"SIM_DMP_XDS_PREFIXES: two namespaces share a prefix in "
                               f"{text!r}: {chosen}")
    return WireProfile(tuple((NAMESPACES[name], chosen[name]) for name in NAMESPACES))


DEFAULT_PROFILE = parse_prefixes(DEFAULT_PREFIXES)
