"""Safe reading of SOAP 1.2 requests.

No DTD, no entity expansion, no network access, bounded size: a hostile document is
refused before any of it is interpreted.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass, field

from lxml import etree

from simulator.soap.errors import ProtocolError
from simulator.soap.mtom import quoted, resolve_includes, split_related
from simulator.soap.namespaces import SOAP11_ENV, SOAP12_ENV, WSA


@dataclass
class SoapRequest:
    """A parsed SOAP 1.2 request: its envelope and what the dispatcher needs."""

    envelope: etree._Element
    header: etree._Element | None
    body_element: etree._Element | None
    action: str | None  # from wsa:Action, else the Content-Type action parameter
    message_id: str | None  # wsa:MessageID text
    _blocks: dict | None = field(default=None, repr=False, compare=False)
    # What a service derives from the request more than once (e.g. INSi's indexed
    # header blocks, for its checks, the chaos facts and the usage table).
    memo: dict = field(default_factory=dict, repr=False, compare=False)
    # MTOM: the binary part an element of the Body's base64 text was made from
    # (mtom.resolve_includes).
    parts: dict = field(default_factory=dict, repr=False, compare=False)
    # The bytes the envelope was parsed from (an MTOM package's root part).
    source: bytes = field(default=b"", repr=False, compare=False)

    @property
    def body_qname(self) -> str | None:
        """``{namespace}name`` of the first Body child."""
        return None if self.body_element is None else self.body_element.tag

    def header_element(self, qname: str) -> etree._Element | None:
        """The first header block with this ``{namespace}name`` (indexed on first use:
        a service looks up the same blocks several times per request)."""
        if self.header is None:
            return None
        if self._blocks is None:
            blocks: dict = {}
            for block in self.header:
                blocks.setdefault(block.tag, block)
            self._blocks = blocks
        return self._blocks.get(qname)


def first_child(element: etree._Element, tag: str) -> etree._Element | None:
    """``element.find(tag)`` for one ``{namespace}name``, without lxml's ElementPath
    machinery, which cost a quarter of an INSi request's instructions (issue 15)."""
    return next(element.iterchildren(tag), None)


def descendant(element: etree._Element | None, *tags: str) -> etree._Element | None:
    """``element.find("t1/t2/...")``: the first element at the end of the path of child
    tags, trying every match of each step as ElementPath does; None when there is none
    (or ``element`` is None)."""
    if element is None:
        return None
    if len(tags) == 1:
        return next(element.iterchildren(tags[0]), None)
    for child in element.iterchildren(tags[0]):
        found = descendant(child, *tags[1:])
        if found is not None:
            return found
    return None


def child_text(element: etree._Element | None, *tags: str) -> str | None:
    """``element.findtext("t1/t2/...")``: the text of :func:`descendant` ('' when it has
    none), None when there is no such element."""
    found = descendant(element, *tags)
    return None if found is None else found.text or ""


def content_type_parts(value: str | None) -> tuple[str, dict]:
    """Split a Content-Type header into (lower-case media type, parameters)."""
    media_type, *pairs = (value or "").split(";")
    params = {}
    for pair in pairs:
        name, _, raw = pair.partition("=")
        params[name.strip().lower()] = raw.strip().strip('"')
    return media_type.strip().lower(), params


def safe_parser() -> etree.XMLParser:
    """An lxml parser that never loads DTDs, expands entities or reaches the network."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_pis=True)


# One parser for every parse of the process: making a parser costs an INSi request
# 25 µs (issue 15). lxml serialises the use of one parser across threads with its own
# lock (_ParserContext.prepare in lxml's parser.pxi), and a parse never yields to
# another greenlet.
_SAFE_PARSER = safe_parser()


def parse_safely(content: bytes) -> etree._Element:
    """The root of ``content``, read by the shared safe parser (raises lxml's
    ``XMLSyntaxError`` or ``ValueError`` on what it cannot read)."""
    return etree.fromstring(content, _SAFE_PARSER)

_HEADER, _BODY = f"{{{SOAP12_ENV}}}Header", f"{{{SOAP12_ENV}}}Body"
_WSA_ACTION, _WSA_MESSAGE_ID = f"{{{WSA}}}Action", f"{{{WSA}}}MessageID"

_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE,
         codecs.BOM_UTF16_BE)


def _encoding_hint(raw: bytes) -> str:
    """What is wrong with the body's encoding, when that explains a syntax error."""
    if raw.startswith(_BOMS) or b"encoding=" in raw[:100]:  # it names its own encoding
        return ""
    advice = "send it in UTF-8, with charset=utf-8 in the Content-Type"
    if b"\x00" in raw[:4]:  # '<' in UTF-16 or UTF-32 has zero bytes beside it
        return f"; the body looks like UTF-16 or UTF-32 without a byte order mark: {advice}"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (f"; the body is not UTF-8 (byte 0x{raw[exc.start]:02X} at offset "
                f"{exc.start}): {advice}")
    return ""


def parse_soap12(raw: bytes, content_type: str | None) -> SoapRequest:
    """Parse a SOAP 1.2 request body, plain or MTOM; raise :class:`ProtocolError` on
    anything unusable."""
    media_type, params = content_type_parts(content_type)
    attachments, parts = {}, {}
    if media_type == "multipart/related" and \
            params.get("type", "").lower() == "application/xop+xml":
        raw, attachments = split_related(raw, params)
    elif media_type != "application/soap+xml":
        raise ProtocolError(
            "media-type",
            f"Unsupported Content-Type {quoted(media_type, quotes=False) or '(none)'}: this "
            "SOAP 1.2 endpoint expects application/soap+xml; charset=utf-8, or MTOM "
            '(multipart/related; type="application/xop+xml")', 415)
    if not raw.strip():
        raise ProtocolError("malformed", "Empty request body: a SOAP 1.2 Envelope is expected")
    try:
        root = parse_safely(raw)
    except etree.XMLSyntaxError as exc:
        raise ProtocolError("malformed",
                            f"XML is not well-formed: {exc}{_encoding_hint(raw)}") from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise ProtocolError("forbidden-dtd", "DOCTYPE declarations are not allowed in SOAP messages")
    if root.tag == f"{{{SOAP11_ENV}}}Envelope":
        raise ProtocolError("version-mismatch",
                            "SOAP 1.1 envelope received: this endpoint speaks SOAP 1.2 "
                            f"({SOAP12_ENV})")
    if root.tag != f"{{{SOAP12_ENV}}}Envelope":
        raise ProtocolError("not-soap", f"Root element {root.tag} is not a SOAP 1.2 Envelope")
    if media_type == "multipart/related":
        parts = resolve_includes(root, attachments)
    header = first_child(root, _HEADER)
    body = first_child(root, _BODY)
    if body is None:
        raise ProtocolError("not-soap", "The SOAP Envelope has no Body")
    body_element = next((child for child in body if isinstance(child.tag, str)), None)
    # Only the Body's parts are kept beside their text (a document of TD2.1): a large
    # part in a header block would otherwise stay in memory twice until the answer.
    parts = {element: part for element, part in parts.items()
             if any(ancestor is body for ancestor in element.iterancestors())}
    wsa_action = child_text(header, _WSA_ACTION)
    message_id = child_text(header, _WSA_MESSAGE_ID)
    action = (wsa_action or params.get("action") or "").strip() or None
    return SoapRequest(root, header, body_element, action,
                       message_id.strip() if message_id else None, parts=parts, source=raw)
