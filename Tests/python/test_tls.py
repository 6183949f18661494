"""HTTPS on libmicrohttpd's own TLS (GnuTLS): a throwaway CA, server and
client certificates made with ``openssl`` at test time; the HTTPS port
beside the plain one (curl, httpx, the upstash-redis SDK, SSE over HTTPS
while publishing over HTTP), an HTTPS-only server (``--port 0``), client
certificates (``tls-auth-clients`` yes / optional), SIGHUP reloading the
certificate under an open keep-alive connection, and refusing to start on
unreadable or unparsable files.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pytest
from httpx_sse import connect_sse

from conftest import TOKEN, free_port, require_keyway_bin, start_server

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


class PKI:
    """A CA, two server certificates (serials 1001, 1002) for 127.0.0.1 and
    localhost, a client certificate from the CA and a self-signed rogue one."""

    def __init__(self, directory: Path):
        self.dir = directory
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
                "-days", "2", "-subj", "/CN=Keyway Test CA", cwd=directory)
        (directory / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        for name, serial in (("server1", "0x1001"), ("server2", "0x1002")):
            self._issue(name, "/CN=localhost", serial, extfile="server.ext")
        self._issue("client", "/CN=keyway-client", "0x2001")
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rogue.key", "-out", "rogue.pem",
                "-days", "2", "-subj", "/CN=rogue", cwd=directory)

    def _issue(self, name: str, subject: str, serial: str, extfile: str | None = None) -> None:
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", subject, cwd=self.dir)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", serial,
                "-days", "2", "-out", f"{name}.pem", *(["-extfile", extfile] if extfile else []), cwd=self.dir)

    @property
    def ca(self) -> str:
        return str(self.dir / "ca.pem")

    def path(self, name: str) -> str:
        return str(self.dir / name)

    def server_files(self) -> tuple[str, str]:
        """A private copy of server1's certificate and key, which a test may
        overwrite before sending SIGHUP."""
        target = Path(tempfile.mkdtemp(prefix="keyway-tls-", dir=self.dir))
        shutil.copy(self.dir / "server1.pem", target / "cert.pem")
        shutil.copy(self.dir / "server1.key", target / "key.pem")
        return str(target / "cert.pem"), str(target / "key.pem")


@pytest.fixture(scope="module")
def pki():
    directory = Path(tempfile.mkdtemp(prefix="keyway-pki-"))
    try:
        yield PKI(directory)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def tls_args(pki: PKI, port: int, *extra: str) -> list[str]:
    cert, key = pki.server_files()
    return ["--tls-port", str(port), "--tls-cert-file", cert, "--tls-key-file", key, *extra]


@pytest.fixture(scope="module")
def tls_server(pki):
    port = free_port()
    server = start_server(*tls_args(pki, port))
    server.tls_url = f"https://127.0.0.1:{port}"
    server.tls_port = port
    try:
        yield server
    finally:
        server.stop()
        server.cleanup()


def curl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True)


def peer_serial(port: int, ca: str, host: str = "127.0.0.1") -> str:
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection((host, port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.getpeercert()["serialNumber"]


def test_curl_over_https_and_plain_side_by_side(tls_server, pki):
    r = curl("--cacert", pki.ca, "-H", f"Authorization: Bearer {TOKEN}",
             "-d", '["SET","tls:k","over https"]', tls_server.tls_url + "/")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"result": "OK"}
    # The same store answers on the plain port.
    assert tls_server.command("GET", "tls:k").json() == {"result": "over https"}
    r = curl("--cacert", pki.ca, "-H", f"Authorization: Bearer {TOKEN}", tls_server.tls_url + "/get/tls:k")
    assert json.loads(r.stdout) == {"result": "over https"}
    # localhost is in the certificate too.
    r = curl("--cacert", pki.ca, f"https://localhost:{tls_server.tls_port}/healthz", "-o", "/dev/null", "-w", "%{http_code}")
    assert r.stdout == "200", r.stderr
    # Without the CA, curl refuses the certificate.
    r = curl(tls_server.tls_url + "/healthz")
    assert r.returncode != 0
    # Plain HTTP to the TLS port is not answered as HTTP.
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{tls_server.tls_port}/healthz", timeout=3)


def test_httpx_keep_alive_and_resource_api(tls_server, pki):
    with httpx.Client(verify=ssl.create_default_context(cafile=pki.ca), headers=AUTH, timeout=10) as client:
        for index in range(20):
            r = client.post(tls_server.tls_url + "/", json=["INCR", "tls:counter"])
            assert r.status_code == 200 and r.json() == {"result": index + 1}
        r = client.get(tls_server.tls_url + "/v1/keys/tls:counter")
        assert r.status_code == 200
        missing = client.get(tls_server.tls_url + "/v1/keys/tls:nope")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("application/problem+json")
    # The token is checked on HTTPS as on HTTP.
    r = httpx.get(tls_server.tls_url + "/get/tls:counter", verify=ssl.create_default_context(cafile=pki.ca))
    assert r.status_code == 401


def test_upstash_sdk_over_https(tls_server, pki, monkeypatch):
    from upstash_redis import Redis

    # The SDK's httpx client trusts SSL_CERT_FILE.
    monkeypatch.setenv("SSL_CERT_FILE", pki.ca)
    redis = Redis(url=tls_server.tls_url, token=TOKEN, rest_retries=0, allow_telemetry=False)
    assert redis.set("tls:sdk", "value") is True
    assert redis.get("tls:sdk") == "value"
    assert redis.hset("tls:hash", values={"a": "1", "b": "2"}) == 2
    pipe = redis.pipeline()
    pipe.incr("tls:sdk:n")
    pipe.hgetall("tls:hash")
    assert pipe.exec() == [1, {"a": "1", "b": "2"}]


def test_sse_over_https_while_publishing_over_http(tls_server, pki):
    events: list = []
    opened = threading.Event()
    got = threading.Event()
    client = httpx.Client(verify=ssl.create_default_context(cafile=pki.ca), timeout=httpx.Timeout(10.0, read=30.0))

    def run() -> None:
        try:
            with connect_sse(client, "GET", tls_server.tls_url + "/v1/subscribe?channel=tls-news", headers=AUTH) as source:
                assert source.response.status_code == 200
                for event in source.iter_sse():
                    if event.data.startswith("subscribe,") or event.event == "subscribe":
                        opened.set()
                    if event.event == "message":
                        events.append(json.loads(event.data))
                        got.set()
                        return
        except Exception as exc:  # noqa: BLE001
            events.append(exc)
        finally:
            opened.set()
            got.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert opened.wait(10)
        deadline = time.monotonic() + 5
        while tls_server.command("PUBSUB", "NUMSUB", "tls-news").json()["result"][1] == 0:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert tls_server.command("PUBLISH", "tls-news", "hello over tls").json() == {"result": 1}
        assert got.wait(10)
        assert events == [{"channel": "tls-news", "pattern": None, "message": "hello over tls", "encoding": "utf-8"}]
    finally:
        thread.join(timeout=5)
        client.close()


def test_sighup_reloads_certificate_and_keeps_open_connections(pki):
    port = free_port()
    cert, key = pki.server_files()
    server = start_server("--tls-port", str(port), "--tls-cert-file", cert, "--tls-key-file", key)
    try:
        assert peer_serial(port, pki.ca) == "1001"
        context = ssl.create_default_context(cafile=pki.ca)
        kept = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        kept.request("GET", "/ping", headers=AUTH)
        response = kept.getresponse()
        assert response.status == 200 and json.loads(response.read()) == {"result": "PONG"}
        assert kept.sock.getpeercert()["serialNumber"] == "1001"

        shutil.copy(pki.path("server2.pem"), cert)
        shutil.copy(pki.path("server2.key"), key)
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "reloaded the TLS certificate" not in server.log_tail(20000):
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.05)

        assert peer_serial(port, pki.ca) == "1002"
        # The connection opened before the reload still answers, on its old session.
        kept.request("GET", "/ping", headers=AUTH)
        response = kept.getresponse()
        assert response.status == 200 and json.loads(response.read()) == {"result": "PONG"}
        assert kept.sock.getpeercert()["serialNumber"] == "1001"
        kept.close()

        # A bad file on reload keeps the current certificate.
        Path(cert).write_text("not a certificate\n")
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "TLS certificate not reloaded" not in server.log_tail(20000):
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.05)
        assert peer_serial(port, pki.ca) == "1002"
        assert server.process.poll() is None
        assert server.command("PING").json() == {"result": "PONG"}
    finally:
        server.stop()
        server.cleanup()


def test_sighup_without_tls_is_ignored():
    server = start_server()
    try:
        server.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while "received SIGHUP" not in server.log_tail(20000):
            assert time.monotonic() < deadline, server.log_tail()
            time.sleep(0.05)
        assert server.process.poll() is None
        assert server.command("PING").json() == {"result": "PONG"}
    finally:
        server.stop()
        server.cleanup()


def start_raw(*args: str) -> tuple[subprocess.Popen, Path]:
    log = Path(tempfile.mkstemp(prefix="keyway-tls-", suffix=".log")[1])
    with open(log, "wb") as out:
        proc = subprocess.Popen([str(require_keyway_bin()), "serve", "--token", TOKEN, *args],
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=tempfile.mkdtemp(prefix="keyway-test-cwd-"))
    return proc, log


def stop_raw(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_https(url: str, ca: str, proc: subprocess.Popen, log: Path, **kwargs) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(url + "/readyz", verify=ssl.create_default_context(cafile=ca), timeout=1, **kwargs).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("HTTPS did not come up:\n" + log.read_text())


def test_https_only_with_port_zero(pki):
    port = free_port()
    proc, log = start_raw("--port", "0", *tls_args(pki, port))
    try:
        wait_https(f"https://127.0.0.1:{port}", pki.ca, proc, log)
        r = httpx.post(f"https://127.0.0.1:{port}/", json=["PING"], headers=AUTH,
                       verify=ssl.create_default_context(cafile=pki.ca))
        assert r.json() == {"result": "PONG"}
        r = httpx.post(f"https://127.0.0.1:{port}/", json=["INFO", "server"], headers=AUTH,
                       verify=ssl.create_default_context(cafile=pki.ca))
        assert f"tls_port:{port}" in r.json()["result"]
        assert "listening for HTTPS" in log.read_text()
        assert "] listening\n" not in log.read_text().replace("[KeywayHTTP] listening for", "")
    finally:
        stop_raw(proc)
        log.unlink(missing_ok=True)


def client_context(pki: PKI, cert: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=pki.ca)
    if cert:
        context.load_cert_chain(pki.path(f"{cert}.pem"), pki.path(f"{cert}.key"))
    return context


def https_status(url: str, pki: PKI, cert: str | None) -> int | str:
    try:
        r = httpx.get(url, headers=AUTH, verify=client_context(pki, cert), timeout=5)
    except httpx.HTTPError as exc:
        return f"refused: {exc!r}"
    return r.status_code if r.status_code != 200 else 200


@pytest.mark.parametrize("mode", ["yes", "optional"])
def test_client_certificates(pki, mode):
    port = free_port()
    server = start_server(*tls_args(pki, port, "--tls-ca-cert-file", pki.ca, "--tls-auth-clients", mode))
    url = f"https://127.0.0.1:{port}/get/tls:client"
    try:
        assert https_status(url, pki, "client") == 200
        rogue = https_status(url, pki, "rogue")
        assert rogue == 403
        r = httpx.get(url, headers=AUTH, verify=client_context(pki, "rogue"))
        assert r.json()["code"] == "CLIENT_CERTIFICATE_INVALID"
        without = https_status(url, pki, None)
        if mode == "yes":
            assert without == 401
            r = httpx.get(url, headers=AUTH, verify=client_context(pki, None))
            assert r.json()["code"] == "CLIENT_CERTIFICATE_REQUIRED"
            assert r.headers["connection"].lower() == "close"
            # curl too, with and without its certificate.
            r = curl("--cacert", pki.ca, "-o", "/dev/null", "-w", "%{http_code}", url)
            assert r.stdout == "401"
            r = curl("--cacert", pki.ca, "--cert", pki.path("client.pem"), "--key", pki.path("client.key"),
                     "-H", f"Authorization: Bearer {TOKEN}", "-o", "/dev/null", "-w", "%{http_code}", url)
            assert r.stdout == "200"
        else:
            assert without == 200
        # The plain port never asks for a certificate.
        assert server.command("PING").json() == {"result": "PONG"}
    finally:
        server.stop()
        server.cleanup()


def failed_start(*args: str) -> str:
    proc = subprocess.run([str(require_keyway_bin()), "serve", "--port", str(free_port()), *args],
                          capture_output=True, text=True, timeout=30, cwd=tempfile.mkdtemp(prefix="keyway-test-cwd-"))
    assert proc.returncode != 0
    return proc.stdout + proc.stderr


def test_refuses_to_start_on_bad_certificate_files(pki, tmp_path):
    port = str(free_port())
    out = failed_start("--tls-port", port, "--tls-cert-file", str(tmp_path / "missing.pem"), "--tls-key-file", pki.path("server1.key"))
    assert "tls-cert-file" in out and "missing.pem" in out and "cannot read" in out

    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n")
    out = failed_start("--tls-port", port, "--tls-cert-file", str(garbage), "--tls-key-file", pki.path("server1.key"))
    assert "tls-cert-file" in out and "not a PEM certificate" in out

    out = failed_start("--tls-port", port, "--tls-cert-file", pki.path("server1.pem"), "--tls-key-file", str(garbage))
    assert "tls-key-file" in out and "not a PEM private key" in out

    out = failed_start("--tls-port", port, "--tls-cert-file", pki.path("server1.pem"), "--tls-key-file", pki.path("client.key"))
    assert "does not go with" in out

    out = failed_start("--tls-port", port, "--tls-cert-file", pki.path("server1.pem"))
    assert "needs tls-cert-file and tls-key-file" in out

    out = failed_start("--tls-port", port, "--tls-cert-file", pki.path("server1.pem"), "--tls-key-file", pki.path("server1.key"),
                       "--tls-auth-clients", "yes")
    assert "needs tls-ca-cert-file" in out

    out = failed_start("--tls-port", port, "--tls-cert-file", pki.path("server1.pem"), "--tls-key-file", pki.path("server1.key"),
                       "--tls-auth-clients", "sometimes")
    assert "tls-auth-clients" in out


def test_tls_settings_from_the_config_file(pki, tmp_path):
    port = free_port()
    cert, key = pki.server_files()
    config = tmp_path / "keyway.conf"
    config.write_text(f"requirepass {TOKEN}\ntls-port {port}\ntls-cert-file {cert}\ntls-key-file {key}\n"
                      f"tls-ca-cert-file {pki.ca}\ntls-auth-clients optional\n")
    server = start_server("--config", str(config), token_flag=False)
    try:
        r = httpx.post(f"https://127.0.0.1:{port}/", json=["CONFIG", "GET", "port"], headers=AUTH,
                       verify=client_context(pki, "client"))
        assert r.status_code == 200
        assert https_status(f"https://127.0.0.1:{port}/ping", pki, "rogue") == 403
    finally:
        server.stop()
        server.cleanup()
