"""What the Python suite skips when it runs against the cluster backend
(``KEYWAY_TEST_BACKEND=cluster``), and why.

Keys are a test file (``test_x.py``), a test (``test_x.py::test_y``, every
parametrization of it) or one parametrization (``test_x.py::test_y[p]``).
Every other test of the suite runs in cluster mode, unchanged, against a
Keyway gateway in front of a real Redis Cluster.
"""

from __future__ import annotations

# Reasons, in plain words.
PERSISTENCE = ("embedded engine only: snapshots and the append-only file are the embedded engine's "
               "(SAVE, --dir, --appendonly, restarts that reload data); the cluster's nodes persist themselves")
EVICTION = "embedded engine only: maxmemory and eviction are the embedded engine's; configure the nodes' own"
NODE_LOCAL = ("embedded engine only: CONFIG, DEBUG, SHUTDOWN, CLIENT, MONITOR and SLOWLOG act on one engine "
              "or node; the cluster backend refuses them with NOT_SUPPORTED")
CROSSSLOT = ("uses keys in different hash slots in one multi-key command, which the cluster refuses "
             "with CROSSSLOT as Redis Cluster does")
NO_JSON_MODULE = "the Redis 7.0 nodes load no RedisJSON module, so JSON.* is the nodes' unknown command"
OWN_CLUSTER = "starts a cluster of its own; it runs in the default (embedded) pass already"
MIDDLEWARE = "middleware on the cluster backend: in progress"

SKIPS: dict[str, str] = {
    # --- Embedded engine only -------------------------------------------
    "test_persistence.py": PERSISTENCE,
    "test_persistence_failures.py": PERSISTENCE,
    "test_aof_server.py": PERSISTENCE,
    "test_json_persistence.py": PERSISTENCE,
    "test_streamed_batches.py::test_always_streams_only_results_whose_writes_are_in_the_file": PERSISTENCE,
    "test_streamed_batches.py::test_always_a_failure_mid_stream_answers_the_undone_results_with_misconf": PERSISTENCE,
    "test_bitmaps.py::test_bitmaps_survive_a_restart_through_the_aof": PERSISTENCE,
    "test_hyperloglog.py::test_hlls_move_between_keyway_and_redis_in_rdb_files": PERSISTENCE,
    "test_bitmaps.py::test_a_far_offset_under_maxmemory_is_refused_with_oom": EVICTION,
    "test_scripting.py::test_runaway_script_gets_busy_and_script_kill": NODE_LOCAL,
    "test_scripting.py::test_lua_time_limit_from_the_config_file": NODE_LOCAL,
    "test_scripting.py::test_a_zero_time_limit_never_hangs_the_server": NODE_LOCAL,
    "test_scripting.py::test_sigterm_stops_a_script_that_wrote_and_saves_none_of_it": NODE_LOCAL,
    "test_scripting.py::test_shutdown_nosave_is_served_while_a_script_is_busy": NODE_LOCAL,
    "test_scripting.py::test_shutdown_stops_the_server": NODE_LOCAL,

    # --- Not available on the nodes -------------------------------------
    "test_json_rest.py": NO_JSON_MODULE,
    "test_sdk_json.py": NO_JSON_MODULE,

    # --- Covered elsewhere ----------------------------------------------
    "test_cluster_backend.py": OWN_CLUSTER,

    # --- Middleware on the cluster backend: in progress ------------------
    # Unskip these once RATELIMIT, KEYWAY.LOCK/UNLOCK/EXTEND, SESSION.* and
    # the cache-aside routes run as Lua scripts on the cluster.
    "test_rate_limit.py": MIDDLEWARE,
    "test_sessions_locks.py": MIDDLEWARE,
    "test_cache_aside.py": MIDDLEWARE,
    "test_upstash_ratelimit.py": MIDDLEWARE,
    # --- end of middleware block -----------------------------------------
}


def reason_for(nodeid: str) -> str | None:
    """The reason ``nodeid`` (pytest's, e.g. ``Tests/python/test_x.py::test_y[1]``)
    is skipped in cluster mode, or None when it runs."""
    path, _, name = nodeid.partition("::")
    file = path.rsplit("/", 1)[-1]
    function = name.split("[", 1)[0]
    for key in (f"{file}::{name}", f"{file}::{function}", file):
        if key in SKIPS:
            return SKIPS[key]
    return None
