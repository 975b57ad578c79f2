//! Thresholds and limits of the detection engine (streams/core/config.py), one value.

pub const HOUR: f64 = 3600.0;
pub const DAY: f64 = 86400.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    Nano,
    Micro,
    Mid,
    Macro,
    Mega,
}

impl Tier {
    pub const ALL: [Tier; 5] = [Tier::Nano, Tier::Micro, Tier::Mid, Tier::Macro, Tier::Mega];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Nano => "nano",
            Tier::Micro => "micro",
            Tier::Mid => "mid",
            Tier::Macro => "macro",
            Tier::Mega => "mega",
        }
    }

    pub fn parse(name: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == name)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TierBounds {
    pub micro_from: i64,
    pub mid_from: i64,
    pub macro_from: i64,
    pub mega_from: i64,
}

impl Default for TierBounds {
    fn default() -> Self {
        TierBounds { micro_from: 10_000, mid_from: 100_000, macro_from: 500_000, mega_from: 1_000_000 }
    }
}

impl TierBounds {
    pub fn tier_for(&self, followers: i64) -> Tier {
        if followers < self.micro_from {
            Tier::Nano
        } else if followers < self.mid_from {
            Tier::Micro
        } else if followers < self.macro_from {
            Tier::Mid
        } else if followers < self.mega_from {
            Tier::Macro
        } else {
            Tier::Mega
        }
    }
}

/// Every field of `streams.core.config.EngineConfig`, same names and defaults. The two
/// per-tier tables are indexed by `Tier::index()`.
#[derive(Clone, Debug, PartialEq)]
pub struct EngineConfig {
    pub allowed_lateness_s: f64,
    pub reorder_delay_s: f64,
    pub max_buffered_observations: usize,
    pub hourly_buckets_kept: usize,
    pub daily_buckets_kept: usize,
    pub max_posts_tracked: usize,
    pub post_max_age_s: f64,

    pub short_window_s: f64,
    pub long_window_s: f64,
    pub sigma_k: f64,
    pub short_min_relative: f64,
    pub long_min_relative: f64,
    pub min_excess_followers: i64,
    pub min_baseline_rates: usize,
    pub prior_sigma_relative_per_hour: f64,
    pub episode_cooldown_s: f64,

    pub viral_multiple: f64,
    pub viral_min_interactions: i64,
    pub viral_lookback_s: f64,
    pub conversion_prior: [f64; 5],
    pub conversion_prior_weight: f64,
    pub conversion_window_s: f64,
    pub good_post_multiple: f64,
    pub explained_tolerance: f64,
    pub post_maturity_s: f64,
    pub classification_hold_s: f64,
    pub unobserved_gap_s: f64,
    pub audience_hold_s: f64,
    pub audience_log_odds: f64,
    pub newcomer_engagement: f64,

    pub tiers: TierBounds,
    pub typical_engagement: [f64; 5],
    pub cohort_prior_weight: f64,
    pub min_posts_for_profile: usize,
    pub material_score_change: f64,
    pub weight_engagement: f64,
    pub weight_niche_focus: f64,
    pub weight_consistency: f64,
    pub weight_authenticity: f64,
    pub suspicion_memory_s: f64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            allowed_lateness_s: 6.0 * HOUR,
            reorder_delay_s: 0.0,
            max_buffered_observations: 256,
            hourly_buckets_kept: 7 * 24,
            daily_buckets_kept: 90,
            max_posts_tracked: 40,
            post_max_age_s: 30.0 * DAY,

            short_window_s: 24.0 * HOUR,
            long_window_s: 72.0 * HOUR,
            sigma_k: 6.0,
            short_min_relative: 0.02,
            long_min_relative: 0.03,
            min_excess_followers: 50,
            min_baseline_rates: 12,
            prior_sigma_relative_per_hour: 0.0005,
            episode_cooldown_s: 48.0 * HOUR,

            viral_multiple: 5.0,
            viral_min_interactions: 20,
            viral_lookback_s: 24.0 * HOUR,
            conversion_prior: [0.01; 5],
            conversion_prior_weight: 2.0,
            conversion_window_s: 48.0 * HOUR,
            good_post_multiple: 2.0,
            explained_tolerance: 3.0,
            post_maturity_s: 12.0 * HOUR,
            classification_hold_s: 12.0 * HOUR,
            unobserved_gap_s: 24.0 * HOUR,
            audience_hold_s: 72.0 * HOUR,
            audience_log_odds: 19.0_f64.ln(),
            newcomer_engagement: 0.25,

            tiers: TierBounds::default(),
            typical_engagement: [0.05, 0.03, 0.02, 0.015, 0.01],
            cohort_prior_weight: 5.0,
            min_posts_for_profile: 3,
            material_score_change: 0.05,
            weight_engagement: 0.40,
            weight_niche_focus: 0.20,
            weight_consistency: 0.15,
            weight_authenticity: 0.25,
            suspicion_memory_s: 90.0 * DAY,
        }
    }
}
