"""MTOM/XOP: SOAP messages in ``multipart/related`` MIME packages.

Reading splits the package on its boundary (bytes in, bytes out: no text decoding of
binary parts), takes the root part named by ``start`` (else the first), and keeps the
other parts by Content-ID for ``xop:Include`` references, which may be
percent-encoded (RFC 2392). Writing builds the package a response carries (ITI-43).
Every defect raises :class:`ProtocolError` saying what is wrong with the package.
"""
from __future__ import annotations

import base64
from urllib.parse import unquote

from lxml import etree

from simulator.soap.addressing import random_uuid_hex
from simulator.soap.errors import ProtocolError, capped

XOP = "http://www.w3.org/2004/08/xop/include"


def split_related(raw: bytes, params: dict) -> tuple[bytes, dict[str, bytes]]:
    """(root part body, {content-id: body}) of a ``multipart/related`` package."""
    boundary = params.get("boundary")
    if not boundary:
        raise _bad("the Content-Type has no boundary parameter")
    try:
        delimiter = b"--" + boundary.encode("ascii")
    except UnicodeEncodeError:  # RFC 2046 §5.1.1: a boundary is ASCII
        raise _bad(f"the boundary {quoted(boundary)} is not ASCII") from None
    pieces = raw.split(delimiter)
    if len(pieces) < 3:
        raise _bad(f"boundary {quoted(boundary)} not found at least twice in the body")
    if not pieces[-1].startswith(b"--"):
        raise _bad(f"the closing boundary --{quoted(boundary, quotes=False)}-- is missing "
                   "(truncated package?)")
    parts = [_part(piece, index) for index, piece in enumerate(pieces[1:-1], start=1)]
    start = (params.get("start") or "").strip("<>")
    root = next((p for p in parts if p[0] == start), None) if start else parts[0]
    if root is None:
        raise _bad(f"no part has the Content-ID <{quoted(start, quotes=False)}> named by "
                   "the start parameter")
    return root[2], {cid: body for cid, _, body in parts if cid and cid != root[0]}


def _part(piece: bytes, index: int) -> tuple[str | None, dict, bytes]:
    # A part is CRLF (or LF), headers, an empty line, then the body up to the CRLF
    # that belongs to the next delimiter.
    piece = piece[2:] if piece.startswith(b"\r\n") else piece[1:] if piece.startswith(b"\n") \
        else piece
    head, body = _headers_and_body(piece, index)
    if body.endswith(b"\r\n"):
        body = body[:-2]
    elif body.endswith(b"\n"):
        body = body[:-1]
    headers = {}
    for line in head.decode("latin-1").splitlines():
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    cid = headers.get("content-id", "").strip().strip("<>") or None
    if headers.get("content-transfer-encoding", "").strip().lower() == "base64":
        # Some clients (DRIMbox for its KOS part) send binary parts base64-encoded.
        try:
            body = base64.b64decode(body, validate=False)
        except ValueError:
            raise _bad(f"MIME part {index} is declared base64 but does not decode") from None
    return cid, headers, body


def _headers_and_body(piece: bytes, index: int) -> tuple[bytes, bytes]:
    for blank in (b"\r\n", b"\n"):
        # RFC 2046 §5.1.1: a part without headers starts with the blank line itself.
        if piece.startswith(blank):
            return b"", piece[len(blank):]
    for separator in (b"\r\n\r\n", b"\n\n"):
        head, found, body = piece.partition(separator)
        if found:
            return head, body
    raise _bad(f"MIME part {index} has no empty line after its headers")


def resolve_includes(envelope: etree._Element,
                     attachments: dict[str, bytes]) -> dict[etree._Element, bytes]:
    """Replace every ``xop:Include`` by the base64 text of the part it references; return
    the part each element's text now holds, for the elements whose text is one whole part
    (one include, nothing but whitespace beside it): a reader that would decode that
    text back takes the part instead (a 50 kB TD2.1 document cost 200 µs to decode
    again, issue 15). The text is there all the same, for every other reader.

    A part may be referenced once only (XOP 1.0 §3): one part included many times
    would multiply the request far past its size limit once resolved.

    Time is linear in the number of references: each parent element's text is built
    once from all its includes. Appending to ``parent.text`` include by include copied
    the growing text every time, so many includes in one element cost their square
    (issue 14: 8,000 parts of 1 kB took 64 s, before any authentication).
    """
    used: set[str] = set()
    by_parent: dict[etree._Element, list[etree._Element]] = {}
    for include in envelope.iter(f"{{{XOP}}}Include"):
        href = include.get("href") or ""
        cid = unquote(href[4:]) if href.startswith("cid:") else None
        if cid is None or cid not in attachments:
            parts = quoted(", ".join(sorted(attachments)), quotes=False)
            raise _bad(f"xop:Include references {quoted(href)}, which no MIME part "
                       f"carries (parts: {parts or 'none'})")
        if cid in used:
            raise _bad(f"the MIME part <{quoted(cid, quotes=False)}> is referenced by more "
                       "than one xop:Include")
        used.add(cid)
        by_parent.setdefault(include.getparent(), []).append(include)
    parts = {}
    for parent, includes in by_parent.items():
        if len(includes) == 1 and not (parent.text or "").strip():
            parts[parent] = attachments[unquote(includes[0].get("href")[4:])]
        _inline(parent, includes, attachments)
    return parts


def _inline(parent: etree._Element, includes: list, attachments: dict[str, bytes]) -> None:
    """``parent`` without its ``includes``, their parts' base64 text (in document order)
    appended to its text in one assignment."""
    encoded = [_base64_of(include, attachments) for include in includes]
    for include in includes:
        parent.remove(include)
    parent.text = (parent.text or "") + "".join(encoded)


def _base64_of(include: etree._Element, attachments: dict[str, bytes]) -> str:
    href = include.get("href")
    return base64.b64encode(attachments[unquote(href[4:])]).decode("ascii")


def build_related(envelope: bytes, attachments: list[tuple[str, bytes]],
                  action: str | None = None) -> tuple[str, bytes]:
    """(Content-Type header, body) of an MTOM package: the envelope (whose
    ``xop:Include`` elements name the attachments' Content-IDs) and the binary parts."""
    boundary = f"MIMEBoundary_{random_uuid_hex()}"
    root_id = "root.message@insi-dmp-sim"
    lines = [f"--{boundary}".encode(),
             b'Content-Type: application/xop+xml; charset=UTF-8; type="application/soap+xml"',
             b"Content-Transfer-Encoding: binary", f"Content-ID: <{root_id}>".encode(), b"",
             envelope]
    for cid, data in attachments:
        lines += [f"--{boundary}".encode(), b"Content-Type: application/octet-stream",
                  b"Content-Transfer-Encoding: binary", f"Content-ID: <{cid}>".encode(), b"",
                  data]
    body = b"\r\n".join(lines) + f"\r\n--{boundary}--\r\n".encode()
    content_type = (f'multipart/related; boundary="{boundary}"; type="application/xop+xml"; '
                    f'start="<{root_id}>"; start-info="application/soap+xml"')
    if action:
        content_type += f'; action="{action}"'
    return content_type, body


def quoted(value: str, limit: int = 200, quotes: bool = True) -> str:
    """``value`` as a fault message quotes it: escaped as Python does (a control
    character, which XML cannot carry, becomes ``\\x01``), in quotes or not, and cut in
    the middle past ``limit`` characters, so that an answer never grows with the request."""
    return capped(repr(value) if quotes else repr(value)[1:-1], limit)


def _bad(detail: str) -> ProtocolError:
    return ProtocolError("malformed", f"Malformed MTOM package: {detail}")
