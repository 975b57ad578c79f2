"""Event models: what flows on nichewatch's topics.

Input events (``Post``, ``AccountSnapshot``) ignore unknown fields so producers can add
optional fields within a major version. Output events (``FollowerSpikeAlert``,
``InfluencerProfile``) carry a deterministic id, the window they cover and their evidence.

Validation is done in pydantic-core wherever possible (constraints on fields) because it
runs once per event on the hot path; the only Python-level checks are the "not in the
future" bound (``check_not_in_future``), which needs the wall clock, and the
posted/observed order (``check_event_order``).

Input models are strict: from JSON, a count is a JSON integer (never a string or a
boolean), a string field is a JSON string, a timestamp is an RFC 3339 string matching
``TIMESTAMP_PATTERN`` (never an epoch number or epoch digits in a string). Built in Python
(feeds, tests), timestamps may also be ``datetime`` objects.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

SCHEMA_VERSION = 1

MAX_TEXT_CHARS = 10_000
MAX_TAGS = 100
MAX_TAG_CHARS = 100
MAX_FUTURE_SECONDS = 86_400
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
COUNT_LIMIT = 2**53
"""Counts are below this: larger ones are not real, and would not survive the state
changelog (orjson writes 64-bit integers only) or floats in engagement rates."""
# RFC 3339 date-time: 'T' or 't', seconds required, an optional fraction of 1-9 digits,
# then 'Z', 'z' or a +hh:mm / -hh:mm offset (exported in the JSON Schema). The decoder's
# pattern leaves the offset optional only so that a naive timestamp gets the clearer
# "Input should have timezone info" from the datetime step, which requires it. Range
# checks (month 13, hour 24, Feb 30, offsets past 23:59) are the datetime step's.
_TIMESTAMP_BODY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
TIMESTAMP_PATTERN = _TIMESTAMP_BODY + r"([Zz]|[+-][0-9]{2}:[0-9]{2})$"
_DECODER_TIMESTAMP_PATTERN = _TIMESTAMP_BODY + r"([Zz]|[+-][0-9]{2}:[0-9]{2})?$"


class _Rfc3339:
    """From JSON: a string matching TIMESTAMP_PATTERN, then an aware datetime >= EARLIEST.

    Both steps run in pydantic-core (no Python callback on the hot path): the pattern is
    checked strictly, then the already-checked string is parsed by the datetime step.
    """

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        parse = core_schema.datetime_schema(tz_constraint="aware", ge=EARLIEST, strict=False)
        return core_schema.json_or_python_schema(
            json_schema=core_schema.chain_schema([core_schema.str_schema(pattern=_DECODER_TIMESTAMP_PATTERN, strict=True), parse]),
            python_schema=parse,
        )

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"type": "string", "format": "date-time", "pattern": TIMESTAMP_PATTERN}


Id = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Count = Annotated[int, Field(ge=0, lt=COUNT_LIMIT)]
Timestamp = Annotated[datetime, _Rfc3339()]
Tag = Annotated[str, StringConstraints(max_length=MAX_TAG_CHARS)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Tier = Literal["nano", "micro", "mid", "macro", "mega"]
Classification = Literal["suspected_purchase", "organic_breakout"]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

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
