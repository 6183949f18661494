"""The dashboard at /ui, driven in a real headless Chromium through Selenium
against a live server holding data of every type: signing in, browsing and
filtering keys, opening each type, editing a hash field and its TTL, the
console, streams' consumer groups, MONITOR, pub/sub, live charts, the slow
log, clients, memory analysis and the config, a read-only user, a
phone-wide window, and no JavaScript errors.

With ``KEYWAY_SCREENSHOTS=<dir>`` set, the main views are saved there as
PNGs (``KEYWAY_SCREENSHOTS=docs/images`` refreshes the README's).

Needs Debian's ``chromium`` and ``chromium-driver`` and selenium; skipped,
with the reason, only when Chromium cannot start.

In cluster mode (``KEYWAY_TEST_BACKEND=cluster``) the data holds only what
Redis 7.0 nodes store (no JSON document), and ``cluster_skips.py`` names the
tests that need what the cluster lacks, with the reason.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
import requests

from conftest import CLUSTER_MODE, TOKEN, start_server

READER = ("reader", "readerpw")
SCREENSHOTS = os.environ.get("KEYWAY_SCREENSHOTS")


@pytest.fixture(scope="module")
def keyway(tmp_path_factory):
    config = tmp_path_factory.mktemp("dashboard") / "keyway.conf"
    # The reader may look at everything the Live and Diagnose views show,
    # and change nothing.
    config.write_text(f"user {READER[0]} on >{READER[1]} ~* &* +@read +info +monitor +subscribe +psubscribe "
                      "+slowlog|get +slowlog|len +client|list +config|get\n")
    server = start_server("--config", str(config))
    try:
        seed(server)
        yield server
    finally:
        server.cleanup()


def seed(server) -> None:
    commands = [
        ["SET", "greeting", "hello from keyway"],
        ["SET", "config:flags", '{"beta":true,"limits":{"rps":100}}'],
        ["HSET", "user:1", "name", "Ada Lovelace", "email", "ada@example.com", "role", "admin"],
        ["HSET", "user:2", "name", "Grace Hopper", "email", "grace@example.com"],
        ["EXPIRE", "user:2", "86400"],
        ["RPUSH", "queue:jobs", "resize:1", "resize:2", "email:7"],
        ["SADD", "tags:rust", "alice", "bob", "carol"],
        ["ZADD", "leaderboard", "2300", "player2", "1800", "player3", "1500", "player1"],
        ["XADD", "events", "1-1", "type", "login", "user", "ada"],
        ["XADD", "events", "2-1", "type", "logout", "user", "ada"],
        ["XGROUP", "CREATE", "events", "workers", "0"],
        ["XREADGROUP", "GROUP", "workers", "alice", "COUNT", "2", "STREAMS", "events", ">"],
    ] + [["SET", f"session:{i:03d}", f"s{i}"] for i in range(30)]
    if not CLUSTER_MODE:  # the cluster's Redis 7.0 nodes load no RedisJSON
        commands.append(["JSON.SET", "doc:1", "$", '{"name":"Ada","visits":3,"address":{"city":"London"}}'])
    for command in commands:
        response = server.command(*command)
        assert response.status_code == 200, (command, response.text)
    # A value that is not UTF-8 goes in through the resource API's raw body.
    response = requests.put(server.url + "/v1/keys/blob", data=bytes([0, 1, 2, 0xFF, 0xFE, 0x41]),
                            headers={**server.auth, "Content-Type": "application/octet-stream"}, timeout=5)
    assert response.status_code in (200, 201), response.text


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
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,860"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    except Exception as exc:  # noqa: BLE001 - any failure to start means no browser here
        pytest.skip(f"chromium could not start: {exc}")
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser, keyway):
    """A fresh tab state for each test: no credentials kept, laptop width,
    light colours; afterwards, no JavaScript error may have been logged."""
    if CLUSTER_MODE and keyway.command("EXISTS", "greeting").json()["result"] == 0:
        seed(keyway)  # a server another test started emptied the shared cluster
    browser.set_window_size(1280, 860)
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "light"}]})
    browser.get(keyway.url + "/ui")
    browser.execute_script("sessionStorage.clear();")
    browser.get(keyway.url + "/ui")
    browser.get_log("browser")
    yield browser
    errors = [entry for entry in browser.get_log("browser")
              # A refused request (401, 403) is logged by the network layer; the page handles it.
              if entry["level"] == "SEVERE" and entry.get("source") != "network"]
    assert not errors, f"JavaScript errors in the browser console: {errors}"


def css(driver, selector: str, timeout: float = 10.0):
    """The first element matching `selector` once it is displayed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for element in driver.find_elements("css selector", selector):
            try:
                if element.is_displayed():
                    return element
            except Exception:  # noqa: BLE001 - replaced while looking: look again
                pass
        time.sleep(0.05)
    raise AssertionError(f"nothing displayed matches {selector!r}; page says: {driver.find_element('tag name', 'body').text[:500]}")


def texts(driver, selector: str) -> list[str]:
    return [element.text for element in driver.find_elements("css selector", selector)]


def eventually(predicate, what: str, timeout: float = 10.0):
    """`predicate()` once it is truthy; an element the page replaced
    while it was read is read again."""
    from selenium.common.exceptions import StaleElementReferenceException
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except StaleElementReferenceException:
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def sign_in_with_token(driver, token: str = TOKEN) -> None:
    css(driver, "#signin-token").send_keys(token)
    css(driver, "#signin-submit").click()
    css(driver, "#key-tree .tree")


def sign_in_as(driver, name: str, password: str) -> None:
    css(driver, "#signin-mode-user").click()
    css(driver, "#signin-user").send_keys(name)
    css(driver, "#signin-password").send_keys(password)
    css(driver, "#signin-submit").click()
    css(driver, "#key-tree .tree")


def open_key(driver, key: str) -> None:
    """Clicks `key` in the tree, opening the folders on its way."""
    parts = key.split(":")
    for depth in range(1, len(parts)):
        folder = ":".join(parts[:depth]) + ":"
        found = driver.find_elements("css selector", f'details[data-folder="{folder}"]')
        if found and not found[0].get_attribute("open"):
            found[0].find_element("css selector", "summary").click()
    css(driver, f'button.key[data-key="{key}"]').click()
    eventually(lambda: driver.find_element("id", "key-title").text == key if driver.find_elements("id", "key-title") else False,
               f"{key} to open")


def screenshot(driver, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        time.sleep(0.2)  # let the last paint settle
        driver.save_screenshot(str(Path(SCREENSHOTS) / f"{name}.png"))


def test_the_files_are_served_cached_and_need_no_credentials(keyway):
    page = requests.get(keyway.url + "/ui", timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert '<script type="module" src="/ui/app.js">' in page.text
    etag = page.headers["ETag"]
    assert page.headers["Cache-Control"] == "no-cache"
    again = requests.get(keyway.url + "/ui/", headers={"If-None-Match": etag}, timeout=5)
    assert again.status_code == 304 and again.content == b""
    head = requests.head(keyway.url + "/ui/app.js", timeout=5)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["Content-Type"] == "text/javascript; charset=utf-8"
    missing = requests.get(keyway.url + "/ui/nothing.js", timeout=5)
    assert missing.status_code == 404
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert missing.json()["code"] == "NOT_FOUND"


def test_ui_no_turns_it_off():
    server = start_server("--ui", "no")
    try:
        assert requests.get(server.url + "/ui", timeout=5).status_code == 404
        assert requests.get(server.url + "/ui/app.js", timeout=5).status_code == 404
    finally:
        server.cleanup()


def test_it_is_off_beyond_loopback_without_a_password():
    server = start_server("--bind", "0.0.0.0", "--unprotected", token_flag=False)
    try:
        response = requests.get(server.url + "/ui", timeout=5)
        assert response.status_code == 404, response.text
        assert "dashboard is off" in response.json()["detail"]
        assert "the dashboard (/ui) is off" in server.log_tail()
    finally:
        server.cleanup()
    # With a token, the same listener serves it.
    server = start_server("--bind", "0.0.0.0")
    try:
        assert requests.get(server.url + "/ui", timeout=5).status_code == 200
    finally:
        server.cleanup()


def test_wrong_credentials_are_refused_and_a_token_signs_in(page):
    screenshot(page, "dashboard-signin")
    css(page, "#signin-token").send_keys("not-the-token")
    css(page, "#signin-submit").click()
    eventually(lambda: "not accepted" in css(page, "#signin-error").text, "the refusal")
    css(page, "#signin-token").clear()
    sign_in_with_token(page)
    assert css(page, "#user-name").text == "default"
    assert page.execute_script("return sessionStorage.getItem('keyway.authorization')") == f"Bearer {TOKEN}"
    # A reload keeps the tab signed in.
    page.refresh()
    css(page, "#key-tree .tree")
    css(page, "#signout").click()
    css(page, "#signin-token")
    assert page.execute_script("return sessionStorage.getItem('keyway.authorization')") is None


def test_keys_form_a_tree_and_filter_by_pattern_and_type(page):
    sign_in_with_token(page)
    eventually(lambda: "scan complete" in css(page, "#scan-status").text, "the scan to finish")
    folders = page.find_elements("css selector", "#key-tree details[data-folder]")
    assert {f.get_attribute("data-folder") for f in folders} >= {"user:", "session:"}
    session_folder = page.find_element("css selector", 'details[data-folder="session:"]')
    assert session_folder.find_element("css selector", ".count").text == "30"
    assert css(page, 'button.key[data-key="greeting"]')
    open_key(page, "user:1")
    screenshot(page, "dashboard-keys")

    pattern = css(page, "#scan-pattern")
    pattern.clear()
    pattern.send_keys("user:*")
    css(page, "#scan-form button[type=submit]").click()
    eventually(lambda: sorted(k.get_attribute("data-key") for k in page.find_elements("css selector", "button.key")) == ["user:1", "user:2"],
               "only user:* keys")

    pattern.clear()
    pattern.send_keys("*")
    from selenium.webdriver.support.select import Select
    Select(css(page, "#scan-type")).select_by_value("zset")
    css(page, "#scan-form button[type=submit]").click()
    eventually(lambda: [k.get_attribute("data-key") for k in page.find_elements("css selector", "button.key")] == ["leaderboard"],
               "only the sorted set")


def test_lazy_paging_loads_more_on_demand(page, keyway):
    # Enough keys that one SCAN page (COUNT 200) does not hold them all.
    # One command per key, so the keys may live on any node of a cluster.
    def each_key(*command):
        response = requests.post(keyway.url + "/pipeline", json=[[*command, f"bulk:{i}", *([str(i)] if command == ("SET",) else [])]
                                                                 for i in range(1, 451)], headers=keyway.auth, timeout=30)
        assert response.status_code == 200, response.text

    each_key("SET")
    try:
        sign_in_with_token(page)
        pattern = css(page, "#scan-pattern")
        pattern.clear()
        pattern.send_keys("bulk:*")
        css(page, "#scan-form button[type=submit]").click()
        eventually(lambda: "more to load" in css(page, "#scan-status").text, "a first page")
        first = int(css(page, "#scan-status").text.split()[0])
        assert 0 < first < 450
        pages = 1
        while page.find_element("id", "load-more").is_displayed():
            page.find_element("id", "load-more").click()
            pages += 1
            time.sleep(0.1)
        # A cluster's SCAN page holds a page of each master's keys.
        assert pages >= (2 if CLUSTER_MODE else 3)
        eventually(lambda: css(page, "#scan-status").text.startswith("450 keys loaded, scan complete"), "every key")
    finally:
        each_key("DEL")


def test_each_type_opens_in_its_viewer(page):
    sign_in_with_token(page)
    open_key(page, "greeting")
    assert css(page, "#key-type").text.lower() == "str"
    assert css(page, "#string-value").text == "hello from keyway"
    assert css(page, "#key-ttl").text == "no expiry"
    assert css(page, "#key-memory").text.endswith("B")
    assert css(page, "#key-encoding").text in ("embstr", "raw")

    open_key(page, "config:flags")
    value = css(page, "#string-value")
    assert value.get_attribute("data-mode") == "json"
    assert '"limits": {\n    "rps": 100' in value.text

    open_key(page, "blob")
    value = css(page, "#string-value")
    assert value.get_attribute("data-mode") == "hex"
    assert value.text.startswith("00000000  00 01 02 ff fe 41")
    assert not page.find_elements("id", "edit-string"), "binary values are not edited as text"

    open_key(page, "user:2")
    eventually(lambda: set(texts(page, "#hash-fields td.field-name")) == {"name", "email"}, "the hash's fields")
    assert css(page, "#key-ttl").text in ("1d", "23h 59m")

    open_key(page, "queue:jobs")
    eventually(lambda: texts(page, "#list-items td.value") == ["resize:1", "resize:2", "email:7"], "the list's items")

    open_key(page, "tags:rust")
    eventually(lambda: sorted(texts(page, "#set-members td.value")) == ["alice", "bob", "carol"], "the set's members")

    open_key(page, "leaderboard")
    eventually(lambda: [row.text.split()[:3] for row in page.find_elements("css selector", "#zset-members tbody tr")]
               == [["0", "player1", "1500"], ["1", "player3", "1800"], ["2", "player2", "2300"]], "members by rank with scores")

    open_key(page, "events")
    eventually(lambda: texts(page, "#stream-entries td.mono") == ["1-1", "2-1"], "the stream's entries")
    start = css(page, "#stream-start")
    start.clear()
    start.send_keys("2")
    css(page, "#stream-range button").click()
    eventually(lambda: texts(page, "#stream-entries td.mono") == ["2-1"], "the range from id 2")

    if not CLUSTER_MODE:  # no JSON documents on a Redis 7.0 cluster
        open_key(page, "doc:1")
        assert '"address": {\n    "city": "London"' in css(page, "#json-value").text
        screenshot(page, "dashboard-json")


def test_editing_a_json_document(page, keyway):
    keyway.command("JSON.SET", "doc:edit", "$", '{"n":1}')
    try:
        sign_in_with_token(page)
        open_key(page, "doc:edit")
        css(page, "#edit-json").click()
        value = css(page, 'dialog textarea[name="value"]')
        value.clear()
        value.send_keys('{"n": 2, "tags": ["a"]}')
        css(page, "dialog [data-role=confirm]").click()
        eventually(lambda: '"tags": [\n    "a"\n  ]' in css(page, "#json-value").text, "the saved document")
        assert keyway.command("JSON.GET", "doc:edit").json() == {"result": '{"n":2,"tags":["a"]}'}
        # Text that is not JSON is refused in the page, before any call.
        css(page, "#edit-json").click()
        value = css(page, 'dialog textarea[name="value"]')
        value.clear()
        value.send_keys("{not json")
        css(page, "dialog [data-role=confirm]").click()
        eventually(lambda: "Not valid JSON" in css(page, "#toasts").text, "the refusal")
        assert keyway.command("JSON.GET", "doc:edit").json() == {"result": '{"n":2,"tags":["a"]}'}
    finally:
        keyway.command("DEL", "doc:edit")


def test_editing_a_hash_field_and_its_ttl(page, keyway):
    sign_in_with_token(page)
    open_key(page, "user:1")
    row = css(page, '#hash-fields tr[data-field="role"]')
    assert row.find_element("css selector", "td.ttl").text == "no expiry"
    row.find_element("css selector", "button.edit-field").click()
    value = css(page, 'dialog textarea[name="value"]')
    value.clear()
    value.send_keys("owner")
    ttl = css(page, 'dialog input[name="ttl"]')
    ttl.send_keys("3600")
    screenshot(page, "dashboard-edit-field")
    css(page, "dialog [data-role=confirm]").click()
    eventually(lambda: css(page, '#hash-fields tr[data-field="role"] td.value').text == "owner", "the new value")
    assert css(page, '#hash-fields tr[data-field="role"] td.ttl').text in ("1h", "59m 59s", "59m 58s")
    assert keyway.command("HGET", "user:1", "role").json() == {"result": "owner"}
    remaining = keyway.command("HTTL", "user:1", "FIELDS", "1", "role").json()["result"][0]
    assert 3590 <= remaining <= 3600

    # Clearing the TTL persists the field again.
    css(page, '#hash-fields tr[data-field="role"] button.edit-field').click()
    ttl = css(page, 'dialog input[name="ttl"]')
    ttl.clear()
    css(page, "dialog [data-role=confirm]").click()
    eventually(lambda: css(page, '#hash-fields tr[data-field="role"] td.ttl').text == "no expiry", "no field TTL")
    assert keyway.command("HTTL", "user:1", "FIELDS", "1", "role").json()["result"] == [-1]


def test_creating_renaming_and_deleting_a_key(page, keyway):
    # On a cluster a key is renamed only within its slot (RENAMENX refuses
    # CROSSSLOT otherwise, as Redis Cluster does): a hash tag keeps both names in one.
    here, renamed = ("{made}:here", "{made}:renamed") if CLUSTER_MODE else ("made:here", "made:renamed")
    sign_in_with_token(page)
    css(page, "#new-key").click()
    css(page, 'dialog input[name="key"]').send_keys(here)
    css(page, 'dialog textarea[name="value"]').send_keys("fresh")
    css(page, "dialog [data-role=confirm]").click()
    eventually(lambda: css(page, "#key-title").text == here, "the new key to open")
    assert keyway.command("GET", here).json() == {"result": "fresh"}

    css(page, "#edit-string").click()
    value = css(page, 'dialog textarea[name="value"]')
    value.clear()
    value.send_keys("edited")
    css(page, "dialog [data-role=confirm]").click()
    eventually(lambda: css(page, "#string-value").text == "edited", "the edited value")

    # The key's TTL: set, then cleared.
    css(page, "#edit-ttl").click()
    css(page, 'dialog input[name="ttl"]').send_keys("120")
    css(page, "dialog [data-role=confirm]").click()
    eventually(lambda: css(page, "#key-ttl").text in ("2m", "1m 59s"), "the TTL")
    assert 110 <= keyway.command("TTL", here).json()["result"] <= 120
    css(page, "#edit-ttl").click()
    css(page, 'dialog input[name="ttl"]').clear()
    css(page, "dialog [data-role=confirm]").click()
    eventually(lambda: css(page, "#key-ttl").text == "no expiry", "no TTL")
    assert keyway.command("TTL", here).json() == {"result": -1}

    css(page, "#rename-key").click()
    name = css(page, 'dialog input[name="name"]')
    name.clear()
    name.send_keys(renamed)
    css(page, "dialog [data-role=confirm]").click()
    eventually(lambda: css(page, "#key-title").text == renamed, "the renamed key")
    assert keyway.command("EXISTS", here).json() == {"result": 0}

    css(page, "#delete-key").click()
    # Cancelling keeps it.
    css(page, "dialog button.ghost").click()
    assert keyway.command("EXISTS", renamed).json() == {"result": 1}
    css(page, "#delete-key").click()
    css(page, "dialog [data-role=confirm]").click()
    eventually(lambda: f"Deleted {renamed}" in css(page, "#key-detail").text, "the deletion")
    assert keyway.command("EXISTS", renamed).json() == {"result": 0}
    assert not page.find_elements("css selector", f'button.key[data-key="{renamed}"]')


def test_the_console_answers_as_redis_cli_does(page):
    sign_in_with_token(page)
    css(page, 'a[data-view="console"]').click()
    line = css(page, "#console-input")

    def run(command: str) -> str:
        count = len(page.find_elements("css selector", ".console-reply"))
        line.send_keys(command + "\n")
        eventually(lambda: len(page.find_elements("css selector", ".console-reply")) > count
                   and page.find_elements("css selector", ".console-reply")[-1].text != "…", command)
        return page.find_elements("css selector", ".console-reply")[-1].text

    assert run('SET console:greeting "hello world"') == "OK"
    assert run("GET console:greeting") == '"hello world"'
    assert run("INCR console:counter") == "(integer) 1"
    assert run("GET console:nothing") == "(nil)"
    assert run("LRANGE queue:jobs 0 -1") == '1) "resize:1"\n2) "resize:2"\n3) "email:7"'
    assert run("NOSUCHCOMMAND x").startswith("(error) ERR unknown command")
    run("DEL console:greeting console:counter")
    # Up walks back through the history.
    from selenium.webdriver.common.keys import Keys
    line.send_keys(Keys.ARROW_UP)
    assert line.get_attribute("value") == "DEL console:greeting console:counter"
    line.send_keys(Keys.ARROW_UP)
    assert line.get_attribute("value") == "NOSUCHCOMMAND x"
    line.send_keys(Keys.ARROW_DOWN, Keys.ARROW_DOWN)
    assert line.get_attribute("value") == ""
    # Tab completes the command's name: to the end when one matches, to the
    # shared prefix with the candidates listed when several do.
    line.send_keys("hgeta", Keys.TAB)
    eventually(lambda: line.get_attribute("value") == "HGETALL ", "HGETALL completed")
    line.send_keys("user:1\n")
    eventually(lambda: '"Ada Lovelace"' in texts(page, ".console-reply")[-1], "the hash")
    line.send_keys("zrange", Keys.TAB)
    eventually(lambda: "ZRANGEBYSCORE" in css(page, "#console-hint").text, "the candidates")
    assert line.get_attribute("value") == "ZRANGE"
    line.clear()
    screenshot(page, "dashboard-console")


def test_the_console_completes_names_and_shows_their_arguments(page, keyway):
    from selenium.webdriver.common.keys import Keys
    sign_in_with_token(page)
    css(page, 'a[data-view="console"]').click()
    line = css(page, "#console-input")
    # Typing a prefix offers the commands it starts and the first one's syntax.
    line.send_keys("zcar")
    eventually(lambda: texts(page, "#console-completions .candidate") == ["ZCARD"], "ZCARD offered")
    assert css(page, "#console-syntax code").text == "ZCARD key"
    assert css(page, "#console-syntax").text != "ZCARD key"  # and a summary
    line.send_keys(Keys.TAB)
    eventually(lambda: line.get_attribute("value") == "ZCARD ", "ZCARD completed")
    line.send_keys("leaderboard\n")
    eventually(lambda: texts(page, ".console-reply") and texts(page, ".console-reply")[-1] == "(integer) 3", "ZCARD's reply")
    # The hint follows the line: options in brackets, choices with bars.
    line.send_keys("SET k v ")
    eventually(lambda: css(page, "#console-syntax code").text.startswith("SET key value [NX | XX] [GET] [EX seconds | PX milliseconds"),
               "SET's syntax")
    line.clear()
    # A container command completes its subcommand too.
    line.send_keys("xinfo gr", Keys.TAB)
    eventually(lambda: line.get_attribute("value") == "XINFO GROUPS ", "XINFO GROUPS completed")
    eventually(lambda: css(page, "#console-syntax code").text == "XINFO GROUPS key", "XINFO GROUPS' syntax")
    line.send_keys("events\n")
    eventually(lambda: '"workers"' in texts(page, ".console-reply")[-1], "XINFO GROUPS' reply")
    # Clicking a candidate takes it.
    line.send_keys("hge")
    eventually(lambda: "HGETALL" in texts(page, "#console-completions .candidate"), "the HGET candidates")
    next(b for b in page.find_elements("css selector", "#console-completions .candidate") if b.text == "HGETALL").click()
    eventually(lambda: line.get_attribute("value") == "HGETALL ", "HGETALL taken")
    eventually(lambda: css(page, "#console-syntax code").text == "HGETALL key", "HGETALL's syntax")
    line.clear()
    line.send_keys("zrange")
    eventually(lambda: "ZRANGEBYSCORE" in texts(page, "#console-completions .candidate"), "the ZRANGE candidates")
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(page).move_to_element(line).perform()  # no candidate under the pointer
    screenshot(page, "dashboard-console-completion")


def test_a_read_only_user_sees_no_write_controls(page):
    sign_in_as(page, *READER)
    assert css(page, "#user-name").text == "reader"
    assert not page.find_elements("id", "new-key")
    open_key(page, "greeting")
    assert css(page, "#string-value").text == "hello from keyway"
    for absent in ("edit-string", "delete-key", "rename-key", "edit-ttl"):
        assert not page.find_elements("id", absent), f"#{absent} is offered to a read-only user"
    open_key(page, "user:2")
    css(page, "#hash-fields td.field-name")
    assert not page.find_elements("css selector", "#add-field, .edit-field, .delete-field")
    open_key(page, "leaderboard")
    assert not page.find_elements("css selector", "#add-member, #zset-members .row-actions")
    # The console still runs reads, and the server refuses a write.
    css(page, 'a[data-view="console"]').click()
    css(page, "#console-input").send_keys("SET greeting changed\n")
    eventually(lambda: "NOPERM" in (texts(page, ".console-reply") or [""])[-1], "the refusal")
    assert texts(page, ".console-reply")[-1].startswith("(error) NOPERM")


def test_a_phone_shows_one_pane_at_a_time_and_dark_colours_follow_the_system(page):
    page.set_window_size(390, 844)
    sign_in_with_token(page)
    assert css(page, "#key-tree").is_displayed()
    assert not page.find_element("id", "key-detail").is_displayed()
    screenshot(page, "dashboard-phone-keys")
    open_key(page, "leaderboard")
    assert not page.find_element("id", "key-tree").is_displayed()
    width = page.execute_script("return document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide on a 390px screen"
    screenshot(page, "dashboard-phone-key")
    css(page, "button.back").click()
    css(page, "#key-tree")

    page.set_window_size(1280, 860)
    light = page.execute_script("return getComputedStyle(document.body).backgroundColor")
    page.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    dark = eventually(lambda: (lambda c: c if c != light else None)(page.execute_script("return getComputedStyle(document.body).backgroundColor")),
                      "dark colours")
    assert dark == "rgb(15, 19, 24)"
    open_key(page, "user:1")
    screenshot(page, "dashboard-dark")


def go(driver, view: str, section: str | None = None) -> None:
    """Opens a view from the navigation, and one of its sections' tabs."""
    css(driver, f'#nav a[data-view="{view}"]').click()
    if section:
        css(driver, f'.section-tabs a[data-section="{section}"]').click()
        css(driver, f"#section-{section}")


def confirm_dialog(driver) -> None:
    css(driver, "dialog [data-role=confirm]").click()
    eventually(lambda: not driver.find_elements("css selector", "dialog"), "the dialog to close")


def pending_rows(driver) -> dict[str, tuple[str, str]]:
    """The pending-entries table: id -> (consumer, deliveries)."""
    rows = {}
    for row in driver.find_elements("css selector", "#pending-entries tbody tr"):
        rows[row.get_attribute("data-id")] = (row.find_element("css selector", "td.consumer").text,
                                              row.find_element("css selector", "td.deliveries").text)
    return rows


def test_a_streams_groups_consumers_and_pending_entries_with_claim_and_ack(page, keyway):
    for command in (["XADD", "orders", "1-1", "item", "a"], ["XADD", "orders", "2-1", "item", "b"], ["XADD", "orders", "3-1", "item", "c"],
                    ["XADD", "orders", "4-1", "item", "d"],
                    ["XGROUP", "CREATE", "orders", "billing", "0"],
                    ["XREADGROUP", "GROUP", "billing", "alice", "COUNT", "3", "STREAMS", "orders", ">"],
                    ["XGROUP", "CREATECONSUMER", "orders", "billing", "bob"]):
        assert keyway.command(*command).status_code == 200, command
    try:
        sign_in_with_token(page)
        # From the stream in the key browser to its groups.
        open_key(page, "orders")
        css(page, "#stream-groups-link").click()
        eventually(lambda: css(page, "#stream-title").text == "orders", "the stream's groups")
        assert css(page, '#stream-list button.key[data-key="orders"]').get_attribute("class") == "key selected"
        group = css(page, '#stream-groups tr[data-group="billing"]')
        # Two consumers, three pending, one entry not yet delivered: lag 1.
        assert group.text.split()[:3] == ["billing", "2", "3"]
        assert group.find_element("css selector", "td.lag").text == "1"
        eventually(lambda: pending_rows(page) == {"1-1": ("alice", "1"), "2-1": ("alice", "1"), "3-1": ("alice", "1")}, "alice's pending entries")
        assert set(texts(page, "#group-consumers td:first-child")) == {"alice", "bob"}
        screenshot(page, "dashboard-streams")

        # Claim 1-1 for bob: it moves, delivered twice.
        css(page, '#pending-entries tr[data-id="1-1"] .claim-entry').click()
        assert css(page, 'dialog input[name="consumer"]').get_attribute("value") == "bob"
        confirm_dialog(page)
        eventually(lambda: pending_rows(page).get("1-1") == ("bob", "2"), "1-1 claimed by bob")
        assert keyway.command("XPENDING", "orders", "billing", "-", "+", "10", "bob").json()["result"][0][0] == "1-1"

        # Acknowledge 2-1: a cancelled confirmation keeps it, a confirmed one removes it.
        css(page, '#pending-entries tr[data-id="2-1"] .ack-entry').click()
        css(page, "dialog button.ghost").click()
        assert "2-1" in pending_rows(page)
        css(page, '#pending-entries tr[data-id="2-1"] .ack-entry').click()
        confirm_dialog(page)
        eventually(lambda: set(pending_rows(page)) == {"1-1", "3-1"}, "2-1 acknowledged")
        assert keyway.command("XPENDING", "orders", "billing").json()["result"][0] == 2
    finally:
        keyway.command("DEL", "orders")


def test_monitor_shows_each_command_and_pauses_and_filters(page, keyway):
    sign_in_with_token(page)
    go(page, "live", "monitor")
    eventually(lambda: css(page, "#monitor-status").text == "Watching", "the stream to open")
    keyway.command("SET", "monitor:probe", "1")
    line = eventually(lambda: next((li for li in page.find_elements("css selector", ".monitor-line") if "monitor:probe" in li.text), None),
                      "the SET in the MONITOR view")
    assert '"SET" "monitor:probe" "1"' in line.text

    # A filter hides lines without its text.
    css(page, "#monitor-filter").send_keys("no-such-text")
    eventually(lambda: not line.is_displayed(), "the line hidden by the filter")
    css(page, "#monitor-filter").clear()
    css(page, "#monitor-filter").send_keys("probe")
    eventually(lambda: line.is_displayed(), "the line shown again")
    css(page, "#monitor-filter").clear()
    css(page, "#monitor-filter").send_keys(" ")  # an input event with the empty filter
    css(page, "#monitor-filter").clear()

    # Paused, new commands are held back and counted, then shown on resume.
    css(page, "#monitor-pause").click()
    keyway.command("SET", "monitor:while-paused", "1")
    eventually(lambda: css(page, "#monitor-status").text.startswith("Paused,") and css(page, "#monitor-status").text != "Paused, 0 new",
               "the held command counted")
    assert not any("monitor:while-paused" in text for text in texts(page, ".monitor-line"))
    css(page, "#monitor-pause").click()
    eventually(lambda: any("monitor:while-paused" in text for text in texts(page, ".monitor-line")), "the held command shown")
    screenshot(page, "dashboard-monitor")
    keyway.command("DEL", "monitor:probe", "monitor:while-paused")


def test_the_pubsub_console_subscribes_and_publishes(page, keyway):
    sign_in_with_token(page)
    go(page, "live", "pubsub")
    css(page, "#pubsub-channels").send_keys("chat")
    css(page, "#pubsub-patterns").send_keys("news.*")
    css(page, "#pubsub-subscribe").click()
    eventually(lambda: css(page, "#pubsub-status").text == "Subscribed to chat, news.*", "the subscription")

    css(page, "#publish-channel").send_keys("chat")
    css(page, "#publish-message").send_keys("hello from the page")
    css(page, "#publish-send").click()
    eventually(lambda: any("chat hello from the page" in text for text in texts(page, "#pubsub-messages li")), "the page's own message")
    eventually(lambda: "Delivered to 1 subscriber" in css(page, "#toasts").text, "the receiver count")

    response = requests.post(keyway.url + "/v1/channels/news.sport/messages", json={"message": "goal"}, headers=keyway.auth, timeout=5)
    assert response.json()["receivers"] == 1
    eventually(lambda: any("news.sport (news.*) goal" in text for text in texts(page, "#pubsub-messages li")), "the message by pattern")
    screenshot(page, "dashboard-pubsub")

    css(page, "#pubsub-unsubscribe").click()
    eventually(lambda: requests.post(keyway.url + "/v1/channels/chat/messages", json={"message": "x"}, headers=keyway.auth,
                                     timeout=5).json()["receivers"] == 0, "the subscription to end")


def test_charts_update_live_from_info(page, keyway):
    sign_in_with_token(page)
    go(page, "live", "charts")
    chart = css(page, "#chart-ops")
    points = eventually(lambda: (lambda n: n if n >= 2 else None)(int(chart.get_attribute("data-points"))), "two samples")
    # A burst of commands shows as operations per second.
    burst = [["SET", f"chart:{i}", "x"] for i in range(1000)] + [["DEL"] + [f"chart:{i}" for i in range(1000)]]
    assert requests.post(keyway.url + "/pipeline", json=burst, headers=keyway.auth, timeout=10).status_code == 200
    eventually(lambda: float(chart.get_attribute("data-value") or 0) > 300, "the burst in ops/s")
    assert int(chart.get_attribute("data-points")) > points
    assert css(page, "#chart-ops polyline").get_attribute("points")
    assert css(page, "#chart-memory .chart-value").text.endswith("B")
    assert int(css(page, "#chart-clients").get_attribute("data-value")) >= 1
    hits = float(css(page, "#chart-hits").get_attribute("data-value"))
    assert 0 <= hits <= 100
    screenshot(page, "dashboard-charts")


def test_the_slow_log_shows_a_slow_command_and_resets(page, keyway):
    before = keyway.command("CONFIG", "GET", "slowlog-log-slower-than").json()["result"][1]
    keyway.command("CONFIG", "SET", "slowlog-log-slower-than", "0")
    try:
        keyway.command("SET", "slow:probe", "x")
        sign_in_with_token(page)
        go(page, "diagnose", "slowlog")
        row = eventually(lambda: next((r for r in page.find_elements("css selector", "#slowlog-entries tbody tr")
                                       if '"SET" "slow:probe" "x"' in r.text), None), "the SET in the slow log")
        assert row.find_element("css selector", "td.duration").text.endswith(("µs", "ms"))
        assert "any time" in css(page, "#slowlog-summary").text
        # The key the command names links to the key browser; its value does not.
        links = row.find_elements("css selector", "a.key-link")
        assert [link.get_attribute("data-key") for link in links] == ["slow:probe"]
        screenshot(page, "dashboard-slowlog")
        css(page, "#slowlog-reset").click()
        confirm_dialog(page)
        eventually(lambda: not any("slow:probe" in text for text in texts(page, "#slowlog-entries tbody tr")), "the reset")
    finally:
        keyway.command("CONFIG", "SET", "slowlog-log-slower-than", before)
        keyway.command("DEL", "slow:probe")


def test_a_slow_log_entrys_keys_open_in_the_key_browser(page, keyway):
    before = keyway.command("CONFIG", "GET", "slowlog-log-slower-than").json()["result"][1]
    keyway.command("CONFIG", "SET", "slowlog-log-slower-than", "0")
    try:
        keyway.command("MSET", "slow:a", "1", "slow:b", "2")
        sign_in_with_token(page)
        go(page, "diagnose", "slowlog")
        row = eventually(lambda: next((r for r in page.find_elements("css selector", "#slowlog-entries tbody tr")
                                       if '"MSET" "slow:a" "1" "slow:b" "2"' in r.text), None), "the MSET in the slow log")
        # MSET's keys are every other argument from the first.
        assert [link.get_attribute("data-key") for link in row.find_elements("css selector", "a.key-link")] == ["slow:a", "slow:b"]
        next(link for link in row.find_elements("css selector", "a.key-link") if link.get_attribute("data-key") == "slow:b").click()
        eventually(lambda: page.find_elements("id", "key-title") and page.find_element("id", "key-title").text == "slow:b",
                   "slow:b in the key browser")
        eventually(lambda: css(page, "#string-value").text == "2", "slow:b's value")
    finally:
        keyway.command("CONFIG", "SET", "slowlog-log-slower-than", before)
        keyway.command("DEL", "slow:a", "slow:b")


def test_client_list_shows_a_connection_and_kills_it(page, keyway):
    other = requests.Session()
    assert other.post(keyway.url + "/", json=["CLIENT", "SETNAME", "probe-client"], headers=keyway.auth, timeout=5).json() == {"result": "OK"}
    try:
        sign_in_with_token(page)
        go(page, "diagnose", "clients")
        row = css(page, '#client-list tr[data-name="probe-client"]')
        assert "default" in row.text
        assert css(page, "#clients-summary").text.split()[0].isdigit()
        screenshot(page, "dashboard-clients")
        row.find_element("css selector", ".kill-client").click()
        confirm_dialog(page)
        eventually(lambda: not page.find_elements("css selector", '#client-list tr[data-name="probe-client"]'), "the connection closed")
        assert "name=probe-client" not in keyway.command("CLIENT", "LIST").json()["result"]
    finally:
        other.close()


def test_memory_analysis_lists_the_biggest_keys_and_memory_by_prefix_type_and_ttl(page, keyway):
    keyway.command("SET", "big:blob", "x" * 200_000)
    try:
        sign_in_with_token(page)
        go(page, "diagnose", "memory")
        css(page, "#memory-run").click()
        eventually(lambda: "sampled" in css(page, "#memory-status").text, "the analysis")
        assert "the whole keyspace" in css(page, "#memory-status").text
        biggest = page.find_elements("css selector", "#memory-biggest tbody tr")
        assert biggest[0].get_attribute("data-key") == "big:blob"
        assert biggest[0].find_elements("css selector", "td")[2].text.endswith("KB")
        sessions = css(page, '#memory-prefixes tr[data-name="session:*"]')
        assert sessions.find_elements("css selector", "td")[1].text == "30"
        assert css(page, '#memory-prefixes tbody tr').get_attribute("data-name") == "big:*"
        assert css(page, '#memory-types tbody tr').get_attribute("data-name") == "string"
        day = css(page, '#memory-ttls tr[data-name="1 hour to 1 day"]')
        assert day.find_elements("css selector", "td")[1].text == "1"  # user:2
        screenshot(page, "dashboard-memory")
        # A key of the analysis opens in the key browser.
        biggest[0].find_element("css selector", "a.key-link").click()
        eventually(lambda: page.find_elements("id", "key-title") and page.find_element("id", "key-title").text == "big:blob",
                   "big:blob in the key browser")
        assert "#/keys/big%3Ablob" in page.current_url
        assert css(page, "#key-type").text.lower() == "str"  # the type badge
        assert "active" in css(page, '#nav a[data-view="keys"]').get_attribute("class").split()
    finally:
        keyway.command("DEL", "big:blob")


def test_the_config_is_listed_and_an_admin_edits_it(page, keyway):
    sign_in_with_token(page)
    go(page, "diagnose", "config")
    css(page, "#config-filter").send_keys("maxmemory-samples")
    eventually(lambda: len(page.find_elements("css selector", "#config-table tbody tr")) == 1, "only the filtered parameter")
    row = css(page, '#config-table tr[data-param="maxmemory-samples"]')
    assert row.find_element("css selector", ".config-value").text == "5"
    try:
        row.find_element("css selector", ".edit-config").click()
        value = css(page, 'dialog input[name="value"]')
        value.clear()
        value.send_keys("7")
        confirm_dialog(page)
        eventually(lambda: css(page, '#config-table tr[data-param="maxmemory-samples"] .config-value').text == "7", "the new value")
        assert keyway.command("CONFIG", "GET", "maxmemory-samples").json()["result"] == ["maxmemory-samples", "7"]
        # A value the server refuses is reported, and the old one stays.
        css(page, '#config-table tr[data-param="maxmemory-samples"] .edit-config').click()
        value = css(page, 'dialog input[name="value"]')
        value.clear()
        value.send_keys("many")
        confirm_dialog(page)
        eventually(lambda: "ERR" in css(page, "#toasts").text, "the refusal")
        assert keyway.command("CONFIG", "GET", "maxmemory-samples").json()["result"] == ["maxmemory-samples", "7"]
        css(page, "#config-filter").clear()
        css(page, "#config-filter").send_keys("slowlog")
        screenshot(page, "dashboard-config")
    finally:
        keyway.command("CONFIG", "SET", "maxmemory-samples", "5")


def test_a_read_only_user_gets_no_claim_ack_publish_kill_reset_or_config_controls(page, keyway):
    before = keyway.command("CONFIG", "GET", "slowlog-log-slower-than").json()["result"][1]
    keyway.command("CONFIG", "SET", "slowlog-log-slower-than", "0")
    try:
        keyway.command("GET", "greeting")
        sign_in_as(page, *READER)
        go(page, "streams")
        css(page, 'button.key[data-key="events"]').click()
        eventually(lambda: set(pending_rows(page)) == {"1-1", "2-1"}, "the seeded pending entries")
        assert not page.find_elements("css selector", ".claim-entry, .ack-entry, #autoclaim")

        go(page, "live", "pubsub")
        css(page, "#pubsub-form")
        assert not page.find_elements("id", "publish-form")

        go(page, "diagnose", "slowlog")
        css(page, "#slowlog-entries tbody tr")
        assert not page.find_elements("id", "slowlog-reset")

        go(page, "diagnose", "clients")
        css(page, "#client-list tbody tr")
        assert not page.find_elements("css selector", ".kill-client")

        go(page, "diagnose", "config")
        css(page, '#config-table tr[data-param="maxmemory"]')
        assert "read-only here" in css(page, "#config-summary").text
        assert not page.find_elements("css selector", ".edit-config")
    finally:
        keyway.command("CONFIG", "SET", "slowlog-log-slower-than", before)


def test_the_new_views_fit_a_phone(page):
    page.set_window_size(390, 844)
    sign_in_with_token(page)
    for view, section in (("streams", None), ("live", "monitor"), ("diagnose", "memory"), ("diagnose", "config"), ("live", "charts")):
        page.get(page.current_url.split("#")[0] + f"#/{view}" + (f"/{section}" if section else ""))
        css(page, f"#view-{view}")
        width = page.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390, f"{view}/{section} is {width}px wide on a 390px screen"
    css(page, "#chart-ops")
    screenshot(page, "dashboard-phone-charts")
