"""Bloating and tricking the control plane of the real server (issue 14): bodies
without limit, refused values echoed whole, YAML aliases and nesting, cross-site
requests and DNS rebinding, and a Host header copied into the served WSDL.

Without a token (the default), a web page in a browser on the same machine reaches
127.0.0.1: the Host, Origin and body-type guard of simulator/admin/access.py is what
stands between it and ``POST /_admin/reset``.
"""
from __future__ import annotations

import pytest
import requests
from lxml import etree
from werkzeug.test import Client

from live_hostile import HANG_GUARD, connect, http_head, read_answer, spawn_server
from simulator.app import create_app
from simulator.settings import Settings

ADMIN_LIMIT = 64 * 1024
ALIAS_BOMB = "name: bomb\nrules:\n- &r0 [a,a,a,a,a,a,a,a,a]\n" + "".join(
    f"- &r{i} [{','.join([f'*r{i - 1}'] * 9)}]\n" for i in range(1, 9))  # 9^9 values


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = spawn_server(tmp_path_factory.mktemp("control"), "control", population=0,
                           env={"SIM_ADMIN_MAX_REQUEST_BYTES": str(ADMIN_LIMIT)})
    try:
        process.wait_healthy()
        yield process
    finally:
        process.stop()


def json_answer(response: requests.Response, status: int) -> str:
    assert response.status_code == status, response.text[:500]
    assert response.headers["Content-Type"] == "application/json", response.text[:500]
    return response.json()["error"]


# --- sizes -------------------------------------------------------------------------------

def test_a_control_plane_body_over_the_limit_is_refused_unread(server):
    error = json_answer(server.admin("PUT", "/_admin/clock", data=b"{" + b" " * ADMIN_LIMIT
                                     + b"}", headers={"Content-Type": "application/json"}),
                        413)
    assert "SIM_ADMIN_MAX_REQUEST_BYTES" in error


def test_a_chunked_control_plane_body_over_the_limit_is_refused(server):
    chunks = (b"x" * 16384 for _ in range(2 * ADMIN_LIMIT // 16384))  # no Content-Length
    response = server.admin("PUT", "/_admin/scenario", data=chunks,
                            headers={"Content-Type": "application/yaml"})
    assert "SIM_ADMIN_MAX_REQUEST_BYTES), this one has more" in json_answer(response, 413)


def test_a_refused_value_is_quoted_not_echoed_whole(server):
    value = "2" * (ADMIN_LIMIT - 100)
    response = server.admin("PUT", "/_admin/clock", json={"now": value})
    error = json_answer(response, 400)
    assert "must be an ISO-8601" in error and "characters left out" in error
    assert len(response.content) < 2000


def test_a_yaml_alias_bomb_is_refused_small(server):
    assert len(ALIAS_BOMB) < 400
    response = server.put_yaml(ALIAS_BOMB)
    error = json_answer(response, 400)
    assert "once its aliases (*name) are expanded" in error
    assert len(response.content) < 2000
    assert server.admin("GET", "/_admin/scenario").json() == {"active": False}
    assert len(server.admin("GET", "/_admin/").content) < 1_000_000


def test_aliases_that_repeat_a_block_are_still_accepted(server):
    text = ("name: anchors\nrules:\n- name: a\n  match: &m {service: insi}\n"
            "  action: {fault: desir_1020}\n  probability: 0\n"
            "- name: b\n  match: *m\n  action: {fault: desir_1020}\n  probability: 0\n")
    try:
        assert server.activate(text)["rules"][1]["match"] == {"service": ["insi"]}
    finally:
        server.admin("DELETE", "/_admin/scenario")


@pytest.mark.parametrize("depth", [25, 30_000])
def test_deeply_nested_yaml_gets_a_json_400(server, depth):
    error = json_answer(server.put_yaml("name: deep\nrules: " + "[" * depth + "]" * depth), 400)
    assert "nested more than 20 levels deep" in error


def test_an_unknown_admin_path_and_a_wrong_method_answer_in_json(server):
    assert "Not found" in json_answer(server.admin("GET", "/_admin/nothing"), 404)
    assert "not allowed" in json_answer(server.admin("PATCH", "/_admin/clock"), 405)


# --- cross-site and DNS rebinding ----------------------------------------------------------

@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "text/plain"])
def test_a_form_or_text_post_is_refused_without_a_token(server, content_type):
    """What an HTML form, or fetch() without a preflight, can make a browser send."""
    response = server.admin("POST", "/_admin/reset", data=b"a=b",
                            headers={"Content-Type": content_type})
    assert "cross-site request guard" in json_answer(response, 415)


def test_a_change_from_a_foreign_origin_is_refused(server):
    response = server.admin("POST", "/_admin/reset", headers={"Origin": "http://evil.example"})
    assert "evil.example" in json_answer(response, 403)
    allowed = server.admin("POST", "/_admin/reset",
                           headers={"Origin": f"http://localhost:{server.port}"})
    assert allowed.status_code == 200, allowed.text


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "192.168.1.20"])
def test_a_foreign_host_cannot_read_the_journal(server, host):
    """DNS rebinding: the page's own name comes in the Host header."""
    response = server.admin("GET", "/_admin/journal", headers={"Host": host})
    assert "DNS rebinding guard" in json_answer(response, 403)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "app.localhost"])
def test_loopback_host_names_are_served(server, host):
    response = server.admin("GET", "/_admin/journal",
                            headers={"Host": f"{host}:{server.port}"})
    assert response.status_code == 200, response.text


def test_health_stays_open_to_probes_with_any_host(server):
    assert server.admin("GET", "/_admin/health", headers={"Host": "sim.internal"}) \
        .status_code == 200


def local_call(client: Client, method: str, path: str, **kwargs):
    """An in-process request that looks like it came from 127.0.0.1."""
    return client.open(path, method=method, environ_base={"REMOTE_ADDR": "127.0.0.1"},
                       **kwargs)


def test_with_a_token_the_browser_guard_steps_aside(tmp_path):
    """A token is what a browser page cannot send: host names and body types are then
    the caller's business (reverse proxies, containers)."""
    client = Client(create_app(Settings(data_dir=tmp_path, population=0,
                                        admin_token="s3cret")))
    auth = {"Authorization": "Bearer s3cret", "Host": "sim.example.org"}
    assert local_call(client, "GET", "/_admin/journal", headers=auth).status_code == 200
    assert local_call(client, "POST", "/_admin/reset", headers=auth, data="x",
                      content_type="text/plain").status_code == 200
    assert local_call(client, "GET", "/_admin/journal",
                      headers={"Host": "sim.example.org"}).status_code == 401


def test_sim_admin_hosts_names_more_hosts(tmp_path):
    client = Client(create_app(Settings(data_dir=tmp_path, population=0,
                                        admin_hosts=("sim.lan",))))
    assert local_call(client, "GET", "/_admin/journal",
                      headers={"Host": "sim.lan:8080"}).status_code == 200
    assert local_call(client, "GET", "/_admin/journal",
                      headers={"Host": "other.lan"}).status_code == 403


# --- Host header injection into the WSDL -----------------------------------------------

INJECTIONS = ['evil"/><injected xmlns="urn:x"/><x a="', "a.example<injected/>",
              "a.example&amp;"]


@pytest.mark.parametrize("host", INJECTIONS)
@pytest.mark.parametrize("path", ["/lps?wsdl", "/si-dmp-server/v2/services/registry?wsdl"])
def test_a_host_header_cannot_inject_markup_into_the_wsdl(server, host, path):
    sock = connect(server)
    try:
        sock.sendall(http_head("GET", path, {"Host": host, "Connection": "close"}))
        status, _, body = read_answer(sock)
    finally:
        sock.close()
    if status == 400:  # refused by the HTTP parser: nothing served, nothing injected
        return
    assert status == 200, body[:300]
    wsdl = etree.fromstring(body)
    assert not [e for e in wsdl.iter() if "injected" in str(e.tag)]
    address = wsdl.find(".//{http://schemas.xmlsoap.org/wsdl/soap12/}address").get("location")
    assert address == f"http://127.0.0.1:{server.port}{path.split('?')[0]}", address


def test_a_plain_host_header_is_still_the_served_address(server):
    response = requests.get(server.url("/lps?wsdl"), timeout=HANG_GUARD,
                            headers={"Host": "sim.example.org:9000"})
    assert b'location="http://sim.example.org:9000/lps"' in response.content
