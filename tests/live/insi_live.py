"""Helpers of the live test level: live servers, zeep clients, INSi SOAP headers."""
from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

import requests
import zeep
from lxml import etree
from werkzeug.serving import make_server
from zeep.plugins import HistoryPlugin
from zeep.transports import Transport
from zeep.wsa import WsAddressingPlugin

from simulator.app import create_app
from simulator.kit.insi import xs_now, zeep_headers  # noqa: F401 - xs_now: for tests
from simulator.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OUR_XSD = PROJECT_ROOT / "wsdl" / "insi" / "xsd"
OFFICIAL_DIR = PROJECT_ROOT.parent / "shared" / "contracts" / "insi"
OFFICIAL_WSDL = OFFICIAL_DIR / "DESIR_ICIR_EXP_1.5.0.wsdl"
# The official WSDL imports WS-Addressing from this (unreachable) URL.
W3_WSADDR_URL = "http://www.w3.org/2006/03/addressing/ws-addr.xsd"

# Simulated "now" of the live servers: after both format switches (RESULTAT 2022-10-25,
# faults 2024-07-01), so responses and faults are in the current generation.
LIVE_DATE = datetime(2025, 3, 3, 9, 30, tzinfo=timezone.utc)
LIVE_POPULATION = 200

NS_SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
NS_WSA = "http://www.w3.org/2005/08/addressing"
NS_CTXLPS = "urn:siram:lps:ctxlps"
NS_CTXBAM = "urn:siram:bam:ctxbam"
NS_SIRAM = "urn:siram"
BINDING_QNAME = "{http://www.cnamts.fr/webservice}ICIRServiceBinding"
OP_TRAITS = "rechercherInsAvecTraitsIdentite"
OP_VITALE = "rechercherInsAvecCarteVitale"
ACTION_PREFIX = "urn:ServiceIdentiteCertifiee:1.0.0:"

# A CNDA software authorisation number seen on the qualification platform.
DEFAULT_IDAM = "PDP17NF21DD0"
EMETTEUR = "medecin.exemple@hopital.fr"
LPS_INSTANCE = "b3c2a1d0-0000-4000-8000-000000000001"  # stable per installation
HTTP_TIMEOUT = 10
RESET_TIMEOUT = 120


# --------------------------------------------------------------------------
# Live servers
# --------------------------------------------------------------------------


@dataclass
class LiveServer:
    """One simulator served on a real socket."""

    base_url: str
    app: object  # the SimulatorApp (WSGI)
    server: object = field(repr=False)
    thread: threading.Thread = field(repr=False)

    @property
    def simulator(self):
        """The simulator state (store, clock, settings...)."""
        return self.app.simulator

    @property
    def lps_url(self) -> str:
        return self.base_url + "/lps"

    def url(self, path: str) -> str:
        return self.base_url + path

    def reset(self) -> None:
        # A hang guard, not a bound: on PostgreSQL, CI saw two resets of the session
        # server out of about a thousand take over 10 s (cause not found yet).
        response = requests.post(self.url("/_admin/reset"), timeout=RESET_TIMEOUT)
        assert response.status_code == 200, response.text

    def set_clock(self, now: str, frozen: bool | None = None) -> dict:
        body = {"now": now} if frozen is None else {"now": now, "frozen": frozen}
        response = requests.put(self.url("/_admin/clock"), json=body, timeout=HTTP_TIMEOUT)
        assert response.status_code == 200, response.text
        return response.json()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def live_settings(data_dir: Path, **changes) -> Settings:
    """The live servers' settings: small population, fixed simulated start date."""
    values = dict(data_dir=data_dir, population=LIVE_POPULATION, date=LIVE_DATE)
    values.update(changes)
    return Settings(**values)


def start_live_server(settings: Settings) -> LiveServer:
    """Build the full app and serve it on 127.0.0.1:<ephemeral> in a daemon thread."""
    app = create_app(settings)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-simulator",
                              daemon=True)
    thread.start()
    live = LiveServer(f"http://127.0.0.1:{server.server_port}", app, server, thread)
    health = requests.get(live.url("/_admin/health"), timeout=HTTP_TIMEOUT)
    assert health.status_code == 200, health.text
    return live


# --------------------------------------------------------------------------
# zeep plumbing
# --------------------------------------------------------------------------


class LiveTransport(Transport):
    """A zeep transport that keeps the last HTTP response (status code) and serves the
    w3.org WS-Addressing schema from the project's copy. Documents are only loaded
    from ``allowed_prefix`` (the live server) or from local files: no internet."""

    def __init__(self, allowed_prefix: str | None = None, **kwargs):
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        kwargs.setdefault("operation_timeout", HTTP_TIMEOUT)
        super().__init__(**kwargs)
        self.allowed_prefix = allowed_prefix
        self.last_response: requests.Response | None = None

    def load(self, url):
        if url == W3_WSADDR_URL:
            return (OUR_XSD / "ws-addr.xsd").read_bytes()
        if urlparse(str(url)).scheme in ("http", "https") and not (
                self.allowed_prefix and str(url).startswith(self.allowed_prefix)):
            raise AssertionError(f"network access attempted while loading {url}")
        return super().load(url)

    def post(self, address, message, headers):
        response = super().post(address, message, headers)
        self.last_response = response
        return response


class InsiAddressingPlugin(WsAddressingPlugin):
    """zeep's WS-Addressing plugin (wsa:Action, wsa:To), keeping the caller's
    ``wsa:MessageID uuid:...`` header part: zeep's own ``urn:uuid:`` MessageID is
    dropped whenever the request already carries one."""

    def egress(self, envelope, http_headers, operation, binding_options):
        envelope, http_headers = super().egress(envelope, http_headers, operation,
                                                binding_options)
        header = envelope.find(f"{{{NS_SOAP12}}}Header")
        if header is not None:
            ids = header.findall(f"{{{NS_WSA}}}MessageID")
            for extra in ids[1:]:
                header.remove(extra)
        return envelope, http_headers


def new_message_id() -> str:
    return f"uuid:{uuid.uuid4()}"


def insi_soapheaders(client: zeep.Client, *, idam: str = DEFAULT_IDAM, idam_r: str | None = "4",
                     message_id: str | None = None, lps: bool = True, bam: bool = True,
                     couverture: dict | None = None) -> list:
    """The INSi SOAP headers as zeep element objects of ``client``'s schema: the kit's
    :func:`simulator.kit.insi.zeep_headers` with the live tests' software identity."""
    return zeep_headers(client, idam=idam, idam_r=idam_r, message_id=message_id, lps=lps,
                        bam=bam, couverture=couverture, emetteur=EMETTEUR,
                        instance=LPS_INSTANCE, software="urn:lps:insi-dmp-simulator-live-tests:1.0.0")


@dataclass
class InsiClient:
    """A zeep client and its service proxy bound to one live server."""

    kind: str  # "ours" | "official"
    client: zeep.Client
    service: object
    history: HistoryPlugin
    transport: LiveTransport
    address: str
    last_message_id: str | None = None

    def headers(self, **options) -> list:
        """SOAP headers; a fresh ``uuid:`` MessageID unless ``message_id`` is given."""
        options.setdefault("message_id", new_message_id())
        self.last_message_id = options["message_id"]
        return insi_soapheaders(self.client, **options)

    def traits(self, nom: str, prenom, sexe: str, date: str, lieu: str | None = None,
               **header_options):
        """rechercherInsAvecTraitsIdentite; ``prenom`` is a string or a list of them."""
        prenoms = [prenom] if isinstance(prenom, str) else list(prenom)
        body = dict(NomNaissance=nom, Prenom=prenoms, Sexe=sexe, DateNaissance=date)
        if lieu is not None:
            body["LieuNaissance"] = lieu
        return self.service.rechercherInsAvecTraitsIdentite(
            **body, _soapheaders=self.headers(**header_options))

    def vitale(self, date: str, *, individu: tuple[str, str] | None = None,
               od: tuple[str, str] | None = None, rang: int | None = None,
               nom: str | None = None, **header_options):
        """rechercherInsAvecCarteVitale; matricules are (NumIdentifiant, Cle)."""
        body = {"DateNaissance": date}
        if individu is not None:
            body["MatriculeIndividu"] = {"NumIdentifiant": individu[0], "Cle": individu[1]}
        if od is not None:
            body["MatriculeOD"] = {"NumIdentifiant": od[0], "Cle": od[1]}
        if nom is not None:
            body["NomNaissance"] = nom
        if rang is not None:
            body["RangNaissance"] = rang
        return self.service.rechercherInsAvecCarteVitale(
            **body, _soapheaders=self.headers(**header_options))

    @property
    def last_status(self) -> int | None:
        response = self.transport.last_response
        return None if response is None else response.status_code

    def last_sent_xml(self) -> etree._Element:
        return self.history.last_sent["envelope"]


def build_our_client(live: LiveServer | str) -> InsiClient:
    """A zeep client built from the simulator's own WSDL, as served by ``live`` (a
    LiveServer or a base URL such as ``http://127.0.0.1:8080``)."""
    base_url = live if isinstance(live, str) else live.base_url
    history = HistoryPlugin()
    transport = LiveTransport(allowed_prefix=base_url + "/")
    client = zeep.Client(base_url + "/lps?wsdl", transport=transport,
                         plugins=[InsiAddressingPlugin(), history])
    return InsiClient("ours", client, client.service, history, transport, base_url + "/lps")


def load_official_client() -> tuple[zeep.Client, HistoryPlugin, LiveTransport]:
    """The official CNAM WSDL, loaded offline (the caller checks it exists)."""
    history = HistoryPlugin()
    transport = LiveTransport()
    client = zeep.Client(str(OFFICIAL_WSDL), transport=transport,
                         plugins=[InsiAddressingPlugin(), history])
    return client, history, transport


def bind_official_client(loaded, live: LiveServer) -> InsiClient:
    """The official client with its service address bound to ``live``."""
    client, history, transport = loaded
    service = client.create_service(BINDING_QNAME, live.lps_url)
    return InsiClient("official", client, service, history, transport, live.lps_url)


# --------------------------------------------------------------------------
# Reading faults
# --------------------------------------------------------------------------


def fault_subcodes(fault: zeep.exceptions.Fault) -> list[str]:
    """Local names of the fault's Subcode values (``siram_100``...)."""
    return [etree.QName(code).localname for code in (fault.subcodes or [])]


def fault_erreur(fault: zeep.exceptions.Fault) -> etree._Element:
    """The ``siram:Erreur`` element of the fault's Detail."""
    assert fault.detail is not None, "fault without Detail"
    erreur = fault.detail.find(f"{{{NS_SIRAM}}}Erreur")
    assert erreur is not None, etree.tostring(fault.detail)
    return erreur
