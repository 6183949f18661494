"""COMMAND DOCS beside a real redis-server 7.0: for every command both know,
the group and the structure of the arguments (names, types, tokens, flags,
nesting) agree; the prose is Keyway's own and is not compared. Over the
command API the reply is RESP2-shaped, as every map reply there (HGETALL,
XINFO): flat name/value lists."""

from __future__ import annotations

import pytest
import requests

from conftest import CLUSTER_MODE
from redis_reference import REDIS_SERVER, reference_redis  # noqa: F401 (reference_redis is a fixture)

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (make deps installs it)")

# Where Keyway's arguments differ from Redis 7.0's on purpose.
DIFFERENCES = {
    "pfmerge": "the source keys are optional, as in Redis 7.2",
    "client|kill": "Keyway also filters by MAXAGE, as Redis 7.4 does",
    "command|list": "Keyway lists every command; it has no FILTERBY",
}


def pairs(flat):
    """A RESP2 map (flat list) as a dict; bytes or str names as str."""
    out = {}
    for name, value in zip(flat[::2], flat[1::2]):
        out[name.decode() if isinstance(name, bytes) else name] = value
    return out


def text(value):
    return value.decode() if isinstance(value, bytes) else value


def shape(arguments):
    """The structure of an argument list, prose left out."""
    out = []
    for argument in arguments or []:
        fields = pairs(argument)
        flags = sorted(text(f) for f in fields.get("flags", []) if text(f) in ("optional", "multiple", "multiple_token"))
        out.append((text(fields["name"]), text(fields["type"]), text(fields.get("token")), tuple(flags),
                    tuple(shape(fields.get("arguments")))))
    return out


def keyway_docs(server, *names):
    r = requests.post(server.url + "/", json=["COMMAND", "DOCS", *names], headers=server.auth, timeout=30)
    assert r.status_code == 200, r.text
    return {name: pairs(doc) for name, doc in pairs(r.json()["result"]).items()}


def reference_docs(redis, *names):
    return {name: pairs(doc) for name, doc in pairs(redis("COMMAND", "DOCS", *names)).items()}


@pytest.mark.skipif(CLUSTER_MODE, reason="the cluster backend answers COMMAND DOCS from a Redis 7.0 node")
def test_groups_and_argument_structure_agree_with_redis(server, reference_redis):
    ours = keyway_docs(server)
    theirs = reference_docs(reference_redis)
    both = sorted(set(ours) & set(theirs))
    assert len(both) > 180, both
    compared = 0
    for name in both:
        mine, reference = ours[name], theirs[name]
        assert text(mine["group"]) == text(reference["group"]), name
        entries = [(name, mine, reference)]
        our_subs = {n: pairs(d) for n, d in pairs(mine.get("subcommands", [])).items()}
        their_subs = {text(n): pairs(d) for n, d in pairs(reference.get("subcommands", [])).items()}
        for sub in sorted(set(our_subs) & set(their_subs)):
            entries.append((sub, our_subs[sub], their_subs[sub]))
        for entry, mine_doc, reference_doc in entries:
            assert text(mine_doc["group"]) == text(reference_doc["group"]), entry
            if entry in DIFFERENCES:
                continue
            assert shape(mine_doc.get("arguments")) == shape(reference_doc.get("arguments")), entry
            compared += 1
    assert compared > 220


def test_docs_for_named_commands_and_unknown_names(server):
    docs = keyway_docs(server, "GET", "nosuchcommand", "config|get", "hset")
    assert sorted(docs) == ["config|get", "get", "hset"]
    assert docs["get"]["group"] == "string" and docs["get"]["summary"]
    assert shape(docs["hset"]["arguments"]) == [
        ("key", "key", None, (), ()),
        ("field_value", "block", None, ("multiple",), (("field", "string", None, (), ()), ("value", "string", None, (), ()))),
    ]
    assert keyway_docs(server, "nosuchcommand") == {}
    # Every command the server lists is documented (a Redis node also lists
    # subcommands, which its docs hold inside their containers).
    listed = requests.post(server.url + "/", json=["COMMAND", "LIST"], headers=server.auth, timeout=30).json()["result"]
    everything = keyway_docs(server)
    assert {name for name in listed if "|" not in name} <= set(everything)
