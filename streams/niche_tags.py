"""niches.tags: each niche's tag report (NicheTagReport JSON), compacted, keyed by niche name.

    posts --engine--> TagBook (streams/core/tagstats.py, the posts of this worker's partitions)
                        | every NICHEWATCH_TAG_REPORT_INTERVAL_S: reports that changed
                        v
                    niches.tags (compact) --followed by every worker--> GET /niches/{niche}/tags
                        |
                        +--> `nichewatch niches report NAME` (reads the topic to its end)

A worker publishes what its own partitions saw since it started (the statistics live in
memory); with several workers the latest report of a niche wins, so the figures describe
one worker's share of the accounts (the same tags are flagged, the counts are smaller).
TagBook.merge is the building block for one cluster-wide report.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from schemas.cluster import TagObservation, TagObservations
from schemas.codec import MAX_PAYLOAD_BYTES, encode
from schemas.events import COUNT_LIMIT, SCHEMA_VERSION
from schemas.niche_tags import NicheTagReport
from streams.core.tagstats import TagBook, strong_suggestions
from streams.dlq import BadRecord
from streams.kafka_config import kafka_python_config
from streams.metrics import Metrics
from streams.pipeline import decode_record
from streams.settings import Settings


class TagReportPublisher:
    """Builds each niche's report, sets its gauge, and returns the ones that changed."""

    def __init__(self, book: TagBook, niche_names: Callable[[], list[str]], metrics: Metrics) -> None:
        self.book = book
        self.niche_names = niche_names
        self.metrics = metrics
        self._sent: dict[str, bytes] = {}

    def changed(self) -> list[tuple[bytes, bytes]]:
        """(key, value) records of the reports that differ from the last ones returned."""
        out = []
        for name in self.niche_names():
            report = self.book.report(name)
            self.metrics.set_generic_only_share(name, report.generic_only_share)
            if report.posts == 0:
                continue  # nothing seen here: leave another worker's report standing
            value = encode(report)
            if self._sent.get(name) != value:
                self._sent[name] = value
                out.append((name.encode(), value))
        return out


class TagReports:
    """The latest report of every niche on niches.tags (a followed topic's view)."""

    def __init__(self) -> None:
        self.latest: dict[str, NicheTagReport] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        name = _niche_of(key)
        if value is None:
            self.latest.pop(name, None)
            return
        report = _decode(value)
        if report.niche != name:
            raise BadRecord("schema", f"report key {name!r} does not match its niche {report.niche!r}")
        self.latest[name] = report


ID_MAX_CHARS = 512  # schemas.events.Id


class SharedTagObservations:
    """Every worker's tag statistics, from the tag observations of all workers.

    niches.tag-observations has one partition, so every worker counts the same posts in
    the same order and holds the same book, however many workers run. A post counts once:
    a redelivery (the same post_id, sent again after a worker restarted) is skipped.
    """

    def __init__(self, book: TagBook, remember: int = 1_000_000) -> None:
        self.book = book
        self.remember = remember
        self.seen: dict[str, None] = {}

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        if value is None:
            return
        seen, remember, observe = self.seen, self.remember, self.book.observe
        plain = plain_observations(value)
        if plain is not None:  # a record as the workers write it: the fields as validation would give them
            for o in plain:
                post_id = o["post_id"]
                if post_id in seen:
                    continue
                seen[post_id] = None
                if len(seen) > remember:
                    del seen[next(iter(seen))]
                observe(o["tags"], o["niches"], o["account_id"], o["followers"], o["rate"], o["weight"], o["ts"])
            return
        try:
            observations = decode_record(value, TagObservations).observations
        except BadRecord as batch_error:
            try:
                observations = [decode_record(value, TagObservation)]  # one post a record (older workers)
            except BadRecord:
                raise batch_error from None
        for o in observations:
            post_id = o.post_id
            if post_id in seen:
                continue
            seen[post_id] = None
            if len(seen) > remember:
                del seen[next(iter(seen))]
            observe(o.tags, o.niches, o.account_id, o.followers, o.rate, o.weight, o.ts)


_RECORD_KEYS = frozenset(("schema_version", "kind", "observations"))
_OBSERVATION_KEYS = frozenset(("schema_version", "kind", "post_id", "account_id", "tags", "niches", "followers",
                               "rate", "weight", "ts"))
_OBSERVATION_REQUIRED = _OBSERVATION_KEYS - {"schema_version", "kind"}
_STR_ONLY = frozenset((str,))


def plain_observations(value: bytes) -> list[dict[str, Any]] | None:
    """The observations of a ``TagObservations`` record, as parsed JSON, when the record is
    plainly valid; None for anything else (then ``decode_record`` decides, and says why).

    Validating a whole record with pydantic (and the codec's depth walk) costs more than
    counting its posts. This check accepts only a subset of what ``TagObservations`` accepts
    (no unknown fields, whose depth would need the walk; floats as JSON floats), so a record
    it accepts gives the same values as validation would, and any other record takes the
    validating path as before (tests/unit/test_shared_tag_observations.py compares the two).
    """
    if len(value) > MAX_PAYLOAD_BYTES:
        return None
    try:
        record = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    if (type(record) is not dict or not record.keys() <= _RECORD_KEYS
            or not _version_and_kind(record, "tag_observations")):
        return None
    observations = record.get("observations")
    if type(observations) is not list:
        return None
    for o in observations:  # the checks inlined: a record holds hundreds of observations
        if type(o) is not dict or not o.keys() <= _OBSERVATION_KEYS or not _OBSERVATION_REQUIRED <= o.keys():
            return None
        version = o.get("schema_version", SCHEMA_VERSION)
        if type(version) is not int or version != SCHEMA_VERSION or o.get("kind", "tag_observation") != "tag_observation":
            return None
        post_id, account_id, tags, niches, followers = o["post_id"], o["account_id"], o["tags"], o["niches"], o["followers"]
        if type(post_id) is not str or not 1 <= len(post_id) <= ID_MAX_CHARS:
            return None
        if type(account_id) is not str or not 1 <= len(account_id) <= ID_MAX_CHARS:
            return None
        if type(tags) is not list or not _STR_ONLY.issuperset(map(type, tags)):
            return None
        if type(niches) is not list or not _STR_ONLY.issuperset(map(type, niches)):
            return None
        for niche in niches:
            if not 1 <= len(niche) <= ID_MAX_CHARS:
                return None
        if type(followers) is not int or not 0 <= followers < COUNT_LIMIT:
            return None
        rate, weight, ts = o["rate"], o["weight"], o["ts"]
        if type(rate) is not float or type(weight) is not float or type(ts) is not float:
            return None
        if not (0.0 <= rate < math.inf and 0.0 <= weight <= 1.0 and 0.0 <= ts < math.inf):
            return None
    return observations


def _version_and_kind(fields: dict[str, Any], kind: str) -> bool:
    version = fields.get("schema_version", SCHEMA_VERSION)
    return type(version) is int and version == SCHEMA_VERSION and fields.get("kind", kind) == kind


def read_tag_report(settings: Settings, niche: str, timeout: float = 30.0) -> NicheTagReport | None:
    """The latest published report of a niche: niches.tags read from its beginning to its end."""
    consumer = KafkaConsumer(**kafka_python_config(settings), enable_auto_commit=False, group_id=None)
    topic = settings.topic_niche_tags
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        reports = TagReports()
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {topic} took longer than {timeout:.0f}s")
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    try:
                        reports.apply(record.key, record.value)
                    except BadRecord:
                        continue  # another writer's bad record: the niche keeps its last good report
        return reports.latest.get(niche)
    finally:
        consumer.close()


def format_report(report: NicheTagReport) -> str:
    """The report as an operator reads it in a terminal."""
    lines = [
        f"niche {report.niche}: {report.posts:,} posts; median followers {report.median_followers:,.0f}, "
        f"median engagement rate {report.median_engagement_rate:.2%}; "
        f"{report.generic_only_share:.0%} of posts found only through generic tags",
        f"  {'tag':<24} {'tracked':>7} {'posts':>7} {'accounts':>8} {'specific':>8} {'lift':>6} "
        f"{'med.followers':>13} {'med.eng':>7}  generic",
    ]
    for row in report.tags:
        flag = "GENERIC" if row.generic else ""
        lines.append(
            f"  {'#' + row.tag:<24} {'yes' if row.tracked else 'no':>7} {row.posts:>7,} {row.accounts:>8,} "
            f"{row.specificity:>8.2f} {row.lift:>6.1f} {row.median_followers:>13,.0f} "
            f"{row.median_engagement_rate:>7.2%}  {flag}"
        )
        for reason in row.generic_reasons:
            lines.append(f"      {reason}")
    if report.suggested:
        lines.append("  suggested tags (score = specificity x weighted co-occurrence with the specific tags):")
        for s in report.suggested:
            lines.append(
                f"    #{s.tag:<22} score {s.score:.3f}  ({s.posts:,} posts, {s.accounts:,} accounts, "
                f"specificity {s.specificity:.2f}, co-occurrence {s.weighted_cooccurrence:.2f})"
            )
    else:
        lines.append("  no suggested tags")
    return "\n".join(lines)


def tag_news(report: NicheTagReport, strong: float) -> str | None:
    """One line when a tracked tag is flagged generic or a strong suggestion appears, else None."""
    generic = [f"#{row.tag}" for row in report.tags if row.tracked and row.generic]
    suggested = [f"#{s.tag} ({s.score:.2f})" for s in strong_suggestions(report, strong)]
    if not generic and not suggested:
        return None
    parts = []
    if generic:
        parts.append(f"generic tracked tag {', '.join(generic)}")
    if suggested:
        parts.append(f"suggested {', '.join(suggested)}")
    return f"niche {report.niche}: " + "; ".join(parts)


class TagNewsFeed:
    """niches.tags records in, a :func:`tag_news` line out when a niche's news changes."""

    def __init__(self, strong: float) -> None:
        self.strong = strong
        self._said: dict[str, str | None] = {}

    def line(self, key: bytes | None, value: bytes | None) -> str | None:
        try:
            name = _niche_of(key)
            news = tag_news(_decode(value), self.strong) if value is not None else None
        except BadRecord:
            return None
        if news == self._said.get(name):
            return None
        self._said[name] = news
        return news


def tag_health_rows(
    reports: Mapping[str, NicheTagReport], niche: str | None = None
) -> dict[str, list[dict[str, object]]] | None:
    """The console's tag-health table: each niche's tracked tags, then its suggestions (None: no reports)."""
    chosen = {name: report for name, report in reports.items() if niche in (None, name)}
    if not chosen:
        return None
    health: dict[str, list[dict[str, object]]] = {}
    for name, report in chosen.items():
        rows: list[dict[str, object]] = [
            {"tag": f"#{row.tag}", "posts": row.posts, "accounts": row.accounts, "specificity": f"{row.specificity:.2f}",
             "median followers": f"{row.median_followers:,.0f}",
             "median engagement": f"{row.median_engagement_rate:.2%}",
             "verdict": "generic: " + "; ".join(row.generic_reasons) if row.generic else "specific"}
            for row in report.tags if row.tracked
        ]
        rows += [{"tag": f"#{s.tag}", "posts": s.posts, "accounts": s.accounts, "specificity": f"{s.specificity:.2f}",
                  "verdict": f"suggested (score {s.score:.2f})"} for s in report.suggested[:3]]
        health[name] = rows
    return health


def _niche_of(key: bytes | None) -> str:
    if key is None:
        raise BadRecord("no_key", "record without a key")
    try:
        return key.decode()
    except UnicodeDecodeError:
        raise BadRecord("invalid_key", f"key {key[:64]!r} is not valid UTF-8") from None


def _decode(value: bytes) -> NicheTagReport:
    try:
        return NicheTagReport.model_validate_json(value)
    except ValidationError as exc:
        raise BadRecord("schema", f"not a niche tag report: {exc.errors()[0]['msg']}") from None
