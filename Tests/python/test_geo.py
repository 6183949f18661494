"""Geospatial commands beside a real redis-server 7: the same points give the
same scores, positions, distances, geohashes and search results, for random
points, centres, radii and boxes, on both sides of the antimeridian and near
the poles; then the REST routes and the upstash-redis SDK's geo methods."""

from __future__ import annotations

import random

import pytest
import requests

from redis_reference import REDIS_SERVER, assert_same, keyway_reply, reference_redis, reference_reply  # noqa: F401 (reference_redis is a fixture)

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server not installed (make deps installs it)")


def same_zset(server, reference_redis, key):
    """ZRANGE WITHSCORES on both, scores compared as numbers: Keyway prints
    them as Redis 7.2 does (shortest round trip), redis-server 7.0 with 17
    digits."""
    def pairs(reply):
        return reply if isinstance(reply, tuple) else [(m, float(s)) for m, s in zip(reply[0::2], reply[1::2])]
    ours = pairs(keyway_reply(server, "ZRANGE", key, 0, -1, "WITHSCORES"))
    theirs = pairs(reference_reply(reference_redis, "ZRANGE", key, 0, -1, "WITHSCORES"))
    assert ours == theirs, f"{key}: Keyway {str(ours)[:400]}, redis-server {str(theirs)[:400]}"


def random_point(rng):
    region = rng.random()
    if region < 0.5:  # a city-sized cluster
        return 13.4 + rng.uniform(-0.5, 0.5), 52.5 + rng.uniform(-0.3, 0.3)
    if region < 0.7:  # across the antimeridian
        return rng.choice([179.9, -179.9]) + rng.uniform(-0.09, 0.09), rng.uniform(-10, 10)
    if region < 0.8:  # near the latitude limits
        return rng.uniform(-180, 180), rng.choice([84.9, -84.9]) + rng.uniform(-0.15, 0.15)
    return rng.uniform(-180, 180), rng.uniform(-85, 85)


def load_points(server, reference_redis, key, count, seed):
    rng = random.Random(seed)
    members = []
    for n in range(count):
        lon, lat = random_point(rng)
        members.append(f"p{n}")
        assert_same(server, reference_redis, "GEOADD", key, f"{lon:.7f}", f"{lat:.7f}", f"p{n}")
    return rng, members


def test_positions_distances_and_hashes(flush, reference_redis):
    rng, members = load_points(flush, reference_redis, "geo", 300, 1)
    same_zset(flush, reference_redis, "geo")
    for _ in range(60):
        picked = rng.sample(members, 3) + ["missing"]
        assert_same(flush, reference_redis, "GEOPOS", "geo", *picked)
        assert_same(flush, reference_redis, "GEOHASH", "geo", *picked)
        assert_same(flush, reference_redis, "GEODIST", "geo", picked[0], picked[1], rng.choice(["m", "KM", "ft", "mi"]))
    assert_same(flush, reference_redis, "GEODIST", "geo", "p1", "missing")
    assert_same(flush, reference_redis, "GEOADD", "edges", 180, 85.05112878, "ne", -180, -85.05112878, "sw", 0, 0, "origin")
    assert_same(flush, reference_redis, "GEOPOS", "edges", "ne", "sw", "origin")
    assert_same(flush, reference_redis, "GEOHASH", "edges", "ne", "sw", "origin")
    assert_same(flush, reference_redis, "GEOPOS", "nokey", "a")


def test_searches_match_redis(flush, reference_redis):
    rng, members = load_points(flush, reference_redis, "geo", 400, 2)
    for _ in range(150):
        lon, lat = random_point(rng)
        unit = rng.choice(["m", "km", "mi", "ft"])
        scale = {"m": 1, "km": 1000, "mi": 1609.34, "ft": 0.3048}[unit]
        radius = rng.choice([500, 5_000, 50_000, 500_000, 3_000_000]) / scale
        extras = rng.sample(["WITHDIST", "WITHHASH", "WITHCOORD"], rng.randrange(4))
        ordered = rng.choice([[], ["ASC"], ["DESC"]])
        count = rng.choice([[], [], ["COUNT", rng.randrange(1, 20)]])
        unordered = not ordered and not count
        if rng.random() < 0.5:
            origin = ["FROMLONLAT", f"{lon:.6f}", f"{lat:.6f}"] if rng.random() < 0.6 else ["FROMMEMBER", rng.choice(members)]
            area = ["BYRADIUS", radius, unit] if rng.random() < 0.5 else ["BYBOX", radius * 2, radius * rng.choice([0.5, 1, 3]), unit]
            assert_same(flush, reference_redis, "GEOSEARCH", "geo", *origin, *area, *ordered, *count, *extras, unordered=unordered)
            assert_same(flush, reference_redis, "GEOSEARCHSTORE", "dest", "geo", *origin, *area, *ordered, *count,
                 *(["STOREDIST"] if rng.random() < 0.5 else []))
            same_zset(flush, reference_redis, "dest")
        elif rng.random() < 0.5:
            assert_same(flush, reference_redis, "GEORADIUS", "geo", f"{lon:.6f}", f"{lat:.6f}", radius, unit, *ordered, *count, *extras, unordered=unordered)
        else:
            assert_same(flush, reference_redis, "GEORADIUSBYMEMBER_RO", "geo", rng.choice(members), radius, unit, *ordered, *count, *extras,
                 unordered=unordered)
    # COUNT n ANY: any n members inside; both return n when that many are inside.
    ours = keyway_reply(flush, "GEOSEARCH", "geo", "FROMLONLAT", 13.4, 52.5, "BYRADIUS", 100, "km", "COUNT", 5, "ANY")
    theirs = reference_reply(reference_redis, "GEOSEARCH", "geo", "FROMLONLAT", 13.4, 52.5, "BYRADIUS", 100, "km", "COUNT", 5, "ANY")
    assert len(ours) == len(theirs) == 5
    inside = set(keyway_reply(flush, "GEOSEARCH", "geo", "FROMLONLAT", 13.4, 52.5, "BYRADIUS", 100, "km"))
    assert set(ours) <= inside


def test_errors_match_redis(flush, reference_redis):
    assert_same(flush, reference_redis, "GEOADD", "geo", 13.361389, 38.115556, "Palermo", 15.087269, 37.502669, "Catania")
    assert_same(flush, reference_redis, "RPUSH", "list", "x")
    for command in (
        ["GEOADD", "geo", 200, 10, "x"], ["GEOADD", "geo", 10, 86, "x"], ["GEOADD", "geo", "ten", 10, "x"],
        ["GEOADD", "geo", 10, 10], ["GEOADD", "geo", "NX", "XX", 10, 10, "x"], ["GEOADD", "geo", "CH", "GT", 1, 1, "x"],
        ["GEOADD", "list", 1, 1, "x"], ["GEOADD", "geo", "XX", 1, 1, "new"], ["GEOADD", "geo", "NX", "CH", 1, 1, "Palermo", 2, 2, "n2"],
        ["GEODIST", "geo", "Palermo", "Catania", "yards"], ["GEODIST", "geo", "Palermo", "Catania", "km", "extra"],
        ["GEOPOS", "list", "x"], ["GEOSEARCH", "geo", "FROMLONLAT", 15, 37, "BYRADIUS", -1, "km"],
        ["GEOSEARCH", "geo", "FROMLONLAT", 15, 37, "BYBOX", 10, -1, "km"],
        ["GEOSEARCH", "geo", "FROMLONLAT", 15, 37, "FROMMEMBER", "Palermo", "BYRADIUS", 1, "km"],
        ["GEOSEARCH", "geo", "BYRADIUS", 100, "km"], ["GEOSEARCH", "geo", "FROMLONLAT", 15, 37],
        ["GEOSEARCH", "geo", "FROMMEMBER", "nobody", "BYRADIUS", 1, "km"],
        ["GEOSEARCH", "geo", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km", "COUNT", 0],
        ["GEOSEARCH", "geo", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km", "ANY"],
        ["GEOSEARCH", "geo", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km", "STORE", "x"],
        ["GEOSEARCH", "nokey", "FROMMEMBER", "a", "BYRADIUS", 1, "km"],
        ["GEOSEARCHSTORE", "d", "geo", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km", "WITHDIST"],
        ["GEOSEARCHSTORE", "d", "nokey", "FROMLONLAT", 15, 37, "BYRADIUS", 200, "km"],
        ["GEORADIUS", "geo", 15, 37, 200, "km", "STORE", "d", "WITHCOORD"],
        ["GEORADIUS", "geo", 15, 37, 200, "km", "STORE", "d"], ["GEORADIUS", "geo", 15, 37, 200, "km", "STOREDIST", "d2"],
        ["GEORADIUS_RO", "geo", 15, 37, 200, "km", "STORE", "d"], ["GEORADIUSBYMEMBER", "geo", "nobody", 1, "km"],
        ["GEORADIUS", "geo", 15, 37, 200, "km", "WITHDIST", "WITHCOORD", "WITHHASH", "ASC"],
        ["GEOSEARCH", "list", "FROMLONLAT", 15, 37, "BYRADIUS", 1, "km"], ["GEOHASH", "geo", "Palermo", "Catania"],
    ):
        assert_same(flush, reference_redis, *command)
    same_zset(flush, reference_redis, "d")
    same_zset(flush, reference_redis, "d2")


def test_geo_routes(flush):
    base = flush.url + "/v1/geo/"
    auth = flush.auth
    r = requests.post(base + "stores", headers=auth, timeout=10,
                      json={"points": {"berlin": [13.405, 52.52], "potsdam": [13.0645, 52.3906], "hamburg": [9.9937, 53.5511]}})
    assert (r.status_code, r.json()) == (201, {"key": "stores", "added": 3})
    r = requests.post(base + "stores", headers=auth, timeout=10, json={"points": {"berlin": [13.4, 52.5]}, "nx": True})
    assert r.json() == {"key": "stores", "added": 0}
    r = requests.get(base + "stores/search", headers=auth, timeout=10,
                     params={"lon": 13.4, "lat": 52.5, "radius": 50, "unit": "km", "order": "asc"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [m["member"] for m in body["members"]] == ["berlin", "potsdam"]
    assert body["members"][0]["distance"] < body["members"][1]["distance"]
    assert body["unit"] == "km"
    lon, lat = body["members"][1]["coordinates"]
    assert abs(lon - 13.0645) < 1e-4 and abs(lat - 52.3906) < 1e-4
    r = requests.get(base + "stores/search", headers=auth, timeout=10,
                     params={"member": "berlin", "width": 800, "height": 400, "unit": "km", "count": 1, "order": "desc"})
    assert [m["member"] for m in r.json()["members"]] == ["hamburg"]
    for params, code in [({"lon": 13.4, "lat": 52.5}, "BAD_REQUEST"), ({"lon": 13.4, "radius": 5}, "BAD_REQUEST"),
                         ({"lon": 200, "lat": 52.5, "radius": 5}, "ERR"), ({"member": "nobody", "radius": 5}, "ERR"),
                         ({"lon": 13, "lat": 52, "radius": 5, "unit": "yards"}, "ERR"),
                         ({"lon": 13, "lat": 52, "radius": 5, "order": "up"}, "BAD_REQUEST")]:
        r = requests.get(base + "stores/search", headers=auth, timeout=10, params=params)
        assert (r.status_code, r.json()["code"]) == (400, code), (params, r.text)
    for body in ({"points": {"x": [200, 10]}}, {"points": {"x": [1]}}, {"points": []}, {}):
        r = requests.post(base + "stores", headers=auth, timeout=10, json=body)
        assert r.status_code == 400, (body, r.text)
    assert requests.get(base + "missing/search", headers=auth, timeout=10,
                        params={"lon": 1, "lat": 1, "radius": 5}).json()["members"] == []


def test_geo_through_the_sdk(flush, redis):
    assert redis.geoadd("Sicily", (13.361389, 38.115556, "Palermo"), (15.087269, 37.502669, "Catania")) == 2
    assert redis.geodist("Sicily", "Palermo", "Catania", "KM") == pytest.approx(166.2742, abs=1e-4)
    positions = redis.geopos("Sicily", "Palermo", "nobody")
    assert positions[0] == pytest.approx((13.36138933897018433, 38.11555639549629859)) and positions[1] is None
    assert redis.geohash("Sicily", "Palermo") == ["sqc8b49rny0"]
    found = redis.geosearch("Sicily", longitude=15, latitude=37, radius=200, unit="KM", withdist=True, order="ASC")
    assert [f.member for f in found] == ["Catania", "Palermo"]
    assert found[0].distance == pytest.approx(56.4413, abs=1e-4)
    assert redis.georadius("Sicily", 15, 37, 100, "KM") == ["Catania"]
    assert redis.geosearchstore("near", "Sicily", longitude=15, latitude=37, radius=100, unit="KM") == 1
    assert redis.zrange("near", 0, -1) == ["Catania"]
