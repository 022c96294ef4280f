"""Python 3.12+ compatibility shim for spyne 2.14.0.

spyne 2.14.0 (its last PyPI release) vendors six 1.14 as ``spyne.util.six``.
That six registers ``spyne.util.six.moves`` with a meta-path importer that only
implements ``find_module``/``load_module``, which Python 3.12 removed, so
``import spyne`` fails with ``No module named 'spyne.util.six.moves'``
(arskom/spyne issues #700, #708, #711). The fix (PR #704, six 1.16) was merged
to spyne master on 2023-12-08 but has never been released.

``patch_spyne_six()`` loads the real ``six`` (>=1.16, a dependency on 3.12+)
from its source file under the module name ``spyne.util.six``, so six's own
importer registers ``spyne.util.six.moves``; it must run before spyne is
imported. It is idempotent and a no-op when the vendored six already works.
On 3.13, spyne also needs the removed ``cgi`` module: ``legacy-cgi`` provides it.
"""

import importlib.util
import sys

_NAME = "spyne.util.six"


def _six_version(module) -> tuple:
    return tuple(int(p) for p in getattr(module, "__version__", "0").split(".")[:2])


def patch_spyne_six() -> None:
    """Make ``spyne.util.six`` a working six (no-op on Python < 3.12)."""
    current = sys.modules.get(_NAME)
    if sys.version_info < (3, 12) or (current and _six_version(current) >= (1, 16)):
        return  # the vendored six works, or we already patched
    spec = importlib.util.find_spec("six")
    if spec is None or spec.origin is None:
        raise ImportError("spyne on Python 3.12+ needs the 'six>=1.16' package")
    spec = importlib.util.spec_from_file_location(_NAME, spec.origin)
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    spec.loader.exec_module(module)  # registers spyne.util.six.moves
