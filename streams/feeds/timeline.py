"""One account's life over the scenario: follower series, posts, and what collectors observe.

    followers(t) = organic[hour(t)]  +  injected visible delta(t)
    real(t)      = organic[hour(t)]  +  injected real delta(t)      <- drives likes/comments

Every post is observed at about +1h, +6h, +24h and +72h with counters that only grow
(``maturity``), each observation carrying the follower count of that moment (as the page
shows it, for accounts with ``Traits.rounded_counts``); the profile is polled at the
account's own cadence with the exact count. Nothing is observed during a collector outage.
Ordinary life (good posts, outages, drift; streams/feeds/realism.py) comes on top of the
injected incident. Each account draws from its own ``random.Random`` keyed by the
scenario seed, so accounts are independent and the result does not depend on the order in
which they are simulated.
"""

from __future__ import annotations

import bisect
import math
import random
import time
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

from streams.feeds.catalogue import CAPTIONS, GENERIC_TAGS, HABITUAL_GENERIC_TAGS, NICHE_TAGS, SPAM_CAPTIONS
from streams.feeds.injections import EXPECTED, HOUR, Injection, SpecialPost, TruthEvent
from streams.feeds.population import AccountProfile
from streams.feeds.realism import GOOD_POST_MULTIPLE, Traits, WorldKnobs, displayed_count, good_post_gain, poisson

OBSERVATION_OFFSETS = (1 * HOUR, 6 * HOUR, 24 * HOUR, 72 * HOUR)
LATE_ENGAGEMENT = 0.5  # share of newly arrived real followers who go back and like a recent post
GOOD_POST_LABEL_HOURS = 48  # a good post's truth window: the day or two its new followers arrive over
QUIET_AROUND_INCIDENT = 3 * 86_400  # no good post this close to an injected incident (unambiguous truth)
PLATFORM_PREFIX = {"instagram": "ig", "tiktok": "tt", "youtube": "yt"}

# One observed event, kept compact until it is rendered as a dict:
#   (emit_ts, account_index, seq, observed_ts, post_index | -1, likes, comments, shares, views, followers, following, posts_count)
Record = tuple[float, int, int, int, int, int, int, int, int | None, int, int | None, int]


@dataclass(frozen=True)
class PostInfo:
    post_id: str
    posted_at: str
    tags: tuple[str, ...]
    text: str | None


@dataclass
class AccountTimeline:
    profile: AccountProfile
    posts: list[PostInfo]
    records: list[Record]
    truth: TruthEvent | None
    life: list[TruthEvent]  # labelled ordinary life: good posts, outages (never purchases)
    traits: Traits


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def simulate_account(
    seed: int,
    profile: AccountProfile,
    injection: Injection | None,
    mentions: Sequence[SpecialPost],
    start: int,
    days: int,
    max_jitter: float,
    knobs: WorldKnobs,
    traits: Traits,
) -> AccountTimeline:
    rng = random.Random(f"nichewatch:{seed}:account:{profile.index}")
    end = start + days * 86_400
    specials = list(mentions) + list(injection.posts if injection else ())
    schedule = _post_times(rng, profile, start, days, specials, knobs.post_rate_scale)
    # Now and then a post does 2-5x the usual and, over the next day or two, brings real
    # followers in proportion (good_post_gain): the honest shape a detector must not accuse.
    # Their own random stream, drawn for every post, so the rate knob changes nothing else.
    good_rng = random.Random(f"nichewatch:{seed}:good-posts:{profile.index}")
    quiet = (injection.start - QUIET_AROUND_INCIDENT, injection.end() + QUIET_AROUND_INCIDENT) if injection else None
    good_posts: dict[int, tuple[float, float]] = {}
    bumps = []
    for number, (posted, special) in enumerate(schedule):
        chance, multiple, tau = good_rng.random(), good_rng.uniform(*GOOD_POST_MULTIPLE), good_rng.uniform(8.0, 20.0)
        if special is not None or profile.spam or chance >= knobs.good_post_rate:
            continue
        if quiet is None or not quiet[0] <= posted <= quiet[1]:
            good_posts[number] = (multiple, good_post_gain(traits.good_post_unit, multiple))
            bumps.append(((posted - start) / HOUR, good_posts[number][1], tau))
    account = _Account(profile, injection, _organic_series(rng, profile, traits, days * 24, bumps), start,
                       rng.uniform(-1.0, 3.0))
    truth = None
    if injection is not None:
        truth = TruthEvent(profile.account_id, injection.event_type, EXPECTED[injection.event_type],
                           iso(injection.start), iso(injection.end()), account.followers_before, account.added)
    elif profile.spam:
        truth = TruthEvent(profile.account_id, "spam_account", None, iso(start), iso(end), profile.followers, 0)

    life = [_good_post_truth(account, schedule[n][0], gain) for n, (_, gain) in good_posts.items()]
    life += [_outage_truth(account, outage) for outage in traits.outages]
    life.sort(key=lambda t: (t.start, t.event_type))

    recorder = _Recorder(rng, account, traits, [t for t, _ in schedule], max_jitter)
    posts = [
        _post(rng, account, recorder, number, posted, special, good_posts.get(number, (0.0, 0.0))[0], end,
              knobs.engagement_noise)
        for number, (posted, special) in enumerate(schedule)
    ]
    t = start + rng.uniform(0.0, traits.snapshot_hours * HOUR)
    while t < end:
        recorder.emit(int(t), -1, 0, 0, 0, None)
        t += traits.snapshot_hours * HOUR * rng.uniform(0.8, 1.2)
    recorder.records.sort()
    return AccountTimeline(profile, posts, recorder.records, truth, life, traits)


def _good_post_truth(account: _Account, posted: int, gain: float) -> TruthEvent:
    before = account.organic_at(posted)
    return TruthEvent(account.profile.account_id, "good_post", EXPECTED["good_post"], iso(posted),
                      iso(posted + GOOD_POST_LABEL_HOURS * HOUR), round(before), round(before * gain))


def _outage_truth(account: _Account, outage: tuple[int, int]) -> TruthEvent:
    begin, end = outage
    before = account.organic_at(begin)
    return TruthEvent(account.profile.account_id, "outage_catchup", EXPECTED["outage_catchup"], iso(begin),
                      iso(end), round(before), round(account.organic_at(end) - before))


class _Account:
    """The account's counters as functions of time: public followers and real audience."""

    def __init__(
        self, profile: AccountProfile, injection: Injection | None, organic: array, start: int, following_drift: float
    ) -> None:
        self.profile = profile
        self.injection = injection
        self.organic = organic
        self.start = start
        self.following_drift = following_drift
        self.followers_before = 0
        self.added = 0
        if injection is not None:
            self.followers_before = round(organic[(injection.spike_start - start) // HOUR])
            self.added = injection.realise(self.followers_before)

    def organic_at(self, t: float) -> float:
        return self.organic[min(len(self.organic) - 1, int((t - self.start) // HOUR))]

    def followers_at(self, t: float) -> int:
        extra = self.injection.visible_delta(self.added, t) if self.injection else 0.0
        return round(self.organic_at(t) + extra)

    def audience_at(self, t: float) -> float:
        extra = self.injection.real_delta(self.added, t) if self.injection else 0.0
        return self.organic_at(t) + extra

    def following_at(self, t: float) -> int | None:
        if self.profile.following is None:
            return None
        return max(0, self.profile.following + int((t - self.start) / 86_400 * self.following_drift))


class _Recorder:
    """Collects the account's observations as compact records, with their arrival jitter."""

    def __init__(
        self, rng: random.Random, account: _Account, traits: Traits, post_times: list[int], max_jitter: float
    ) -> None:
        self.rng = rng
        self.account = account
        self.traits = traits
        self.post_times = post_times
        self.max_jitter = max_jitter
        self.records: list[Record] = []

    def emit(self, observed: int, post: int, likes: int, comments: int, shares: int, views: int | None) -> None:
        account, traits = self.account, self.traits
        if traits.outages and traits.in_outage(observed):
            return  # the collector saw nothing of this account
        emit_ts = observed + self.rng.uniform(0.0, self.max_jitter) if self.max_jitter else float(observed)
        posts_count = account.profile.posts_count + bisect.bisect_right(self.post_times, observed)
        followers = account.followers_at(observed)
        if post >= 0 and traits.rounded_counts:
            followers = displayed_count(followers)
        self.records.append((emit_ts, account.profile.index, len(self.records), observed, post, likes, comments,
                             shares, views, followers, account.following_at(observed), posts_count))


def _post(
    rng: random.Random,
    account: _Account,
    recorder: _Recorder,
    number: int,
    posted: int,
    special: SpecialPost | None,
    good_post: float,
    end: int,
    noise: float,
) -> PostInfo:
    """Draw one post, record its observations, return what never changes about it."""
    profile, injection = account.profile, account.injection
    niche = profile.second_niche if profile.second_niche and rng.random() < 0.3 else profile.niche
    tags = _spam_tags(rng, niche) if profile.spam else _niche_tags(rng, niche, recorder.traits.generic_tagger)
    info = PostInfo(f"{PLATFORM_PREFIX[profile.platform]}_{profile.index:05d}_{number:04d}",
                    iso(posted), tags, _caption(rng, profile, niche, special, tags))
    boost = injection.engagement_boost(posted) if injection and special is None else 1.0
    audience_then = account.audience_at(posted)
    # A good post does its drawn multiple of the usual (no further noise, so its follower
    # gain stays in proportion to what it did); an ordinary one varies log-normally.
    noisy = rng.lognormvariate(0.0, noise)
    multiple = good_post or noisy
    base = profile.engagement_rate * audience_then * boost * multiple
    likes = base * rng.uniform(0.88, 0.95) * (special.likes_x if special else 1.0)
    comments = base * rng.uniform(0.03, 0.08) * (special.comments_x if special else 1.0)
    shares = base * rng.uniform(0.005, 0.04) * (special.shares_x if special else 1.0)
    views = None if profile.platform == "instagram" else likes * rng.uniform(8.0, 25.0)
    seen = (0, 0)
    for offset in OBSERVATION_OFFSETS:
        # A collector occasionally misses a pass, but the first look is always there.
        if offset != OBSERVATION_OFFSETS[0] and rng.random() < 0.05:
            continue
        observed = posted + offset + rng.randint(-600, 600)
        if observed >= end:
            break
        m = maturity(observed - posted)
        # Real followers who arrive after publication like recent posts too; bought ones
        # never do. This is how a genuine surge shows up on posts already out there.
        late = max(0.0, account.audience_at(observed) - audience_then) * profile.engagement_rate * LATE_ENGAGEMENT
        seen = (max(seen[0], int(likes * m + late)), max(seen[1], int(comments * m + late * 0.05)))
        recorder.emit(observed, number, seen[0], seen[1], int(shares * m), None if views is None else int(views * m))
    return info


def maturity(age_seconds: float) -> float:
    """Share of a post's final counters reached at a given age (~25% at 1h, ~93% at 24h)."""
    return 1.0 - math.exp(-((max(age_seconds, 0.0) / (6 * HOUR)) ** 0.7))


def _organic_series(
    rng: random.Random, profile: AccountProfile, traits: Traits, hours: int,
    bumps: Sequence[tuple[float, float, float]],
) -> array:
    """Hourly follower counts: daily growth (drifting for some accounts), hourly noise, now
    and then a wave of unfollows.

    ``bumps`` are (hour, share of followers, time constant in hours) gains after good posts,
    arriving over the next day or two (all of the share within 72 hours).
    """
    extra = [0.0] * (hours + 1)
    for hour, gain, tau in bumps:
        first = int(hour) + 1
        total = 1.0 - math.exp(-72 / tau)
        for k in range(first, min(hours + 1, first + 72)):
            extra[k] += gain / total * (math.exp(-(k - first) / tau) - math.exp(-(k + 1 - first) / tau))
    series = array("d", [float(profile.followers)])
    value = float(profile.followers)
    for h in range(1, hours + 1):
        growth = traits.growth_at(h / hours)
        value += value * (growth / 24 + extra[h]) + rng.gauss(0.0, max(0.4, value * 0.0003))
        if rng.random() < 0.004:
            value -= value * rng.uniform(0.001, 0.004)
        series.append(max(0.0, value))
    return series


def _post_times(
    rng: random.Random, profile: AccountProfile, start: int, days: int, specials: Sequence[SpecialPost],
    rate_scale: float,
) -> list[tuple[int, SpecialPost | None]]:
    end = start + days * 86_400
    times: list[tuple[int, SpecialPost | None]] = []
    for day in range(days):
        for _ in range(poisson(rng, profile.posts_per_day * rate_scale)):
            # People post around their own peak hour; spam bots post around the clock.
            hour = rng.uniform(0, 24) if profile.spam else (profile.peak_hour + rng.gauss(0.0, 2.5)) % 24
            times.append((start + day * 86_400 + int(hour * HOUR), None))
    times.extend((s.at, s) for s in specials if start <= s.at < end)
    times.sort(key=lambda item: item[0])
    return times


def _variant(rng: random.Random, tag: str) -> str:
    """The same tag as different people type it; the engine has to normalise these."""
    roll = rng.random()
    if roll < 0.65:
        return tag
    if roll < 0.93:
        return tag.lower()
    if roll < 0.99:
        return tag.upper()
    return tag.translate(_FULLWIDTH)  # full-width letters, folded by NFKC


_FULLWIDTH = {c: c + 0xFEE0 for c in range(ord("!"), ord("~") + 1) if chr(c) != "#"}


def _niche_tags(rng: random.Random, niche: str, generic_tagger: bool) -> tuple[str, ...]:
    pool = NICHE_TAGS[niche]
    chosen = rng.sample(pool, rng.randint(1, 3))
    if pool[0] not in chosen and rng.random() < 0.6:
        chosen.insert(0, pool[0])
    if rng.random() < 0.2:
        chosen += rng.sample(GENERIC_TAGS, rng.randint(1, 2))
    if generic_tagger and rng.random() < 0.8:
        chosen += [tag for tag in HABITUAL_GENERIC_TAGS if tag not in chosen]
    return tuple(_variant(rng, tag) for tag in chosen)


def _spam_tags(rng: random.Random, niche: str) -> tuple[str, ...]:
    tags = rng.sample(GENERIC_TAGS, rng.randint(5, 9)) + [rng.choice(NICHE_TAGS[niche])]
    rng.shuffle(tags)
    return tuple(tags)


def _caption(
    rng: random.Random, profile: AccountProfile, niche: str, special: SpecialPost | None, tags: tuple[str, ...]
) -> str | None:
    if special is not None:
        body = special.caption
    elif profile.spam:
        body = rng.choice(SPAM_CAPTIONS)
    elif rng.random() < 0.1:
        return None  # photo-only posts exist
    else:
        body = rng.choice(CAPTIONS[niche])
    return f"{body} {' '.join(tags)}"
