"""The naive Faust baseline of bench/run.py: one event at a time, a Table write per event.

    python bench/naive_agent.py BOOTSTRAP TOPIC APP_ID STORE DATADIR COUNT RESULT_JSON

Stock faust-streaming, stock settings: ``async for value in stream`` and ``table[key] = ...``
per post. Times from the first event to the COUNT-th (wall clock and this process's CPU time), writes
the rates to RESULT_JSON and keeps
running until bench/run.py stops it (SIGTERM).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

import faust
import orjson


def main(bootstrap: str, topic: str, app_id: str, store: str, datadir: str, count: int, result: Path) -> None:
    app = faust.App(
        app_id,
        broker=f"kafka://{bootstrap}",
        store=store,
        datadir=datadir,
        topic_partitions=4,
        web_enabled=False,
        autodiscover=False,
    )
    posts = app.topic(topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw", partitions=4)
    table = app.Table("naive-accounts", default=None, partitions=4)
    seen = {"n": 0, "t0": 0.0, "cpu0": 0.0}

    @app.agent(posts)
    async def accounts(stream):  # noqa: ANN001, ANN202
        loads = orjson.loads
        async for value in stream:
            if seen["n"] == 0:
                seen["t0"], seen["cpu0"] = time.perf_counter(), time.process_time()
            post = loads(value)
            key = post["account_id"]
            state = table.get(key) or {"posts": 0, "likes": 0, "followers": 0}
            table[key] = {
                "posts": state["posts"] + 1,
                "likes": state["likes"] + post["likes"],
                "followers": post["followers"],
            }
            seen["n"] += 1
            if seen["n"] == count:
                seconds, cpu = time.perf_counter() - seen["t0"], time.process_time() - seen["cpu0"]
                result.write_text(json.dumps({"posts": count, "seconds": seconds, "rate": (count - 1) / seconds,
                                              "cpu_seconds": cpu, "cpu_rate": (count - 1) / cpu}))

    faust.Worker(app, loglevel=logging.WARNING, quiet=True).execute_from_commandline()


if __name__ == "__main__":
    b, t, a, s, d, n, r = sys.argv[1:8]
    main(b, t, a, s, d, int(n), Path(r))
