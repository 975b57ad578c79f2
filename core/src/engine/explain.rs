//! How much of a follower spike does the account's engagement explain?
//!
//! A post that does better than usual reaches people who do not follow the account yet, and
//! some of them follow: growth arrives *in proportion* to how much better the post did. So
//! a spike is judged by the part of it that engagement does not explain, not by whether a
//! post crossed a "viral" line.
//!
//! Extra engagement of a post is what it gets beyond the account's usual range:
//!
//! ```text
//!     extra(p) = e                 e = lifetime(p) - median >= 2 * spread
//!                e * e / (2 * spread)     0 < e < 2 * spread (noise is not reach)
//! ```
//!
//! with median and spread (1.4826 x MAD) over the account's earlier posts, where `lifetime`
//! is the interactions a post is expected to collect in all (a young post seen once an hour
//! after publication has only a quarter of them: judging it by what it showed then is how
//! honest creators get accused). Conversion is expressed as an *elasticity*: the share of
//! the audience gained per median post's worth of extra interactions. It is the natural unit
//! (extra reach scales with the usual reach, and so with followers), so one prior serves every
//! tier:
//!
//! ```text
//!     explained = eta * followers_before * sum(extra(p)) / median
//!               = c * sum(extra(p))                c = eta * followers_before / median
//!                                                  (followers per extra interaction)
//! ```
//!
//! `eta` is learned from the account's own history: for each earlier post at least
//! `good_post_multiple` x its usual, the growth above the baseline in the `conversion_window_s`
//! after it (or until the next such post) against its extra, summed (a regression through
//! the origin), shrunk toward the prior with `conversion_prior_weight` median posts' worth
//! of pseudo-observations, and never below the prior (the credit is a floor: an accusation
//! costs more than a missed purchase). Growth in windows that ended in a purchase alert is
//! never learned from. With no such posts the prior of the account's tier is used as it is.
//!
//! Because conversions vary a lot from post to post, engagement is given generous credit:
//! `explained_tolerance` x the point estimate. The spike is a suspected purchase only when
//! what is left is still a spike by the same test that found it:
//!
//! ```text
//!     unexplained = excess - tolerance * explained  >=  threshold
//! ```
//!
//! Worked example. An account with 20,000 followers, usual posts at a median of 600
//! interactions (spread 150), learned eta 0.012. One post gets 1,800 interactions, then
//! followers rise by 900 in a day where the baseline predicts 60: excess 840, threshold 400.
//! extra = 1,800 - 600 = 1,200 = 2.0 median posts, so explained = 0.012 x 20,000 x 2.0 = 480
//! followers (c = 0.4 per interaction); credited 3 x 480 = 1,440, unexplained 840 - 1,440
//! < 400: organic (the test `unexplained_growth_is_the_excess_less_the_tolerant_credit`). Had
//! the 900 followers come with posts at their usual level (extra 0), the unexplained 840
//! would exceed the threshold: suspected purchase.
//!
//! Growth nothing explains may still be people, from off the platform (press, a move from
//! another network): they engage, bought followers do not. `audience_response` regresses
//! the log interactions of the posts published since the growth began, over what the
//! account's earlier posts had reached *at the same age*, on the log of the followers each
//! was *published to* (its reach is set then; the count at its last look, days later,
//! would credit it with followers it was never shown to). Comparing at the same age needs
//! no maturity curve: a post seen at 6 h is not extrapolated to its lifetime, so a curve
//! that is not the account's own cannot bias the slope (with a growth of 10%, being 20%
//! off in a young post's lifetime moves the slope by 2).
//!
//! Ported operation for operation from the Python engine this crate replaced
//! (streams/core/explain.py, since removed): the same order of operations, sums from the
//! left starting at 0 (Python 3.11's `sum()`), Python's `max`/`min` (the first argument
//! wins ties and NaN comparisons), so its results are float for float the Python ones.

use super::config::{EngineConfig, Tier, HOUR};
use super::state::AccountState;
use super::stats::{median, py_max, py_min, py_sum};
use super::maturity::{KERNEL_SCALE, MIN_AGE_S, MIN_KERNEL_WEIGHT};
use super::windows::PostObservation;

pub const MIN_LEARNING_WINDOW_S: f64 = 12.0 * HOUR;
pub const MAD_TO_SIGMA: f64 = 1.4826;
pub const DEFAULT_SPREAD: f64 = 1.0 / 3.0;
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
}

impl Usual {
    pub fn new(median: f64, spread: f64, posts: usize) -> Self {
        Usual { median, spread, posts }
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
    Usual { median: mid, spread, posts: earlier.len() }
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

impl AudienceResponse {
    /// ln P(posts | people) - ln P(posts | bought): slope h1 = newcomer_engagement (the
    /// least that people engage, as a share of the account's audience) against slope 0,
    /// for a slope measured with normal errors: (slope - h1 / 2) h1 / se^2 (0 without
    /// posts). Unlike the slope's distance from the midpoint in standard errors, it stays
    /// small when the posts say little: a slope far below 0 from one noisy post fits
    /// neither answer.
    pub fn log_likelihood_ratio(&self, config: &EngineConfig) -> f64 {
        if self.posts == 0 {
            return 0.0;
        }
        log_likelihood_ratio(self.slope, self.standard_error, config.newcomer_engagement)
    }
}

/// Slope `h1` against slope 0, for a slope measured with normal errors `error`:
/// (slope - h1 / 2) h1 / error^2 (0 for an error that says nothing).
pub fn log_likelihood_ratio(slope: f64, error: f64, h1: f64) -> f64 {
    if !error.is_finite() || error <= 0.0 {
        return 0.0;
    }
    (slope - h1 / 2.0) * h1 / (error * error)
}

/// "followed" once the evidence for people is `audience_log_odds` (odds of 19 to 1),
/// "not_followed" once the evidence for bought followers is; before that, none.
pub fn verdict_of(log_likelihood_ratio: f64, config: &EngineConfig) -> Option<AudienceVerdict> {
    if log_likelihood_ratio >= config.audience_log_odds {
        Some(AudienceVerdict::Followed)
    } else if log_likelihood_ratio <= -config.audience_log_odds {
        Some(AudienceVerdict::NotFollowed)
    } else {
        None
    }
}

/// Regress the log of posts' interactions (over what the account's posts of the same age
/// reach, per follower) on the log of their followers (over `followers_before`) for posts
/// published since `since_ts`, through the origin.
///
/// ```text
///     references  every kept look of a post published before since_ts and seen before it:
///                 y = ln(interactions / followers it was shown to), at ln(age)
///     expected    kernel-weighted mean of the references' y at the post's age (weights
///                 exp(-(ln a - ln a')^2 / (2 h^2)), h = maturity::KERNEL_WIDTH): the account's
///                 own maturity curve, read off its posts, and its engagement before the
///                 growth; no shape assumed, no young look extrapolated
///     d           ln(interactions) - ln(followers_before) - expected     0: as before the growth
///     g           ln(followers shown to / followers_before)
///     sigma       1.4826 x MAD of the references' leave-one-out residuals (at least
///                 MIN_LOG_SPREAD), x sqrt(1 + 1/W) for the uncertainty of the expectation
///                 (W: the kernel weight behind it)
///     slope       weighted least squares of d on g (weights 1/sigma^2), standard error
///                 1 / sqrt(sum g^2 / sigma^2)
/// ```
///
/// Each post is read at its latest look; a look whose age no reference is near (W below
/// maturity::MIN_KERNEL_WEIGHT) is left out. A post's followers are those it was published
/// to (`followers_at(posted_ts)`, else the count at its observation): its reach is set
/// then. The verdict is the likelier of slope newcomer_engagement (people) and 0 (bought)
/// once the odds between them reach `audience_log_odds` (`verdict_of`).
pub fn audience_response(
    posts: &[&PostObservation],
    since_ts: f64,
    followers_before: i64,
    config: &EngineConfig,
    followers_at: Option<&dyn Fn(f64) -> Option<i64>>,
) -> AudienceResponse {
    let none = AudienceResponse { verdict: None, posts: 0, slope: 0.0, standard_error: f64::INFINITY };
    if followers_before <= 0 {
        return none;
    }
    let shown = |post: &PostObservation| followers_at.and_then(|at| at(post.posted_ts as f64)).unwrap_or(post.followers);
    let mut references: Vec<(f64, f64)> = Vec::new();
    for post in posts.iter().filter(|p| (p.posted_ts as f64) < since_ts) {
        let audience = shown(post);
        if audience <= 0 {
            continue;
        }
        let looks = [(post.prev_observed_ts, post.prev_interactions), (post.observed_ts, post.interactions)];
        for (observed, interactions) in looks {
            let age = (observed - post.posted_ts) as f64;
            if observed == 0 || observed as f64 >= since_ts || age < MIN_AGE_S {
                continue;
            }
            references.push((age.ln(), (py_max(interactions as f64, 1.0) / audience as f64).ln()));
        }
    }
    let expect = |ln_age: f64, skip: Option<usize>| -> (f64, f64) {
        let (mut weight, mut sum) = (0.0, 0.0);
        for (k, &(x, y)) in references.iter().enumerate() {
            if Some(k) == skip {
                continue;
            }
            let w = (KERNEL_SCALE * (ln_age - x) * (ln_age - x)).exp();
            weight += w;
            sum += w * y;
        }
        (if weight > 0.0 { sum / weight } else { 0.0 }, weight)
    };
    let residuals: Vec<f64> = (0..references.len())
        .filter_map(|k| {
            let (mean, weight) = expect(references[k].0, Some(k));
            (weight >= MIN_KERNEL_WEIGHT).then(|| (references[k].1 - mean).abs())
        })
        .collect();
    if residuals.is_empty() {
        return none;
    }
    let sigma = py_max(MAD_TO_SIGMA * median(&residuals), MIN_LOG_SPREAD);
    let (mut sxx, mut sxy, mut n) = (0.0, 0.0, 0);
    for post in posts.iter().filter(|p| (p.posted_ts as f64) >= since_ts) {
        let audience = shown(post);
        let age = (post.observed_ts - post.posted_ts) as f64;
        if audience <= followers_before || age < MIN_AGE_S {
            continue;
        }
        let (expected, weight) = expect(age.ln(), None);
        if weight < MIN_KERNEL_WEIGHT {
            continue; // no post of the account was seen at about this age before the growth
        }
        let variance = sigma * sigma * (1.0 + 1.0 / weight);
        let g = (audience as f64 / followers_before as f64).ln();
        let d = (py_max(post.interactions as f64, 1.0) / followers_before as f64).ln() - expected;
        sxx += g * g / variance;
        sxy += g * d / variance;
        n += 1;
    }
    if n == 0 || sxx <= 0.0 {
        return none;
    }
    let slope = sxy / sxx;
    let error = 1.0 / sxx.sqrt();
    let response = AudienceResponse { verdict: None, posts: n, slope, standard_error: error };
    AudienceResponse { verdict: verdict_of(response.log_likelihood_ratio(config), config), ..response }
}

#[cfg(test)]
mod tests {
    //! Expected values are the results of the Python engine's streams/core/explain.py (since
    //! removed) on the same inputs.
    use super::*;

    const T0: i64 = 1_700_000_000;
    const H: i64 = 3600;

    fn post(posted: i64, observed: i64, interactions: i64, followers: i64) -> PostObservation {
        PostObservation {
            posted_ts: posted,
            observed_ts: observed,
            interactions,
            followers,
            views: None,
            niches: vec![],
            comments: 0,
            prev_interactions: 0,
            prev_observed_ts: 0,
        }
    }

    fn refs(posts: &[PostObservation]) -> Vec<&PostObservation> {
        posts.iter().collect()
    }

    fn assert_close(actual: f64, expected: f64) {
        let scale = actual.abs().max(expected.abs());
        assert!(actual == expected || (actual - expected).abs() <= 1e-12 * scale, "{actual} != {expected}");
    }

    fn assert_usual(usual: Usual, median: f64, spread: f64, posts: usize) {
        assert_close(usual.median, median);
        assert_close(usual.spread, spread);
        assert_eq!(usual.posts, posts);
    }

    fn assert_conversion(conversion: Conversion, elasticity: f64, source: ConversionSource, learned_from: usize) {
        assert_close(conversion.elasticity, elasticity);
        assert_eq!((conversion.source, conversion.learned_from, conversion.tier), (source, learned_from, Tier::Micro));
    }

    /// Hourly followers over ten days, +2/h, with `gain_a`/h for a day after the post at
    /// hour 48 and `gain_b`/h after the one at hour 152; a post every 8 hours.
    fn account(gain_a: i64, gain_b: i64, alerts: &[i64]) -> AccountState {
        let config = EngineConfig::default();
        let mut state = AccountState::new("a", "instagram", "h", &config);
        let followers = |h: i64| {
            let mut f = 20000 + 2 * h;
            if h > 48 {
                f += (h - 48).min(24) * gain_a;
            }
            if h > 152 {
                f += (h - 152).min(24) * gain_b;
            }
            f
        };
        for h in 0..240 {
            state.observe_followers((T0 + h * H) as f64, followers(h));
        }
        for k in 0..30 {
            let posted = T0 + k * 8 * H;
            let interactions = match k {
                6 => 1800,
                19 => 1500,
                _ => 500 + (k * 7919) % 301,
            };
            let observed = (posted + 13 * H).min(T0 + 239 * H);
            let observation = post(posted, observed, interactions, followers((observed - T0) / H));
            state.posts.observe(&format!("p{k}"), observation, (T0 + 239 * H) as f64);
        }
        state.purchase_alerts = alerts.to_vec();
        state
    }

    fn account_usual(state: &AccountState) -> Usual {
        let posts: Vec<&PostObservation> = state.posts.values().collect();
        usual_interactions(&posts, (T0 + 200 * H) as f64, 600.0, &EngineConfig::default())
    }

    #[test]
    fn a_mature_post_is_taken_at_what_it_shows() {
        let config = EngineConfig::default();
        assert_eq!(lifetime_interactions(&post(T0, T0 + 13 * H, 1000, 5000), &config), 1000.0);
    }

    #[test]
    fn a_young_post_is_expected_to_collect_more_but_never_ten_times_more() {
        let config = EngineConfig::default();
        assert_close(lifetime_interactions(&post(T0, T0 + H, 250, 5000), &config), 1130.2029160469497);
        assert_eq!(lifetime_interactions(&post(T0, T0 + 10, 7, 5000), &config), 70.0);
    }

    #[test]
    fn with_fewer_than_two_posts_the_tier_rate_stands_in() {
        let config = EngineConfig::default();
        let one = [post(T0, T0 + 20 * H, 300, 9000)];
        assert_usual(usual_interactions(&refs(&one), (T0 + 100 * H) as f64, 450.0, &config), 450.0, 150.0, 0);
        let floor = usual_interactions(&[], T0 as f64, 0.4, &config);
        assert_usual(floor, 1.0, 0.3333333333333333, 0);
    }

    #[test]
    fn with_fewer_than_three_earlier_posts_all_but_the_strongest_are_used() {
        let config = EngineConfig::default();
        let three = [
            post(T0, T0 + 20 * H, 300, 9000),
            post(T0 + 10 * H, T0 + 30 * H, 900, 9000),
            post(T0 + 50 * H, T0 + 52 * H, 410, 9000),
        ];
        let usual = usual_interactions(&refs(&three), (T0 + 20 * H) as f64, 450.0, &config);
        assert_usual(usual, 600.0, 444.78, 2);
    }

    #[test]
    fn many_earlier_posts_give_median_and_spread_of_their_lifetimes() {
        let config = EngineConfig::default();
        let many: Vec<PostObservation> = (0..12)
            .map(|k| {
                let posted = T0 + k * 8 * H;
                let age = if k % 3 != 0 { 13 * H } else { 5 * H };
                post(posted, posted + age, 500 + (k * 7919) % 301, 20000)
            })
            .collect();
        let usual = usual_interactions(&refs(&many), (T0 + 80 * H) as f64, 450.0, &config);
        assert_usual(usual, 675.0, 137.8818, 10);
    }

    #[test]
    fn extra_engagement_within_the_spread_earns_little_credit() {
        let usual = Usual::new(600.0, 150.0, 10);
        assert_eq!(usual.extra(500.0), 0.0);
        assert_eq!(usual.extra(750.0), 75.0);
        assert_eq!(usual.extra(1800.0), 1200.0);
        assert_eq!(Usual::new(600.0, 150.0, 12).extra(660.0), 12.0);
        assert_eq!(Usual::new(600.0, 150.0, 12).extra(1500.0), 900.0);
    }

    #[test]
    fn unexplained_growth_is_the_excess_less_the_tolerant_credit() {
        let config = EngineConfig::default();
        let conversion = Conversion { elasticity: 0.012, source: ConversionSource::Account, learned_from: 4, tier: Tier::Micro };
        let usual = Usual::new(600.0, 150.0, 12);
        let mature = [post(0, 86_400, 1_800, 20_000)];
        let explanation = explain(&config, &conversion, &usual, &refs(&mature), 20_000, 840.0);
        assert_eq!(explanation.extra_interactions, 1200.0);
        assert_close(explanation.followers_per_interaction, 0.4);
        assert_close(explanation.explained, 480.0);
        assert_close(explanation.credited, 1440.0);
        assert_close(explanation.unexplained, -600.0);
    }

    #[test]
    fn conversion_is_learned_from_the_growth_after_good_posts() {
        let config = EngineConfig::default();
        let state = account(40, 30, &[]);
        let usual = account_usual(&state);
        assert_usual(usual, 642.0, 105.26459999999999, 25);
        let until = (T0 + 240 * H) as f64;
        let learned = conversion_for(&state, &config, &usual, 2.0, until, Tier::Micro);
        assert_conversion(learned, 0.01979312154663618, ConversionSource::Account, 2);
        assert_eq!(learned.source.as_str(), "account");
    }

    #[test]
    fn growth_that_ended_in_a_purchase_alert_is_not_learned_from() {
        let config = EngineConfig::default();
        let state = account(40, 30, &[T0 + 160 * H]);
        let usual = account_usual(&account(40, 30, &[]));
        let learned = conversion_for(&state, &config, &usual, 2.0, (T0 + 240 * H) as f64, Tier::Micro);
        assert_conversion(learned, 0.017845680638698094, ConversionSource::Account, 1);
    }

    #[test]
    fn good_posts_that_drew_no_one_keep_the_prior() {
        let config = EngineConfig::default();
        let usual = account_usual(&account(40, 30, &[]));
        let state = account(0, 0, &[]);
        let learned = conversion_for(&state, &config, &usual, 2.0, (T0 + 240 * H) as f64, Tier::Micro);
        assert_conversion(learned, 0.01, ConversionSource::Account, 2);
    }

    #[test]
    fn an_account_without_good_posts_uses_its_tiers_prior() {
        let config = EngineConfig::default();
        let state = account(40, 30, &[]);
        // Against a usual of 2,000 interactions no post of the account stood out.
        let usual = Usual::new(2000.0, 300.0, 25);
        let until = (T0 + 240 * H) as f64;
        let prior = config.conversion_prior[Tier::Micro.index()];
        assert_conversion(conversion_for(&state, &config, &usual, 2.0, until, Tier::Micro), prior, ConversionSource::Tier, 0);
    }

    #[test]
    fn without_history_or_a_long_enough_window_the_tier_prior_is_used() {
        let config = EngineConfig::default();
        let state = account(40, 30, &[]);
        let usual = account_usual(&state);
        let until = (T0 + 240 * H) as f64;
        let no_history = conversion_for(&state, &config, &Usual::new(600.0, 200.0, 0), 2.0, until, Tier::Micro);
        assert_conversion(no_history, 0.01, ConversionSource::Tier, 0);
        assert_eq!(no_history.source.as_str(), "tier");
        let short = conversion_for(&state, &config, &usual, 2.0, (T0 + 50 * H) as f64, Tier::Micro);
        assert_conversion(short, 0.01, ConversionSource::Tier, 0);
    }

    #[test]
    fn explained_growth_is_the_extra_engagement_times_the_conversion() {
        let config = EngineConfig::default();
        let state = account(40, 30, &[]);
        let usual = account_usual(&state);
        let conversion = conversion_for(&state, &config, &usual, 2.0, (T0 + 240 * H) as f64, Tier::Micro);
        let candidates: Vec<&PostObservation> = state.posts.values().filter(|p| p.posted_ts >= T0 + 190 * H).collect();
        let explanation = explain(&config, &conversion, &usual, &candidates, 20500, 840.0);
        assert_close(explanation.extra_interactions, 354.2308999316602);
        assert_close(explanation.followers_per_interaction, 0.6320233515670433);
        assert_close(explanation.explained, 223.8822006034178);
        assert_close(explanation.credited, 671.6466018102534);
        assert_close(explanation.unexplained, 168.3533981897466);
        assert_eq!(explanation.conversion, conversion);
        let nothing = explain(&config, &conversion, &usual, &[], 20500, 840.0);
        assert_eq!((nothing.extra_interactions, nothing.explained, nothing.unexplained), (0.0, 0.0, 840.0));
        assert!(nothing.extra_interactions.is_sign_positive());
    }

    const SINCE: i64 = T0 + 100 * H;

    fn shown_to(ts: f64) -> Option<i64> {
        let since = SINCE as f64;
        Some(if ts < since { 20000 } else { 20000 + ((ts - since) / H as f64 * 600.0) as i64 })
    }

    /// Posts every 10 hours after the growth began, engaging in step with their audience or not.
    fn audience_posts(followed: bool) -> Vec<PostObservation> {
        (1..8)
            .map(|k| {
                let posted = SINCE + k * 10 * H;
                let audience = shown_to(posted as f64).unwrap_or(0);
                let noise = 1.0 + ((k * 37) % 11 - 5) as f64 / 50.0;
                let scale = if followed { audience as f64 / 20000.0 } else { 1.0 };
                post(posted, posted + 14 * H, (600.0 * scale * noise) as i64, audience + 500)
            })
            .collect()
    }

    /// The account's posts before the growth: seen at 14 h (about 600) and, the older ones,
    /// at 72 h as well (about 900): its own maturity curve.
    fn earlier_posts() -> Vec<PostObservation> {
        (1..9)
            .map(|k| {
                let posted = SINCE - k * 20 * H;
                let noise = 1.0 + ((k * 53) % 13 - 6) as f64 / 40.0;
                let young = (600.0 * noise) as i64;
                if posted + 72 * H < SINCE {
                    PostObservation {
                        prev_interactions: young,
                        prev_observed_ts: posted + 14 * H,
                        ..post(posted, posted + 72 * H, (900.0 * noise) as i64, 20000)
                    }
                } else {
                    post(posted, posted + 14 * H, young, 20000)
                }
            })
            .collect()
    }

    fn with_earlier(posts: &[PostObservation]) -> Vec<PostObservation> {
        earlier_posts().into_iter().chain(posts.iter().cloned()).collect()
    }

    fn assert_audience(response: AudienceResponse, expected: (Option<AudienceVerdict>, usize), slope: f64, error: f64) {
        assert_eq!((response.verdict, response.posts), expected);
        assert_close(response.slope, slope);
        assert_close(response.standard_error, error);
    }

    #[test]
    fn engagement_growing_with_the_audience_means_people_followed() {
        let config = EngineConfig::default();
        let posts = with_earlier(&audience_posts(true));
        let response = audience_response(&refs(&posts), SINCE as f64, 20000, &config, Some(&shown_to));
        assert_audience(response, (Some(AudienceVerdict::Followed), 7), SLOPE_FOLLOWED, ERROR_FOLLOWED);
        assert_eq!(AudienceVerdict::Followed.as_str(), "followed");
        // Without a follower history, a post's followers at its observation stand in.
        let by_observation = audience_response(&refs(&posts), SINCE as f64, 20000, &config, None);
        assert_eq!(by_observation.verdict, Some(AudienceVerdict::Followed));
    }

    #[test]
    fn flat_engagement_under_a_growing_audience_means_they_did_not_follow() {
        let config = EngineConfig::default();
        let posts = with_earlier(&audience_posts(false));
        let response = audience_response(&refs(&posts), SINCE as f64, 20000, &config, Some(&shown_to));
        assert_audience(response, (Some(AudienceVerdict::NotFollowed), 7), SLOPE_FLAT, ERROR_FOLLOWED);
        assert_eq!(AudienceVerdict::NotFollowed.as_str(), "not_followed");
        let one = with_earlier(&audience_posts(false)[..1]);
        let response = audience_response(&refs(&one), SINCE as f64, 20000, &config, Some(&shown_to));
        assert_eq!((response.verdict, response.posts), (None, 1));
    }

    #[test]
    fn a_post_is_compared_with_the_accounts_posts_at_its_age() {
        let config = EngineConfig::default();
        // Seen at 14 h, in step with an audience 30% larger: 780, which is below what the
        // earlier posts reached by 72 h. Against their looks at 14 h it is people.
        let posted = SINCE + 20 * H;
        let young = with_earlier(&[post(posted, posted + 14 * H, 780, 26_000)]);
        let at = |ts: f64| Some(if ts < SINCE as f64 { 20_000 } else { 26_000 });
        let response = audience_response(&refs(&young), SINCE as f64, 20000, &config, Some(&at));
        assert_eq!(response.posts, 1);
        assert!((response.slope - 1.0).abs() < 0.15, "{response:?}");
        // Seen at 1 h, no earlier post was seen near that age: the post is left out.
        let early = with_earlier(&[post(posted, posted + H, 300, 26_000)]);
        let response = audience_response(&refs(&early), SINCE as f64, 20000, &config, Some(&at));
        assert_eq!((response.verdict, response.posts), (None, 0));
    }

    #[test]
    fn posts_from_before_the_growth_and_an_account_without_earlier_posts_tell_nothing() {
        let config = EngineConfig::default();
        let before = [post(SINCE - H, SINCE + 20 * H, 900, 21000)];
        let response = audience_response(&refs(&before), SINCE as f64, 20000, &config, Some(&shown_to));
        assert_audience(response, (None, 0), 0.0, f64::INFINITY);
        let alone = audience_posts(true);
        let response = audience_response(&refs(&alone), SINCE as f64, 20000, &config, Some(&shown_to));
        assert_audience(response, (None, 0), 0.0, f64::INFINITY);
    }

    #[test]
    fn the_odds_for_people_grow_with_the_evidence_not_with_the_distance_in_errors() {
        let config = EngineConfig::default(); // h1 = newcomer_engagement = 0.25
        let response = |slope, standard_error| AudienceResponse { verdict: None, posts: 2, slope, standard_error };
        assert_close(response(1.125, 0.5).log_likelihood_ratio(&config), 1.0);
        assert_close(response(-0.875, 0.5).log_likelihood_ratio(&config), -1.0);
        // Ten errors below the midpoint, from posts that say little: weak odds, no verdict.
        let weak = response(0.125 - 10.0 * 4.0, 4.0);
        assert!(weak.log_likelihood_ratio(&config).abs() < config.audience_log_odds);
        assert_eq!(verdict_of(weak.log_likelihood_ratio(&config), &config), None);
        assert_eq!(verdict_of(3.0, &config), Some(AudienceVerdict::Followed));
        assert_eq!(verdict_of(-3.0, &config), Some(AudienceVerdict::NotFollowed));
        assert_eq!(AudienceResponse { posts: 0, ..response(1.0, 0.1) }.log_likelihood_ratio(&config), 0.0);
    }

    const SLOPE_FOLLOWED: f64 = 1.0442834610885747;
    const SLOPE_FLAT: f64 = 0.04453972468557612;
    const ERROR_FOLLOWED: f64 = 0.049974372414355824;

}
