"""The error policy, stated once.

A message we cannot use (malformed bytes, invalid event) is *bad input*: it is logged with
topic/partition/offset, counted, and written to the DLQ with its original key and bytes
plus headers saying why and where it came from; then processing goes on, so a poison
message never stops a partition. Anything else (broker unreachable, a bug) is an
*infrastructure failure*: it raises, and the worker crashes and restarts from the last
committed offset.
"""

from __future__ import annotations

from streams import __version__

MAX_REASON_BYTES = 1000


def dlq_headers(reason: str, topic: str, partition: int, offset: int) -> list[tuple[str, bytes]]:
    return [
        ("nichewatch-error", reason.encode()[:MAX_REASON_BYTES]),
        ("nichewatch-original-topic", topic.encode()),
        ("nichewatch-original-partition", str(partition).encode()),
        ("nichewatch-original-offset", str(offset).encode()),
        ("nichewatch-version", __version__.encode()),
    ]
