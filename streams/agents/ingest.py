"""Ingest posts.raw: decode each message; bad input goes to the DLQ and the stream moves on."""

from __future__ import annotations

from typing import Any

import faust

from schemas.codec import DecodeError, decode_event
from streams.dlq import dead_letter
from streams.topics import Topics


def register(app: faust.App, topics: Topics) -> Any:
    @app.agent(topics.posts, name="ingest-posts")
    async def ingest_posts(stream: faust.StreamT) -> None:
        async for event in stream.events():
            try:
                decode_event(event.message.value)
            except DecodeError as exc:
                await dead_letter(topics.dlq, event.message, exc.reason)

    return ingest_posts
