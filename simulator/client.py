"""``SimulatorClient(url, token)``: every control-plane call of a running simulator.

For test suites that attach to a simulator already running (a container, a shared CI
service), and the base of the pytest plugin's handle::

    sim = SimulatorClient("http://sim:8080", token="s3cret")
    sim.reset()
    my_software.admit_patient(...)
    sim.assert_sent(service="insi", operation="RECSANSVITALE", software="my-dpi")

The journal helpers (:meth:`find`, :meth:`count`, :meth:`assert_sent`) need no sleep
or retry: every journal read is complete when it returns (README, "The journal").
Only the standard library is used, so a vendor's test environment needs nothing more.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request

JOURNAL_FILTERS = ("service", "operation", "outcome", "software", "structure",
                   "professional", "patient", "since")
# What a failure message shows of each exchange the journal holds.
_SHOWN = ("request_id", "at", "service", "operation", "outcome", "software", "structure",
          "professional", "patient", "status")


class SimulatorError(RuntimeError):
    """The control plane refused a call: ``status`` and its JSON ``error`` message."""

    def __init__(self, method: str, path: str, status: int, body: str):
        try:
            message = json.loads(body).get("error", body)
        except (ValueError, AttributeError):
            message = body
        super().__init__(f"{method} {path}: {status} {message}")
        self.status = status
        self.body = body


class SimulatorClient:
    """The control plane (``/_admin``) of the simulator at ``url``; ``token`` is its
    ``SIM_ADMIN_TOKEN`` when it has one. With ``tenant``, every call and URL is that
    tenant's (``/t/<tenant>/...``, docs/tenants.md); :meth:`for_tenant` makes one."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 30,
                 tenant: str | None = None):
        self.root_url = url.rstrip("/")
        self.tenant = tenant
        self.base_url = self.root_url + (f"/t/{tenant}" if tenant else "")
        self.token = token
        self.timeout = timeout

    # -- tenants ------------------------------------------------------------------------
    def for_tenant(self, name: str, create: bool = True) -> "SimulatorClient":
        """A client of tenant ``name`` of this simulator, created first unless
        ``create`` is false (a request would create it anyway unless
        SIM_TENANT_AUTO_CREATE is off)."""
        if create:
            self.create_tenant(name)
        return SimulatorClient(self.root_url, self.token, self.timeout, tenant=name)

    def tenants(self) -> list[dict]:
        """Every tenant of the simulator (``name``, ``id``, ``created``, ``prefix``)."""
        return self._root().admin("GET", "/tenants")["tenants"]

    def create_tenant(self, name: str) -> dict:
        """Create tenant ``name`` (nothing happens when it exists)."""
        return self._root().admin("POST", "/tenants", {"name": name})

    def delete_tenant(self, name: str) -> None:
        """Delete tenant ``name`` and all it holds; a missing tenant is no error."""
        try:
            self._root().admin("DELETE", f"/tenants/{_segment(name)}")
        except SimulatorError as error:
            if error.status != 404:
                raise

    def _root(self) -> "SimulatorClient":
        return self if self.tenant is None else \
            SimulatorClient(self.root_url, self.token, self.timeout)

    # -- service URLs -------------------------------------------------------------------
    @property
    def insi_url(self) -> str:
        """The INSi endpoint (``.../lps``)."""
        return self.base_url + "/lps"

    @property
    def insi_wsdl_url(self) -> str:
        """The INSi WSDL, for clients generated at runtime."""
        return self.insi_url + "?wsdl"

    def dmp_url(self, service: str, version: str = "v2") -> str:
        """A DMP endpoint: ``service`` among patients, patientsSpecific, patientCertif,
        habilitations, registry, repository; ``version`` v2 or v1."""
        return f"{self.base_url}/si-dmp-server/{version}/services/{service}"

    # -- raw call -----------------------------------------------------------------------
    def admin(self, method: str, path: str, body=None, content_type="application/json",
              query: dict | None = None):
        """Call ``/_admin<path>``; the decoded JSON answer (None for an empty one).
        Raises :class:`SimulatorError` on an HTTP error."""
        if query:
            pairs = {k: _query_value(v) for k, v in query.items() if v is not None}
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(pairs)
        data = None
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.base_url + "/_admin" + path, data=data,
                                         method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise SimulatorError(method, "/_admin" + path, error.code,
                                 error.read().decode(errors="replace")) from None

    # -- clock, reset, scenarios, calendar ---------------------------------------------
    def health(self) -> dict:
        """Liveness, version, services, identity count, clock."""
        return self.admin("GET", "/health")

    def clock(self) -> dict:
        """``{"now": ISO-8601, "frozen": bool}``."""
        return self.admin("GET", "/clock")

    def set_clock(self, now: str | None = None, frozen: bool | None = True) -> dict:
        """Move the simulated clock (ISO-8601 date or date-time), frozen by default."""
        body = {key: value for key, value in (("now", now), ("frozen", frozen))
                if value is not None}
        return self.admin("PUT", "/clock", body)

    def reset(self) -> dict:
        """Initial identities, no DMP, empty journal, configured clock and scenario."""
        return self.admin("POST", "/reset")

    def scenario(self) -> dict:
        """The active scenario with its rule counters, or ``{"active": false}``."""
        return self.admin("GET", "/scenario")

    def set_scenario(self, scenario: str) -> dict:
        """Activate a scenario: a shipped name, or YAML text."""
        if "rules:" in scenario:
            return self.admin("PUT", "/scenario", scenario, "application/yaml")
        return self.admin("PUT", "/scenario", {"name": scenario})

    def clear_scenario(self) -> None:
        """Back to normal answers."""
        self.admin("DELETE", "/scenario")

    def scenarios(self) -> list[dict]:
        """The shipped scenarios."""
        return self.admin("GET", "/scenarios")["scenarios"]

    def calendar(self) -> dict:
        """The dated regulatory rules and which are in force today."""
        return self.admin("GET", "/calendar")

    # -- identities ---------------------------------------------------------------------
    def identities(self, q: str = "", source: str | None = None, limit: int = 50,
                   offset: int = 0) -> dict:
        """``{"total", "identities"}`` matching ``q`` (names, matricules, INS-C)."""
        return self.admin("GET", "/identities", query={"q": q, "source": source,
                                                       "limit": limit, "offset": offset})

    def identity(self, key: str) -> dict:
        """One identity by registry key."""
        return self.admin("GET", f"/identities/{_segment(key)}")

    def add_identity(self, person: dict) -> dict:
        """Add a person (fields of the identity files); kept until the next reset."""
        return self.admin("POST", "/identities", person)

    def update_identity(self, key: str, person: dict) -> dict:
        """Replace a person's fields (as for :meth:`add_identity`); kept until reset."""
        return self.admin("PUT", f"/identities/{_segment(key)}", person)

    def delete_identity(self, key: str) -> None:
        """Remove a person until the next reset."""
        self.admin("DELETE", f"/identities/{_segment(key)}")

    # -- DMP state and reports -------------------------------------------------------------
    def dmp_patients(self) -> list[dict]:
        """Every DMP with its status."""
        return self.admin("GET", "/dmp/patients")["patients"]

    def dmp_patient(self, ins: str) -> dict:
        """One DMP, its professionals and its document count."""
        return self.admin("GET", f"/dmp/patients/{_segment(ins)}")

    def set_patient_options(self, ins: str, **options: bool) -> dict:
        """The patient's own choices: ``opposes_bris_de_glace``, ``opposes_centre_15``,
        ``linked_to_mes``."""
        return self.admin("PATCH", f"/dmp/patients/{_segment(ins)}", options)

    def set_professional(self, ins: str, professional_id: str, **changes) -> dict:
        """Block a professional (``blocked=True``) or expire their authorisation
        (``expires_at=ISO-8601`` or None)."""
        return self.admin("PUT", f"/dmp/patients/{_segment(ins)}/professionals",
                          {"professional_id": professional_id, **changes})

    def dmp_grace(self) -> dict:
        """Grace registrations, the flow month and the configured software."""
        return self.admin("GET", "/dmp/grace")

    def register_grace(self, software: str | None = None, structure: str | None = None,
                       api: str | None = None) -> dict:
        """Register a software (``NAME-VERSION``) or a structure for the grace."""
        body = {k: v for k, v in (("software", software), ("structure", structure),
                                  ("api", api)) if v is not None}
        return self.admin("POST", "/dmp/grace", body)

    def readiness_report(self, date: str | None = None) -> dict:
        """The migration readiness report on ``date`` (default: the simulated today)."""
        return self.admin("GET", "/reports/readiness", query={"date": date})

    def feeding_report(self) -> dict:
        """Documents fed per structure and month, by INS kind."""
        return self.admin("GET", "/reports/feeding")

    def latency_stats(self) -> list[dict]:
        """Per service and operation: requests, mean and p50/p95/p99 in ms."""
        return self.admin("GET", "/stats/latency")["operations"]

    def injection_stats(self) -> list[dict]:
        """Per simulated day: requests altered by scenario rules, by action, and the
        seconds of latency injected."""
        return self.admin("GET", "/stats/injections")["days"]

    def metrics(self) -> str:
        """The Prometheus text of ``/metrics`` (summed over the workers)."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        request = urllib.request.Request(self.base_url + "/metrics", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.read().decode()
        except urllib.error.HTTPError as error:
            raise SimulatorError("GET", "/metrics", error.code,
                                 error.read().decode(errors="replace")) from None

    def openapi(self) -> dict:
        """The OpenAPI description of the control plane."""
        return self.admin("GET", "/openapi.json")

    # -- journal ------------------------------------------------------------------------
    def journal(self, limit: int = 100, bodies: bool = True, **filters) -> list[dict]:
        """Newest-first exchanges matching ``filters`` (``service``, ``operation``,
        ``outcome``, ``software``, ``structure``, ``professional``, ``patient``,
        ``since``); complete when it returns."""
        return self._journal(limit, bodies, filters)["entries"]

    def journal_entry(self, request_id: str) -> dict:
        """One exchange with its request and response bodies."""
        return self.admin("GET", f"/journal/{_segment(request_id)}")

    def find(self, **filters) -> list[dict]:
        """Newest-first exchanges matching ``filters``, without bodies (up to the
        journal's capacity)."""
        return self._journal(1 << 30, False, filters)["entries"]

    def count(self, **filters) -> int:
        """How many exchanges in the journal match ``filters``."""
        return self._journal(0, False, filters)["count"]

    def mark(self) -> str | None:
        """The request id of the newest exchange (None when the journal is empty): pass
        it as ``since=`` to see only what came after this point of a test."""
        entries = self._journal(1, False, {})["entries"]
        return entries[0]["request_id"] if entries else None

    def assert_sent(self, times: int | None = None, **filters) -> list[dict]:
        """The matching exchanges (newest first); raises ``AssertionError`` when there
        is none, or not exactly ``times``, with what the journal does hold."""
        found = self.find(**filters)
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        wanted = "at least one" if times is None else f"exactly {times}"
        raise AssertionError(self._journal_report(
            f"expected {wanted} exchange(s) matching {_describe(filters)}, "
            f"found {len(found)}", found, filters))

    def assert_not_sent(self, **filters) -> None:
        """Raises ``AssertionError`` when an exchange matches ``filters``."""
        self.assert_sent(times=0, **filters)

    def _journal(self, limit: int, bodies: bool, filters: dict) -> dict:
        unknown = sorted(set(filters) - set(JOURNAL_FILTERS))
        if unknown:
            raise TypeError(f"unknown journal filter {unknown[0]!r}; "
                            f"use {', '.join(JOURNAL_FILTERS)}")
        return self.admin("GET", "/journal", query={**filters, "limit": limit,
                                                    "bodies": bodies})

    def _journal_report(self, headline: str, found: list[dict], filters: dict) -> str:
        """A failure message: the headline, then the newest exchanges of the journal
        (those after ``since`` when given), one line each."""
        scope = {"since": filters["since"]} if filters.get("since") else {}
        recent = self._journal(20, False, scope)
        lines = [headline, f"the journal holds {recent['count']} exchange(s)"
                 + (f" since {filters['since']}" if scope else "")
                 + (", the newest 20:" if recent["count"] > 20 else ":")]
        lines += ["  " + _one_line(entry) for entry in recent["entries"]]
        if found and len(found) <= 20:
            lines.append("matching: " + ", ".join(e["request_id"] for e in found))
        return "\n".join(lines)


def _describe(filters: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in filters.items()) or "anything"


def _one_line(entry: dict) -> str:
    return " ".join(f"{k}={entry[k]}" for k in _SHOWN if entry.get(k) not in (None, ""))


def _query_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _segment(text: str) -> str:
    return urllib.parse.quote(text, safe="")
