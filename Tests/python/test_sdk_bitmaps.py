"""Bitmaps through the published Upstash Redis SDK (``upstash-redis``): its
setbit, getbit, bitcount, bitpos, bitop (Redis 8's operations included),
bitfield and bitfield_ro, unchanged, against Keyway; then the same data
through ``/v1/bitmaps``."""

from __future__ import annotations

import pytest
import requests
from upstash_redis.errors import UpstashError

pytestmark = pytest.mark.usefixtures("flush")


def test_daily_active_users(redis, server):
    for user_id in (3, 17, 4096):
        assert redis.setbit("active:2026-12-04", user_id, 1) == 0
    for user_id in (17, 4096, 9000):
        redis.setbit("active:2026-12-05", user_id, 1)
    assert redis.setbit("active:2026-12-05", 17, 1) == 1
    assert redis.getbit("active:2026-12-05", 9000) == 1
    assert redis.getbit("active:2026-12-05", 3) == 0
    assert redis.bitcount("active:2026-12-04") == 3
    assert redis.bitcount("active:2026-12-04", 0, 2) == 2  # bytes 0-2 hold users 3 and 17
    assert redis.bitpos("active:2026-12-04", 1) == 3
    assert redis.bitpos("active:2026-12-04", 1, 1) == 17
    assert redis.bitpos("active:2026-12-04", 0) == 0

    assert redis.bitop("AND", "active:both", "active:2026-12-04", "active:2026-12-05") == 1126
    assert redis.bitcount("active:both") == 2
    assert redis.bitop("OR", "active:any", "active:2026-12-04", "active:2026-12-05") == 1126
    assert redis.bitcount("active:any") == 4
    assert redis.bitop("DIFF", "active:lost", "active:2026-12-04", "active:2026-12-05") == 1126
    assert redis.bitpos("active:lost", 1) == 3
    assert redis.bitop("ONE", "active:once", "active:2026-12-04", "active:2026-12-05") == 1126
    assert redis.bitcount("active:once") == 2

    r = requests.get(server.url + "/v1/bitmaps/active:any/count", headers=server.auth, timeout=10)
    assert r.json() == {"key": "active:any", "count": 4}


def test_bitfield_counters(redis):
    counters = redis.bitfield("counters").set("u8", 0, 200).incrby("u8", 0, 100).overflow("SAT").incrby("u8", "#1", -5).execute()
    assert counters == [0, 44, 0]
    assert redis.bitfield("counters").overflow("FAIL").incrby("u8", 0, 300).get("u8", 0).execute() == [None, 44]
    assert redis.bitfield_ro("counters").get("u8", 0).get("i4", 0).execute() == [44, 2]
    assert redis.bitfield_ro("missing").get("u16", 100).execute() == [0]


def test_bitmap_errors_come_back_as_redis_words(redis):
    redis.rpush("queue", "job")
    with pytest.raises(UpstashError, match="WRONGTYPE"):
        redis.setbit("queue", 0, 1)
    with pytest.raises(UpstashError, match="bit offset is not an integer or out of range"):
        redis.getbit("k", -1)
    with pytest.raises(UpstashError, match="BITOP DIFF must be called with at least two source keys"):
        redis.bitop("DIFF", "d", "a")
    with pytest.raises(UpstashError, match="Invalid bitfield type"):
        redis.bitfield("k").get("u64", 0).execute()
