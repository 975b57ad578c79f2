"""When to look at a post or a profile again (pure: no I/O, no clock of its own).

A post is published once when discovered, then observed again when its age passes each of
the re-observation ages (by default 1 h, 6 h, 24 h and 72 h after publication)::

    posted   discovered        1 h        6 h               24 h                 72 h
      |──────────|──────────────|──────────|──────────────────|────────────────────|──► forgotten
                 first observation  again      again              again          again

Ages already passed when a post is discovered are skipped (the first observation covers
them); a collector that was down past an age observes once and moves on, it does not catch
up every missed age. A deleted post is forgotten at once. An author is snapshotted when
first seen and then every ``profile_interval_s`` while any of their posts is tracked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_AGES_S: tuple[float, ...] = (3600.0, 21600.0, 86400.0, 259200.0)
DEFAULT_PROFILE_INTERVAL_S = 21600.0
MAX_TRACKED_POSTS = 100_000


@dataclass(frozen=True, slots=True)
class PostRef:
    """A tracked post: its contract id, where to fetch it, and whose it is."""

    post_id: str
    locator: str  # platform-specific: "server|status id" on Mastodon, the at:// URI on Bluesky
    account_id: str
    posted_at: float  # Unix seconds


@dataclass(frozen=True, slots=True)
class AccountRef:
    account_id: str
    locator: str  # "server|account id" on Mastodon, the DID on Bluesky


@dataclass(slots=True)
class _Post:
    ref: PostRef
    next_age: int  # index into the ages still to come


@dataclass(slots=True)
class _Account:
    ref: AccountRef
    next_due: float
    posts: int


class Tracker:
    """The posts and accounts a collector keeps observing, bounded in size."""

    def __init__(
        self,
        ages_s: Sequence[float] = DEFAULT_AGES_S,
        profile_interval_s: float = DEFAULT_PROFILE_INTERVAL_S,
        max_posts: int = MAX_TRACKED_POSTS,
    ) -> None:
        if not ages_s or list(ages_s) != sorted(ages_s) or ages_s[0] <= 0:
            raise ValueError("re-observation ages must be increasing and positive")
        self.ages_s = tuple(ages_s)
        self.profile_interval_s = profile_interval_s
        self.max_posts = max_posts
        self._posts: dict[str, _Post] = {}
        self._accounts: dict[str, _Account] = {}

    def __len__(self) -> int:
        return len(self._posts)

    def __contains__(self, post_id: object) -> bool:
        return post_id in self._posts

    @property
    def account_count(self) -> int:
        return len(self._accounts)

    def add(self, post: PostRef, account: AccountRef, now: float) -> bool:
        """Start tracking a post; False when it is already tracked (not new)."""
        if post.post_id in self._posts:
            return False
        next_age = self._next_age(post.posted_at, now, 0)
        if next_age >= len(self.ages_s):
            # Older than the last age: the first observation is the only one; track its author
            # only for that snapshot.
            self._touch_account(account, now, delta=0)
            return True
        if len(self._posts) >= self.max_posts:
            # Make room for a tenth at once: one sort per many additions, not a scan per addition.
            by_age = sorted(self._posts.values(), key=lambda p: p.ref.posted_at)
            for tracked in by_age[: max(1, self.max_posts // 10)]:
                self._drop(tracked.ref.post_id)
        self._posts[post.post_id] = _Post(post, next_age)
        self._touch_account(account, now, delta=1)
        return True

    def due_posts(self, now: float) -> list[PostRef]:
        return [p.ref for p in self._posts.values() if p.ref.posted_at + self.ages_s[p.next_age] <= now]

    def all_posts(self) -> list[PostRef]:
        return [p.ref for p in self._posts.values()]

    def observed(self, post_id: str, now: float) -> None:
        """The post was observed at ``now``: wait for the next age still ahead, or forget it."""
        tracked = self._posts.get(post_id)
        if tracked is None:
            return
        tracked.next_age = self._next_age(tracked.ref.posted_at, now, tracked.next_age)
        if tracked.next_age >= len(self.ages_s):
            self._drop(post_id)

    def forget(self, post_id: str) -> None:
        """The post is gone (deleted): never poll it again."""
        self._drop(post_id)

    def due_accounts(self, now: float) -> list[AccountRef]:
        return [a.ref for a in self._accounts.values() if a.next_due <= now]

    def all_accounts(self) -> list[AccountRef]:
        return [a.ref for a in self._accounts.values()]

    def snapshotted(self, account_id: str, now: float) -> None:
        account = self._accounts.get(account_id)
        if account is None:
            return
        if account.posts <= 0:
            del self._accounts[account_id]
        else:
            account.next_due = now + self.profile_interval_s

    def forget_account(self, account_id: str) -> None:
        """The account is gone: stop snapshotting it and stop polling its posts."""
        for post_id in [k for k, p in self._posts.items() if p.ref.account_id == account_id]:
            self._drop(post_id)
        self._accounts.pop(account_id, None)

    # --- persistence ---------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "posts": [{**asdict(p.ref), "next_age": p.next_age} for p in self._posts.values()],
            "accounts": [{**asdict(a.ref), "next_due": a.next_due, "posts": a.posts} for a in self._accounts.values()],
        }

    def load_json(self, data: dict[str, Any]) -> None:
        for item in data.get("posts", []):
            next_age = int(item.pop("next_age"))
            ref = PostRef(**item)
            if next_age < len(self.ages_s):
                self._posts[ref.post_id] = _Post(ref, next_age)
        for item in data.get("accounts", []):
            next_due, posts = float(item.pop("next_due")), int(item.pop("posts"))
            ref = AccountRef(**item)
            self._accounts[ref.account_id] = _Account(ref, next_due, posts)

    # --- internals -----------------------------------------------------------------------

    def _next_age(self, posted_at: float, now: float, start: int) -> int:
        age = now - posted_at
        index = start
        while index < len(self.ages_s) and self.ages_s[index] <= age:
            index += 1
        return index

    def _touch_account(self, ref: AccountRef, now: float, delta: int) -> None:
        account = self._accounts.get(ref.account_id)
        if account is None:
            self._accounts[ref.account_id] = _Account(ref, next_due=now, posts=delta)
        else:
            account.posts += delta

    def _drop(self, post_id: str) -> None:
        tracked = self._posts.pop(post_id, None)
        if tracked is None:
            return
        account = self._accounts.get(tracked.ref.account_id)
        if account is not None:
            account.posts -= 1
            # Kept until its next snapshot, which then removes it (snapshotted with posts == 0).
