"""The detection engine: events in, alerts and influencer profiles out.

The engine is the Rust core (``streams._native.NativeEngine``, core/src/engine/): windows,
spike detection, classification with its evidence, scoring and the contract's JSON. This
module is its face for in-process callers that hold events as models (tests, the
analysts' replay): ``process`` takes one event, ``process_values`` a batch of encoded
ones. The worker calls the native engine directly, once per fetched batch
(streams/pipeline.py, through streams/native_engine.py).

Event time (``observed_at``) only; no broker, no clock, no metrics library.

Late events: an event more than ``allowed_lateness_s`` behind the account's latest
observation is counted in ``stats.late_dropped`` and ignored; anything newer is merged into
the windows in its event-time place (buckets keep the latest observation per slot).
Decisions are taken as observations are applied, so reordered input can change *when*
an episode is seen; ``reorder_delay_s > 0`` buffers each account's observations for that
long (in event time) and applies them in order, which makes input shuffled by less than
the delay produce exactly the ordered result (``flush()`` applies what is left).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import orjson

from schemas.codec import encode
from schemas.events import AccountSnapshot, FollowerSpikeAlert, InfluencerProfile, NicheDefinition, Post
from streams._native import NativeEngine
from streams.core.config import EngineConfig
from streams.core.state import AccountState
from streams.core.tags import NicheMatcher
from streams.core.tagstats import TagBook

Output = FollowerSpikeAlert | InfluencerProfile
DeadLetter = tuple[int, str, str]  # (position in the batch, reason, reason class)


@dataclass
class EngineStats:
    """Counters for the metrics layer to export (read them, the engine never resets them)."""

    events: int = 0
    posts: int = 0
    snapshots: int = 0
    late_dropped: int = 0
    alerts: dict[str, int] = field(default_factory=lambda: {"suspected_purchase": 0, "organic_breakout": 0})
    profiles: int = 0


def decode_output(raw: bytes) -> Output:
    """An encoded output of the engine as its contract model."""
    if orjson.loads(raw)["kind"] == "follower_spike_alert":
        return FollowerSpikeAlert.model_validate_json(raw)
    return InfluencerProfile.model_validate_json(raw)


class Engine:
    """One engine's accounts, niches, mention book and cohorts.

    ``tags``: a book fed with every new post's tags (tag statistics, streams/core/tagstats.py).
    ``record_mentions`` False when a cluster feeds the mention book from every partition.
    """

    def __init__(
        self,
        config: EngineConfig | None = None,
        niches: Iterable[NicheDefinition] = (),
        tags: TagBook | None = None,
        record_mentions: bool = True,
    ) -> None:
        self.config = config if config is not None else EngineConfig()
        niches = list(niches)
        self.native = NativeEngine(dataclasses.asdict(self.config), [(n.name, list(n.tags)) for n in niches],
                                   record_mentions=record_mentions)
        self.matcher = NicheMatcher(niches)  # the same niche set, for readers of tags_of
        self.tags = tags
        if tags is not None:
            self.native.share_tags()
            tags.tracked_of = self.matcher.tags_of

    # --- niches (from niches.config) -----------------------------------------------------
    def set_niche(self, niche: NicheDefinition) -> None:
        """Add or replace a niche; applies to posts processed from now on."""
        self.matcher.set_niche(niche)
        self.native.set_niche(niche.name, list(niche.tags))

    def remove_niche(self, name: str) -> bool:
        self.matcher.remove_niche(name)
        return self.native.remove_niche(name)

    @property
    def niche_names(self) -> list[str]:
        return self.native.niche_names

    # --- state by account id ---------------------------------------------------------------
    def get_state(self, account_id: str) -> AccountState | None:
        raw = self.native.state(account_id)
        return None if raw is None else AccountState.from_bytes(raw, self.config)

    def put_state(self, state: AccountState) -> None:
        self.native.load_state(state.to_bytes())

    def compact_state(self, account_id: str) -> bytes | None:
        """The account's state as the changelog holds it (format 2)."""
        return self.native.compact_state(account_id)

    def load_state(self, raw: bytes) -> None:
        """Take over an account's state, in either format."""
        self.native.load_state(raw)

    def accounts(self) -> Iterator[str]:
        return iter(self.native.accounts())

    def __len__(self) -> int:
        return len(self.native)

    @property
    def stats(self) -> EngineStats:
        stats = self.native.stats
        return EngineStats(**{name: stats[name] for name in ("events", "posts", "snapshots", "late_dropped", "profiles")},
                           alerts=dict(stats["alerts"]))  # type: ignore[call-overload,arg-type]

    # --- the hot path --------------------------------------------------------------------
    def process(self, event: Post | AccountSnapshot) -> list[Output]:
        """Apply one event; return the alerts and profiles it caused (usually none)."""
        encoded, dead = self.native.process_batch([encode(event)], event.observed_at.timestamp())
        assert not dead, dead  # a model refused by the native decoder: the two contracts differ
        self._take_tags()
        return [decode_output(raw) for raw in encoded]

    def process_values(self, values: list[bytes], now: float | None = None) -> tuple[list[bytes], list[DeadLetter]]:
        """Decode and apply encoded events in order: (encoded outputs, dead letters). ``now``
        is the clock of the contract's "not more than a day ahead" rule (the current time)."""
        encoded, dead = self.native.process_batch(values, now)
        self._take_tags()
        return encoded, dead

    def settle(self, account_id: str, threshold: float) -> InfluencerProfile | None:
        """Bring the account's published score up to date with the cohorts as they are now.

        Event-driven rescoring is throttled (re-observations at most hourly) and uses the
        cohorts of its moment; on a cluster those keep changing as other workers' accounts
        move. A settle pass rescores an account whose windows changed since its last
        published rescoring, or whose engagement drifted by ``threshold`` with the cohorts,
        and returns its profile if the score moved that much (a rescoring that stayed within
        the threshold leaves the account to be rescored again). It does not touch what
        event-driven decisions depend on, so alerts are the same with or without it.
        """
        raw = self.native.settle(account_id, threshold)
        return None if raw is None else InfluencerProfile.model_validate_json(raw)

    def flush(self) -> list[Output]:
        """Apply every buffered observation (end of a replay); no-op without a reorder delay."""
        outputs = [decode_output(raw) for raw in self.native.flush()]
        self._take_tags()
        return outputs

    def _take_tags(self) -> None:
        book = self.tags
        if book is not None:
            for _post, tags, niches, account, followers, rate, weight, ts in self.native.take_tag_observations():
                book.observe(tags, niches, account, followers, rate, weight, ts)
