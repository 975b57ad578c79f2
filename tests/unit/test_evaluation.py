"""Scoring alerts against ground truth, on small hand-made cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from streams.evaluation import HonestAccounts, evaluate, follower_observations, format_false_alerts, format_report

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def at(hours: float) -> str:
    return (T0 + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def incident(account: str, event_type: str, expected: str | None, start: float = 0.0, end: float = 0.0,
             before: int = 10_000, added: int = 2_000) -> dict:
    return {"account_id": account, "event_type": event_type, "expected_classification": expected,
            "start": at(start), "end": at(end), "followers_before": before, "followers_added": added}


def alert(alert_id: str, account: str, detected_hours: float, classification: str = "suspected_purchase") -> dict:
    return {"alert_id": alert_id, "account_id": account, "classification": classification,
            "window_start": at(detected_hours - 6), "window_end": at(detected_hours),
            "detected_at": at(detected_hours)}


def snapshots(account: str, hours: list[float]) -> list[dict]:
    return [{"kind": "snapshot", "account_id": account, "observed_at": at(h), "followers": 1} for h in hours]


TRUTH = [
    incident("ig:a", "purchase_instant", "suspected_purchase"),
    incident("ig:b", "purchase_round", "suspected_purchase", added=5_000),
    incident("ig:c", "purchase_drip", "suspected_purchase", end=72.0),
    incident("ig:d", "organic_breakout", "organic_breakout", end=36.0),
    incident("ig:e", "purge", None, end=3.0, added=-800),
]
OBSERVATIONS = follower_observations(
    snapshots("ig:a", [-2, 1, 3, 5]) + snapshots("ig:b", [-1, 2, 4]) + snapshots("ig:c", [-1, 10, 20, 30, 40])
)


def test_perfect_alerts_score_one_everywhere() -> None:
    alerts = [alert("1", "ig:a", 1), alert("2", "ig:b", 2), alert("3", "ig:c", 30),
              alert("4", "ig:d", 8, "organic_breakout")]
    result = evaluate(TRUTH, alerts, OBSERVATIONS)
    assert (result.overall.precision, result.overall.recall, result.overall.f1) == (1.0, 1.0, 1.0)
    assert result.misflag("organic_breakout") == 0.0 and result.misflag("purge") == 0.0
    organic = next(m for m in result.not_purchases if m.event_type == "organic_breakout")
    assert organic.found_as_organic == 1
    assert result.all_targets_met


def test_alert_on_a_clean_account_is_a_false_positive() -> None:
    alerts = [alert("1", "ig:a", 1), alert("2", "ig:b", 2), alert("3", "ig:c", 30), alert("x", "ig:clean", 5)]
    result = evaluate(TRUTH, alerts, OBSERVATIONS)
    assert result.overall.precision == pytest.approx(3 / 4)
    assert result.overall.recall == 1.0
    assert result.false_alerts_without_incident == 1
    assert not next(t for t in result.targets() if t.name == "suspected_purchase precision").met


def test_purchase_alert_on_a_breakout_is_a_misflag_and_a_false_positive() -> None:
    alerts = [alert("1", "ig:a", 1), alert("2", "ig:b", 2), alert("3", "ig:c", 30), alert("4", "ig:d", 8)]
    result = evaluate(TRUTH, alerts, OBSERVATIONS)
    assert result.misflag("organic_breakout") == 1.0
    assert result.overall.false_alerts == 1
    assert result.false_alerts_without_incident == 0


def test_missed_purchase_lowers_recall_of_its_type_only() -> None:
    alerts = [alert("1", "ig:a", 1), alert("3", "ig:c", 30)]
    result = evaluate(TRUTH, alerts, OBSERVATIONS)
    rows = {row.label: row for row in result.per_type}
    assert rows["purchase_round"].recall == 0.0
    assert rows["purchase_instant"].recall == 1.0
    assert result.overall.recall == pytest.approx(2 / 3)
    assert result.instant_steps.recall == pytest.approx(1 / 2)


def test_alert_before_the_incident_or_after_the_grace_does_not_match() -> None:
    alerts = [alert("early", "ig:a", -1), alert("late", "ig:b", 30)]
    result = evaluate(TRUTH, alerts, OBSERVATIONS, grace=timedelta(hours=24))
    assert result.overall.detected == 0
    assert result.overall.false_alerts == 2


def test_alert_within_the_grace_after_a_drip_ends_matches() -> None:
    result = evaluate(TRUTH, [alert("3", "ig:c", 72 + 23)], OBSERVATIONS, grace=timedelta(hours=24))
    assert next(r for r in result.per_type if r.label == "purchase_drip").detected == 1


def test_delay_counts_follower_observations_after_the_start_up_to_detection() -> None:
    # ig:a observed at -2, 1, 3, 5h: an alert at 3h is the second observation after the step.
    result = evaluate(TRUTH[:1], [alert("1", "ig:a", 3)], OBSERVATIONS)
    assert result.overall.median_delay == 2
    result = evaluate(TRUTH[:1], [alert("1", "ig:a", 1)], OBSERVATIONS)
    assert result.overall.median_delay == 1


def test_delay_uses_the_first_of_several_alerts_and_counts_the_rest_as_duplicates() -> None:
    alerts = [alert("late", "ig:a", 5), alert("first", "ig:a", 1)]
    result = evaluate(TRUTH[:1], alerts, OBSERVATIONS)
    assert result.overall.median_delay == 1
    assert result.duplicate_alerts == 1
    assert result.overall.precision == 1.0


def test_median_delay_over_incidents() -> None:
    alerts = [alert("1", "ig:a", 5), alert("2", "ig:b", 2), alert("3", "ig:c", 40)]
    # delays: a -> 3 (1, 3, 5), b -> 1 (2), c -> 4 (10, 20, 30, 40)
    assert evaluate(TRUTH, alerts, OBSERVATIONS).overall.median_delay == 3


def test_events_without_followers_do_not_count_as_observations() -> None:
    events = snapshots("ig:a", [1, 2]) + [{"account_id": "ig:a", "observed_at": at(1.5), "followers": None}]
    assert len(follower_observations(events)["ig:a"]) == 2


def test_only_suspected_purchase_alerts_count_for_purchase_recall() -> None:
    result = evaluate(TRUTH[:1], [alert("1", "ig:a", 1, "organic_breakout")], OBSERVATIONS)
    assert result.overall.recall == 0.0
    assert result.overall.median_delay is None
    assert not next(t for t in result.targets() if "delay" in t.name).met


def test_alert_timestamps_may_be_datetimes() -> None:
    record = alert("1", "ig:a", 1) | {"detected_at": T0 + timedelta(hours=1)}
    assert evaluate(TRUTH[:1], [record], OBSERVATIONS).overall.recall == 1.0


def test_spam_in_the_top_influencers_uses_each_accounts_latest_profile() -> None:
    truth = [incident("ig:spam", "spam_account", None, end=500.0)]
    real = [{"account_id": f"ig:real{i}", "primary_niche": "knitting", "score": 0.5} for i in range(10)]
    spam_high = {"account_id": "ig:spam", "primary_niche": "knitting", "score": 0.9}
    spam_low = spam_high | {"score": 0.1}
    assert evaluate(truth, [], {}, influencers=[spam_low, *real, spam_high]).spam_in_top_influencers == 1
    assert evaluate(truth, [], {}, influencers=[spam_high, *real, spam_low]).spam_in_top_influencers == 0
    assert evaluate(truth, [], {}).spam_in_top_influencers is None


def test_report_lists_rows_and_targets() -> None:
    report = format_report(evaluate(TRUTH, [alert("1", "ig:a", 1)], OBSERVATIONS))
    assert "purchase_instant" in report and "purge" in report
    assert "[MISSED] suspected_purchase recall" in report
    assert "[   met] suspected_purchase precision" in report


def test_honest_accounts_are_those_without_an_incident_ordinary_life_aside() -> None:
    truth = [*TRUTH, incident("ig:good", "good_post", None, end=48.0, added=300),
             incident("ig:out", "outage_catchup", None, end=30.0, added=50)]
    observations = follower_observations(
        snapshots("ig:a", [-2, 1, 3, 5]) + snapshots("ig:quiet", [-100, 620]) + snapshots("ig:good", [0, 10])
        + snapshots("ig:out", [0, 40])
    )
    alerts = [alert("1", "ig:a", 1), alert("2", "ig:good", 20), alert("3", "ig:quiet", 300),
              alert("4", "ig:quiet", 400), alert("5", "ig:out", 35, "organic_breakout")]
    result = evaluate(truth, alerts, observations)
    # Honest: ig:good, ig:out, ig:quiet (ig:a..e carry incidents). Accused: ig:good and ig:quiet.
    assert (result.honest.accounts, result.honest.accused) == (3, 2)
    assert result.honest.days == pytest.approx(30.0)
    assert result.misflag("good_post") == 1.0 and result.misflag("outage_catchup") == 0.0
    assert result.overall.false_alerts == 3


def test_honest_accused_share_is_scaled_to_35_days_at_a_constant_hazard() -> None:
    assert HonestAccounts(1000, 3, 35.0).accused_share_35_days == pytest.approx(0.003)
    assert HonestAccounts(1000, 3, 30.0).accused_share_35_days == pytest.approx(1 - 0.997 ** (35 / 30))
    assert HonestAccounts(1000, 0, 30.0).accused_share_35_days == 0.0


def test_breakouts_and_purges_are_counted_together_against_their_target() -> None:
    alerts = [alert("1", "ig:a", 1), alert("2", "ig:b", 2), alert("3", "ig:c", 30), alert("4", "ig:e", 2)]
    result = evaluate(TRUTH, alerts, OBSERVATIONS)
    assert result.misflag_of(("organic_breakout", "purge")) == pytest.approx(1 / 2)
    target = next(t for t in result.targets() if t.name.startswith("organic breakouts and purges"))
    assert not target.met and target.threshold == 0.01


def test_instant_purchases_caught_on_the_second_observation_miss_the_delay_target() -> None:
    result = evaluate(TRUTH[:1], [alert("1", "ig:a", 3)], OBSERVATIONS)
    target = next(t for t in result.targets() if t.name.startswith("instant purchases: median delay"))
    assert target.value == 2 and not target.met
    result = evaluate(TRUTH[:1], [alert("1", "ig:a", 1)], OBSERVATIONS)
    assert next(t for t in result.targets() if t.name.startswith("instant purchases: median delay")).met


def test_grace_reaches_the_second_observation_after_the_incident_on_slowly_polled_accounts() -> None:
    # Polled every 30 h: the second observation after the step comes 31 h later, past the 24 h grace.
    observations = follower_observations(snapshots("ig:a", [-30, 1, 31, 61]))
    assert evaluate(TRUTH[:1], [alert("1", "ig:a", 31)], observations).overall.recall == 1.0
    late = evaluate(TRUTH[:1], [alert("1", "ig:a", 61)], observations)
    assert late.overall.recall == 0.0 and late.overall.false_alerts == 1


def test_false_alerts_are_listed_with_the_accounts_labels_and_evidence() -> None:
    truth = [*TRUTH, incident("ig:good", "good_post", None, end=48.0, added=300)]
    false = alert("x", "ig:good", 20) | {"followers_before": 10_000, "followers_after": 10_400,
                                          "growth_relative": 0.04,
                                          "evidence": [{"name": "unexplained_growth", "value": 400.0, "detail": ""}]}
    alerts = [alert("1", "ig:a", 1), false]
    result = evaluate(truth, alerts, OBSERVATIONS)
    assert result.false_alert_ids == ("x",)
    listing = format_false_alerts(result, truth, alerts, limit=5)
    assert "ig:good" in listing and "good_post +20h" in listing and "unexplained_growth=400" in listing
    assert "ig:a" not in listing
