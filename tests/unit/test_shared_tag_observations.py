"""Tag observations shared through niches.tag-observations: one record per batch, split by
size, and every reader's book the same as one engine's own."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.cluster import TagObservation, TagObservations
from schemas.codec import encode
from schemas.events import NicheDefinition
from streams.core.engine import Engine
from streams.core.synthetic import AccountSpec, account_events
from streams.core.tagstats import TagBook
from streams.dlq import BadRecord
from streams.niche_tags import SharedTagObservations, plain_observations
from streams.pipeline import TAG_RECORD_BYTES, Record, decode_record
from tests.unit.test_pipeline import pipeline

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
    alone.process_values([r.value for r in batch], now=NOW)  # type: ignore[misc]
    sharing, _, _ = pipeline(tuple(NICHES))  # a worker's: shares them
    result = sharing.process(batch, now=NOW)

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


_FIELD_VALUES = {
    "post_id": st.sampled_from(["p:1", "", "x" * 512, "x" * 513, 7, None]),
    "account_id": st.sampled_from(["instagram:a", "", "é" * 512, "é" * 513, ["a"]]),
    "tags": st.sampled_from([[], ["#Pens", "ink"], ["a", 1], "pens", [None]]),
    "niches": st.sampled_from([[], ["pens"], [""], ["x" * 513], [1], "pens"]),
    "followers": st.sampled_from([0, 12_000, -1, 2**53 - 1, 2**53, 1.0, True, "5"]),
    "rate": st.sampled_from([0.0, 0.031, -0.1, 0, 1e308, "0.1", None]),
    "weight": st.sampled_from([0.0, 0.5, 1.0, 1.0000001, -0.0, 1, None]),
    "ts": st.sampled_from([0.0, 1_780_000_000.5, -1.0, 5, False]),
    "schema_version": st.sampled_from([1, 2, 1.0, True]),
    "kind": st.sampled_from(["tag_observation", "tag_observations", None]),
    "extra": st.sampled_from([1, [[[]]], "x"]),
}


@st.composite
def _observation_records(draw: st.DrawFn) -> bytes:
    valid = {"post_id": "p:1", "account_id": "instagram:a", "tags": ["#Pens"], "niches": ["pens"], "followers": 900,
             "rate": 0.02, "weight": 0.5, "ts": 1_780_000_000.0}
    observations = []
    for _ in range(draw(st.integers(0, 3))):
        observation: dict[str, object] = dict(valid)
        for name in draw(st.lists(st.sampled_from(sorted(_FIELD_VALUES)), max_size=2)):  # a field or two changed
            observation[name] = draw(_FIELD_VALUES[name])
        for name in draw(st.lists(st.sampled_from(sorted(valid)), max_size=1)):  # or missing
            del observation[name]
        observations.append(observation)
    record: dict[str, object] = {"observations": observations}
    for name, values in (("schema_version", [1, 2, True]), ("kind", ["tag_observations", "tag_observation"]),
                         ("extra", [{"a": [1]}])):
        if draw(st.booleans()):
            record[name] = draw(st.sampled_from(values))
    return orjson.dumps(record)


@settings(max_examples=400, deadline=None)
@given(_observation_records())
def test_a_record_read_without_validation_is_one_validation_accepts_with_the_same_values(value: bytes) -> None:
    plain = plain_observations(value)
    if plain is None:
        return  # the validating path decides, as before
    validated = decode_record(value, TagObservations).observations
    assert [(o["post_id"], o["account_id"], o["tags"], o["niches"], o["followers"], o["rate"], o["weight"], o["ts"])
            for o in plain] == [(o.post_id, o.account_id, o.tags, o.niches, o.followers, o.rate, o.weight, o.ts)
                                for o in validated]


def test_the_records_workers_write_are_read_without_validation_and_others_through_it() -> None:
    result = pipeline(tuple(NICHES))[0].process(_batch(), now=NOW)
    assert result.tag_observations
    assert all(plain_observations(o.value) is not None for o in result.tag_observations)
    fast, slow = TagBook(), TagBook()
    for o in result.tag_observations:
        SharedTagObservations(fast).apply(b"tags", o.value)
        with_extra = orjson.dumps({**orjson.loads(o.value), "note": {"deep": [[1]]}})
        assert plain_observations(with_extra) is None
        SharedTagObservations(slow).apply(b"tags", with_extra)
    assert fast.total_posts == slow.total_posts > 0
    assert _tag_counts(fast) == _tag_counts(slow)
