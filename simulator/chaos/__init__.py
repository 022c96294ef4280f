"""The chaos engine: scenarios of faults, latency and outages, applied per request."""
