"""Who lives in the second world, drawn without reference to the first one.

    followers      log-normal (median 12k, sigma 1.6), clipped to 200 .. 8M
    reach          share of followers a post reaches, falling with size: 0.5 * (F / 1k) ** -0.2
    engagement     per post, interactions ~ BetaBinomial(reach, p), p ~ Beta with the account's
                   mean (itself Beta(3, 22)) and a concentration set by the engagement noise
    posting        a self-exciting (Hawkes) process with weekly and daily seasonality
    growth         an Ornstein-Uhlenbeck growth rate around the account's mean, so it wanders
                   over weeks (strongly for the "drifting" share of accounts)
    polling        a fixed cadence per account from {1, 2, 3, 4, 6, 8, 12, 24} h within the knob's
                   range, with one poll in ten missed
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Final, Literal

from streams.feeds.realism import WorldKnobs

Platform = Literal["instagram", "tiktok", "youtube"]

NICHES: Final[dict[str, tuple[str, ...]]] = {
    "aquascaping": ("#Aquascaping", "#PlantedTank", "#Aquascape", "#NatureAquarium", "#ShrimpTank"),
    "bonsai": ("#Bonsai", "#BonsaiTree", "#Yamadori", "#BonsaiLife", "#Niwaki"),
    # This niche also tracks a generic tag, as operators sometimes do.
    "urbansketching": ("#UrbanSketching", "#UrbanSketchers", "#Sketchbook", "#PenAndWash", "#InstaGood"),
    "homebrewing": ("#Homebrewing", "#Homebrew", "#CraftBeer", "#BrewDay", "#AllGrain"),
    "speedcubing": ("#Speedcubing", "#RubiksCube", "#Cubing", "#CFOP", "#Cuber"),
    "watchmaking": ("#Watchmaking", "#Horology", "#WatchRepair", "#Movement", "#Escapement"),
}
GENERIC_TRACKED_TAG: Final[dict[str, str]] = {"urbansketching": "#InstaGood"}
GENERIC: Final[tuple[str, ...]] = ("#love", "#instagood", "#fyp", "#viral", "#reels", "#trending", "#foryou")
WORDS: Final[dict[str, tuple[str, ...]]] = {
    "aquascaping": ("moss", "tank", "scape", "shrimp", "co2"),
    "bonsai": ("juniper", "maple", "pot", "wire", "root"),
    "urbansketching": ("ink", "wash", "street", "sketch", "line"),
    "homebrewing": ("hop", "wort", "mash", "yeast", "keg"),
    "speedcubing": ("cube", "f2l", "oll", "pll", "solve"),
    "watchmaking": ("tick", "balance", "crown", "dial", "gear"),
}
CAPTIONS: Final[tuple[str, ...]] = (
    "Work in progress", "Weekend project", "What would you change?", "Before and after",
    "Trying something new today", "Q&A in the comments", "Small update", "Tools I use",
)
PLATFORM_WEIGHTS: Final[tuple[tuple[Platform, float], ...]] = (("instagram", 0.5), ("tiktok", 0.3), ("youtube", 0.2))
CADENCES_HOURS: Final[tuple[float, ...]] = (1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 24.0)
GENERIC_TAGGER_SHARE = 0.2


@dataclass(frozen=True)
class Account:
    index: int
    platform: Platform
    handle: str
    niche: str
    followers: int  # at the start
    following: int | None
    posts_before: int
    reach_share: float
    engagement_mean: float  # chance that a reached follower interacts
    concentration: float  # of the per-post Beta: lower is noisier
    posts_per_day: float  # mean, before self-excitation
    branching: float  # Hawkes: expected follow-up posts per post
    weekend_boost: float
    peak_hour: float
    poll_hours: float
    growth_mean: float  # per day
    growth_volatility: float  # of the OU growth rate, per sqrt(day)
    rounded: bool
    generic_tagger: bool

    @property
    def account_id(self) -> str:
        return f"{self.platform}:{self.handle}"


def draw_accounts(seed: int, count: int, knobs: WorldKnobs) -> list[Account]:
    rng = random.Random(f"second-family:{seed}:accounts")
    taken: set[str] = set()
    accounts = []
    for index in range(count):
        niche = rng.choice(tuple(NICHES))
        platform = rng.choices([p for p, _ in PLATFORM_WEIGHTS], [w for _, w in PLATFORM_WEIGHTS])[0]
        handle = _handle(rng, niche, taken)
        followers = int(min(8_000_000, max(200, rng.lognormvariate(math.log(12_000), 1.6))))
        mean = rng.betavariate(3, 22)
        # Coefficient of variation of p about equal to the noise knob.
        concentration = max(2.0, (1 - mean) / (mean * max(knobs.engagement_noise, 0.02) ** 2) - 1)
        u_poll, u_round, u_drift, u_generic = rng.random(), rng.random(), rng.random(), rng.random()
        cadences = [c for c in CADENCES_HOURS if knobs.snapshot_hours[0] <= c <= knobs.snapshot_hours[1]]
        poll = cadences[int(u_poll * len(cadences))] if cadences else knobs.snapshot_hours[0]
        accounts.append(Account(
            index=index,
            platform=platform,
            handle=handle,
            niche=niche,
            followers=followers,
            following=None if platform == "youtube" else int(rng.lognormvariate(math.log(600), 0.8)),
            posts_before=int(rng.lognormvariate(math.log(400), 1.0)),
            reach_share=min(0.9, 0.5 * (followers / 1_000) ** -0.2),
            engagement_mean=mean,
            concentration=concentration,
            posts_per_day=rng.lognormvariate(math.log(0.5), 0.6) * knobs.post_rate_scale,
            branching=rng.uniform(0.1, 0.6),
            weekend_boost=rng.uniform(0.9, 1.6),
            peak_hour=rng.uniform(0, 24),
            poll_hours=poll,
            growth_mean=rng.uniform(-0.0008, 0.0045) * knobs.growth_scale,
            growth_volatility=(0.0015 if u_drift < knobs.drift_share else 0.0002) * max(knobs.growth_scale, 0.1),
            rounded=u_round < knobs.rounded_share,
            generic_tagger=u_generic < GENERIC_TAGGER_SHARE,
        ))
    return accounts


def shown_followers(account: Account, followers: int) -> int:
    """The follower count a post page shows, read back as a number (snapshots stay exact).

    Instagram pages show exact counts below 10,000; TikTok and YouTube abbreviate from 1,000.
    """
    if not account.rounded or followers < (10_000 if account.platform == "instagram" else 1_000):
        return followers
    if account.platform == "youtube":  # three significant digits, truncated: 1.23K, 12.3K, 123K, 1.23M
        step = 10 ** max(0, len(str(followers)) - 3)
        return followers // step * step
    unit = 1_000_000 if followers >= 1_000_000 else 1_000  # one decimal, rounded: 12.3K, 1.2M
    return int(round(followers / (unit / 10))) * (unit // 10)


def _handle(rng: random.Random, niche: str, taken: set[str]) -> str:
    base = f"{rng.choice(WORDS[niche])}{rng.choice(('.', '_', ''))}{rng.choice(('works', 'by', 'hq', 'den', 'ist'))}"
    handle, n = base, 1
    while handle in taken:
        n += 1
        handle = f"{base}{n}"
    taken.add(handle)
    return handle
