"""Offsets of batch-delivered topics are acked per fetched batch, and commit past the last one handled."""

from __future__ import annotations

from faust.types import TP

from streams.faust_batch import BatchApp, BatchConsumer

POSTS, OTHER = TP("posts.raw", 1), TP("niches.config", 0)


def consumer() -> BatchConsumer:
    app = BatchApp("acks", broker="kafka://127.0.0.1:1", store="memory://")  # never connects
    app.batch_agent(app.topic(POSTS.topic, value_type=bytes))(lambda tp, batch: None)
    return app.consumer  # type: ignore[return-value]


def test_a_handled_batch_commits_one_past_its_last_record_whatever_offsets_are_missing_in_between() -> None:
    c = consumer()
    assert c._new_offset(POSTS) is None  # nothing handled yet
    c._ack_through(POSTS, 9, 10)
    c._ack_through(POSTS, 30, 12)  # offsets 10..17 compacted away
    assert list(c._filter_tps_with_pending_acks()) == [POSTS]
    assert c._new_offset(POSTS) == 31 and c._n_acked == 22
    assert c._new_offset(POSTS) is None  # taken by that commit


def test_an_older_batch_acked_again_never_moves_the_offset_back_nor_commits_below_the_committed_one() -> None:
    c = consumer()
    c._ack_through(POSTS, 40, 5)
    c._ack_through(POSTS, 20, 5)  # a redelivered, older batch
    assert c._new_offset(POSTS) == 41
    c._committed_offset[POSTS] = 41
    c._ack_through(POSTS, 20, 5)
    offset = c._new_offset(POSTS)
    assert offset == 21 and not c._should_commit(POSTS, offset)


def test_other_topics_keep_fausts_per_message_acks_which_stop_at_a_missing_offset() -> None:
    c = consumer()
    c._acked[OTHER].extend([0, 1, 2, 4])
    assert c._new_offset(OTHER) == 3
