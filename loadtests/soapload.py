"""What every SOAP load user shares (INSi today, the DMP services later).

Standard library and Locust only; the requests themselves are built with the simulator's
client kit (``simulator.kit``), and the load tests run against any compatible platform.

* :func:`wait_time_from_env`: the pause between two tasks, ``LOADTEST_WAIT``.
* :class:`SoapUser`: a ``FastHttpUser`` (geventhttpclient, keep-alive connections) whose
  :meth:`SoapUser.soap_call` posts one SOAP 1.2 envelope and reports it to Locust as a
  success only when the answer is HTTP 200 and passes the caller's check. Everything
  else is a failure with a short, stable reason, so that Locust groups them: a SOAP
  fault by its ``siram:Erreur`` code (``fault desir_1020 (siram_40, HTTP 500)``), an
  HTTP error by its status, a network error by its type.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TypeVar

from locust import FastHttpUser, between, constant

SOAP_CT = "application/soap+xml; charset=utf-8"

T = TypeVar("T")
# A check reads a 200 answer and returns (what the task needs next, None) when it is
# right, or (None, reason) when it is not.
Check = Callable[[bytes], "tuple[T | None, str | None]"]

# siram:Erreur carries its attributes in capture order (code is not always first) and
# the prefix differs between fault generations: match the element, any prefix.
_ERREUR_CODE = re.compile(rb'<(?:[\w.-]+:)?Erreur\b[^>]*?\scode="([^"]*)"')
_SUBCODE = re.compile(
    rb"<(?:[\w.-]+:)?Subcode>\s*<(?:[\w.-]+:)?Value>(?:[\w.-]+:)?([^<]*)</")


def wait_time_from_env(default: tuple[float, float] = (0.5, 2.0)):
    """``LOADTEST_WAIT``: ``MIN,MAX`` seconds (uniform), one number (constant), ``0`` for
    capacity runs; unset: ``default``, about the pace of an admission desk."""
    text = os.environ.get("LOADTEST_WAIT", "").strip()
    if not text:
        return between(*default)
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise SystemExit(f"LOADTEST_WAIT: expected seconds as MIN,MAX or one number, "
                         f"got {text!r}") from None
    if len(values) == 1:
        return constant(values[0])
    if len(values) == 2 and 0 <= values[0] <= values[1]:
        return between(*values)
    raise SystemExit(f"LOADTEST_WAIT: expected MIN,MAX with 0 <= MIN <= MAX, got {text!r}")


def env_path(variable: str, default: str) -> str:
    """A service path from the environment (``/lps``...), always with a leading slash."""
    path = os.environ.get(variable, "").strip() or default
    return path if path.startswith("/") else "/" + path


def soap_time() -> str:
    """Now as the SOAP headers carry it, ``2024-03-01T10:29:58.604Z``."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def fault_reason(status: int, content: bytes) -> str:
    """The failure name of a non-200 answer: its fault code when it carries one."""
    code = _ERREUR_CODE.search(content)
    if code:
        subcode = _SUBCODE.search(content)
        detail = subcode.group(1).decode(errors="replace") + ", " if subcode else ""
        return f"fault {code.group(1).decode(errors='replace')} ({detail}HTTP {status})"
    if b"Fault>" in content:
        return f"fault without siram:Erreur (HTTP {status})"
    return f"HTTP {status}"


class SoapUser(FastHttpUser):
    """Base of the SOAP users: connection reuse, configurable pace and timeout."""

    abstract = True
    wait_time = wait_time_from_env()
    # A slow scenario (insi-slow: p99 12 s, cap 30 s) must not be cut by the client.
    network_timeout = float(os.environ.get("LOADTEST_TIMEOUT", "60"))
    connection_timeout = network_timeout

    def soap_call(self, path: str, action: str, envelope: bytes, name: str,
                  check: Check) -> T | None:
        """POST one envelope; returns what ``check`` extracted, or None on any failure
        (already reported to Locust under ``name``)."""
        headers = {"Content-Type": f'{SOAP_CT}; action="{action}"'}
        with self.client.post(path, data=envelope, headers=headers, name=name,
                              catch_response=True) as response:
            status = response.status_code or 0
            if status == 0:                  # no HTTP answer at all
                error = response.error
                response.failure(f"network: {type(error).__name__ if error else 'no answer'}")
                return None
            content = response.content or b""
            if status != 200:
                response.failure(fault_reason(status, content))
                return None
            result, problem = check(content)
            if problem:
                response.failure(problem)
                return None
            response.success()
            return result
