"""The accounts agent: posts and snapshots in, per-account state in a table, decisions out.

One batch handler serves both input topics (they are co-partitioned by account_id, so a
partition number names the same accounts on both). It decodes, asks the pipeline, and
hands what comes back to the writers; the writers deliver before offsets commit.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
import logging

from aiokafka.structs import ConsumerRecord
from faust.types import TP

from streams.core.config import EngineConfig
from streams.core.state import AccountState
from streams.dlq import dlq_headers
from streams.faust_batch import OutputWriter, TableWriter
from streams.pipeline import Pipeline, Record
from streams.settings import Settings


log = logging.getLogger(__name__)

AGENT_NAME = "accounts"


class PartitionStore(MutableMapping[str, AccountState]):
    """The engine's view of the accounts table, for the partition being processed."""

    def __init__(self, writer: TableWriter, config: EngineConfig) -> None:
        self.writer = writer
        self.config = config
        self.partition = 0

    def get(self, account_id: str, default: AccountState | None = None) -> AccountState | None:  # type: ignore[override]
        value = self.writer.get(self.partition, account_id.encode())
        if value is None:
            return default
        if type(value) is dict:  # recovered from the changelog: decode once, keep it live
            value = AccountState.from_dict(value, self.config)
            self.writer.keep_decoded(account_id.encode(), value)
        return value  # type: ignore[no-any-return]

    def __getitem__(self, account_id: str) -> AccountState:
        state = self.get(account_id)
        if state is None:
            raise KeyError(account_id)
        return state

    def __setitem__(self, account_id: str, state: AccountState) -> None:
        self.writer.put(self.partition, account_id.encode(), state)

    def __delitem__(self, account_id: str) -> None:
        raise NotImplementedError("accounts expire through their bounded windows, not deletion")

    def __iter__(self) -> Iterator[str]:
        return (key.decode() for key in self.writer.table.data.keys())

    def __len__(self) -> int:
        return len(self.writer.table.data)


class AccountsAgent:
    def __init__(self, settings: Settings, pipeline: Pipeline, store: PartitionStore, outputs: OutputWriter) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.store = store
        self.outputs = outputs

    def __call__(self, tp: TP, batch: list[ConsumerRecord]) -> None:
        try:
            self._handle(tp, batch)
        except Exception:
            # Not bad input (that goes to the DLQ): a bug or a broken dependency. Count it and
            # let the worker crash and restart from the last committed offset.
            self.pipeline.metrics.agent_error(AGENT_NAME)
            raise

    def _handle(self, tp: TP, batch: list[ConsumerRecord]) -> None:
        self.store.writer.check_source(tp.topic)
        self.store.partition = tp.partition
        records = [Record(tp.topic, tp.partition, r.offset, r.key, r.value) for r in batch]
        result = self.pipeline.process(records)
        settings, send = self.settings, self.outputs.send
        for alert in result.alerts:
            send(settings.topic_alerts, alert.key, alert.value)
        for profile in result.profiles:
            send(settings.topic_influencers, profile.key, profile.value)
        for moved in result.rekeyed:
            send(tp.topic, moved.key, moved.value)
        for dead in result.dead_letters:
            record = dead.record
            headers = dlq_headers(dead.reason, record.topic, record.partition, record.offset)
            log.warning("bad input %s[%d]@%d -> DLQ: %s", record.topic, record.partition, record.offset, dead.reason)
            send(settings.topic_dlq, record.key, record.value, headers)
