"""Event log: a stream of events read by a consumer group; each entry goes to one consumer
and stays pending until acknowledged, so a crashed worker's events are not lost."""

from _common import check, connect, key_prefix

redis = connect()
EVENTS = f"{key_prefix('event-log')}:events"

try:
    print("1. create the group (and the stream): XGROUP CREATE events mygroup $ MKSTREAM")
    check(redis.xgroup_create(EVENTS, "mygroup", "$", mkstream=True), "OK", "group created")

    print("2. produce two events: XADD")
    id1 = redis.xadd(EVENTS, "*", {"type": "order.created", "orderId": "123", "amount": "49.99"})
    id2 = redis.xadd(EVENTS, "*", {"type": "user.login", "userId": "456"})
    print(f"  added {id1} and {id2}")

    print("3. consumer1 reads new entries: XREADGROUP GROUP mygroup consumer1 COUNT 10 STREAMS events >")
    batch = redis.xreadgroup("mygroup", "consumer1", {EVENTS: ">"}, count=10)
    # [[stream, [[id, [field, value, ...]], ...]]]
    entries = batch[0][1]
    check([entry_id for entry_id, _ in entries], [id1, id2], "entry ids delivered")
    check(entries[0][1][:2], ["type", "order.created"], "first event's type")

    print("4. both are pending until acknowledged: XPENDING")
    check(redis.xpending(EVENTS, "mygroup"), [2, id1, id2, [["consumer1", "2"]]], "pending summary")

    print("5. consumer1 processed the first: XACK")
    check(redis.xack(EVENTS, "mygroup", id1), 1, "acknowledged")
    check(redis.xpending(EVENTS, "mygroup")[0], 1, "still pending")

    print("6. a blocking read with nothing new waits half a second, then answers empty: XREADGROUP ... BLOCK 500")
    reply = redis.execute(["XREADGROUP", "GROUP", "mygroup", "consumer1", "BLOCK", "500", "STREAMS", EVENTS, ">"])
    check(reply, [], "new entries (the server's null, as the SDK returns it)")
    print("event-log: all checks passed")
finally:
    redis.delete(EVENTS)
