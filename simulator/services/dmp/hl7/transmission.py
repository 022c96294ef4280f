"""The HL7 v3 transmission wrapper of the DMP's answers (MCCI_MT000300UV01).

Element order is the schema's: id, creationTime, interactionId, processingCode,
processingModeCode, acceptAckCode, receiver, sender, attentionLine*, acknowledgement,
then the controlActProcess the caller adds. HL7 elements use the default namespace
``urn:hl7-org:v3`` with no prefix; ``xsi`` is declared on the root only when a value
needs ``xsi:type``.

``creationTime`` (and every time the DMP writes) is UTC, ``YYYYMMDDHHMMSS`` without
offset: the simulated clock is UTC, VIHF and XDS times are UTC (brief §4.2, §5.2), and
Mediboard converts the DMP's closure date from UTC to local time when it reads it.

The answers are written as text (issue 15: each element built with lxml was a call into
it, a fifth of a TD0.2), escaped as lxml escapes when it serialises
(:func:`attr`, :func:`escape_text`), so that the bytes are those the element tree gave;
:func:`el` and :func:`finish` remain for the PDQ answer, which echoes a request element.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from lxml import etree

from simulator.services.dmp.hl7 import codes as c
from simulator.services.dmp.hl7.xmlread import local_name, optional, text_of
from simulator.soap.xml_text import escape_attribute as attr
from simulator.soap.xml_text import escape_text


@dataclass(frozen=True)
class Echo:
    """What an answer repeats of the request it answers."""

    interaction: str  # the request's interaction
    message_id_root: str | None = None
    message_id_extension: str | None = None
    sender_id: str | None = None
    sender_name: str | None = None
    reason_code: str | None = None
    query_id_root: str | None = None
    query_id_extension: str | None = None


def echo_of_body(body: etree._Element, interaction: str | None = None) -> Echo:
    """Best effort, for a request that was refused before it was read: whatever of its
    ids and codes can be read. ``interaction`` names the request when the service takes
    only one (otherwise the body element's name)."""
    def find(*path: str) -> etree._Element | None:
        node = body
        for name in path:
            node = optional(node, name)
        return node

    def attr(node: etree._Element | None, name: str) -> str | None:
        return None if node is None else (node.get(name) or "").strip() or None

    message_id, sender = find("id"), find("sender", "device", "id")
    reason, query_id = (find("controlActProcess", "reasonCode"),
                        find("controlActProcess", "queryByParameter", "queryId"))
    reason_code = attr(reason, "code")
    return Echo(interaction or local_name(body), attr(message_id, "root"),
                attr(message_id, "extension"), attr(sender, "root"),
                text_of(find("sender", "device", "softwareName")) or None,
                reason_code if reason_code in c.REASON_NAMES else None,
                attr(query_id, "root"), attr(query_id, "extension"))


def hl7_time(when: datetime) -> str:
    """HL7 TS in UTC: YYYYMMDDHHMMSS (a naive datetime is taken as UTC)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    utc = when.astimezone(timezone.utc)  # strftime took twice as long as this
    return f"{utc.year:04d}{utc.month:02d}{utc.day:02d}{utc.hour:02d}{utc.minute:02d}" \
        f"{utc.second:02d}"


# Characters XML 1.0 cannot carry (§2.2), which lxml refuses in a value: the C0
# controls but tab, LF and CR; U+FFFE and U+FFFF (in UTF-8); a lone surrogate cannot
# be encoded at all (UnicodeEncodeError, a ValueError too).
_CONTROLS = bytes(c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D))
_NON_CHARACTERS = (b"\xef\xbf\xbe", b"\xef\xbf\xbf")


_XSI_TYPE = f"{{{c.XSI}}}type"


def el(parent: etree._Element, name: str, attrs: dict | None = None,
       text: str | None = None) -> etree._Element:
    """Append an HL7 element; ``attrs`` keeps its order (``xsi:type`` is spelled so)."""
    if attrs and "xsi:type" in attrs:
        attrs = {_XSI_TYPE if key == "xsi:type" else key: value
                 for key, value in attrs.items()}
    # The attributes given to SubElement (in the dict's order), not set one by one:
    # a DMP answer has about 60 elements, and each set() is a call into lxml (issue 15).
    element = etree.SubElement(parent, f"{{{c.HL7}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def start_message(interaction: str, echo: Echo, *, message_id: str, now: datetime,
                  xsi: bool = False) -> str:
    """The answer's root start tag, up to and including ``sender``; ``xsi`` declares
    the xsi prefix (for ``xsi:type``) beside the default namespace."""
    declarations = f' xmlns="{c.HL7}" xmlns:xsi="{c.XSI}"' if xsi else f' xmlns="{c.HL7}"'
    return (f'<{interaction}{declarations} ITSVersion="XML_1.0">'
            f'<id root="{c.DMP_DEVICE_OID}" extension="{attr(message_id)}"/>'
            f'<creationTime value="{hl7_time(now)}"/>'
            f'<interactionId root="{c.INTERACTION_ROOT}" extension="{interaction}"/>'
            '<processingCode code="P"/><processingModeCode code="T"/>'
            '<acceptAckCode code="NE"/>'
            f'<receiver typeCode="RCV">{_device(echo.sender_id, echo.sender_name)}</receiver>'
            f'<sender typeCode="SND">{_SENDER}</sender>')


def acknowledge(echo: Echo, type_code: str,
                detail: tuple[str, str | None, str, str | None] | None = None) -> str:
    """``acknowledgement`` with the request's id as targetMessage; ``detail`` is
    (code, code system, text, location) of one error acknowledgementDetail."""
    if echo.message_id_root:
        extension = f' extension="{attr(echo.message_id_extension)}"' \
            if echo.message_id_extension else ""
        target = f'<id root="{attr(echo.message_id_root)}"{extension}/>'
    else:
        target = '<id nullFlavor="UNK"/>'
    text = f'<acknowledgement typeCode="{type_code}"><targetMessage>{target}</targetMessage>'
    if detail is not None:
        code, system, message, location = detail
        system_attr = f' codeSystem="{attr(system)}"' if system else ""
        text += (f'<acknowledgementDetail typeCode="E"><code code="{attr(code)}"{system_attr}/>'
                 f'<text>{escape_text(message)}</text>'
                 + (f"<location>{escape_text(location)}</location>" if location else "")
                 + "</acknowledgementDetail>")
    return text + "</acknowledgement>"


def control_act(echo: Echo) -> str:
    """The start of ``controlActProcess`` CACT/EVN, repeating the request's reasonCode."""
    text = '<controlActProcess classCode="CACT" moodCode="EVN">'
    if echo.reason_code:
        name = c.REASON_NAMES.get(echo.reason_code)
        display = f' displayName="{attr(name)}"' if name else ""
        text += (f'<reasonCode code="{attr(echo.reason_code)}" '
                 f'codeSystem="{c.REASON_SYSTEM}"{display}/>')
    return text


def message_bytes(parts: list[str]) -> bytes:
    """The answer's text as UTF-8, refused as lxml refuses a value that XML 1.0 cannot
    carry (a control character: ValueError, never a document no parser reads)."""
    data = "".join(parts).encode("utf-8")
    # One pass in C over the bytes (a regular expression over the text took 125,000 instructions).
    if len(data.translate(None, _CONTROLS)) != len(data) or not data.isascii() and any(
            character in data for character in _NON_CHARACTERS):
        raise ValueError("All strings must be XML compatible: Unicode or ASCII, no NULL "
                         "bytes or control characters")
    return data


def as_element(message: bytes) -> etree._Element:
    """An answer written by this module, as an element (tests, readers, PDQ)."""
    return etree.fromstring(message)


def finish(root: etree._Element) -> etree._Element:
    """Drop the ``xsi`` declaration when nothing uses it."""
    etree.cleanup_namespaces(root)
    return root


def _device(oid: str | None, name: str | None) -> str:
    device_id = f'<id root="{attr(oid)}"/>' if oid else '<id nullFlavor="UNK"/>'
    software = f"<softwareName>{escape_text(name)}</softwareName>" if name else ""
    return f'<device classCode="DEV" determinerCode="INSTANCE">{device_id}{software}</device>'


_SENDER = _device(c.DMP_DEVICE_OID, c.DMP_SOFTWARE_NAME)
