"""The OpenAPI 3.1 description of the control plane, served at ``GET /_admin/openapi.json``.

Written as data next to the code it describes, reusing its constants (journal filters,
patient options, grace APIs), so that a change to one shows in the other. The tests
validate it (openapi-spec-validator) and check every real answer of the live server
against it (openapi-core), and check that every Flask route is described.

Every operation lists the errors it gives itself, and a ``default`` JSON error: the
control plane answers every refusal (401 without the admin token, 403 off loopback,
404, 405, and the limits of the access layer) with a JSON ``{"error": ...}``.
"""
from __future__ import annotations

from simulator import __version__
from simulator.admin.chaos_api import YAML_TYPES
from simulator.admin.dmp_api import PATIENT_OPTIONS
from simulator.admin.journal_api import FILTERS
from simulator.admin.reports_api import GRACE_APIS
from simulator.identities.loader import CNAM_FIELDS, FIELDS
from simulator.replicas import STALE_AFTER_BEATS
from simulator.tenants.names import PATTERN as TENANT_PATTERN, RULE as TENANT_RULE

_JSON = "application/json"
_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_NUMBER = {"type": ["number", "null"]}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: dict, optional: dict | None = None, closed: bool = False) -> dict:
    """An object schema: ``required`` properties must be there, ``optional`` may."""
    schema = {"type": "object", "required": list(required),
              "properties": {**required, **(optional or {})}}
    if closed:
        schema["additionalProperties"] = False
    return schema


def _answer(description: str, schema: dict) -> dict:
    return {"description": description, "content": {_JSON: {"schema": schema}}}


def _error(description: str) -> dict:
    return {"$ref": "#/components/responses/" + description} \
        if description in _ERRORS else _answer(description, _ref("Error"))


_ERRORS = {"BadRequest": "the request cannot be used; `error` says why",
           "NotFound": "no such resource; `error` says which",
           "Default": "any other refusal of the control plane (401 without the admin "
                      "token, 403 for a client off loopback without a token, 405, the "
                      "access layer's limits), as JSON"}


def _operation(summary: str, responses: dict, *, parameters=None, body=None,
               tag: str) -> dict:
    operation = {"summary": summary, "tags": [tag], "operationId": None,
                 "responses": {**responses, "default": _error("Default")}}
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = body
    return operation


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or {"type": "string"}}


def _path(name: str, description: str) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}}


def _json_body(schema: dict, description: str) -> dict:
    return {"required": True, "description": description, "content": {_JSON: {"schema": schema}}}


_CLOCK = _object({"now": {"type": "string", "format": "date-time"},
                  "frozen": {"type": "boolean"}})
_IDENTITY_INPUT = {
    "type": "object", "additionalProperties": False,
    "required": ["birth_name", "first_names", "sex", "birth_date", "birth_place", "nir"],
    "description": "The fields of the CSV/YAML identity files (README, Identities)",
    "properties": {name: {"description": f"identity file field {name}"}
                   for name in FIELDS + CNAM_FIELDS}}
_MATRICULE = _object({"number": {"type": "string"}, "key": {"type": "string"},
                      "oid": {"type": "string"}},
                     {"start": _NULLABLE_STRING, "end": _NULLABLE_STRING})
_IDENTITY = _object({
    "key": {"type": "string"}, "birth_name": {"type": "string"},
    "first_names": {"type": "array", "items": {"type": "string"}},
    "sex": {"type": "string", "enum": ["M", "F"]}, "birth_date": {"type": "string"},
    "birth_place": {"type": "string"}, "active": _ref("Matricule"),
    "history": {"type": "array", "items": _ref("Matricule")},
    "source": {"type": "string"}, "insc": {"type": "string"}},
    {"od_number": _NULLABLE_STRING, "od_key": _NULLABLE_STRING,
     "birth_rank": {"type": "integer"}, "document_traits": {"type": "object"},
     "notes": {"type": "string"}, "cnam_traits": {"type": "object"}})
_ENTRY_FIELDS = {
    "id": {"type": "integer"}, "request_id": {"type": "string"},
    "at": {"type": "string", "description": "simulated time of the answer"},
    "real_at": {"type": "string", "description": "real time of the answer (UTC)"},
    "service": {"type": "string"}, "operation": _NULLABLE_STRING,
    "http_method": {"type": "string"}, "path": {"type": "string"},
    "status": {"type": "integer"}, "outcome": _NULLABLE_STRING, "chaos": _NULLABLE_STRING,
    "duration_ms": {"type": "number"}, "client": _NULLABLE_STRING,
    "software": _NULLABLE_STRING, "structure": _NULLABLE_STRING,
    "professional": _NULLABLE_STRING, "patient": _NULLABLE_STRING,
    "replica": {**_NULLABLE_STRING, "description": "the simulator process that answered"}}
_REPLICA = _object({
    "replica": {"type": "string", "description": "SIM_REPLICA_ID, or <hostname>:<port>"},
    "first_seen": {"type": "string", "format": "date-time"},
    "last_seen": {"type": "string", "format": "date-time",
                  "description": "its last heartbeat (the store's clock)"},
    "silent_seconds": {"type": "number", "description": "since its last heartbeat"},
    "alive": {"type": "boolean",
              "description": f"a heartbeat within {STALE_AFTER_BEATS} of its periods"},
    "self": {"type": "boolean", "description": "the replica that answers"},
    "details": _object({}, {"version": {"type": "string"}, "workers": {"type": "integer"},
                            "pid": {"type": "integer"},
                            "started_at": {"type": "string"},
                            "heartbeat_seconds": {"type": "number"}})})
_BODIES = {"request_body": _NULLABLE_STRING, "response_body": _NULLABLE_STRING}
_RULE = _object({"index": {"type": "integer"}, "name": _NULLABLE_STRING,
                 "match": {"type": "object"}, "probability": {"type": "number"},
                 "times": {"type": ["integer", "null"]}, "latency": _NULLABLE_STRING,
                 "action": _NULLABLE_STRING, "matched": {"type": "integer"},
                 "fired": {"type": "integer"}})
_SCENARIO = _object({"active": {"type": "boolean"}},
                    {"activation": {"type": "string"}, "name": {"type": "string"},
                     "description": _NULLABLE_STRING, "seed": {"type": ["integer", "null"]},
                     "timezone": _NULLABLE_STRING,
                     "rules": {"type": "array", "items": _ref("Rule")},
                     "source": _NULLABLE_STRING})
_DATED_RULE = _object({"name": {"type": "string"}, "description": {"type": "string"},
                       "source": {"type": "string"}, "starts": _NULLABLE_STRING,
                       "ends": _NULLABLE_STRING, "in_force": {"type": "boolean"}})
_DMP = _object({"ins": {"type": "string"}, "ins_oid": {"type": "string"},
                "status": {"type": "string"}, "traits": {"type": "object"},
                "created_at": {"type": "string"}, "updated_at": {"type": "string"}},
               {name: {"type": "boolean"} for name in PATIENT_OPTIONS})
_PROFESSIONAL = _object({"ins": {"type": "string"}, "professional_id": {"type": "string"},
                         "granted": {"type": "boolean"}, "blocked": {"type": "boolean"},
                         "status": {"type": "string"}},
                        {"expires_at": _NULLABLE_STRING, "granted_at": _NULLABLE_STRING,
                         "last_action_at": _NULLABLE_STRING})
_REGISTRATION = _object({"kind": {"type": "string", "enum": ["software", "structure"]},
                         "name": {"type": "string"}, "api": {"type": "string"},
                         "source": {"type": "string"}})


_TENANT_NAME = {"type": "string", "pattern": TENANT_PATTERN, "description": TENANT_RULE}
_TENANT = _object({"name": _TENANT_NAME, "id": {"type": "string",
                                                "description": "the id of its creation"},
                   "created": {"type": "string", "description": "real UTC time"},
                   "prefix": {"type": "string", "description": "/t/<name>: put it in "
                              "front of every service and control-plane path"}})


def _journal_parameters() -> list[dict]:
    described = {
        "service": "exact service name: insi or dmp (the path tells the DMP endpoint)",
        "operation": "exact operation name, as the entries show it",
        "outcome": "an outcome, its first words, or one of its words: CR 00, fault, "
                   "siram_40, DMPAccessDenied, Failure",
        "software": "the calling software: INSi ContexteLPS/LPS/Nom, DMP VIHF LPS_Nom",
        "structure": "the calling structure: INSi Emetteur, DMP VIHF Identifiant_Structure",
        "professional": "the DMP user: the VIHF Subject NameID",
        "patient": "the patient's INS as the request names it (13 characters, or 15 with "
                   "the key); refused with SIM_JOURNAL_PSEUDONYMISE",
        "replica": "the simulator process that answered (SIM_REPLICA_ID, GET "
                   "/_admin/replicas)"}
    return [_query(name, described[name]) for name in FILTERS] + [
        _query("since", "a request id (entries answered after it), an ISO-8601 simulated "
                        "date-time, or real:<ISO-8601> (real time); times are inclusive"),
        _query("limit", "entries returned, newest first (count is not limited)",
               {"type": "integer", "minimum": 0, "default": 100}),
        _query("bodies", "include the request and response bodies",
               {"type": "string", "enum": ["1", "0", "true", "false", "yes", "no"],
                "default": "1"})]


def _paths() -> dict:
    key = _path("key", "registry key (see GET /_admin/identities)")
    ins = _path("ins", "the patient's INS (as the DMP holds it)")
    return {
        "/_admin/health": {"get": _operation(
            "Liveness and what is served (open without the admin token)", {
                "200": _answer("running", _object({
                    "status": {"const": "ok"}, "version": {"type": "string"},
                    "services": {"type": "array", "items": {"type": "string"}},
                    "identities": {"type": "integer"}, "clock": _ref("Clock")}))},
            tag="simulator")},
        "/_admin/clock": {
            "get": _operation("The simulated time", {"200": _answer("now", _ref("Clock"))},
                              tag="simulator"),
            "put": _operation("Move or freeze the simulated clock", {
                "200": _answer("the new time", _ref("Clock")),
                "400": _error("BadRequest")},
                body=_json_body(_object({}, {
                    "now": {"type": ["string", "null"],
                            "description": "ISO-8601 date or date-time"},
                    "frozen": {"type": "boolean"}}, closed=True),
                    "now and/or frozen"), tag="simulator")},
        "/_admin/replicas": {"get": _operation(
            "The simulator processes sharing this store and their last heartbeat", {
                "200": _answer("the replicas", _object({
                    "replica": {"type": "string", "description": "the one answering"},
                    "replicas": {"type": "array", "items": _ref("Replica")}}))},
            tag="simulator")},
        "/_admin/reset": {"post": _operation(
            "Initial identities, no DMP, empty journal, configured clock and scenario", {
                "200": _answer("reset", _object({
                    "status": {"const": "reset"}, "identities": {"type": "integer"},
                    "clock": _ref("Clock")}))}, tag="simulator")},
        "/_admin/calendar": {"get": _operation(
            "The dated regulatory rules and which are in force", {
                "200": _answer("rules", _object({
                    "today": {"type": "string", "format": "date"},
                    "rules": {"type": "array", "items": _ref("DatedRule")}}))},
            tag="simulator")},
        "/_admin/scenario": {
            "get": _operation("The active scenario with its rule counters", {
                "200": _answer("the scenario, or active false", _ref("Scenario"))},
                tag="scenarios"),
            "put": _operation("Activate a shipped scenario or a YAML one (atomic)", {
                "200": _answer("activated", _ref("Scenario")),
                "400": _error("BadRequest")},
                body={"required": True, "content": {
                    _JSON: {"schema": _object({"name": {"type": "string"}})},
                    **{kind: {"schema": {"description": "a scenario file (YAML text, see "
                                                        "docs/scenarios.md)"}}
                       for kind in YAML_TYPES}}},
                tag="scenarios"),
            "delete": _operation("No scenario", {
                "200": _answer("cleared", _object({"active": {"const": False}}))},
                tag="scenarios")},
        "/_admin/scenarios": {"get": _operation("The shipped scenarios", {
            "200": _answer("list", _object({"scenarios": {"type": "array", "items": _object({
                "name": {"type": "string"}, "description": _NULLABLE_STRING,
                "rules": {"type": "integer"}})}}))}, tag="scenarios")},
        "/_admin/identities": {
            "get": _operation("Search the identity registry", {
                "200": _answer("a page", _object({
                    "total": {"type": "integer"},
                    "identities": {"type": "array", "items": _ref("Identity")}})),
                "400": _error("BadRequest")},
                parameters=[
                    _query("q", "text in names, first names, matricules or INS-C"),
                    _query("source", "cnda, generated or vendor"),
                    _query("limit", "page size (at most 500)",
                           {"type": "integer", "default": 50}),
                    _query("offset", "first result", {"type": "integer", "default": 0})],
                tag="identities"),
            "post": _operation("Add a person (kept until the next reset, restarts included)",
                               {"201": _answer("added", _ref("Identity")),
                                "400": _error("BadRequest"),
                                "409": _error("an identity with this INS exists")},
                               body=_json_body(_ref("IdentityInput"), "the person"),
                               tag="identities")},
        "/_admin/identities/{key}": {
            "parameters": [key],
            "get": _operation("One identity", {"200": _answer("found", _ref("Identity")),
                                               "404": _error("NotFound")},
                              tag="identities"),
            "put": _operation("Replace a person's fields (key and source stay; kept until "
                              "the next reset, restarts included)", {
                                  "200": _answer("replaced", _ref("Identity")),
                                  "400": _error("BadRequest"), "404": _error("NotFound"),
                                  "409": _error("another identity holds this INS")},
                              body=_json_body(_ref("IdentityInput"), "the person"),
                              tag="identities"),
            "delete": _operation("Remove a person until the next reset", {
                "204": {"description": "deleted"}, "404": _error("NotFound")},
                tag="identities")},
        "/_admin/journal": {"get": _operation(
            "Newest-first exchanges matching every filter given; complete when it "
            "returns (every exchange answered before the call is in it)", {
                "200": _answer("entries and how many match", _object({
                    "entries": {"type": "array", "items": _ref("JournalEntry")},
                    "count": {"type": "integer"}, "capacity": {"type": "integer"}})),
                "400": _error("BadRequest"),
                "503": _error("a worker did not write its entries in time "
                              "(SIM_JOURNAL_READ_TIMEOUT)")},
            parameters=_journal_parameters(), tag="journal")},
        "/_admin/journal/{request_id}": {
            "parameters": [_path("request_id", "the X-Request-Id header of the answer")],
            "get": _operation("One exchange with its bodies (complete when it returns)", {
                "200": _answer("the exchange", _ref("JournalEntryWithBodies")),
                "404": _error("NotFound"),
                "503": _error("a worker did not write its entries in time")},
                tag="journal")},
        "/_admin/dmp/patients": {"get": _operation("Every DMP with its status", {
            "200": _answer("list", _object({"count": {"type": "integer"}, "patients": {
                "type": "array", "items": _object({
                    "ins": {"type": "string"}, "ins_oid": {"type": "string"},
                    "status": {"type": "string"}, "birth_name": {"type": "string"}})}}))},
            tag="dmp")},
        "/_admin/dmp/patients/{ins}": {
            "parameters": [ins],
            "get": _operation("One DMP, its professionals and its document count", {
                "200": _answer("the DMP", _object({
                    "dmp": _ref("Dmp"), "documents": {"type": "integer"},
                    "professionals": {"type": "array", "items": _ref("Professional")}})),
                "404": _error("NotFound")}, tag="dmp"),
            "patch": _operation("Set the patient's own choices", {
                "200": _answer("the DMP", _object({"dmp": _ref("Dmp")})),
                "400": _error("BadRequest"), "404": _error("NotFound")},
                body=_json_body(_object({}, {n: {"type": "boolean"} for n in PATIENT_OPTIONS},
                                        closed=True) | {"minProperties": 1},
                                "one or more choices"), tag="dmp")},
        "/_admin/dmp/patients/{ins}/professionals": {
            "parameters": [ins],
            "put": _operation("Block a professional or expire their authorisation", {
                "200": _answer("the authorisation",
                               _object({"professional": _ref("Professional")})),
                "400": _error("BadRequest"), "404": _error("NotFound")},
                body=_json_body(_object({"professional_id": {"type": "string"}}, {
                    "blocked": {"type": "boolean"}, "expires_at": _NULLABLE_STRING},
                    closed=True), "the professional (VIHF NameID)"), tag="dmp")},
        "/_admin/dmp/grace": {
            "get": _operation("Grace registrations and the flow month", {
                "200": _answer("registrations", _object({
                    "stage": {"type": "string"},
                    "flow_month": _object({"from": {"type": "string"},
                                           "to": {"type": "string"}}),
                    "registrations": {"type": "array", "items": _ref("Registration")},
                    "settings": {"type": "array", "items": {"type": "string"}}}))},
                tag="dmp"),
            "post": _operation("Register a software or a structure for the grace", {
                "201": _answer("registered", _object({"registered": {
                    "type": "array", "items": _ref("Registration")}})),
                "400": _error("BadRequest")},
                body=_json_body(_object({}, {
                    "software": {"type": "string"}, "structure": {"type": "string"},
                    "api": {"type": "string", "enum": list(GRACE_APIS)}}, closed=True),
                    "software (NAME-VERSION) or structure, and optionally api"),
                tag="dmp")},
        "/_admin/reports/readiness": {"get": _operation(
            "Migration readiness per software and structure", {
                "200": _answer("the report", _object({
                    "date": {"type": "string"}, "today": {"type": "string"},
                    "stage": {"type": "string"},
                    "rules": {"type": "array", "items": _ref("DatedRule")},
                    "regional_list": {"type": "object"},
                    "software": {"type": "array", "items": {"type": "object"}}})),
                "400": _error("BadRequest")},
            parameters=[_query("date", "YYYY-MM-DD (default: the simulated today)")],
            tag="reports")},
        "/_admin/reports/feeding": {"get": _operation(
            "Documents fed per structure and month, by INS kind", {
                "200": _answer("the report", _object({
                    "indicator": {"type": "string"},
                    "months": {"type": "array", "items": {"type": "object"}},
                    "structures": {"type": "array", "items": {"type": "object"}}}))},
            tag="reports")},
        "/_admin/stats/latency": {"get": _operation(
            "Latency per service and operation: p50/p95/p99 from the histogram", {
                "200": _answer("since start (survives reset, as the metrics do)", _object({
                    "operations": {"type": "array", "items": _object({
                        "service": {"type": "string"}, "operation": {"type": "string"},
                        "count": {"type": "integer"}, "mean_ms": _NULLABLE_NUMBER,
                        "p50_ms": _NULLABLE_NUMBER, "p95_ms": _NULLABLE_NUMBER,
                        "p99_ms": _NULLABLE_NUMBER})}}))},
            tag="reports")},
        "/_admin/stats/injections": {"get": _operation(
            "What scenario rules injected per simulated day", {
                "200": _answer("days ascending (survives reset, as the metrics do)", _object({
                    "days": {"type": "array", "items": _object({
                        "day": {"type": "string", "format": "date"},
                        "actions": {"type": "object", "additionalProperties": {
                            "type": "integer"}},
                        "injected": {"type": "integer"},
                        "delay_seconds": {"type": "number"}})}}))},
            tag="reports")},
        "/_admin/tenants": {
            "get": _operation("Every tenant (docs/tenants.md)", {
                "200": _answer("the tenants by name, the limit (SIM_MAX_TENANTS) and "
                               "whether a request creates its tenant on first use", _object({
                                   "tenants": {"type": "array", "items": _ref("Tenant")},
                                   "limit": {"type": "integer"},
                                   "auto_create": {"type": "boolean"}})),
                "404": _error("NotFound")}, tag="tenants"),
            "post": _operation("Create a tenant, served under /t/<name>/", {
                "201": _answer("created", _ref("Tenant")),
                "200": _answer("it already existed", _ref("Tenant")),
                "400": _error("BadRequest"),
                "404": _error("NotFound"),
                "409": _answer("SIM_MAX_TENANTS tenants exist already", _ref("Error"))},
                body=_json_body(_object({"name": _TENANT_NAME}, closed=True),
                                "the tenant's name"), tag="tenants")},
        "/_admin/tenants/{name}": {
            "parameters": [_path("name", "a tenant name")],
            "get": _operation("One tenant", {"200": _answer("the tenant", _ref("Tenant")),
                                             "400": _error("BadRequest"),
                                             "404": _error("NotFound")}, tag="tenants"),
            "delete": _operation("Delete a tenant and all it holds", {
                "200": _answer("deleted", _object({"deleted": {"type": "string"}})),
                "400": _error("BadRequest"), "404": _error("NotFound")}, tag="tenants")},
        "/_admin/openapi.json": {"get": _operation("This description", {
            "200": _answer("OpenAPI 3.1", {"type": "object"})}, tag="simulator")},
        "/_admin/": {"get": _operation("The HTML dashboard", {
            "200": {"description": "the page", "content": {"text/html": {
                "schema": {"type": "string"}}}}},
            parameters=[_query("date", "readiness date, YYYY-MM-DD")],
            tag="simulator")},
        "/metrics": {"get": _operation("Prometheus counters", {
            "200": {"description": "text exposition format", "content": {"text/plain": {
                "schema": {"type": "string"}}}}}, tag="simulator")},
    }


def openapi_document() -> dict:
    """The OpenAPI 3.1 document of the control plane."""
    paths = _paths()
    for path, item in paths.items():
        for method, operation in item.items():
            if method != "parameters":
                operation["operationId"] = f"{method}_{path.strip('/')}".replace(
                    "/", "_").replace("{", "").replace("}", "").replace(".", "_") \
                    .replace("_admin_", "").rstrip("_") or f"{method}_root"
    return {
        "openapi": "3.1.0",
        "info": {"title": "insi-dmp-simulator control plane", "version": __version__,
                 "description": "The simulator's /_admin API and /metrics. With "
                                "SIM_ADMIN_TOKEN set, every call but GET /_admin/health "
                                "needs 'Authorization: Bearer <token>'; without it, only "
                                "loopback clients are served. Every path but "
                                "/_admin/tenants also exists under /t/<tenant> (the "
                                "tenant's own simulator, docs/tenants.md)."},
        "servers": [{"url": "/"}],
        "security": [{}, {"adminToken": []}, {"adminTokenQuery": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "adminToken": {"type": "http", "scheme": "bearer",
                               "description": "SIM_ADMIN_TOKEN"},
                "adminTokenQuery": {"type": "apiKey", "in": "query", "name": "token",
                                    "description": "SIM_ADMIN_TOKEN, for a browser "
                                                   "opening the dashboard"}},
            "responses": {name: _answer(text, _ref("Error"))
                          for name, text in _ERRORS.items()},
            "schemas": {
                "Error": _object({"error": {"type": "string"}}),
                "Clock": _CLOCK, "Matricule": _MATRICULE, "Identity": _IDENTITY,
                "IdentityInput": _IDENTITY_INPUT,
                "JournalEntry": _object(_ENTRY_FIELDS, _BODIES),
                "JournalEntryWithBodies": _object({**_ENTRY_FIELDS, **_BODIES}),
                "Rule": _RULE, "Scenario": _SCENARIO, "DatedRule": _DATED_RULE,
                "Dmp": _DMP, "Professional": _PROFESSIONAL, "Registration": _REGISTRATION,
                "Tenant": _TENANT, "Replica": _REPLICA,
            }},
    }
