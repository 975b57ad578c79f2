"""What sources hand to the runner: a discovered post with what tracking it needs, and the
outcome of observing a tracked post again (``post`` is None when it was deleted)."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.events import Post
from streams.collectors.schedule import AccountRef, PostRef


@dataclass(frozen=True, slots=True)
class Discovered:
    post: Post
    ref: PostRef
    account: AccountRef


@dataclass(frozen=True, slots=True)
class Observed:
    post_id: str
    post: Post | None  # None: 404/410, the post is gone
