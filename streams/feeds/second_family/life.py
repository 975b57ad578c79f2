"""One account's month in the second world: posts, follower path, and what collectors see.

Draw order: post times (Hawkes) and each post's engagement draw first, then the follower
path (OU growth + noise on a 30-minute grid), then good-post gains sized from the drawn
engagement, then the incident sized from the path, then observations. A post keeps
reaching new real followers for its first 12 hours, so a genuine surge lifts the posts
that are out there; bought followers never do.
"""

from __future__ import annotations

import bisect
import math
import random
import time
from dataclasses import dataclass, field

from streams.feeds.realism import WorldKnobs, poisson
from streams.feeds.second_family import incidents
from streams.feeds.second_family.incidents import DAY, HOUR, Curve, Label, Plan, SpecialPost
from streams.feeds.second_family.world import CAPTIONS, GENERIC, NICHES, Account, shown_followers

GRID = 1800.0
REACH_HOURS = 12.0
GOOD_MULTIPLE = (1.8, 4.5)
GOOD_LABEL_MIN = 1.8  # a good post is labelled when it did at least this multiple of the usual
GOOD_MAX_GAIN = 0.08
QUIET = 3 * DAY

# (arrival_ts, account_index, seq, observed_ts, post_index | -1, likes, comments, shares, views, followers, posts)
Record = tuple[float, int, int, float, int, int, int, int, int | None, int, int]


@dataclass(frozen=True)
class PostInfo:
    post_id: str
    posted: float
    tags: tuple[str, ...]
    text: str | None


@dataclass
class Life:
    account: Account
    posts: list[PostInfo] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)


def live(seed: int, account: Account, kind: str | None, knobs: WorldKnobs, start: float, days: int,
         warmup_days: float, max_jitter: float) -> Life:
    rng = random.Random(f"second-family:{seed}:life:{account.index}")
    # Streams of their own for what knobs change, so one knob changes nothing else.
    engagement_rng = random.Random(f"second-family:{seed}:engagement:{account.index}")
    outage_rng = random.Random(f"second-family:{seed}:outages:{account.index}")
    end = start + days * DAY
    times = _hawkes(rng, account, start, end)
    t0 = _incident_start(rng, kind, start, end, warmup_days) if kind else None
    quiet = (t0 - QUIET, t0 + 12 * DAY) if t0 is not None else None
    path = _path(rng, account, start, end)
    base = _Path(path, start)
    good: list[tuple[float, float]] = []  # (posted, followers gained) of good posts
    posts: list[tuple[float, float, str | None]] = []  # (posted, multiple, special caption)
    for t in times:
        chance, boosted = engagement_rng.random(), engagement_rng.uniform(*GOOD_MULTIPLE)
        multiple = boosted if chance < knobs.good_post_rate else 1.0
        posts.append((t, multiple, None))
    plan = Plan()
    if kind is not None and t0 is not None:
        plan = incidents.plan(rng, kind, base(t0), t0)
        posts += [(s.at, s.multiple, s.caption) for s in plan.posts if start <= s.at < end]
        posts.sort(key=lambda p: p[0])
    draws = [_engagement_draw(engagement_rng, account, m) for _, m, _ in posts]
    unit = rng.uniform(*knobs.good_post_gain)
    bumps = []
    # Any ordinary post that did clearly better than usual brings followers in proportion,
    # whether it was meant to be good or the noise made it so.
    for (posted, _, caption), (p, _) in zip(posts, draws, strict=True):
        realised = p / account.engagement_mean
        delay, tau = engagement_rng.uniform(0.2, 1.0) * HOUR, engagement_rng.uniform(4, 12) * HOUR
        if caption is None and realised >= GOOD_LABEL_MIN and not (quiet and quiet[0] <= posted <= quiet[1]):
            gain = min(GOOD_MAX_GAIN, unit * (realised - 1.0)) * base(posted)
            bumps.append(Curve(posted + delay, gain, "erlang", tau, True))
            good.append((posted, gain))
    life = Life(account)
    world = _World(account, base, bumps, plan)
    outages = _outages(outage_rng, knobs, start, end, warmup_days) if kind is None else []
    life.labels = _labels(account, kind, plan, world, good, outages)
    observer = _Observer(rng, life, world, outages, end, max_jitter, [p[0] for p in posts])
    for number, ((posted, _, caption), draw) in enumerate(zip(posts, draws, strict=True)):
        life.posts.append(_post_info(rng, account, number, posted, caption))
        observer.observe_post(number, posted, draw)
    observer.poll(start)
    life.records.sort()
    return life


class _Path:
    def __init__(self, values: list[float], start: float) -> None:
        self.values, self.start = values, start

    def __call__(self, t: float) -> float:
        i = min(len(self.values) - 1, max(0, int((t - self.start) // GRID)))
        return self.values[i]


@dataclass
class _World:
    account: Account
    base: _Path
    bumps: list[Curve]
    plan: Plan

    def real(self, t: float) -> float:
        return self.base(t) + sum(c.value(t) for c in self.bumps) + self.plan.real(t)

    def visible(self, t: float) -> int:
        return max(0, round(self.base(t) + sum(c.value(t) for c in self.bumps) + self.plan.visible(t)))


class _Observer:
    def __init__(self, rng: random.Random, life: Life, world: _World, outages: list[tuple[float, float]],
                 end: float, max_jitter: float, post_times: list[float]) -> None:
        self.rng, self.life, self.world, self.outages = rng, life, world, outages
        self.end, self.max_jitter, self.post_times = end, max_jitter, sorted(post_times)

    def _emit(self, observed: float, post: int, counters: tuple[int, int, int, int | None]) -> None:
        if observed >= self.end or any(a <= observed < b for a, b in self.outages):
            return
        account = self.life.account
        observed = float(int(observed))
        followers = self.world.visible(observed)
        if post >= 0:
            followers = shown_followers(account, followers)
        arrival = observed + (self.rng.uniform(0, self.max_jitter) if self.max_jitter else 0.0)
        count = account.posts_before + bisect.bisect_right(self.post_times, observed)
        self.life.records.append((arrival, account.index, len(self.life.records), observed, post, *counters,
                                  followers, count))

    def observe_post(self, number: int, posted: float, draw: tuple[float, float]) -> None:
        p, z = draw
        account, rng = self.life.account, self.rng
        split = (rng.uniform(0.84, 0.93), rng.uniform(0.04, 0.10))
        views_x = None if account.platform == "instagram" else rng.uniform(1.2, 3.0)
        age = rng.uniform(0.3, 4.0) * HOUR
        seen = (0, 0, 0, 0)
        for _ in range(6):
            observed = posted + age
            if age > 5 * DAY or observed >= self.end:
                break
            reach = account.reach_share * self.world.real(posted + min(age, REACH_HOURS * HOUR))
            total = max(0.0, reach * p + z * math.sqrt(max(1.0, reach * p * (1 - p)))) * _maturity(age)
            counters = (int(total * split[0]), int(total * split[1]), int(total * (1 - split[0] - split[1])),
                        int(reach * (views_x or 0) * _maturity(age)))
            seen = tuple(max(a, b) for a, b in zip(seen, counters, strict=True))  # type: ignore[assignment]
            self._emit(observed, number, (*seen[:3], None if views_x is None else seen[3]))
            age += rng.expovariate(1 / (10 * HOUR)) + 0.5 * HOUR

    def poll(self, start: float) -> None:
        hours = self.life.account.poll_hours
        t = start + self.rng.uniform(0, hours * HOUR)
        while t < self.end:
            if self.rng.random() >= 0.1:  # one poll in ten is missed
                self._emit(t + self.rng.uniform(-300, 300), -1, (0, 0, 0, None))
            t += hours * HOUR


def _maturity(age: float) -> float:
    """Share of a post's final interactions reached at an age (~30% at 1h, ~80% at 12h)."""
    return 1.0 - (1.0 + max(age, 0.0) / (3 * HOUR)) ** -1.2


def _engagement_draw(rng: random.Random, account: Account, multiple: float) -> tuple[float, float]:
    """The post's chance of interaction p ~ Beta (mean times ``multiple``) and binomial noise z."""
    mean = min(0.95, account.engagement_mean * multiple)
    k = account.concentration
    return rng.betavariate(mean * k, (1 - mean) * k), rng.gauss(0.0, 1.0)


def _hawkes(rng: random.Random, account: Account, start: float, end: float) -> list[float]:
    """Post times: weekly/daily seasonal base rate, each post raising the rate for a few hours."""
    decay = 1 / (2 * HOUR)
    base = account.posts_per_day * (1 - account.branching) / DAY
    peak = base * max(1.0, account.weekend_boost) * 2.6
    times: list[float] = []
    t, excitation = start, 0.0
    while True:
        bound = peak + excitation
        step = rng.expovariate(bound)
        t += step
        if t >= end:
            return times
        excitation *= math.exp(-decay * step)
        if rng.random() * bound <= _seasonal(account, t) * base + excitation:
            times.append(t)
            excitation += account.branching * decay


def _seasonal(account: Account, t: float) -> float:
    weekday = time.gmtime(t).tm_wday
    hour = (t % DAY) / HOUR
    distance = min(abs(hour - account.peak_hour), 24 - abs(hour - account.peak_hour))
    daily = (0.2 + 1.6 * math.exp(-distance**2 / 18)) / 0.7
    return daily * (account.weekend_boost if weekday >= 5 else 1.0)


def _path(rng: random.Random, account: Account, start: float, end: float) -> list[float]:
    """Organic followers on a 30-minute grid; the daily growth rate is an OU process."""
    steps = int((end - start) / GRID) + 2
    dt = GRID / DAY
    value, growth = float(account.followers), account.growth_mean
    theta = 1 / 10  # per day: the rate wanders on a scale of weeks
    values = [value]
    shock = account.growth_volatility * math.sqrt(dt)
    for _ in range(steps):
        growth += theta * (account.growth_mean - growth) * dt + shock * rng.gauss(0, 1)
        value += value * growth * dt + rng.gauss(0.0, 0.3 * math.sqrt(max(value, 1.0) * 0.02))
        values.append(max(0.0, value))
    return values


def _incident_start(rng: random.Random, kind: str, start: float, end: float, warmup_days: float) -> float:
    tail = 11 * DAY if kind in ("purchase_slow_drip", "migration") else 4 * DAY
    earliest = start + warmup_days * DAY
    return rng.uniform(earliest, max(earliest + HOUR, end - tail))


def _outages(rng: random.Random, knobs: WorldKnobs, start: float, end: float, warmup_days: float
             ) -> list[tuple[float, float]]:
    spans: list[tuple[float, float]] = []
    earliest = start + warmup_days * DAY
    for _ in range(poisson(rng, knobs.outage_rate * (end - start) / (30 * DAY))):
        length = rng.uniform(*knobs.outage_days) * DAY
        if end - DAY - length <= earliest:
            break
        begin = rng.uniform(earliest, end - DAY - length)
        if all(begin >= b + DAY or begin + length + DAY <= a for a, b in spans):
            spans.append((begin, begin + length))
    return sorted(spans)


def _labels(account: Account, kind: str | None, plan: Plan, world: _World, good: list[tuple[float, float]],
            outages: list[tuple[float, float]]) -> list[Label]:
    labels = []
    if kind is not None:
        before = world.visible(plan.start - 1)
        added = plan.package if plan.package else round(plan.size * world.base(plan.start))
        labels.append(Label(account.account_id, kind, incidents.expected(kind), _iso(plan.start), _iso(plan.end),
                            before, added))
    for posted, gain in good:
        labels.append(Label(account.account_id, "good_post", None, _iso(posted), _iso(posted + 2 * DAY),
                            round(world.base(posted)), round(gain)))
    for begin, stop in outages:
        before = world.base(begin)
        labels.append(Label(account.account_id, "outage_catchup", None, _iso(begin), _iso(stop), round(before),
                            round(world.base(stop) - before)))
    return labels


def _post_info(rng: random.Random, account: Account, number: int, posted: float, caption: str | None) -> PostInfo:
    tags = rng.sample(NICHES[account.niche], rng.randint(1, 3))
    if account.generic_tagger and rng.random() < 0.85:
        tags += rng.sample(GENERIC, rng.randint(2, 4))
    elif rng.random() < 0.1:
        tags.append(rng.choice(GENERIC))
    tags = [tag.lower() if rng.random() < 0.4 else tag for tag in dict.fromkeys(tags)]
    body = caption or (None if rng.random() < 0.15 else rng.choice(CAPTIONS))
    text = f"{body} {' '.join(tags)}" if body else None
    return PostInfo(f"b{account.index:05d}-{number:05d}", posted, tuple(tags), text)


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
