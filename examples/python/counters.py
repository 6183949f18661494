"""Atomic counters: INCR, INCRBY, DECR, INCRBYFLOAT."""

from _common import check, connect, key_prefix

redis = connect()
P = key_prefix("counters")

try:
    print("1. page views: INCR creates the counter at 0 and adds 1")
    redis.incr(f"{P}:views")
    check(redis.incr(f"{P}:views"), 2, "views after two INCRs")

    print("2. credits: INCRBY adds any amount, negative too")
    check(redis.incrby(f"{P}:credits", 50), 50, "credits")
    check(redis.incrby(f"{P}:credits", -20), 30, "credits after spending 20")

    print("3. inventory: SET then DECR")
    redis.set(f"{P}:stock", 3)
    check(redis.decr(f"{P}:stock"), 2, "stock")

    print("4. a float balance: INCRBYFLOAT")
    check(redis.incrbyfloat(f"{P}:balance", 10.5), 10.5, "balance")
    check(redis.incrbyfloat(f"{P}:balance", -0.25), 10.25, "balance")

    print("5. a counter holding text refuses to count")
    redis.set(f"{P}:stock", "many")
    try:
        redis.incr(f"{P}:stock")
        check("no error", "an error", "INCR on text")
    except Exception as error:  # the SDK raises UpstashError with Redis's message
        check(str(error), "ERR value is not an integer or out of range", "INCR on text")
    print("counters: all checks passed")
finally:
    redis.delete(f"{P}:views", f"{P}:credits", f"{P}:stock", f"{P}:balance")
