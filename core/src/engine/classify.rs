//! Why an account grew: organic breakout or suspected purchase (streams/core/classify.py).
//! Not ported yet.

use super::config::EngineConfig;
use super::mentions::MentionBook;
use super::output::Evidence;
use super::spikes::Exceedance;
use super::state::{AccountState, Classification};

#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub classification: Classification,
    pub evidence: Vec<Evidence>,
    /// A verdict the next observations may still overturn: held for up to `hold_s`.
    pub undecided: bool,
    pub hold_s: f64,
}

pub fn classify(
    state: &AccountState,
    config: &EngineConfig,
    found: &Exceedance,
    points: &[(i64, i64)],
    mentions: Option<&MentionBook>,
    explain_from: Option<f64>,
) -> Verdict {
    let _ = (state, config, found, points, mentions, explain_from);
    todo!("classify::classify")
}
