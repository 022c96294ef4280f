"""The ITI-18 response: ``query:AdhocQueryResponse`` (IHE ITI TF-2a §3.18.4.1.3).

Element order follows query.xsd (RegistryResponseType: ResponseSlotList?,
RegistryErrorList?, then RegistryObjectList, which is present even when empty).
Within the list: documents (ExtrinsicObject), then submission sets (RegistryPackage),
then Associations, as a query found them; ``ObjectRef`` returns give the ids alone.
Prefixes, declarations and attribute order follow the answer's
:class:`~simulator.services.dmp.xds.wire_profile.WireProfile`.
"""
from __future__ import annotations

from lxml import etree

from simulator.services.dmp.xds.errors import (
    TOO_MANY_RESULTS, XdsError, add_error_list, status_for)
from simulator.services.dmp.xds.fragments import for_profile
from simulator.services.dmp.xds.model import (
    QUERY, RIM, write_association, write_registry_object)
from simulator.services.dmp.xds.query_engine import QueryResult
from simulator.services.dmp.xds.stored_queries import LEAF_CLASS, OBJECT_REF
from simulator.services.dmp.xds.wire_profile import DEFAULT_PROFILE, WireProfile


def _too_many(count: int, return_type: str, limit: int | None,
              counted_to_limit: bool = False) -> XdsError | None:
    if limit is None or return_type != LEAF_CLASS or count <= limit:
        return None
    matches = f"more than {limit}" if counted_to_limit else str(count)
    return XdsError(TOO_MANY_RESULTS, f"the query matches {matches} objects, more than the "
                    f"{limit} a LeafClass response may carry: narrow the criteria or ask for "
                    "ObjectRef and fetch the documents with GetDocuments in batches")


def render_query_response(result: QueryResult | None, return_type: str,
                          errors: list[XdsError] | tuple = (), *,
                          limit: int | None = None,
                          profile: WireProfile = DEFAULT_PROFILE) -> etree._Element:
    """``query:AdhocQueryResponse`` for ``result`` (None for a failed query).

    ``return_type`` is LeafClass (full objects) or ObjectRef (ids). With ``limit``, a
    LeafClass result above it fails with XDSTooManyResults and no objects.
    ``totalResultCount`` is the number of objects in the list (0 on failure): ebRS 3.0
    query.xsd puts it on AdhocQueryResponse, and DRIMbox reads it there (even before
    looking at the status, DmpAPI.java), so it is always written.
    """
    result = result or QueryResult()
    response, object_list, failed = _frame(
        len(result.objects) + len(result.associations), return_type, errors, limit, profile)
    if failed:
        return response
    if return_type == OBJECT_REF:
        for ref in [o.id for o in result.objects] + [a.id for a in result.associations]:
            etree.SubElement(object_list, f"{{{RIM}}}ObjectRef", id=ref)
        return response
    for obj in result.objects:
        write_registry_object(object_list, obj)
    for association in result.associations:
        write_association(object_list, association)
    return response


def _frame(count: int, return_type: str, errors, limit: int | None, profile: WireProfile,
           counted_to_limit: bool = False):
    """(root, its empty RegistryObjectList, whether the query failed) of an answer."""
    errors = list(errors)
    too_many = _too_many(count, return_type, limit, counted_to_limit)
    if too_many is not None:
        errors.append(too_many)
    failed = status_for(errors) != status_for([])
    response = profile.root(QUERY, "AdhocQueryResponse", [
        ("startIndex", "0"), ("totalResultCount", str(0 if failed else count)),
        ("status", status_for(errors))])
    add_error_list(response, errors)
    return response, etree.SubElement(response, f"{{{RIM}}}RegistryObjectList"), failed


def query_response_bytes(count: int, found: list[tuple[str, bytes | None]],
                         return_type: str, errors: list[XdsError] | tuple = (), *,
                         limit: int | None = None, counted_to_limit: bool = False,
                         profile: WireProfile = DEFAULT_PROFILE) -> bytes:
    """The bytes of :func:`render_query_response` for a result given as ``count``
    objects and associations and ``found``, their (id, stored fragment) in answer order
    (:mod:`.fragments`; the fragments are unused for ObjectRef, and ``found`` may be
    empty when ``count`` is over ``limit``): the same answer without building a tree
    of the entries. ``counted_to_limit``: counting stopped past ``limit``, so the
    XDSTooManyResults text says "more than" the limit rather than a count."""
    response, object_list, failed = _frame(count, return_type, errors, limit, profile,
                                           counted_to_limit)
    if failed or return_type == OBJECT_REF or not found:
        if not failed and return_type == OBJECT_REF:
            for ref, _ in found:
                etree.SubElement(object_list, f"{{{RIM}}}ObjectRef", id=ref)
        return etree.tostring(response, encoding="UTF-8")
    text = etree.tostring(response, encoding="UTF-8")
    prefix = profile.prefix(RIM)
    empty = f"<{prefix}:RegistryObjectList/>".encode()
    at = text.rindex(empty)  # the root's last child, empty: the entries go inside
    return b"".join((text[:at], f"<{prefix}:RegistryObjectList>".encode(),
                     *(for_profile(fragment, profile) for _, fragment in found),
                     f"</{prefix}:RegistryObjectList>".encode(), text[at + len(empty):]))
