"""Poison input on a real broker: every malformed message lands in the DLQ with its reason,
the worker keeps running, the partition's committed offset moves past it, and a good
event behind the poison is processed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from schemas.events import NicheDefinition
from streams.niche_config import write_niche
from streams.pipeline import DLQ_MAX_KEY_BYTES, DLQ_MAX_VALUE_BYTES
from tests.events_factory import BASE_TIME, post_dict, post_bytes
from tests.integration.test_pipeline import TOPICS, settings_for
from tests.kafka_helpers import Broker, WorkerProcess, consume_all, fully_committed, http_get, metric_value, wait_until

ACCOUNT = "instagram:poisoned"
KEY = ACCOUNT.encode()
NEAR_BROKER_LIMIT = 1_000_000  # the broker's default max.message.bytes is 1 MiB + 12


def _post(**overrides: object) -> dict:
    return post_dict(**{"account_id": ACCOUNT, "handle": "poisoned", **overrides})


def _snapshot(**overrides: object) -> dict:
    return {"kind": "snapshot", "schema_version": 1, "platform": "instagram", "account_id": ACCOUNT,
            "handle": "poisoned", "observed_at": (BASE_TIME + timedelta(hours=1)).isoformat(),
            "followers": 1000, **overrides}


def _without(event: dict, *names: str) -> dict:
    return {k: v for k, v in event.items() if k not in names}


def _big_post() -> bytes:
    head = orjson.dumps(_post(post_id="big", text=""))
    raw = head.replace(b'"text":""', b'"text":"' + b"a" * (NEAR_BROKER_LIMIT - len(head)) + b'"')
    assert NEAR_BROKER_LIMIT - 10 < len(raw) <= NEAR_BROKER_LIMIT
    return raw


# (case, topic, key, value, expected text in the nichewatch-error header)
CORPUS: list[tuple[str, str, bytes | None, bytes | None, str]] = [
    ("not JSON", "posts", KEY, b"this is not json {", "not valid JSON"),
    ("empty value", "posts", KEY, b"", "not valid JSON"),
    ("invalid UTF-8", "posts", KEY, b'{"kind":"post","handle":"\xff\xfe"}', "not valid UTF-8"),
    ("lone surrogate escape", "posts", KEY, b'{"kind":"post","handle":"\\ud800"}', "not valid JSON"),
    ("JSON array", "posts", KEY, b"[1,2,3]", "expected a JSON object, got an array"),
    ("JSON string", "posts", KEY, b'"a post"', "expected a JSON object, got a string"),
    ("wrong type: followers a string", "posts", KEY, orjson.dumps(_post(followers="many")),
     "followers: Input should be a valid integer"),
    ("wrong type: tags a string", "posts", KEY, orjson.dumps(_post(tags="#fountainpens")),
     "tags: Input should be a valid array"),
    ("wrong type: fractional likes", "posts", KEY, orjson.dumps(_post(likes=1.5)), "likes: Input should be a valid integer"),
    ("missing fields", "posts", KEY, orjson.dumps(_without(_post(), "observed_at", "followers")),
     "observed_at: Field required; followers: Field required"),
    ("missing kind", "posts", KEY, orjson.dumps(_without(_post(), "kind")), "unknown kind None"),
    ("unknown kind", "posts", KEY, orjson.dumps(_post(kind="reel")), "unknown kind 'reel'"),
    ("unsupported schema_version", "posts", KEY, orjson.dumps(_post(schema_version=2)), "unsupported schema_version"),
    ("null key, malformed value", "posts", None, b"{null key and not json", "not valid JSON"),
    ("null value", "posts", KEY, None, "missing value (null record)"),
    ("payload just under 1 MB", "posts", KEY, _big_post(),
     "exceeds 262144 bytes (value truncated to its first 262144 of"),
    ("key of 900 kB, malformed value", "posts", b"k" * 900_000, b"{huge key",
     "(key truncated to its first 4096 of 900000 bytes)"),
    ("deeply nested arrays", "posts", KEY, b"[" * 100_000 + b"]" * 100_000, "JSON nested too deep"),
    ("deeply nested field", "posts", KEY,
     orjson.dumps(_post()).replace(b'"text":', b'"text":' + b'{"a":' * 5_000 + b"1" + b"}" * 5_000 + b',"x":'),
     "JSON nested too deep"),
    ("10k tags", "posts", KEY, orjson.dumps(_post(tags=[f"#tag{i}" for i in range(10_000)])),
     "tags: List should have at most 100 items"),
    ("tag too long", "posts", KEY, orjson.dumps(_post(tags=["#" + "p" * 200])), "tags.0: String should have at most 100"),
    ("text too long", "posts", KEY, orjson.dumps(_post(text="t" * 10_001)), "text: String should have at most 10000"),
    ("negative likes", "posts", KEY, orjson.dumps(_post(likes=-5)), "likes: Input should be greater than or equal to 0"),
    ("negative followers", "posts", KEY, orjson.dumps(_post(followers=-1)),
     "followers: Input should be greater than or equal to 0"),
    ("counter beyond 64 bits", "posts", KEY, json.dumps(_post(likes=10**30)).encode(), "likes: counter of 2**53 or more"),
    ("observed far in the future", "posts", KEY, orjson.dumps(_post(observed_at=datetime(2099, 1, 1, tzinfo=UTC))),
     "is more than 1 day in the future"),
    ("posted far in the future", "posts", KEY, orjson.dumps(_post(posted_at="2099-01-01T00:00:00Z")),
     "posted_at: 2099-01-01T00:00:00+00:00 is more than 1 day in the future"),
    ("timestamps before 2000", "posts", KEY, orjson.dumps(_post(observed_at=datetime(1999, 6, 1, tzinfo=UTC))),
     "greater than or equal to 2000-01-01"),
    ("naive timestamp", "posts", KEY, orjson.dumps({**_post(), "observed_at": "2026-03-01T01:00:00"}),
     "observed_at: Input should have timezone info"),
    ("unparseable timestamp", "posts", KEY, orjson.dumps({**_post(), "observed_at": "yesterday"}), "observed_at: Input should be"),
    ("empty account_id", "posts", KEY, orjson.dumps(_post(account_id="")),
     "account_id: String should have at least 1 character"),
    ("post_id too long", "posts", KEY, orjson.dumps(_post(post_id="p" * 600)), "post_id: String should have at most 512"),
    # Strict decoding: nothing is coerced.
    ("lax: likes as a numeric string", "posts", KEY, orjson.dumps(_post(likes="12000")), "likes: Input should be a valid integer"),
    ("lax: followers as a boolean", "posts", KEY, orjson.dumps(_post(followers=True)),
     "followers: Input should be a valid integer"),
    ("lax: schema_version as a string", "posts", KEY, orjson.dumps(_post(schema_version="1")),
     "schema_version: Input should be a valid integer"),
    ("epoch number timestamp", "posts", KEY, orjson.dumps({**_post(), "observed_at": 1772326800}),
     "observed_at: Input should be a valid string"),
    ("epoch digits in a string", "posts", KEY, orjson.dumps({**_post(), "observed_at": "1772330400"}),
     "observed_at: Input should be an RFC 3339 timestamp"),
    ("space for T", "posts", KEY, orjson.dumps({**_post(), "observed_at": "2026-03-01 02:00:00Z"}),
     "observed_at: Input should be an RFC 3339 timestamp"),
    ("NaN in an unknown field", "posts", KEY, orjson.dumps(_post())[:-1] + b',"score":NaN}',
     "not valid JSON: NaN and Infinity are not JSON numbers"),
    ("Infinity in a count", "posts", KEY, orjson.dumps(_post(likes=0)).replace(b'"likes":0', b'"likes":Infinity'),
     "not valid JSON: NaN and Infinity are not JSON numbers"),
    ("byte-order mark", "posts", KEY, b"\xef\xbb\xbf" + orjson.dumps(_post(post_id="bom")),
     "not valid JSON: starts with a byte-order mark"),
    ("65 levels in an unknown field", "posts", KEY, orjson.dumps(_post())[:-1] + b',"x":' + b"[" * 64 + b"]" * 64 + b"}",
     "JSON nested too deep (more than 64 levels)"),
    ("observed before posted", "posts", KEY,
     orjson.dumps({**_post(), "posted_at": "2026-03-01T02:00:00Z", "observed_at": "2026-03-01T01:59:59Z"}), "is earlier than posted_at"),
    ("snapshot: not JSON", "snapshots", KEY, b"\x00\x01\x02", "not valid JSON"),
    ("snapshot: missing fields", "snapshots", KEY, orjson.dumps({"kind": "snapshot", "schema_version": 1}),
     "platform: Field required; account_id: Field required; handle: Field required; and 2 more"),
    ("snapshot: negative followers", "snapshots", KEY, orjson.dumps(_snapshot(followers=-10)),
     "followers: Input should be greater than or equal to 0"),
    ("snapshot: naive timestamp", "snapshots", KEY, orjson.dumps(_snapshot(observed_at="2026-03-01T01:00:00")),
     "observed_at: Input should have timezone info"),
]


def test_corpus_values_are_distinct() -> None:
    values = [value for _, _, _, value, _ in CORPUS]
    assert len(set(values)) == len(values)  # DLQ records are matched to cases by value


@pytest.fixture
def worker(kafka: Broker, unique: str, tmp_path: Path) -> Iterator[WorkerProcess]:
    process = WorkerProcess(kafka, app_id=f"nw-poison-{unique}", workdir=tmp_path,
                            topics={name: f"{name}-poison-{unique}" for name in TOPICS})
    process.workdir.mkdir(parents=True, exist_ok=True)
    process.create_topics()
    write_niche(settings_for(process), NicheDefinition(name="pens", tags=["#FountainPens"]), "pens")
    try:
        process.start().wait_ready()
        yield process
    finally:
        process.stop()


def test_poison_corpus_goes_to_dlq_with_reasons_and_never_stops_a_partition(worker: WorkerProcess) -> None:
    broker, topics = worker.broker, worker.topics
    good_before = post_bytes(account_id=ACCOUNT, handle="poisoned", post_id="before", likes=100)
    broker.produce(topics["posts"], [(KEY, good_before)])
    for topic in ("posts", "snapshots"):
        broker.produce(topics[topic], [(key, value) for _, t, key, value, _ in CORPUS if t == topic])
    good_after = post_bytes(account_id=ACCOUNT, handle="poisoned", post_id="after", likes=200,
                            observed_at=BASE_TIME + timedelta(hours=2))
    broker.produce(topics["posts"], [(KEY, good_after), (KEY, good_before)])  # then a re-delivery of the first

    def both_posts_applied() -> dict | None:
        status, body = http_get(worker.web_port, f"/accounts/{ACCOUNT}")
        return body if status == 200 and len(body["posts"]) == 2 else None

    body = wait_until(both_posts_applied, timeout=90, what="the good posts around the poison applied")
    assert {p["interactions"] for p in body["posts"]} == {100 + 40 + 12, 200 + 40 + 12}
    wait_until(lambda: fully_committed(broker, worker.app_id, [topics["posts"], topics["snapshots"]]),
               timeout=60, what="committed offsets past the poison")
    dead = wait_until(lambda: (r := consume_all(broker, topics["dlq"])) and len(r) >= len(CORPUS) and r,
                      timeout=60, what="every poison message in the DLQ")

    assert worker.process is not None and worker.process.poll() is None, worker.log_tail()
    assert len(dead) == len(CORPUS)
    by_value = {record.value: record for record in dead}
    problems = []
    for case, topic, key, value, expected in CORPUS:
        # Oversized keys and values are cut to what the DLQ can take (the reason says so).
        record = by_value.get(value if value is None else value[:DLQ_MAX_VALUE_BYTES])
        if record is None:
            problems.append(f"{case}: not in the DLQ")
            continue
        headers = {name: raw.decode() for name, raw in record.headers}
        if expected not in headers["nichewatch-error"]:
            problems.append(f"{case}: reason {headers['nichewatch-error']!r}, expected {expected!r}")
        if record.key != (key if key is None else key[:DLQ_MAX_KEY_BYTES]):
            problems.append(f"{case}: key {record.key!r:.40}")
        if headers["nichewatch-original-topic"] != topics[topic] or not headers["nichewatch-version"]:
            problems.append(f"{case}: headers {headers}")
        if not 0 <= int(headers["nichewatch-original-offset"]) < broker.end_offsets(topics[topic])[int(
                headers["nichewatch-original-partition"])]:
            problems.append(f"{case}: offset header {headers}")
    assert not problems, "\n".join(problems)
    assert metric_value(worker.metrics_port, "nichewatch_dlq_writes_total") == len(CORPUS)
    assert metric_value(worker.metrics_port, "nichewatch_events_ingested_total", outcome="invalid") == len(CORPUS)
    deep = sum(1 for _, _, _, _, expected in CORPUS if "nested too deep" in expected)
    assert metric_value(worker.metrics_port, "nichewatch_dlq_writes_total", reason="too_deep") == deep
    assert wait_until(lambda: metric_value(worker.metrics_port, "nichewatch_events_ingested_total",
                                           outcome="duplicate") == 1, timeout=30, what="the re-delivery counted")
    assert metric_value(worker.metrics_port, "nichewatch_events_ingested_total", outcome="accepted") == 2
    assert "Traceback" not in worker.log_path.read_text(errors="replace"), worker.log_tail()
