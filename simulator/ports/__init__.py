"""The store interface, declared by its consumers (services, clock, chaos engine,
journal, metrics, admin) as typed Protocols; each backend (:mod:`simulator.store.sqlite`,
:mod:`simulator.store.postgres`) is an adapter that satisfies them structurally and
passes one contract suite (tests/store_contract/). docs/storage.md explains the split.

The dependency runs one way: consumers import these ports and the domain types (leaf
modules: identities.model, journal_query, services.dmp.records and access,
services.dmp.xds.model and query_engine's ``Narrowing``); backends import the same; no
consumer imports a backend except ``simulator.store.open_backend`` in ``create_app``.
tests/unit/test_store_imports.py keeps it so.

One module per consumer area (``state``, ``identities``, ``diagnostics``, ``dmp``,
``timeline``, ``replicas``), each importing only what its types need, so that low-level
modules (the clock, the journal) import their port without the DMP's types; ``store``
composes them into the whole simulator's store.
"""
