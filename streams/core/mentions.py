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
bounded (oldest mentions are forgotten first). On a multi-worker deployment a worker only
sees the mentions in its own partitions (the mentioning account's); re-keying mentions to
the mentioned handle would close that gap.
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


@dataclass(frozen=True, slots=True)
class Mention:
    ts: int
    by_account: str
    by_followers: int


class MentionBook:
    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self.latest: dict[str, Mention] = {}

    def record(self, account_id: str, text: str | None, ts: float, followers: int) -> None:
        """Note the mentions in a post's text; ``ts`` is when the post was published."""
        if not text or "@" not in text:
            return
        own = handle_of(account_id)
        for handle in HANDLE.findall(text):
            target = handle.rstrip(".").lower()
            if target == own:
                continue
            known = self.latest.get(target)
            # Keep the strongest recent mention: a bigger audience explains more growth.
            if known is None or ts - known.ts > 86_400 or followers >= known.by_followers:
                self.latest[target] = Mention(int(ts), account_id, followers)
        if len(self.latest) > self.max_entries:
            oldest = sorted(self.latest, key=lambda k: self.latest[k].ts)[: self.max_entries // 10]
            for key in oldest:
                del self.latest[key]

    def explaining(self, account_id: str, gained: int, since_ts: float, until_ts: float) -> Mention | None:
        """A mention within ``[since_ts, until_ts]`` whose audience can explain ``gained`` followers."""
        mention = self.latest.get(handle_of(account_id))
        if mention is None or not since_ts <= mention.ts <= until_ts or explainable(mention.by_followers) < gained:
            return None
        return mention


def explainable(by_followers: int) -> float:
    """New followers a mention by an account with ``by_followers`` followers can explain."""
    return MENTION_TOLERANCE * MENTION_CONVERSION * by_followers


def handle_of(account_id: str) -> str:
    return account_id.rpartition(":")[2].lower()
