"""The mention reader notes exactly the mentions of the records the input contract accepts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from schemas.codec import DecodeError, decode_event
from schemas.events import Post
from streams.core.mentions import MentionBook
from streams.mention_reader import MentionReader
from streams.settings import load_settings
from tests.faults.test_poison import CORPUS
from tests.unit.test_schemas import post_dict

NOW = datetime.now(UTC).replace(microsecond=0)


def reference_book(values: list[bytes | None]) -> MentionBook:
    """One record at a time through the contract's reference decoder (schemas.codec)."""
    book = MentionBook()
    for value in values:
        if value is None or b"@" not in value:
            continue
        try:
            event = decode_event(value)
        except DecodeError:
            continue
        if type(event) is Post and event.text:
            book.record(event.account_id, event.text, event.posted_at.timestamp(), event.followers,
                        event.observed_at.timestamp())
    return book


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
        orjson.dumps({**mentions[3], "observed_at": NOW.isoformat(), "followers": 99_999}),  # observed again
    ]


def test_a_batch_gives_the_book_the_reference_decoder_gives_one_record_at_a_time() -> None:
    values = mixed_batch()
    reader = MentionReader(load_settings(), MentionBook())
    reader.apply(values)
    expected = reference_book(values)
    assert reader.book.by_handle == expected.by_handle
    assert set(reader.book.by_handle) == {"ink0", "ink1", "ink2", "nibs"}
    assert sorted(m.by_account for m in reader.book.by_handle["nibs"]) == [
        "instagram:big0", "instagram:big3", "instagram:big4", "instagram:big5"]


def test_records_without_an_at_sign_or_nothing_valid_leave_the_book_empty() -> None:
    reader = MentionReader(load_settings(), MentionBook())
    reader.apply([None, b"", b"garbage", orjson.dumps(post_dict(text="plain text")), b'{"text":"@a"}'])
    reader.apply([])
    assert reader.book.by_handle == {}
