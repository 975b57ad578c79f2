"""The detection engine: events in, alerts and influencer profiles out.

Pure Python on event time (``observed_at``) only; no broker, no clock, no metrics
library. All per-account data lives in a ``MutableMapping[str, AccountState]`` keyed by
account_id, so a Faust table can own it (streams/agents/accounts.py); the engine
itself keeps only the niche definitions, the cohort summary and the mention book (on a
cluster both hold facts about other workers' accounts: streams/core/cohorts.py,
streams/mention_reader.py).

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
from streams.core.scoring import CohortBook, engagement_drift, profile_if_changed
from streams.core.spikes import evaluate
from streams.core.state import AccountState, Observation
from streams.core.stats import median
from streams.core.tags import NicheMatcher
from streams.core.tagstats import TagBook, TagObservation
from streams.core.windows import PostObservation

Output = FollowerSpikeAlert | InfluencerProfile
PROFILE_RESCORE_S = 3600.0
TAG_WEIGHT_UNSCORED = 0.1  # weight of a post in tag suggestions before its author is scored
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
        tags: TagBook | None = None,
        record_mentions: bool = True,
        share_tags: bool = False,
    ) -> None:
        self.config = config if config is not None else EngineConfig()
        self.matcher = NicheMatcher(niches)
        self.store: StateStore = store if store is not None else {}
        self.cohorts = cohorts if cohorts is not None else CohortBook()
        self.mentions = MentionBook()
        # On a cluster the book is fed from all partitions by streams/mention_reader.py.
        self.record_mentions = record_mentions
        self.stats = EngineStats()
        # Tag statistics are optional: they cost a few microseconds per new post.
        self.tags = tags
        # On a cluster every worker's book is fed with the tag observations of all workers
        # (streams/niche_tags.py): this engine only queues its own here.
        self.tag_outbox: list[TagObservation] | None = [] if share_tags else None
        if tags is not None:
            tags.tracked_of = self.matcher.tags_of

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
        stats = self.stats
        ts = event.observed_at.timestamp()
        account_id = event.account_id
        state = self.store.get(account_id)
        if state is None:
            state = AccountState.new(account_id, event.platform, event.handle, config)
        elif ts < state.seen_ts - config.allowed_lateness_s:
            stats.late_dropped += 1
            return []
        stats.events += 1
        if ts > state.seen_ts:
            state.seen_ts = ts
        if type(event) is Post:
            stats.posts += 1
            posted = event.posted_at.timestamp()
            if self.record_mentions:
                self.mentions.record(account_id, event.text, posted, event.followers, ts)
            niches = self.matcher.match(event.tags)
            interactions = event.likes + event.comments + event.shares
            tag_book = self.tags
            if tag_book is not None and event.post_id not in state.posts.posts:
                self._observe_tags(tag_book, state, event, niches, interactions, ts, self.tag_outbox)
            if config.reorder_delay_s <= 0:
                outputs = self._apply_fields(
                    state, ts, event.followers, event.handle, event.post_id, int(posted), interactions,
                    event.views, niches, event.comments,
                )
            else:
                outputs = self._buffer(state, Observation(
                    ts, event.followers, event.handle, event.post_id, int(posted), interactions, event.views,
                    niches, event.comments,
                ))
        else:
            stats.snapshots += 1
            if config.reorder_delay_s <= 0:
                outputs = self._apply_fields(state, ts, event.followers, event.handle, None, 0, 0, None, (), 0)
            else:
                outputs = self._buffer(state, Observation(ts, event.followers, event.handle))
        self.store[account_id] = state
        return outputs

    def settle(self, account_id: str, threshold: float) -> InfluencerProfile | None:
        """Bring the account's published score up to date with the cohorts as they are now.

        Event-driven rescoring is throttled (re-observations at most hourly) and uses the
        cohorts of its moment; on a cluster those keep changing as other workers' accounts
        move. A settle pass rescores an account whose windows changed since it was last
        scored, or whose score drifted by ``threshold`` with the cohorts, and returns its
        profile if the score moved that much. It does not touch what event-driven
        decisions depend on, so alerts are the same with or without it.
        """
        state = self.store.get(account_id)
        if state is None or state.last_profile is None:
            return None
        stale = state.latest_ts > state.settled_ts  # the published profile may be behind the windows
        if not stale and engagement_drift(state, self.config, self.cohorts) < threshold:
            return None
        state.settled_ts = state.latest_ts
        entry, last = state.cohort_entry, state.last_profile
        profile = profile_if_changed(state, self.config, self.cohorts, threshold)
        if profile is not None or state.cohort_entry != entry or state.last_profile != last:
            self.store[account_id] = state
        if profile is not None:
            self.stats.profiles += 1
        return profile

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

    @staticmethod
    def _observe_tags(
        book: TagBook, state: AccountState, event: Post, niches: tuple[str, ...], interactions: int, ts: float,
        outbox: list[TagObservation] | None,
    ) -> None:
        # Each post once: re-observations (in the window, checked by the caller, or still
        # buffered) are not counted.
        post_id = event.post_id
        if state.buffer and any(o.post_id == post_id for o in state.buffer):
            return
        rates = [p.rate for p in state.posts.values()]
        rate = median(rates) if rates else (interactions / event.followers if event.followers > 0 else 0.0)
        last = state.last_profile
        # Posts of high-scoring micro-influencers weigh most in tag suggestions.
        if last is None:
            weight = TAG_WEIGHT_UNSCORED
        elif last.tier in ("nano", "micro"):
            weight = last.score
        else:
            weight = TAG_WEIGHT_UNSCORED * last.score
        if outbox is not None:
            outbox.append(TagObservation(post_id, tuple(event.tags), niches, event.account_id, event.followers, rate, weight, ts))
        else:
            book.observe(event.tags, niches, event.account_id, event.followers, rate, weight, ts)

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
        o = observation
        return self._apply_fields(
            state, o.ts, o.followers, o.handle, o.post_id, o.posted_ts, o.interactions, o.views, o.niches, o.comments
        )

    def _apply_fields(
        self,
        state: AccountState,
        ts: float,
        followers: int,
        handle: str,
        post_id: str | None,
        posted_ts: int,
        interactions: int,
        views: int | None,
        niches: tuple[str, ...],
        comments: int,
    ) -> list[Output]:
        # One observation, passed as fields: the hot path builds no Observation.
        config = self.config
        previous_followers = state.followers
        if ts >= state.latest_ts:
            state.handle = handle  # handles change; keep the newest
        state.observe_followers(ts, followers)
        is_post = post_id is not None
        new_post = False
        if is_post:
            posts = state.posts
            new_post = post_id not in posts.posts
            posts.observe(
                post_id,  # type: ignore[arg-type]
                PostObservation(posted_ts, int(ts), interactions, followers, views, niches, comments),
                state.latest_ts,
            )
        alert = evaluate(state, config, self.mentions)
        # Re-observations of known posts move the score slowly: rescoring them at most once
        # per event-time hour keeps the hot path short without missing a material change.
        if (
            new_post
            or alert is not None
            or (is_post and ts - state.scored_ts >= PROFILE_RESCORE_S)
            or (state.followers != previous_followers
                and config.tiers.tier_for(state.followers) != config.tiers.tier_for(previous_followers))
        ):
            state.scored_ts = ts
            profile = profile_if_changed(state, config, self.cohorts)
        else:
            profile = None
        if alert is None:
            if profile is None:
                return []
            self.stats.profiles += 1
            return [profile]
        self.stats.alerts[alert.classification] += 1
        if profile is None:
            return [alert]
        self.stats.profiles += 1
        return [alert, profile]
