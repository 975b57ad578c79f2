"""Event models: what flows on nichewatch's topics.

Input events (``Post``, ``AccountSnapshot``) ignore unknown fields so producers can add
optional fields within a major version. Output events (``FollowerSpikeAlert``,
``InfluencerProfile``) carry a deterministic id, the window they cover and their evidence.

Validation is done in pydantic-core wherever possible (constraints on fields) because it
runs once per event on the hot path; the only Python-level check is the "not in the
future" bound (``check_not_in_future``), which needs the wall clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

SCHEMA_VERSION = 1

MAX_TEXT_CHARS = 10_000
MAX_TAGS = 100
MAX_TAG_CHARS = 100
MAX_FUTURE_SECONDS = 86_400
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

Id = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Count = Annotated[int, Field(ge=0)]
Timestamp = Annotated[AwareDatetime, Field(ge=EARLIEST)]
Tag = Annotated[str, StringConstraints(max_length=MAX_TAG_CHARS)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Tier = Literal["nano", "micro", "mid", "macro", "mega"]
Classification = Literal["suspected_purchase", "organic_breakout"]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    # Only this major version is understood; the codec turns the bound into a readable reason.
    schema_version: Annotated[int, Field(ge=SCHEMA_VERSION, le=SCHEMA_VERSION)]


class Post(_Event):
    """One observation of a post; the same post_id is observed many times as counters grow."""

    kind: Literal["post"]
    post_id: Id
    platform: Id
    account_id: Id
    handle: Id
    posted_at: Timestamp
    observed_at: Timestamp
    followers: Count
    following: Count | None = None
    likes: Count
    comments: Count
    shares: Count
    views: Count | None = None
    tags: Annotated[list[Tag], Field(max_length=MAX_TAGS)] = Field(default_factory=list)
    text: Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS)] | None = None


class AccountSnapshot(_Event):
    """A profile poll: the account's counters at one moment."""

    kind: Literal["snapshot"]
    platform: Id
    account_id: Id
    handle: Id
    observed_at: Timestamp
    followers: Count
    following: Count | None = None
    posts_count: Count | None = None


InputEvent = Post | AccountSnapshot


def check_not_in_future(event: InputEvent, now: float | None = None) -> None:
    """Reject timestamps more than a day ahead of the wall clock.

    A timestamp far in the future would pin an account's event-time watermark and make
    every later genuine event look late. This is the one check that needs the clock, so it
    is a plain function the codec calls after validation rather than a pydantic
    validator: a Python-level model validator halves decode throughput.
    """
    limit = datetime.fromtimestamp((time.time() if now is None else now) + MAX_FUTURE_SECONDS, UTC)
    if event.observed_at > limit:
        raise ValueError(f"observed_at: {event.observed_at.isoformat()} is more than 1 day in the future")
    if type(event) is Post and event.posted_at > limit:
        raise ValueError(f"posted_at: {event.posted_at.isoformat()} is more than 1 day in the future")


class NicheDefinition(BaseModel):
    """A niche and the hashtags that define it (value on niches.config, keyed by name)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: Id
    tags: Annotated[list[Tag], Field(min_length=1, max_length=1000)]
    description: str | None = None


class Evidence(BaseModel):
    """One reason behind a decision, as a number and as a sentence."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: str
    value: float
    detail: str


class FollowerSpikeAlert(BaseModel):
    """A follower-growth episode far above the account's own baseline; one per episode."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["follower_spike_alert"] = "follower_spike_alert"
    schema_version: int = SCHEMA_VERSION
    alert_id: Id
    account_id: Id
    platform: str
    handle: str
    niches: list[str]
    classification: Classification
    window_start: AwareDatetime
    window_end: AwareDatetime
    detected_at: AwareDatetime = Field(description="Event time of the observation that triggered the alert.")
    followers_before: Count
    followers_after: Count
    growth: int
    growth_relative: float
    expected_growth: float = Field(description="Growth the baseline predicts over the window.")
    baseline_growth_per_hour: float = Field(description="Median hourly follower growth before the window.")
    baseline_mad_per_hour: float = Field(description="Median absolute deviation of hourly growth.")
    evidence: list[Evidence]


class ScoreComponents(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    engagement: Fraction = Field(description="Engagement rate relative to the niche's tier cohort.")
    niche_focus: Fraction = Field(description="Share of the account's recent posts in the primary niche.")
    consistency: Fraction = Field(description="Regularity of the posting cadence.")
    authenticity: Fraction = Field(description="1 when no suspicious follower growth was seen.")


class InfluencerProfile(BaseModel):
    """The latest view of an account as an influencer; re-published when it changes materially."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["influencer_profile"] = "influencer_profile"
    schema_version: int = SCHEMA_VERSION
    profile_id: Id
    account_id: Id
    platform: str
    handle: str
    tier: Tier
    followers: Count
    niches: list[str]
    primary_niche: str
    score: Fraction
    components: ScoreComponents
    median_engagement_rate: float = Field(ge=0.0)
    cohort_size: Count = Field(description="Accounts in the niche's tier cohort the score compares against.")
    posts_in_window: Count
    window_start: AwareDatetime
    window_end: AwareDatetime
    updated_at: AwareDatetime


OutputEvent = FollowerSpikeAlert | InfluencerProfile
