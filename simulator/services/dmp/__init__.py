"""The DMP web services (API v1 and v2). Only the shared VIHF reader exists so far."""
