"""DMP API v1: the v2 services, mounted under ``/si-dmp-server/v1/services`` with a v1
context (patients identified by the INS-C)."""
