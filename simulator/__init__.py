"""insi-dmp-simulator: the French INSi and DMP web services, simulated."""

__version__ = "0.1.0"
