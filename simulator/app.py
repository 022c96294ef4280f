"""create_app(settings): the whole simulator as one WSGI application.

Services are mounted at their contract paths, the control plane under ``/_admin`` and
the Prometheus counters at ``/metrics``. All state lives in objects created here
(store, clock, journal, chaos engine), never in modules.
"""
from __future__ import annotations

import io
import json
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from simulator.admin.access import refusal
from simulator.admin.api import create_admin_app
from simulator.calendar import RegulatoryCalendar
from simulator.chaos.engine import ChaosEngine
from simulator.chaos.loader import load_scenario
from simulator.clock import SimClock
from simulator.identities.registry import seed_registry
from simulator.journal import Journal
from simulator.metrics import Metrics
from simulator.pseudonymise import Pseudonymiser
from simulator.recording import Recorder
from simulator.replicas import Replica, default_replica_id
from simulator.services.dmp.call import DmpContext
from simulator.services.dmp.usage import DmpUsage
from simulator.services.dmp.v1.services import v1_bindings
from simulator.services.dmp.v2.services import v2_bindings
from simulator.services.dmp.xds.value_sets import load_terminology
from simulator.services.insi.binding import InsiBinding
from simulator.services.insi.service import InsiContext
from simulator.services.insi.usage import InsiUsage
from simulator.services.dmp.xmldsig import SignatureVerifier
from simulator.settings import Settings, SettingsError
from simulator.soap.endpoint import SoapEndpoint
from simulator.soap.reply import status_line
from simulator.ports.store import SimulatorStore
from simulator.store.backends import open_backend, open_pool, open_tenant_list
from simulator.tenants.manager import Tenants
from simulator.tenants.names import PREFIX as TENANT_PREFIX
from simulator.tenants.routing import route_to_tenant

LOG = logging.getLogger(__name__)


@dataclass
class Simulator:
    """The simulator's state and services, shared by the WSGI layers."""

    settings: Settings
    store: SimulatorStore
    clock: SimClock
    calendar: RegulatoryCalendar
    journal: Journal
    metrics: Metrics
    chaos: ChaosEngine
    endpoints: dict
    replica: Replica
    processes: int = 1  # worker processes sharing its store (share_across_processes)

    def start(self, joining: list[str] | tuple = ()) -> None:
        """Bring the store to the configured start where it is not there yet: initial
        identities (again when the seed, population or identities file changed), the
        configured clock (on a new store, or when SIM_DATE/SIM_FROZEN is set), the
        configured scenario; but a replica ``joining`` others alive on its store keeps
        their clock and scenario (docs/storage.md, "Replicas")."""
        seed_registry(self.store, self.settings)
        if joining:  # replicas on one database: theirs is the state
            LOG.info("replica %s joins %s: the shared clock and scenario are kept",
                     self.replica.id, ", ".join(joining))
            return
        if self.settings.date is not None or self.settings.frozen \
                or self.store.get_meta("clock-set") is None:
            self.reset_clock()
            self.store.set_meta("clock-set", "1")
        self.reset_scenario()

    def close(self) -> None:
        """Stop this process's background writers and close its store connections (a
        deleted tenant); what was still queued is dropped."""
        self.journal.close()
        self.metrics.close()
        for recorder in self.usage_recorders():
            recorder.close()
        self.store.close()

    def reset(self) -> None:
        """Back to the start: initial identities, no DMP, empty journal, configured clock and
        scenario (rule counters start again). Metric counters keep growing."""
        seed_registry(self.store, self.settings, force=True)
        self.store.dmp.clear()
        for recorder in self.usage_recorders():  # queued calls must not outlive the reset
            recorder.discard(self.settings.journal_read_timeout, self.clock.sleep)
        self.store.timeline.clear()
        self.journal.clear()
        self.reset_clock()
        self.reset_scenario()

    def share_across_processes(self, workers: int) -> None:
        """Make journal reads, reports, charts and resets complete across ``workers`` forked
        worker processes (``insi-dmp-sim serve``, before the fork)."""
        self.processes = workers
        self.replica.details["workers"] = workers
        self.journal.share_across_processes(workers)
        self.metrics.share_across_processes(workers)
        for recorder in self.usage_recorders():
            recorder.share_across_processes(workers)

    def usage_recorders(self) -> list:
        """The batched usage recorders of the endpoints (INSi's, and the DMP's that its
        services share), each once."""
        recorders = {id(endpoint.binding.usage): endpoint.binding.usage
                     for endpoint in self.endpoints.values()
                     if getattr(endpoint.binding, "usage", None) is not None}
        return list(recorders.values())

    def reset_clock(self) -> None:
        """The clock at ``settings.date`` (or real time), frozen if configured."""
        self.store.set_clock_state(0.0, None)
        if self.settings.date is not None or self.settings.frozen:
            self.clock.set(self.settings.date, frozen=self.settings.frozen)

    def reset_scenario(self) -> None:
        """The scenario of ``settings.scenario`` active again, or none."""
        if self.settings.scenario:
            self.chaos.activate(load_scenario(self.settings.scenario), self.settings.scenario)
        else:
            self.chaos.clear()


class SimulatorApp:
    """The WSGI entry point: routes by path to a service endpoint or the control plane;
    ``/t/<tenant>/...`` to that tenant's own app (``tenants``; None in a tenant)."""

    def __init__(self, simulator: Simulator, tenants=None, tenant: str | None = None):
        self.simulator = simulator
        self.tenants = tenants
        self.tenant = tenant
        self.admin = create_admin_app(simulator, tenants=tenants, tenant=tenant)

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "") or "/"
        if self.tenants is not None and path.startswith(TENANT_PREFIX):
            return route_to_tenant(self, environ, start_response)
        endpoint = self.simulator.endpoints.get(path.rstrip("/") or "/")
        if endpoint is not None:
            return endpoint(environ, start_response)
        if is_control_plane(path):
            refused = self.refusal(environ)
            if refused is not None:
                return _json(start_response, refused[0], {"error": refused[1]})
            return self.admin(environ, start_response)
        return _json(start_response, 404, {"error": f"No service at {path}",
                                            "services": sorted(self.simulator.endpoints)})

    def refusal(self, environ) -> tuple[int, str] | None:
        """(status, message) when the control plane must refuse this request (admin
        token, client address, body size), else None."""
        settings = self.simulator.settings
        return refusal(environ, settings.admin_token, admin_hosts(settings)) \
            or _too_large(environ, settings.admin_max_request_bytes)

    def cut_sleeps(self) -> None:
        """End the injected delays of this process, the open tenants' included (the
        worker's drain, simulator/worker.py)."""
        self.simulator.clock.cut_sleeps()
        for app in (self.tenants.opened().values() if self.tenants is not None else ()):
            app.simulator.clock.cut_sleeps()


def is_control_plane(path: str) -> bool:
    """Whether a (tenant-relative) path belongs to the control plane."""
    return path.startswith("/_admin") or path in ("/", "/metrics")


def admin_hosts(settings: Settings) -> tuple[str, ...]:
    """Host names the control plane answers without a token, besides loopback names."""
    bound = () if settings.host in ("", "0.0.0.0", "::") else (settings.host,)
    return (*bound, *settings.admin_hosts)


def _too_large(environ, limit: int) -> tuple[int, str] | None:
    """413 for a control-plane body larger than ``limit``: refused unread when its
    Content-Length says so; a body without one (chunked) is read up to the limit and
    handed on with its length."""
    refusal = (413, f"the control plane takes bodies of {limit} bytes at most "
                    "(SIM_ADMIN_MAX_REQUEST_BYTES), this one has {}")
    length = (environ.get("CONTENT_LENGTH") or "").strip()
    if not length:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not (chunked or environ.get("wsgi.input_terminated")) \
                or "wsgi.input" not in environ:
            return None  # no body (reading would wait for one on a keep-alive connection)
        body = environ["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            return refusal[0], refusal[1].format("more")
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        return None
    try:
        declared = int(length)
    except ValueError:
        return 400, "Content-Length is not a number"
    return (refusal[0], refusal[1].format(declared)) if declared > limit else None


def _json(start_response, status: int, payload: dict):
    body = json.dumps(payload).encode()
    start_response(status_line(status), [("Content-Type", "application/json"),
                                         ("Content-Length", str(len(body)))])
    return [body]


def signature_verifier(settings: Settings, clock: SimClock) -> SignatureVerifier:
    """The DMP's signature verifier, trusting the CAs of SIM_DMP_TRUSTED_CAS."""
    try:
        return SignatureVerifier.from_files(settings.dmp_trusted_cas, clock.real_now)
    except ValueError as error:
        raise SettingsError(f"SIM_DMP_TRUSTED_CAS: {error}") from None


def build_simulator(settings: Settings, data_dir: Path, batch: int | None = None,
                    database_url: str | None = None, schema: str | None = None,
                    replica: Replica | None = None, pool=None) -> Simulator:
    """The simulator's objects on the store of ``data_dir`` (or of the PostgreSQL
    database at ``database_url``, in a tenant's ``schema`` if given), as they are (see
    :meth:`Simulator.start`).
    ``batch``: journal, metrics and usage rows written in batches of at most this many
    (1: as they come, for a tenant opened after the fork, which has no flush barrier:
    docs/tenants.md). ``replica``: the server's (a tenant's simulator shares it), else
    one on this store. ``pool``: the PostgreSQL connections the server's tenants share
    (:func:`simulator.store.backends.open_pool`)."""
    store = open_backend(data_dir, database_url, settings.state_cache_seconds,
                         settings.database_pool, schema, pool)
    clock = SimClock(store)
    calendar = RegulatoryCalendar(settings)
    replica = replica or Replica(store, settings.replica_id
                                 or default_replica_id(settings.port),
                                 settings.replica_heartbeat_seconds)
    batching = {} if batch is None else {"batch": batch}
    journal = Journal(store, clock, settings.journal_size, settings.journal_body_bytes,
                      pseudonymiser=Pseudonymiser() if settings.journal_pseudonymise else None,
                      read_timeout=settings.journal_read_timeout, replica=replica.id,
                      **batching)
    metrics = Metrics(store, replica=replica.id, **batching)
    chaos = ChaosEngine(store, clock)
    recorder = Recorder(journal, metrics, clock)
    insi = InsiBinding(InsiContext(store, settings, clock, calendar))
    if batch is not None:
        insi.usage = InsiUsage(store.timeline, batch=batch)
    endpoints = {"/lps": SoapEndpoint(insi, recorder, chaos, clock, settings.max_request_bytes)}
    signatures = signature_verifier(settings, clock)
    dmp_usage = DmpUsage(store.timeline, **batching)
    dmp_bindings = {**v2_bindings(DmpContext(store, settings, clock, calendar,
                                             signatures=signatures, usage=dmp_usage)),
                    **v1_bindings(DmpContext(store, settings, clock, calendar, version="v1",
                                             signatures=signatures, usage=dmp_usage))}
    for path, binding in dmp_bindings.items():
        endpoints[path] = SoapEndpoint(binding, recorder, chaos, clock, settings.max_request_bytes)
    return Simulator(settings, store, clock, calendar, journal, metrics, chaos, endpoints,
                     replica)


def create_app(settings: Settings | None = None) -> SimulatorApp:
    """Build the simulator: store, clock, registry, chaos, services and control plane,
    and its tenants (``<data-dir>/tenants``, opened on demand).

    Raises ``ScenarioError`` when ``settings.scenario`` cannot be loaded, and
    ``TerminologyError`` when a file of ``settings.dmp_value_sets_dir`` cannot be used.
    """
    settings = settings or Settings.from_env()
    load_terminology(settings.dmp_value_sets_dir)  # a bad value-set file stops the start
    data_dir = settings.data_dir or Path(tempfile.mkdtemp(prefix="insi-dmp-sim-"))
    pool = open_pool(settings.database_url, settings.database_pool)
    simulator = build_simulator(settings, data_dir, database_url=settings.database_url,
                                pool=pool)
    # Listed from now on (serve's workers keep it fresh), and joining the live replicas.
    simulator.start(joining=simulator.replica.others_alive())
    LOG.info("simulator ready: data in %s, simulated now %s, scenario %s", data_dir,
             simulator.clock.now().isoformat(), settings.scenario or "none")

    def open_tenant(record, initialise: bool) -> SimulatorApp:
        # Several worker processes: a tenant opened after the fork has no flush barrier,
        # so its journal and metrics are written as they come (complete reads anyway).
        tenant = build_simulator(settings, record.data_dir,
                                 batch=1 if simulator.processes > 1 else None,
                                 database_url=settings.database_url, schema=record.schema,
                                 replica=simulator.replica, pool=pool)
        if initialise:
            tenant.start()
        else:
            seed_registry(tenant.store, settings)  # no-op unless the settings changed
        return SimulatorApp(tenant, tenant=record.name)

    tenant_list = open_tenant_list(data_dir / "tenants", settings.max_tenants,
                                   settings.database_url, settings.state_cache_seconds,
                                   settings.database_pool, pool)
    tenants = Tenants(tenant_list, open_tenant, settings.tenant_auto_create)
    return SimulatorApp(simulator, tenants=tenants)
