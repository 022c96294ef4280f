"""The ``insi-dmp-sim`` command."""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from simulator import __version__
from simulator.settings import (
    Settings, SettingsError, field_types, flag_name, setting_help)


class Parser(argparse.ArgumentParser):
    """argparse, with its usage errors on one line (not the usage block)."""

    def error(self, message):
        """Print ``prog: message`` and exit 2."""
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per :class:`Settings` field (``--data-dir`` for ``data_dir``), built from
    the dataclass, so a new setting gets its flag with no change here. Values are text,
    converted like the ``SIM_*`` variables; yes/no settings take ``--x`` / ``--no-x``."""
    helps, types = setting_help(), field_types()
    group = parser.add_argument_group("settings (each also a SIM_* variable; the flag wins)")
    for field in dataclasses.fields(Settings):
        default = field.default
        shown = ",".join(default) if isinstance(default, tuple) else default
        where = f"SIM_{field.name.upper()}" + (
            f", default {shown}" if shown not in (None, "", ()) else "")
        text = f"{helps.get(field.name, '')} ({where})".replace("%", "%%")
        flag = "--" + flag_name(field.name)
        if types[field.name] is bool:
            group.add_argument(flag, dest=field.name, action=argparse.BooleanOptionalAction,
                               default=None, help=text)
        else:
            group.add_argument(flag, dest=field.name, default=None, metavar=field.name.upper(),
                               help=text)


def setting_overrides(args) -> dict:
    """The settings given as flags (None: not given)."""
    return {f.name: getattr(args, f.name, None) for f in dataclasses.fields(Settings)}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (options mirror the SIM_* variables)."""
    parser = Parser(prog="insi-dmp-sim", description="Simulator of the INSi and DMP services.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the simulator (all services, one port)")
    add_setting_flags(serve)
    health = commands.add_parser("health", help="exit 0 when the simulator these settings "
                                                "describe answers /_admin/health (for "
                                                "container health checks)")
    health.add_argument("--client-cert", help="client certificate (PEM with its key) when "
                                              "TLS requires one; default: the generated "
                                              "<data-dir>/pki/client-insi-auto.pem")
    add_setting_flags(health)
    certs = commands.add_parser("certs", help="write a test PKI: CA, server, INSI-AUTO, "
                                              "INSI-MANU, CPS-like client certificates and "
                                              "an ORG SIGN-like signing certificate")
    certs.add_argument("--out", default="insi-dmp-sim-pki",
                       help="directory to write (default ./insi-dmp-sim-pki; files replaced)")
    certs.add_argument("--structure", default="10B0152872",
                       help="structure id, the OU of the organisation certificates "
                            "(default 10B0152872)")
    certs.add_argument("--host", default="localhost",
                       help="server certificate CN, also in its SAN (default localhost)")
    scenarios = commands.add_parser("scenarios", help="list or check fault scenarios")
    actions = scenarios.add_subparsers(dest="scenario_command", required=True)
    actions.add_parser("list", help="the scenarios shipped with the simulator")
    check = actions.add_parser("check", help="validate a scenario file (or shipped name)")
    check.add_argument("file", help="path to a scenario YAML file, or a shipped name")
    return parser


def scenarios_command(args) -> int:
    """``scenarios list`` and ``scenarios check FILE``."""
    from simulator.chaos.loader import ScenarioError, load_scenario, shipped_scenarios
    if args.scenario_command == "list":
        for name in shipped_scenarios():
            scenario = load_scenario(name)
            summary = scenario.description.splitlines()[0] if scenario.description else ""
            print(f"{name:24} {len(scenario.rules)} rule(s)  {summary}")
        return 0
    try:
        scenario = load_scenario(args.file)
    except ScenarioError as exc:
        print(f"invalid: {exc}", file=sys.stderr)
        return 1
    print(f"ok: {scenario.name}, seed {scenario.seed}, {len(scenario.rules)} rule(s)")
    for rule in scenario.rules:
        effects = [f"latency {rule.latency.describe()}"] if rule.latency else []
        if rule.action.kind:
            effects.append(rule.action.describe())
        extra = f", probability {rule.probability:g}" if rule.probability < 1 else ""
        extra += f", at most {rule.times} time(s)" if rule.times else ""
        print(f"  {rule.index}. {rule.name}: {'; '.join(effects)}{extra}")
    return 0


def certs_command(args) -> int:
    """``certs``: write the test PKI and say what each file is."""
    from simulator.pki import describe, generate_pki
    try:
        pki = generate_pki(Path(args.out).resolve(), structure=args.structure, host=args.host)
    except OSError as exc:
        return fail(f"cannot write the PKI: {exc.strerror}: {exc.filename}")
    print(describe(pki, args.structure, args.host))
    return 0


def fail(message) -> int:
    """One line on stderr; the exit status of a command refused for bad input."""
    print(f"insi-dmp-sim: {message}", file=sys.stderr)
    return 2


def check_port(host: str, port: int) -> None:
    """Fail at once when the port is taken (gunicorn would retry for seconds)."""
    if port == 0:
        return
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise SettingsError(f"SIM_HOST (--host): cannot resolve {host!r} ({exc.strerror})") \
            from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            raise SettingsError(f"cannot listen on {host}:{port} (SIM_HOST, SIM_PORT): "
                                f"{exc.strerror}") from None


def check_database(settings: Settings) -> None:
    """Fail at once, in one line, when the PostgreSQL database cannot be reached (the
    app is built in gunicorn's master, whose errors would be a traceback)."""
    if settings.database_url:
        from simulator.store.backends import unreachable
        problem = unreachable(settings.database_url)
        if problem:
            raise SettingsError(f"SIM_DATABASE_URL (--database-url): {problem}")


def serve_command(args) -> int:
    """``serve``: check every setting and file, then run until SIGINT or SIGTERM. A data
    directory created here is removed at exit."""
    from simulator.chaos.loader import ScenarioError, load_scenario
    from simulator.identities.loader import IdentityFileError
    from simulator.logs import configure_logging
    from simulator.server import resolve_tls, serve
    try:
        settings = Settings.from_env(**setting_overrides(args))
    except SettingsError as exc:
        return fail(exc)
    configure_logging(settings)
    created, owner = None, os.getpid()
    try:
        if settings.data_dir is None:
            created = Path(tempfile.mkdtemp(prefix="insi-dmp-sim-"))
            settings = settings.with_changes(data_dir=created)
        settings = resolve_tls(settings)
        check_database(settings)
        if settings.scenario:
            load_scenario(settings.scenario)
        check_port(settings.host, settings.port)
        serve(settings)
    except (SettingsError, ScenarioError, IdentityFileError) as exc:
        return fail(exc)
    except OSError as exc:
        return fail(f"{exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}")
    except KeyboardInterrupt:
        return 130
    except SystemExit as leaving:
        if os.getpid() != owner:
            # A gunicorn worker (a fork of this process) leaving: end it here. The
            # interpreter's teardown would collect logging handlers after gevent's
            # patched locks are gone, printing "Exception ignored" tracebacks.
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(leaving.code if isinstance(leaving.code, int) else 1)
        raise
    finally:
        # gunicorn's workers are forks of this process and leave through here too.
        if created is not None and os.getpid() == owner:
            shutil.rmtree(created, ignore_errors=True)
    return 0


def health_command(args) -> int:
    """``health``: exit 0 when the simulator the settings describe is healthy."""
    from simulator import healthcheck
    try:
        settings = Settings.from_env(**setting_overrides(args))
    except SettingsError as exc:
        return fail(exc)
    return healthcheck.main(settings, args.client_cert)


def main(argv=None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    if args.command == "scenarios":
        return scenarios_command(args)
    if args.command == "certs":
        return certs_command(args)
    if args.command == "health":
        return health_command(args)
    return serve_command(args)


if __name__ == "__main__":
    sys.exit(main())
