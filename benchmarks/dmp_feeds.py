"""TD2.1 for dmp_bench.py: the template wrk's Lua script rewrites per request (new ids,
SHA-1s recomputed), the DMP targets' wrk scripts, and the signed feeds of td2.1-strict
sent by this process (wrk cannot sign). Imported by dmp_bench.py after it has put
loadtests/ on the path."""
from __future__ import annotations

import base64
import hashlib
import http.client
import re
import threading
import time
from pathlib import Path

import dmp_answers  # noqa: E402  (loadtests/dmp_answers.py)
import dmp_soap  # noqa: E402
import dmp_xds  # noqa: E402
from dmp_load import Session  # noqa: E402

from benchmarks.processes import HOST, BenchError, CpuSpan
from benchmarks.wrk import write_script

SUCCESS = 'ResponseStatusType:Success"'
# Ends the uniqueIds and entry UUIDs of the TD2.1 template; the Lua script replaces it
# per request by phase digit + thread digit + 10-digit counter (an OID arc, and hex).
MARKER = "900000000000"
STRICT_FEEDS = 400  # td2.1-strict: signed feeds measured (after STRICT_WARMUP)
STRICT_WARMUP = 40


def feed_template(session: Session, patient: dmp_soap.Patient) -> dict:
    """A TD2.1 request whose three uniqueIds (``<root>.MARKER.<k>.n``) and every generated
    ``urn:uuid`` id (last 12 digits) end in MARKER, and the 1-based byte positions the Lua
    script needs: the CDA and signature parts, the base64 CDA digest in the signature,
    the hex hash slots of both in the metadata."""
    session.id_root = f"{dmp_soap.LPS_OID}.{MARKER}"
    request = dmp_xds.feed_request(session, patient)
    envelope, parts = dmp_answers.unpack(request.content_type, request.body)
    cda, signature = parts["0.2"], parts["0.3"]
    body = request.body
    # The ids of Classifications, ExternalIdentifiers and Associations must be new in
    # each feed (a reused Association id is refused).
    for found in set(re.findall(rb' id="urn:uuid:([0-9a-f-]{36})"', envelope)):
        body = body.replace(found, found[:24] + MARKER.encode())
    cda_sha1, signature_hex = hashlib.sha1(cda), hashlib.sha1(signature).hexdigest().encode()
    pieces = {"cda": cda, "signature": signature, "cda_hash": cda_sha1.hexdigest().encode(),
              "signature_hash": signature_hex}
    if any(body.count(piece) != 1 for piece in pieces.values()):
        raise BenchError("TD2.1 template: a part or hash slot is not found exactly once")
    at = {name: body.index(piece) for name, piece in pieces.items()}
    digest = base64.b64encode(cda_sha1.digest())
    if signature.count(digest) != 1 or not (
            at["cda_hash"] < at["signature_hash"] < at["cda"] < at["signature"]):
        raise BenchError("TD2.1 template: unexpected layout of the MTOM package")
    positions = {"cda_from": at["cda"] + 1, "cda_to": at["cda"] + len(cda),
                 "sig_from": at["signature"] + 1, "sig_to": at["signature"] + len(signature),
                 "digest_at": at["signature"] + signature.index(digest) + 1,
                 "cda_hash_at": at["cda_hash"] + 1, "sig_hash_at": at["signature_hash"] + 1}
    return {"request": dmp_soap.DmpRequest("repository", request.content_type, body),
            "positions": positions}


# --- TD2.1 in wrk: a new body per request --------------------------------------------------

FEED_LUA = r"""
-- TD2.1: each request is the template with MARKER replaced by a new 12-digit number
-- (phase, thread, counter), the CDA's SHA-1 in its hash slot and the lot signature's
-- digest, and the signature's SHA-1 in its hash slot (OpenSSL's libcrypto, linked by wrk).
local ffi = require("ffi")
ffi.cdef[[
unsigned char *SHA1(const unsigned char *d, size_t n, unsigned char *md);
int EVP_EncodeBlock(unsigned char *t, const unsigned char *f, int n);
]]
local feed_template = %(template)s
local feed_marker, feed_phase = "%(marker)s", %(phase)d
local cda_from, cda_to, sig_from, sig_to = %(cda_from)d, %(cda_to)d, %(sig_from)d, %(sig_to)d
local digest_at, cda_hash_at, sig_hash_at = %(digest_at)d, %(cda_hash_at)d, %(sig_hash_at)d
local md, b64 = ffi.new("unsigned char[20]"), ffi.new("unsigned char[32]")
local function sha1(text) ffi.C.SHA1(text, #text, md) end
local function base64() return ffi.string(b64, ffi.C.EVP_EncodeBlock(b64, md, 20)) end
local function hex()
  local out = {}
  for i = 0, 19 do out[i + 1] = string.format("%%02x", md[i]) end
  return table.concat(out)
end
local feed_threads = 0
local setup_feed = setup
function setup(thread)
  setup_feed(thread)
  feed_threads = feed_threads + 1
  thread:set("feed_thread", feed_threads)
end
local init_feed = init
function init(args)
  init_feed(args)
  feed_count = 0
end
function request()
  feed_count = feed_count + 1
  local id = string.format("%%d%%d%%010d", feed_phase, feed_thread, feed_count)
  local b = string.gsub(feed_template, feed_marker, id)
  sha1(string.sub(b, cda_from, cda_to))
  local cda_hex, digest = hex(), base64()
  local sig = string.sub(b, sig_from, digest_at - 1) .. digest
              .. string.sub(b, digest_at + #digest, sig_to)
  sha1(sig)
  local body = string.sub(b, 1, cda_hash_at - 1) .. cda_hex
               .. string.sub(b, cda_hash_at + 40, sig_hash_at - 1) .. hex()
               .. string.sub(b, sig_hash_at + 40, sig_from - 1) .. sig
               .. string.sub(b, sig_to + 1)
  return wrk.format(nil, nil, nil, body)
end
"""


def lua_bytes(data: bytes) -> str:
    """A Lua quoted string of any bytes (long brackets would turn CR LF into LF)."""
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03d}"
                         for b in data) + '"'


def write_target_script(path: Path, kind: str, spec: dict, phase: int) -> None:
    """The wrk script of one DMP target; for TD2.1, ``phase`` (1-9) keeps the ids of the
    warm-up and of the measured run apart."""
    request, (first, *more) = spec["request"], spec["expect"]
    extra = ""
    if kind == "td2.1":
        extra = FEED_LUA % {"template": lua_bytes(request.body), "marker": MARKER,
                            "phase": phase, **spec["positions"]}
    write_script(path, "" if extra else request.body.decode("utf-8"), request.content_type,
                 first, expect_more=more, extra=extra)


def measure_strict(server, port: int, state: dict, args) -> dict:
    """TD2.1 with every signature verified: ``STRICT_WARMUP + STRICT_FEEDS`` feeds, each
    signed by the load tests' builder beforehand (wrk cannot sign), sent by
    ``--connections`` threads of this script on keep-alive connections; the server's CPU
    over the measured ones. The client is Python: its req/s says little, the server's
    CPU per request is the figure (the client's CPU is in "other CPU")."""
    session, patient = state["session"], state["patient"]
    feeds = [dmp_xds.feed_request(session, patient)
             for _ in range(STRICT_WARMUP + STRICT_FEEDS)]
    send_all(port, feeds[:STRICT_WARMUP], args.connections)
    cpu = CpuSpan(server.proc.pid)
    started = time.perf_counter()
    outcomes = send_all(port, feeds[STRICT_WARMUP:], args.connections)
    elapsed = time.perf_counter() - started
    result = cpu.read()
    times = sorted(ms for _, _, ms in outcomes)
    non_200 = sum(1 for status, _, _ in outcomes if status != 200)
    result.update(
        requests=len(outcomes), elapsed_s=round(elapsed, 3),
        requests_per_s=round(len(outcomes) / elapsed, 1),
        **{f"p{p}_ms": round(times[min(len(times) - 1, len(times) * p // 100)], 2)
           for p in (50, 90, 99)},
        non_2xx=non_200, non_200=non_200, checked_responses=len(outcomes),
        bad_body=sum(1 for status, ok, _ in outcomes if status == 200 and not ok),
        socket_errors={"connect": 0, "read": 0, "write": 0, "timeout": 0},
        client="this script, Python threads (not wrk)")
    result["server_cpu_us_per_req"] = round(result["server_cpu_s"] / len(outcomes) * 1e6, 1)
    return result


def send_all(port: int, requests: list, connections: int) -> list[tuple[int, bool, float]]:
    """POST every request once, ``connections`` at a time; (status, Success?, ms) each."""
    pending = list(reversed(requests))
    outcomes: list[tuple[int, bool, float]] = []
    lock = threading.Lock()

    def worker() -> None:
        connection = http.client.HTTPConnection(HOST, port, timeout=60)
        try:
            while True:
                with lock:
                    if not pending:
                        return
                    request = pending.pop()
                started = time.perf_counter()
                connection.request("POST", f"{dmp_soap.BASE_PATH}/{request.service}",
                                   request.body, {"Content-Type": request.content_type})
                answer = connection.getresponse()
                body = answer.read()
                ms = (time.perf_counter() - started) * 1000
                with lock:
                    outcomes.append((answer.status, SUCCESS.encode() in body, ms))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes
