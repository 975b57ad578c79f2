"""Shout-outs: posts that mention another account of the same platform by @handle.

Real followers also arrive when another account tells its audience to follow someone,
and then the followed account's own posts explain nothing. A shout-out reaches the
mentioner's audience, and a share of it follows: the growth a mention can explain is in
proportion to the mentioner's followers, credited generously as explain.py credits the
account's own posts::

    explainable = MENTION_TOLERANCE x MENTION_CONVERSION x mentioner's followers
                = 3 x 5% x followers  (15% of the mentioner's audience)

So a 200,000-follower account shouting out a 1,000,000-follower one explains up to 30,000
new followers, not 200,000: a smaller account cannot move a big one much. A mention
published shortly before or during the growth that can explain it is evidence for
organic growth.

Creators cross-promote across platforms, so mentions are matched by handle (the part of
``platform:handle`` after the colon), case-insensitively. The book is engine-wide and
bounded (oldest mentions are forgotten first).

A decision taken at event time ``t`` counts only the mentions observed by then
(``seen_ts <= t``), whatever order they reached the book in. On a cluster, the worker that
owns the mentioned account does not see the mentioning post (another worker owns its
author), so every worker reads the mentions of all posts ahead of its own processing
(streams/mention_reader.py); with this rule the decisions do not depend on how far
ahead it is, nor on how many workers run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

HANDLE = re.compile(r"@([A-Za-z0-9_.]{2,30})")
# Share of a mentioner's audience that follows the mentioned account (point estimate; a
# "go follow" post by a related account converts a few percent), and the credit given to
# it: conversions vary a lot from one shout-out to the next.
MENTION_CONVERSION = 0.05
MENTION_TOLERANCE = 3.0


MENTIONS_PER_HANDLE = 8  # the most recent mentions kept of one handle


@dataclass(frozen=True, slots=True)
class Mention:
    ts: int  # when the mentioning post was published
    by_account: str
    by_followers: int
    seen_ts: int = 0  # when the mentioning post was first observed


class MentionBook:
    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self.by_handle: dict[str, list[Mention]] = {}

    def record(self, account_id: str, text: str | None, ts: float, followers: int, seen_ts: float | None = None) -> None:
        """Note the mentions in a post's text; ``ts`` is when the post was published,
        ``seen_ts`` when this observation of it was made (``ts`` if not given)."""
        seen = int(ts if seen_ts is None else seen_ts)
        for target in mentioned(account_id, text):
            self.add(target, Mention(int(ts), account_id, followers, seen))

    def add(self, target: str, mention: Mention) -> None:
        """Note one mention of the handle ``target`` (lower case); a post counts once, as first observed."""
        kept = self.by_handle.get(target)
        if kept is None:
            kept = self.by_handle[target] = []
            if len(self.by_handle) > self.max_entries:
                self._forget_oldest()
        for i, known in enumerate(kept):
            if known.by_account == mention.by_account and known.ts == mention.ts:
                if mention.seen_ts < known.seen_ts:
                    kept[i] = mention
                return
        kept.append(mention)
        if len(kept) > MENTIONS_PER_HANDLE:
            kept.remove(min(kept, key=lambda m: (m.ts, m.by_account)))

    def _forget_oldest(self) -> None:
        newest = {handle: max(m.ts for m in kept) for handle, kept in self.by_handle.items() if kept}
        for handle in sorted(newest, key=newest.__getitem__)[: self.max_entries // 10]:
            del self.by_handle[handle]

    def explaining(self, account_id: str, gained: int, since_ts: float, until_ts: float) -> Mention | None:
        """The strongest mention published within ``[since_ts, until_ts]`` and seen by ``until_ts``
        whose audience can explain ``gained`` followers."""
        best = None
        for mention in self.by_handle.get(handle_of(account_id), ()):
            if (
                since_ts <= mention.ts <= until_ts
                and mention.seen_ts <= until_ts
                and explainable(mention.by_followers) >= gained
                and (best is None or (mention.by_followers, mention.ts) > (best.by_followers, best.ts))
            ):
                best = mention
        return best


def mentioned(account_id: str, text: str | None) -> list[str]:
    """The handles (lower case) a post's text mentions, other than its author's own."""
    if not text or "@" not in text:
        return []
    own = handle_of(account_id)
    targets = []
    for handle in HANDLE.findall(text):
        target = handle.rstrip(".").lower()
        if target != own and target not in targets:
            targets.append(target)
    return targets


def explainable(by_followers: int) -> float:
    """New followers a mention by an account with ``by_followers`` followers can explain."""
    return MENTION_TOLERANCE * MENTION_CONVERSION * by_followers


def handle_of(account_id: str) -> str:
    return account_id.rpartition(":")[2].lower()
