"""The random message ids of the WS-Addressing answers (simulator/soap/addressing.py)."""
from __future__ import annotations

import uuid

from simulator.soap.addressing import random_uuid


def test_random_uuid_is_a_version_4_uuid_written_as_uuid4_writes_it():
    seen = set()
    for _ in range(2000):
        text = random_uuid()
        value = uuid.UUID(text)
        assert str(value) == text
        assert value.version == 4 and value.variant == uuid.RFC_4122
        seen.add(text)
    assert len(seen) == 2000
