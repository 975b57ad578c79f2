"""Per-niche tag statistics: which tags find the niche's real micro-influencers.

Every post is counted once (the engine calls :meth:`TagBook.observe` on a post's first
observation only) into exactly one *bucket*, and into the statistics of each niche it hits::

    post --niches hit--> none        -> untracked bucket  (tag -> posts)
                         exactly one -> that niche, "exclusive" (counted in its tag entries)
                         two or more -> multi bucket      (tag -> posts)
         --each niche hit--> NicheTags: tag -> posts, exclusive posts, accounts (KMV),
                                         co-occurrence with the niche's tracked tags

so the posts carrying a tag anywhere are ``sum of its exclusive counts over the niches +
its multi count + its untracked count``, and a tag's **specificity** in a niche is the share
of those posts that belong to this niche alone (lift = specificity / the niche's share of
all posts; PMI = log2 lift). Every table is a space-saving sketch (streams/core/sketches.py),
so memory is bounded by the configured capacities however many distinct tags appear, and
the counts are exact while no key has been evicted. Books of disjoint posts merge
(:meth:`TagBook.merge`): what two workers count over their own partitions, merged, is what
one worker counting everything has (exactly, while no table is full).

A tag is **generic** when its posts are spread outside the niche (specificity below
``spread_specificity``, unless it is another niche's own tag: ``owned_elsewhere_share`` of
its posts in that niche, and specific there; or, for a tracked tag, below
``peer_specificity_ratio`` times the median specificity of the niche's other tracked tags)
or when its users are large accounts with low engagement (median followers at least
``large_followers_ratio`` times the niche's, median engagement rate at most
``low_engagement_ratio`` times the niche's). **Suggestions** are untracked,
non-generic tags ranked by ``specificity x`` the share of the niche's specific-tag posts
carrying them, each post weighted by its author's micro-influencer score.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

from schemas.niche_tags import NicheTagReport, TagStatistics, TagSuggestion
from streams.core.sketches import AccountSample, SpaceSaving, account_hash
from streams.core.tags import normalise_tag

TAG_SET_SEPARATOR = "\x1f"
NORMAL_CACHE_SIZE = 65_536  # distinct raw tag lists whose normal form is kept


@dataclass(frozen=True)
class TagStatsConfig:
    tags_per_niche: int = 256  # space-saving capacity of each niche's tag table
    background_tags: int = 2048  # capacity of the untracked and multi-niche buckets
    accounts_per_tag: int = 32  # KMV sample size per tag entry
    accounts_per_niche: int = 512  # KMV sample size for the niche's own medians
    tag_sets_per_niche: int = 256  # distinct combinations of tracked tags counted
    max_tags_per_post: int = 30
    min_posts_to_flag: int = 20
    spread_specificity: float = 0.5  # below: most of its posts belong elsewhere
    peer_specificity_ratio: float = 0.75  # below this x the median of the niche's other tracked tags
    owned_elsewhere_share: float = 0.75  # an untracked tag this concentrated in one other niche is that niche's
    large_followers_ratio: float = 3.0
    low_engagement_ratio: float = 0.5
    min_posts_to_suggest: int = 5
    min_accounts_to_suggest: int = 3
    strong_suggestion: float = 0.05
    suggestions: int = 10
    untracked_reported: int = 20


@dataclass(slots=True)
class BucketCount:
    count: int
    error: int


@dataclass(slots=True)
class TagEntry:
    count: int  # posts carrying the tag (over-counted by at most ``error``)
    error: int
    accounts: AccountSample
    exclusive: int = 0  # of which hit this niche only
    co_posts: dict[str, int] = field(default_factory=dict)  # tracked tag -> posts with both
    co_weight: dict[str, float] = field(default_factory=dict)  # same, weighted (split among tracked tags)


class NicheTags:
    """The statistics of one niche (see the module docstring)."""

    __slots__ = ("config", "posts", "exclusive_posts", "accounts", "tags", "tag_sets", "newest_ts")

    def __init__(self, config: TagStatsConfig) -> None:
        self.config = config
        self.posts = 0
        self.exclusive_posts = 0
        self.accounts = AccountSample(config.accounts_per_niche)
        per_tag = config.accounts_per_tag
        self.tags: SpaceSaving[TagEntry] = SpaceSaving(
            config.tags_per_niche, lambda floor: TagEntry(floor, floor, AccountSample(per_tag))
        )
        self.tag_sets: SpaceSaving[BucketCount] = SpaceSaving(config.tag_sets_per_niche, _bucket)
        self.newest_ts = 0.0

    def observe(
        self, tags: Sequence[str], tracked_on_post: Sequence[str], exclusive: bool,
        account_id: str, followers: int, rate: float, weight: float, ts: float,
    ) -> None:
        self.posts += 1
        if exclusive:
            self.exclusive_posts += 1
        if ts > self.newest_ts:
            self.newest_ts = ts
        self.accounts.observe(account_id, followers, rate)
        self.tag_sets.entry(TAG_SET_SEPARATOR.join(sorted(tracked_on_post))).count += 1
        share = weight / len(tracked_on_post) if tracked_on_post else 0.0
        table, entries = self.tags, self.tags.entries
        # AccountSample.observe inlined for its common outcomes (the account already
        # sampled, or hashed above the threshold): every post passes here once per tag.
        h, latest = account_hash(account_id), (followers, rate)
        for tag in tags:
            entry = entries.get(tag) or table.entry(tag)
            entry.count += 1
            if exclusive:
                entry.exclusive += 1
            sample = entry.accounts
            if h in sample.values:
                sample.values[h] = latest
            elif h < sample.threshold:
                sample.observe(account_id, followers, rate)
            if tracked_on_post:
                co_posts, co_weight = entry.co_posts, entry.co_weight
                for tracked in tracked_on_post:
                    co_posts[tracked] = co_posts.get(tracked, 0) + 1
                    co_weight[tracked] = co_weight.get(tracked, 0.0) + share

    def merge(self, other: NicheTags) -> None:
        self.posts += other.posts
        self.exclusive_posts += other.exclusive_posts
        self.newest_ts = max(self.newest_ts, other.newest_ts)
        self.accounts.merge(other.accounts)
        self.tag_sets.merge(other.tag_sets, _add_counts, _copy_bucket)
        self.tags.merge(other.tags, _merge_entry, self._copy_entry)

    def _copy_entry(self, entry: TagEntry) -> TagEntry:
        copied = TagEntry(0, 0, AccountSample(self.config.accounts_per_tag))
        _merge_entry(copied, entry)
        return copied


def _bucket(floor: int) -> BucketCount:
    return BucketCount(floor, floor)


def _add_counts(mine: BucketCount, theirs: BucketCount) -> None:
    mine.count += theirs.count
    mine.error += theirs.error


def _copy_bucket(counted: BucketCount) -> BucketCount:
    return BucketCount(counted.count, counted.error)


def _merge_entry(mine: TagEntry, theirs: TagEntry) -> None:
    mine.count += theirs.count
    mine.error += theirs.error
    mine.exclusive += theirs.exclusive
    mine.accounts.merge(theirs.accounts)
    for tracked, n in theirs.co_posts.items():
        mine.co_posts[tracked] = mine.co_posts.get(tracked, 0) + n
    for tracked, w in theirs.co_weight.items():
        mine.co_weight[tracked] = mine.co_weight.get(tracked, 0.0) + w


class TagObservation(NamedTuple):
    """What the book counts of one post (``TagBook.observe`` arguments, with the post's id)."""

    post_id: str
    tags: tuple[str, ...]
    niches: tuple[str, ...]
    account_id: str
    followers: int
    rate: float
    weight: float
    ts: float


class TagBook:
    """Tag statistics of every niche, plus the untracked and multi-niche buckets."""

    def __init__(self, config: TagStatsConfig | None = None) -> None:
        self.config = config if config is not None else TagStatsConfig()
        self.niches: dict[str, NicheTags] = {}
        self.untracked: SpaceSaving[BucketCount] = SpaceSaving(self.config.background_tags, _bucket)
        self.multi: SpaceSaving[BucketCount] = SpaceSaving(self.config.background_tags, _bucket)
        self.total_posts = 0
        self.tracked_of: Callable[[str], frozenset[str]] = lambda name: frozenset()
        self._normal: dict[tuple[str, ...], tuple[str, ...]] = {}  # raw tag list -> its normal tags (posts repeat them)

    def observe(
        self, tags: Iterable[str], niches: Sequence[str], account_id: str,
        followers: int, rate: float, weight: float, ts: float,
    ) -> None:
        """Count one post (call once per post_id): its raw tags and the niches it hits."""
        raw = tuple(tags)
        normal = self._normal.get(raw)
        if normal is None:
            if len(self._normal) >= NORMAL_CACHE_SIZE:
                self._normal.clear()
            normal = self._normal[raw] = tuple(
                dict.fromkeys(t for t in map(normalise_tag, raw[: self.config.max_tags_per_post]) if t)
            )
        self.total_posts += 1
        if len(niches) != 1:
            bucket = self.untracked if not niches else self.multi
            for tag in normal:
                bucket.entry(tag).count += 1
        exclusive = len(niches) == 1
        for name in niches:
            stats = self.niches.get(name)
            if stats is None:
                stats = self.niches[name] = NicheTags(self.config)
            tracked = self.tracked_of(name)
            stats.observe(
                normal, [t for t in normal if t in tracked], exclusive, account_id, followers, rate, weight, ts
            )

    def merge(self, other: TagBook) -> None:
        """Fold in the statistics of a disjoint set of posts (another worker's partitions):
        exact while no table is full, within the space-saving error bounds otherwise."""
        self.total_posts += other.total_posts
        self.untracked.merge(other.untracked, _add_counts, _copy_bucket)
        self.multi.merge(other.multi, _add_counts, _copy_bucket)
        for name, theirs in other.niches.items():
            mine = self.niches.get(name)
            if mine is None:
                mine = self.niches[name] = NicheTags(self.config)
            mine.merge(theirs)

    def posts_carrying(self, tag: str) -> int:
        """Posts carrying the tag anywhere: in one niche, in several, or in none."""
        total = sum(entry.exclusive for stats in self.niches.values() if (entry := stats.tags.get(tag)) is not None)
        for bucket in (self.untracked, self.multi):
            counted = bucket.get(tag)
            if counted is not None:
                total += counted.count
        return total

    def report(self, niche: str) -> NicheTagReport:
        stats = self.niches.get(niche) or NicheTags(self.config)
        tracked = self.tracked_of(niche)
        niche_followers = stats.accounts.median_followers()
        niche_rate = stats.accounts.median_rate()
        specificity = {tag: self._specificity(tag, entry) for tag, entry in stats.tags.items()}
        tracked_specificity = {tag: specificity[tag] for tag in tracked if tag in specificity}
        rows = {
            tag: self._row(
                stats, tag, entry, specificity[tag], tag in tracked,
                _peer_median(tracked_specificity, tag) if tag in tracked else None, niche_followers, niche_rate,
            )
            for tag, entry in stats.tags.items()
        }
        for tag in tracked - rows.keys():
            rows[tag] = _unseen(tag)
        tracked_rows = sorted((r for r in rows.values() if r.tracked), key=lambda r: (-r.posts, r.tag))
        untracked_rows = sorted((r for r in rows.values() if not r.tracked), key=lambda r: (-r.posts, r.tag))
        generic = {r.tag for r in tracked_rows if r.generic}
        return NicheTagReport(
            niche=niche,
            posts=stats.posts,
            generic_only_share=_generic_only_share(stats, generic),
            median_followers=niche_followers,
            median_engagement_rate=round(niche_rate, 6),
            tags=tracked_rows + untracked_rows[: self.config.untracked_reported],
            suggested=self._suggestions(stats, tracked - generic, untracked_rows),
            updated_at=datetime.fromtimestamp(stats.newest_ts, UTC) if stats.posts else None,
        )

    def reports(self) -> dict[str, NicheTagReport]:
        return {name: self.report(name) for name in sorted(self.niches)}

    def _specificity(self, tag: str, entry: TagEntry) -> float:
        total = self.posts_carrying(tag)
        return min(1.0, entry.exclusive / total) if total else 0.0

    def _owned_elsewhere(self, tag: str, stats: NicheTags, total: int) -> bool:
        """Whether the tag is another niche's own: most posts carrying it are in that niche,
        and it is specific there (not spread, and not far below that niche's tracked tags)."""
        config = self.config
        for name, other in self.niches.items():
            entry = other.tags.get(tag)
            if other is stats or entry is None or not total or entry.count < config.owned_elsewhere_share * total:
                continue
            specificity = self._specificity(tag, entry)
            if specificity < config.spread_specificity:
                continue
            tracked = self.tracked_of(name)
            if tag in tracked:
                peers = {t: self._specificity(t, e) for t in tracked if t != tag and (e := other.tags.get(t)) is not None}
                peer = _peer_median(peers, tag)
                if peer is not None and specificity < config.peer_specificity_ratio * peer:
                    continue
            return True
        return False

    def _row(
        self, stats: NicheTags, tag: str, entry: TagEntry, specificity: float, tracked: bool,
        peer_specificity: float | None, niche_followers: float, niche_rate: float,
    ) -> TagStatistics:
        config = self.config
        baseline = stats.exclusive_posts / self.total_posts if self.total_posts else 0.0
        followers = entry.accounts.median_followers()
        rate = entry.accounts.median_rate()
        reasons: list[str] = []
        if entry.count >= config.min_posts_to_flag:
            total = self.posts_carrying(tag)
            if specificity < config.spread_specificity and not tracked and self._owned_elsewhere(tag, stats, total):
                pass  # another niche's own tag seen here: not generic, and not this niche's to suggest
            elif specificity < config.spread_specificity:
                reasons.append(
                    f"spread: only {specificity:.0%} of the {total:,} posts carrying it belong to this niche alone"
                )
            elif peer_specificity is not None and specificity < config.peer_specificity_ratio * peer_specificity:
                reasons.append(
                    f"spread: {specificity:.0%} of the {total:,} posts carrying it belong to this niche alone, "
                    f"against {peer_specificity:.0%} for the niche's other tracked tags"
                )
            if (niche_followers > 0 and followers >= config.large_followers_ratio * niche_followers
                    and rate <= config.low_engagement_ratio * niche_rate):
                reasons.append(
                    f"large, low-engagement users: median followers {followers:,.0f} vs {niche_followers:,.0f} "
                    f"in the niche, median engagement rate {rate:.2%} vs {niche_rate:.2%}"
                )
        return TagStatistics(
            tag=tag,
            tracked=tracked,
            posts=entry.count,
            posts_error=entry.error,
            accounts=entry.accounts.distinct(),
            specificity=round(specificity, 4),
            lift=round(specificity / baseline, 4) if baseline > 0 else 0.0,
            median_followers=followers,
            median_engagement_rate=round(rate, 6),
            cooccurrence=dict(sorted(entry.co_posts.items(), key=lambda kv: (-kv[1], kv[0]))),
            generic=bool(reasons),
            generic_reasons=reasons,
        )

    def _suggestions(
        self, stats: NicheTags, specific: frozenset[str], untracked_rows: list[TagStatistics]
    ) -> list[TagSuggestion]:
        config = self.config
        weight_of_specific = 0.0
        for tag in specific:
            entry = stats.tags.get(tag)
            if entry is not None:
                weight_of_specific += entry.co_weight.get(tag, 0.0)
        if weight_of_specific <= 0.0:
            return []
        found = []
        for row in untracked_rows:
            if (row.generic or row.specificity < config.spread_specificity
                    or row.posts < config.min_posts_to_suggest or row.accounts < config.min_accounts_to_suggest):
                continue
            entry = stats.tags.get(row.tag)
            assert entry is not None
            weighted = sum(w for tracked, w in entry.co_weight.items() if tracked in specific) / weight_of_specific
            score = row.specificity * weighted
            if score > 0.0:
                found.append(TagSuggestion(
                    tag=row.tag, score=round(score, 4), posts=row.posts, accounts=row.accounts,
                    specificity=row.specificity, weighted_cooccurrence=round(min(weighted, 1.0), 4),
                ))
        found.sort(key=lambda s: (-s.score, s.tag))
        return found[: config.suggestions]


def strong_suggestions(report: NicheTagReport, threshold: float) -> list[TagSuggestion]:
    return [s for s in report.suggested if s.score >= threshold]


def _generic_only_share(stats: NicheTags, generic: set[str]) -> float:
    if not stats.posts or not generic:
        return 0.0
    only_generic = sum(
        counted.count for key, counted in stats.tag_sets.items()
        if key and all(tag in generic for tag in key.split(TAG_SET_SEPARATOR))
    )
    return round(min(1.0, only_generic / stats.posts), 4)


def _peer_median(specificity: dict[str, float], tag: str) -> float | None:
    peers = sorted(value for other, value in specificity.items() if other != tag)
    if not peers:
        return None
    mid = len(peers) // 2
    return peers[mid] if len(peers) % 2 else (peers[mid - 1] + peers[mid]) / 2.0


def _unseen(tag: str) -> TagStatistics:
    return TagStatistics(
        tag=tag, tracked=True, posts=0, posts_error=0, accounts=0, specificity=0.0, lift=0.0,
        median_followers=0.0, median_engagement_rate=0.0, cooccurrence={}, generic=False, generic_reasons=[],
    )
