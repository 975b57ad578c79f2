"""CPU per event of the worker's batch pipeline on each engine, without a broker.

    .venv/bin/python bench/native_pipeline.py [--accounts 60 --days 21 --batch 2000]

The same simulated posts and snapshots (streams.core.synthetic, one in seven accounts buys
followers), keyed by account, in fetched batches of --batch records, through
streams.pipeline.Pipeline (Python engine, table of live states) and
streams.native_pipeline.NativePipeline (Rust engine, table of compact states), both built
as a worker builds them (cluster cohorts, shared tag observations, mentions from the
reader). Prints CPU seconds, events per CPU second and the ratio, the alerts and profiles
each emitted (they must agree), and the state bytes per account each table holds.
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
from streams.core.cohorts import ClusterCohorts  # noqa: E402
from streams.core.config import EngineConfig  # noqa: E402
from streams.core.engine import Engine  # noqa: E402
from streams.core.state import AccountState  # noqa: E402
from streams.core.synthetic import AccountSpec, account_events  # noqa: E402
from streams.core.tagstats import TagBook  # noqa: E402
from streams.metrics import Metrics, new_registry  # noqa: E402
from streams.native_engine import NativeWorkerEngine  # noqa: E402
from streams.native_pipeline import NativePipeline  # noqa: E402
from streams.pipeline import Pipeline, Record  # noqa: E402

PENS = NicheDefinition(name="pens", tags=["fountainpens"])
NOW = 1_780_000_000.0


class Table:
    """The accounts table's reads and writes (streams.faust_batch.TableWriter) over a dict."""

    def __init__(self) -> None:
        self.data: dict[bytes, Any] = {}
        self.table = self

    def get(self, partition: int, key: bytes) -> Any:
        return self.data.get(key)

    def put(self, partition: int, key: bytes, value: Any) -> None:
        self.data[key] = value

    def keep_decoded(self, key: bytes, value: Any) -> None:
        self.data[key] = value


def python_pipeline(table: Table) -> Pipeline:
    metrics = Metrics(new_registry(process_collectors=False))
    engine = Engine(niches=[PENS], tags=TagBook(), cohorts=ClusterCohorts(), record_mentions=False, share_tags=True)
    engine.store = PartitionStore(table, engine.config, metrics)  # type: ignore[arg-type]
    return Pipeline(engine, metrics)


def native_pipeline(table: Table) -> NativePipeline:
    metrics = Metrics(new_registry(process_collectors=False))
    engine = NativeWorkerEngine(EngineConfig())
    engine.set_niche(PENS)
    return NativePipeline(engine, metrics, PartitionStore(table, engine.config, metrics))  # type: ignore[arg-type]


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
    records = [Record("posts.raw", 0, i, e["account_id"].encode(), orjson.dumps(e)) for i, e in enumerate(events)]
    print(f"{len(records):,} events of {args.accounts} accounts over {args.days} days, batches of {args.batch}")
    cpu: dict[str, float] = {}
    for name, build in (("python", python_pipeline), ("native", native_pipeline)):
        table = Table()
        line = build(table)
        alerts = profiles = 0
        start = time.process_time()
        for first in range(0, len(records), args.batch):
            result = line.process(records[first : first + args.batch], now=NOW)
            alerts += len(result.alerts)
            profiles += len(result.profiles)
        cpu[name] = time.process_time() - start
        size = sum(len(v.to_bytes() if type(v) is AccountState else v) for v in table.data.values()) / len(table.data)
        print(f"  {name}: {cpu[name]:.2f} CPU s, {len(records) / cpu[name]:,.0f} events/CPU s "
              f"({cpu[name] / len(records) * 1e6:.1f} us/event); {alerts} alerts, {profiles} profiles; "
              f"state {size:,.0f} B/account")
    print(f"  native / python: {cpu['python'] / cpu['native']:.1f}x the events per CPU second")


if __name__ == "__main__":
    main()
