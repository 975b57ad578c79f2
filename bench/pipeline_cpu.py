"""CPU per event of the worker's batch pipeline, without a broker.

    .venv/bin/python bench/pipeline_cpu.py [--accounts 60 --days 21 --batch 2000]

The same simulated posts and snapshots (streams.core.synthetic, one in seven accounts buys
followers), keyed by account, in fetched batches of --batch records of one partition,
through streams.pipeline.Pipeline.process_fetched (what the accounts agent calls per
fetched batch) built as a worker builds it (streams/app.py: NativeWorkerEngine with a tag
book, cluster cohorts, shared tag observations, mentions from the reader; PartitionStore
over a dict table of compact states). Against orjson.loads of the same values in the same
run (the floor of anything that reads them). Prints CPU seconds, events per CPU second,
us per event, the ratio to the floor, the alerts and profiles emitted and the state bytes
per account the table holds.

bench/run.py's (a+) measures the same pipeline behind an aiokafka consumer, posts only;
this one needs no broker and includes snapshots.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas.events import NicheDefinition  # noqa: E402
from streams.agents.accounts import PartitionStore  # noqa: E402
from streams.core.config import EngineConfig  # noqa: E402
from streams.core.synthetic import AccountSpec, account_events  # noqa: E402
from streams.core.tagstats import TagBook  # noqa: E402
from streams.metrics import Metrics, new_registry  # noqa: E402
from streams.native_engine import NativeWorkerEngine  # noqa: E402
from streams.pipeline import Pipeline, Record  # noqa: E402

PENS = NicheDefinition(name="pens", tags=["fountainpens"])
NOW = 1_780_000_000.0
TOPIC = "posts.raw"


class Table:
    """The accounts table's reads and writes (streams.faust_batch.TableWriter) over a dict."""

    def __init__(self) -> None:
        self.data: dict[bytes, Any] = {}
        self.table = self

    def get(self, partition: int, key: bytes) -> Any:
        return self.data.get(key)

    def put(self, partition: int, key: bytes, value: Any) -> None:
        self.data[key] = value


def worker_pipeline(table: Table) -> Pipeline:
    metrics = Metrics(new_registry(process_collectors=False))
    engine = NativeWorkerEngine(EngineConfig(), tags=TagBook())
    engine.set_niche(PENS)
    return Pipeline(engine, metrics, PartitionStore(table, metrics))  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=60)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    specs = [AccountSpec(f"instagram:a{i}", followers=5_000 + 997 * i,
                         scenario="purchase_step" if i % 7 == 0 else "organic", amount=3_000)
             for i in range(args.accounts)]
    events = sorted((e for s in specs for e in account_events(s, days=args.days)), key=lambda e: e["observed_at"])
    records = [Record(TOPIC, 0, i, e["account_id"].encode(), orjson.dumps(e)) for i, e in enumerate(events)]
    batches = [records[first : first + args.batch] for first in range(0, len(records), args.batch)]
    n = len(records)
    print(f"{n:,} events of {args.accounts} accounts over {args.days} days, batches of {args.batch}")

    loads = orjson.loads
    start = time.process_time()
    for batch in batches:
        for record in batch:
            loads(record.value)
    floor = time.process_time() - start
    print(f"  orjson.loads: {floor:.2f} CPU s, {n / floor:,.0f} events/CPU s ({floor / n * 1e6:.2f} us/event)")

    table = Table()
    pipeline = worker_pipeline(table)
    alerts = profiles = dead = 0
    start = time.process_time()
    for batch in batches:
        result = pipeline.process_fetched(TOPIC, 0, batch, now=NOW)  # type: ignore[arg-type]
        alerts += len(result.alerts)
        profiles += len(result.profiles)
        dead += len(result.dead_letters)
    cpu = time.process_time() - start
    size = sum(len(v) for v in table.data.values()) / len(table.data)
    print(f"  Pipeline.process_fetched: {cpu:.2f} CPU s, {n / cpu:,.0f} events/CPU s ({cpu / n * 1e6:.2f} us/event); "
          f"{alerts} alerts, {profiles} profiles, {dead} dead letters; state {size:,.0f} B/account (compact)")
    print(f"  pipeline / orjson.loads: {floor / cpu:.3f} of the floor's events per CPU second")


if __name__ == "__main__":
    main()
