"""Reading the DMP's answers: the MTOM package, SOAP faults, HL7 acknowledgements, XDS
RegistryResponses and DMP statuses (DMP brief §6.1: where each service puts its errors).

A check reads an HTTP 200 answer (the SOAP envelope, and the MTOM parts by Content-ID)
and returns (what the sequence needs next, None), or (None, reason). Refusals are named
by their code: the HL7 acknowledgement detail, the XDS errorCode (with the DMP code or
rule that starts its codeContext), the DMP status, the SOAP fault subcode; so Locust's
error report groups them. Standard library XML only (ElementTree).
"""
from __future__ import annotations

import base64
import hashlib
import re
import urllib.parse
import xml.etree.ElementTree as ET

from dmp_soap import HL7, Patient
from dmp_xds import DE_PATIENT_ID, DE_UNIQUE_ID, RIM, RS, SUCCESS, XDSB, XOP, FoundDocument

_PARAM = re.compile(r';\s*([\w-]+)\s*=\s*(?:"([^"]*)"|([^;\s]*))')
_FAULT_SUBCODE = re.compile(rb"<(?:[\w.-]+:)?Subcode>\s*<(?:[\w.-]+:)?Value>([^<]+)</")
_FAULT_CODE = re.compile(rb"<(?:[\w.-]+:)?Code>\s*<(?:[\w.-]+:)?Value>([^<]+)</")
_CONTEXT_CODE = re.compile(r"^(DMP\w+|[a-z0-9]+(?:-[a-z0-9]+)+):")


def unpack(content_type: str, content: bytes) -> tuple[bytes, dict[str, bytes]]:
    """(SOAP envelope, {Content-ID: part}) of an answer, MTOM or plain; raises
    ValueError when a multipart answer cannot be read."""
    if not content_type.lower().startswith("multipart/related"):
        return content, {}
    params = {m[1].lower(): m[2] if m[2] is not None else m[3]
              for m in _PARAM.finditer(content_type)}
    if not params.get("boundary"):
        raise ValueError("multipart answer without boundary")
    parts: dict[str, bytes] = {}
    for piece in content.split(b"--" + params["boundary"].encode())[1:-1]:
        head, found, body = piece.partition(b"\r\n\r\n")
        if not found:
            raise ValueError("MIME part without headers")
        cid = next((line.split(b":", 1)[1].strip(b" <>").decode()
                    for line in head.split(b"\r\n") if line.lower().startswith(b"content-id:")),
                   str(len(parts)))
        parts[cid] = body[:-2] if body.endswith(b"\r\n") else body
    if not parts:
        raise ValueError("multipart answer without parts")
    start = (params.get("start") or "").strip("<>")
    root = parts.pop(start) if start in parts else parts.pop(next(iter(parts)))
    return root, parts


def fault_name(status: int, envelope_bytes: bytes) -> str:
    """The failure name of a non-200 answer: its SOAP 1.2 fault subcode (or code)."""
    found = _FAULT_SUBCODE.search(envelope_bytes) or _FAULT_CODE.search(envelope_bytes)
    if not found:
        return f"HTTP {status}"
    return f"fault {found.group(1).decode(errors='replace').strip()} (HTTP {status})"


def _body(envelope_bytes: bytes) -> ET.Element:
    body = ET.fromstring(envelope_bytes).find("{http://www.w3.org/2003/05/soap-envelope}Body")
    child = next(iter(body), None) if body is not None else None
    if child is None:
        raise ValueError("no SOAP Body content")
    return child


def _checked(read):
    """A check from ``read(body element, parts)``, answering unreadable XML by name."""
    def check(envelope_bytes: bytes, parts: dict[str, bytes]):
        try:
            return read(_body(envelope_bytes), parts)
        except (ET.ParseError, ValueError) as error:
            return None, f"unreadable answer ({type(error).__name__})"
    return check


def _hl7_refusal(message: ET.Element) -> str | None:
    ack = message.find(f"{{{HL7}}}acknowledgement")
    kind = ack.get("typeCode") if ack is not None else "no acknowledgement"
    if kind == "AA":
        return None
    detail = message.find(
        f"{{{HL7}}}acknowledgement/{{{HL7}}}acknowledgementDetail/{{{HL7}}}code")
    return f"HL7 {kind} {detail.get('code') if detail is not None else '(no code)'}"


def _xds_refusal(response: ET.Element | None) -> str | None:
    if response is None:
        return "no RegistryResponse"
    status = response.get("status", "")
    if status == SUCCESS:
        return None
    codes = set()
    for error in response.iter(f"{{{RS}}}RegistryError"):
        context = _CONTEXT_CODE.match(error.get("codeContext", ""))
        codes.add(error.get("errorCode", "?") + (f" {context.group(1)}" if context else ""))
    return f"{status.rsplit(':', 1)[-1] or 'no status'} {', '.join(sorted(codes))}".strip()


def expect_existence(patient: Patient):
    """TD0.2: (DMP exists, authorisation status) from an AA answer, OK or NF."""
    def read(message: ET.Element, _parts):
        refusal = _hl7_refusal(message)
        if refusal:
            return None, refusal
        code = message.find(f"{{{HL7}}}controlActProcess/{{{HL7}}}queryAck/"
                            f"{{{HL7}}}queryResponseCode")
        answer = code.get("code") if code is not None else "missing"
        if answer == "NF":
            return (False, "NON_EXISTE"), None
        if answer != "OK":
            return None, f"queryResponseCode {answer}"
        if patient.ins not in {i.get("extension") for i in message.iter(f"{{{HL7}}}id")}:
            return None, "TD0.2 OK without the patient's INS"
        # The status in attentionLine AUTORISATION, as a homologated client reads it;
        # elsewhere unknown, and the sequence asks for the authorisation (TD0.3).
        authorisation = "unknown"
        for line in message.findall(f"{{{HL7}}}attentionLine"):
            keyword, value = line.find(f"{{{HL7}}}keyWordText"), line.find(f"{{{HL7}}}value")
            if keyword is not None and value is not None and \
                    keyword.get("code") == "AUTORISATION":
                authorisation = value.get("code", "unknown")
        return (True, authorisation), None
    return _checked(read)


def _created(message: ET.Element, _parts):
    refusal = _hl7_refusal(message)
    # DMPFound: another user created this DMP between our TD0.2 and TD1.1.
    return (True, None) if refusal in (None, "HL7 AE DMPFound") else (None, refusal)


def _status_ok(response: ET.Element, _parts):
    status = next((e.text or "" for e in response.iter()
                   if e.tag.rsplit("}", 1)[-1] == "status"), "no status").strip()
    return (True, None) if status.upper() == "DMPOK" else (None, f"status {status}")


def _registered(response: ET.Element, _parts):
    refusal = _xds_refusal(response if response.tag == f"{{{RS}}}RegistryResponse" else None)
    return (None, refusal) if refusal else (True, None)


expect_created, expect_status_ok, expect_registered = (
    _checked(_created), _checked(_status_ok), _checked(_registered))


def expect_documents(patient: Patient):
    """TD3.1: the patient's documents found (all of them the patient's)."""
    def read(response: ET.Element, _parts):
        refusal = _xds_refusal(response)
        if refusal:
            return None, refusal
        found = []
        for entry in response.iter(f"{{{RIM}}}ExtrinsicObject"):
            ids = {e.get("identificationScheme"): e.get("value", "")
                   for e in entry.findall(f"{{{RIM}}}ExternalIdentifier")}
            slots = {s.get("name"): [v.text or "" for v in s.iter(f"{{{RIM}}}Value")]
                     for s in entry.findall(f"{{{RIM}}}Slot")}
            if ids.get(DE_PATIENT_ID, "").split("^")[0] != patient.ins:
                return None, "a document of another patient"
            try:
                found.append(FoundDocument(ids[DE_UNIQUE_ID], slots["repositoryUniqueId"][0],
                                           int(slots["size"][0]), slots["hash"][0].lower()))
            except (KeyError, IndexError, ValueError):
                return None, "DocumentEntry without uniqueId, repositoryUniqueId, size or hash"
        return found, None
    return _checked(read)


def expect_document(wanted: FoundDocument):
    """TD3.2: the document asked for, its bytes of the size and SHA-1 TD3.1 gave."""
    def read(response: ET.Element, parts: dict[str, bytes]):
        refusal = _xds_refusal(response.find(f"{{{RS}}}RegistryResponse"))
        if refusal:
            return None, refusal
        documents = response.findall(f"{{{XDSB}}}DocumentResponse")
        if len(documents) != 1:
            return None, f"{len(documents)} DocumentResponse instead of 1"
        if documents[0].findtext(f"{{{XDSB}}}DocumentUniqueId") != wanted.unique_id:
            return None, "another document than the one asked for"
        holder = documents[0].find(f"{{{XDSB}}}Document")
        include = holder.find(f"{{{XOP}}}Include") if holder is not None else None
        if include is not None:
            content = parts.get(urllib.parse.unquote(include.get("href", "")[4:]))
        else:
            content = base64.b64decode("".join((holder.text or "").split())) \
                if holder is not None else None
        if content is None:
            return None, "document bytes missing (no MTOM part for the xop:Include)"
        if len(content) != wanted.size:
            return None, f"document of {len(content)} bytes instead of {wanted.size}"
        if hashlib.sha1(content).hexdigest() != wanted.hash:
            return None, "document bytes differ from their SHA-1"
        return len(content), None
    return _checked(read)


def _entry_uuid(response: ET.Element, _parts):
    """TD3.1b: the one ObjectRef's id (the document's entryUUID)."""
    refusal = _xds_refusal(response)
    if refusal:
        return None, refusal
    ids = [ref.get("id") for ref in response.iter(f"{{{RIM}}}ObjectRef")]
    if len(ids) != 1 or not ids[0]:
        return None, f"{len(ids)} ObjectRef instead of 1"
    return ids[0], None


def _certified(response: ET.Element, _parts):
    """TD0.0: status DMPOK and the INS (nirIndividu) of the beneficiary."""
    texts = {e.tag.rsplit("}", 1)[-1]: (e.text or "").strip() for e in response.iter()}
    if texts.get("status", "").upper() != "DMPOK":
        return None, f"status {texts.get('status') or 'missing'}"
    if not texts.get("nirIndividu"):
        return None, "TD0.0 DMPOK without nirIndividu"
    return texts["nirIndividu"], None


expect_entry_uuid, expect_certified = _checked(_entry_uuid), _checked(_certified)
