"""Helpers of the DMP API v1 live tests: zeep clients built from the WSDLs served at the
v1 paths (so their calls go to the address those WSDLs give), callers whose VIHF names
the patient by INS-C, and the TD2.1 MTOM feed posted to the v1 repository."""
from __future__ import annotations

import requests
import zeep
from lxml import etree

from simulator.kit import xds
from dmp_live import (
    DMP_PATH, HTTP_TIMEOUT, NS, Caller, DmpLive, ServiceClient, feed_package, parse,
    simulated_now)

V1_PATH = "/si-dmp-server/v1/services"
INS_C = "1.2.250.1.213.1.4.2"


def insc_cx(insc: str) -> str:
    """The XDS patientId / VIHF resource-id of an INS-C."""
    return f"{insc}^^^&{INS_C}&ISO^NH"


def by_insc(caller: Caller, insc: str) -> Caller:
    """``caller`` with a VIHF naming the patient by ``insc``."""
    return caller.but(patient=insc, oid=INS_C)


def insc_document(insc: str, unique_id: str) -> xds.Doc:
    """A CDA report whose recordTarget names the patient by INS-C."""
    return xds.Doc(unique_id=unique_id,
                   content=xds.cda_document(ins=insc, oid=INS_C, unique_id=unique_id))


class V1ServiceClient(ServiceClient):
    """:class:`dmp_live.ServiceClient` of a v1 service: the zeep client is rebuilt from
    ``/si-dmp-server/v1/services/<service>?wsdl``."""

    def __init__(self, base_url: str, service: str):
        super().__init__(base_url, service)
        self.address = f"{base_url}{V1_PATH}/{service}"
        self.client = zeep.Client(self.address + "?wsdl", transport=self.transport,
                                  plugins=[self.drop, self.history])


class DmpV1Live(DmpLive):
    """The zeep clients of the DMP v1 services of one live server."""

    def client(self, service: str) -> ServiceClient:
        if service not in self._clients:
            self._clients[service] = V1ServiceClient(self.base_url, service)
        return self._clients[service]

    def feed(self, documents: tuple[xds.Doc, ...], caller: Caller, **options
             ) -> tuple[requests.Response, etree._Element]:
        """TD2.1 as MTOM to the v1 repository: (HTTP response, the Body's child, a
        RegistryResponse or a SOAP Fault). ``options`` go to :func:`dmp_live.lot`."""
        now = simulated_now(self.base_url)
        content_type, raw, _ = feed_package(self.base_url, documents, caller, now, **options)
        raw = raw.replace(f"{self.base_url}{DMP_PATH}/".encode(),
                          f"{self.base_url}{V1_PATH}/".encode(), 1)  # wsa:To
        http = requests.post(f"{self.base_url}{V1_PATH}/repository", data=raw,
                             headers={"Content-Type": content_type}, timeout=HTTP_TIMEOUT)
        return http, parse(http.content).find(f"{{{NS['soap']}}}Body")[0]
