"""The native detection engine (streams._native.NativeEngine) as the worker's parts see an engine.

The worker's glue reads a few things of ``streams.core.engine.Engine`` besides its hot
path: the configuration (state views), the niche matcher (console, tag statistics), the
niche set (niches.config), the cohort summaries (niches.cohorts), the mention book (the
mention reader) and the tag book (niches.tag-observations). ``NativeWorkerEngine`` gives
them the same names over the Rust engine:

    niches.config ──► set_niche ──► Rust matcher + Python matcher (tags_of for the console
                                    and the tag book's "tracked" flags)
    niches.cohorts ─► cohorts.set_summary ──► Rust cohort book
    posts (all partitions) ─► mentions.record_values ──► Rust mention book
    niches.tag-observations ─► tags (a Python TagBook: the reports are built in Python)

The hot path (streams/pipeline.py) calls ``native`` directly, once per batch; the rest
(niches, states) is ``streams.core.engine.Engine``'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from schemas.events import NicheDefinition
from streams._native import NativeEngine
from streams.core.config import EngineConfig
from streams.core.engine import Engine
from streams.core.tagstats import TagBook


class NativeEnginePanic(RuntimeError):
    """The native engine panicked: a bug in it, not bad input."""


@contextmanager
def panics_as_errors() -> Iterator[None]:
    """A Rust panic surfaces as pyo3's PanicException, a BaseException: outside the error
    policy (``except Exception``), and in an asyncio task it ends the task without ending
    the worker. Inside this block it is an ordinary error: counted, logged, and the worker
    restarts from its last commit, as for any bug."""
    try:
        yield
    except Exception:
        raise
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":
            raise
        raise NativeEnginePanic(f"native engine panicked: {exc}") from exc


class NativeCohorts:
    """What the niches.cohorts follower applies (``ClusterCohorts`` names), on the Rust cohort book."""

    def __init__(self, native: NativeEngine) -> None:
        self.native = native

    def set_summary(self, niche: str, tiers: dict[str, list[int]]) -> None:
        with panics_as_errors():
            self.native.set_cohort_summary(niche, {tier: list(hist) for tier, hist in tiers.items()})

    def remove_niche(self, niche: str) -> None:
        with panics_as_errors():
            self.native.remove_cohort_niche(niche)


class NativeMentions:
    """What the mention reader feeds (streams/mention_reader.py): a batch of input values at a time."""

    def __init__(self, native: NativeEngine) -> None:
        self.native = native

    def record_values(self, values: list[bytes | None]) -> int:
        """Note the mentions of the values' posts (decoded natively); the number of posts read."""
        with panics_as_errors():
            return self.native.record_mentions(values)


class NativeWorkerEngine(Engine):
    """A worker's engine: mentions fed by the reader, tag observations shared (taken
    encoded by the pipeline, not applied to ``tags``), cluster cohorts."""

    def __init__(self, config: EngineConfig | None = None, tags: TagBook | None = None) -> None:
        super().__init__(config, tags=tags if tags is not None else TagBook(), record_mentions=False)
        self.native.cluster_cohorts()
        self.cohorts = NativeCohorts(self.native)
        self.mentions = NativeMentions(self.native)

    # niches.config records reach these: a panic is an ordinary error there too
    def set_niche(self, niche: NicheDefinition) -> None:
        with panics_as_errors():
            super().set_niche(niche)

    def remove_niche(self, name: str) -> bool:
        with panics_as_errors():
            return super().remove_niche(name)
