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
EVICTION = ("embedded engine only: maxmemory, eviction and OOM refusals are the embedded engine's; "
            "the nodes have their own")
NODE_LOCAL = ("embedded engine only: CONFIG, SHUTDOWN, CLIENT, MONITOR and SLOWLOG act on one engine or node "
              "(keyspace notifications too); the cluster backend refuses them with NOT_SUPPORTED")
INFO = ("INFO and /metrics describe one master plus the gateway's cluster section, not the embedded engine's "
        "keyspace, memory and connection counters")
CROSSSLOT = ("uses keys in different hash slots in one multi-key command, transaction or script, which the "
             "cluster refuses with CROSSSLOT as Redis Cluster does")
UNDECLARED_KEY = "a script reaches a key it did not declare in KEYS, which a cluster node refuses"
PUBSUB_COUNTS = ("PUBLISH and PUBSUB NUMSUB/NUMPAT count the subscribers of the one node that answers, "
                 "as in Redis Cluster, not the gateway's")
REDIS_70 = ("the nodes are Redis 7.0, which lacks this (XDELEX, XINFO's 'inactive') or answers "
            "it in 7.0's words (script errors, -0 scores) where Keyway follows later Redis")
FIELD_TTLS = ("gives hash fields TTLs, which Redis 7.0 nodes cannot hold: the cluster backend answers the TTL reads "
              "(-1 or -2 per field) but refuses HEXPIRE, HSETEX and HGETEX with a TTL with NOT_SUPPORTED "
              "(test_cluster_hash_ttl.py covers what a 7.0 cluster answers)")
FIELD_TTL_TYPE = ("expects WRONGTYPE from HEXPIRE on a string; on Redis 7.0 nodes the cluster backend refuses "
                  "HEXPIRE with NOT_SUPPORTED before the key is looked at")
NO_JSON_MODULE = "the Redis 7.0 nodes load no RedisJSON module, so JSON.* is the nodes' unknown command"
BATCH_STREAMING = ("not supported yet: the cluster backend runs a big batch whole, so a reply the client does not "
                   "read does not pause it and a client that leaves does not stop it")
OUTPUT_LIMIT = "not supported yet: client-output-buffer-limit pubsub does not cut a stalled subscriber on the cluster backend"
SPEC_COVERAGE = ("not supported yet: the routes of what the cluster backend refuses (CLIENT, SLOWLOG, CONFIG, "
                 "MONITOR) answer 400 NOT_SUPPORTED, and JSON.* the nodes' unknown command, which openapi.yaml does not "
                 "document for them")
OWN_CLUSTER = "starts a cluster of its own; it runs in the default (embedded) pass already"
LOCK_KEYS = ("reads a lock's keys by their embedded names (lock:<name>); on a cluster they carry a hash tag, "
             "lock:{<name>}, so the lock and its fencing counter share a slot (test_cluster_middleware.py covers them)")
LOCK_ORDER = ("expects waiters for a lock served in arrival order; on a cluster they try again on a timer and "
              "whichever tries first after a release takes it (docs/CLUSTER.md)")
SCRIPT_FLAGS = ("the SDK's scripts declare the allow-key-locking shebang flag, which Redis 7.0 nodes do not know "
                "(Unexpected flag in script shebang)")

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
    "test_memory.py::test_oom_is_503_with_code_oom_and_recovers_after_a_delete": EVICTION,
    "test_memory.py::test_eviction_policy_set_over_http_evicts_and_counts": EVICTION,
    "test_memory.py::test_bad_memory_settings_are_rejected": EVICTION,
    "test_memory.py::test_serve_flags_set_the_limit_and_policy": EVICTION,
    "test_memory.py::test_config_file_memory_directives_take_effect": EVICTION,

    "test_clients.py": NODE_LOCAL,
    "test_access_log.py::test_requests_are_logged_as_json_lines_without_secrets": NODE_LOCAL,
    "test_acl.py::test_subcommand_rules": NODE_LOCAL,
    "test_acl.py::test_event_streams_check_channels_keys_and_monitor": NODE_LOCAL,
    "test_acl.py::test_client_list_names_the_user_of_each_connection": NODE_LOCAL,
    "test_cli.py::test_config_file_sets_token_and_notifications": NODE_LOCAL,
    "test_cli.py::test_config_rewrite_and_the_config_resource": NODE_LOCAL,
    "test_cli.py::test_a_flag_and_its_directive_are_one_setting": NODE_LOCAL,
    "test_cli.py::test_a_bad_value_is_refused_alike_by_the_flag_the_file_and_config_set": NODE_LOCAL,
    "test_cli.py::test_paths_are_protected_configs": NODE_LOCAL,
    "test_observability.py::test_slowlog_commandstats_and_readyz": NODE_LOCAL,
    "test_observability.py::test_slowlog_names_the_client_that_sent_each_command": NODE_LOCAL,
    "test_observability.py::test_monitor_streams_every_command_with_its_client": NODE_LOCAL,
    "test_sse_pubsub.py::test_keyspace_event_when_a_key_expires": NODE_LOCAL,
    "test_tls.py::test_tls_settings_from_the_config_file": NODE_LOCAL,
    "test_scripting.py::test_runaway_script_gets_busy_and_script_kill": NODE_LOCAL,
    "test_scripting.py::test_lua_time_limit_from_the_config_file": NODE_LOCAL,
    "test_scripting.py::test_a_zero_time_limit_never_hangs_the_server": NODE_LOCAL,
    "test_scripting.py::test_sigterm_stops_a_script_that_wrote_and_saves_none_of_it": NODE_LOCAL,
    "test_scripting.py::test_shutdown_nosave_is_served_while_a_script_is_busy": NODE_LOCAL,
    "test_scripting.py::test_shutdown_stops_the_server": NODE_LOCAL,


    "test_http_api.py::test_info": INFO,
    "test_memory.py::test_info_memory_section_parses_and_tracks_writes": INFO,
    "test_observability.py::test_metrics_parse_as_prometheus_text": INFO,
    "test_slow_clients.py::test_a_slowloris_flood_does_not_lock_out_a_client_with_a_token": INFO,
    "test_slow_clients.py::test_headers_and_bodies_have_deadlines_idle_keep_alive_does_not": INFO,
    "test_slow_subscribers.py::test_fifty_stalled_subscribers_are_cut_at_the_total_and_readers_keep_up": INFO,

    # --- Redis Cluster's rules ------------------------------------------
    "test_examples.py::test_example_runs_and_checks_its_answers": CROSSSLOT,
    "test_examples.py::test_examples_work_without_a_token": CROSSSLOT,
    "test_bitmaps.py::test_edge_cases_answer_as_redis_does": CROSSSLOT,
    "test_bitmaps.py::test_random_commands_answer_as_redis_does": CROSSSLOT,
    "test_bitmaps.py::test_bitmaps_in_lua_and_transactions": CROSSSLOT,
    "test_bitmaps.py::test_bitmap_routes": CROSSSLOT,
    "test_browser_cors.py::test_an_origin_not_listed_is_blocked_and_refused": CROSSSLOT,
    "test_geo.py::test_searches_match_redis": CROSSSLOT,
    "test_geo.py::test_errors_match_redis": CROSSSLOT,
    "test_geo.py::test_geo_through_the_sdk": CROSSSLOT,
    "test_http_api.py::test_command_set_get": CROSSSLOT,
    "test_http_api.py::test_base64_encoding": CROSSSLOT,
    "test_http_api.py::test_pipeline": CROSSSLOT,
    "test_http_api.py::test_multi_exec_runtime_error_does_not_roll_back": CROSSSLOT,
    "test_http_api.py::test_multi_exec_abort": CROSSSLOT,
    "test_http_api.py::test_scan_keys": CROSSSLOT,
    "test_hyperloglog.py::test_same_members_same_bytes_and_counts": CROSSSLOT,
    "test_hyperloglog.py::test_sparse_hlls_stay_sparse_and_merge_alike": CROSSSLOT,
    "test_hyperloglog.py::test_errors_are_redis_errors": CROSSSLOT,
    "test_hyperloglog.py::test_hyperloglog_through_the_sdk": CROSSSLOT,
    "test_hyperloglog.py::test_hyperloglog_routes": CROSSSLOT,
    "test_sdk_bitmaps.py::test_daily_active_users": CROSSSLOT,
    "test_sdk_bitmaps.py::test_bitmap_errors_come_back_as_redis_words": CROSSSLOT,
    "test_sdk_lists.py::test_moves_between_lists": CROSSSLOT,
    "test_sdk_lists.py::test_pipeline_and_transaction": CROSSSLOT,
    "test_sdk_sets.py::test_tags_membership_and_common_interests": CROSSSLOT,
    "test_sdk_sets.py::test_wrongtype": CROSSSLOT,
    "test_sdk_sets.py::test_smove": CROSSSLOT,
    "test_sdk_sets.py::test_algebra_and_store": CROSSSLOT,
    "test_sdk_sorted_sets.py::test_zrange_forms": CROSSSLOT,
    "test_sdk_sorted_sets.py::test_removals_and_pops": CROSSSLOT,
    "test_sdk_sorted_sets.py::test_set_algebra": CROSSSLOT,
    "test_sdk_streams.py::test_xread": CROSSSLOT,
    "test_upstash_sdk.py::test_mget_mset_msetnx": CROSSSLOT,
    "test_upstash_sdk.py::test_delete_unlink_exists": CROSSSLOT,
    "test_upstash_sdk.py::test_rename_renamenx": CROSSSLOT,
    "test_upstash_sdk.py::test_copy": CROSSSLOT,
    "test_upstash_sdk.py::test_keys": CROSSSLOT,
    "test_upstash_sdk.py::test_scan": CROSSSLOT,
    "test_upstash_sdk.py::test_randomkey_touch_dbsize": CROSSSLOT,
    "test_upstash_sdk.py::test_flushdb_flushall": CROSSSLOT,
    "test_upstash_sdk.py::test_pipeline": CROSSSLOT,
    "test_upstash_sdk.py::test_pipeline_error_is_raised_but_other_commands_ran": CROSSSLOT,
    "test_upstash_sdk.py::test_multi_exec": CROSSSLOT,
    "test_upstash_sdk.py::test_multi_exec_aborted_by_unknown_command": CROSSSLOT,
    "test_upstash_sdk.py::test_unicode_without_base64": CROSSSLOT,
    "test_acl.py::test_scripts_call_with_the_callers_rights": UNDECLARED_KEY,

    "test_sse_pubsub.py::test_channel_and_pattern_messages": PUBSUB_COUNTS,
    "test_sse_pubsub.py::test_binary_payload_as_base64": PUBSUB_COUNTS,
    "test_sse_pubsub.py::test_a_subscriber_that_leaves_is_removed_at_once": PUBSUB_COUNTS,
    "test_tls.py::test_sse_over_https_while_publishing_over_http": PUBSUB_COUNTS,

    # --- What the nodes are ---------------------------------------------
    "test_json_rest.py": NO_JSON_MODULE,
    "test_sdk_json.py": NO_JSON_MODULE,
    "test_scripting.py::test_conversions_and_errors_through_the_command_api": REDIS_70,
    "test_sdk_hashes.py::test_wrong_type": FIELD_TTL_TYPE,
    "test_sdk_hashes.py::test_field_ttls": FIELD_TTLS,
    "test_sdk_hashes.py::test_field_expires": FIELD_TTLS,
    "test_sdk_hashes.py::test_hgetex_hsetex_hgetdel": FIELD_TTLS,
    "test_sdk_sorted_sets.py::test_scores_are_formatted_like_redis_7_2": REDIS_70,
    "test_sdk_streams.py::test_groups_consumers_and_info": REDIS_70,
    "test_sdk_streams.py::test_xackdel_and_xdelex": REDIS_70,

    # --- Not supported yet on the cluster backend -----------------------
    "test_streamed_batches.py::test_the_batch_waits_while_the_client_does_not_read_then_completes": BATCH_STREAMING,
    "test_streamed_batches.py::test_a_client_leaving_mid_reply_stops_the_batch": BATCH_STREAMING,
    "test_slow_subscribers.py::test_hard_and_soft_limits_cut_one_stalled_subscriber": OUTPUT_LIMIT,
    "test_contract_fuzz.py": SPEC_COVERAGE,

    # --- Covered elsewhere ----------------------------------------------
    "test_cluster_backend.py": OWN_CLUSTER,
    "test_cluster_middleware.py": OWN_CLUSTER,
    "test_cluster_hash_ttl.py": OWN_CLUSTER,
    "test_sessions_locks.py::test_lock_acquire_release_and_fencing": LOCK_KEYS,
    "test_sessions_locks.py::test_waiters_are_served_in_order_and_expiry_hands_the_lock_on": LOCK_ORDER,
    "test_upstash_ratelimit.py": SCRIPT_FLAGS,
    "test_dashboard.py::test_editing_a_json_document": NO_JSON_MODULE,
    "test_dashboard.py::test_editing_a_hash_field_and_its_ttl": REDIS_70,
    "test_dashboard.py::test_monitor_shows_each_command_and_pauses_and_filters": NODE_LOCAL,
    "test_dashboard.py::test_the_slow_log_shows_a_slow_command_and_resets": NODE_LOCAL,
    "test_dashboard.py::test_a_slow_log_entrys_keys_open_in_the_key_browser": NODE_LOCAL,
    "test_dashboard.py::test_client_list_shows_a_connection_and_kills_it": NODE_LOCAL,
    "test_dashboard.py::test_the_config_is_listed_and_an_admin_edits_it": NODE_LOCAL,
    "test_dashboard.py::test_a_read_only_user_gets_no_claim_ack_publish_kill_reset_or_config_controls": NODE_LOCAL,
    "test_dashboard.py::test_the_pubsub_console_subscribes_and_publishes": PUBSUB_COUNTS,
    "test_dashboard.py::test_charts_update_live_from_info": INFO,
    "test_shard_pubsub.py::test_shard_channels_are_a_namespace_of_their_own": PUBSUB_COUNTS,
    "test_cluster_replica_reads.py": OWN_CLUSTER,
    "test_cluster_tls.py": OWN_CLUSTER,
    "test_shard_pubsub.py::test_shard_channels_on_their_slots_masters": OWN_CLUSTER,
    "test_shard_pubsub.py::test_a_shard_channel_follows_its_slot_to_another_master": OWN_CLUSTER,

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


def stale_entries(nodeids: list[str]) -> list[str]:
    """Entries whose file was collected but that name none of its tests: a
    renamed or deleted test, to be taken off the list."""
    collected_files = {nodeid.partition("::")[0].rsplit("/", 1)[-1] for nodeid in nodeids}
    used = {key for nodeid in nodeids for key in SKIPS if _matches(key, nodeid)}
    return sorted(key for key in SKIPS if key.partition("::")[0] in collected_files and key not in used)


def _matches(key: str, nodeid: str) -> bool:
    path, _, name = nodeid.partition("::")
    file = path.rsplit("/", 1)[-1]
    return key in (file, f"{file}::{name}", f"{file}::{name.split('[', 1)[0]}")
