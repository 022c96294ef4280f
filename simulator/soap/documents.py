"""Serving a service's WSDL and the XSDs it imports, from the project's ``wsdl/`` folder.

The files on disk use relative ``schemaLocation="xsd/NAME.xsd"`` (so they load from a
checkout); when served, those become ``<endpoint>?xsd=NAME.xsd`` and the
``soap12:address`` becomes the URL the client used, so a client built from
``GET <endpoint>?wsdl`` calls back the same server.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

_SCHEMA_LOCATION = re.compile(r'schemaLocation="xsd/([A-Za-z0-9_.-]+\.xsd)"')
_ADDRESS = re.compile(r'(<soap12:address location=")[^"]*(")')
XML_TYPE = "text/xml; charset=utf-8"
# A DNS name or IPv4 address, or an IPv6 literal in brackets, then an optional port.
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\])"
                   r"(?::[0-9]{1,5})?")


class WsdlDocuments:
    """The WSDL of one endpoint and its XSDs, read once."""

    def __init__(self, directory: Path, main_file: str):
        self.wsdl = (directory / main_file).read_text(encoding="utf-8")
        self.xsds = {p.name: p.read_text(encoding="utf-8")
                     for p in sorted((directory / "xsd").glob("*.xsd"))}

    def serve(self, environ) -> tuple[int, str, bytes] | None:
        """Answer ``?wsdl`` or ``?xsd=NAME``; None when the query asks for neither."""
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        query = {k.lower(): v for k, v in query.items()}
        endpoint = _endpoint_url(environ)
        if "wsdl" in query:
            return 200, XML_TYPE, self._rewrite(self.wsdl, endpoint).encode("utf-8")
        if "xsd" in query:
            text = self.xsds.get(query["xsd"][0])
            if text is None:
                known = ", ".join(self.xsds)
                return 404, "text/plain; charset=utf-8", \
                    f"No schema {query['xsd'][0]!r} here; known: {known}\n".encode("utf-8")
            return 200, XML_TYPE, self._rewrite(text, endpoint).encode("utf-8")
        return None

    @staticmethod
    def _rewrite(text: str, endpoint: str) -> str:
        text = _SCHEMA_LOCATION.sub(lambda m: f'schemaLocation="{endpoint}?xsd={m.group(1)}"',
                                    text)
        return _ADDRESS.sub(lambda m: f"{m.group(1)}{endpoint}{m.group(2)}", text)


def _endpoint_url(environ) -> str:
    """The URL the client called, for the served addresses. The Host header is the
    client's to choose: one that is not a host name or address with an optional port
    (RFC 9110 §7.2, RFC 3986 §3.2.2) is replaced by the server's own address, and the
    whole URL is escaped for XML, so that no header can inject markup (issue 14)."""
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or ""
    if not _HOST.fullmatch(host):
        host = f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    url = f"{scheme}://{host}{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}"
    return escape(url, {'"': "&quot;"})
