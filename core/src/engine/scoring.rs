//! Micro-influencer score and the cohort summary (streams/core/scoring.py). Not ported yet.

use super::config::EngineConfig;
use super::output::Profile;
use super::state::AccountState;

/// Per (niche, tier) histogram of accounts' median engagement rates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CohortBook {}

pub fn profile_if_changed(
    state: &mut AccountState,
    config: &EngineConfig,
    cohorts: &mut CohortBook,
    threshold: Option<f64>,
) -> Option<Profile> {
    let _ = (state, config, cohorts, threshold);
    todo!("scoring::profile_if_changed")
}

pub fn engagement_drift(state: &AccountState, config: &EngineConfig, cohorts: &CohortBook) -> f64 {
    let _ = (state, config, cohorts);
    todo!("scoring::engagement_drift")
}
