"""One typed Settings object: every option, its default and its ``SIM_*`` variable.

The command line and the environment fill the same fields; the command line wins.
Tests build ``Settings(...)`` directly and pass it to ``create_app``.
"""
from __future__ import annotations

import dataclasses
import inspect
import os
import re
import typing
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from simulator.services.dmp.access import CONSULTATION, TRANSACTIONS
from simulator.services.dmp.xds.wire_profile import WireProfileError, parse_prefixes

INSI_RESPONSE_FORMATS = ("auto", "legacy-2022", "current")
INSI_FAULT_FORMATS = ("auto", "legacy", "current")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
LOG_FORMATS = ("text", "json")
# The DMP platform simulated: the INS-NIR OID it takes (brief §3.2: .10 test, .8 production).
DMP_PLATFORMS = ("test", "production")
# Transactions refused to Authentification_Mode INDIRECTE: consultation (brief §4.1).
DEFAULT_DMP_INDIRECT_DENIED = CONSULTATION
# How strictly TD2.1 coded metadata and CDA content are checked (docs/dmp.md, "Coded
# metadata and CDA checks").
DMP_CODED_METADATA_MODES = ("strict", "codes", "off")
DMP_CDA_CHECK_MODES = ("strict", "patient")
# A replica's name: a label value in /metrics and a journal column, so kept plain.
REPLICA_ID = re.compile(r"[A-Za-z0-9._:-]{1,100}")


# Module constants: inside the class body the field ``date`` shadows the type.
DEFAULT_RESPONSE_FORMAT_SWITCH = date(2022, 10, 25)
DEFAULT_FAULT_FORMAT_SWITCH = date(2024, 7, 1)
# Regional Q&A of 2022-12-08: API v1 closes on 2022-12-31; flows active in December 2022
# may continue until 2023-04-28. The switches are the first days of the next period.
DEFAULT_DMP_V1_CLOSE = date(2023, 1, 1)
DEFAULT_DMP_GRACE_END = date(2023, 4, 29)
# Issue 12: the official DMP WSDL package 2.01.04 of 2024-06-11 no longer has TD1.5a-d
# (patientsSpecific keeps patientList only). First day they are refused.
DEFAULT_DMP_TD15_REMOVAL = date(2024, 6, 11)


class SettingsError(ValueError):
    """A setting has a value the simulator cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Simulator configuration. Field comments give the environment variable."""

    host: str = "127.0.0.1"  # SIM_HOST: interface to bind (0.0.0.0 in a container)
    port: int = 8080  # SIM_PORT: port of every service and /_admin (0: any free port)
    data_dir: Path | None = None  # SIM_DATA_DIR: state directory; none = a temporary one, removed at exit
    # SIM_DATABASE_URL: postgresql://user:password@host:port/database to keep the state
    # in PostgreSQL instead of SQLite (docs/storage.md; refused while incomplete)
    database_url: str | None = None
    # SIM_STATE_CACHE_SECONDS: how long a worker trusts its cached clock and scenario
    # when no worker of this server changed them (on PostgreSQL a change by another
    # replica is seen within this bound; on SQLite every process of the machine sees a
    # change at once, simulator/store/state_token.py)
    state_cache_seconds: float = 1.0
    database_pool: int = 8  # SIM_DATABASE_POOL: PostgreSQL connections per worker
    # SIM_REPLICA_ID: this server's name among the replicas sharing a database, in the
    # journal, /metrics and /_admin/replicas (docs/storage.md); none = <hostname>:<port>
    replica_id: str | None = None
    # SIM_REPLICA_HEARTBEAT_SECONDS: how often each worker records that this replica is
    # alive (/_admin/replicas); a replica silent for three periods is shown as stale
    replica_heartbeat_seconds: float = 5.0
    seed: int = 1  # SIM_SEED: generated population and, later, scenarios
    scenario: str | None = None  # SIM_SCENARIO: fault scenario, a shipped name or a YAML path
    date: datetime | None = None  # SIM_DATE: simulated "now" at start (ISO-8601)
    frozen: bool = False  # SIM_FROZEN: keep the simulated clock still
    workers: int = 2  # SIM_WORKERS: server worker processes
    population: int = 2000  # SIM_POPULATION: generated identities besides the CNDA ones
    identities_file: Path | None = None  # SIM_IDENTITIES_FILE: vendor persons (CSV/YAML)
    insi_idams: tuple[str, ...] = ()  # SIM_INSI_IDAMS: authorised IDAMs; empty = any well-formed
    insi_response_format: str = "auto"  # SIM_INSI_RESPONSE_FORMAT: auto, legacy-2022 or current
    insi_fault_format: str = "auto"  # SIM_INSI_FAULT_FORMAT: auto, legacy or current
    insi_response_format_switch: date = DEFAULT_RESPONSE_FORMAT_SWITCH  # SIM_INSI_RESPONSE_FORMAT_SWITCH
    insi_fault_format_switch: date = DEFAULT_FAULT_FORMAT_SWITCH  # SIM_INSI_FAULT_FORMAT_SWITCH
    insi_qualif_quirks: bool = False  # SIM_INSI_QUALIF_QUIRKS: insi_102 where qualif gave it
    dmp_v1_close_switch: date = DEFAULT_DMP_V1_CLOSE  # SIM_DMP_V1_CLOSE_SWITCH: grace from
    dmp_grace_end_switch: date = DEFAULT_DMP_GRACE_END  # SIM_DMP_GRACE_END_SWITCH: closed from
    dmp_grace_software: tuple[str, ...] = ()  # SIM_DMP_GRACE_SOFTWARE: NAME-VERSION,...
    dmp_td15_removal_switch: date = DEFAULT_DMP_TD15_REMOVAL  # SIM_DMP_TD15_REMOVAL_SWITCH
    dmp_pdq_max_results: int = 50  # SIM_DMP_PDQ_MAX_RESULTS: TD0.5 candidates before "too many"
    # SIM_DMP_PATIENT_ACCESS_NEEDS_AUTHORISATION: TD1.5 needs a valid authorisation
    dmp_patient_access_needs_authorisation: bool = True
    dmp_vihf_max_skew: int = 600  # SIM_DMP_VIHF_MAX_SKEW: seconds between VIHF IssueInstant and now
    # SIM_DMP_RELAXED_SECURITY: no signature required nor verified (VIHF, lot SignedInfo)
    dmp_relaxed_security: bool = False
    # SIM_DMP_TRUSTED_CAS: PEM files (comma-separated) of the CAs the signing certificates
    # must chain to; empty = the chain is not judged (signatures still verified)
    dmp_trusted_cas: tuple[Path, ...] = ()
    dmp_max_results: int = 500  # SIM_DMP_MAX_RESULTS: LeafClass objects per stored query
    dmp_xds_prefixes: str = "jaxb"  # SIM_DMP_XDS_PREFIXES: XDS answer prefixes (docs/dmp.md)
    dmp_platform: str = "test"  # SIM_DMP_PLATFORM: test (INS-NIR OID .10) | production (.8)
    dmp_ins_oid_check: bool = True  # SIM_DMP_INS_OID_CHECK: the INS OID matches the identity
    dmp_indirect_denied: tuple[str, ...] = DEFAULT_DMP_INDIRECT_DENIED  # SIM_DMP_INDIRECT_DENIED: TD labels, or none
    dmp_value_sets_dir: Path | None = None  # SIM_DMP_VALUE_SETS_DIR: newer JDV/ASS files
    dmp_coded_metadata: str = "strict"  # SIM_DMP_CODED_METADATA: strict, codes or off
    dmp_cda_checks: str = "strict"  # SIM_DMP_CDA_CHECKS: strict or patient
    admin_token: str | None = None  # SIM_ADMIN_TOKEN: required by /_admin and /metrics
    # SIM_MAX_TENANTS: tenants (/t/<tenant>/, docs/tenants.md) that may exist at once;
    # 0 = none, only the bare paths
    max_tenants: int = 32
    # SIM_TENANT_AUTO_CREATE: a request to /t/<tenant>/... creates the tenant when absent
    tenant_auto_create: bool = True
    journal_pseudonymise: bool = False  # SIM_JOURNAL_PSEUDONYMISE: no identity data in bodies
    journal_size: int = 1000  # SIM_JOURNAL_SIZE: entries kept
    journal_body_bytes: int = 16384  # SIM_JOURNAL_BODY_BYTES: bytes of each body kept
    # SIM_JOURNAL_READ_TIMEOUT: seconds a journal read waits for the other workers'
    # queued entries before answering 503 rather than an incomplete list
    journal_read_timeout: float = 10.0
    max_request_bytes: int = 10 * 1024 * 1024  # SIM_MAX_REQUEST_BYTES: larger ones get HTTP 413
    # Server limits against stalling and bloating (issue 14; README "Reliability"):
    admin_max_request_bytes: int = 1024 * 1024  # SIM_ADMIN_MAX_REQUEST_BYTES: /_admin bodies
    admin_hosts: tuple[str, ...] = ()  # SIM_ADMIN_HOSTS: Host names /_admin accepts besides
    # loopback names and SIM_HOST when no token is set (DNS rebinding guard)
    read_timeout: float = 30.0  # SIM_READ_TIMEOUT: seconds to receive a request's body
    header_timeout: float = 75.0  # SIM_HEADER_TIMEOUT: idle keep-alive and header reading
    max_connections: int = 1000  # SIM_MAX_CONNECTIONS: open connections per worker
    graceful_timeout: float = 5.0  # SIM_GRACEFUL_TIMEOUT: drain deadline after SIGTERM
    memory_trim_bytes: int = 1024 * 1024  # SIM_MEMORY_TRIM_BYTES: malloc_trim after a body
    # this large (0: never)
    log_level: str = "info"  # SIM_LOG_LEVEL: debug, info, warning, error or critical
    log_format: str = "text"  # SIM_LOG_FORMAT: text, or json (one JSON object per line)
    access_log: bool = False  # SIM_ACCESS_LOG: log every request (with its X-Request-Id)
    tls: bool = False  # SIM_TLS: serve https (generates <data-dir>/pki without a certificate)
    tls_cert: Path | None = None  # SIM_TLS_CERT: server certificate (PEM, may hold the key)
    tls_key: Path | None = None  # SIM_TLS_KEY: server private key (PEM)
    tls_client_ca: Path | None = None  # SIM_TLS_CLIENT_CA: CA(s) verifying client certificates
    tls_require_client_cert: bool = False  # SIM_TLS_REQUIRE_CLIENT_CERT: refuse TLS clients without one

    def __post_init__(self) -> None:
        if self.insi_response_format not in INSI_RESPONSE_FORMATS:
            raise SettingsError(
                f"insi_response_format must be one of {', '.join(INSI_RESPONSE_FORMATS)}, "
                f"got {self.insi_response_format!r}")
        if self.insi_fault_format not in INSI_FAULT_FORMATS:
            raise SettingsError(
                f"insi_fault_format must be one of {', '.join(INSI_FAULT_FORMATS)}, "
                f"got {self.insi_fault_format!r}")
        if self.dmp_platform not in DMP_PLATFORMS:
            raise SettingsError(f"dmp_platform must be one of {', '.join(DMP_PLATFORMS)}, "
                                f"got {self.dmp_platform!r}")
        unknown = [label for label in self.dmp_indirect_denied if label not in TRANSACTIONS]
        if unknown:
            raise SettingsError(f"SIM_DMP_INDIRECT_DENIED: unknown transaction(s) "
                                f"{', '.join(unknown)}; known: {', '.join(TRANSACTIONS)}")
        for name, modes in (("dmp_coded_metadata", DMP_CODED_METADATA_MODES),
                            ("dmp_cda_checks", DMP_CDA_CHECK_MODES)):
            if getattr(self, name) not in modes:
                raise SettingsError(f"SIM_{name.upper()} must be one of {', '.join(modes)}, "
                                    f"got {getattr(self, name)!r}")
        if not self.tls:
            given = [n for n in ("tls_cert", "tls_key", "tls_client_ca",
                                 "tls_require_client_cert") if getattr(self, n)]
            if given:
                raise SettingsError(f"{', '.join('SIM_' + n.upper() for n in given)}: only "
                                    "used with TLS on (--tls, SIM_TLS=true)")
        if self.dmp_grace_end_switch < self.dmp_v1_close_switch:
            raise SettingsError("SIM_DMP_GRACE_END_SWITCH must not be before "
                                "SIM_DMP_V1_CLOSE_SWITCH")
        if self.tls_key is not None and self.tls_cert is None:
            raise SettingsError("SIM_TLS_KEY needs SIM_TLS_CERT (the server certificate)")
        if self.tls_require_client_cert and self.tls_cert is not None \
                and self.tls_client_ca is None:
            raise SettingsError("SIM_TLS_REQUIRE_CLIENT_CERT needs SIM_TLS_CLIENT_CA, the CA "
                                "that verifies the client certificates")
        missing = [str(p) for p in self.dmp_trusted_cas if not Path(p).is_file()]
        if missing:
            raise SettingsError(f"SIM_DMP_TRUSTED_CAS: no such file: {', '.join(missing)}")
        try:
            parse_prefixes(self.dmp_xds_prefixes)
        except WireProfileError as exc:
            raise SettingsError(str(exc)) from exc
        for name in ("read_timeout", "header_timeout", "graceful_timeout"):
            if getattr(self, name) <= 0:
                raise SettingsError(f"SIM_{name.upper()} must be a positive number of "
                                    f"seconds, got {getattr(self, name)}")
        for name in ("port", "workers", "journal_size", "max_request_bytes",
                     "dmp_pdq_max_results", "admin_max_request_bytes", "max_connections",
                     "database_pool"):
            if getattr(self, name) < (0 if name == "port" else 1):
                raise SettingsError(f"SIM_{name.upper()} (--{flag_name(name)}) must be "
                                    f"positive, got {getattr(self, name)}")
        if self.replica_heartbeat_seconds <= 0:
            raise SettingsError("SIM_REPLICA_HEARTBEAT_SECONDS (--replica-heartbeat-seconds)"
                                f" must be positive, got {self.replica_heartbeat_seconds}")
        if self.replica_id is not None and not REPLICA_ID.fullmatch(self.replica_id):
            raise SettingsError("SIM_REPLICA_ID (--replica-id) must be 1 to 100 letters, "
                                f"digits or . _ : - characters, got {self.replica_id[:120]!r}")
        if self.state_cache_seconds < 0:
            raise SettingsError("SIM_STATE_CACHE_SECONDS (--state-cache-seconds) must be 0 "
                                f"or more, got {self.state_cache_seconds}")
        if self.database_url:
            from simulator.store.backends import database_url_problem
            problem = database_url_problem(self.database_url)
            if problem:
                raise SettingsError(f"SIM_DATABASE_URL (--database-url): {problem}")
        if self.max_tenants < 0:
            raise SettingsError(f"SIM_MAX_TENANTS (--max-tenants) must be 0 or more, got "
                                f"{self.max_tenants}")
        if self.port > 65535:
            raise SettingsError(f"SIM_PORT (--port) must be 0 to 65535, got {self.port}")
        if self.log_level.lower() not in LOG_LEVELS:
            raise SettingsError(f"SIM_LOG_LEVEL (--log-level) must be one of "
                                f"{', '.join(LOG_LEVELS)}, got {self.log_level!r}")
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"SIM_LOG_FORMAT (--log-format) must be one of "
                                f"{', '.join(LOG_FORMATS)}, got {self.log_format!r}")

    @classmethod
    def from_env(cls, environ=None, **overrides) -> "Settings":
        """Build settings from ``SIM_*`` variables, then apply non-None ``overrides``."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            raw = environ.get("SIM_" + f.name.upper())
            if raw not in (None, ""):
                values[f.name] = _convert(f.name, raw)
        values.update({k: _convert(k, v) if isinstance(v, str) else v
                       for k, v in overrides.items() if v is not None})
        return cls(**values)

    def with_changes(self, **changes) -> "Settings":
        """A copy with some fields replaced."""
        return dataclasses.replace(self, **changes)


def parse_datetime(text: str) -> datetime:
    """Parse an ISO-8601 date or date-time; a bare date means midnight UTC, naive = UTC."""
    from datetime import timezone
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise SettingsError(f"expected an ISO-8601 date or date-time, got {text!r}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def field_types() -> dict[str, type]:
    """Field name -> the type its text converts to (``X | None`` -> ``X``)."""
    hints = typing.get_type_hints(Settings)
    types = {}
    for name, hint in hints.items():
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if typing.get_origin(hint) is tuple:
            types[name] = tuple
        else:
            types[name] = args[0] if args and typing.get_origin(hint) is not None else hint
    return types


TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def _convert(name: str, raw: str):
    """The value of field ``name`` written as ``raw`` (a variable's or a flag's text);
    the conversion follows the field's type, so a new field needs no code here."""
    kind = field_types()[name]
    try:
        if kind is bool:
            if raw.lower() not in TRUE_WORDS + FALSE_WORDS:
                raise ValueError(raw)
            return raw.lower() in TRUE_WORDS
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is Path:
            return Path(raw)
        if kind is datetime:
            return parse_datetime(raw)
        if kind is date:
            return date.fromisoformat(raw)
        if name == "dmp_trusted_cas":
            return tuple(Path(part.strip()) for part in raw.split(",") if part.strip())
        if name == "dmp_indirect_denied" and raw.strip().lower() == "none":
            return ()
        if kind is tuple:
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except SettingsError:
        raise
    except ValueError as exc:
        raise SettingsError(f"SIM_{name.upper()} (--{flag_name(name)}): cannot use {raw!r} "
                            f"as {kind.__name__}") from exc
    return raw


def flag_name(field_name: str) -> str:
    """The command-line flag of a setting, without its dashes: ``data_dir`` -> ``data-dir``."""
    return field_name.replace("_", "-")


def setting_help() -> dict[str, str]:
    """Field name -> its help text: the ``# SIM_X: help`` comment after the field in
    :class:`Settings`, or the comment lines just above it (read from this module's
    source, so a field documents its flag where it is declared)."""
    try:
        lines = inspect.getsource(Settings).splitlines()
    except (OSError, TypeError):  # no source shipped: flags keep the variable name only
        return {}
    helps, above = {}, []
    for line in lines:
        comment = _COMMENT_LINE.match(line)
        if comment:
            above.append(comment["text"])
            continue
        field = _FIELD_LINE.match(line)
        if field:
            text = field["comment"] or " ".join(above)
            helps[field["name"]] = _VARIABLE.sub("", text, count=1).strip(" :;")
        above = []
    return helps


_FIELD_LINE = re.compile(r"^    (?P<name>[a-z_0-9]+): [^#]*?(?:#\s*(?P<comment>.*))?$")
_COMMENT_LINE = re.compile(r"^    #\s?(?P<text>.*)$")
_VARIABLE = re.compile(r"^\s*SIM_[A-Z_0-9]+")
