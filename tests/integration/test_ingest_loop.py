"""The first real loop: a worker consumes posts.raw on a real broker and commits its offsets."""

from __future__ import annotations

from pathlib import Path

from tests.events_factory import post_bytes
from tests.kafka_helpers import Broker, WorkerProcess, wait_until


def test_worker_sends_malformed_posts_to_dlq_and_commits_every_offset(
    kafka: Broker, unique: str, tmp_path: Path
) -> None:
    topics = {"posts": f"posts.raw-{unique}", "dlq": f"posts.dlq-{unique}"}
    worker = WorkerProcess(kafka, app_id=f"nw-{unique}", workdir=tmp_path, topics=topics).start()
    try:
        worker.wait_ready()
        records = [
            (b"instagram:inkjournal", post_bytes(post_id="p1")),
            (b"instagram:inkjournal", b"{not json"),
            (b"instagram:inkjournal", post_bytes(post_id="p2")),
            (b"instagram:inkjournal", post_bytes(post_id="p3", likes=-5)),
            (b"instagram:inkjournal", post_bytes(post_id="p4")),
        ]
        kafka.produce(topics["posts"], records)

        dead = kafka.consume(topics["dlq"], count=2, timeout=60)
        assert [r.value for r in dead] == [b"{not json", records[3][1]]
        assert all(r.key == b"instagram:inkjournal" for r in dead)
        headers = [dict(r.headers) for r in dead]
        assert headers[0]["nichewatch-original-topic"] == topics["posts"].encode()
        assert "likes" in headers[1]["nichewatch-error"].decode()
        assert headers[1]["nichewatch-original-offset"] == b"3"

        def all_committed() -> bool:
            return sum(kafka.committed(f"nw-{unique}", topics["posts"]).values()) == len(records)

        wait_until(all_committed, timeout=60, what="offsets of all 5 posts committed")
    except AssertionError:
        print(worker.log_tail())
        raise
    finally:
        worker.stop()
