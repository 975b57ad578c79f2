"""The detection engine: events in, alerts and influencer profiles out.

Pure Python on event time (``observed_at``) only; no broker, no clock, no metrics
library. All per-account data lives in a ``MutableMapping[str, AccountState]`` keyed by
account_id, so a Faust table (through :class:`BytesStateStore`) can own it; the engine
itself keeps only the niche definitions and the cohort summary.

Late events: an event more than ``allowed_lateness_s`` behind the account's latest
observation is counted in ``stats.late_dropped`` and ignored; anything newer is merged into
the windows in its event-time place (buckets keep the latest observation per slot).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field

from schemas.events import AccountSnapshot, FollowerSpikeAlert, InfluencerProfile, NicheDefinition, Post
from streams.core.config import EngineConfig
from streams.core.scoring import CohortBook, profile_if_changed
from streams.core.spikes import evaluate
from streams.core.state import AccountState
from streams.core.tags import NicheMatcher
from streams.core.windows import PostObservation

Output = FollowerSpikeAlert | InfluencerProfile
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
        elif ts < state.latest_ts - config.allowed_lateness_s:
            self.stats.late_dropped += 1
            return []
        self.stats.events += 1
        previous_tier = config.tiers.tier_for(state.followers)
        if ts >= state.latest_ts:
            state.handle = event.handle  # handles change; keep the newest
        state.observe_followers(ts, event.followers)

        is_post = type(event) is Post
        if is_post:
            self.stats.posts += 1
            post: Post = event  # type: ignore[assignment]
            state.posts.observe(
                post.post_id,
                PostObservation(
                    int(post.posted_at.timestamp()),
                    int(ts),
                    post.likes + post.comments + post.shares,
                    post.followers,
                    post.views,
                    self.matcher.match(post.tags),
                ),
                state.latest_ts,
            )
        else:
            self.stats.snapshots += 1

        outputs: list[Output] = []
        alert = evaluate(state, config)
        if alert is not None:
            self.stats.alerts[alert.classification] += 1
            outputs.append(alert)
        if is_post or alert is not None or config.tiers.tier_for(state.followers) != previous_tier:
            profile = profile_if_changed(state, config, self.cohorts)
            if profile is not None:
                self.stats.profiles += 1
                outputs.append(profile)
        self.store[account_id] = state
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
