//! What the engine publishes: follower-spike alerts and influencer profiles, encoded as
//! the contract's JSON (schemas/events.py: FollowerSpikeAlert, InfluencerProfile).

use serde_json::{json, Value};

use super::config::Tier;
use super::state::Classification;

pub const SCHEMA_VERSION: i64 = 1;

/// One reason behind a decision, as a number and as a sentence.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    pub name: String,
    pub value: f64,
    pub detail: String,
}

impl Evidence {
    pub fn new(name: &str, value: f64, detail: String) -> Self {
        Evidence { name: name.to_owned(), value, detail }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Alert {
    pub alert_id: String,
    pub account_id: String,
    pub platform: String,
    pub handle: String,
    pub niches: Vec<String>,
    pub classification: Classification,
    /// event times, epoch seconds
    pub window_start: f64,
    pub window_end: f64,
    pub detected_at: f64,
    pub followers_before: i64,
    pub followers_after: i64,
    pub growth: i64,
    pub growth_relative: f64,
    pub expected_growth: f64,
    pub baseline_growth_per_hour: f64,
    pub baseline_mad_per_hour: f64,
    pub evidence: Vec<Evidence>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreComponents {
    pub engagement: f64,
    pub niche_focus: f64,
    pub consistency: f64,
    pub authenticity: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    pub profile_id: String,
    pub account_id: String,
    pub platform: String,
    pub handle: String,
    pub tier: Tier,
    pub followers: i64,
    pub niches: Vec<String>,
    pub primary_niche: String,
    pub score: f64,
    pub components: ScoreComponents,
    pub median_engagement_rate: f64,
    pub cohort_size: i64,
    pub posts_in_window: i64,
    /// event times, epoch seconds
    pub window_start: f64,
    pub window_end: f64,
    pub updated_at: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    Alert(Alert),
    Profile(Profile),
}

/// `datetime.fromtimestamp(ts, UTC)` as the contract writes it: `2026-03-14T10:30:00Z`,
/// with `.ffffff` when there are microseconds (rounded half to even, as Python does).
pub fn utc_text(ts: f64) -> String {
    let mut seconds = ts.floor();
    let mut micros = round_half_even((ts - seconds) * 1e6);
    if micros >= 1e6 {
        micros -= 1e6;
        seconds += 1.0;
    }
    let seconds = seconds as i64;
    let micros = micros as i64;
    let days = seconds.div_euclid(86_400);
    let rest = seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    if micros != 0 {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{micros:06}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
    }
}

fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Alert {
    pub fn to_json(&self) -> Value {
        json!({
            "kind": "follower_spike_alert",
            "schema_version": SCHEMA_VERSION,
            "alert_id": self.alert_id,
            "account_id": self.account_id,
            "platform": self.platform,
            "handle": self.handle,
            "niches": self.niches,
            "classification": self.classification.as_str(),
            "window_start": utc_text(self.window_start),
            "window_end": utc_text(self.window_end),
            "detected_at": utc_text(self.detected_at),
            "followers_before": self.followers_before,
            "followers_after": self.followers_after,
            "growth": self.growth,
            "growth_relative": self.growth_relative,
            "expected_growth": self.expected_growth,
            "baseline_growth_per_hour": self.baseline_growth_per_hour,
            "baseline_mad_per_hour": self.baseline_mad_per_hour,
            "evidence": self.evidence.iter().map(|e| json!({"name": e.name, "value": e.value, "detail": e.detail})).collect::<Vec<_>>(),
        })
    }
}

impl Profile {
    pub fn to_json(&self) -> Value {
        json!({
            "kind": "influencer_profile",
            "schema_version": SCHEMA_VERSION,
            "profile_id": self.profile_id,
            "account_id": self.account_id,
            "platform": self.platform,
            "handle": self.handle,
            "tier": self.tier.as_str(),
            "followers": self.followers,
            "niches": self.niches,
            "primary_niche": self.primary_niche,
            "score": self.score,
            "components": {
                "engagement": self.components.engagement,
                "niche_focus": self.components.niche_focus,
                "consistency": self.components.consistency,
                "authenticity": self.components.authenticity,
            },
            "median_engagement_rate": self.median_engagement_rate,
            "cohort_size": self.cohort_size,
            "posts_in_window": self.posts_in_window,
            "window_start": utc_text(self.window_start),
            "window_end": utc_text(self.window_end),
            "updated_at": utc_text(self.updated_at),
        })
    }
}

impl Output {
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let value = match self {
            Output::Alert(a) => a.to_json(),
            Output::Profile(p) => p.to_json(),
        };
        serde_json::to_vec(&value).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_written_as_the_contract_writes_them() {
        assert_eq!(utc_text(1.5e9), "2017-07-14T02:40:00Z");
        assert_eq!(utc_text(1.5e9 + 0.25), "2017-07-14T02:40:00.250000Z");
        assert_eq!(utc_text(1_500_000_000.000001), "2017-07-14T02:40:00.000001Z");
        assert_eq!(utc_text(951_782_400.0), "2000-02-29T00:00:00Z");
    }
}
