"""Shared by the Python examples: connect to Keyway with the Upstash SDK and check results.

Point the examples elsewhere with KEYWAY_URL=http://host:port and KEYWAY_TOKEN=secret.
"""

import os
import sys
import uuid

from upstash_redis import Redis

URL = os.environ.get("KEYWAY_URL", "http://127.0.0.1:7379")
TOKEN = os.environ.get("KEYWAY_TOKEN", "")


def connect() -> Redis:
    # The Upstash SDK speaks Keyway's command API unchanged. It always sends a
    # bearer token; a server started without --token ignores it.
    return Redis(url=URL, token=TOKEN or "none")


def key_prefix(example: str) -> str:
    """Fresh keys for every run, so examples can run again and side by side."""
    return f"example:{example}:{uuid.uuid4().hex[:12]}"


def check(actual, wanted, what: str) -> None:
    """Prints a check mark, or stops the example with a non-zero exit."""
    if actual != wanted:
        sys.exit(f"FAIL: {what}: got {actual!r}, want {wanted!r}")
    print(f"  ok: {what} = {actual!r}")
