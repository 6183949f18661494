"""The upstash-redis SDK's `redis.json.*` methods against Keyway, with
RedisJSON 2.x's documented results. The SDK sends each command through
`POST /` and parses JSON texts out of `{"result": "<json>"}` itself."""

from __future__ import annotations

import pytest
import requests
from upstash_redis.errors import UpstashError

DOC = {"a": 1, "s": "x", "arr": [1, 2], "obj": {"flag": True, "n": 2.5}, "none": None}


@pytest.fixture
def doc(flush, redis):
    assert redis.json.set("doc", "$", DOC) is True
    return redis


def test_set_and_get(doc):
    redis = doc
    assert redis.json.get("doc") == [DOC]
    assert redis.json.get("doc", "$.a") == [1]
    assert redis.json.get("doc", "$.missing") == []
    assert redis.json.get("doc", "$..n") == [2.5]
    assert redis.json.get("doc", ".arr") == [1, 2]
    assert redis.json.get("doc", "$.a", "$.s") == {"$.a": [1], "$.s": ["x"]}
    assert redis.json.get("doc", ".a", ".s") == {".a": 1, ".s": "x"}
    assert redis.json.get("missing") is None
    assert redis.type("doc") == "ReJSON-RL"
    with pytest.raises(UpstashError, match="does not exist"):
        redis.json.get("doc", ".missing")


def test_set_conditions_and_sub_paths(doc):
    redis = doc
    assert redis.json.set("doc", "$", {"z": 0}, nx=True) is False
    assert redis.json.set("new", "$", [1], xx=True) is False
    assert redis.json.get("new") is None
    assert redis.json.set("new", "$", [1], nx=True) is True
    assert redis.json.set("doc", "$.s", "y", xx=True) is True
    assert redis.json.set("doc", "$.added", {"deep": [True, False]}) is True
    assert redis.json.set("doc", "$.flag", True) is True
    assert redis.json.get("doc", "$.s", "$.added", "$.flag") == {"$.s": ["y"], "$.added": [{"deep": [True, False]}], "$.flag": [True]}
    assert redis.json.set("doc", "$.a", 5, nx=True) is False
    assert redis.json.set("doc", "$.nothing", 5, xx=True) is False
    # The parent does not exist: nothing is set.
    assert redis.json.set("doc", "$.nope.deeper", 1) is False
    with pytest.raises(UpstashError, match="new objects must be created at the root"):
        redis.json.set("absent", "$.a", 1)
    with pytest.raises(UpstashError, match="expected value at line 1 column 1"):
        redis.execute(["JSON.SET", "doc", "$", "x"])
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        redis.set("str", "v")
        redis.json.set("str", "$", 1)


def test_mget_and_mset(flush, redis):
    assert redis.json.mset([("m1", "$", {"n": 1}), ("m2", "$", {"n": 2, "s": "t"}), ("m3", "$", "text")]) is True
    assert redis.json.mget(["m1", "m2", "missing", "m3"], "$.n") == [[1], [2], None, []]
    assert redis.json.mget(["m1", "m2"], ".n") == [1, 2]
    assert redis.json.mget(["m3"], "$") == [["text"]]
    assert redis.json.mset([("m1", "$.n", 10), ("m2", "$.s", "u")]) is True
    assert redis.json.get("m1") == [{"n": 10}]
    assert redis.json.get("m2", "$.s") == ["u"]


def test_delete_and_forget(doc):
    redis = doc
    assert redis.json.delete("doc", "$.a") == 1
    assert redis.json.forget("doc", "$.s") == 1
    assert redis.json.delete("doc", "$.a") == 0
    assert redis.json.delete("doc", "$..n") == 1
    assert redis.json.get("doc") == [{"arr": [1, 2], "obj": {"flag": True}, "none": None}]
    assert redis.json.delete("doc") == 1
    assert redis.json.get("doc") is None
    assert redis.exists("doc") == 0
    assert redis.json.delete("doc") == 0


def test_type(doc):
    redis = doc
    assert redis.json.type("doc", "$") == ["object"]
    assert redis.json.type("doc") == ["object"]
    assert redis.json.type("doc", "$.a") == ["integer"]
    assert redis.json.type("doc", "$.obj.n") == ["number"]
    assert redis.json.type("doc", "$.s") == ["string"]
    assert redis.json.type("doc", "$.arr") == ["array"]
    assert redis.json.type("doc", "$.obj.flag") == ["boolean"]
    assert redis.json.type("doc", "$.none") == ["null"]
    assert redis.json.type("doc", "$.missing") == []
    assert redis.json.type("doc", ".arr") == "array"
    assert redis.json.type("missing", "$") is None


def test_numbers(doc):
    redis = doc
    assert redis.json.numincrby("doc", "$.a", 2) == [3]
    assert redis.json.nummultby("doc", "$.a", 3) == [9]
    assert redis.json.numincrby("doc", "$.obj.n", 0.5) == [3.0]
    assert redis.json.numincrby("doc", "$.s", 1) == [None]
    assert redis.json.numincrby("doc", ".a", 1) == 10
    assert redis.json.get("doc", "$.a", "$.obj.n") == {"$.a": [10], "$.obj.n": [3.0]}


def test_strings(doc):
    redis = doc
    assert redis.json.strappend("doc", "$.s", "yz") == [3]
    assert redis.json.strlen("doc", "$.s") == [3]
    assert redis.json.strlen("doc", "$.a") == [None]
    assert redis.json.get("doc", "$.s") == ["xyz"]
    assert redis.json.strappend("doc", ".s", "!") == 4
    assert redis.json.strlen("doc", ".s") == 4


def test_arrays(doc):
    redis = doc
    assert redis.json.arrappend("doc", "$.arr", "x", 3) == [4]
    assert redis.json.get("doc", "$.arr") == [[1, 2, "x", 3]]
    assert redis.json.arrappend("doc", "$.a", 1) == [None]
    assert redis.json.arrindex("doc", "$.arr", "x") == [2]
    assert redis.json.arrindex("doc", "$.arr", 99) == [-1]
    assert redis.json.arrinsert("doc", "$.arr", 0, "first") == [5]
    assert redis.json.arrinsert("doc", "$.arr", -1, {"o": 1}) == [6]
    assert redis.json.get("doc", "$.arr") == [["first", 1, 2, "x", {"o": 1}, 3]]
    assert redis.json.arrlen("doc", "$.arr") == [6]
    assert redis.json.arrlen("doc", "$.s") == [None]
    assert redis.json.arrlen("doc", ".arr") == 6
    assert redis.json.arrpop("doc", "$.arr") == [3]
    assert redis.json.arrpop("doc", "$.arr", 0) == ["first"]
    assert redis.json.arrpop("doc", "$.arr", 2) == ["x"]
    assert redis.json.get("doc", "$.arr") == [[1, 2, {"o": 1}]]
    assert redis.json.arrtrim("doc", "$.arr", 0, 1) == [2]
    assert redis.json.get("doc", "$.arr") == [[1, 2]]
    assert redis.json.arrtrim("doc", "$.arr", 5, 9) == [0]
    assert redis.json.arrpop("doc", "$.arr") == [None]


def test_objects(doc):
    redis = doc
    assert redis.json.objkeys("doc", "$.obj") == [["flag", "n"]]
    assert redis.json.objkeys("doc", "$") == [["a", "s", "arr", "obj", "none"]]
    assert redis.json.objkeys("doc", "$.a") == [None]
    assert redis.json.objlen("doc", "$.obj") == [2]
    assert redis.json.objlen("doc") == [5]
    assert redis.json.objlen("doc", ".obj") == 2


def test_toggle(doc):
    redis = doc
    assert redis.json.toggle("doc", "$.obj.flag") == [False]
    assert redis.json.get("doc", "$.obj.flag") == [False]
    assert redis.json.toggle("doc", "$.obj.flag") == [True]
    assert redis.json.toggle("doc", "$.a") == [None]


def test_clear(flush, redis):
    document = {"obj": {"a": 1, "b": 2}, "arr": [1, 2, 3], "str": "foo", "bool": True, "int": 42, "float": 3.14}
    assert redis.json.set("c", "$", document) is True
    assert redis.json.clear("c", "$.*") == 4
    assert redis.json.get("c") == [{"obj": {}, "arr": [], "str": "foo", "bool": True, "int": 0, "float": 0}]
    assert redis.json.clear("c") == 1
    assert redis.json.get("c") == [{}]


def test_merge(doc):
    redis = doc
    assert redis.json.merge("doc", "$", {"a": None, "obj": {"flag": None, "new": [1]}, "s": "merged"}) is True
    assert redis.json.get("doc") == [{"s": "merged", "arr": [1, 2], "obj": {"n": 2.5, "new": [1]}, "none": None}]
    assert redis.json.merge("doc", "$.obj", {"n": 3}) is True
    assert redis.json.get("doc", "$.obj.n") == [3]
    assert redis.json.merge("fresh", "$", {"x": 1}) is True
    assert redis.json.get("fresh") == [{"x": 1}]


def test_resp(flush, redis):
    assert redis.json.set("r", "$", {"a": 1, "b": "x", "c": [1, 2], "d": None, "e": True, "f": 1.5}) is True
    assert redis.json.resp("r", "$") == [["{", "a", 1, "b", "x", "c", ["[", 1, 2], "d", None, "e", "true", "f", "1.5"]]
    assert redis.json.resp("r", "$.c") == [["[", 1, 2]]
    assert redis.json.resp("r", ".b") == "x"


def test_pipeline_and_transaction(flush, redis):
    pipeline = redis.pipeline()
    pipeline.json.set("p", "$", {"n": 1})
    pipeline.json.numincrby("p", "$.n", 4)
    pipeline.json.get("p", "$.n")
    assert pipeline.exec() == [True, [5], [5]]
    tx = redis.multi()
    tx.json.arrappend("p", "$", 1)
    tx.json.type("p", "$.n")
    result = tx.exec()
    assert result == [[None], ["integer"]]


def test_boolean_arguments(flush, redis):
    """The SDK sends a Python bool as a JSON boolean, which the command API
    takes as the text `true`/`false`."""
    assert flush.command("ECHO", True).json() == {"result": "true"}
    replies = requests.post(flush.url + "/pipeline", json=[["ECHO", False], ["JSON.SET", "b", "$", True]], headers=flush.auth, timeout=10).json()
    assert replies == [{"result": "false"}, {"result": "OK"}]
    assert redis.json.set("b2", "$", []) is True
    assert redis.json.arrappend("b2", "$", True) == [1]
    assert redis.json.get("b2") == [[True]]
    assert flush.command("ECHO", None).json()["error"].startswith("ERR command arguments")
