"""The random message ids of the WS-Addressing answers (simulator/soap/addressing.py)."""
from __future__ import annotations

import uuid

from simulator.soap.addressing import random_uuid, random_uuid_hex
from simulator.soap.mtom import build_related


def test_random_uuid_is_a_version_4_uuid_written_as_uuid4_writes_it():
    seen = set()
    for _ in range(2000):
        text = random_uuid()
        value = uuid.UUID(text)
        assert str(value) == text
        assert value.version == 4 and value.variant == uuid.RFC_4122
        seen.add(text)
    assert len(seen) == 2000


def test_the_mtom_boundary_carries_a_uuid4_in_hex_as_before(monkeypatch):
    """build_related draws its boundary without a UUID object (issue 15): the same bits
    and text as ``uuid.uuid4().hex`` from the same random bytes."""
    draws = [bytes(range(16)), bytes(range(100, 116))]
    monkeypatch.setattr("simulator.soap.addressing.os.urandom", lambda size: draws.pop(0))
    content_type, body = build_related(b"<e/>", [])
    expected = uuid.UUID(bytes=bytes(range(16)), version=4).hex
    assert f'boundary="MIMEBoundary_{expected}"' in content_type
    assert body.startswith(f"--MIMEBoundary_{expected}\r\n".encode())
    assert random_uuid_hex() == uuid.UUID(bytes=bytes(range(100, 116)), version=4).hex
