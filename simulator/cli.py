"""The ``insi-dmp-sim`` command."""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from simulator import __version__
from simulator.settings import Settings, SettingsError


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (options mirror the SIM_* variables)."""
    parser = argparse.ArgumentParser(prog="insi-dmp-sim",
                                     description="Simulator of the INSi and DMP services.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the simulator (all services, one port)")
    serve.add_argument("--host", help="interface to bind (SIM_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (SIM_PORT, default 8080)")
    serve.add_argument("--data-dir", help="state directory (SIM_DATA_DIR, default: temporary)")
    serve.add_argument("--seed", type=int, help="seed of the generated data (SIM_SEED)")
    serve.add_argument("--scenario", help="fault scenario name or path (SIM_SCENARIO)")
    serve.add_argument("--date", help="simulated date-time at start, ISO-8601 (SIM_DATE)")
    serve.add_argument("--workers", type=int, help="worker processes (SIM_WORKERS, default 2)")
    serve.add_argument("--identities-file", help="extra persons, CSV or YAML "
                                                 "(SIM_IDENTITIES_FILE)")
    serve.add_argument("--tls", action="store_const", const=True,
                       help="serve https (SIM_TLS); without --tls-cert, a test PKI is "
                            "generated in <data-dir>/pki")
    serve.add_argument("--tls-cert", help="server certificate, PEM (SIM_TLS_CERT)")
    serve.add_argument("--tls-key", help="server private key, PEM (SIM_TLS_KEY)")
    serve.add_argument("--tls-client-ca", help="CA certificate(s) verifying client "
                                               "certificates, PEM (SIM_TLS_CLIENT_CA)")
    serve.add_argument("--tls-require-client-cert", action="store_const", const=True,
                       help="refuse TLS clients without a valid certificate "
                            "(SIM_TLS_REQUIRE_CLIENT_CERT)")
    serve.add_argument("--dmp-trusted-cas", help="PEM files (comma-separated) of the CAs "
                                                 "that signing certificates of VIHFs and lot "
                                                 "signatures must chain to "
                                                 "(SIM_DMP_TRUSTED_CAS; default: chain not "
                                                 "judged)")
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
    pki = generate_pki(Path(args.out).resolve(), structure=args.structure, host=args.host)
    print(describe(pki, args.structure, args.host))
    return 0


def main(argv=None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "scenarios":
        return scenarios_command(args)
    if args.command == "certs":
        return certs_command(args)
    if args.command == "serve":
        try:
            settings = Settings.from_env(
                host=args.host, port=args.port, data_dir=args.data_dir, seed=args.seed,
                scenario=args.scenario, date=args.date, workers=args.workers,
                identities_file=args.identities_file, tls=args.tls, tls_cert=args.tls_cert,
                tls_key=args.tls_key, tls_client_ca=args.tls_client_ca,
                tls_require_client_cert=args.tls_require_client_cert,
                dmp_trusted_cas=args.dmp_trusted_cas)
            from simulator.server import resolve_tls
            settings = resolve_tls(settings)
        except SettingsError as exc:
            print(f"insi-dmp-sim: {exc}", file=sys.stderr)
            return 2
        from simulator.chaos.loader import ScenarioError, load_scenario
        if settings.scenario:
            try:
                load_scenario(settings.scenario)
            except ScenarioError as exc:
                print(f"insi-dmp-sim: {exc}", file=sys.stderr)
                return 2
        from simulator.server import serve
        serve(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
