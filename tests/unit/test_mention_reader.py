"""The mention reader notes exactly the mentions of the records the input contract accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from streams.mention_reader import MentionReader
from streams.native_engine import NativeMentions, NativeWorkerEngine
from streams.settings import load_settings
from tests.faults.test_poison import CORPUS
from tests.unit.test_schemas import post_dict

NOW = datetime.now(UTC).replace(microsecond=0)


def book() -> NativeMentions:
    """A worker's mention book (the native engine's), as the reader feeds it."""
    return NativeWorkerEngine().mentions


def mentioners(mentions: NativeMentions, handle: str) -> list[tuple[str, int]]:
    return sorted((by_account, followers) for by_account, _ts, followers, _seen in mentions.native.mentions_of(handle))


def mixed_batch() -> list[bytes | None]:
    mentions = [
        post_dict(post_id=f"p{i}", account_id=f"instagram:big{i}", handle=f"big{i}", followers=10_000 * (i + 1),
                  text=f"go follow @ink{i % 3} and @nibs!")
        for i in range(6)
    ]
    return [
        orjson.dumps(mentions[0]),
        None,
        orjson.dumps(post_dict(text="no handle here")),
        orjson.dumps(post_dict(text="@ink0 without a tracked tag", tags=[])),
        orjson.dumps({**mentions[1], "followers": "many"}),  # refused: not a count
        orjson.dumps({**mentions[2], "observed_at": (NOW + timedelta(days=3)).isoformat()}),  # refused: the future
        orjson.dumps({"kind": "snapshot", "schema_version": 1, "platform": "instagram", "account_id": "instagram:@x",
                      "handle": "@x", "observed_at": NOW.isoformat(), "followers": 5, "following": 1}),
        b'{"kind":"post","text":"@ink0", not json',
        *(value for _name, _topic, _key, value, _reason in CORPUS),
        *(orjson.dumps(m) for m in mentions[3:]),
        orjson.dumps({**mentions[3], "observed_at": NOW.isoformat(), "followers": 99_999}),  # observed again: noted once
    ]


def test_a_batch_notes_the_mentions_of_exactly_the_posts_the_contract_accepts() -> None:
    reader = MentionReader(load_settings(), book())
    reader.apply(mixed_batch())
    assert mentioners(reader.book, "nibs") == [
        ("instagram:big0", 10_000), ("instagram:big3", 40_000), ("instagram:big4", 50_000), ("instagram:big5", 60_000)]
    assert mentioners(reader.book, "ink0") == [  # a post without a tracked tag mentions too
        ("instagram:big0", 10_000), ("instagram:big3", 40_000), ("instagram:inkjournal", 12_000)]
    assert mentioners(reader.book, "ink1") == [("instagram:big4", 50_000)]
    assert mentioners(reader.book, "ink2") == [("instagram:big5", 60_000)]
    assert mentioners(reader.book, "x") == mentioners(reader.book, "inkjournal") == []


def test_records_without_an_at_sign_or_nothing_valid_leave_the_book_empty() -> None:
    values = [None, b"", b"garbage", orjson.dumps(post_dict(text="plain text")), b'{"text":"@a"}']
    reader = MentionReader(load_settings(), book())
    reader.apply(values)
    reader.apply([])
    assert reader.book.native.mentions_of("a") == []
    assert reader.book.record_values(values) == 0  # no post with an @ the contract accepts
