"""The control plane of the real server bound to every interface (issue 7): a client
on the network cannot move the clock or wipe the data without the token."""
from __future__ import annotations

import socket

import pytest
import requests

from server_process import spawn_server


def lan_address() -> str | None:
    """This machine's address on its network (no packet is sent), or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the route
            address = probe.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


@pytest.fixture(scope="module")
def lan():
    address = lan_address()
    if address is None:
        pytest.skip("no non-loopback IPv4 address on this machine")
    return address


@pytest.mark.parametrize("token", [None, "s3cret"])
def test_serve_on_all_interfaces_guards_the_control_plane(tmp_path, lan, token):
    env = {"SIM_ADMIN_TOKEN": token} if token else {}
    server = spawn_server(tmp_path, f"guarded-{bool(token)}", "--host", "0.0.0.0",
                          "--date", "2023-01-15T10:00:00Z", workers=1, population=50,
                          env=env)
    try:
        server.wait_healthy()
        remote = f"http://{lan}:{server.port}"
        assert requests.get(f"{remote}/_admin/health", timeout=5).status_code == 200
        moved = requests.put(f"{remote}/_admin/clock", json={"now": "2030-01-01T00:00:00Z"},
                             timeout=5)
        wiped = requests.post(f"{remote}/_admin/reset", timeout=5)
        assert (moved.status_code, wiped.status_code) == ((401, 401) if token else (403, 403))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        clock = requests.get(f"http://127.0.0.1:{server.port}/_admin/clock", headers=headers,
                             timeout=5)
        assert clock.status_code == 200 and clock.json()["now"].startswith("2023-01-15")
        if token:
            allowed = requests.put(f"{remote}/_admin/clock", headers=headers, timeout=5,
                                   json={"now": "2030-01-01T00:00:00Z"})
            assert allowed.status_code == 200 and allowed.json()["now"].startswith("2030")
    finally:
        server.stop()
