"""Score the engine's alerts against a scenario's ground truth (pure: no I/O, no clock).

Matching: a ``suspected_purchase`` alert matches an incident when it is on the same
account and ``start <= detected_at <= end + grace``, the grace reaching at least to the
account's second follower observation after ``end`` (an account polled once a day cannot
be caught within 24 hours of anything). A purchase alert matching no purchase
incident is a false positive, wherever it is. An incident that is *not* a purchase
(breakout, giveaway, shout-out, press mention, migration, purge, spam) is "misflagged" when a purchase alert falls
in its window. Labelled ordinary life (``good_post``, ``outage_catchup``) is scored the same
way, and does not make an account dishonest: an *honest account* carries no incident other
than ordinary life, and "honest accounts accused" is the share of them with any purchase
alert at all, over the scenario's span and scaled to 35 days (``1 - (1 - p) ** (35 / days)``).

Detection delay is counted in follower observations, not hours, because that is what the
engine can react to: the number of the account's events carrying a follower count with
``start < observed_at <= detected_at`` (so "caught on the first observation after the
step" is a delay of 1).
"""

from __future__ import annotations

import bisect
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

PURCHASE = "suspected_purchase"
ORGANIC = "organic_breakout"
INSTANT_STEP_TYPES = frozenset(
    {"purchase_instant", "purchase_round", "purchase_small", "purchase_large", "purchase_spike_decay"}
)
# The rows reported for incidents that must not be flagged as purchases, in display order.
NOT_PURCHASE_TYPES = (
    "organic_breakout", "giveaway", "shoutout", "press_mention", "migration", "purge", "spam_account",
    "good_post", "outage_catchup",
)
# Labels of ordinary life: an account carrying only these (or nothing) is honest.
ORDINARY_LIFE_TYPES = frozenset({"good_post", "outage_catchup"})
ACCUSATION_HORIZON_DAYS = 35.0
DEFAULT_GRACE = timedelta(hours=24)
GRACE_OBSERVATIONS = 2  # the grace never ends before this many follower observations after an incident
TOP_INFLUENCERS_PER_NICHE = 10


@dataclass(frozen=True)
class Incident:
    account_id: str
    event_type: str
    expected: str | None
    start: float
    end: float
    followers_before: int
    followers_added: int

    @property
    def is_instant_step(self) -> bool:
        """An instant purchase of at least 5% of the audience (the strictest recall target)."""
        return (
            self.event_type in INSTANT_STEP_TYPES
            and self.followers_before > 0
            and self.followers_added / self.followers_before >= 0.05
        )


@dataclass(frozen=True)
class Alert:
    alert_id: str
    account_id: str
    classification: str
    detected_at: float


@dataclass(frozen=True)
class PurchaseScore:
    """Suspected-purchase detection for one group of purchase incidents."""

    label: str
    incidents: int
    detected: int
    matched_alerts: int
    false_alerts: int
    median_delay: float | None

    @property
    def recall(self) -> float:
        return self.detected / self.incidents if self.incidents else 1.0

    @property
    def precision(self) -> float:
        total = self.matched_alerts + self.false_alerts
        return self.matched_alerts / total if total else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True)
class MisflagScore:
    """How often incidents that are not purchases were flagged as purchases."""

    event_type: str
    incidents: int
    flagged_as_purchase: int
    found_as_organic: int

    @property
    def misflag_share(self) -> float:
        return self.flagged_as_purchase / self.incidents if self.incidents else 0.0


@dataclass(frozen=True)
class HonestAccounts:
    """Accounts without any incident (ordinary life aside), and how many got a purchase alert."""

    accounts: int
    accused: int
    days: float

    @property
    def accused_share(self) -> float:
        return self.accused / self.accounts if self.accounts else 0.0

    @property
    def accused_share_35_days(self) -> float:
        """The share scaled to ``ACCUSATION_HORIZON_DAYS`` (a constant daily hazard)."""
        if not self.days or not self.accused:
            return self.accused_share
        return 1.0 - (1.0 - self.accused_share) ** (ACCUSATION_HORIZON_DAYS / self.days)


@dataclass(frozen=True)
class Target:
    name: str
    value: float | None
    threshold: float
    higher_is_better: bool

    @property
    def met(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.threshold if self.higher_is_better else self.value <= self.threshold


@dataclass(frozen=True)
class EvaluationResult:
    per_type: list[PurchaseScore]
    overall: PurchaseScore
    instant_steps: PurchaseScore
    not_purchases: list[MisflagScore]
    false_alerts_without_incident: int
    duplicate_alerts: int
    spam_in_top_influencers: int | None = None
    honest: HonestAccounts = field(default_factory=lambda: HonestAccounts(0, 0, 0.0))
    false_alert_ids: tuple[str, ...] = ()  # purchase alerts matching no purchase incident

    def misflag(self, event_type: str) -> float:
        return next((m.misflag_share for m in self.not_purchases if m.event_type == event_type), 0.0)

    def misflag_of(self, event_types: Iterable[str]) -> float:
        """Share of the incidents of these types (together) flagged as purchases."""
        wanted = set(event_types)
        rows = [m for m in self.not_purchases if m.event_type in wanted]
        incidents = sum(m.incidents for m in rows)
        return sum(m.flagged_as_purchase for m in rows) / incidents if incidents else 0.0

    def targets(self) -> list[Target]:
        checks = [
            Target("suspected_purchase precision", self.overall.precision, 0.97, True),
            Target("suspected_purchase recall", self.overall.recall, 0.95, True),
            Target("recall, instant steps >= 5% of followers", self.instant_steps.recall, 0.97, True),
            Target(f"honest accounts accused, per {ACCUSATION_HORIZON_DAYS:g} days",
                   self.honest.accused_share_35_days, 0.003, False),
            Target("organic breakouts and purges flagged as purchase",
                   self.misflag_of(("organic_breakout", "purge")), 0.01, False),
            Target("instant purchases: median delay after the step (observations)",
                   self.instant_steps.median_delay, 1.0, False),
            Target("median detection delay (observations)", self.overall.median_delay, 2.0, False),
        ]
        if self.spam_in_top_influencers is not None:
            checks.append(Target(f"spam accounts in top {TOP_INFLUENCERS_PER_NICHE} influencers per niche",
                                 float(self.spam_in_top_influencers), 0.0, False))
        return checks

    @property
    def all_targets_met(self) -> bool:
        return all(t.met for t in self.targets())


def follower_observations(events: Iterable[Mapping[str, Any]]) -> dict[str, list[float]]:
    """account_id -> sorted observation times (epoch seconds) of events carrying followers."""
    times: dict[str, list[float]] = defaultdict(list)
    for event in events:
        if event.get("followers") is not None:
            times[event["account_id"]].append(_epoch(event["observed_at"]))
    for series in times.values():
        series.sort()
    return dict(times)


def evaluate(
    truth: Iterable[Mapping[str, Any]],
    alerts: Iterable[Mapping[str, Any]],
    observations: Mapping[str, Sequence[float]],
    grace: timedelta = DEFAULT_GRACE,
    influencers: Iterable[Mapping[str, Any]] | None = None,
) -> EvaluationResult:
    incidents = [_incident(t) for t in truth]
    all_alerts = [_alert(a) for a in alerts]
    purchase_alerts = [a for a in all_alerts if a.classification == PURCHASE]
    slack = grace.total_seconds()
    by_account: dict[str, list[Incident]] = defaultdict(list)
    for incident in incidents:
        by_account[incident.account_id].append(incident)

    def window_hits(incident: Incident, pool: list[Alert]) -> list[Alert]:
        until = _window_end(incident, observations.get(incident.account_id, ()), slack)
        return [a for a in pool if a.account_id == incident.account_id and incident.start <= a.detected_at <= until]

    alerts_by_account: dict[str, list[Alert]] = defaultdict(list)
    for alert in all_alerts:
        alerts_by_account[alert.account_id].append(alert)

    # Per purchase incident: matching purchase alerts, first one's delay.
    matches: dict[int, list[Alert]] = {}
    matched_ids: set[str] = set()
    for i, incident in enumerate(incidents):
        if incident.expected != PURCHASE:
            continue
        pool = [a for a in alerts_by_account.get(incident.account_id, []) if a.classification == PURCHASE]
        hits = sorted(window_hits(incident, pool), key=lambda a: a.detected_at)
        matches[i] = hits
        matched_ids.update(a.alert_id for a in hits)
    false_alerts = [a for a in purchase_alerts if a.alert_id not in matched_ids]

    def score(label: str, members: list[int]) -> PurchaseScore:
        accounts = {incidents[i].account_id for i in members}
        detected = [i for i in members if matches[i]]
        delays = [_delay(incidents[i], matches[i][0], observations) for i in detected]
        return PurchaseScore(
            label=label,
            incidents=len(members),
            detected=len(detected),
            matched_alerts=sum(len(matches[i]) for i in members),
            false_alerts=sum(1 for a in false_alerts if a.account_id in accounts),
            median_delay=statistics.median(delays) if delays else None,
        )

    purchase_ids = sorted(matches)
    types = sorted({incidents[i].event_type for i in purchase_ids})
    per_type = [score(t, [i for i in purchase_ids if incidents[i].event_type == t]) for t in types]
    overall = score(PURCHASE + " (all)", purchase_ids)
    # Overall precision counts every false purchase alert, including those on clean accounts.
    overall = PurchaseScore(overall.label, overall.incidents, overall.detected, overall.matched_alerts,
                            len(false_alerts), overall.median_delay)
    instant = score("instant steps >= 5%", [i for i in purchase_ids if incidents[i].is_instant_step])

    not_purchases = []
    for event_type in NOT_PURCHASE_TYPES:
        group = [inc for inc in incidents if inc.event_type == event_type]
        if not group:
            continue
        flagged = organic = 0
        for incident in group:
            hits = window_hits(incident, alerts_by_account.get(incident.account_id, []))
            flagged += any(a.classification == PURCHASE for a in hits)
            organic += any(a.classification == ORGANIC for a in hits)
        not_purchases.append(MisflagScore(event_type, len(group), flagged, organic))

    honest = _honest_accounts(incidents, all_alerts, observations)
    return EvaluationResult(
        per_type=per_type,
        overall=overall,
        instant_steps=instant,
        not_purchases=not_purchases,
        false_alerts_without_incident=sum(1 for a in false_alerts if a.account_id not in by_account),
        false_alert_ids=tuple(a.alert_id for a in false_alerts),
        duplicate_alerts=sum(max(0, len(hits) - 1) for hits in matches.values()),
        spam_in_top_influencers=None if influencers is None else _spam_in_top(incidents, influencers),
        honest=honest,
    )


def _honest_accounts(
    incidents: list[Incident], alerts: list[Alert], observations: Mapping[str, Sequence[float]]
) -> HonestAccounts:
    accounts = set(observations) | {i.account_id for i in incidents} | {a.account_id for a in alerts}
    dishonest = {i.account_id for i in incidents if i.event_type not in ORDINARY_LIFE_TYPES}
    honest = accounts - dishonest
    accused = {a.account_id for a in alerts if a.classification == PURCHASE and a.account_id in honest}
    times = [t for series in observations.values() for t in (series[0], series[-1]) if series]
    days = (max(times) - min(times)) / 86_400 if times else 0.0
    return HonestAccounts(len(honest), len(accused), days)


def format_false_alerts(
    result: EvaluationResult, truth: Iterable[Mapping[str, Any]], alerts: Iterable[Mapping[str, Any]], limit: int
) -> str:
    """The first ``limit`` false purchase alerts: growth, the account's labels, the evidence."""
    labels: dict[str, list[Incident]] = defaultdict(list)
    for record in truth:
        incident = _incident(record)
        labels[incident.account_id].append(incident)
    wanted = set(result.false_alert_ids)
    chosen = sorted((a for a in alerts if str(a["alert_id"]) in wanted), key=lambda a: _epoch(a["detected_at"]))
    lines = [f"false purchase alerts: {len(wanted)} (showing {min(limit, len(wanted))})"]
    for record in chosen[:limit]:
        detected = _epoch(record["detected_at"])
        near = [f"{i.event_type} {(detected - i.start) / 3600:+.0f}h" for i in labels.get(record["account_id"], [])
                if i.start - 86_400 <= detected <= i.end + 3 * 86_400]
        growth = record.get("growth_relative")
        evidence = "; ".join(f"{e['name']}={e['value']:.3g}" for e in record.get("evidence", []))
        lines.append(f"  {record['account_id']} at {_iso_text(record['detected_at'])}: "
                     f"{record.get('followers_before')} -> {record.get('followers_after')}"
                     + ("" if growth is None else f" ({100 * growth:+.1f}%)")
                     + f"; labels near: {', '.join(near) or 'none'}")
        if evidence:
            lines.append(f"      {evidence}")
    return "\n".join(lines)


def _iso_text(value: str | datetime | float) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return datetime.fromtimestamp(value).isoformat()


def format_report(result: EvaluationResult) -> str:
    lines = [
        f"{'suspected_purchase':<28}{'incidents':>10}{'detected':>10}{'recall':>8}{'alerts':>8}"
        f"{'false':>7}{'precision':>10}{'F1':>7}{'median delay':>14}",
    ]
    for row in [*result.per_type, result.instant_steps, result.overall]:
        delay = "-" if row.median_delay is None else f"{row.median_delay:g} obs"
        lines.append(
            f"{row.label:<28}{row.incidents:>10}{row.detected:>10}{row.recall:>8.3f}{row.matched_alerts:>8}"
            f"{row.false_alerts:>7}{row.precision:>10.3f}{row.f1:>7.3f}{delay:>14}"
        )
    lines += ["", f"{'not a purchase':<28}{'incidents':>10}{'flagged as purchase':>21}{'share':>8}"
                  f"{'found as organic':>18}"]
    for m in result.not_purchases:
        lines.append(f"{m.event_type:<28}{m.incidents:>10}{m.flagged_as_purchase:>21}{m.misflag_share:>8.3f}"
                     f"{m.found_as_organic:>18}")
    honest = result.honest
    organic = ("organic_breakout", "purge")
    lines += [
        "",
        f"honest accounts accused of a purchase: {honest.accused} of {honest.accounts} "
        f"({100 * honest.accused_share:.2f}% over {honest.days:.1f} days, "
        f"{100 * honest.accused_share_35_days:.2f}% per {ACCUSATION_HORIZON_DAYS:g} days)",
        f"organic breakouts and purges flagged as purchase: {100 * result.misflag_of(organic):.2f}%",
        "instant purchases, median delay after the step: "
        + ("-" if result.instant_steps.median_delay is None else f"{result.instant_steps.median_delay:g}")
        + " follower observations (1 = the first observation after it)",
        f"false purchase alerts on accounts without an incident: {result.false_alerts_without_incident}",
        f"duplicate alerts for one incident: {result.duplicate_alerts}",
    ]
    if result.spam_in_top_influencers is not None:
        lines.append(f"spam accounts in top {TOP_INFLUENCERS_PER_NICHE} influencers per niche: "
                     f"{result.spam_in_top_influencers}")
    lines += ["", "targets:"]
    for target in result.targets():
        value = "n/a" if target.value is None else f"{target.value:.3f}"
        sign = ">=" if target.higher_is_better else "<="
        lines.append(f"  [{'met' if target.met else 'MISSED':>6}] {target.name}: {value} {sign} {target.threshold:g}")
    return "\n".join(lines)


def _window_end(incident: Incident, times: Sequence[float], slack: float) -> float:
    after = bisect.bisect_right(times, incident.end) + GRACE_OBSERVATIONS - 1
    return max(incident.end + slack, times[after] if after < len(times) else incident.end + slack)


def _delay(incident: Incident, alert: Alert, observations: Mapping[str, Sequence[float]]) -> int:
    times = observations.get(incident.account_id, ())
    return bisect.bisect_right(times, alert.detected_at) - bisect.bisect_right(times, incident.start)


def _spam_in_top(incidents: list[Incident], influencers: Iterable[Mapping[str, Any]]) -> int:
    spam = {i.account_id for i in incidents if i.event_type == "spam_account"}
    latest: dict[str, Mapping[str, Any]] = {}
    for profile in influencers:  # profiles are re-published; the last one per account counts
        latest[profile["account_id"]] = profile
    by_niche: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for profile in latest.values():
        by_niche[str(profile.get("primary_niche"))].append(profile)
    count = 0
    for profiles in by_niche.values():
        top = sorted(profiles, key=lambda p: (-float(p["score"]), p["account_id"]))[:TOP_INFLUENCERS_PER_NICHE]
        count += sum(1 for p in top if p["account_id"] in spam)
    return count


def _incident(record: Mapping[str, Any]) -> Incident:
    return Incident(
        account_id=record["account_id"],
        event_type=record["event_type"],
        expected=record.get("expected_classification"),
        start=_epoch(record["start"]),
        end=_epoch(record["end"]),
        followers_before=int(record.get("followers_before") or 0),
        followers_added=int(record.get("followers_added") or 0),
    )


def _alert(record: Mapping[str, Any]) -> Alert:
    return Alert(
        alert_id=str(record["alert_id"]),
        account_id=record["account_id"],
        classification=record["classification"],
        detected_at=_epoch(record["detected_at"]),
    )


def _epoch(value: str | datetime | float) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"timestamp {value.isoformat()} has no timezone")
    return value.timestamp()
