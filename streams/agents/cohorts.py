"""The cohorts agent: each niche's engagement cohort, computed once for the whole cluster.

Contributions (schemas/cluster.py) arrive keyed by niche, so one worker owns a niche at a
time. Each (niche, account) entry is kept in the ``cohort-members`` table (changelogged,
written with the contribution's partition), the histograms are derived from it, and each
batch publishes the summaries of the niches it changed to the compacted niches.cohorts
topic that every worker follows. After a restart or a rebalance the histograms are
rebuilt from the table before the first contribution is applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, MutableMapping

import orjson
from aiokafka.structs import ConsumerRecord
from faust.types import TP

from schemas.cluster import CohortContribution, CohortSummary
from schemas.codec import encode
from streams.core.cohorts import ClusterCohorts, CohortAggregate, Contribution, MemberEntry
from streams.dlq import BadRecord
from streams.faust_batch import OutputWriter, TableWriter
from streams.metrics import Metrics
from streams.pipeline import decode_record
from streams.settings import Settings

log = logging.getLogger(__name__)

AGENT_NAME = "cohorts"
SEP = "\x1f"


def member_key(niche: str, account_id: str) -> bytes:
    return f"{niche}{SEP}{account_id}".encode()


def decode_member(key: bytes, value: bytes) -> tuple[tuple[str, str], MemberEntry]:
    """A cohort-members table entry, or ``BadRecord``."""
    try:
        niche, sep, account_id = key.decode().partition(SEP)
        tier, bin_index, version = orjson.loads(value)
    except (UnicodeDecodeError, orjson.JSONDecodeError, TypeError, ValueError) as exc:
        raise BadRecord("schema", f"cohort member entry: {exc}") from None
    if not sep or not (tier is None or type(tier) is str) or not (bin_index is None or type(bin_index) is int) \
            or type(version) is not int:
        raise BadRecord("schema", "cohort member entry is not [tier, bin, version]")
    return (niche, account_id), (tier, bin_index, version)


class TableMembers(MutableMapping[tuple[str, str], MemberEntry]):
    """``CohortAggregate.members`` on the cohort-members table, for the partition being processed."""

    def __init__(self, writer: TableWriter) -> None:
        self.writer = writer
        self.partition = 0

    def __getitem__(self, key: tuple[str, str]) -> MemberEntry:
        raw_key = member_key(*key)
        value = self.writer.get(self.partition, raw_key)
        if value is None:
            raise KeyError(key)
        try:
            return decode_member(raw_key, value)[1]
        except BadRecord:
            raise KeyError(key) from None  # an unreadable entry counts as absent

    def __setitem__(self, key: tuple[str, str], entry: MemberEntry) -> None:
        self.writer.put(self.partition, member_key(*key), orjson.dumps(list(entry)))

    def __delitem__(self, key: tuple[str, str]) -> None:
        raise NotImplementedError("entries are replaced, never deleted")

    def __iter__(self) -> Iterator[tuple[str, str]]:
        raise NotImplementedError("iterate the table with CohortsAgent.rebuild")

    def __len__(self) -> int:
        return len(self.writer.table.data)


def cohort_summaries(cohorts: ClusterCohorts) -> Callable[[bytes | None, bytes | None], None]:
    """A niches.cohorts follower's handler: each summary replaces the niche's histograms."""

    def apply(key: bytes | None, value: bytes | None) -> None:
        if key is None:
            raise BadRecord("no_key", "record without a key")
        try:
            niche = key.decode()
        except UnicodeDecodeError:
            raise BadRecord("invalid_utf8", "key is not valid UTF-8") from None
        if value is None:
            cohorts.remove_niche(niche)
            return
        summary = decode_record(value, CohortSummary)
        if summary.niche != niche:
            raise BadRecord("schema", f"summary of niche {summary.niche!r} under the key {niche!r}")
        cohorts.set_summary(niche, dict(summary.tiers))

    return apply


class CohortsAgent:
    def __init__(
        self,
        settings: Settings,
        writer: TableWriter,
        outputs: OutputWriter,
        metrics: Metrics,
        generation: Callable[[], int],
    ) -> None:
        self.settings = settings
        self.writer = writer
        self.outputs = outputs
        self.metrics = metrics
        self.generation = generation
        self.members = TableMembers(writer)
        self.aggregate = CohortAggregate(self.members)
        self.built_generation: int | None = None

    def __call__(self, tp: TP, batch: list[ConsumerRecord]) -> None:
        try:
            self._handle(tp, batch)
        except Exception:
            self.metrics.agent_error(AGENT_NAME)
            raise

    def rebuild(self) -> None:
        """Histograms from the table's entries (this worker's partitions)."""
        topic = self.writer.table.changelog_topic.get_topic_name()
        entries = []
        for key, value in list(self.writer.table.data.items()):
            try:
                entries.append(decode_member(key, value))
            except BadRecord as exc:
                log.warning("bad record %s key %.80r skipped: %s", topic, key, exc.reason)
                self.metrics.record_skipped(topic, exc.reason_class)
        self.aggregate.rebuild(entries)
        self.built_generation = self.generation()

    def _handle(self, tp: TP, batch: list[ConsumerRecord]) -> None:
        self.writer.check_source(tp.topic)
        if self.built_generation != self.generation():
            self.rebuild()
        self.members.partition = tp.partition
        changed: set[str] = set()
        for record in batch:
            try:
                c = decode_record(record.value, CohortContribution)
                if record.key != c.niche.encode():
                    raise BadRecord("schema", f"contribution for niche {c.niche!r} under another key")
            except BadRecord as exc:
                log.warning("bad record %s[%d]@%d skipped: %.300s", tp.topic, tp.partition, record.offset, exc.reason)
                self.metrics.record_skipped(tp.topic, exc.reason_class)
                continue
            if self.aggregate.apply(Contribution(c.niche, c.account_id, c.tier, c.bin, c.version)):
                changed.add(c.niche)
        for niche in sorted(changed):
            members, tiers = self.aggregate.summary(niche)
            summary = CohortSummary(niche=niche, members=members, tiers=tiers)  # type: ignore[arg-type]
            self.outputs.send(self.settings.topic_cohorts, niche.encode(), encode(summary))
