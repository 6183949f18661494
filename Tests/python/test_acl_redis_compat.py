"""The aclfile is Redis's users.acl: a file Keyway's ACL SAVE writes loads in a
real redis-server with the same users, passwords and rules, and a file
redis-server's ACL SAVE writes loads in Keyway."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import pytest
import requests

from conftest import start_server
from redis_reference import ReferenceRedis
from resp_client import RespError

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (make deps installs it)")
ADMIN = "compat-admin"


class RedisWithACL(ReferenceRedis):
    def __init__(self, workdir: Path, aclfile: Path):
        super().__init__(workdir, "--aclfile", str(aclfile))


def basic(name: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def test_keyway_acl_save_loads_in_redis(tmp_path):
    aclfile = tmp_path / "users.acl"
    config = tmp_path / "keyway.conf"
    config.write_text(f"aclfile {aclfile}\n")
    keyway = start_server("--config", str(config), token=ADMIN)
    try:
        admin = {"Authorization": f"Bearer {ADMIN}"}
        for rules in (["reader", "on", ">readerpw", "~*", "&*", "+@read", "-@dangerous", "-keys"],
                      ["app", "on", ">apppw", "~app:*", "%R~shared:*", "&app:*", "+@all", "-@dangerous", "-config|set"],
                      ["off-user", "off", "nopass"]):
            r = requests.post(keyway.url + "/", json=["ACL", "SETUSER", *rules], headers=admin, timeout=5)
            assert r.json() == {"result": "OK"}, r.text
        assert requests.post(keyway.url + "/", json=["ACL", "SAVE"], headers=admin, timeout=5).json() == {"result": "OK"}
    finally:
        keyway.cleanup()
    redis = RedisWithACL(tmp_path, aclfile)
    try:
        r = redis.client
        assert r("AUTH", "default", ADMIN) == "OK"
        assert set(r("ACL", "USERS")) == {"default", "reader", "app", "off-user"}
        assert r("AUTH", "reader", "readerpw") == "OK"
        with pytest.raises(RespError, match="NOPERM"):
            r("SET", "k", "v")
        r("AUTH", "app", "apppw")
        assert r("SET", "app:1", "x") == "OK"
        with pytest.raises(RespError, match="NOPERM"):
            r("SET", "shared:1", "x")
        with pytest.raises(RespError, match="NOPERM"):
            r("GET", "other")
        with pytest.raises(RespError, match="NOPERM"):
            r("CONFIG", "SET", "maxmemory", "0")
        with pytest.raises(RespError):
            r("AUTH", "off-user", "anything")
    finally:
        redis.stop()


def test_redis_acl_save_loads_in_keyway(tmp_path):
    aclfile = tmp_path / "users.acl"
    aclfile.write_text("")
    redis = RedisWithACL(tmp_path, aclfile)
    try:
        r = redis.client
        assert r("ACL", "SETUSER", "default", "on", f">{ADMIN}", "~*", "&*", "+@all") == "OK"
        assert r("AUTH", "default", ADMIN) == "OK"
        assert r("ACL", "SETUSER", "carol", "on", ">carolpw", "~c:*", "resetchannels", "&news", "+@read", "+@write", "-del") == "OK"
        assert r("ACL", "SAVE") == "OK"
    finally:
        redis.stop()
    config = tmp_path / "keyway.conf"
    config.write_text(f"aclfile {aclfile}\n")
    keyway = start_server("--config", str(config), token=ADMIN, token_flag=False)
    try:
        carol = basic("carol", "carolpw")
        assert requests.post(keyway.url + "/", json=["SET", "c:1", "x"], headers=carol, timeout=5).json() == {"result": "OK"}
        assert requests.post(keyway.url + "/", json=["DEL", "c:1"], headers=carol, timeout=5).status_code == 403
        assert requests.post(keyway.url + "/", json=["GET", "d:1"], headers=carol, timeout=5).status_code == 403
        assert requests.post(keyway.url + "/", json=["PUBLISH", "news", "x"], headers=carol, timeout=5).status_code == 403
        assert requests.get(keyway.url + "/v1/acl/whoami", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=5).json() == {"user": "default"}
    finally:
        keyway.cleanup()
