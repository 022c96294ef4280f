"""Tenants: isolated simulators on one server, chosen by a ``/t/<tenant>/`` path prefix
(docs/tenants.md)."""
