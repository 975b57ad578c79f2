"""Types of nichewatch's native core (the Rust crate in core/, built by maturin)."""

from collections.abc import Callable, Iterable
from typing import Protocol

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

def state_as_json(raw: bytes) -> bytes:
    """An account state in either format as format 1 JSON (AccountState.from_bytes reads it)."""

class _Fetched(Protocol):
    """A consumed record (aiokafka's ConsumerRecord): what process_records reads of it."""

    key: bytes | None
    value: bytes | None

class NativeEngine:
    """The detection engine of streams.core.engine, in Rust: one call per fetched batch.

    ``config`` is ``dataclasses.asdict(EngineConfig(...))`` (the defaults when omitted),
    ``niches`` the ``(name, tags)`` of each tracked niche. State is kept per account and
    read or written in the changelog's JSON format (streams.core.state).
    """

    def __init__(
        self,
        config: dict[str, object] | None = None,
        niches: list[tuple[str, list[str]]] = ...,
        record_mentions: bool = True,
    ) -> None: ...
    def process_batch(
        self, values: Iterable[bytes | None], now: float | None = None
    ) -> tuple[list[bytes], list[DeadLetter]]:
        """Decode and apply the values in order: (encoded alerts and profiles, dead letters)."""
    def process_records(
        self,
        records: Iterable[tuple[bytes | None, bytes | None] | _Fetched],
        partition: int = 0,
        now: float | None = None,
        wall: float | None = None,
        load: Callable[[str], bytes | None] | None = None,
    ) -> tuple[
        list[tuple[str, bytes, bytes, str, object, object]],
        list[DeadLetter],
        list[tuple[int, str]],
        list[tuple[str, str, str, int]],
        list[float],
        list[float],
        list[tuple[bytes, bytes]],
        list[tuple[str, str]],
    ]:
        """One fetched batch of (key, value) records as the worker's pipeline handles it.

        Returns (outputs, dead_letters, rekeyed, counts, post_latencies,
        snapshot_latencies, changed, bad_states): outputs ("alert", key, value,
        classification, niches, detected_at) or ("profile", key, value, primary_niche,
        tier, median_engagement_rate); rekeyed (position, account_id); counts (platform,
        niche, outcome, events); changed (key, compact state) per account written;
        bad_states (account_id, reason) of table entries that were not a state. ``load``
        gives the table's state of an account the engine does not hold.
        """
    def record_mentions(self, values: Iterable[bytes | None]) -> int:
        """Note the mentions of a batch of input values; the number of posts read."""
    def mentions_of(self, handle: str) -> list[tuple[str, int, int, int]]:
        """The mentions the book keeps of a handle: (by_account, posted ts, by_followers, first seen ts)."""
    def share_tags(self) -> None:
        """Queue new posts' tag observations from now on."""
    def take_tag_observation_parts(self) -> list[bytes]:
        """The queued tag observations, each encoded as a schemas.cluster.TagObservation record."""
    def take_tag_observations(self) -> list[tuple[str, list[str], list[str], str, int, float, float, float]]:
        """(post_id, tags, niches, account_id, followers, rate, weight, ts) queued since the last call."""
    def cluster_cohorts(self) -> None:
        """Cohorts shared by a cluster from now on (ClusterCohorts): summaries in, contributions out."""
    def take_cohort_contributions(self) -> list[tuple[str, str, str | None, int | None, int]]:
        """(niche, account_id, tier, bin, version) queued since the last call (tier, bin None: left the niche)."""
    def take_cohort_contribution_records(self) -> list[tuple[bytes, bytes]]:
        """take_cohort_contributions as niches.cohort-contributions records: (niche, CohortContribution JSON)."""
    def set_cohort_summary(self, niche: str, tiers: dict[str, list[int]]) -> None:
        """Replace the niche's histograms with the cluster's summary (ValueError for an unknown tier)."""
    def remove_cohort_niche(self, niche: str) -> None: ...
    def cohort_histograms(self) -> list[tuple[str, str, list[int]]]:
        """(niche, tier, counts by bin) of every histogram, in the order it entered the book."""
    def holds(self, account_id: str) -> bool: ...
    def forget_partitions(self, partitions: list[int]) -> int:
        """Drop the accounts last processed (or loaded) from these partitions (moved to another worker); how many."""
    def flush(self) -> list[bytes]:
        """Apply every observation still in the reorder buffers; their outputs."""
    def settle(self, account_id: str, threshold: float) -> bytes | None:
        """The account's profile rescored against today's cohorts, if it moved by ``threshold``."""
    def settle_account(
        self, account_id: str, threshold: float
    ) -> tuple[tuple[str, bytes, bytes, str, object, object] | None, bytes | None]:
        """``settle`` for the worker: (the profile as process_records describes outputs, or
        None; the compact state when what is persisted of it changed, else None)."""
    def state(self, account_id: str) -> bytes | None:
        """The account's state in format 1 (the Python engine's JSON)."""
    def compact_state(self, account_id: str) -> bytes | None:
        """The account's state in format 2 (compact binary)."""
    def load_state(self, raw: bytes, partition: int | None = None, account_id: str | None = None) -> None:
        """Take over a state (either format): forgotten with ``partition`` when given; a state
        of another account than ``account_id`` raises ValueError and loads nothing."""
    def forget(self, account_id: str) -> None: ...
    def accounts(self) -> list[str]: ...
    def __len__(self) -> int: ...
    def set_niche(self, name: str, tags: list[str]) -> None: ...
    def remove_niche(self, name: str) -> bool: ...
    def niche_tags(self, name: str) -> list[str]:
        """The normalised tags of a niche (empty for an unknown one)."""
    @property
    def niche_names(self) -> list[str]: ...
    @property
    def stats(self) -> dict[str, object]:
        """events, posts, snapshots, late_dropped, alerts (by classification), profiles."""
