"""ACL users over HTTP, against a real server: Basic and bearer
authentication, issued tokens, JWTs (HS256, RS256, ES256, EdDSA, signed here
with PyJWT), NOPERM on both API faces, pipelines, transactions and scripts,
SSE channels and MONITOR, /metrics, the ACL log, and the aclfile across a
restart."""

from __future__ import annotations

import base64
import time

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from conftest import start_server

ADMIN = "admintoken"
JWT_SECRET = "jwt-secret-for-tests-0123456789abcdef"

USERS = """
user reader on >readerpw ~* &* +@read -@dangerous -keys -scan
user nothing on >nothingpw resetkeys resetchannels -@all
user everything on >everythingpw ~* &* +@all
user app on >apppw ~app:* &app:* +@all -@dangerous
user app-user on ~user:{sub}:* &user:{sub}:* +@read +@write +@pubsub -@dangerous
user ops on >opspw +config|get +info
"""


def basic(name: str, password: str) -> dict:
    encoded = base64.b64encode(f"{name}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def write_config(tmp_path, text: str) -> str:
    path = tmp_path / "keyway.conf"
    path.write_text(text)
    return str(path)


@pytest.fixture(scope="module")
def keyway(tmp_path_factory):
    directory = tmp_path_factory.mktemp("acl")
    config = write_config(directory, f"requirepass {ADMIN}\njwt-key {JWT_SECRET}\n" + USERS)
    server = start_server("--config", config, token=ADMIN, token_flag=False)
    try:
        yield server
    finally:
        server.cleanup()


def command(server, headers: dict, *args):
    return requests.post(server.url + "/", json=list(args), headers=headers, timeout=10)


def test_basic_authentication_picks_the_user(keyway):
    r = requests.get(keyway.url + "/v1/acl/whoami", headers=basic("reader", "readerpw"), timeout=5)
    assert r.status_code == 200 and r.json() == {"user": "reader"}
    assert command(keyway, basic("reader", "readerpw"), "ACL", "WHOAMI").status_code == 403
    assert command(keyway, bearer(ADMIN), "ACL", "WHOAMI").json() == {"result": "default"}
    wrong = requests.get(keyway.url + "/v1/keys/x", headers=basic("reader", "nope"), timeout=5)
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "UNAUTHORIZED"
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    assert requests.get(keyway.url + "/v1/keys/x", timeout=5).status_code == 401


def test_a_read_only_user_reads_and_is_refused_writes_on_both_faces(keyway):
    command(keyway, bearer(ADMIN), "SET", "greeting", "hello")
    reader = basic("reader", "readerpw")
    assert command(keyway, reader, "GET", "greeting").json() == {"result": "hello"}
    refused = command(keyway, reader, "SET", "greeting", "bye")
    assert refused.status_code == 403
    assert refused.json() == {"error": "NOPERM User reader has no permissions to run the 'set' command"}
    r = requests.put(keyway.url + "/v1/keys/greeting", json={"value": "bye"}, headers=reader, timeout=5)
    assert r.status_code == 403
    assert r.json()["code"] == "NOPERM"
    assert requests.get(keyway.url + "/v1/keys/greeting", headers=reader, timeout=5).json()["value"] == "hello"
    # -@dangerous and -keys: no CONFIG, FLUSHALL, KEYS.
    for words in (["CONFIG", "SET", "dir", "/tmp"], ["FLUSHALL"], ["KEYS", "*"], ["SCAN", "0"]):
        assert command(keyway, reader, *words).status_code == 403, words


def test_key_patterns_confine_a_user(keyway):
    app = basic("app", "apppw")
    assert command(keyway, app, "SET", "app:1", "v").json() == {"result": "OK"}
    r = command(keyway, app, "GET", "secret")
    assert r.status_code == 403 and r.json() == {"error": "NOPERM No permissions to access a key"}
    assert requests.get(keyway.url + "/v1/keys/secret", headers=app, timeout=5).status_code == 403
    assert requests.get(keyway.url + "/v1/hashes/other", headers=app, timeout=5).status_code == 403
    assert requests.post(keyway.url + "/v1/locks/x", json={"ttl": 1000}, headers=app, timeout=5).status_code == 403
    assert requests.post(keyway.url + "/v1/ratelimits/x", json={"key": "k", "limit": 5, "window": 60}, headers=app,
                         timeout=5).status_code == 403
    # MSET with one key outside: refused whole, nothing written.
    assert command(keyway, app, "MSET", "app:2", "a", "other", "b").status_code == 403
    assert command(keyway, bearer(ADMIN), "EXISTS", "app:2").json() == {"result": 0}


def test_pipelines_refuse_each_command_and_transactions_refuse_whole(keyway):
    app = basic("app", "apppw")
    r = requests.post(keyway.url + "/pipeline", json=[["SET", "app:p", "1"], ["GET", "secret"]], headers=app, timeout=5)
    assert r.status_code == 200
    assert r.json() == [{"result": "OK"}, {"error": "NOPERM No permissions to access a key"}]
    r = requests.post(keyway.url + "/multi-exec", json=[["SET", "app:t", "1"], ["SET", "secret", "x"]], headers=app, timeout=5)
    assert r.status_code == 403
    assert "NOPERM" in r.json()["error"]
    assert command(keyway, bearer(ADMIN), "EXISTS", "app:t").json() == {"result": 0}


def test_scripts_call_with_the_callers_rights(keyway):
    app = basic("app", "apppw")
    command(keyway, bearer(ADMIN), "SET", "secret", "s3")
    r = command(keyway, app, "EVAL", "return redis.call('GET', 'secret')", "0")
    assert r.status_code in (400, 403) and "No permissions to access a key" in r.json()["error"]
    assert command(keyway, app, "EVAL", "return redis.call('SET', KEYS[1], 'x')", "1", "app:lua").json() == {"result": "OK"}
    assert command(keyway, app, "EVAL", "return 1", "1", "secret").status_code == 403


def test_subcommand_rules(keyway):
    ops = basic("ops", "opspw")
    assert command(keyway, ops, "CONFIG", "GET", "maxmemory").status_code == 200
    r = command(keyway, ops, "CONFIG", "SET", "maxmemory", "0")
    assert r.status_code == 403
    assert r.json() == {"error": "NOPERM User ops has no permissions to run the 'config|set' command"}


def open_stream(url: str, headers: dict):
    r = requests.get(url, headers=headers, stream=True, timeout=5)
    if r.status_code != 200:
        r.content  # a refusal has a body to read; a stream is only opened
    r.close()
    return r


def test_event_streams_check_channels_keys_and_monitor(keyway):
    app = basic("app", "apppw")
    assert open_stream(keyway.url + "/v1/subscribe?channel=app:news", app).status_code == 200
    refused = open_stream(keyway.url + "/v1/subscribe?channel=other", app)
    assert refused.status_code == 403 and refused.json()["code"] == "NOPERM"
    assert open_stream(keyway.url + "/v1/subscribe?pattern=app:*", app).status_code == 200
    # A pattern must be one of the user's own, literally, as in Redis.
    assert open_stream(keyway.url + "/v1/subscribe?pattern=*", app).status_code == 403
    assert open_stream(keyway.url + "/subscribe/other", app).status_code == 403
    assert open_stream(keyway.url + "/v1/streams/secret/events", app).status_code == 403
    assert open_stream(keyway.url + "/v1/monitor", app).status_code == 403
    assert open_stream(keyway.url + "/v1/monitor", basic("everything", "everythingpw")).status_code == 200
    publish = requests.post(keyway.url + "/v1/channels/other/messages", json={"message": "x"}, headers=app, timeout=5)
    assert publish.status_code == 403


def test_metrics_need_a_user_who_may_run_info(keyway):
    assert requests.get(keyway.url + "/metrics", timeout=5).status_code == 401
    assert requests.get(keyway.url + "/metrics", headers=basic("reader", "readerpw"), timeout=5).status_code == 403
    assert requests.get(keyway.url + "/metrics", headers=basic("ops", "opspw"), timeout=5).status_code == 200


def test_tokens_are_issued_listed_and_revoked_over_http(keyway):
    admin = bearer(ADMIN)
    created = requests.post(keyway.url + "/v1/acl/tokens", json={"user": "reader", "ttl": 600, "label": "browser"},
                            headers=admin, timeout=5)
    assert created.status_code == 201, created.text
    body = created.json()
    token = body["token"]
    assert body["user"] == "reader" and body["label"] == "browser" and body["expires"] > body["created"]
    assert command(keyway, bearer(token), "ACL", "WHOAMI").status_code == 403
    assert requests.get(keyway.url + "/v1/acl/whoami", headers=bearer(token), timeout=5).json() == {"user": "reader"}
    assert requests.put(keyway.url + "/v1/keys/k", json={"value": "v"}, headers=bearer(token), timeout=5).status_code == 403
    listed = requests.get(keyway.url + "/v1/acl/tokens", headers=admin, timeout=5).json()["tokens"]
    assert any(t["id"] == body["id"] for t in listed)
    assert token not in str(listed)
    # Only an admin manages tokens.
    assert requests.get(keyway.url + "/v1/acl/tokens", headers=bearer(token), timeout=5).status_code == 403
    assert requests.delete(keyway.url + f"/v1/acl/tokens/{body['id']}", headers=admin, timeout=5).status_code == 204
    assert requests.get(keyway.url + "/v1/acl/whoami", headers=bearer(token), timeout=5).status_code == 401
    assert requests.delete(keyway.url + f"/v1/acl/tokens/{body['id']}", headers=admin, timeout=5).status_code == 404


def test_users_are_managed_over_http(keyway):
    admin = bearer(ADMIN)
    r = requests.put(keyway.url + "/v1/acl/users/temp", json={"rules": ["on", ">temppw", "~t:*", "+@read"]}, headers=admin, timeout=5)
    assert r.status_code == 200, r.text
    assert r.json()["keys"] == "~t:*" and r.json()["flags"] == ["on"]
    assert requests.get(keyway.url + "/v1/acl/whoami", headers=basic("temp", "temppw"), timeout=5).json() == {"user": "temp"}
    bad = requests.put(keyway.url + "/v1/acl/users/temp", json={"rules": ["+nosuch"]}, headers=admin, timeout=5)
    assert bad.status_code == 400 and "Unknown command" in bad.json()["detail"]
    names = [u["name"] for u in requests.get(keyway.url + "/v1/acl/users", headers=admin, timeout=5).json()["users"]]
    assert "temp" in names and "default" in names
    assert requests.delete(keyway.url + "/v1/acl/users/temp", headers=admin, timeout=5).status_code == 204
    assert requests.get(keyway.url + "/v1/acl/users/temp", headers=admin, timeout=5).status_code == 404
    assert requests.get(keyway.url + "/v1/acl/whoami", headers=basic("temp", "temppw"), timeout=5).status_code == 401


def test_the_log_records_refusals_and_failed_authentication(keyway):
    admin = bearer(ADMIN)
    requests.delete(keyway.url + "/v1/acl/log", headers=admin, timeout=5)
    requests.get(keyway.url + "/v1/keys/x", headers=basic("reader", "wrong"), timeout=5)
    command(keyway, basic("app", "apppw"), "GET", "not-app")
    entries = requests.get(keyway.url + "/v1/acl/log", headers=admin, timeout=5).json()["entries"]
    reasons = {(e["reason"], e["username"], e["object"]) for e in entries}
    assert ("auth", "reader", "AUTH") in reasons
    assert ("key", "app", "not-app") in reasons
    assert all("addr=127.0.0.1" in e["clientInfo"] for e in entries), [e["clientInfo"] for e in entries]
    # The command API's view of the same log.
    log = command(keyway, admin, "ACL", "LOG").json()["result"]
    assert len(log) == len(entries)


def make_jwt(claims: dict, key=JWT_SECRET, algorithm="HS256", lifetime=60) -> str:
    payload = {"exp": int(time.time()) + lifetime, **claims}
    return jwt.encode(payload, key, algorithm=algorithm)


def test_a_jwt_confines_each_end_user_to_their_keys(keyway):
    alice = bearer(make_jwt({"role": "app-user", "sub": "alice"}))
    bob = bearer(make_jwt({"role": "app-user", "sub": "bob"}))
    assert requests.get(keyway.url + "/v1/acl/whoami", headers=alice, timeout=5).json() == {"user": "app-user"}
    assert requests.put(keyway.url + "/v1/keys/user:alice:cart", json={"value": "3 apples"}, headers=alice, timeout=5).status_code in (200, 201)
    assert requests.get(keyway.url + "/v1/keys/user:alice:cart", headers=alice, timeout=5).json()["value"] == "3 apples"
    assert requests.get(keyway.url + "/v1/keys/user:alice:cart", headers=bob, timeout=5).status_code == 403
    assert command(keyway, bob, "GET", "user:alice:cart").status_code == 403
    assert open_stream(keyway.url + "/v1/subscribe?channel=user:bob:events", bob).status_code == 200
    assert open_stream(keyway.url + "/v1/subscribe?channel=user:alice:events", bob).status_code == 403


@pytest.mark.parametrize("token", [
    pytest.param(lambda: make_jwt({"role": "app-user", "sub": "a"}, lifetime=-10), id="expired"),
    pytest.param(lambda: make_jwt({"role": "app-user", "sub": "a"}, key="another-secret-another-secret-00"), id="wrong-signature"),
    pytest.param(lambda: jwt.encode({"role": "everything", "exp": int(time.time()) + 60}, None, algorithm="none"), id="alg-none"),
    pytest.param(lambda: make_jwt({"role": "app-user", "sub": "a", "nbf": int(time.time()) + 600}), id="not-yet-valid"),
    pytest.param(lambda: jwt.encode({"role": "app-user", "sub": "a"}, JWT_SECRET, algorithm="HS256"), id="no-exp"),
    pytest.param(lambda: make_jwt({"role": "nobody", "sub": "a"}), id="unknown-user"),
    pytest.param(lambda: make_jwt({"role": "everything"}, algorithm="HS384"), id="other-algorithm"),
])
def test_bad_jwts_are_refused(keyway, token):
    r = requests.get(keyway.url + "/v1/acl/whoami", headers=bearer(token()), timeout=5)
    assert r.status_code == 401, r.text


def pem_public(private_key) -> bytes:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.mark.parametrize("algorithm,make_key", [
    ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
    ("EdDSA", lambda: ed25519.Ed25519PrivateKey.generate()),
])
def test_public_key_jwts_with_an_audience(tmp_path, algorithm, make_key):
    private_key = make_key()
    (tmp_path / "jwt.pem").write_bytes(pem_public(private_key))
    config = write_config(tmp_path, f"requirepass {ADMIN}\njwt-key-file {tmp_path / 'jwt.pem'}\njwt-audience keyway-tests\n"
                          "jwt-user-claim group\n" + USERS)
    server = start_server("--config", config, token=ADMIN, token_flag=False)
    try:
        good = make_jwt({"group": "reader", "aud": "keyway-tests"}, key=private_key, algorithm=algorithm)
        r = requests.get(server.url + "/v1/acl/whoami", headers=bearer(good), timeout=5)
        assert r.status_code == 200 and r.json() == {"user": "reader"}, r.text
        wrong_audience = make_jwt({"group": "reader", "aud": "someone-else"}, key=private_key, algorithm=algorithm)
        assert requests.get(server.url + "/v1/acl/whoami", headers=bearer(wrong_audience), timeout=5).status_code == 401
        # An HS256 token whose secret is the public key: algorithm confusion.
        confused = jwt.encode({"group": "everything", "aud": "keyway-tests", "exp": int(time.time()) + 60},
                              "not-the-key-but-long-enough-for-hmac", algorithm="HS256")
        assert requests.get(server.url + "/v1/acl/whoami", headers=bearer(confused), timeout=5).status_code == 401
    finally:
        server.cleanup()


def test_the_aclfile_and_tokens_survive_a_restart(tmp_path):
    acl_path = tmp_path / "users.acl"
    acl_path.write_text("user default on #" + __import__("hashlib").sha256(ADMIN.encode()).hexdigest() + " ~* &* +@all\n")
    config = write_config(tmp_path, f"aclfile {acl_path}\n")
    server = start_server("--config", config, token=ADMIN, token_flag=False)
    try:
        admin = bearer(ADMIN)
        assert command(server, admin, "ACL", "SETUSER", "carol", "on", ">carolpw", "~c:*", "+@read").json() == {"result": "OK"}
        assert command(server, admin, "ACL", "SAVE").json() == {"result": "OK"}
        reply = command(server, admin, "ACL", "TOKEN", "CREATE", "carol").json()["result"]
        token = dict(zip(reply[::2], reply[1::2]))["token"]
        saved = acl_path.read_text()
        assert "user carol on #" in saved and "carolpw" not in saved
        assert token not in (tmp_path / "users.acl.tokens").read_text()
    finally:
        server.stop()
    again = start_server("--config", config, token=ADMIN, token_flag=False)
    try:
        assert requests.get(again.url + "/v1/acl/whoami", headers=basic("carol", "carolpw"), timeout=5).json() == {"user": "carol"}
        assert requests.get(again.url + "/v1/acl/whoami", headers=bearer(token), timeout=5).json() == {"user": "carol"}
        # ACL LOAD after an edit on disk.
        acl_path.write_text(acl_path.read_text().replace("user carol on", "user carol off"))
        assert command(again, bearer(ADMIN), "ACL", "LOAD").json() == {"result": "OK"}
        assert requests.get(again.url + "/v1/acl/whoami", headers=basic("carol", "carolpw"), timeout=5).status_code == 401
    finally:
        again.cleanup()


def test_users_in_the_config_file_and_an_aclfile_cannot_be_combined(tmp_path):
    config = write_config(tmp_path, f"aclfile {tmp_path / 'users.acl'}\nuser x on nopass +@all\n")
    with pytest.raises(RuntimeError, match="at the same time"):
        start_server("--config", config)


def test_protected_mode_counts_a_passwordless_default_user(tmp_path):
    config = write_config(tmp_path, "bind 0.0.0.0\nuser default on nopass ~* +@all\n")
    with pytest.raises(RuntimeError, match="protected mode"):
        start_server("--config", config, token_flag=False)


def test_metrics_access_open_serves_metrics_without_credentials(tmp_path):
    config = write_config(tmp_path, f"requirepass {ADMIN}\nmetrics-access open\n")
    server = start_server("--config", config, token=ADMIN, token_flag=False)
    try:
        r = requests.get(server.url + "/metrics", timeout=5)
        assert r.status_code == 200 and "keyway_commands_total" in r.text
        assert requests.get(server.url + "/v1/info", timeout=5).status_code == 401
    finally:
        server.cleanup()


def test_genpass_gives_random_hex_of_the_asked_bits(keyway):
    admin = bearer(ADMIN)
    first = command(keyway, admin, "ACL", "GENPASS").json()["result"]
    second = command(keyway, admin, "ACL", "GENPASS").json()["result"]
    assert len(first) == 64 and first != second and int(first, 16) >= 0
    assert len(command(keyway, admin, "ACL", "GENPASS", "5").json()["result"]) == 2
    assert command(keyway, admin, "ACL", "GENPASS", "0").status_code == 400


def test_client_list_names_the_user_of_each_connection(keyway):
    with requests.Session() as session:
        session.headers.update(basic("everything", "everythingpw"))
        own_id = session.post(keyway.url + "/", json=["CLIENT", "ID"], timeout=5).json()["result"]
        listing = session.post(keyway.url + "/", json=["CLIENT", "LIST", "ID", str(own_id)], timeout=5).json()["result"]
        assert f"id={own_id} " in listing and listing.strip().endswith("user=everything"), listing
        clients = session.get(keyway.url + "/v1/clients", params={"id": own_id}, timeout=5).json()["clients"]
        assert clients[0]["user"] == "everything"
