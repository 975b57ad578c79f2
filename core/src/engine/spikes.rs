//! Follower-spike detection against the account's own robust baseline
//! (streams/core/spikes.py). Not ported yet.

use super::config::EngineConfig;
use super::mentions::MentionBook;
use super::output::Alert;
use super::state::{AccountState, Baseline};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    Short,
    Long,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Exceedance {
    pub window: Window,
    pub ref_ts: f64,
    pub ref_followers: i64,
    pub excess: f64,
    pub threshold: f64,
    pub expected: f64,
    pub baseline: Baseline,
    pub sigma: f64,
}

/// Update the account's episode and return an alert when a new episode opens.
pub fn evaluate(state: &mut AccountState, config: &EngineConfig, mentions: Option<&MentionBook>) -> Option<Alert> {
    let _ = (state, config, mentions);
    todo!("spikes::evaluate")
}
