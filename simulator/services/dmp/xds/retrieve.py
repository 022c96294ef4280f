"""ITI-43 Retrieve Document Set (TD3.2): the request read as data, the response written.

The response carries each document as an ``xop:Include`` naming an attachment; the
SOAP layer (:func:`simulator.soap.mtom.build_related`) puts the attachments in the
MTOM package (DMP.md §1.3).
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from simulator.services.dmp.xds.errors import (
    ERROR, FAILURE, PARTIAL_SUCCESS, REGISTRY_METADATA_ERROR, REPOSITORY_ERROR, SUCCESS,
    XdsError, XdsFailure, registry_response)
from simulator.services.dmp.xds.model import XDSB
from simulator.services.dmp.xds.wire_profile import DEFAULT_PROFILE, WireProfile
from simulator.soap.mtom import XOP
from simulator.soap.parsing import child_text

RETRIEVE_REQUEST = f"{{{XDSB}}}RetrieveDocumentSetRequest"


@dataclass(frozen=True)
class DocumentRequest:
    """One ``DocumentRequest`` of an ITI-43 request."""

    repository_unique_id: str
    document_unique_id: str
    home_community_id: str | None = None


_DOCUMENT_REQUEST = f"{{{XDSB}}}DocumentRequest"
_REQUEST_FIELDS = {name: f"{{{XDSB}}}{name}"
                   for name in ("RepositoryUniqueId", "DocumentUniqueId", "HomeCommunityId")}


def parse_retrieve_request(body: etree._Element | None) -> list[DocumentRequest]:
    """The document requests of ``xdsb:RetrieveDocumentSetRequest``; raise
    :class:`XdsFailure` naming every incomplete one."""
    if body is None or body.tag != RETRIEVE_REQUEST:
        found = "nothing" if body is None else body.tag
        raise XdsFailure([XdsError(REPOSITORY_ERROR, f"the SOAP Body must hold "
                                   f"{RETRIEVE_REQUEST} (ITI-43), got {found}")])
    elements = list(body.iterchildren(_DOCUMENT_REQUEST))  # not ElementPath (issue 15)
    if not elements:
        raise XdsFailure([XdsError(REPOSITORY_ERROR, "RetrieveDocumentSetRequest holds no "
                                   "DocumentRequest")])
    requests, errors = [], []
    for index, element in enumerate(elements, start=1):
        values = {name: (child_text(element, tag) or "").strip()
                  for name, tag in _REQUEST_FIELDS.items()}
        missing = [name for name in ("RepositoryUniqueId", "DocumentUniqueId")
                   if not values[name]]
        if missing:
            errors.append(XdsError(REGISTRY_METADATA_ERROR, (
                f"DocumentRequest {index} has no {' and no '.join(missing)}"),
                f"DocumentRequest[{index}]"))
            continue
        requests.append(DocumentRequest(values["RepositoryUniqueId"],
                                        values["DocumentUniqueId"],
                                        values["HomeCommunityId"] or None))
    if errors:
        raise XdsFailure(errors)
    return requests


def render_retrieve_response(found: list[tuple[DocumentRequest, str, bytes]],
                             errors: list[XdsError], profile: WireProfile = DEFAULT_PROFILE
                             ) -> tuple[etree._Element, list[tuple[str, bytes]]]:
    """(``xdsb:RetrieveDocumentSetResponse``, [(Content-ID, bytes)]) for the documents
    ``found`` as (request, mimeType, bytes) and the ``errors`` of the others.

    Status: Success without errors, PartialSuccess when some documents are returned
    despite errors, Failure when none is (IHE ITI TF-3 §3.43.4.2.3).
    """
    failed = any(e.severity == ERROR for e in errors)
    status = SUCCESS if not failed else PARTIAL_SUCCESS if found else FAILURE
    root = profile.root(XDSB, "RetrieveDocumentSetResponse", [])
    registry_response(errors, status=status, parent=root)
    attachments = []
    for index, (request, mime_type, content) in enumerate(found, start=1):
        # Content-IDs: unique in the message, and only characters that need no
        # percent-encoding in the cid: URL (RFC 2392).
        content_id = f"document{index}@insi-dmp-sim"
        response = etree.SubElement(root, f"{{{XDSB}}}DocumentResponse")
        if request.home_community_id:
            _text(response, "HomeCommunityId", request.home_community_id)
        _text(response, "RepositoryUniqueId", request.repository_unique_id)
        _text(response, "DocumentUniqueId", request.document_unique_id)
        _text(response, "mimeType", mime_type)
        document = etree.SubElement(response, f"{{{XDSB}}}Document")
        # Declared where used (inferred: Java MTOM stacks such as CXF write it there).
        etree.SubElement(document, f"{{{XOP}}}Include", href=f"cid:{content_id}",
                         nsmap={"xop": XOP})
        attachments.append((content_id, content))
    return root, attachments


def _text(parent: etree._Element, name: str, value: str) -> None:
    etree.SubElement(parent, f"{{{XDSB}}}{name}").text = value
