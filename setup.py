"""Only the package list, which pyproject.toml cannot express: the ``simulator``
packages, and the data folders ``wsdl/`` and ``scenarios/`` mapped into the package as
``simulator._data.*`` by ``[tool.setuptools.package-dir]`` (the rest is in pyproject.toml).
Data folders are listed as namespace packages, as setuptools expects for package data."""
from setuptools import find_namespace_packages, setup

CODE = find_namespace_packages(include=["simulator", "simulator.*"],
                               exclude=["*.__pycache__", "simulator._data*"])
DATA = [f"simulator._data.{folder}{'.' + sub if sub else ''}"
        for folder in ("wsdl", "scenarios")
        for sub in ["", *find_namespace_packages(where=folder, exclude=["*.__pycache__"])]]

setup(packages=CODE + DATA)
