"""The error policy, stated once.

A message we cannot use (malformed bytes, invalid event) is *bad input*: it is logged with
topic/partition/offset, counted, and written to the DLQ with its original key and bytes
plus headers saying why and where it came from; then processing goes on, so a poison
message never stops a partition. Anything else (broker unreachable, a bug) is an
*infrastructure failure*: it raises, and the worker crashes and restarts from the last
committed offset.

Topics a worker follows in full (niches.config, influencers, alerts) and the state
changelogs have no DLQ: a record there that cannot be applied raises :class:`BadRecord`
(or ``DecodeError``), is logged with topic/partition/offset, counted in
``nichewatch_records_skipped_total`` and skipped. On a compacted topic the record stays,
so a crash would repeat at every restart. An exception while applying a record that passed
validation is a bug, but it is counted (reason ``error``, logged with its traceback) and
skipped for the same reason.
"""

from __future__ import annotations

from streams import __version__
from streams.metrics import SkipReason

MAX_REASON_BYTES = 1000


def dlq_headers(reason: str, topic: str, partition: int, offset: int) -> list[tuple[str, bytes]]:
    return [
        # Cut on a character boundary: the header stays valid UTF-8.
        ("nichewatch-error", reason.encode()[:MAX_REASON_BYTES].decode("utf-8", "ignore").encode()),
        ("nichewatch-original-topic", topic.encode()),
        ("nichewatch-original-partition", str(partition).encode()),
        ("nichewatch-original-offset", str(offset).encode()),
        ("nichewatch-version", __version__.encode()),
    ]


class BadRecord(ValueError):
    """A record of a followed topic or a changelog that cannot be applied."""

    def __init__(self, reason_class: SkipReason, reason: str) -> None:
        super().__init__(reason)
        self.reason_class: SkipReason = reason_class
        self.reason = reason
