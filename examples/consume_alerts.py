#!/usr/bin/env python3
"""Consume nichewatch's follower-spike alerts and influencer profiles.

A starting point for downstream teams: it needs only kafka-python and the standard
library, not the nichewatch package. See docs/contract.md for the payloads.

    pip install kafka-python
    python consume_alerts.py --bootstrap-servers localhost:9092

What it shows:
- its own consumer group, offsets committed after the records are handled (at-least-once);
- alerts deduplicated by alert_id, so a redelivered alert is handled once;
- the compacted influencers topic kept as a latest-per-account view;
- unknown fields ignored, unknown major schema versions refused.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from kafka import KafkaConsumer

ALERTS_TOPIC = "alerts.follower-spike"
INFLUENCERS_TOPIC = "influencers"
DEFAULT_GROUP = "nichewatch-example-consumer"

# The major versions of the contract this code understands. A newer major version may
# have renamed or re-purposed fields, so it is refused rather than misread; fields added
# within a known version are simply never looked at.
KNOWN_SCHEMA_VERSIONS = {1}
EXPECTED_KIND = {"alerts": "follower_spike_alert", "influencers": "influencer_profile"}


class AlertHandler:
    """Acts on each alert once, however many times Kafka delivers it."""

    def __init__(self) -> None:
        # alert_id is deterministic: a redelivery or a replay of the same episode carries the
        # same id. An in-memory set is enough for this example; in production, insert alerts
        # into a table with a unique key on alert_id (INSERT ... ON CONFLICT DO NOTHING) so
        # that duplicates are also caught across restarts and across consumer instances.
        self.seen: set[str] = set()

    def handle(self, alert: dict) -> None:
        alert_id = alert["alert_id"]
        if alert_id in self.seen:
            print(f"duplicate alert {alert_id} ignored", file=sys.stderr)
            return
        self.seen.add(alert_id)
        print(
            f"ALERT {alert_id} {alert['classification']} {alert['account_id']}: "
            f"followers {alert['followers_before']} -> {alert['followers_after']} "
            f"between {alert['window_start']} and {alert['window_end']}",
            flush=True,
        )
        for evidence in alert.get("evidence", []):
            print(f"  - {evidence['detail']}", flush=True)


class InfluencerView:
    """The influencers topic is compacted: keep the latest profile per account_id."""

    def __init__(self) -> None:
        # In production this is a table with account_id as primary key (an upsert per record).
        self.profiles: dict[str, dict] = {}

    def handle(self, account_id: str, profile: dict | None) -> None:
        if profile is None:  # a tombstone: the account left the view
            self.profiles.pop(account_id, None)
            print(f"PROFILE {account_id} removed", flush=True)
            return
        self.profiles[account_id] = profile
        print(
            f"PROFILE {account_id} score={profile['score']:.2f} tier={profile['tier']} "
            f"niche={profile['primary_niche']} followers={profile['followers']}",
            flush=True,
        )


def parse(value: bytes | None, kind: str) -> dict | None:
    """The JSON object of a record, or None (tombstone); raises ValueError when unusable."""
    if value is None:
        return None
    event = json.loads(value)
    if not isinstance(event, dict):
        raise ValueError("not a JSON object")
    if event.get("kind") != kind:
        raise ValueError(f"kind {event.get('kind')!r}, expected {kind!r}")
    version = event.get("schema_version")
    if version not in KNOWN_SCHEMA_VERSIONS:
        raise ValueError(f"unsupported schema_version {version!r} (this consumer knows {sorted(KNOWN_SCHEMA_VERSIONS)})")
    return event


def dispatch(record, role: str, alerts: AlertHandler, influencers: InfluencerView) -> None:  # noqa: ANN001
    event = parse(record.value, EXPECTED_KIND[role])
    if role == "alerts":
        if event is not None:
            alerts.handle(event)
    else:
        account_id = record.key.decode() if record.key is not None else event["account_id"]
        influencers.handle(account_id, event)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--bootstrap-servers",
        default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092"),
        help="host:port[,host:port...] (default: $KAFKA_BOOTSTRAP_SERVERS or localhost:9092)",
    )
    parser.add_argument("--group", default=DEFAULT_GROUP, help=f"consumer group (default: {DEFAULT_GROUP})")
    parser.add_argument("--alerts-topic", default=ALERTS_TOPIC)
    parser.add_argument("--influencers-topic", default=INFLUENCERS_TOPIC)
    parser.add_argument("--max-messages", type=int, default=0, help="stop after this many records (0: never)")
    parser.add_argument("--idle-timeout", type=float, default=0, help="stop after this many seconds without records (0: never)")
    args = parser.parse_args(argv)

    consumer = KafkaConsumer(
        args.alerts_topic,
        args.influencers_topic,
        bootstrap_servers=args.bootstrap_servers.split(","),
        group_id=args.group,
        auto_offset_reset="earliest",  # a new group reads the whole history (and every profile)
        enable_auto_commit=False,  # commit only after handling: at-least-once
    )
    topic_role = {args.alerts_topic: "alerts", args.influencers_topic: "influencers"}
    alerts, influencers = AlertHandler(), InfluencerView()
    handled = 0
    last_record = time.monotonic()
    try:
        while True:
            batches = consumer.poll(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    handled += 1
                    try:
                        dispatch(record, topic_role[record.topic], alerts, influencers)
                    except (ValueError, KeyError, TypeError) as exc:
                        # Not ours to fix: report it and move on, so one bad record does not
                        # block the partition. A newer schema_version means: upgrade this code.
                        where = f"{record.topic}/{record.partition}@{record.offset}"
                        print(f"skipped {where}: {type(exc).__name__}: {exc}", file=sys.stderr)
            if batches:
                consumer.commit()
                last_record = time.monotonic()
            if args.max_messages and handled >= args.max_messages:
                break
            if args.idle_timeout and time.monotonic() - last_record >= args.idle_timeout:
                break
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    print(f"handled {handled} records: {len(alerts.seen)} alerts, {len(influencers.profiles)} profiles", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
