"""Tenant names and the ``/t/<tenant>/`` path prefix in front of every path.

A name becomes a directory name and a Prometheus label value, and is chosen by clients
that may be hostile: it is checked against a strict pattern before anything else
looks at it (docs/tenants.md, "Names").
"""
from __future__ import annotations

import re

PREFIX = "/t/"
MAX_LENGTH = 40
# Lower-case letters, digits, '-' and '_'; starts and ends with a letter or a digit (no
# dot: never '.', '..' or a hidden directory; lower case only: case-insensitive file
# systems would merge 'A' and 'a').
PATTERN = rf"^[a-z0-9](?:[a-z0-9_-]{{0,{MAX_LENGTH - 2}}}[a-z0-9])?$"
_NAME = re.compile(PATTERN.removesuffix("$") + r"\Z")
# The bare paths are the default tenant; it has no name under /t/.
RESERVED = frozenset({"default"})
RULE = (f"1 to {MAX_LENGTH} characters among a-z, 0-9, '-' and '_', starting and ending "
        "with a letter or a digit")


class TenantNameError(ValueError):
    """A tenant name the simulator refuses; the message says why."""


def check_name(name) -> str:
    """``name`` when it is a valid tenant name; raises :class:`TenantNameError`."""
    if not isinstance(name, str) or not _NAME.match(name):
        shown = repr(name[:MAX_LENGTH + 1]) + ("…" if len(name) > MAX_LENGTH + 1 else "") \
            if isinstance(name, str) else type(name).__name__
        raise TenantNameError(f"invalid tenant name {shown}: {RULE}")
    if name in RESERVED:
        raise TenantNameError(f"the tenant name {name!r} is reserved: the default tenant "
                              "is served at the bare paths")
    return name


def split_tenant(path: str) -> tuple[str | None, str]:
    """(tenant name as written, the path after its prefix) for ``/t/<tenant>/...``;
    (None, path) for a bare path. The name is not checked here."""
    if not path.startswith(PREFIX):
        return None, path
    name, _, rest = path[len(PREFIX):].partition("/")
    return name, "/" + rest
