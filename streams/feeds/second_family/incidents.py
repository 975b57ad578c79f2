"""Incidents of the second world: each one a set of follower curves over time.

A curve says how many followers it has added by time t, split into ``visible`` (the public
counter) and ``real`` (people who see and engage with posts). Purchases are visible only;
honest growth is both; a purge removes visible followers that never engaged.

    purchases                               honest
    instant      one step, then a slow      organic_breakout  viral post, Erlang surge
                 leak of 0-25% over weeks   press_mention     surge with no post behind it
    multistep    2-4 steps of 4-12%,        migration         audience moving in over days
                 6-36 h apart                                 (logistic), with an announcement
    in_viral     a step hidden inside a     purge             counter drops 2-12% in hours
                 real viral surge           good_post         a 1.8-4.5x post, then a gain of
    slow_drip    20-100% over 4-9 days                        c x (multiple - 1), over a day or so
                 in hourly batches          outage_catchup    no observation for 1-3 days
    round        a round package on an
                 account whose posts show
                 rounded counts
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field

HOUR = 3600.0
DAY = 86_400.0
PACKAGES = (1_000, 2_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000)
PURCHASE_KINDS = ("purchase_instant", "purchase_multistep", "purchase_in_viral", "purchase_slow_drip",
                  "purchase_round")
HONEST_KINDS = ("organic_breakout", "press_mention", "migration", "purge")
SHARE = {**{kind: 0.03 for kind in PURCHASE_KINDS}, "organic_breakout": 0.04, "press_mention": 0.03,
         "migration": 0.03, "purge": 0.03}


@dataclass(frozen=True)
class Label:
    """Ground truth in the evaluation's format (the first family's TruthEvent fields)."""

    account_id: str
    event_type: str
    expected_classification: str | None
    start: str
    end: str
    followers_before: int
    followers_added: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Curve:
    """``added * shape((t - at) / scale)`` followers from ``at`` on; shape goes 0 -> 1."""

    at: float
    added: float
    shape: str  # step | erlang | linear | logistic | batches | leak
    scale: float = 1.0
    real: bool = False

    def value(self, t: float) -> float:
        if t < self.at:
            return 0.0
        x = (t - self.at) / self.scale
        if self.shape == "step":
            return self.added
        if self.shape == "erlang":  # Erlang-2: arrivals peak at one time constant
            return self.added * (1.0 - math.exp(-x) * (1.0 + x))
        if self.shape in ("linear", "leak"):
            return self.added * min(1.0, x)
        if self.shape == "batches":  # linear in three-hour lots
            return self.added * min(1.0, math.floor(x * self.scale / (3 * HOUR)) * 3 * HOUR / self.scale)
        if self.shape == "logistic":
            return self.added * (1.0 / (1.0 + math.exp(-10 * (x - 0.5))) - 0.0067) / 0.9866
        raise ValueError(self.shape)


@dataclass(frozen=True)
class SpecialPost:
    at: float
    multiple: float  # of the account's usual chance of interaction
    caption: str


@dataclass
class Plan:
    """What happens to one account: follower curves, special posts, and the label."""

    kind: str | None = None
    start: float = 0.0
    end: float = 0.0
    size: float = 0.0  # followers added as a share of the count at start (negative: removed)
    curves: list[Curve] = field(default_factory=list)
    posts: list[SpecialPost] = field(default_factory=list)
    package: int | None = None

    def visible(self, t: float) -> float:
        return sum(c.value(t) for c in self.curves)

    def real(self, t: float) -> float:
        return sum(c.value(t) for c in self.curves if c.real)


def assign(rng: random.Random, count: int, rounded: list[bool]) -> dict[int, str]:
    """account index -> incident kind; at most one each, round purchases on rounded accounts."""
    order = list(range(count))
    rng.shuffle(order)
    kinds: dict[int, str] = {}
    for kind, share in SHARE.items():
        wanted = max(1, round(share * count))
        pool = [i for i in order if i not in kinds]
        if kind == "purchase_round":  # rounded-count accounts first; others only when there are too few
            pool.sort(key=lambda i: not rounded[i])
        for index in pool[:wanted]:
            kinds[index] = kind
    return kinds


def plan(rng: random.Random, kind: str, followers_at: float, t0: float) -> Plan:
    """Curves for one incident starting at ``t0``; sizes are shares of ``followers_at``."""
    u = rng.uniform
    p = Plan(kind=kind, start=t0, end=t0)
    if kind == "purchase_instant":
        p.size = u(0.10, 0.45)
        added = p.size * followers_at
        p.curves = [Curve(t0, added, "step"), Curve(t0 + u(1, 4) * DAY, -added * u(0.0, 0.25), "leak", u(14, 21) * DAY)]
    elif kind == "purchase_round":
        target = u(0.10, 0.50) * followers_at
        p.package = min((n for n in PACKAGES if n >= 0.06 * followers_at), key=lambda n: abs(n - target),
                        default=PACKAGES[-1])
        p.size = p.package / followers_at
        p.curves = [Curve(t0, p.package, "step")]
    elif kind == "purchase_multistep":
        at, total = t0, 0.0
        for _ in range(rng.randint(2, 4)):
            share = u(0.04, 0.12)
            total += share
            p.curves.append(Curve(at, share * followers_at, "step"))
            p.end = at
            at += u(6, 36) * HOUR
        p.size = total
    elif kind == "purchase_in_viral":
        viral = t0 - u(2, 12) * HOUR
        p.posts = [SpecialPost(viral, u(8, 30), "This one took off, thank you!")]
        p.curves = [Curve(viral + u(0.5, 2) * HOUR, u(0.10, 0.40) * followers_at, "erlang", u(6, 18) * HOUR, True)]
        p.size = u(0.15, 0.50)
        p.curves.append(Curve(t0, p.size * followers_at, "step"))
    elif kind == "purchase_slow_drip":
        p.size = u(0.20, 1.00)
        duration = u(4, 9) * DAY
        p.curves = [Curve(t0, p.size * followers_at, "batches", duration)]
        p.end = t0 + duration
    elif kind == "organic_breakout":
        p.posts = [SpecialPost(t0, u(8, 60), "Did not expect this to blow up")]
        tau = u(8, 24) * HOUR
        p.size = u(0.15, 1.20)
        p.curves = [Curve(t0 + u(1, 4) * HOUR, p.size * followers_at, "erlang", tau, True)]
        p.end = t0 + 4 * tau
    elif kind == "press_mention":
        tau = u(4, 16) * HOUR
        p.size = u(0.08, 0.40)
        p.curves = [Curve(t0, p.size * followers_at, "erlang", tau, True)]
        p.end = t0 + 4 * tau
    elif kind == "migration":
        duration = u(3, 10) * DAY
        p.posts = [SpecialPost(t0, u(1.0, 1.6), "I'm moving my work here from my other account, welcome!")]
        p.size = u(0.10, 0.50)
        p.curves = [Curve(t0, p.size * followers_at, "logistic", duration, True)]
        p.end = t0 + duration
    elif kind == "purge":
        hours = u(1, 12) * HOUR
        p.size = -u(0.02, 0.12)
        p.curves = [Curve(t0, p.size * followers_at, "linear", hours)]
        p.end = t0 + hours
    else:
        raise ValueError(kind)
    return p


def expected(kind: str) -> str | None:
    if kind in PURCHASE_KINDS:
        return "suspected_purchase"
    return "organic_breakout" if kind == "organic_breakout" else None
