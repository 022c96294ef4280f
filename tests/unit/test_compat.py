"""The spyne/six shim in simulator.compat (Python 3.12+ support)."""

import importlib
import sys

import simulator  # noqa: F401  (applies patch_spyne_six at import time)
from simulator.compat import patch_spyne_six


def test_spyne_six_moves_imports():
    moves = importlib.import_module("spyne.util.six.moves")
    from spyne.util.six.moves.collections_abc import MutableSet

    assert MutableSet is importlib.import_module("collections.abc").MutableSet
    assert moves.range is range
    import spyne  # noqa: F401  (fails on 3.12+ without the shim)


def test_patch_spyne_six_is_idempotent():
    before = sys.modules.get("spyne.util.six")
    importers = [i for i in sys.meta_path if type(i).__name__ == "_SixMetaPathImporter"]
    patch_spyne_six()
    patch_spyne_six()
    assert sys.modules.get("spyne.util.six") is before
    assert [i for i in sys.meta_path if type(i).__name__ == "_SixMetaPathImporter"] == importers
    importlib.import_module("spyne.util.six.moves")
