"""Valid input events as JSON bytes, for tests that need a few by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

BASE_TIME = datetime(2026, 3, 1, tzinfo=UTC)


def post_dict(**overrides: Any) -> dict[str, Any]:
    observed = overrides.pop("observed_at", BASE_TIME + timedelta(hours=1))
    post = {
        "kind": "post",
        "schema_version": 1,
        "post_id": "p1",
        "platform": "instagram",
        "account_id": "instagram:inkjournal",
        "handle": "inkjournal",
        "posted_at": (observed - timedelta(hours=1)).isoformat(),
        "observed_at": observed.isoformat(),
        "followers": 12_000,
        "following": 300,
        "likes": 900,
        "comments": 40,
        "shares": 12,
        "views": None,
        "tags": ["#FountainPens", "#inkswatch"],
        "text": "Swatching a new blue-black",
    }
    post.update(overrides)
    return post


def post_bytes(**overrides: Any) -> bytes:
    return orjson.dumps(post_dict(**overrides))
