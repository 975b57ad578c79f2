"""CPU per post of the niches.tag-observations follower (every worker counts every post).

    .venv/bin/python bench/tag_observations.py [--posts 50000 --batch 2000] [--profile]

Simulator posts (bench/run.py's input) go through the worker's pipeline in fetched batches,
as a worker's accounts agent sends them; the niches.tag-observations records it returns are
then applied to a fresh TagBook by streams.niche_tags.SharedTagObservations, which every
worker does for every post of the cluster. Prints the records, the observations, CPU
seconds and us per observation of the follower alone, and a digest of the book's reports
(a change to the follower must leave it as it is).
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import MemoryTable, simulator_posts  # noqa: E402
from schemas.codec import encode  # noqa: E402
from schemas.events import NicheDefinition  # noqa: E402
from streams.core.tagstats import TagBook  # noqa: E402
from streams.metrics import Metrics, new_registry  # noqa: E402
from streams.native_engine import NativeWorkerEngine  # noqa: E402
from streams.niche_tags import SharedTagObservations  # noqa: E402
from streams.pipeline import Pipeline, Record  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    posts, niche_map = simulator_posts(args.posts, args.seed)
    niches = [NicheDefinition(name=name, tags=tags) for name, tags in niche_map.items()]
    engine = NativeWorkerEngine()
    for niche in niches:
        engine.set_niche(niche)
    pipeline = Pipeline(engine, Metrics(new_registry(process_collectors=False)), MemoryTable())  # type: ignore[arg-type]
    values: list[bytes] = []
    for first in range(0, len(posts), args.batch):
        batch = [Record("posts.raw", 0, i, k, v) for i, (k, v) in enumerate(posts[first : first + args.batch], first)]
        values += [o.value for o in pipeline.process(batch).tag_observations]
    book = TagBook()
    book.tracked_of = engine.matcher.tags_of
    shared = SharedTagObservations(book)
    profiler = cProfile.Profile() if args.profile else None
    start = time.process_time()
    if profiler is not None:
        profiler.enable()
    for value in values:
        shared.apply(b"tags", value)
    if profiler is not None:
        profiler.disable()
    cpu = time.process_time() - start
    digest = hashlib.sha256(b"".join(encode(book.report(n.name)) for n in niches)).hexdigest()[:16]
    print(f"{len(values):,} records, {book.total_posts:,} observations: {cpu:.2f} CPU s, "
          f"{cpu / max(1, book.total_posts) * 1e6:.2f} us per observation; reports digest {digest}")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(20)


if __name__ == "__main__":
    main()
