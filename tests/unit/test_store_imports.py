"""The store interface's dependency rule (simulator/ports/__init__.py): consumers name
the ports, never a backend; backends import the ports and the leaf domain modules, never
the services' machinery. Checked on the source (every import statement) and on what
importing a backend really loads."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import simulator

PACKAGE = Path(simulator.__file__).parent
# Who may import a backend: the store package itself. Others reach one through
# simulator.store.backends (which backend, checking a database URL); the admin API's
# views use the JSON codecs of simulator.store.codec and simulator.store.dmp.
BACKEND_USERS = {"simulator/store",
                 # The file-based tenant list (docs/tenants.md) is the SQLite store's
                 # list of tenants: it reads a tenant's SQLite store for its metrics.
                 "simulator/tenants/directory.py"}
ALLOWED = ("simulator.store.backends", "simulator.store.codec", "simulator.store.dmp")
# Domain modules (leaves: dataclasses and pure rules) a backend may import.
DOMAIN = ("simulator.identities.model", "simulator.identities.insc", "simulator.journal_query",
          "simulator.services.dmp.records", "simulator.services.dmp.access",
          "simulator.services.dmp.xds.model", "simulator.services.dmp.xds.query_engine",
          "simulator.services.dmp.xds.stored_queries", "simulator.services.dmp.xds.errors",
          "simulator.services.dmp.xds.wire_profile",
          # issue 15: an object's stored columns and answer fragment (pure, lxml only)
          "simulator.services.dmp.xds.fragments", "simulator.services.dmp.xds.stored_rows")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_consumer_imports_a_backend_module_except_through_the_store_entry():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE.parent).as_posix()
        if any(relative == user or relative.startswith(user + "/") for user in BACKEND_USERS):
            continue
        backends = {m for m in imported_modules(path) if m.startswith("simulator.store.")
                    and m not in ALLOWED}
        if backends:
            offenders.append((relative, sorted(backends)))
    assert offenders == []


def test_the_ports_import_no_backend():
    for path in (PACKAGE / "ports").glob("*.py"):
        assert not {m for m in imported_modules(path) if m.startswith("simulator.store")}, path


def test_importing_the_backends_loads_no_service_machinery():
    code = ("import sys, simulator.store.sqlite, simulator.store.postgres, "
            "simulator.store.backends; print('\\n'.join(sorted(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                            text=True).stdout.split()
    services = [m for m in loaded if m.startswith("simulator.services.")
                and not m.startswith(DOMAIN) and m not in (
                    "simulator.services.dmp", "simulator.services.dmp.xds")]
    assert services == []
