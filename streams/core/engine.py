"""The detection engine: events in, alerts and influencer profiles out.

Pure Python on event time (``observed_at``) only; no broker, no clock, no metrics
library. All per-account data lives in a ``MutableMapping[str, AccountState]`` keyed by
account_id, so a Faust table (through :class:`BytesStateStore`) can own it; the engine
itself keeps only the niche definitions and the cohort summary.

Late events: an event more than ``allowed_lateness_s`` behind the account's latest
observation is counted in ``stats.late_dropped`` and ignored; anything newer is merged into
the windows in its event-time place (buckets keep the latest observation per slot).
Decisions are taken as observations are applied, so reordered input can change *when*
an episode is seen; ``reorder_delay_s > 0`` buffers each account's observations for that
long (in event time) and applies them in order, which makes input shuffled by less than
the delay produce exactly the ordered result (``flush()`` applies what is left).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field

from schemas.events import AccountSnapshot, FollowerSpikeAlert, InfluencerProfile, NicheDefinition, Post
from streams.core.config import EngineConfig
from streams.core.mentions import MentionBook
from streams.core.scoring import CohortBook, profile_if_changed
from streams.core.spikes import evaluate
from streams.core.state import AccountState, Observation
from streams.core.tags import NicheMatcher
from streams.core.windows import PostObservation

Output = FollowerSpikeAlert | InfluencerProfile
PROFILE_RESCORE_S = 3600.0
StateStore = MutableMapping[str, AccountState]


@dataclass
class EngineStats:
    """Counters for the metrics layer to export (read them, the engine never resets them)."""

    events: int = 0
    posts: int = 0
    snapshots: int = 0
    late_dropped: int = 0
    alerts: dict[str, int] = field(default_factory=lambda: {"suspected_purchase": 0, "organic_breakout": 0})
    profiles: int = 0


class Engine:
    def __init__(
        self,
        config: EngineConfig | None = None,
        niches: Iterable[NicheDefinition] = (),
        store: StateStore | None = None,
        cohorts: CohortBook | None = None,
    ) -> None:
        self.config = config if config is not None else EngineConfig()
        self.matcher = NicheMatcher(niches)
        self.store: StateStore = store if store is not None else {}
        self.cohorts = cohorts if cohorts is not None else CohortBook()
        self.mentions = MentionBook()
        self.stats = EngineStats()

    # --- niches (from niches.config) -----------------------------------------------------
    def set_niche(self, niche: NicheDefinition) -> None:
        """Add or replace a niche; applies to posts processed from now on."""
        self.matcher.set_niche(niche)

    def remove_niche(self, name: str) -> bool:
        return self.matcher.remove_niche(name)

    @property
    def niche_names(self) -> list[str]:
        return self.matcher.niche_names

    # --- state by account id (for a table that owns it) ---------------------------------
    def get_state(self, account_id: str) -> AccountState | None:
        return self.store.get(account_id)

    def put_state(self, state: AccountState) -> None:
        self.store[state.account_id] = state

    def accounts(self) -> Iterator[str]:
        return iter(self.store)

    # --- the hot path --------------------------------------------------------------------
    def process(self, event: Post | AccountSnapshot) -> list[Output]:
        """Apply one event; return the alerts and profiles it caused (usually none)."""
        config = self.config
        ts = event.observed_at.timestamp()
        account_id = event.account_id
        state = self.store.get(account_id)
        if state is None:
            state = AccountState.new(account_id, event.platform, event.handle, config)
        elif ts < state.seen_ts - config.allowed_lateness_s:
            self.stats.late_dropped += 1
            return []
        self.stats.events += 1
        if type(event) is Post:
            self.stats.posts += 1
            self.mentions.record(account_id, event.text, event.posted_at.timestamp(), event.followers)
            observation = Observation(
                ts, event.followers, event.handle, event.post_id, int(event.posted_at.timestamp()),
                event.likes + event.comments + event.shares, event.views, self.matcher.match(event.tags),
                event.comments,
            )
        else:
            self.stats.snapshots += 1
            observation = Observation(ts, event.followers, event.handle)
        if ts > state.seen_ts:
            state.seen_ts = ts
        if config.reorder_delay_s <= 0:
            outputs = self._apply(state, observation)
        else:
            outputs = self._buffer(state, observation)
        self.store[account_id] = state
        return outputs

    def flush(self) -> list[Output]:
        """Apply every buffered observation (end of a replay); no-op without a reorder delay."""
        outputs: list[Output] = []
        for account_id in list(self.store):
            state = self.store[account_id]
            if state.buffer:
                for observation in sorted(state.buffer, key=Observation.order_key):
                    outputs += self._apply(state, observation)
                state.buffer = []
                self.store[account_id] = state
        return outputs

    def _buffer(self, state: AccountState, observation: Observation) -> list[Output]:
        # Hold observations until the account's event time is reorder_delay past them,
        # then apply them in event-time order: input shuffled by less than the delay then
        # gives exactly the decisions of ordered input, at the price of that much latency.
        state.buffer.append(observation)
        horizon = state.seen_ts - self.config.reorder_delay_s
        ready = [o for o in state.buffer if o.ts <= horizon]
        if len(state.buffer) - len(ready) > self.config.max_buffered_observations:
            ready = sorted(state.buffer, key=Observation.order_key)[: len(state.buffer) // 2]
        if not ready:
            return []
        ready_ids = {id(o) for o in ready}
        state.buffer = [o for o in state.buffer if id(o) not in ready_ids]
        outputs: list[Output] = []
        for item in sorted(ready, key=Observation.order_key):
            outputs += self._apply(state, item)
        return outputs

    def _apply(self, state: AccountState, observation: Observation) -> list[Output]:
        config = self.config
        ts = observation.ts
        previous_tier = config.tiers.tier_for(state.followers)
        if ts >= state.latest_ts:
            state.handle = observation.handle  # handles change; keep the newest
        state.observe_followers(ts, observation.followers)
        is_post = observation.post_id is not None
        new_post = is_post and observation.post_id not in state.posts.posts
        if is_post:
            state.posts.observe(
                observation.post_id,  # type: ignore[arg-type]
                PostObservation(
                    observation.posted_ts, int(ts), observation.interactions, observation.followers,
                    observation.views, observation.niches, observation.comments,
                ),
                state.latest_ts,
            )
        outputs: list[Output] = []
        alert = evaluate(state, config, self.mentions)
        if alert is not None:
            self.stats.alerts[alert.classification] += 1
            outputs.append(alert)
        # Re-observations of known posts move the score slowly: rescoring them at most once
        # per event-time hour keeps the hot path short without missing a material change.
        rescore = (
            new_post
            or alert is not None
            or config.tiers.tier_for(state.followers) != previous_tier
            or (is_post and ts - state.scored_ts >= PROFILE_RESCORE_S)
        )
        if rescore:
            state.scored_ts = ts
            profile = profile_if_changed(state, config, self.cohorts)
            if profile is not None:
                self.stats.profiles += 1
                outputs.append(profile)
        return outputs


class BytesStateStore(MutableMapping[str, AccountState]):
    """Adapts a ``MutableMapping[str, bytes]`` (e.g. a Faust table with raw values) to the engine.

    Every write serialises the account (``AccountState.to_bytes``) so the table's
    changelog always holds the complete, bounded state of the account.
    """

    def __init__(self, table: MutableMapping[str, bytes], config: EngineConfig) -> None:
        self.table = table
        self.config = config

    def __getitem__(self, account_id: str) -> AccountState:
        return AccountState.from_bytes(self.table[account_id], self.config)

    def __setitem__(self, account_id: str, state: AccountState) -> None:
        self.table[account_id] = state.to_bytes()

    def __delitem__(self, account_id: str) -> None:
        del self.table[account_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self.table)

    def __len__(self) -> int:
        return len(self.table)

    def get(self, account_id: str, default: AccountState | None = None) -> AccountState | None:  # type: ignore[override]
        raw = self.table.get(account_id)
        return AccountState.from_bytes(raw, self.config) if raw is not None else default
