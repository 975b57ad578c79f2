"""Records the workers exchange so that results do not depend on how many of them run.

    accounts agent ──CohortContribution (key: niche)──► niches.cohort-contributions
                                                              │ cohorts agent: one owner per niche,
                                                              ▼ per-account entries in a table
    every worker ◄──────CohortSummary (key: niche)──── niches.cohorts (compacted)

    accounts agent ──TagObservations (one partition)─► niches.tag-observations ──► every
                                                       worker's tag statistics, in one order

A contribution is a change, not a total: "this account's entry in this niche is now
(tier, bin)", or "it left this niche" (``tier`` null). The owner keeps each account's last
entry, so a redelivered contribution (same account, same version) changes nothing, and an
older one (lower version) is ignored.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.events import SCHEMA_VERSION, Count, Id, Tier

COHORT_BINS = 64


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", strict=True)

    schema_version: Annotated[int, Field(ge=SCHEMA_VERSION, le=SCHEMA_VERSION)] = SCHEMA_VERSION


class CohortContribution(_Record):
    """One account's place in one niche's engagement cohort (value on niches.cohort-contributions, keyed by niche)."""

    kind: Literal["cohort_contribution"] = "cohort_contribution"
    niche: Id
    account_id: Id
    tier: Tier | None = Field(description="The account's tier, or null: it no longer counts in this niche.")
    bin: Annotated[int, Field(ge=0, lt=COHORT_BINS)] | None = Field(
        description="Log-scale bin of the account's median engagement rate (null with tier null)."
    )
    version: Count = Field(description="Event time (epoch seconds) of the rescoring that produced it; higher wins.")


class CohortSummary(_Record):
    """A niche's cohort over the whole cluster (value on niches.cohorts, keyed by niche)."""

    kind: Literal["cohort_summary"] = "cohort_summary"
    niche: Id
    members: Count
    tiers: dict[Tier, Annotated[list[Count], Field(min_length=COHORT_BINS, max_length=COHORT_BINS)]] = Field(
        description="Accounts per engagement-rate bin, per tier (bins as in core/src/engine/scoring.rs rate_bin)."
    )



class TagObservation(_Record):
    """One new post's tags, for every worker's tag statistics (value on niches.tag-observations)."""

    kind: Literal["tag_observation"] = "tag_observation"
    post_id: Id
    account_id: Id
    tags: list[str]
    niches: list[Id]
    followers: Count
    rate: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = Field(description="The account's median engagement rate.")
    weight: Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)] = Field(
        description="Weight in tag suggestions (the author's micro-influencer score)."
    )
    ts: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = Field(description="Observed at (epoch seconds).")


class TagObservations(_Record):
    """The new posts of one fetched batch, in order (value on niches.tag-observations).

    A batch is split so that a record stays well under the own-record size limit.
    """

    kind: Literal["tag_observations"] = "tag_observations"
    observations: list[TagObservation]
