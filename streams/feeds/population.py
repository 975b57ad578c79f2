"""Who lives in the synthetic world: account profiles drawn once per scenario.

Follower counts are heavy-tailed: tiers get steeply falling weights and, inside a tier,
counts are log-uniform, so most accounts are nano/micro and a few reach ~2M. Engagement
falls with size (nano ~5-8%, mega ~1%), which is the pattern the influencer score has to
see through.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal, TypeVar

from streams.feeds.catalogue import HANDLE_SUFFIXES, NICHE_TAGS, NICHE_WORDS, PLATFORMS

Tier = Literal["nano", "micro", "mid", "macro", "mega"]
T = TypeVar("T")

# tier -> (weight, min followers, max followers, engagement rate low, high)
TIERS: dict[Tier, tuple[float, int, int, float, float]] = {
    "nano": (0.46, 1_000, 10_000, 0.05, 0.08),
    "micro": (0.32, 10_000, 100_000, 0.03, 0.05),
    "mid": (0.13, 100_000, 500_000, 0.02, 0.03),
    "macro": (0.05, 500_000, 1_000_000, 0.013, 0.02),
    "mega": (0.04, 1_000_000, 2_000_000, 0.008, 0.012),
}


@dataclass(frozen=True)
class AccountProfile:
    index: int
    platform: str
    handle: str
    niche: str
    second_niche: str | None  # cross-niche posters use it for ~30% of posts
    tier: Tier
    followers: int  # at the scenario start
    following: int | None
    posts_count: int
    engagement_rate: float  # interactions per post / real audience
    posts_per_day: float
    peak_hour: float  # UTC hour around which this account posts
    snapshot_hours: float  # profile polling interval
    daily_growth: float  # organic drift, fraction per day
    spam: bool = False

    @property
    def account_id(self) -> str:
        return f"{self.platform}:{self.handle}"


def draw_profiles(rng: random.Random, count: int, spam_count: int) -> list[AccountProfile]:
    """``count`` accounts, the last ``spam_count`` of which are generic-tag spammers."""
    taken: set[str] = set()
    profiles = []
    for index in range(count):
        niche = rng.choice(tuple(NICHE_TAGS))
        platform = _weighted(rng, PLATFORMS)
        handle = _unique_handle(rng, niche, taken)
        if index >= count - spam_count:
            profiles.append(_spam_profile(rng, index, platform, handle, niche))
        else:
            profiles.append(_regular_profile(rng, index, platform, handle, niche))
    return profiles


def _regular_profile(rng: random.Random, index: int, platform: str, handle: str, niche: str) -> AccountProfile:
    tier: Tier = _weighted(rng, tuple((name, spec[0]) for name, spec in TIERS.items()))
    _, low, high, er_low, er_high = TIERS[tier]
    followers = int(math.exp(rng.uniform(math.log(low), math.log(high))))
    others = [n for n in NICHE_TAGS if n != niche]
    return AccountProfile(
        index=index,
        platform=platform,
        handle=handle,
        niche=niche,
        second_niche=rng.choice(others) if rng.random() < 0.15 else None,
        tier=tier,
        followers=followers,
        following=None if platform == "youtube" else rng.randint(150, 2_500),
        posts_count=rng.randint(40, 3_000),
        engagement_rate=rng.uniform(er_low, er_high),
        posts_per_day=min(3.0, rng.lognormvariate(math.log(0.6), 0.5)),
        peak_hour=rng.uniform(0, 24),
        snapshot_hours=rng.uniform(1.0, 6.0),
        daily_growth=rng.uniform(-0.0005, 0.004),
    )


def _spam_profile(rng: random.Random, index: int, platform: str, handle: str, niche: str) -> AccountProfile:
    # Spammers have a big-looking audience that does not engage, and post around the clock.
    return AccountProfile(
        index=index,
        platform=platform,
        handle=handle,
        niche=niche,
        second_niche=rng.choice([n for n in NICHE_TAGS if n != niche]),
        tier="micro",
        followers=rng.randint(5_000, 60_000),
        following=None if platform == "youtube" else rng.randint(5_000, 7_500),
        posts_count=rng.randint(2_000, 9_000),
        engagement_rate=rng.uniform(0.0005, 0.003),
        posts_per_day=rng.uniform(8.0, 16.0),
        peak_hour=rng.uniform(0, 24),
        snapshot_hours=rng.uniform(1.0, 6.0),
        daily_growth=rng.uniform(0.0, 0.001),
        spam=True,
    )


def _unique_handle(rng: random.Random, niche: str, taken: set[str]) -> str:
    base = f"{rng.choice(NICHE_WORDS[niche])}{rng.choice(('', '_', '.'))}{rng.choice(HANDLE_SUFFIXES)}"
    handle, n = base, 1
    while handle in taken:
        n += 1
        handle = f"{base}{n}"
    taken.add(handle)
    return handle


def _weighted(rng: random.Random, options: tuple[tuple[T, float], ...]) -> T:
    values = [value for value, _ in options]
    weights = [weight for _, weight in options]
    return rng.choices(values, weights=weights)[0]
