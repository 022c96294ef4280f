"""deploy/compose/ (N replicas on PostgreSQL behind nginx, Locust in distributed mode)
agrees with the simulator and loadtests/: no container runs here (no registry is
reachable to pull postgres, nginx or python images), so this checks what can be checked
without one: every SIM_* variable is a setting and the simulator accepts its value, the
replicas share one database with the db service's credentials and have distinct ids,
nginx balances over exactly the replicas on their port, and the Locust master and
worker command lines parse with Locust's own parser, name loadtests/locustfile.py, point
at the load balancer and agree on the master and the number of workers."""
from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import yaml

from simulator.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_DIR = ROOT / "deploy" / "compose"
DEFAULTED = re.compile(r"\$\{(\w+):-([^}]*)\}")  # ${VAR:-default}, as compose reads it


@pytest.fixture(scope="module")
def compose() -> dict:
    text = DEFAULTED.sub(lambda m: m[2], (COMPOSE_DIR / "docker-compose.yml").read_text())
    return yaml.safe_load(text)


@pytest.fixture(scope="module")
def replicas(compose) -> dict[str, dict]:
    """The simulator services: name -> environment."""
    return {name: {k: str(v) for k, v in service["environment"].items()}
            for name, service in compose["services"].items() if name.startswith("sim-")}


def listen_port(environment: dict) -> int:
    """SIM_PORT, else the image's (the Dockerfile's ENV SIM_PORT)."""
    image_port = re.search(r"SIM_PORT=(\d+)", (ROOT / "Dockerfile").read_text())[1]
    return int(environment.get("SIM_PORT", image_port))


def test_services(compose, replicas):
    assert set(compose["services"]) == {"db", "lb", "locust-master", "locust-worker",
                                        *replicas}
    assert len(replicas) >= 2


def test_every_replica_setting_exists_and_is_accepted(replicas):
    fields = {"SIM_" + name.upper() for name in Settings.__dataclass_fields__}
    for name, environment in replicas.items():
        assert set(environment) <= fields, name
        settings = Settings.from_env(environment)  # the simulator's own checks
        assert settings.database_url and settings.replica_id == name


def test_the_replicas_share_the_db_service_database_and_have_distinct_ids(compose, replicas):
    db = compose["services"]["db"]["environment"]
    for environment in replicas.values():
        url = urlsplit(environment["SIM_DATABASE_URL"])
        assert (url.hostname, url.port, url.username, url.password, url.path) == \
            ("db", 5432, db["POSTGRES_USER"], db["POSTGRES_PASSWORD"], "/" + db["POSTGRES_DB"])
    assert len({e["SIM_DATABASE_URL"] for e in replicas.values()}) == 1
    assert len({e["SIM_REPLICA_ID"] for e in replicas.values()}) == len(replicas)
    for name, service in compose["services"].items():
        if name in replicas:
            assert service["depends_on"]["db"]["condition"] == "service_healthy"


def test_the_image_installs_the_postgresql_driver(compose, replicas):
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for name in replicas:
        package = compose["services"][name]["build"]["args"]["PACKAGE"]
        extra = re.fullmatch(r"\.\[(\w+)\]", package)[1]
        assert any(pin.startswith("pg8000==") for pin in extras[extra])
    assert "ARG PACKAGE" in (ROOT / "Dockerfile").read_text()


def test_nginx_balances_over_exactly_the_replicas(compose, replicas):
    conf = (COMPOSE_DIR / "nginx.conf").read_text()
    upstream = re.search(r"upstream simulators \{(.*?)\}", conf, re.S)[1]
    servers = re.findall(r"^\s*server\s+([\w.-]+:\d+)", upstream, re.M)
    assert sorted(servers) == sorted(f"{name}:{listen_port(env)}"
                                     for name, env in replicas.items())
    assert "proxy_pass http://simulators;" in conf
    listen = re.search(r"listen (\d+);", conf)[1]
    assert f"{listen}:{listen}" in compose["services"]["lb"]["ports"][0]
    body_limit = int(re.search(r"client_max_body_size (\d+)m;", conf)[1]) * 1024 * 1024
    assert body_limit >= Settings().max_request_bytes  # a TD2.1 the simulator takes


# Run apart: importing locust monkey-patches this process with gevent (forks and threads
# of the tests that follow would then misbehave).
_PARSE = ("import json, sys\n"
          "from locust.argument_parser import get_parser\n"
          "print(json.dumps(vars(get_parser().parse_args(sys.argv[1:])), default=str))")


def locust_options(service: dict) -> SimpleNamespace:
    """The service's Locust command line, parsed by Locust's own parser (in a child
    process), with the container's /loadtests mapped onto the repository's loadtests/."""
    args = shlex.split(service["command"].replace("/loadtests/", str(ROOT / "loadtests") + "/"))
    parsed = subprocess.run([sys.executable, "-c", _PARSE, *args], capture_output=True,
                            text=True, timeout=120)
    assert parsed.returncode == 0, parsed.stderr[-2000:]
    return SimpleNamespace(**json.loads(parsed.stdout.splitlines()[-1]))


def test_locust_master_and_workers_agree_with_loadtests(compose, replicas):
    services = compose["services"]
    master, worker = locust_options(services["locust-master"]), \
        locust_options(services["locust-worker"])
    for options in (master, worker):
        assert Path(options.locustfile) == ROOT / "loadtests" / "locustfile.py"
    assert master.master and not master.worker
    assert worker.worker and worker.master_host == "locust-master"
    assert master.expect_workers == services["locust-worker"]["deploy"]["replicas"]
    host = urlsplit(master.host)
    assert host.hostname == "lb"
    assert str(host.port) == re.search(r"listen (\d+);",
                                       (COMPOSE_DIR / "nginx.conf").read_text())[1]
    # loadtests/dmp_load.py reads the simulator's clock with the control plane's token
    tokens = {env["SIM_ADMIN_TOKEN"] for env in replicas.values()}
    tokens |= {str(services[name]["environment"]["SIM_ADMIN_TOKEN"])
               for name in ("locust-master", "locust-worker")}
    assert len(tokens) == 1


def test_the_locust_image_pins_the_tested_locust():
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["test"]
    tested = next(p for p in pins if p.startswith("locust=="))
    assert tested in (COMPOSE_DIR / "locust.Dockerfile").read_text()
