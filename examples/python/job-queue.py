"""Job queue: producers LPUSH jobs, a worker waits for them with BRPOP (blocking pop with a timeout),
so jobs come out in the order they went in and an idle worker costs nothing."""

import json
import threading
import time

from _common import check, connect, key_prefix

redis = connect()
QUEUE = f"{key_prefix('job-queue')}:queue:emails"


def brpop(queue, timeout):
    # The SDK has no brpop(); execute() sends any command. Answers [queue, job] or None on timeout.
    return redis.execute(["BRPOP", queue, timeout])


try:
    print("1. a worker thread blocks on the empty queue: BRPOP queue 10")
    received = []
    worker = threading.Thread(target=lambda: received.append(brpop(QUEUE, 10)))
    worker.start()
    time.sleep(0.5)

    print("2. a producer pushes a job; the waiting worker gets it at once")
    redis.lpush(QUEUE, json.dumps({"to": "user@example.com", "subject": "Welcome"}))
    worker.join(timeout=15)
    check(json.loads(received[0][1])["to"], "user@example.com", "job's recipient")

    print("3. the producer queues three more; the worker drains them oldest first")
    redis.lpush(QUEUE, "job-1", "job-2", "job-3")
    for wanted in ["job-1", "job-2", "job-3"]:
        check(brpop(QUEUE, 1)[1], wanted, "next job")

    print("4. an empty queue times out: BRPOP queue 1 answers None after a second")
    check(brpop(QUEUE, 1), None, "BRPOP on an empty queue")
    print("job-queue: all checks passed")
finally:
    redis.delete(QUEUE)
