"""Python 3.12+ compatibility shim for spyne 2.14.0.

spyne 2.14.0 (its last PyPI release) vendors six 1.14 as ``spyne.util.six``.
That six registers ``spyne.util.six.moves`` with a meta-path importer that only
implements ``find_module``/``load_module``, which Python 3.12 removed, so
``import spyne`` fails with ``No module named 'spyne.util.six.moves'``
(arskom/spyne issues #700, #708, #711). The fix (PR #704, six 1.16) was merged
to spyne master on 2023-12-08 but has never been released.

``patch_spyne_six()`` loads the real ``six`` (>=1.16, a dependency on 3.12+)
from its source file under the name ``spyne.util.six``, so six's own importer
registers ``spyne.util.six.moves``, then re-adds spyne's three additions to its
vendored copy (``get_function_name``, ``moves.urllib.parse.splittype`` and
``splithost``). It must run before spyne is imported, is idempotent, and is a
no-op on Python < 3.12, where the vendored six works. On 3.13, spyne also needs
the removed ``cgi`` module: the ``legacy-cgi`` dependency provides it.
"""

import importlib.util
import operator
import sys

_NAME = "spyne.util.six"


def patch_spyne_six() -> None:
    """Make ``spyne.util.six`` a working six (no-op on Python < 3.12)."""
    if (sys.version_info < (3, 12) or _NAME + ".moves" in sys.modules
            or hasattr(sys.modules.get(_NAME), "_spyne_compat")):
        return  # the vendored six works (or a fixed one is loaded), or already patched
    six_spec = importlib.util.find_spec("six")
    if six_spec is None or six_spec.origin is None:
        raise ImportError("spyne on Python 3.12+ needs the 'six>=1.16' package")
    spec = importlib.util.spec_from_file_location(_NAME, six_spec.origin)
    six = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = six
    spec.loader.exec_module(six)  # registers spyne.util.six.moves
    six.get_function_name = operator.attrgetter("__name__")
    for name in ("splittype", "splithost"):
        setattr(six.Module_six_moves_urllib_parse, name,
                six.MovedAttribute(name, "urllib", "urllib.parse"))
    six._spyne_compat = True
