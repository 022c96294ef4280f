"""What identifies a VIHF assertion for the reuse of its reading (:class:`VihfCache`):
two assertions with the same key read the same.

The key is the assertion's own text in the request's bytes, with what gives that text
its meaning there: the namespaces in scope and the document's encoding (DTDs, and so
entities and default attributes, are refused before). Serialising the assertion again
with lxml, the key before, cost a DMP request about 35 µs, 5 % of a TD3.2 (issue 15).

The text is found by its tags: the start tag is ``<`` and the assertion's qualified name
as written, the end tag ``</`` and the same name (XML 1.0 §3.1: an end tag repeats the
start tag's name). The bytes run from the start tag to the last end tag of that name
(the assertion's, or a later one: more bytes than the assertion's, never fewer). When
the start tag's text occurs anywhere else in the bytes (a comment, CDATA, a longer name
such as ``AssertionIDRef``, a nested assertion), the bytes before it would decide which
one is the assertion; then, as when the tags cannot be found (an encoding that is not
ASCII-compatible, an empty-element tag), the key is the assertion serialised by lxml, as
before. The two kinds of key are tagged, so they never match each other.
"""
from __future__ import annotations

from lxml import etree

_MEMO = "vihf-key"  # SoapRequest.memo key: (assertion, its key)


def assertion_key(assertion: etree._Element, memo: dict, source: bytes | None = None):
    """The key of ``assertion`` (once per request: kept in ``memo``); ``source``: the
    bytes the request's tree was parsed from, when known."""
    found = memo.get(_MEMO)
    if found is None or found[0] is not assertion:
        key = _source_key(assertion, source) if source else None
        if key is None:
            key = ("tree", etree.tostring(assertion))
        found = memo[_MEMO] = (assertion, key)
    return found[1]


def _source_key(assertion: etree._Element, source: bytes):
    """("source", encoding, namespaces in scope, the assertion's bytes), or None when
    its bytes cannot be told apart for sure."""
    try:
        name = (f"{assertion.prefix}:Assertion" if assertion.prefix else "Assertion").encode()
    except UnicodeEncodeError:
        return None
    start_tag = b"<" + name
    # Written once, the start tag is the assertion's: what follows it is read the same
    # whatever came before. The last end tag of that name is the assertion's or after
    # it, so the bytes up to it hold the whole assertion.
    if source.count(start_tag) != 1:
        return None
    start, end = source.find(start_tag), source.rfind(b"</" + name)
    close = source.find(b">", end) if end > start else -1
    if close < 0:
        return None
    return ("source", assertion.getroottree().docinfo.encoding,
            frozenset(assertion.nsmap.items()), source[start:close + 1])
