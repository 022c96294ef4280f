"""Payloads shared by several hostile-input tests: MTOM packages built around a valid
request, and a gzip bomb."""
from __future__ import annotations

import functools
import zlib

from simulator.kit.xds import mtom_package
from hostile_wire import XOP

HOSTILE_NS = 'xmlns:h="urn:example:hostile"'


def with_include(raw: bytes, href: str) -> bytes:
    """``raw`` with an ignored header block holding ``<xop:Include href=...>``."""
    block = (f'<h:attachment {HOSTILE_NS}><xop:Include xmlns:xop="{XOP}" href="{href}"/>'
             "</h:attachment>").encode()
    return raw.replace(b"<soap:Header>", b"<soap:Header>" + block, 1)


def package(raw: bytes, href: str = "cid:0.2", parts=(("0.2", b"%PDF-1.4 part"),)
            ) -> tuple[str, bytes]:
    """(Content-Type, body) of ``raw`` as MTOM, its header referencing ``href``, with
    ``parts`` as (Content-ID, bytes) attachments."""
    return mtom_package(with_include(raw, href), list(parts))


@functools.lru_cache(maxsize=None)
def gzip_bomb(inflated: int = 50_000_000) -> bytes:
    """A gzip body of ~50 KB that inflates to ``inflated`` zero bytes."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * 1_000_000
    return b"".join(compressor.compress(chunk) for _ in range(inflated // len(chunk))) \
        + compressor.flush()
