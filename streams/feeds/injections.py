"""Labelled incidents injected into the synthetic world, and the ground truth they leave.

Every injection adds a follower curve on top of an account's organic series. What tells
the cases apart is what happens to *engagement*:

    bought followers        visible followers jump, real audience (who like/comment) flat
    organic breakout        viral post first, then a surge of real followers; later posts rise
    giveaway / shout-out    surge together with an engagement burst on one post (or a mention);
                            a shout-out brings a share of the *mentioner's* audience (1-8%),
                            so a smaller account mentioning a bigger one moves it little
    press / migration       real followers from off the platform (press coverage: a surge over
                            one to four days; a move from another network: a steady stream over
                            one to four days after an announcement post of usual engagement);
                            no post explains them, they engage at the account's usual rate
    purge                   platform removes followers; engagement unchanged

Ordinary life is labelled too (streams/feeds/realism.py), never as a purchase: ``good_post``
(a post doing 2-5x the usual, then a proportional gain of a few percent) and
``outage_catchup`` (days without observations, then the growth of those days at once).

Times are epoch seconds (ints) internally; ground truth is written as ISO-8601 strings.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field, replace
from typing import Literal

from streams.feeds.population import AccountProfile

EventType = Literal[
    "purchase_instant", "purchase_round", "purchase_small", "purchase_large", "purchase_drip",
    "purchase_spike_decay", "organic_breakout", "giveaway", "shoutout", "purge", "spam_account",
    "good_post", "outage_catchup", "press_mention", "migration",
]
Expected = Literal["suspected_purchase", "organic_breakout"] | None
Shape = Literal["step", "drip", "surge", "purge", "none"]

PURCHASE_TYPES: tuple[EventType, ...] = (
    "purchase_instant", "purchase_round", "purchase_small", "purchase_large", "purchase_drip",
    "purchase_spike_decay",
)
# Purchases that arrive as one instant step (the >= 0.97 recall target applies to them).
INSTANT_PURCHASE_TYPES: tuple[EventType, ...] = (
    "purchase_instant", "purchase_round", "purchase_small", "purchase_large", "purchase_spike_decay",
)
EXPECTED: dict[EventType, Expected] = {
    **{t: "suspected_purchase" for t in PURCHASE_TYPES},
    "organic_breakout": "organic_breakout",
    "giveaway": None,
    "shoutout": None,
    "purge": None,
    "spam_account": None,
    "good_post": None,
    "outage_catchup": None,
    "press_mention": None,
    "migration": None,
}
# Labels of ordinary life: an account carrying only these is an honest account.
ORDINARY_LIFE_TYPES: tuple[EventType, ...] = ("good_post", "outage_catchup")
# Share of accounts receiving each incident; every purchase kind gets >= 40 at 1,500 accounts.
SHARE_OF_ACCOUNTS: dict[EventType, float] = {
    **{t: 0.03 for t in PURCHASE_TYPES},
    "organic_breakout": 0.04,
    "giveaway": 0.03,
    "shoutout": 0.03,
    "purge": 0.03,
    # Off-platform audiences (last, so adding them left the other incidents' draws as they were).
    "press_mention": 0.02,
    "migration": 0.02,
}
SPAM_SHARE = 0.025
SHOUTOUT_CONVERSION = (0.01, 0.08)  # share of the mentioner's audience that follows the mentioned account
ROUND_NUMBERS = (500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 25_000, 50_000, 100_000, 200_000)
HOUR = 3600
DAY = 86_400


@dataclass(frozen=True)
class SpecialPost:
    """A post whose engagement is a multiple of the account's usual one."""

    at: int
    caption: str
    likes_x: float
    comments_x: float
    shares_x: float


@dataclass(frozen=True)
class Injection:
    account_index: int
    event_type: EventType
    start: int  # when the incident begins (viral post / mention / first bought follower)
    spike_start: int  # when followers start to move
    size: float  # followers added as a share of the audience at spike_start (negative: removed)
    shape: Shape
    ramp: float  # seconds: drip / purge duration, or surge time constant
    round_number: bool = False
    removed_share: float = 0.0  # share of the added followers that later go away
    removal_start: int = 0
    removal_tau: float = DAY
    real_share: float = 0.0  # share of added followers who actually engage
    boost: float = 1.0  # engagement multiplier on ordinary posts after the incident
    boost_until: int = 0
    posts: tuple[SpecialPost, ...] = field(default=())

    def end(self) -> int:
        if self.shape in ("drip", "purge"):
            return self.spike_start + int(self.ramp)
        if self.shape == "surge":
            return self.spike_start + int(3 * self.ramp)
        if self.removed_share:
            return self.removal_start + int(3 * self.removal_tau)
        return self.spike_start

    def realise(self, followers_before: int) -> int:
        """Absolute followers added (negative: removed), given the audience at spike start."""
        target = self.size * followers_before
        if not self.round_number:
            return int(round(target)) or 1
        # The cheapest package at or above the intended share: sellers sell round numbers.
        candidates = [n for n in ROUND_NUMBERS if n >= 0.05 * followers_before]
        return min(candidates, key=lambda n: abs(n - target)) if candidates else ROUND_NUMBERS[-1]

    def visible_delta(self, added: int, t: float) -> float:
        """Followers this incident has added to the public counter at time ``t``."""
        if t < self.spike_start:
            return 0.0
        elapsed = t - self.spike_start
        if self.shape == "step":
            value = float(added)
        elif self.shape in ("drip", "purge"):
            value = added * min(1.0, elapsed / self.ramp)
        elif self.shape == "surge":
            value = added * (1.0 - math.exp(-elapsed / self.ramp))
        else:
            return 0.0
        if self.removed_share and t >= self.removal_start:
            value -= added * self.removed_share * (1.0 - math.exp(-(t - self.removal_start) / self.removal_tau))
        return value

    def real_delta(self, added: int, t: float) -> float:
        """Added followers who like and comment (bought and purged ones never do)."""
        if not self.real_share or t < self.spike_start:
            return 0.0
        return self.real_share * self.visible_delta(added, t)

    def engagement_boost(self, t: float) -> float:
        return self.boost if self.start <= t < self.boost_until else 1.0


@dataclass(frozen=True)
class TruthEvent:
    account_id: str
    event_type: EventType
    expected_classification: Expected
    start: str
    end: str
    followers_before: int
    followers_added: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def plan(
    rng: random.Random, profiles: list[AccountProfile], start: int, days: int, warmup_days: float
) -> tuple[list[Injection], dict[int, list[SpecialPost]]]:
    """Pick accounts and times for every incident; also the mention posts of shout-outs.

    Each account carries at most one incident so that ground truth is unambiguous.
    """
    regular = [p for p in profiles if not p.spam]
    pool = regular[:]
    rng.shuffle(pool)
    injections: list[Injection] = []
    mentions: dict[int, list[SpecialPost]] = {}
    for event_type, share in SHARE_OF_ACCOUNTS.items():
        wanted = max(1, round(share * len(profiles)))
        for _ in range(wanted):
            profile = _take(pool, event_type)
            if profile is None:
                break
            injection = _draw(rng, event_type, profile.index, start, days, warmup_days)
            injections.append(injection)
            if event_type == "shoutout":
                mentioner = _mentioner(rng, regular, profile)
                injection = _shoutout_reach(injection, mentioner, profile)
                injections[-1] = injection
                caption = f"Shout-out to @{profile.handle}, go follow!"
                mentions.setdefault(mentioner.index, []).append(
                    SpecialPost(injection.start, caption, 1.5, 2.0, 3.0)
                )
    return injections, mentions


def _take(pool: list[AccountProfile], event_type: EventType) -> AccountProfile | None:
    # Large purchases (30-200%) are bought by small accounts; a 2M account tripling is absurd.
    for i, profile in enumerate(pool):
        if event_type != "purchase_large" or profile.followers < 300_000:
            return pool.pop(i)
    return None


def _shoutout_reach(injection: Injection, mentioner: AccountProfile, target: AccountProfile) -> Injection:
    """A shout-out brings at most a share of the mentioner's audience (its own random stream,
    so the rest of the plan draws as before)."""
    rng = random.Random(f"nichewatch:shoutout:{target.index}:{injection.start}")
    reach = rng.uniform(*SHOUTOUT_CONVERSION) * mentioner.followers / max(target.followers, 1)
    return replace(injection, size=min(injection.size, reach))


def _mentioner(rng: random.Random, regular: list[AccountProfile], target: AccountProfile) -> AccountProfile:
    bigger = [p for p in regular if p.followers >= 3 * target.followers and p.index != target.index]
    same_niche = [p for p in bigger if p.niche == target.niche]
    choices = same_niche or bigger or [p for p in regular if p.index != target.index]
    return rng.choice(choices)


def _draw(
    rng: random.Random, event_type: EventType, index: int, start: int, days: int, warmup_days: float
) -> Injection:
    tail = {"purchase_drip": 6 * DAY, "purchase_spike_decay": 5 * DAY, "giveaway": 5 * DAY, "press_mention": 5 * DAY,
            "migration": 5 * DAY}.get(event_type, 3 * DAY)
    earliest = start + int(warmup_days * DAY)
    latest = max(earliest + HOUR, start + days * DAY - tail)
    t0 = rng.randint(earliest, latest)
    u = rng.uniform
    if event_type == "purchase_instant":
        return Injection(index, event_type, t0, t0, u(0.08, 0.30), "step", 0.0)
    if event_type == "purchase_round":
        return Injection(index, event_type, t0, t0, u(0.08, 0.50), "step", 0.0, round_number=True)
    if event_type == "purchase_small":
        return Injection(index, event_type, t0, t0, u(0.051, 0.065), "step", 0.0)
    if event_type == "purchase_large":
        return Injection(index, event_type, t0, t0, u(0.30, 2.00), "step", 0.0)
    if event_type == "purchase_drip":
        return Injection(index, event_type, t0, t0, u(0.15, 0.80), "drip", u(2, 5) * DAY)
    if event_type == "purchase_spike_decay":
        removal = t0 + int(u(12, 48) * HOUR)
        return Injection(index, event_type, t0, t0, u(0.15, 0.60), "step", 0.0,
                         removed_share=u(0.3, 0.7), removal_start=removal, removal_tau=u(1, 2) * DAY)
    if event_type == "purge":
        return Injection(index, event_type, t0, t0, -u(0.03, 0.15), "purge", u(1, 6) * HOUR)
    if event_type == "press_mention":
        # 95% of it within one to four days (three time constants); no post behind it.
        return Injection(index, event_type, t0, t0, u(0.10, 0.30), "surge", u(8, 32) * HOUR, real_share=1.0)
    if event_type == "migration":
        announcement = SpecialPost(t0, "New home for my work: moving over from my other account, welcome!",
                                   1.0, 1.5, 1.0)
        return Injection(index, event_type, t0, t0 + int(u(1, 6) * HOUR), u(0.10, 0.30), "drip", u(1, 4) * DAY,
                         real_share=1.0, posts=(announcement,))
    return _engaged_surge(rng, event_type, index, t0)


def _engaged_surge(rng: random.Random, event_type: EventType, index: int, t0: int) -> Injection:
    u = rng.uniform
    if event_type == "organic_breakout":
        viral = SpecialPost(t0, "This one blew up, thank you all!", u(10, 100), u(10, 60), u(20, 150))
        spike = t0 + int(u(2, 6) * HOUR)
        return Injection(index, event_type, t0, spike, u(0.10, 0.80), "surge", u(12, 36) * HOUR,
                         real_share=1.0, boost=1.6, boost_until=t0 + 10 * DAY, posts=(viral,))
    if event_type == "giveaway":
        post = SpecialPost(t0, "GIVEAWAY! Follow, like and tag two friends to win", u(5, 15), u(20, 60), u(5, 20))
        spike = t0 + int(u(1, 4) * HOUR)
        # Giveaway hunters follow, take part, and a share leaves once the draw is over.
        return Injection(index, event_type, t0, spike, u(0.08, 0.40), "surge", u(12, 24) * HOUR,
                         removed_share=u(0.2, 0.4), removal_start=t0 + int(u(3, 5) * DAY),
                         removal_tau=DAY, real_share=0.4, posts=(post,))
    # Shout-out: a bigger account mentions this one; it answers with a thank-you post.
    thanks = SpecialPost(t0 + int(u(1, 4) * HOUR), "Thank you for the shout-out, welcome everyone!",
                         u(3, 8), u(4, 12), u(3, 10))
    spike = t0 + int(u(0.5, 3) * HOUR)
    return Injection(index, event_type, t0, spike, u(0.05, 0.40), "surge", u(6, 18) * HOUR,
                     real_share=1.0, boost=1.3, boost_until=t0 + 5 * DAY, posts=(thanks,))
