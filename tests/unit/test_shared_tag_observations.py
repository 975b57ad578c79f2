"""Tag observations shared through niches.tag-observations: one record per batch, split by
size, and every reader's book the same as one engine's own."""

from __future__ import annotations

import orjson
import pytest
from prometheus_client import CollectorRegistry

from schemas.cluster import TagObservation, TagObservations
from schemas.codec import encode
from schemas.events import NicheDefinition
from streams.core.engine import Engine
from streams.core.synthetic import AccountSpec, account_events
from streams.core.tagstats import TagBook
from streams.dlq import BadRecord
from streams.metrics import Metrics
from streams.niche_tags import SharedTagObservations
from streams.pipeline import TAG_RECORD_BYTES, Pipeline, Record, decode_record

NICHES = [NicheDefinition(name="pens", tags=["fountainpens"])]
NOW = 1_780_000_000.0


def _batch() -> list[Record]:
    events = []
    for i in range(40):
        spec = AccountSpec(f"instagram:sharer-{i}", followers=6_000 + 250 * i, post_every_h=3.0)
        events += [e for e in account_events(spec, days=6, seed=i) if e["kind"] == "post"]
    events.sort(key=lambda e: e["observed_at"])
    return [Record("posts.raw", 0, n, e["account_id"].encode(), orjson.dumps(e)) for n, e in enumerate(events)]


def _tag_counts(book: TagBook) -> dict[str, tuple[int, int]]:
    report = book.report("pens")
    return {row.tag: (row.posts, row.accounts) for row in report.tags}


def test_a_batch_goes_out_as_few_records_that_rebuild_the_same_book_in_a_reader() -> None:
    batch = _batch()
    alone = Engine(niches=NICHES, tags=TagBook())  # counts its own posts
    Pipeline(alone, Metrics(CollectorRegistry())).process(batch, now=NOW)
    sharing = Engine(niches=NICHES, tags=TagBook(), share_tags=True)
    result = Pipeline(sharing, Metrics(CollectorRegistry())).process(batch, now=NOW)

    new_posts = len({orjson.loads(r.value)["post_id"] for r in batch})
    records = [o.value for o in result.tag_observations]
    assert 1 < len(records) < new_posts / 20  # batched, and split by size
    assert all(len(value) <= TAG_RECORD_BYTES + 2_000 for value in records)
    decoded = [o.post_id for value in records for o in decode_record(value, TagObservations).observations]
    assert len(decoded) == new_posts == len(set(decoded))

    reader = TagBook()
    reader.tracked_of = alone.tags.tracked_of
    shared = SharedTagObservations(reader)
    for value in records:
        shared.apply(b"tags", value)
    assert _tag_counts(reader) == _tag_counts(alone.tags)
    for value in records:  # redelivered after a restart: every post counts once
        shared.apply(b"tags", value)
    assert _tag_counts(reader) == _tag_counts(alone.tags)


def test_a_single_observation_record_of_an_older_worker_still_counts() -> None:
    book = TagBook()
    shared = SharedTagObservations(book)
    old = TagObservation(post_id="p1", account_id="instagram:a", tags=["nib"], niches=["pens"], followers=5_000,
                         rate=0.05, weight=0.5, ts=100.0)
    shared.apply(b"instagram:a", encode(old))
    assert book.posts_carrying("nib") == 1


def test_a_malformed_record_is_refused_with_the_batch_format_named() -> None:
    shared = SharedTagObservations(TagBook())
    with pytest.raises(BadRecord, match="observations"):
        shared.apply(b"tags", b'{"schema_version":1,"kind":"tag_observations","observations":[{"post_id":1}]}')
