"""Robustness sweep: vary the world one parameter at a time and score the engine at each setting.

    nichewatch evaluate --sweep --family second --seed 3 [--accounts 400] [--processes 2]

Each setting is a scenario (same seed, same family) with one ``WorldKnobs`` field changed
from its default, replayed through a fresh engine with the default configuration and
scored like ``nichewatch evaluate``. A detector that only works at the generator's
defaults shows up as a row where precision or the honest-accounts-accused rate falls.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

import orjson

from schemas.events import NicheDefinition
from streams.core.config import EngineConfig
from streams.core.engine import Engine
from streams.core.replay import replay
from streams.evaluation import EvaluationResult, evaluate, follower_observations
from streams.feeds.families import FAMILIES, AnyScenario
from streams.feeds.realism import WorldKnobs

SWEEP_PRECISION = 0.95
# knob -> the settings tried besides its default (about "a reasonable range" around it).
SETTINGS: dict[str, tuple[object, ...]] = {
    "engagement_noise": (0.2, 0.6),
    "growth_scale": (0.25, 3.0),
    "post_rate_scale": (0.4, 2.5),
    "snapshot_hours": ((1.0, 3.0), (12.0, 24.0)),
    "rounded_share": (0.0, 1.0),
    "outage_rate": (0.0, 1.0),
    "good_post_rate": (0.0, 0.1),
}


@dataclass(frozen=True)
class Setting:
    knob: str  # "default" for the unchanged world
    value: object

    @property
    def label(self) -> str:
        if self.knob == "default":
            return "defaults"
        value = "-".join(f"{v:g}" for v in self.value) if isinstance(self.value, tuple) else f"{self.value:g}"
        return f"{self.knob}={value}"

    def knobs(self) -> WorldKnobs:
        return WorldKnobs() if self.knob == "default" else dataclasses.replace(WorldKnobs(), **{self.knob: self.value})


@dataclass(frozen=True)
class SettingScore:
    setting: Setting
    precision: float
    recall: float
    purchases: int
    false_alerts: int
    honest_accused: int
    honest_accounts: int
    honest_accused_35_days: float
    breakouts_purges_flagged: float
    instant_median_delay: float | None
    seconds: float


def settings(knobs: Iterable[str] | None = None) -> list[Setting]:
    chosen = SETTINGS if knobs is None else {k: SETTINGS[k] for k in knobs}
    return [Setting("default", None)] + [Setting(k, v) for k, values in chosen.items() for v in values]


def score(scenario: AnyScenario) -> EvaluationResult:
    """Replay a scenario through a fresh default engine and score it against its truth."""
    events = list(scenario.events())
    niches = [NicheDefinition(name=name, tags=tags) for name, tags in scenario.niches.items()]
    outcome = replay((orjson.dumps(e) for e in events), Engine(EngineConfig(), niches))
    return evaluate([t.as_dict() for t in scenario.truth], [a.model_dump() for a in outcome.alerts],
                    follower_observations(events))


def run_setting(job: tuple[str, int, int, int, datetime | None, Setting]) -> SettingScore:
    family, seed, accounts, days, start, setting = job
    began = time.perf_counter()
    extra = {} if start is None else {"start": start}
    result = score(FAMILIES[family](seed, accounts, days, **extra, knobs=setting.knobs()))
    return SettingScore(
        setting=setting,
        precision=result.overall.precision,
        recall=result.overall.recall,
        purchases=result.overall.incidents,
        false_alerts=result.overall.false_alerts,
        honest_accused=result.honest.accused,
        honest_accounts=result.honest.accounts,
        honest_accused_35_days=result.honest.accused_share_35_days,
        breakouts_purges_flagged=result.misflag_of(("organic_breakout", "purge")),
        instant_median_delay=result.instant_steps.median_delay,
        seconds=time.perf_counter() - began,
    )


def sweep(family: str, seed: int, accounts: int, days: int, start: datetime | None = None,
          processes: int = 2, knobs: Iterable[str] | None = None) -> Iterator[SettingScore]:
    """Scores in the order of ``settings()``, computed in up to ``processes`` processes."""
    jobs = [(family, seed, accounts, days, start, s) for s in settings(knobs)]
    if processes <= 1:
        yield from map(run_setting, jobs)
        return
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        yield from pool.imap(run_setting, jobs)


def header() -> str:
    return (f"{'setting':<28}{'precision':>10}{'recall':>8}{'false':>7}{'honest accused':>16}{'per 35 d':>10}"
            f"{'breakout/purge':>16}{'instant delay':>15}{'time':>7}")


def format_row(row: SettingScore) -> str:
    delay = "-" if row.instant_median_delay is None else f"{row.instant_median_delay:g} obs"
    return (f"{row.setting.label:<28}{row.precision:>10.3f}{row.recall:>8.3f}{row.false_alerts:>7}"
            f"{f'{row.honest_accused}/{row.honest_accounts}':>16}{100 * row.honest_accused_35_days:>9.2f}%"
            f"{100 * row.breakouts_purges_flagged:>15.2f}%{delay:>15}{row.seconds:>6.0f}s")
