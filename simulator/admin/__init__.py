"""The control plane under ``/_admin``: JSON API, scenario control and dashboard."""
from __future__ import annotations

from flask import current_app


def current_simulator():
    """The simulator this control-plane app serves (set by ``create_admin_app``)."""
    return current_app.config["SIMULATOR"]
