"""A fetched changelog batch written straight to the store leaves it as Faust's own apply does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from faust.types import TP

from streams.faust_batch import BatchApp, _ChangelogEvent, apply_changelog_records, stored_keys

TOPIC = "t-accounts-changelog"


def record(offset: int, key: bytes, value: bytes | None, partition: int = 2) -> ConsumerRecord:
    return ConsumerRecord(TOPIC, partition, offset, 0, 0, key, value, None, len(key), len(value or b""), [])


BATCH = [
    record(10, b"a", b"\x02state-a1"),
    record(11, b"b", b"{\"v\": 1}"),
    record(12, b"a", b"\x02state-a2"),  # the last record of a key wins
    record(13, b"c", b"\x02state-c"),
    record(14, b"c", None),  # a tombstone deletes
    record(15, b"d", None),
    record(16, b"d", b"\x02state-d"),  # set again after its tombstone: kept
]


def tables(store: str, tmp_path: Path) -> tuple[Any, Any]:
    app = BatchApp("t", store=store, datadir=str(tmp_path), autodiscover=False)
    ours = app.Table("ours", key_type=bytes, value_type=bytes, partitions=4, default=None)
    faust_own = app.Table("faust", key_type=bytes, value_type=bytes, partitions=4, default=None)
    return ours, faust_own


def contents(table: Any, store: str) -> dict[bytes, bytes]:
    data = table.data
    if store == "memory://":
        return {k: v for k, v in data.data.items() if data._key_partition[k] == 2}
    return {k: v for k, v in data._db_for_partition(2).items() if k != data.offset_key}


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
def test_a_changelog_batch_is_applied_as_faust_applies_it(store: str, tmp_path: Path) -> None:
    ours, faust_own = tables(store, tmp_path)
    tp = TP(TOPIC, 2)
    apply_changelog_records(ours, tp, BATCH)
    faust_own.apply_changelog_batch([_ChangelogEvent(tp, r) for r in BATCH])
    assert contents(ours, store) == contents(faust_own, store) == {
        b"a": b"\x02state-a2", b"b": b"{\"v\": 1}", b"d": b"\x02state-d"}
    if store == "rocksdb://":
        assert ours.data.persisted_offset(tp) == faust_own.data.persisted_offset(tp) == 16
    else:
        assert ours.data._key_partition == faust_own.data._key_partition == {b"a": 2, b"b": 2, b"d": 2}


def test_the_keys_of_a_rocksdb_partition_leave_out_fausts_offset_key(tmp_path: Path) -> None:
    # The settle pass walks these keys as account ids: Faust's offset bookkeeping key would
    # be read as an account state and counted as a bad changelog record on every pass.
    ours, _ = tables("rocksdb://", tmp_path)
    apply_changelog_records(ours, TP(TOPIC, 2), BATCH)
    db = ours.data._db_for_partition(2)
    assert ours.data.offset_key in list(db.keys())
    assert sorted(stored_keys(ours.data, db)) == [b"a", b"b", b"d"]
