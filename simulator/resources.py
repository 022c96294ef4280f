"""The data files the simulator ships: WSDLs and XSDs, fault scenarios.

In the project they live in the top-level ``wsdl/`` and ``scenarios/`` folders; the
build maps them into the package as ``simulator/_data/wsdl`` and
``simulator/_data/scenarios`` (pyproject.toml, ``[tool.setuptools.package-dir]``), so an
installed wheel reads them with :mod:`importlib.resources`. A source checkout (editable
install, or the tree on ``sys.path``) has no ``_data`` folder: there the top-level
folders beside the package are read.
"""
from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

DATA_FOLDERS = ("wsdl", "scenarios")


def data_folder(name: str) -> Traversable:
    """The shipped folder ``name`` (one of :data:`DATA_FOLDERS`)."""
    if name not in DATA_FOLDERS:
        raise ValueError(f"no shipped data folder {name!r}; known: {', '.join(DATA_FOLDERS)}")
    packaged = resources.files("simulator") / "_data" / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[1] / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(
        f"the simulator's {name}/ folder is missing: neither {packaged} (installed "
        f"package) nor {checkout} (source checkout) exists; reinstall insi-dmp-simulator")
