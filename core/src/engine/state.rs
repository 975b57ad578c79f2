//! Per-account state (streams/core/state.py): everything the engine knows about one
//! account, and its changelog format.
//!
//! The JSON format (version 1) is the one the Python engine writes, read and written
//! here field for field, so either engine can take over the other's state.

use serde_json::{json, Map, Value};

use super::config::{EngineConfig, Tier, DAY, HOUR};
use super::windows::{BucketRing, PostObservation, PostWindow};

pub const STATE_FORMAT: i64 = 1;

/// What the engine keeps of one input event while it waits in the reorder buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    pub ts: f64,
    pub followers: i64,
    pub handle: String,
    pub post_id: Option<String>,
    pub posted_ts: i64,
    pub interactions: i64,
    pub views: Option<i64>,
    pub niches: Vec<String>,
    pub comments: i64,
}

impl Observation {
    /// Total order independent of arrival: event time, then content.
    pub fn order_cmp(&self, other: &Observation) -> std::cmp::Ordering {
        self.ts
            .total_cmp(&other.ts)
            .then_with(|| self.post_id.as_deref().unwrap_or("").cmp(other.post_id.as_deref().unwrap_or("")))
            .then_with(|| self.followers.cmp(&other.followers))
            .then_with(|| self.interactions.cmp(&other.interactions))
    }
}

/// A follower-spike episode: one alert, extended while growth stays abnormal.
#[derive(Clone, Debug, PartialEq)]
pub struct Episode {
    pub alert_id: String,
    pub classification: Classification,
    pub start_ts: i64,
    pub last_exceed_ts: i64,
    /// when the alert was raised (0 in state written before it was kept)
    pub alert_ts: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Classification {
    SuspectedPurchase,
    OrganicBreakout,
}

impl Classification {
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::SuspectedPurchase => "suspected_purchase",
            Classification::OrganicBreakout => "organic_breakout",
        }
    }

    pub fn parse(name: &str) -> Option<Classification> {
        match name {
            "suspected_purchase" => Some(Classification::SuspectedPurchase),
            "organic_breakout" => Some(Classification::OrganicBreakout),
            _ => None,
        }
    }
}

/// Robust hourly growth statistics, refreshed daily (persisted).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Baseline {
    pub hour: i64,
    /// the expected growth per hour: the larger of the rates' median and trimmed mean
    /// (spikes.rs `baseline_before`)
    pub median_per_hour: f64,
    pub mad_per_hour: f64,
    pub rates: usize,
}

/// Which cut-off a baseline was computed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaselineKey {
    Short,
    Long,
    Held,
}

impl BaselineKey {
    pub const ALL: [BaselineKey; 3] = [BaselineKey::Short, BaselineKey::Long, BaselineKey::Held];

    pub fn as_str(self) -> &'static str {
        match self {
            BaselineKey::Short => "short",
            BaselineKey::Long => "long",
            BaselineKey::Held => "held",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Baselines {
    /// (key, baseline) in the order they were first computed (the state's "b" order).
    pub entries: Vec<(BaselineKey, Baseline)>,
}

impl Baselines {
    pub fn get(&self, key: BaselineKey) -> Option<Baseline> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, b)| *b)
    }

    pub fn set(&mut self, key: BaselineKey, baseline: Baseline) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = baseline,
            None => self.entries.push((key, baseline)),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct LastProfile {
    pub score: f64,
    pub tier: Tier,
    pub primary_niche: String,
    /// its engagement component (None in state written before it was kept)
    pub engagement: Option<f64>,
}

/// (niche, tier, bin) an account contributes to the cohort summary.
pub type CohortEntry = (String, Tier, usize);

#[derive(Clone, Debug, PartialEq)]
pub struct AccountState {
    pub account_id: String,
    pub platform: String,
    pub handle: String,
    pub hourly: BucketRing,
    pub daily: BucketRing,
    pub posts: PostWindow,
    /// latest observation applied to the windows
    pub latest_ts: f64,
    pub followers: i64,
    /// latest observation received (ahead of latest_ts while buffered)
    pub seen_ts: f64,
    pub buffer: Vec<Observation>,
    pub episode: Option<Episode>,
    /// event time a spike was first seen while its verdict waits
    pub pending_since: Option<i64>,
    /// window start of the spike when first seen
    pub pending_start: Option<i64>,
    /// alert times of suspected purchases (at most 5)
    pub purchase_alerts: Vec<i64>,
    pub last_profile: Option<LastProfile>,
    pub cohort_entry: Option<CohortEntry>,
    pub baselines: Baselines,
    /// event time of the last influencer rescoring
    pub scored_ts: f64,
    /// latest_ts when a settle pass last published its rescoring (not persisted)
    pub settled_ts: f64,
    /// when this engine first processed the account (1, 2, ...; 0: not yet; not
    /// persisted): the order a Python dict keeps, which `Engine::flush` follows
    pub arrival: u64,
}

impl AccountState {
    pub fn new(account_id: &str, platform: &str, handle: &str, config: &EngineConfig) -> Self {
        AccountState {
            account_id: account_id.to_owned(),
            platform: platform.to_owned(),
            handle: handle.to_owned(),
            hourly: BucketRing::new(HOUR, config.hourly_buckets_kept),
            daily: BucketRing::new(DAY, config.daily_buckets_kept),
            posts: PostWindow::new(config.max_posts_tracked, config.post_max_age_s),
            latest_ts: 0.0,
            followers: 0,
            seen_ts: 0.0,
            buffer: Vec::new(),
            episode: None,
            pending_since: None,
            pending_start: None,
            purchase_alerts: Vec::new(),
            last_profile: None,
            cohort_entry: None,
            baselines: Baselines::default(),
            scored_ts: 0.0,
            settled_ts: 0.0,
            arrival: 0,
        }
    }

    pub fn observe_followers(&mut self, ts: f64, followers: i64) {
        self.hourly.observe(ts, followers);
        self.daily.observe(ts, followers);
        if ts >= self.latest_ts {
            self.latest_ts = ts;
            self.followers = followers;
        }
    }

    /// Posts per niche among the tracked posts, niches in first-seen order.
    pub fn niche_counts(&self) -> Vec<(String, usize)> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for post in self.posts.values() {
            for niche in &post.niches {
                match counts.iter_mut().find(|(n, _)| n == niche) {
                    Some(entry) => entry.1 += 1,
                    None => counts.push((niche.clone(), 1)),
                }
            }
        }
        counts
    }

    // --- the changelog format ------------------------------------------------------------
    pub fn to_json(&self) -> Value {
        let posts: Map<String, Value> = self
            .posts
            .posts
            .iter()
            .map(|(id, p)| {
                let gap = if p.prev_observed_ts != 0 { p.observed_ts - p.prev_observed_ts } else { 0 };
                (
                    id.clone(),
                    json!([p.posted_ts, p.observed_ts, p.interactions, p.followers, p.views, p.niches, p.comments,
                           p.prev_interactions, gap]),
                )
            })
            .collect();
        let baselines: Map<String, Value> = self
            .baselines
            .entries
            .iter()
            .map(|(k, b)| (k.as_str().to_owned(), json!([b.hour, b.median_per_hour, b.mad_per_hour, b.rates])))
            .collect();
        json!({
            "v": STATE_FORMAT,
            "a": self.account_id,
            "p": self.platform,
            "h": self.handle,
            "t": self.latest_ts,
            "s": self.seen_ts,
            "B": self.buffer.iter().map(|o| json!([o.ts, o.followers, o.handle, o.post_id, o.posted_ts,
                    o.interactions, o.views, o.niches, o.comments])).collect::<Vec<_>>(),
            "f": self.followers,
            "H": self.hourly.to_flat(),
            "D": self.daily.to_flat(),
            "P": posts,
            "E": self.episode.as_ref().map(|e| json!([e.alert_id, e.classification.as_str(), e.start_ts,
                    e.last_exceed_ts, e.alert_ts])),
            "W": self.pending_since.map(|since| json!([since, self.pending_start])),
            "X": self.purchase_alerts,
            "L": self.last_profile.as_ref().map(|l| json!([l.score, l.tier.as_str(), l.primary_niche, l.engagement])),
            "C": self.cohort_entry.as_ref().map(|(n, t, b)| json!([n, t.as_str(), b])),
            "S": self.scored_ts,
            "b": baselines,
        })
    }

    pub fn to_json_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.to_json()).unwrap_or_default()
    }

    pub fn from_json_bytes(raw: &[u8], config: &EngineConfig) -> Result<Self, StateError> {
        let value: Value = serde_json::from_slice(raw).map_err(|e| StateError(format!("account state is not JSON: {e}")))?;
        Self::from_json(&value, config)
    }

    pub fn from_json(raw: &Value, config: &EngineConfig) -> Result<Self, StateError> {
        let version = raw.get("v").and_then(Value::as_i64);
        if version != Some(STATE_FORMAT) {
            return Err(StateError(format!("unknown account state format {}", raw.get("v").unwrap_or(&Value::Null))));
        }
        let mut posts = PostWindow::new(config.max_posts_tracked, config.post_max_age_s);
        for (id, p) in obj(raw, "P")? {
            let items = arr(p)?;
            let observed = int_at(items, 1)?;
            let gap = if items.len() >= 9 { int_at(items, 8)? } else { 0 };
            posts.posts.push((
                id.clone(),
                PostObservation {
                    posted_ts: int_at(items, 0)?,
                    observed_ts: observed,
                    interactions: sum_at(items, 2)?,
                    followers: int_at(items, 3)?,
                    views: opt_int_at(items, 4)?,
                    niches: strings(items.get(5))?,
                    comments: int_at(items, 6)?,
                    prev_interactions: if items.len() >= 9 { sum_at(items, 7)? } else { 0 },
                    prev_observed_ts: if gap != 0 { observed - gap } else { 0 },
                },
            ));
        }
        let mut buffer = Vec::new();
        for o in arr(field(raw, "B")?)? {
            let items = arr(o)?;
            buffer.push(Observation {
                ts: time_at(items, 0)?,
                followers: int_at(items, 1)?,
                handle: str_at(items, 2)?,
                post_id: items.get(3).and_then(Value::as_str).map(str::to_owned),
                posted_ts: int_at(items, 4)?,
                interactions: sum_at(items, 5)?,
                views: opt_int_at(items, 6)?,
                niches: strings(items.get(7))?,
                comments: int_at(items, 8)?,
            });
        }
        let episode = match field(raw, "E")? {
            Value::Null => None,
            e => {
                let items = arr(e)?;
                Some(Episode {
                    alert_id: str_at(items, 0)?,
                    classification: Classification::parse(&str_at(items, 1)?)
                        .ok_or_else(|| StateError("unknown classification in account state".into()))?,
                    start_ts: int_at(items, 2)?,
                    last_exceed_ts: int_at(items, 3)?,
                    alert_ts: if items.len() >= 5 { int_at(items, 4)? } else { 0 },
                })
            }
        };
        let (pending_since, pending_start) = match field(raw, "W")? {
            Value::Null => (None, None),
            w => {
                let items = arr(w)?;
                (Some(int_at(items, 0)?), opt_int_at(items, 1)?)
            }
        };
        let last_profile = match field(raw, "L")? {
            Value::Null => None,
            l => {
                let items = arr(l)?;
                Some(LastProfile {
                    score: float_at(items, 0)?,
                    tier: tier_at(items, 1)?,
                    primary_niche: str_at(items, 2)?,
                    engagement: items.get(3).and_then(Value::as_f64),
                })
            }
        };
        let cohort_entry = match field(raw, "C")? {
            Value::Null => None,
            c => {
                let items = arr(c)?;
                Some((str_at(items, 0)?, tier_at(items, 1)?, int_at(items, 2)? as usize))
            }
        };
        let mut baselines = Baselines::default();
        if let Some(Value::Object(map)) = raw.get("b") {
            for (key, b) in map {
                let Some(key) = BaselineKey::ALL.into_iter().find(|k| k.as_str() == key) else { continue };
                let items = arr(b)?;
                baselines.set(
                    key,
                    Baseline {
                        hour: int_at(items, 0)?,
                        median_per_hour: float_at(items, 1)?,
                        mad_per_hour: float_at(items, 2)?,
                        rates: int_at(items, 3)? as usize,
                    },
                );
            }
        }
        Ok(AccountState {
            account_id: string(raw, "a")?,
            platform: string(raw, "p")?,
            handle: string(raw, "h")?,
            hourly: BucketRing::from_flat(HOUR, config.hourly_buckets_kept, &ints(field(raw, "H")?)?),
            daily: BucketRing::from_flat(DAY, config.daily_buckets_kept, &ints(field(raw, "D")?)?),
            posts,
            latest_ts: time(raw, "t")?,
            followers: int_within(Some(field(raw, "f")?), LIMIT)?,
            seen_ts: time(raw, "s")?,
            buffer,
            episode,
            pending_since,
            pending_start,
            purchase_alerts: ints(field(raw, "X")?)?,
            last_profile,
            cohort_entry,
            baselines,
            scored_ts: if raw.get("S").is_some() { time(raw, "S")? } else { 0.0 },
            settled_ts: 0.0,
            arrival: 0,
        })
    }
}

/// A changelog record that is not an account state this engine can read.
#[derive(Debug, Clone, PartialEq)]
pub struct StateError(pub String);

fn field<'v>(raw: &'v Value, key: &str) -> Result<&'v Value, StateError> {
    raw.get(key).ok_or_else(|| StateError(format!("account state has no \"{key}\"")))
}

fn obj<'v>(raw: &'v Value, key: &str) -> Result<&'v Map<String, Value>, StateError> {
    field(raw, key)?.as_object().ok_or_else(|| StateError(format!("account state: \"{key}\" is not an object")))
}

fn arr(value: &Value) -> Result<&Vec<Value>, StateError> {
    value.as_array().ok_or_else(|| StateError("account state: expected an array".into()))
}

fn string(raw: &Value, key: &str) -> Result<String, StateError> {
    field(raw, key)?.as_str().map(str::to_owned).ok_or_else(|| StateError(format!("account state: \"{key}\" is not a string")))
}

/// The bound the contract puts on counts and times (schemas.events.COUNT_LIMIT); a sum of
/// three counters (likes + comments + shares) has three times that.
const LIMIT: i64 = crate::decode::COUNT_LIMIT;

/// An event time: finite, not negative, below the count bound (the changelog check's `_Time`).
fn time_value(value: Option<&Value>, what: &str) -> Result<f64, StateError> {
    value
        .and_then(Value::as_f64)
        .filter(|t| t.is_finite() && *t >= 0.0 && *t < LIMIT as f64)
        .ok_or_else(|| StateError(format!("account state: {what} is not a time")))
}

fn time(raw: &Value, key: &str) -> Result<f64, StateError> {
    time_value(Some(field(raw, key)?), &format!("\"{key}\""))
}

fn time_at(items: &[Value], i: usize) -> Result<f64, StateError> {
    time_value(items.get(i), "an array item")
}

fn int_within(value: Option<&Value>, limit: i64) -> Result<i64, StateError> {
    let value = value.ok_or_else(|| StateError("account state: array too short".into()))?;
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < limit as f64).map(|f| f as i64))
        .filter(|i| i.unsigned_abs() < limit as u64)
        .ok_or_else(|| StateError("account state: expected an integer within the count bound".into()))
}

fn int_at(items: &[Value], i: usize) -> Result<i64, StateError> {
    int_within(items.get(i), LIMIT)
}

fn sum_at(items: &[Value], i: usize) -> Result<i64, StateError> {
    int_within(items.get(i), 3 * LIMIT)
}

/// An integer or null (absent at the end of the array counts as null).
fn opt_int_at(items: &[Value], i: usize) -> Result<Option<i64>, StateError> {
    match items.get(i) {
        None | Some(Value::Null) => Ok(None),
        v => int_within(v, LIMIT).map(Some),
    }
}

fn float_at(items: &[Value], i: usize) -> Result<f64, StateError> {
    items.get(i).and_then(Value::as_f64).ok_or_else(|| StateError("account state: expected a number".into()))
}

fn str_at(items: &[Value], i: usize) -> Result<String, StateError> {
    items.get(i).and_then(Value::as_str).map(str::to_owned).ok_or_else(|| StateError("account state: expected a string".into()))
}

fn tier_at(items: &[Value], i: usize) -> Result<Tier, StateError> {
    Tier::parse(&str_at(items, i)?).ok_or_else(|| StateError("account state: unknown tier".into()))
}

fn ints(value: &Value) -> Result<Vec<i64>, StateError> {
    arr(value)?.iter().map(|v| int_within(Some(v), LIMIT)).collect()
}

fn strings(value: Option<&Value>) -> Result<Vec<String>, StateError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(v) => arr(v)?
            .iter()
            .map(|s| s.as_str().map(str::to_owned).ok_or_else(|| StateError("account state: expected strings".into())))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(key: &str, value: Value) -> Result<AccountState, StateError> {
        let config = EngineConfig::default();
        let mut state = AccountState::new("instagram:inkwell", "instagram", "inkwell", &config);
        state.observe_followers(1_772_323_200.0, 12_000);
        let mut raw = state.to_json();
        raw[key] = value;
        AccountState::from_json(&raw, &config)
    }

    #[test]
    fn a_json_state_is_held_to_the_count_and_time_bounds_of_the_changelog_check() {
        // schemas.events.COUNT_LIMIT is 2**53; streams/changelog.py refuses the same values
        assert!(with("s", serde_json::json!(1_772_330_000.0)).is_ok());
        assert!(with("s", serde_json::json!(9_007_199_254_740_991.0_f64 + 1.0)).is_err());
        assert!(with("t", serde_json::json!(-1.0)).is_err());
        assert!(with("S", serde_json::json!(9_007_199_254_740_992.0_f64)).is_err());
        assert!(with("f", serde_json::json!(9_007_199_254_740_991_i64)).is_ok());
        assert!(with("f", serde_json::json!(9_007_199_254_740_992_i64)).is_err());
        assert!(with("H", serde_json::json!([1_772_323_200_i64, 1_i64 << 60])).is_err());
    }
}
