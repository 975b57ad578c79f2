"""decode_event per call: this tree's codec against a git revision's, interleaved in one process.

    .venv/bin/python bench/decode_contract.py [--baseline REV] [--rounds N]

The baseline's ``schemas`` package is exported with ``git archive`` into a temporary
directory and imported under its own module objects, so both decoders run on the same
payloads (a post and a snapshot) in alternation; the best of N rounds is reported with
the ratio. The same figures are the ones a native decoder has to beat.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tarfile
import tempfile
import timeit
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
CALLS = 20_000


def load_decoder(root: Path) -> Callable[[bytes], object]:
    for name in [m for m in sys.modules if m == "schemas" or m.startswith("schemas.")]:
        del sys.modules[name]
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module("schemas.codec").decode_event  # type: ignore[no-any-return]
    finally:
        sys.path.remove(str(root))


def export(revision: str, into: Path) -> Path:
    archive = subprocess.run(["git", "archive", revision, "schemas"], cwd=ROOT, capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="HEAD~1", help="git revision to compare against (default HEAD~1)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    post = orjson.dumps({
        "kind": "post", "schema_version": 1, "post_id": "p1", "platform": "instagram",
        "account_id": "instagram:inkjournal", "handle": "inkjournal", "posted_at": "2026-03-01T00:00:00Z",
        "observed_at": "2026-03-01T01:00:00Z", "followers": 12_000, "following": 300, "likes": 900, "comments": 40,
        "shares": 12, "views": None, "tags": ["#FountainPens", "#inkswatch"], "text": "Swatching a new blue-black",
    })
    snapshot = orjson.dumps({"kind": "snapshot", "schema_version": 1, "platform": "instagram",
                             "account_id": "instagram:a", "handle": "a", "observed_at": "2026-03-01T05:00:00Z",
                             "followers": 12_100})
    with tempfile.TemporaryDirectory() as tmp:
        decoders = {args.baseline: load_decoder(export(args.baseline, Path(tmp))), "this tree": load_decoder(ROOT)}
    best: dict[tuple[str, str], float] = {}
    for _ in range(args.rounds):
        for label, decode in decoders.items():
            for kind, raw in (("post", post), ("snapshot", snapshot)):
                seconds = timeit.timeit(lambda: decode(raw), number=CALLS) / CALLS  # noqa: B023
                best[(label, kind)] = min(best.get((label, kind), float("inf")), seconds)
    for kind in ("post", "snapshot"):
        base, ours = best[(args.baseline, kind)], best[("this tree", kind)]
        print(f"{kind:9} {args.baseline}: {base * 1e6:6.2f} us   this tree: {ours * 1e6:6.2f} us   ratio {ours / base:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
