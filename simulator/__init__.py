"""insi-dmp-simulator: the French INSi and DMP web services, simulated."""

__version__ = "0.1.0"

from simulator.compat import patch_spyne_six

patch_spyne_six()
