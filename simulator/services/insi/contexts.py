"""The ContexteLPS and ContexteBAM header blocks of one INSi request, read once.

The same header elements are checked (:mod:`headers`), given to chaos rules and the
journal (:mod:`binding`) and counted (:mod:`usage`). Looked up one path at a time, they
cost a search about 300,000 of its 1.3 million instructions (issue 15). Here each
block's children are indexed once per request, by tag, the first of each tag as
``find`` gives it, and ``LPS/x`` paths as ElementPath reads them: the first ``x`` of
the first ``LPS`` child holding one.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from simulator.services.insi.contract import CONTEXTE_BAM, CONTEXTE_LPS, NS_CTXLPS
from simulator.soap.parsing import SoapRequest

_LPS = f"{{{NS_CTXLPS}}}LPS"


@dataclass(frozen=True)
class Contexts:
    """ContexteLPS and ContexteBAM (None when absent) and their children by tag."""

    lps: etree._Element | None
    bam: etree._Element | None
    lps_children: dict
    bam_children: dict
    software: dict  # the elements under ContexteLPS/LPS, by tag

    def lps_element(self, tag: str) -> etree._Element | None:
        """``ContexteLPS.find(tag)``."""
        return self.lps_children.get(tag)

    def bam_element(self, tag: str) -> etree._Element | None:
        """``ContexteBAM.find(tag)``."""
        return self.bam_children.get(tag)

    def software_element(self, tag: str) -> etree._Element | None:
        """``ContexteLPS.find("LPS/" + tag)``."""
        return self.software.get(tag)


def contexts_of(request: SoapRequest) -> Contexts:
    """The request's header blocks, indexed on the first call for the request."""
    contexts = request.memo.get("insi-contexts")
    if contexts is None:
        lps = request.header_element(CONTEXTE_LPS)
        bam = request.header_element(CONTEXTE_BAM)
        lps_children = _children(lps)
        software: dict = {}
        if lps is not None:
            for part in lps.iterchildren(_LPS):
                for child in part:
                    software.setdefault(child.tag, child)
        contexts = request.memo["insi-contexts"] = Contexts(
            lps, bam, lps_children, _children(bam), software)
    return contexts


def text_of(element: etree._Element | None) -> str | None:
    """``findtext``'s answer for a found element: its text, '' when it has none; None
    when there is no element."""
    return None if element is None else element.text or ""


def _children(element: etree._Element | None) -> dict:
    children: dict = {}
    if element is not None:
        for child in element:
            children.setdefault(child.tag, child)
    return children
