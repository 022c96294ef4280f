"""The HL7 v3 transmission wrapper of the DMP's answers (MCCI_MT000300UV01).

Element order is the schema's: id, creationTime, interactionId, processingCode,
processingModeCode, acceptAckCode, receiver, sender, attentionLine*, acknowledgement,
then the controlActProcess the caller adds. HL7 elements use the default namespace
``urn:hl7-org:v3`` with no prefix; ``xsi`` is declared on the root only when a value
needs ``xsi:type``.

``creationTime`` (and every time the DMP writes) is UTC, ``YYYYMMDDHHMMSS`` without
offset: the simulated clock is UTC, VIHF and XDS times are UTC (brief §4.2, §5.2), and
Mediboard converts the DMP's closure date from UTC to local time when it reads it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from lxml import etree

from simulator.services.dmp.hl7 import codes as c
from simulator.services.dmp.hl7.xmlread import local_name, optional, text_of


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
    return when.astimezone(timezone.utc).strftime("%Y%m%d%H%M%S")


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


def start_message(interaction: str, echo: Echo, *, message_id: str,
                  now: datetime) -> etree._Element:
    """The root element of an answer, up to and including ``sender``."""
    root = etree.Element(f"{{{c.HL7}}}{interaction}", nsmap={None: c.HL7, "xsi": c.XSI})
    root.set("ITSVersion", "XML_1.0")
    el(root, "id", {"root": c.DMP_DEVICE_OID, "extension": message_id})
    el(root, "creationTime", {"value": hl7_time(now)})
    el(root, "interactionId", {"root": c.INTERACTION_ROOT, "extension": interaction})
    el(root, "processingCode", {"code": "P"})
    el(root, "processingModeCode", {"code": "T"})
    el(root, "acceptAckCode", {"code": "NE"})
    _device(el(root, "receiver", {"typeCode": "RCV"}), echo.sender_id, echo.sender_name)
    _device(el(root, "sender", {"typeCode": "SND"}), c.DMP_DEVICE_OID, c.DMP_SOFTWARE_NAME)
    return root


def acknowledge(root: etree._Element, echo: Echo, type_code: str,
                detail: tuple[str, str | None, str, str | None] | None = None) -> None:
    """``acknowledgement`` with the request's id as targetMessage; ``detail`` is
    (code, code system, text, location) of one error acknowledgementDetail."""
    ack = el(root, "acknowledgement", {"typeCode": type_code})
    target = el(ack, "targetMessage")
    if echo.message_id_root:
        attrs = {"root": echo.message_id_root}
        if echo.message_id_extension:
            attrs["extension"] = echo.message_id_extension
        el(target, "id", attrs)
    else:
        el(target, "id", {"nullFlavor": "UNK"})
    if detail is not None:
        code, system, text, location = detail
        item = el(ack, "acknowledgementDetail", {"typeCode": "E"})
        el(item, "code", {"code": code, **({"codeSystem": system} if system else {})})
        el(item, "text", text=text)
        if location:
            el(item, "location", text=location)


def control_act(root: etree._Element, echo: Echo) -> etree._Element:
    """``controlActProcess`` CACT/EVN repeating the request's reasonCode."""
    control = el(root, "controlActProcess", {"classCode": "CACT", "moodCode": "EVN"})
    if echo.reason_code:
        attrs = {"code": echo.reason_code, "codeSystem": c.REASON_SYSTEM}
        if echo.reason_code in c.REASON_NAMES:
            attrs["displayName"] = c.REASON_NAMES[echo.reason_code]
        el(control, "reasonCode", attrs)
    return control


def finish(root: etree._Element) -> etree._Element:
    """Drop the ``xsi`` declaration when nothing uses it."""
    etree.cleanup_namespaces(root)
    return root


def _device(role: etree._Element, oid: str | None, name: str | None) -> None:
    device = el(role, "device", {"classCode": "DEV", "determinerCode": "INSTANCE"})
    el(device, "id", {"root": oid} if oid else {"nullFlavor": "UNK"})
    if name:
        el(device, "softwareName", text=name)
