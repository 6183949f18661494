"""Keyway called from a real browser: headless Chromium through Selenium.

A tiny http.server serves a blank page on its own loopback port. Keyway runs
with ``--cors-allow-origins http://127.0.0.1:<page port>``, so a page from
that origin may call it (fetch with a bearer token, EventSource with
``?_token=``), while the same page loaded as ``http://localhost:<page port>``
is another origin, not listed: the browser blocks its reads, and the server
refuses what the browser sends without asking first (a text/plain POST, an
``<img>`` GET that writes).

Needs Debian's ``chromium`` and ``chromium-driver`` (``make test-deps``) and
selenium; skipped, with the reason, only when Chromium cannot start.
"""

from __future__ import annotations

import http.server
import shutil
import threading
import time

import pytest
import requests

from conftest import free_port, start_server

PAGE = b"<!doctype html><html><head><title>keyway cors</title></head><body>page</body></html>"


class _PageHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's spelling)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def page_port():
    port = free_port()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), _PageHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def keyway(page_port):
    srv = start_server("--cors-allow-origins", f"http://127.0.0.1:{page_port}")
    try:
        yield srv
    finally:
        srv.cleanup()


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:  # pragma: no cover - requirements.txt installs it
        pytest.skip(f"selenium is not installed: {exc}")
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_path = shutil.which("chromedriver")
    if not binary or not driver_path:
        pytest.skip("chromium and chromedriver are not installed (make test-deps installs them)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    try:
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    except Exception as exc:  # noqa: BLE001 - any failure to start means no browser here
        pytest.skip(f"chromium could not start: {exc}")
    driver.set_script_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def run_async(driver, body: str, *args):
    """Runs ``body`` (an async function body) in the page and returns its value."""
    script = "const done = arguments[arguments.length - 1];\n" \
             f"(async (...args) => {{ {body} }})(...Array.from(arguments).slice(0, -1))" \
             ".then(done, e => done({thrown: String(e)}));"
    return driver.execute_async_script(script, *args)


def wait_for(driver, expression: str, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(f"return {expression};")
        if value:
            return value
        time.sleep(0.05)
    return driver.execute_script(f"return {expression};")


def test_an_allowed_origin_reads_writes_and_subscribes(browser, keyway, page_port):
    keyway.command("SET", "greeting", "hello from keyway")
    browser.get(f"http://127.0.0.1:{page_port}/")
    reply = run_async(browser, """
        const [base, token] = args;
        const r = await fetch(base + "/get/greeting", {headers: {Authorization: "Bearer " + token}});
        return {status: r.status, body: await r.json(), sync: r.headers.get("Upstash-Sync-Token")};
    """, keyway.url, keyway.token)
    assert reply["status"] == 200, reply
    assert reply["body"] == {"result": "hello from keyway"}
    assert reply["sync"] is not None, "Upstash-Sync-Token is exposed to the page"

    # A JSON POST (preflighted) writes.
    reply = run_async(browser, """
        const [base, token] = args;
        const r = await fetch(base + "/", {method: "POST", body: JSON.stringify(["SET", "from-browser", "yes"]),
            headers: {Authorization: "Bearer " + token, "Content-Type": "application/json"}});
        return {status: r.status, body: await r.json()};
    """, keyway.url, keyway.token)
    assert reply == {"status": 200, "body": {"result": "OK"}}
    assert keyway.command("GET", "from-browser").json() == {"result": "yes"}

    # A 401 is readable too: the CORS headers come before authentication.
    reply = run_async(browser, """
        const [base] = args;
        const r = await fetch(base + "/v1/keys/greeting");
        return {status: r.status, body: await r.json()};
    """, keyway.url)
    assert reply["status"] == 401 and reply["body"]["code"] == "UNAUTHORIZED", reply

    # EventSource cannot set headers: the token rides in ?_token=.
    browser.execute_script("""
        const [base, token] = arguments;
        window.received = [];
        window.subscribed = false;
        window.sseError = null;
        const source = new EventSource(base + "/v1/subscribe?channel=browser-news&_token=" + token);
        source.addEventListener("subscribe", () => { window.subscribed = true; });
        source.addEventListener("message", e => { window.received.push(JSON.parse(e.data)); });
        source.onerror = () => { window.sseError = "error, readyState " + source.readyState; };
        window.source = source;
    """, keyway.url, keyway.token)
    assert wait_for(browser, "window.subscribed"), browser.execute_script("return window.sseError;")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not browser.execute_script("return window.received.length;"):
        keyway.command("PUBLISH", "browser-news", "breaking")
        time.sleep(0.2)
    received = browser.execute_script("window.source.close(); return window.received;")
    assert received and received[0]["channel"] == "browser-news" and received[0]["message"] == "breaking", received


def test_a_read_only_token_reads_follows_and_is_refused_writes(browser, keyway, page_port):
    """Upstash's read-only token, as one ACL user and one issued token: the
    page reads, subscribes to a channel, follows a consumer group, and every
    write it tries is 403 NOPERM, readable by the page."""
    rules = ["on", "+@read", "+subscribe", "+xreadgroup", "-@dangerous", "-keys", "-scan", "~*", "&*"]
    assert keyway.command("ACL", "SETUSER", "browser", *rules).json() == {"result": "OK"}
    created = requests.post(keyway.url + "/v1/acl/tokens", json={"user": "browser", "ttl": 600}, headers=keyway.auth, timeout=5)
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    keyway.command("SET", "greeting", "hello, read-only")
    keyway.command("DEL", "jobs")
    keyway.command("XGROUP", "CREATE", "jobs", "workers", "$", "MKSTREAM")
    browser.get(f"http://127.0.0.1:{page_port}/")
    reply = run_async(browser, """
        const [base, token] = args;
        const headers = {Authorization: "Bearer " + token, "Content-Type": "application/json"};
        const read = await fetch(base + "/get/greeting", {headers});
        const write = await fetch(base + "/", {method: "POST", headers, body: JSON.stringify(["SET", "greeting", "defaced"])});
        const put = await fetch(base + "/v1/keys/greeting", {method: "PUT", headers, body: JSON.stringify({value: "defaced"})});
        return {read: [read.status, await read.json()], write: [write.status, await write.json()], put: [put.status, await put.json()]};
    """, keyway.url, token)
    assert reply["read"] == [200, {"result": "hello, read-only"}], reply
    assert reply["write"] == [403, {"error": "NOPERM User browser has no permissions to run the 'set' command"}], reply
    assert reply["put"][0] == 403 and reply["put"][1]["code"] == "NOPERM", reply
    assert keyway.command("GET", "greeting").json() == {"result": "hello, read-only"}

    browser.execute_script("""
        const [base, token] = arguments;
        window.news = []; window.entries = []; window.ready = 0; window.sseErrors = [];
        const channel = new EventSource(base + "/v1/subscribe?channel=ro-news&_token=" + token);
        channel.addEventListener("subscribe", () => { window.ready += 1; });
        channel.addEventListener("message", e => { window.news.push(JSON.parse(e.data)); });
        channel.onerror = () => window.sseErrors.push("channel " + channel.readyState);
        const group = new EventSource(base + "/v1/streams/jobs/groups/workers/events?consumer=page&ack=manual&_token=" + token);
        group.onopen = () => { window.ready += 1; };
        group.addEventListener("entry", e => { window.entries.push(JSON.parse(e.data)); });
        group.onerror = () => window.sseErrors.push("group " + group.readyState);
        window.sources = [channel, group];
    """, keyway.url, token)
    assert wait_for(browser, "window.ready >= 2"), browser.execute_script("return window.sseErrors;")
    deadline = time.monotonic() + 10
    keyway.command("XADD", "jobs", "*", "task", "resize")
    while time.monotonic() < deadline and not (browser.execute_script("return window.news.length && window.entries.length;")):
        keyway.command("PUBLISH", "ro-news", "update")
        time.sleep(0.2)
    news, entries = browser.execute_script("window.sources.forEach(s => s.close()); return [window.news, window.entries];")
    assert news and news[0]["message"] == "update", news
    assert entries and entries[0]["fields"] == {"task": "resize"}, entries


def test_an_origin_not_listed_is_blocked_and_refused(browser, keyway, page_port):
    keyway.command("SET", "greeting", "secret")
    keyway.command("DEL", "pwned", "img-pwned")
    # The same page server, but http://localhost:<port> is another origin, not listed.
    browser.get(f"http://localhost:{page_port}/")
    reply = run_async(browser, """
        const [base, token] = args;
        try {
            await fetch(base + "/get/greeting", {headers: {Authorization: "Bearer " + token}});
            return "read";
        } catch (e) {
            return "rejected: " + e;
        }
    """, keyway.url, keyway.token)
    assert reply.startswith("rejected"), reply

    # A "simple" POST needs no preflight: the browser sends it, the server refuses it.
    reply = run_async(browser, """
        const [base, token] = args;
        await fetch(base + "/?_token=" + token, {method: "POST", mode: "no-cors", body: JSON.stringify(["SET", "pwned", "1"])});
        return "sent";
    """, keyway.url, keyway.token)
    assert reply == "sent"
    # An <img> GET carries no Origin; Sec-Fetch-Site says cross-site.
    run_async(browser, """
        const [base, token] = args;
        await new Promise(resolve => {
            const img = new Image();
            img.onload = img.onerror = resolve;
            img.src = base + "/set/img-pwned/1?_token=" + token;
        });
        return "loaded";
    """, keyway.url, keyway.token)
    assert keyway.command("EXISTS", "pwned", "img-pwned").json() == {"result": 0}

    # What the server answered, seen from outside the browser.
    r = requests.post(keyway.url + "/", data='["SET","pwned","1"]', timeout=5,
                      headers={**keyway.auth, "Origin": f"http://localhost:{page_port}", "Content-Type": "text/plain"})
    assert r.status_code == 403 and "not allowed" in r.json()["error"], r.text
