"""Helpers of the DMP live tests: the simulated clock, who calls (the VIHF), zeep clients
of the five DMP v2 services built from the WSDLs the simulator serves, and raw HTTP for
the MTOM feeds (TD2.1).

zeep applies its own ``zeep.wsa.WsAddressingPlugin`` (wsa:Action, wsa:MessageID, wsa:To)
to every operation whose WSDL declares ``wsam:Action``, which all DMP WSDLs do; adding
the plugin a second time would put every WS-Addressing header twice on the wire. The
VIHF goes in as ``_soapheaders=[<wsse:Security> lxml element]``. The HL7 and XDS
operations have open content (``xs:any`` + ``xs:anyAttribute``): the builder's body
element travels as ``_value_1=[children]`` and ``_attr_1={attributes}``.
"""
from __future__ import annotations

import base64
import hashlib
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import requests
import zeep
from lxml import etree
from zeep.plugins import HistoryPlugin, Plugin

from simulator.kit import soap, xds
from insi_live import LiveTransport
from simulator.soap.mtom import split_related
from simulator.soap.parsing import content_type_parts, safe_parser

DMP_PATH = "/si-dmp-server/v2/services"
HTTP_TIMEOUT = 15

NS = {
    "soap": "http://www.w3.org/2003/05/soap-envelope",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "wsse": "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd",
    "hl7": "urn:hl7-org:v3",
    "rs": "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0",
    "rim": "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0",
    "xdsb": "urn:ihe:iti:xds-b:2007",
    "xop": "http://www.w3.org/2004/08/xop/include",
    "hab": "urn:si-dmp-habilitations",
    "pat": "urn:si-dmp-patients",
}
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DELETED = "urn:asip:ci-sis:2010:StatusType:Deleted"
DE_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
DE_CONFIDENTIALITY = "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"
WSSE_INVALID_SECURITY = f"{{{NS['wsse']}}}InvalidSecurity"
WSA_HEADER_REQUIRED = f"{{{NS['wsa']}}}MessageAddressingHeaderRequired"

# The operation answering each body element, per service.
OPERATION_OF = {
    "PRPA_IN201307UV02": "PRPA_IN201307UV02", "PRPA_IN201311UV02": "PRPA_IN201311UV02",
    "PRPA_IN201314UV02": "PRPA_IN201314UV02",
    "PRPA_IN201305UV02": "findCandidatesQuery",  # patientsPDQ (TD0.5)
    "AdhocQueryRequest": "DocumentRegistry_RegistryStoredQuery",
    "SubmitObjectsRequest": "DocumentRegistry_UpdateDocumentSet",
    "ProvideAndRegisterDocumentSetRequest": "DocumentRepository_ProvideAndRegisterDocumentSet-b",
    "RetrieveDocumentSetRequest": "DocumentRepository_RetrieveDocumentSet",
}


# --- The simulated clock ------------------------------------------------------


def simulated_now(base_url: str) -> datetime:
    """The simulator's "now" (``GET /_admin/clock``), in UTC."""
    response = requests.get(base_url + "/_admin/clock", timeout=HTTP_TIMEOUT)
    assert response.status_code == 200, response.text
    return datetime.fromisoformat(response.json()["now"]).astimezone(timezone.utc)


def xs_instant(moment: datetime) -> str:
    """An xs:dateTime in UTC with ``Z``, as VIHF IssueInstants are written."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- Who calls ----------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """A professional as the VIHF presents them: ``user`` is the NameID (the identity
    authorisations, authorship and blocking are keyed on), ``options`` go to
    :func:`simulator.kit.soap.vihf` (``mode``, ``patient``, ``signed``, attribute
    changes by attribute name). ``skew`` shifts IssueInstant from the simulated now."""

    user: str = "10B0167011/00B1022322"
    options: dict = field(default_factory=dict)
    skew: timedelta = timedelta(0)

    def but(self, user: str | None = None, skew: timedelta | None = None,
            **options) -> "Caller":
        """The same caller with another NameID, IssueInstant skew or VIHF options."""
        return replace(self, user=user or self.user, options={**self.options, **options},
                       skew=self.skew if skew is None else skew)

    def security_xml(self, now: datetime) -> str:
        """The wsse:Security block (text) for a request sent at simulated ``now``."""
        return soap.vihf(xs_instant(now + self.skew), user=self.user, **self.options)

    def security(self, now: datetime) -> etree._Element:
        """The wsse:Security block as the lxml element zeep sends in ``_soapheaders``."""
        return etree.fromstring(self.security_xml(now))


DOCTOR = Caller()  # AIR mode, normal access, the default NameID of the builders
COLLEAGUE = Caller(user="10B0167011/00B9999990", options={
    soap.SUBJECT_ID: "Marie MARTIN"})  # another professional of the same structure
# A CPS card holder (direct authentication, unsigned VIHF): the only one allowed to
# break the glass (DMP.md §4.1).
EMERGENCY = Caller(user="899700218746", options={
    "Authentification_Mode": "DIRECTE", "signed": False, soap.SUBJECT_ID: "Paul URGENCE",
    "mode": "bris_de_glace"})
REGULATOR = EMERGENCY.but(user="899700218747", mode="centre_15")


# --- zeep clients -------------------------------------------------------------


class DropHeaders(Plugin):
    """Removes the named SOAP headers after zeep's WS-Addressing: how a client that
    forgets one looks on the wire."""

    def __init__(self):
        self.names: tuple[str, ...] = ()

    def egress(self, envelope, http_headers, operation, binding_options):
        header = envelope.find(f"{{{NS['soap']}}}Header")
        for name in self.names:
            for element in header.findall(name) if header is not None else ():
                header.remove(element)
        return envelope, http_headers


@dataclass
class Answer:
    """One exchange: zeep's result, the envelopes as they crossed the wire, the HTTP
    response."""

    result: object
    sent: etree._Element
    received: etree._Element
    http: requests.Response

    @property
    def body(self) -> etree._Element:
        """The response's Body child as received."""
        return self.received.find(f"{{{NS['soap']}}}Body")[0]

    @property
    def sent_body(self) -> etree._Element:
        """The request's Body child as sent."""
        return self.sent.find(f"{{{NS['soap']}}}Body")[0]

    def header(self, local: str) -> list[str]:
        """Texts of the request's WS-Addressing headers named ``local``."""
        return [h.text for h in self.sent.iterfind(f"{{{NS['soap']}}}Header/"
                                                   f"{{{NS['wsa']}}}{local}")]


class ServiceClient:
    """A zeep client of one DMP service, built from ``<service>?wsdl`` as served."""

    def __init__(self, base_url: str, service: str):
        self.base_url = base_url
        self.address = f"{base_url}{DMP_PATH}/{service}"
        self.history = HistoryPlugin()
        self.drop = DropHeaders()
        self.transport = LiveTransport(allowed_prefix=base_url + "/")
        self.client = zeep.Client(self.address + "?wsdl", transport=self.transport,
                                  plugins=[self.drop, self.history])
        self._lock = threading.Lock()
        self._always_drop: tuple[str, ...] = ()

    @contextmanager
    def without_headers(self, *names: str):
        """Calls made inside the block leave out these SOAP headers ({ns}local)."""
        self._always_drop = names
        try:
            yield self
        finally:
            self._always_drop = ()

    def call(self, operation: str, caller: Caller | None, *, drop: tuple[str, ...] = (),
             **values) -> Answer:
        """Call ``operation`` with zeep; ``caller`` None sends no VIHF. Faults raise
        ``zeep.exceptions.Fault``."""
        with self._lock:  # the history and drop list belong to one call at a time
            now = simulated_now(self.base_url)
            headers = [] if caller is None else [caller.security(now)]
            self.drop.names = drop + self._always_drop
            result = getattr(self.client.service, operation)(**values, _soapheaders=headers)
            return Answer(result, self.history.last_sent["envelope"],
                          self.history.last_received["envelope"],
                          self.transport.last_response)

    def open_call(self, body: str | bytes, caller: Caller | None, **options) -> Answer:
        """Send a builder's body element through an open-content operation: its
        children as ``_value_1``, its attributes as ``_attr_1``."""
        element = etree.fromstring(body.encode() if isinstance(body, str) else body)
        operation = OPERATION_OF[etree.QName(element).localname]
        return self.call(operation, caller, _value_1=list(element),
                         _attr_1=dict(element.attrib), **options)


class DmpLive:
    """The zeep clients of the DMP v2 services of one live server (built on first use)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self._clients: dict[str, ServiceClient] = {}

    def client(self, service: str) -> ServiceClient:
        """The zeep client of ``service`` (patients, habilitations, ...)."""
        if service not in self._clients:
            self._clients[service] = ServiceClient(self.base_url, service)
        return self._clients[service]

    def close(self) -> None:
        """Close the clients' keep-alive connections (a server stops faster)."""
        for client in self._clients.values():
            client.transport.session.close()
        self._clients.clear()

    # -- HL7 v3 (patients) ------------------------------------------------------------
    def patients(self, body: bytes, caller: Caller = DOCTOR, **options) -> Answer:
        """An HL7 v3 message of :mod:`simulator.kit.hl7` to the patients service."""
        return self.client("patients").open_call(body, caller, **options)

    # -- DMP-specific ----------------------------------------------------------------
    def set_authorization(self, caller: Caller = DOCTOR, action: str = "AJOUT",
                          role: str | None = None) -> Answer:
        """TD0.3."""
        values = {"action": action} if role is None else {"action": action, "role": role}
        return self.client("habilitations").call("setAuthorization", caller, **values)

    def list_authorizations(self, caller: Caller = DOCTOR, mode: str = "TOUTE") -> Answer:
        """TD1.6."""
        return self.client("habilitations").call("listAuthorizationByPatient", caller,
                                                 mode=mode)

    def patient_list(self, caller: Caller, since: str, date_type: str) -> Answer:
        """TD0.4."""
        return self.client("patientsSpecific").call("patientList", caller, date=since,
                                                    dateType=date_type)

    # -- XDS -----------------------------------------------------------------------------
    def registry(self, body: str, caller: Caller = DOCTOR, **options) -> Answer:
        """An ITI-18 or ITI-57 body of :mod:`simulator.kit.registry`."""
        return self.client("registry").open_call(body, caller, **options)

    def retrieve(self, unique_id: str, caller: Caller = DOCTOR,
                 repository: str = xds.REPOSITORY) -> Answer:
        """ITI-43 through zeep (zeep decodes the MTOM answer and inlines the parts)."""
        return self.client("repository").open_call(
            xds.retrieve_body((repository, unique_id)), caller)

    def feed(self, documents: tuple[xds.Doc, ...], caller: Caller = DOCTOR,
             **options) -> "Feed":
        """TD2.1 as MTOM over plain HTTP (see :func:`feed`)."""
        return feed(self.base_url, documents, caller, **options)


# --- TD2.1 as MTOM, TD3.2 raw -------------------------------------------------


@dataclass
class Feed:
    """A TD2.1 exchange: what was sent and the RegistryResponse received."""

    request: xds.Iti41
    http: requests.Response
    response: etree._Element  # rs:RegistryResponse

    @property
    def status(self) -> str:
        """The RegistryResponse status."""
        return self.response.get("status")

    @property
    def error_codes(self) -> list[str]:
        """Its RegistryError codes."""
        return error_codes(self.response)


def lot(documents: tuple[xds.Doc, ...], *, set_unique_id: str | None = None,
        **options) -> xds.Iti41:
    """:func:`simulator.kit.xds.provide_and_register` (MTOM form) with a fresh submission
    set uniqueId and a fresh lot signature uniqueId. The builder gives every signature
    the same uniqueId, which the registry rightly refuses the second time
    (XDSDuplicateUniqueIdInRegistry): the signature is rebuilt under a new one and its
    entry's uniqueId, hash and size follow."""
    set_unique_id = set_unique_id or unique_oid("1.2.250.1.999.1.1.8121.7")
    request = xds.provide_and_register(documents, set_unique_id=set_unique_id, xop=True,
                                       **options)
    old = request.contents.get("Signature01")
    if old is None:
        return request
    signature_id = unique_oid("1.2.250.1.999.1.1.8121.9")
    new = xds.signature_document(set_unique_id, [
        (doc.unique_id, request.contents[doc.entry_id], doc.mime_type == "text/xml")
        for doc in documents], signature_id=signature_id, signer=options.get("signer"))
    body = request.body
    for before, after in (
            (f'value="{xds.SIGNATURE_UNIQUE_ID}"', f'value="{signature_id}"'),
            (_hash_and_size(old), _hash_and_size(new))):
        assert body.count(before) == 1, f"the builder's signature entry changed: {before}"
        body = body.replace(before, after)
    request.body = body
    request.contents["Signature01"] = new
    return request


def _hash_and_size(content: bytes) -> str:
    return "".join(f'<Slot name="{name}"><ValueList><Value>{value}</Value></ValueList></Slot>'
                   for name, value in (("hash", hashlib.sha1(content).hexdigest()),
                                       ("size", len(content))))


def feed_package(base_url: str, documents: tuple[xds.Doc, ...], caller: Caller,
                 now: datetime, tweak=None, **options) -> tuple[str, bytes, xds.Iti41]:
    """(Content-Type, body, request) of a TD2.1 MTOM package from ``caller``;
    ``options`` go to :func:`lot`; ``tweak(body_text)`` may alter the metadata."""
    request = lot(documents, **options)
    if tweak is not None:
        request.body = tweak(request.body)
    root = soap.envelope(request.body, action=xds.PNR_ACTION, service="repository",
                         issue_instant=xs_instant(now), host=base_url,
                         security=caller.security_xml(now))
    parts = [(request.content_ids[entry], content)
             for entry, content in request.contents.items()]
    content_type, raw = xds.mtom_package(root, parts)
    return content_type, raw, request


def feed(base_url: str, documents: tuple[xds.Doc, ...], caller: Caller = DOCTOR,
         session: requests.Session | None = None, **options) -> Feed:
    """POST a TD2.1 ``multipart/related`` package and read its RegistryResponse."""
    now = simulated_now(base_url)
    content_type, raw, request = feed_package(base_url, documents, caller, now, **options)
    http = (session or requests).post(f"{base_url}{DMP_PATH}/repository", data=raw,
                                      headers={"Content-Type": content_type},
                                      timeout=HTTP_TIMEOUT)
    envelope = parse(http.content)
    assert http.status_code == 200, http.text
    body = envelope.find(f"{{{NS['soap']}}}Body")[0]
    assert etree.QName(body).localname == "RegistryResponse", http.text
    return Feed(request, http, body)


def retrieve_raw(base_url: str, unique_id: str, caller: Caller = DOCTOR
                 ) -> tuple[requests.Response, etree._Element, dict[str, bytes]]:
    """ITI-43 over plain HTTP: (response, envelope, {content-id: part bytes}), the
    package split by the simulator's own MTOM reader."""
    now = simulated_now(base_url)
    raw = soap.envelope(xds.retrieve_body((xds.REPOSITORY, unique_id)),
                        action=xds.RETRIEVE_ACTION, service="repository",
                        issue_instant=xs_instant(now), host=base_url,
                        security=caller.security_xml(now))
    http = requests.post(f"{base_url}{DMP_PATH}/repository", data=raw,
                         headers={"Content-Type": soap.SOAP_CT}, timeout=HTTP_TIMEOUT)
    media_type, params = content_type_parts(http.headers.get("Content-Type"))
    if media_type == "multipart/related":
        root, parts = split_related(http.content, params)
        return http, parse(root), parts
    return http, parse(http.content), {}


# --- Reading answers ----------------------------------------------------------


def parse(raw: bytes) -> etree._Element:
    """Parse XML from the server with the project's safe parser."""
    return etree.fromstring(raw, safe_parser())


def error_codes(element: etree._Element) -> list[str]:
    """``errorCode`` of every RegistryError under ``element``."""
    return [e.get("errorCode") for e in element.iterfind(".//rs:RegistryError", NS)]


def error_contexts(element: etree._Element) -> list[str]:
    """``codeContext`` of every RegistryError under ``element``."""
    return [e.get("codeContext") for e in element.iterfind(".//rs:RegistryError", NS)]


def extrinsic_objects(element: etree._Element) -> list[etree._Element]:
    """Every rim:ExtrinsicObject (LeafClass answer)."""
    return element.findall(".//rim:ExtrinsicObject", NS)


def unique_ids(element: etree._Element) -> list[str]:
    """XDSDocumentEntry.uniqueId of every ExtrinsicObject."""
    return [ei.get("value") for obj in extrinsic_objects(element)
            for ei in obj.iterfind("rim:ExternalIdentifier", NS)
            if ei.get("identificationScheme") == DE_UNIQUE_ID]


def hl7_ack(element: etree._Element) -> tuple[str | None, str | None]:
    """(acknowledgement typeCode, acknowledgementDetail code) of an HL7 v3 answer."""
    ack = element.find("hl7:acknowledgement", NS)
    if ack is None:
        return None, None
    detail = ack.find("hl7:acknowledgementDetail/hl7:code", NS)
    return ack.get("typeCode"), None if detail is None else detail.get("code")


def same_xml(a: etree._Element, b: etree._Element) -> bool:
    """Same names, attributes, texts and children (prefixes and indentation aside)."""
    def shape(element):
        return (element.tag, dict(element.attrib), (element.text or "").strip(),
                [shape(child) for child in element if isinstance(child.tag, str)])
    return shape(a) == shape(b)


def document_bytes(document_response: etree._Element) -> bytes:
    """The bytes of an xdsb:DocumentResponse whose Document zeep (or the MTOM reader)
    inlined as base64."""
    return base64.b64decode(document_response.findtext("xdsb:Document", namespaces=NS))


def unique_oid(prefix: str = "1.2.250.1.999.1.1.8121.21") -> str:
    """A fresh document uniqueId (OID) under ``prefix``."""
    return f"{prefix}.{uuid.uuid4().int % 10**12}"


def td02(element: etree._Element) -> tuple[str | None, str | None, str | None]:
    """(queryResponseCode, AUTORISATION attention line, DMP registration status) of a
    PRPA_IN201308UV02."""
    code = element.find("hl7:controlActProcess/hl7:queryAck/hl7:queryResponseCode", NS)
    authorisation = next((line.find("hl7:value", NS).get("code")
                          for line in element.iterfind("hl7:attentionLine", NS)
                          if line.find("hl7:keyWordText", NS).get("code") == "AUTORISATION"),
                         None)
    status = element.find("hl7:controlActProcess/hl7:subject/hl7:registrationEvent/"
                          "hl7:statusCode", NS)
    return (None if code is None else code.get("code"), authorisation,
            None if status is None else status.get("code"))


def entry_for(element: etree._Element, unique_id: str) -> etree._Element:
    """The one ExtrinsicObject of a LeafClass answer whose uniqueId is ``unique_id``."""
    found = [obj for obj in extrinsic_objects(element)
             if any(ei.get("identificationScheme") == DE_UNIQUE_ID
                    and ei.get("value") == unique_id
                    for ei in obj.iterfind("rim:ExternalIdentifier", NS))]
    assert len(found) == 1, f"{len(found)} entries with uniqueId {unique_id}"
    return found[0]


def slot(obj: etree._Element, name: str) -> list[str]:
    """Values of an object's Slot ``name``."""
    return [v.text for v in obj.iterfind(f"rim:Slot[@name='{name}']/rim:ValueList/rim:Value",
                                         NS)]


def confidentiality_codes(obj: etree._Element) -> list[str]:
    """nodeRepresentation of the entry's confidentialityCode classifications."""
    return [c.get("nodeRepresentation") for c in obj.iterfind("rim:Classification", NS)
            if c.get("classificationScheme") == DE_CONFIDENTIALITY]
