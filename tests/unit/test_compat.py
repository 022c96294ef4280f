"""The spyne/six shim in simulator.compat (Python 3.12+ support)."""

import importlib
import sys

import simulator  # noqa: F401  (applies patch_spyne_six at import time)
from simulator.compat import patch_spyne_six


def _six_importers():
    return [i for i in sys.meta_path if type(i).__name__ == "_SixMetaPathImporter"]


def test_spyne_six_moves_imports():
    moves = importlib.import_module("spyne.util.six.moves")
    from spyne.util.six.moves.collections_abc import MutableSet
    from spyne.util.six.moves.urllib.parse import splithost, splittype  # spyne-only
    import spyne.util.six as six

    assert MutableSet is importlib.import_module("collections.abc").MutableSet
    assert moves.range is range
    assert splittype("http://h/p") == ("http", "//h/p") and splithost("//h/p") == ("h", "/p")
    assert six.get_function_name(_six_importers) == "_six_importers"  # spyne-only
    import spyne  # noqa: F401  (fails on 3.12+ without the shim)


def test_patch_spyne_six_is_idempotent():
    before, importers = sys.modules.get("spyne.util.six"), _six_importers()
    patch_spyne_six()
    patch_spyne_six()
    assert sys.modules.get("spyne.util.six") is before
    assert _six_importers() == importers
    importlib.import_module("spyne.util.six.moves")
