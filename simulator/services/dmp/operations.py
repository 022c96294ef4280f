"""The DMP operations as data: body element, accepted actions, reply action, needs.

The wsa:Action spellings clients send differ (DMP brief §2.4: the ANS kit's strings
are not what goes on the wire, DRIMbox sends the IHE and DMP ones); the DMP dispatches
on the body element and accepts every spelling listed here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree


@dataclass(frozen=True)
class DmpOperation:
    """One transaction of a DMP service."""

    name: str  # as the journal, metrics and scenarios name it
    body: str  # {namespace}local-name of the request body element
    actions: frozenset[str]  # accepted wsa:Action values
    reply_action: str
    patient_in_vihf: bool = True  # the VIHF resource-id must name the patient
    api: str | None = None  # a legacy API of its own (td00), else the service's version


@dataclass
class DmpAnswer:
    """What a handler returns: the response body element and how to send it."""

    body: etree._Element | bytes  # bytes: serialised already (TD3.1, stored fragments)
    outcome: str = "ok"  # short label for the journal, e.g. "DMPOK" or "Failure"
    reply_action: str | None = None  # overrides the operation's (e.g. a reject message)
    attachments: list[tuple[str, bytes]] = field(default_factory=list)  # MTOM parts
    rule: str | None = None  # the regulatory calendar rule that refused the call
