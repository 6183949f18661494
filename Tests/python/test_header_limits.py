"""Request headers live in libmicrohttpd's per-connection pool
(`client-header-buffer`, 7 KiB by default, which is also what an idle
connection costs): headers of a few KiB, a large JWT or cookie, are served;
headers that do not fit are answered 431 Request Header Fields Too Large
and the connection closed; bodies are not limited by the pool at all."""

from __future__ import annotations

import socket
import subprocess

import requests

from conftest import TOKEN, require_keyway_bin, start_server


def raw_exchange(port: int, request: bytes) -> bytes:
    """Sends one request and reads until the server closes or answers a
    complete response (Content-Length)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:") and len(body) >= int(line.split(b":")[1]):
                    return data
        return data


def request_with(header_lines: list[bytes]) -> bytes:
    return (b"GET /v1/keys/k HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN.encode() + b"\r\n"
            + b"".join(line + b"\r\n" for line in header_lines) + b"\r\n")


def test_a_large_token_and_cookie_are_served_on_a_kept_alive_connection(server):
    # A 1.8 KB signed token beside a 1.6 KB cookie (which libmicrohttpd
    # copies into the pool once more, to parse it) and a browser's headers.
    headers = {
        "Authorization": f"Bearer {server.token}",
        "X-Forwarded-Authorization": "Bearer " + "eyJhbGciOiJSUzI1NiJ9." + "a" * 1800,
        "Cookie": "session=" + "c" * 1600,
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Language": "en-GB,en;q=0.9",
    }
    with requests.Session() as session:
        for index in range(3):
            assert session.put(f"{server.url}/v1/keys/big-headers", json={"value": f"v{index}"}, headers=headers,
                               timeout=10).status_code in (200, 201, 204)
            got = session.get(f"{server.url}/v1/keys/big-headers", headers=headers, timeout=10)
            assert got.status_code == 200 and got.json()["value"] == f"v{index}"


def test_a_single_header_of_six_thousand_bytes_is_served(server):
    answer = raw_exchange(server.port, request_with([b"X-Large: " + b"x" * 6000]))
    assert answer.startswith(b"HTTP/1.1 404"), answer[:200]


def test_headers_too_large_for_the_pool_get_431_and_the_connection_closes(server):
    for lines in ([b"Cookie: " + b"c" * 16_000], [b"X-Many-%d: %s" % (i, b"v" * 60) for i in range(200)]):
        answer = raw_exchange(server.port, request_with(lines))
        assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    # The server goes on serving.
    assert requests.get(server.url + "/healthz", timeout=10).status_code == 200


def test_request_bodies_are_not_limited_by_the_header_buffer(server):
    value = bytes(range(256)) * 16 * 1024  # 4 MiB
    put = requests.put(f"{server.url}/v1/keys/big-body", data=value, headers={**server.auth, "Content-Type": "application/octet-stream"},
                       timeout=60)
    assert put.status_code in (200, 201, 204), put.text
    got = requests.get(f"{server.url}/v1/keys/big-body", headers={**server.auth, "Accept": "application/octet-stream"}, timeout=60)
    assert got.status_code == 200 and got.content == value


def test_a_larger_client_header_buffer_admits_larger_headers():
    server = start_server("--client-header-buffer", "32768")
    try:
        answer = raw_exchange(server.port, request_with([b"X-Large: " + b"x" * 16_000]))
        assert answer.startswith(b"HTTP/1.1 404"), answer[:200]
        assert raw_exchange(server.port, request_with([b"X-Large: " + b"x" * 40_000])).startswith(b"HTTP/1.1 431 ")
    finally:
        server.cleanup()


def test_a_client_header_buffer_below_4096_is_refused():
    done = subprocess.run([str(require_keyway_bin()), "serve", "--port", "0", "--client-header-buffer", "1024"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert "client-header-buffer" in done.stderr


def test_headers_that_leave_no_room_for_the_answer_get_a_problem_431(server):
    """Headers that fit the buffer but would leave too little of it for the
    response's own headers (libmicrohttpd then closes the connection
    without an answer) are answered 431 HEADERS_TOO_LARGE by Keyway."""
    answer = raw_exchange(server.port, request_with([b"X-Large: " + b"x" * 6680]))
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"application/problem+json" in answer
    assert b'"code":"HEADERS_TOO_LARGE"' in answer
    assert b"Connection: close" in answer
