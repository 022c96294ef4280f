"""XML written as text with lxml's own escapes (issue 15: answers written directly
rather than built element by element). The HL7 answers and the XDS registry's answer
fragments use it; tests compare their bytes with lxml's serialisation."""
from __future__ import annotations

import re

# What libxml2 escapes when it serialises an attribute value (double-quoted) and an
# element's text: the whitespace characters of attributes and CR in text become
# character references, so that a parser reads back the same value.
_ATTRIBUTE_REFS = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;",
                   "\n": "&#10;", "\r": "&#13;"}
_TEXT_REFS = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#13;"}
_ATTRIBUTE_SPECIAL = re.compile('[&<>"\t\n\r]')
_TEXT_SPECIAL = re.compile("[&<>\r]")


def escape_attribute(value: str) -> str:
    """``value`` escaped for a double-quoted attribute, as lxml serialises it."""
    if _ATTRIBUTE_SPECIAL.search(value) is None:
        return value
    return _ATTRIBUTE_SPECIAL.sub(lambda m: _ATTRIBUTE_REFS[m.group()], value)


def escape_text(value: str) -> str:
    """``value`` escaped for element text, as lxml serialises it."""
    if _TEXT_SPECIAL.search(value) is None:
        return value
    return _TEXT_SPECIAL.sub(lambda m: _TEXT_REFS[m.group()], value)
