"""``/_admin/tenants``: create, list, look up and delete tenants (docs/tenants.md); and
the text of ``/metrics``, whose series carry a ``tenant`` label.

Only the default tenant's control plane manages tenants; under ``/t/<tenant>/_admin``
these routes answer 404.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from simulator.metrics import render_rows
from simulator.ports.tenants import TenantLimit
from simulator.tenants.names import TenantNameError, check_name

tenants_admin = Blueprint("tenants", __name__, url_prefix="/_admin/tenants")
TENANT_LABEL = "tenant"


def _tenants():
    return current_app.config.get("TENANTS")


def _not_here():
    return jsonify(error="tenants are managed by the default tenant's control plane: "
                         "/_admin/tenants, without the /t/<tenant> prefix"), 404


@tenants_admin.get("")
def list_tenants():
    """Every tenant, the limit and whether requests create tenants on first use."""
    tenants = _tenants()
    if tenants is None:
        return _not_here()
    return jsonify(tenants=[record.view() for record in tenants.records()],
                   limit=tenants.limit, auto_create=tenants.auto_create)


@tenants_admin.post("")
def create_tenant():
    """``{"name": ...}``: 201 with the new tenant, 200 when it already exists."""
    tenants = _tenants()
    if tenants is None:
        return _not_here()
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or set(body) != {"name"}:
        return jsonify(error='expected a JSON object {"name": <tenant name>}'), 400
    try:
        record, created = tenants.create(body["name"])
    except TenantNameError as error:
        return jsonify(error=str(error)), 400
    except (TenantLimit, FileNotFoundError) as error:
        return jsonify(error=str(error)), 409
    return jsonify(record.view()), 201 if created else 200


@tenants_admin.get("/<name>")
def get_tenant(name: str):
    """One tenant."""
    tenants = _tenants()
    if tenants is None:
        return _not_here()
    try:
        record = tenants.get(check_name(name))
    except TenantNameError as error:
        return jsonify(error=str(error)), 400
    if record is None:
        return jsonify(error=f"no tenant {name!r}"), 404
    return jsonify(record.view())


@tenants_admin.delete("/<name>")
def delete_tenant(name: str):
    """Delete a tenant and everything it holds (its next use creates it afresh)."""
    tenants = _tenants()
    if tenants is None:
        return _not_here()
    try:
        existed = tenants.delete(name)
    except TenantNameError as error:
        return jsonify(error=str(error)), 400
    if not existed:
        return jsonify(error=f"no tenant {name!r}"), 404
    return jsonify(deleted=name)


def metrics_text(simulator, tenants=None, tenant: str | None = None) -> str:
    """``/metrics``: the default tenant's series unlabelled (Prometheus reads a missing
    label as an empty one), each tenant's with ``tenant="<name>"``; under
    ``/t/<tenant>/metrics``, that tenant's only."""
    if tenant is not None:
        return render_rows(_labelled(simulator.metrics.rows(), tenant))
    rows = simulator.metrics.rows()
    if tenants is not None:
        opened = tenants.opened()
        for record in tenants.records():
            app = opened.get(record.name)
            rows += _labelled(app.simulator.metrics.rows() if app is not None
                              else tenants.stored_metrics(record), record.name)
    return render_rows(rows)


def _labelled(rows: list, name: str) -> list:
    return [(metric, ((TENANT_LABEL, name),) + labels, value) for metric, labels, value in rows]
