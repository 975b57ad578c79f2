"""The niche tag report: how good a niche's search tags are (value on niches.tags, keyed by niche)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from schemas.events import SCHEMA_VERSION


class TagStatistics(BaseModel):
    """One tag seen on the niche's posts, tracked by the niche or not."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    tag: str = Field(description="Normalised hashtag, without '#'.")
    tracked: bool
    posts: int = Field(ge=0, description="Niche posts carrying the tag (each post once, however often re-observed).")
    posts_error: int = Field(ge=0, description="Upper bound of the over-count in posts (0: exact).")
    accounts: int = Field(ge=0, description="Distinct accounts using it (exact below the sample size, estimated above).")
    specificity: float = Field(
        ge=0.0, le=1.0,
        description="Share of all posts carrying the tag (any niche, or none) that belong to this niche alone.",
    )
    lift: float = Field(ge=0.0, description="specificity / this niche's share of all posts (PMI = log2 lift).")
    median_followers: float = Field(ge=0.0, description="Median followers of the accounts using it.")
    median_engagement_rate: float = Field(ge=0.0, description="Median engagement rate of the accounts using it.")
    cooccurrence: dict[str, int] = Field(description="Posts carrying both this tag and each tracked tag.")
    generic: bool
    generic_reasons: list[str] = Field(description="Why it is flagged generic, with the numbers (empty if not).")


class TagSuggestion(BaseModel):
    """An untracked tag worth tracking: it goes with the niche's specific tags on its best accounts' posts."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    tag: str
    score: float = Field(ge=0.0, description="specificity x weighted co-occurrence with the specific tracked tags.")
    posts: int = Field(ge=0)
    accounts: int = Field(ge=0)
    specificity: float = Field(ge=0.0, le=1.0)
    weighted_cooccurrence: float = Field(
        ge=0.0, description="Share of the niche's specific-tag posts, weighted by micro-influencer score, carrying it."
    )


class NicheTagReport(BaseModel):
    """Tag health of one niche: its tracked tags with statistics and generic flags, and suggestions."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    kind: Literal["niche_tag_report"] = "niche_tag_report"
    schema_version: int = SCHEMA_VERSION
    niche: str
    posts: int = Field(ge=0, description="Posts in the niche (each post once).")
    generic_only_share: float = Field(
        ge=0.0, le=1.0, description="Share of the niche's posts whose only tracked tags are generic ones."
    )
    median_followers: float = Field(ge=0.0, description="Median followers of the niche's accounts.")
    median_engagement_rate: float = Field(ge=0.0, description="Median engagement rate of the niche's accounts.")
    tags: list[TagStatistics] = Field(description="Tracked tags first, then the most frequent untracked ones.")
    suggested: list[TagSuggestion] = Field(description="Untracked tags ranked by score, best first.")
    updated_at: AwareDatetime | None = Field(default=None, description="Event time of the newest post counted.")
