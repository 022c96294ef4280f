"""Bounded memory: the worst hostile requests of this suite, sent 200 times each round the
endpoints, leave the process's resident memory where it was after a warm-up; the
simulator answers valid requests afterwards."""
from __future__ import annotations

import functools
import gc
import re
from pathlib import Path

import pytest

from hostile_payloads import gzip_bomb, package
from hostile_wire import ENDPOINTS, fault_of, in_body, with_doctype

ROUNDS = 200
WARM_UP = 20
MAX_GROWTH_MB = 20  # after warm-up (measured: 0.1 MB over the 180 rounds)


def resident_mb() -> float:
    """VmRSS of this process, in MB (Linux)."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)[1]) / 1024


@functools.lru_cache(maxsize=None)
def worst_cases(wire, path: str) -> list[tuple[str, bytes, str | None, dict, int]]:
    """(name, body, content type, headers, expected HTTP status) of the heavy refusals."""
    raw = wire.valid(path)
    laughs = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{i} "{("&a%d;" % (i - 1)) * 10}">' for i in range(1, 10))
    mtom_type, mtom = package(raw, href="cid:absent",
                              parts=[(f"p{i}", b"x" * 20) for i in range(2_000)])
    soap = "application/soap+xml; charset=utf-8"
    return [
        ("deep-100000", in_body(raw, b"<a>" * 100_000 + b"</a>" * 100_000), soap, {}, 500),
        ("quadratic", with_doctype(raw, f'<!DOCTYPE e [<!ENTITY a "{"x" * 50_000}">]>',
                                   "&a;" * 4000), soap, {}, 500),
        ("billion-laughs", with_doctype(raw, f"<!DOCTYPE e [{laughs}]>", "&a9;"), soap, {},
         500),
        ("gzip-bomb", gzip_bomb(), soap, {"Content-Encoding": "gzip"}, 415),
        ("invalid-utf8", in_body(raw, b"\xff" * 1_000_000), soap, {}, 500),
        ("mtom-2000-parts", mtom, mtom_type, {}, 500),
        ("attribute-2mb-redefined", raw.replace(
            b"<soap:Body>", b'<soap:Body a="' + b"v" * 2_000_000 + b'" a="1">', 1), soap, {},
         500),
    ]


@pytest.mark.parametrize("rounds", [ROUNDS])
def test_resident_memory_stays_flat_under_the_worst_requests(wire, rounds):
    def one_round(number: int) -> None:
        path = ENDPOINTS[number % len(ENDPOINTS)]
        for name, body, content_type, headers, status in worst_cases(wire, path):
            answer = wire.post(path, body, content_type, headers)
            fault_of(answer, path, status)

    for number in range(WARM_UP):
        one_round(number)
    gc.collect()
    before = resident_mb()
    for number in range(WARM_UP, rounds):
        one_round(number)
    gc.collect()
    growth = resident_mb() - before
    assert growth < MAX_GROWTH_MB, f"resident memory grew by {growth:.1f} MB"
    for path in ENDPOINTS:
        wire.assert_still_serving(path)
