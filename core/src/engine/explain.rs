//! How much of a follower spike the account's engagement explains
//! (streams/core/explain.py; the reasoning and a worked example are in its docstring).
//!
//! ```text
//!   extra(p)    = e                      e = lifetime(p) - median >= 2 * spread
//!                 e * e / (2 * spread)   0 < e < 2 * spread (noise is not reach)
//!   explained   = c * sum(extra(p))      c = eta * followers_before / median
//!   unexplained = excess - tolerance * explained
//! ```
//!
//! `eta` (the elasticity) is learned from the account's earlier good posts, shrunk toward
//! the tier's prior and never below it. `audience_response` regresses the log interactions
//! of posts published since the growth began on the log of the followers each was
//! published to.
//!
//! Float for float the same as the Python: the same order of operations, sums from the
//! left starting at 0 (Python 3.11's `sum()`), Python's `max`/`min` (the first argument
//! wins ties and NaN comparisons).

use super::config::{EngineConfig, Tier, HOUR};
use super::state::AccountState;
use super::stats::median;
use super::windows::PostObservation;

pub const MIN_LEARNING_WINDOW_S: f64 = 12.0 * HOUR;
pub const MAD_TO_SIGMA: f64 = 1.4826;
pub const DEFAULT_SPREAD: f64 = 1.0 / 3.0;
pub const DEFAULT_LOG_SPREAD: f64 = 0.5;
pub const MIN_LOG_SPREAD: f64 = 0.1;

/// Where an account's elasticity comes from: its own history or its tier's prior.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConversionSource {
    Account,
    Tier,
}

impl ConversionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ConversionSource::Account => "account",
            ConversionSource::Tier => "tier",
        }
    }
}

/// Did engagement grow with the new followers?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudienceVerdict {
    Followed,
    NotFollowed,
}

impl AudienceVerdict {
    pub fn as_str(self) -> &'static str {
        match self {
            AudienceVerdict::Followed => "followed",
            AudienceVerdict::NotFollowed => "not_followed",
        }
    }
}

/// The account's usual interactions per post: the yardstick for "extra".
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Usual {
    pub median: f64,
    /// 1.4826 x MAD: the post-to-post noise
    pub spread: f64,
    /// 0: no history of its own, judged against the tier's typical rate
    pub posts: usize,
    /// the same noise, of log interactions
    pub log_spread: f64,
}

impl Usual {
    /// A yardstick with the default log spread (Python's `Usual(median, spread, posts)`).
    pub fn new(median: f64, spread: f64, posts: usize) -> Self {
        Usual { median, spread, posts, log_spread: DEFAULT_LOG_SPREAD }
    }

    pub fn extra(&self, interactions: f64) -> f64 {
        let excess = interactions - self.median;
        if excess <= 0.0 {
            return 0.0;
        }
        // Noise is not reach: a post within the usual spread earns little credit, one
        // standing two spreads out earns all of it.
        let band = 2.0 * self.spread;
        if excess >= band {
            excess
        } else {
            excess * excess / band
        }
    }
}

/// Followers gained per median post's worth of extra interactions, as a share of followers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conversion {
    pub elasticity: f64,
    pub source: ConversionSource,
    /// earlier good posts of the account behind the estimate
    pub learned_from: usize,
    pub tier: Tier,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Explanation {
    pub extra_interactions: f64,
    pub followers_per_interaction: f64,
    /// followers the extra engagement accounts for (point estimate)
    pub explained: f64,
    /// explained x tolerance: what the verdict gives engagement
    pub credited: f64,
    /// excess growth minus the credit (what decides)
    pub unexplained: f64,
    pub conversion: Conversion,
}

/// Median and spread of the posts published before `before_ts` (candidates kept out).
///
/// With fewer than three older posts, all but the strongest are used; with fewer than two
/// the tier's typical rate (`fallback_median`) stands in, with a spread of a third of it.
pub fn usual_interactions(
    posts: &[&PostObservation],
    before_ts: f64,
    fallback_median: f64,
    config: &EngineConfig,
) -> Usual {
    let mut earlier: Vec<f64> = posts
        .iter()
        .filter(|p| (p.posted_ts as f64) < before_ts)
        .map(|p| lifetime_interactions(p, config))
        .collect();
    if earlier.len() < 3 {
        let mut all: Vec<f64> = posts.iter().map(|p| lifetime_interactions(p, config)).collect();
        all.sort_by(f64::total_cmp);
        all.pop();
        earlier = all;
    }
    if earlier.len() < 2 {
        let typical = py_max(fallback_median, 1.0);
        return Usual::new(typical, DEFAULT_SPREAD * typical, 0);
    }
    let mid = py_max(median(&earlier), 1.0);
    let deviations: Vec<f64> = earlier.iter().map(|x| (x - mid).abs()).collect();
    let spread = MAD_TO_SIGMA * median(&deviations);
    let logs: Vec<f64> = earlier.iter().map(|&x| py_max(x, 1.0).ln()).collect();
    let log_mid = median(&logs);
    let log_deviations: Vec<f64> = logs.iter().map(|x| (x - log_mid).abs()).collect();
    let log_spread = py_max(MAD_TO_SIGMA * median(&log_deviations), MIN_LOG_SPREAD);
    Usual { median: mid, spread, posts: earlier.len(), log_spread }
}

/// The account's elasticity, learned from its good posts before `until_ts`.
pub fn conversion_for(
    state: &AccountState,
    config: &EngineConfig,
    usual: &Usual,
    rate_per_hour: f64,
    until_ts: f64,
    tier: Tier,
) -> Conversion {
    let prior = config.conversion_prior[tier.index()];
    let from_prior = Conversion { elasticity: prior, source: ConversionSource::Tier, learned_from: 0, tier };
    if usual.posts == 0 {
        return from_prior;
    }
    let good_line = config.good_post_multiple * usual.median;
    let mut good: Vec<&PostObservation> = state
        .posts
        .values()
        .filter(|p| (p.posted_ts as f64) < until_ts && lifetime_interactions(p, config) >= good_line)
        .collect();
    good.sort_by_key(|p| p.posted_ts); // stable, as Python's sorted
    let mut gains = 0.0;
    let mut extras = 0.0;
    let mut learned = 0;
    for (i, post) in good.iter().enumerate() {
        let posted = post.posted_ts as f64;
        let mut end = py_min(posted + config.conversion_window_s, until_ts);
        if let Some(next) = good.get(i + 1) {
            end = py_min(end, next.posted_ts as f64);
        }
        if end - posted < MIN_LEARNING_WINDOW_S || near_purchase(state, posted, end, config) {
            continue;
        }
        let (Some(before), Some(after)) = (followers_at(state, posted), followers_at(state, end)) else {
            continue;
        };
        if ((after.0 - before.0) as f64) < MIN_LEARNING_WINDOW_S || before.1 <= 0 {
            continue;
        }
        let hours = (after.0 - before.0) as f64 / HOUR;
        gains += ((after.1 - before.1) as f64 - py_max(rate_per_hour, 0.0) * hours) / before.1 as f64;
        extras += usual.extra(lifetime_interactions(post, config)) / usual.median;
        learned += 1;
    }
    if learned == 0 {
        return from_prior;
    }
    let weight = config.conversion_prior_weight;
    // The account's history may show it converts better than the prior, never worse: noisy
    // posts that drew no one would otherwise talk the credit down, and an accusation costs
    // more than a missed purchase.
    let elasticity = py_max((gains + weight * prior) / (extras + weight), prior);
    Conversion { elasticity, source: ConversionSource::Account, learned_from: learned, tier }
}

pub fn explain(
    config: &EngineConfig,
    conversion: &Conversion,
    usual: &Usual,
    candidates: &[&PostObservation],
    followers_before: i64,
    excess: f64,
) -> Explanation {
    let extra = py_sum(candidates.iter().map(|p| usual.extra(lifetime_interactions(p, config))));
    let per_interaction = conversion.elasticity * followers_before as f64 / usual.median;
    let explained = per_interaction * extra;
    let credited = config.explained_tolerance * explained;
    Explanation {
        extra_interactions: extra,
        followers_per_interaction: per_interaction,
        explained,
        credited,
        unexplained: excess - credited,
        conversion: *conversion,
    }
}

/// What a post is expected to collect in all, from its latest observation.
///
/// A post collects its interactions fast and then slowly: taken as 1 - exp(-age / tau),
/// 95% at `post_maturity_s` (tau a third of it), so a post last seen an hour after
/// publication, and not since, is expected to do about four times what it showed. Never
/// more than ten times: an observation seconds after publication says little.
pub fn lifetime_interactions(post: &PostObservation, config: &EngineConfig) -> f64 {
    let age = (post.observed_ts - post.posted_ts) as f64;
    if age >= config.post_maturity_s {
        return post.interactions as f64;
    }
    post.interactions as f64 / py_max(1.0 - (-3.0 * age / config.post_maturity_s).exp(), 0.1)
}

fn followers_at(state: &AccountState, ts: f64) -> Option<(i64, i64)> {
    state.hourly.at_or_before(ts).or_else(|| state.daily.at_or_before(ts))
}

fn near_purchase(state: &AccountState, start: f64, end: f64, config: &EngineConfig) -> bool {
    // Growth that ended in a purchase alert was bought, not earned: never learn from it.
    state.purchase_alerts.iter().any(|&alert| {
        let alert = alert as f64;
        start <= alert && alert <= end + config.short_window_s
    })
}

/// Did engagement grow with the new followers? (Real people engage, bought ones do not.)
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AudienceResponse {
    /// None: too little to tell yet
    pub verdict: Option<AudienceVerdict>,
    pub posts: usize,
    /// 1: interactions grew in step with followers; 0: they stayed where they were
    pub slope: f64,
    pub standard_error: f64,
}

/// Regress the log of posts' interactions (over the usual) on the log of their followers
/// (over `followers_before`) for posts published since `since_ts`, through the origin.
///
/// A post's followers are those it was published to (`followers_at(posted_ts)`, else the
/// count at its observation): its reach is set then. The verdict is the nearer of slope 1
/// (people) and 0 (bought) once the slope is `audience_z` standard errors from 0.5.
pub fn audience_response(
    posts: &[&PostObservation],
    usual: &Usual,
    since_ts: f64,
    followers_before: i64,
    config: &EngineConfig,
    followers_at: Option<&dyn Fn(f64) -> Option<i64>>,
) -> AudienceResponse {
    let mut sxx = 0.0;
    let mut sxy = 0.0;
    let mut n = 0;
    for post in posts {
        if (post.posted_ts as f64) < since_ts || followers_before <= 0 {
            continue;
        }
        if ((post.observed_ts - post.posted_ts) as f64) < config.post_maturity_s / 2.0 {
            continue; // too young for its lifetime estimate to carry weight
        }
        let shown_to = followers_at.and_then(|at| at(post.posted_ts as f64));
        let audience = shown_to.unwrap_or(post.followers);
        if audience <= followers_before {
            continue;
        }
        let g = (audience as f64 / followers_before as f64).ln();
        let d = (py_max(lifetime_interactions(post, config), 1.0) / usual.median).ln();
        sxx += g * g;
        sxy += g * d;
        n += 1;
    }
    if n == 0 || sxx <= 0.0 {
        return AudienceResponse { verdict: None, posts: 0, slope: 0.0, standard_error: f64::INFINITY };
    }
    let slope = sxy / sxx;
    let error = usual.log_spread / sxx.sqrt();
    let z = (slope - 0.5) / error; // how far the slope is from the midpoint of the two answers
    let verdict = if z >= config.audience_z {
        Some(AudienceVerdict::Followed)
    } else if z <= -config.audience_z {
        Some(AudienceVerdict::NotFollowed)
    } else {
        None
    };
    AudienceResponse { verdict, posts: n, slope, standard_error: error }
}

/// Python's `max(a, b)`: `a` unless `b > a`.
pub(crate) fn py_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// Python's `min(a, b)`: `a` unless `b < a`.
pub(crate) fn py_min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

/// Python 3.11's `sum()` of floats: from the left, starting at 0 (Rust's `Sum` for f64
/// starts at -0.0). Python 3.12 compensates the rounding and would differ in the last bits.
pub(crate) fn py_sum(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |total, x| total + x)
}
