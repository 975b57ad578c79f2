"""Types of nichewatch's native core (the Rust crate in core/, built by maturin)."""

from collections.abc import Iterable

from schemas.events import AccountSnapshot, Post

MAX_PAYLOAD_BYTES: int

DeadLetter = tuple[int, str, str]
"""(position in the batch, reason, reason class) of a value the contract refuses."""

def decode_batch(
    values: Iterable[bytes | None], now: float | None = None
) -> tuple[list[Post | AccountSnapshot | None], list[DeadLetter]]:
    """Decode a batch of posts.raw / accounts.snapshots values (None: a tombstone).

    events[i] is the Post or AccountSnapshot of values[i], or None when it was refused;
    each refused value has its (i, reason, reason_class) in the dead letters, in order.
    ``now`` (epoch seconds, the current time when omitted) is the clock the "not more than
    a day ahead" rule reads. The reasons and classes are those of schemas.codec.
    """

def validate_batch(values: Iterable[bytes | None], now: float | None = None) -> list[DeadLetter]:
    """The dead letters decode_batch would give, without building the events."""
