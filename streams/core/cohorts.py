"""Engagement cohorts shared by the whole cluster.

A worker owns some accounts; a niche's cohort (how its accounts' median engagement rates
spread, per tier) is a fact about all of them. So the cohort is split in three:

- :class:`ClusterCohorts` (every accounts worker): scoring reads percentiles from
  ``view``, the summaries the cluster publishes; moving an account between bins only
  queues a contribution in ``outbox`` for the worker to send.
- :class:`CohortAggregate` (the owner of a niche): applies contributions against each
  account's last entry, kept in a mapping the caller persists (a changelogged table),
  and keeps the histograms derived from those entries.
- :class:`~streams.core.scoring.CohortBook` is the plain histogram both build on, and the
  whole story when one process sees every account (replay, evaluation).

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

from streams.core.scoring import BINS, CohortBook

Entry = tuple[str, str, int]  # (niche, tier, bin)


@dataclass(frozen=True, slots=True)
class Contribution:
    niche: str
    account_id: str
    tier: str | None  # None: the account no longer counts in this niche
    bin: int | None
    version: int


class ClusterCohorts(CohortBook):
    """Percentiles from the cluster's summaries; moves go out as contributions."""

    def __init__(self) -> None:
        super().__init__()
        self.outbox: list[Contribution] = []

    def move(self, account_id: str, old: Entry | None, new: Entry, version: int) -> None:
        if old == new:
            return
        if old is not None and old[0] != new[0]:
            self.outbox.append(Contribution(old[0], account_id, None, None, version))
        self.outbox.append(Contribution(new[0], account_id, new[1], new[2], version))

    def take_outbox(self) -> list[Contribution]:
        out, self.outbox = self.outbox, []
        return out

    def set_summary(self, niche: str, tiers: dict[str, list[int]]) -> None:
        """Replace the niche's histograms with the cluster's (a summary from the owner)."""
        for key in [k for k in self.histograms if k[0] == niche]:
            del self.histograms[key]
        for tier, hist in tiers.items():
            self.histograms[(niche, tier)] = list(hist)

    def remove_niche(self, niche: str) -> None:
        self.set_summary(niche, {})


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
