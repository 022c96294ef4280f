"""Every setting has a flag, built from the Settings dataclass, and the flag sets it."""
from __future__ import annotations

import dataclasses
from datetime import date, datetime
from pathlib import Path

import pytest

from simulator.cli import build_parser, setting_overrides
from simulator.settings import Settings, SettingsError, flag_name, setting_help


def sample_text(field: dataclasses.Field) -> tuple[list[str], object]:
    """Flag arguments that set ``field`` to a value other than its default, and that value."""
    default = field.default
    flag = "--" + flag_name(field.name)
    if isinstance(default, bool):
        return [flag if not default else "--no-" + flag_name(field.name)], not default
    if isinstance(default, (int, float)):
        return [flag, str(default + 1)], default + 1
    if isinstance(default, tuple):  # a list setting: its default in another order, or two IDAMs
        value = tuple(reversed(default)) or ("AAA111BBB222", "CCC333DDD444")
        return [flag, ",".join(value)], value
    if isinstance(default, date) and not isinstance(default, datetime):
        return [flag, "2030-01-02"], date(2030, 1, 2)
    if field.name == "date":
        return [flag, "2023-01-15T10:00:00Z"], datetime.fromisoformat("2023-01-15T10:00:00+00:00")
    if "Path" in str(field.type):
        return [flag, "/some/where"], Path("/some/where")
    return None, None  # text settings with a set of values: checked below


def test_every_setting_has_a_flag_that_sets_it():
    parser = build_parser()
    choices = {"insi_response_format": "current", "insi_fault_format": "legacy",
               "log_level": "debug", "log_format": "json", "host": "0.0.0.0",
               "scenario": "insi-down", "admin_token": "secret", "dmp_platform": "production",
               "database_url": "postgresql://sim@db.example:5432/sim"}
    for field in dataclasses.fields(Settings):
        argv, expected = sample_text(field)
        if argv is None:  # a text setting: a known other value, else its default
            expected = choices.get(field.name, field.default or "some-text")
            argv = ["--" + flag_name(field.name), expected]
        args = parser.parse_args(["serve", *argv])
        overrides = {k: v for k, v in setting_overrides(args).items() if v is not None}
        assert set(overrides) == {field.name}, argv
        if field.name.startswith("tls_") or field.name in ("dmp_v1_close_switch",
                                                           "dmp_trusted_cas"):
            continue  # only valid with other settings (TLS on; switch order): parsed above
        settings = Settings.from_env({}, **overrides)
        assert getattr(settings, field.name) == expected, field.name


def test_an_unusable_database_url_is_refused_in_one_line(capsys):
    """A foreign scheme, and a PostgreSQL server that is not there (nothing listens on
    port 1), stop serve before it starts, in one line naming the setting (exit 2)."""
    from simulator.cli import main
    for url, expected in (("mysql://sim@127.0.0.1/sim", "unsupported scheme 'mysql'"),
                          ("postgresql://sim@127.0.0.1:1/sim?sslmode=always",
                           "sslmode='always' is not one of disable, prefer, require"),
                          ("postgresql://sim@127.0.0.1:1/sim", "cannot connect to 127.0.0.1")):
        assert main(["serve", "--port", "0", "--database-url", url]) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "--database-url" in error and expected in error


def test_every_setting_documents_its_flag():
    helps = setting_help()
    assert set(helps) == {f.name for f in dataclasses.fields(Settings)}
    serve_help = build_parser()._subparsers._group_actions[0].choices["serve"].format_help()
    for field in dataclasses.fields(Settings):
        assert "--" + flag_name(field.name) in serve_help
        assert "SIM_" + field.name.upper() in serve_help


def test_flags_win_over_variables_and_say_which_flag_is_wrong():
    args = build_parser().parse_args(["serve", "--port", "9100", "--no-frozen"])
    settings = Settings.from_env({"SIM_PORT": "9000", "SIM_FROZEN": "true"},
                                 **setting_overrides(args))
    assert (settings.port, settings.frozen) == (9100, False)
    args = build_parser().parse_args(["serve", "--population", "many"])
    with pytest.raises(SettingsError, match=r"--population.*'many'"):
        Settings.from_env({}, **setting_overrides(args))


@pytest.mark.parametrize("port", ["-1", "65536"])
def test_port_out_of_range(port):
    with pytest.raises(SettingsError, match="SIM_PORT"):
        Settings.from_env({"SIM_PORT": port})
