"""``--database-url`` read into pg8000's connect() arguments: libpq's ``sslmode``."""
from __future__ import annotations

import ssl

import pytest

pytest.importorskip("pg8000")

from simulator.store.pg_pool import DatabaseUrlError, connect_arguments  # noqa: E402

URL = "postgresql://sim:secret@db.example:5433/state"


def test_without_sslmode_pg8000_prefers_tls_as_libpq_does():
    arguments = connect_arguments(URL)
    assert "ssl_context" not in arguments  # pg8000's default: ask for TLS, else plain
    assert arguments == {"user": "sim", "password": "secret", "database": "state",
                         "host": "db.example", "port": 5433,
                         "application_name": "insi-dmp-sim"}
    assert "ssl_context" not in connect_arguments(URL + "?sslmode=prefer")


def test_sslmode_disable_asks_for_no_tls_on_tcp_and_unix_sockets():
    assert connect_arguments(URL + "?sslmode=disable")["ssl_context"] is False
    local = connect_arguments("postgresql://sim@/state?host=/run/postgresql&sslmode=disable")
    assert local["unix_sock"] == "/run/postgresql/.s.PGSQL.5432"
    assert local["ssl_context"] is False


@pytest.mark.parametrize("mode, verify, hostname", [
    ("require", ssl.CERT_NONE, False),  # encrypted, the certificate not checked (libpq)
    ("verify-ca", ssl.CERT_REQUIRED, False),
    ("verify-full", ssl.CERT_REQUIRED, True)])
def test_the_tls_modes_check_what_libpq_checks(mode, verify, hostname):
    context = connect_arguments(f"{URL}?sslmode={mode}")["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert (context.verify_mode, context.check_hostname) == (verify, hostname)


def test_an_unknown_sslmode_is_refused():
    with pytest.raises(DatabaseUrlError, match="sslmode='allow-all' is not one of"):
        connect_arguments(URL + "?sslmode=allow-all")
