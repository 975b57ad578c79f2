"""Engagement cohorts shared by the whole cluster.

A worker owns some accounts; a niche's cohort (how its accounts' median engagement rates
spread, per tier) is a fact about all of them. So the cohort is split in three:

- every accounts worker's engine (core/src/engine/scoring.rs, ``CohortBook::cluster``)
  reads percentiles from the summaries the cluster publishes (:class:`ClusterCohorts` is
  what a summary is applied to); moving an account between bins only queues a
  :class:`Contribution` for the worker to send.
- :class:`CohortAggregate` (the owner of a niche): applies contributions against each
  account's last entry, kept in a mapping the caller persists (a changelogged table),
  and keeps the histograms derived from those entries.
- one engine that sees every account (replay, evaluation) keeps the histograms itself.

Why entries and not increments: a contribution says "the account is now in (tier, bin)"
with a version (the event time of the rescoring). Applying it moves the account's one
count from its last entry to the new one. A redelivery after a crash carries the same
version and entry and changes nothing; an older record (version below the kept one) is
dropped. So nothing is counted twice, whichever worker sends it or how often.

Worked example: ``a`` is rescored at t=100 into (micro, 30): the worker sends
``{niche: ink, account_id: a, tier: micro, bin: 30, version: 100}``. The owner had no
entry for (ink, a): ``micro[30] += 1``, entry = (micro, 30, 100). The worker crashes
before committing and resends it: same entry, no change. At t=200 ``a`` moves to (mid, 12):
``micro[30] -= 1; mid[12] += 1``. Later ``a``'s primary niche becomes ``moss``: ``ink``
gets ``tier: null`` (its count leaves ``ink``) and ``moss`` gets the new entry.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from typing import Protocol

from schemas.cluster import COHORT_BINS as BINS

@dataclass(frozen=True, slots=True)
class Contribution:
    niche: str
    account_id: str
    tier: str | None  # None: the account no longer counts in this niche
    bin: int | None
    version: int


class ClusterCohorts(Protocol):
    """A worker's cohorts as the niches.cohorts follower updates them."""

    def set_summary(self, niche: str, tiers: dict[str, list[int]]) -> None:
        """Replace the niche's histograms with the cluster's (a summary from the owner)."""

    def remove_niche(self, niche: str) -> None: ...


# The last entry of each (niche, account): (tier, bin, version); tier None once it left.
MemberEntry = tuple[str | None, int | None, int]


class CohortAggregate:
    """The histograms of the niches this owner is responsible for, from per-account entries.

    ``members`` maps (niche, account_id) to the account's last entry; the caller persists
    it (its keys and values are what the changelog carries). ``rebuild`` recomputes the
    histograms from it after a restart or a change of ownership.
    """

    def __init__(self, members: MutableMapping[tuple[str, str], MemberEntry] | None = None) -> None:
        self.members: MutableMapping[tuple[str, str], MemberEntry] = members if members is not None else {}
        self.histograms: dict[str, dict[str, list[int]]] = {}

    def rebuild(self, entries: Iterable[tuple[tuple[str, str], MemberEntry]]) -> None:
        self.histograms = {}
        for (niche, _account), (tier, bin_index, _version) in entries:
            if tier is not None and bin_index is not None:
                self._hist(niche, tier)[bin_index] += 1

    def apply(self, contribution: Contribution) -> bool:
        """Apply one contribution; True when the niche's histograms changed."""
        c = contribution
        key = (c.niche, c.account_id)
        last = self.members.get(key)
        changed = False
        if last is not None:
            if c.version < last[2] or (last[0], last[1]) == (c.tier, c.bin):
                return False  # older, or already applied
            if last[0] is not None and last[1] is not None:
                hist = self._hist(c.niche, last[0])
                hist[last[1]] = max(0, hist[last[1]] - 1)
                changed = True
        if c.tier is not None and c.bin is not None:
            self._hist(c.niche, c.tier)[c.bin] += 1
            changed = True
        self.members[key] = (c.tier, c.bin, c.version)
        return changed

    def summary(self, niche: str) -> tuple[int, dict[str, list[int]]]:
        """(members, histogram per tier) of a niche; tiers without members are left out."""
        tiers = {tier: list(hist) for tier, hist in sorted(self.histograms.get(niche, {}).items()) if any(hist)}
        return sum(sum(h) for h in tiers.values()), tiers

    def _hist(self, niche: str, tier: str) -> list[int]:
        return self.histograms.setdefault(niche, {}).setdefault(tier, [0] * BINS)
