"""TLS settings: SIM_TLS_* variables, their checks, and gunicorn's SSL options."""
from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from simulator.server import resolve_tls, tls_options
from simulator.settings import Settings, SettingsError


def test_tls_variables():
    settings = Settings.from_env({"SIM_TLS": "true", "SIM_TLS_CERT": "/c.pem",
                                  "SIM_TLS_KEY": "/k.pem", "SIM_TLS_CLIENT_CA": "/ca.pem",
                                  "SIM_TLS_REQUIRE_CLIENT_CERT": "yes"})
    assert (settings.tls, settings.tls_cert, settings.tls_key, settings.tls_client_ca,
            settings.tls_require_client_cert) == (True, Path("/c.pem"), Path("/k.pem"),
                                                  Path("/ca.pem"), True)
    assert tls_options(settings) == {"certfile": "/c.pem", "keyfile": "/k.pem",
                                     "ca_certs": "/ca.pem", "cert_reqs": ssl.CERT_REQUIRED}


def test_client_certificate_is_optional_with_a_ca_and_not_asked_without():
    optional = Settings(tls=True, tls_cert=Path("/c.pem"), tls_client_ca=Path("/ca.pem"))
    assert tls_options(optional)["cert_reqs"] == ssl.CERT_OPTIONAL
    none = Settings(tls=True, tls_cert=Path("/c.pem"))
    assert tls_options(none) == {"certfile": "/c.pem", "cert_reqs": ssl.CERT_NONE}
    assert tls_options(Settings()) == {}


@pytest.mark.parametrize("fields, message", [
    ({"tls_cert": Path("/c.pem")}, "only used with TLS on"),
    ({"tls_require_client_cert": True}, "only used with TLS on"),
    ({"tls": True, "tls_key": Path("/k.pem")}, "SIM_TLS_KEY needs SIM_TLS_CERT"),
    ({"tls": True, "tls_cert": Path("/c.pem"), "tls_require_client_cert": True},
     "needs SIM_TLS_CLIENT_CA"),
])
def test_inconsistent_tls_settings_are_refused(fields, message):
    with pytest.raises(SettingsError, match=message):
        Settings(**fields)


def test_resolve_tls_generates_the_pki_in_the_data_dir(tmp_path):
    settings = resolve_tls(Settings(tls=True, tls_require_client_cert=True,
                                    data_dir=tmp_path / "data"))
    pki = tmp_path / "data" / "pki"
    assert settings.tls_cert == pki / "server-cert.pem"
    assert settings.tls_key == pki / "server-key.pem"
    assert settings.tls_client_ca == pki / "test-ca-cert.pem"
    assert resolve_tls(settings) == settings  # idempotent, files checked
    other_ca = tmp_path / "other-ca.pem"
    other_ca.write_bytes(settings.tls_client_ca.read_bytes())
    kept = resolve_tls(Settings(tls=True, data_dir=tmp_path / "data", tls_client_ca=other_ca))
    assert kept.tls_client_ca == other_ca


def test_resolve_tls_names_a_missing_file(tmp_path):
    with pytest.raises(SettingsError, match="SIM_TLS_KEY: no such file"):
        resolve_tls(Settings(tls=True, tls_cert=Path(__file__), tls_key=tmp_path / "k.pem"))
    assert resolve_tls(Settings()) == Settings()
