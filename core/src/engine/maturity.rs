//! Do the posts already out there gain engagement as the new followers arrive?
//!
//! People who come from off the platform (press, a move from another network) look around:
//! they like and comment on posts published before they came. Bought followers do not.
//! Every post keeps the observation before its latest one (windows.rs), so each
//! re-observed post gives a *pair* of looks: `I1` interactions at age `a1` (time `t1`),
//! `I2` at age `a2` (`t2`):
//!
//! ```text
//!     controls    pairs whose second look came before the growth began: how this account's
//!                 posts normally grow with age, nothing else moving them
//!     expected    m(a1, a2) = kernel-weighted mean of the controls' log(I2 / I1), weights
//!                 exp(-((ln a1 - ln a1')^2 + (ln a2 - ln a2')^2) / (2 h^2)), h = 0.5 (ages
//!                 within a factor of about 1.6 count most); the account's own maturity
//!                 curve, read off its posts, with no shape assumed
//!     sigma       the same weighted spread of the controls' leave-one-out residuals, and never
//!                 less than the pair's own counting noise (the interactions between two looks
//!                 are a count of people: Poisson, sqrt(I2 - I1) / I2), widened by 1 + 1/W for
//!                 the uncertainty of m (W: the kernel weight behind it, about the number of
//!                 controls of similar ages): young posts grow more, and less predictably,
//!                 than old ones
//!     lift        r = log(I2 / I1) - m(a1, a2)                 0 when only age moved the post
//!     newcomers   x = (F(t2) - F(t1) - baseline * (t2 - t1)) / F(t1)
//!                 the followers who arrived between the looks, beyond the account's pace,
//!                 as a share of the audience (F from the account's hourly observations)
//!
//!     r ~ beta * x over the pairs with a second look after the growth began (weighted least
//!     squares through the origin, weights x^2 / sigma^2; standard error
//!     1 / sqrt(sum x^2 / sigma^2))
//!         beta = 0    the new followers do not touch the posts that were there (bought)
//!         beta = 1    each newcomer engages with a post as its own audience did
//!     verdict     the log likelihood ratio of beta = h1 (people) against beta = 0 (bought),
//!                 (beta - h1 / 2) h1 / se^2, where h1 = newcomer_engagement: people who
//!                 arrive after a post was published engage with it at least that share as
//!                 often as its audience did. "followed" once it is >= audience_log_odds,
//!                 "not_followed" once it is <= -audience_log_odds; before that there is
//!                 none (each new look can settle it).
//! ```
//!
//! Worked example. An account at 97,400 followers; its posts normally grow by 7% between
//! the look at a day and the look at three days (five controls of those ages: log ratio
//! 0.070, residual spread 0.02). A post seen at 1,569 interactions at 24 h is seen at 1,920
//! at 72 h, while followers rose to 111,700: x = 0.147 (pace about 0),
//! r = log(1,920 / 1,569) - 0.070 = 0.132, so beta = 0.90; sigma = 0.02 x sqrt(1 + 1/5) =
//! 0.022, se = 0.022 / 0.147 = 0.15, and (0.90 - 0.125) / 0.15 = 5.2 >= 2: followed, on this
//! one post (the scenario of the tests below). Had the 14,300
//! followers been bought, the post would have reached about 1,683 (r about 0, beta about 0):
//! (0 - 0.125) / 0.15 = -0.8, no verdict yet. The classifier uses "followed" only: it clears
//! people; bought followers are still told by the rest (classify.rs).
//!
//! Ported operation for operation from the Python engine this crate replaced
//! (streams/core/maturity.py, since removed).

use super::config::{EngineConfig, HOUR};
use super::explain::{log_likelihood_ratio, verdict_of, AudienceVerdict};
use super::stats::{py_max, py_min, py_sum};
use super::windows::PostObservation;

/// In log age: controls whose ages are within a factor ~1.6 weigh most.
pub const KERNEL_WIDTH: f64 = 0.5;
/// A pair needs about one control of similar ages to be judged.
pub const MIN_KERNEL_WEIGHT: f64 = 0.5;
pub const MIN_CONTROLS: usize = 2;
pub const MIN_AGE_S: f64 = 60.0;
/// exp(KERNEL_SCALE * (ln a - ln a')^2): the kernel in log age (also explain::audience_response).
pub const KERNEL_SCALE: f64 = -1.0 / (2.0 * KERNEL_WIDTH * KERNEL_WIDTH);

/// Did the posts already published gain engagement with the new followers?
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NewcomerResponse {
    /// None: too little to tell
    pub verdict: Option<AudienceVerdict>,
    /// pairs of looks across the growth that were judged
    pub pairs: usize,
    /// pairs of looks from before the growth
    pub controls: usize,
    /// beta: 1, newcomers engage as a post's audience did; 0, not at all
    pub slope: f64,
    pub standard_error: f64,
    /// the largest share of new followers between two looks of one post
    pub newcomers: f64,
    /// the mean log lift of the judged pairs over their maturity curve
    pub lift: f64,
}

impl NewcomerResponse {
    /// ln P(pairs | people) - ln P(pairs | bought): beta = newcomer_engagement against
    /// beta = 0 (0 without pairs); see `explain::log_likelihood_ratio`.
    pub fn log_likelihood_ratio(&self, config: &EngineConfig) -> f64 {
        if self.pairs == 0 {
            return 0.0;
        }
        log_likelihood_ratio(self.slope, self.standard_error, config.newcomer_engagement)
    }
}

/// Two looks of one post.
#[derive(Clone, Copy, Debug)]
struct Pair {
    ln_a1: f64,
    ln_a2: f64,
    /// log(I2 / I1)
    growth: f64,
    t1: i64,
    t2: i64,
    /// variance of the growth from counting alone
    counting: f64,
}

/// A test pair with what its controls expect of it.
struct Judged<'a> {
    pair: &'a Pair,
    weights: Vec<f64>,
    expected: f64,
    total: f64,
    newcomers: f64,
}

/// Test the pairs of looks that end after `since_ts` against those that end before it.
///
/// `controls_until` (at most `since_ts`): the curve is read only from pairs that end
/// before then, when the growth under test continues growth that began earlier (pairs in
/// between are lifted by that growth's people, neither controls nor tests).
pub fn newcomer_response(
    posts: &[&PostObservation],
    since_ts: f64,
    rate_per_hour: f64,
    config: &EngineConfig,
    followers_at: &dyn Fn(f64) -> Option<i64>,
    controls_until: Option<f64>,
) -> NewcomerResponse {
    let clean = controls_until.map_or(since_ts, |until| py_min(since_ts, until));
    let mut controls: Vec<Pair> = Vec::new();
    let mut tests: Vec<Pair> = Vec::new();
    for post in posts {
        if let Some(pair) = pair_of(post) {
            if (pair.t2 as f64) <= clean {
                controls.push(pair);
            } else if (pair.t2 as f64) > since_ts {
                tests.push(pair);
            }
        }
    }
    let nothing = |most: f64| NewcomerResponse {
        verdict: None,
        pairs: 0,
        controls: controls.len(),
        slope: 0.0,
        standard_error: f64::INFINITY,
        newcomers: most,
        lift: 0.0,
    };
    if controls.len() < MIN_CONTROLS || tests.is_empty() {
        return nothing(0.0);
    }
    let mut judged_pairs: Vec<Judged<'_>> = Vec::new();
    for pair in &tests {
        let weights = weights(&controls, pair);
        let total = py_sum(weights.iter().copied());
        if total < MIN_KERNEL_WEIGHT {
            continue; // no controls of these ages: the account's curve is not known there
        }
        let (Some(before), Some(after)) = (followers_at(pair.t1 as f64), followers_at(pair.t2 as f64)) else {
            continue;
        };
        if before <= 0 {
            continue;
        }
        let paced = py_max(rate_per_hour, 0.0) * (pair.t2 - pair.t1) as f64 / HOUR;
        let newcomers = ((after - before) as f64 - paced) / before as f64;
        let expected = py_sum(weights.iter().zip(&controls).map(|(w, c)| w * c.growth)) / total;
        judged_pairs.push(Judged { pair, weights, expected, total, newcomers });
    }
    let residuals = if judged_pairs.is_empty() { Vec::new() } else { leave_one_out(&controls) };
    let mut sxx = 0.0;
    let mut sxy = 0.0;
    let mut lift_sum = 0.0;
    let mut most = 0.0;
    let mut judged = 0;
    for j in &judged_pairs {
        let noise = py_sum(j.weights.iter().zip(&residuals).map(|(w, e)| w * e * e)) / j.total;
        let variance = py_max(noise, j.pair.counting) * (1.0 + 1.0 / j.total);
        let r = j.pair.growth - j.expected;
        let x = j.newcomers;
        sxx += x * x / variance;
        sxy += x * r / variance;
        lift_sum += r;
        most = py_max(most, x);
        judged += 1;
    }
    if judged == 0 || sxx <= 0.0 {
        return nothing(most);
    }
    let slope = sxy / sxx;
    let error = 1.0 / sxx.sqrt();
    let h1 = config.newcomer_engagement;
    NewcomerResponse {
        verdict: verdict_of(log_likelihood_ratio(slope, error, h1), config),
        pairs: judged,
        controls: controls.len(),
        slope,
        standard_error: error,
        newcomers: most,
        lift: lift_sum / judged as f64,
    }
}

fn pair_of(post: &PostObservation) -> Option<Pair> {
    let (t1, t2) = (post.prev_observed_ts, post.observed_ts);
    if t1 == 0 || post.prev_interactions <= 0 || post.interactions <= 0 {
        return None;
    }
    let (a1, a2) = (t1 - post.posted_ts, t2 - post.posted_ts);
    if (a1 as f64) < MIN_AGE_S || a2 <= a1 {
        return None;
    }
    let (i1, i2) = (post.prev_interactions, post.interactions);
    // Poisson noise of the interactions between the looks, and each count's rounding to an
    // integer. (Python divides the integers exactly; as floats this is the same while
    // i2 * i2 < 2^53, i.e. below about 94.9 million interactions.)
    let (f1, f2) = (i1 as f64, i2 as f64);
    let squared = i128::from(i2) * i128::from(i2);
    let counting = (i2 - i1).max(1) as f64 / squared as f64 + 1.0 / (12.0 * f1 * f1) + 1.0 / (12.0 * f2 * f2);
    Some(Pair {
        ln_a1: (a1 as f64).ln(),
        ln_a2: (a2 as f64).ln(),
        growth: (f2 / f1).ln(),
        t1,
        t2,
        counting,
    })
}

/// Kernel weight of each control at the pair's ages.
fn weights(controls: &[Pair], pair: &Pair) -> Vec<f64> {
    let (l1, l2) = (pair.ln_a1, pair.ln_a2);
    controls.iter().map(|c| (KERNEL_SCALE * (py_square(c.ln_a1 - l1) + py_square(c.ln_a2 - l2))).exp()).collect()
}

/// Each control's log growth less what the other controls of similar ages expect of it.
fn leave_one_out(controls: &[Pair]) -> Vec<f64> {
    let n = controls.len();
    let mut sums = vec![0.0; n];
    let mut totals = vec![0.0; n];
    for i in 0..n {
        let (a1, a2, growth_i) = (controls[i].ln_a1, controls[i].ln_a2, controls[i].growth);
        for j in i + 1..n {
            let other = &controls[j];
            let w = (KERNEL_SCALE * (py_square(other.ln_a1 - a1) + py_square(other.ln_a2 - a2))).exp();
            sums[i] += w * other.growth;
            totals[i] += w;
            sums[j] += w * growth_i;
            totals[j] += w;
        }
    }
    controls
        .iter()
        .enumerate()
        .map(|(i, c)| c.growth - if totals[i] > 0.0 { sums[i] / totals[i] } else { 0.0 })
        .collect()
}

/// Python's `x ** 2` for a float: the C library's `pow`, which is not always `x * x` in the
/// last bit (LLVM would turn a constant exponent into a multiplication).
fn py_square(x: f64) -> f64 {
    x.powf(std::hint::black_box(2.0))
}

#[cfg(test)]
mod tests {
    //! Expected values are the results of the Python engine's streams/core/maturity.py (since
    //! removed) on the same inputs.
    use super::*;

    const T0: i64 = 1_700_000_000;
    const H: i64 = 3600;
    const SINCE: i64 = T0 + 200 * H;

    fn looks(posted: i64, first: (i64, i64), second: (i64, i64)) -> PostObservation {
        PostObservation {
            posted_ts: posted,
            observed_ts: posted + second.0,
            interactions: second.1,
            followers: 100_000,
            views: None,
            niches: vec![],
            comments: 0,
            prev_interactions: first.1,
            prev_observed_ts: posted + first.0,
        }
    }

    /// +1 follower an hour, then from `SINCE` +600 an hour up to 14,300 more.
    fn followers(ts: f64) -> Option<i64> {
        let since = SINCE as f64;
        Some(if ts < since {
            97400 + ((ts - T0 as f64) / H as f64) as i64
        } else {
            97400 + 200 + (((ts - since) / H as f64 * 600.0) as i64).min(14300)
        })
    }

    /// Posts seen at about a day and three days, growing about 7% between the looks.
    fn control(k: i64) -> PostObservation {
        let a1 = 24 * H + ((k * 53) % 7) * 900;
        let a2 = 72 * H + ((k * 29) % 5) * 1800;
        let i1 = 1500 + (k * 7919) % 157;
        let i2 = (i1 as f64 * (1.07 + ((k * 13) % 9 - 4) as f64 / 400.0)) as i64;
        looks(T0 + k * 12 * H, (a1, i1), (a2, i2))
    }

    /// Posts whose second look comes after the growth began, lifted by the newcomers or not.
    fn test_pair(k: i64, followed: bool) -> PostObservation {
        let posted = SINCE - 30 * H + k * 3 * H;
        let a1 = 24 * H + ((k * 31) % 5) * 1200;
        let a2 = 72 * H + ((k * 17) % 3) * 2400;
        let i1 = 1569 + (k * 389) % 201;
        let at = |age: i64| followers((posted + age) as f64).unwrap_or(0);
        let x = (at(a2) - at(a1)) as f64 / at(a1) as f64;
        let lift = if followed { 1.0 + 0.9 * x } else { 1.0 };
        let i2 = (i1 as f64 * 1.07 * lift * (1.0 + ((k * 7) % 5 - 2) as f64 / 500.0)) as i64;
        looks(posted, (a1, i1), (a2, i2))
    }

    fn posts(followed: bool) -> Vec<PostObservation> {
        (0..6).map(control).chain((0..4).map(|k| test_pair(k, followed))).collect()
    }

    fn assert_close(actual: f64, expected: f64) {
        let scale = actual.abs().max(expected.abs());
        assert!(actual == expected || (actual - expected).abs() <= 1e-12 * scale, "{actual} != {expected}");
    }

    fn assert_response(response: NewcomerResponse, expected: NewcomerResponse) {
        assert_eq!(
            (response.verdict, response.pairs, response.controls),
            (expected.verdict, expected.pairs, expected.controls)
        );
        assert_close(response.slope, expected.slope);
        assert_close(response.standard_error, expected.standard_error);
        assert_close(response.newcomers, expected.newcomers);
        assert_close(response.lift, expected.lift);
    }

    fn respond(posts: &[PostObservation], controls_until: Option<f64>) -> NewcomerResponse {
        let posts: Vec<&PostObservation> = posts.iter().collect();
        newcomer_response(&posts, SINCE as f64, 1.0, &EngineConfig::default(), &followers, controls_until)
    }

    #[test]
    fn the_scenario_is_the_one_python_was_run_on() {
        let first = &posts(true)[6];
        let seen = (first.posted_ts - T0, first.observed_ts - T0, first.interactions, first.prev_interactions);
        assert_eq!(seen, (612000, 871200, 1892, 1569));
        assert_eq!(first.prev_observed_ts - T0, 698400);
    }

    #[test]
    fn older_posts_gaining_with_the_newcomers_mean_people_followed() {
        let expected = NewcomerResponse {
            verdict: Some(AudienceVerdict::Followed),
            pairs: 4,
            controls: 6,
            slope: 0.8471249664383108,
            standard_error: 0.03550619943147722,
            newcomers: 0.14609504682664917,
            lift: 0.11684080126543205,
        };
        assert_response(respond(&posts(true), None), expected);
    }

    #[test]
    fn older_posts_growing_only_with_age_mean_the_newcomers_did_not_follow() {
        let expected = NewcomerResponse {
            verdict: Some(AudienceVerdict::NotFollowed),
            pairs: 4,
            controls: 6,
            slope: -0.0035202461600689957,
            standard_error: 0.030326817292242687,
            newcomers: 0.14609504682664917,
            lift: -0.0005250508460565295,
        };
        assert_response(respond(&posts(false), None), expected);
    }

    #[test]
    fn one_control_is_too_little_to_tell() {
        let few = [control(0), test_pair(0, true)];
        let expected = NewcomerResponse {
            verdict: None,
            pairs: 0,
            controls: 1,
            slope: 0.0,
            standard_error: f64::INFINITY,
            newcomers: 0.0,
            lift: 0.0,
        };
        assert_response(respond(&few, None), expected);
    }

    #[test]
    fn the_curve_is_read_only_from_pairs_before_controls_until() {
        let expected = NewcomerResponse {
            verdict: Some(AudienceVerdict::Followed),
            pairs: 4,
            controls: 3,
            slope: 0.8461234888751931,
            standard_error: 0.04772229449540831,
            newcomers: 0.14609504682664917,
            lift: 0.11677719512634982,
        };
        assert_response(respond(&posts(true), Some((T0 + 100 * H) as f64)), expected);
    }

    #[test]
    fn a_post_seen_once_or_too_young_makes_no_pair() {
        let mut once = control(1);
        once.prev_observed_ts = 0;
        assert!(pair_of(&once).is_none());
        assert!(pair_of(&looks(T0, (30, 10), (3600, 20))).is_none());
        assert!(pair_of(&control(1)).is_some());
    }

    #[test]
    fn squares_are_python_s_pow_not_a_multiplication() {
        // Python 3.11 on glibc: x ** 2 == 3.3067522580934297 while x * x == 3.306752258093429.
        let x = -1.818447760617123_f64;
        assert_eq!(py_square(x), 3.3067522580934297);
        assert_eq!(py_square(-0.9667936558439592), 0.9346899729801278);
    }

    // The scenarios of the account's posts around a growth beginning at day 20, each post
    // seen at a day and at three days (hours `a1_h`, `a2_h`), 20,000 followers before.
    const DAY: i64 = 86_400;
    const GROWTH_AT: i64 = 20 * DAY;

    /// Two looks of a post published at `posted`, grown 7% between them (times `1 + lift`).
    fn pair_of_looks(posted: i64, a1_h: i64, a2_h: i64, i1: i64, lift: f64) -> PostObservation {
        PostObservation {
            posted_ts: posted,
            observed_ts: posted + a2_h * H,
            interactions: (i1 as f64 * 1.07 * (1.0 + lift)).round_ties_even() as i64,
            followers: 20_000,
            views: None,
            niches: vec!["pens".to_owned()],
            comments: 0,
            prev_interactions: i1,
            prev_observed_ts: posted + a1_h * H,
        }
    }

    /// Posts whose looks at a day and three days both came before the growth.
    fn earlier_pairs() -> Vec<PostObservation> {
        (0..6).map(|k| pair_of_looks(GROWTH_AT - (4 + k) * DAY, 24, 72, 1_500 + 40 * k, 0.0)).collect()
    }

    /// 20,000 followers until the growth, `1 + gain` times as many after it.
    fn grown_by(gain: f64) -> impl Fn(f64) -> Option<i64> {
        move |ts| Some(if ts <= GROWTH_AT as f64 { 20_000 } else { (20_000.0 * (1.0 + gain)).round_ties_even() as i64 })
    }

    fn respond_to_growth(
        posts: &[PostObservation],
        pace: f64,
        gain: f64,
        controls_until: Option<f64>,
    ) -> NewcomerResponse {
        let posts: Vec<&PostObservation> = posts.iter().collect();
        newcomer_response(&posts, GROWTH_AT as f64, pace, &EngineConfig::default(), &grown_by(gain), controls_until)
    }

    fn with_earlier_pairs(spanning: impl IntoIterator<Item = PostObservation>) -> Vec<PostObservation> {
        earlier_pairs().into_iter().chain(spanning).collect()
    }

    const NO_VERDICT: NewcomerResponse = NewcomerResponse {
        verdict: None,
        pairs: 0,
        controls: 6,
        slope: 0.0,
        standard_error: f64::INFINITY,
        newcomers: 0.0,
        lift: 0.0,
    };

    #[test]
    fn posts_already_published_gaining_with_the_new_followers_say_they_are_people() {
        // 15% more followers between the looks; each post gains about half a newcomer's share.
        let posts = with_earlier_pairs([
            pair_of_looks(GROWTH_AT - 30 * H, 24, 72, 1_600, 0.07),
            pair_of_looks(GROWTH_AT - 40 * H, 24, 72, 1_550, 0.08),
        ]);
        let expected = NewcomerResponse {
            verdict: Some(AudienceVerdict::Followed),
            pairs: 2,
            controls: 6,
            slope: 0.48074085804735645,
            standard_error: 0.043223733406521615,
            newcomers: 0.15,
            lift: 0.07230084148053753,
        };
        assert_response(respond_to_growth(&posts, 0.0, 0.15, None), expected);
    }

    #[test]
    fn published_posts_growing_only_with_age_say_the_new_followers_do_not_engage() {
        let posts = with_earlier_pairs((0..3).map(|k| pair_of_looks(GROWTH_AT - (30 + 6 * k) * H, 24, 72, 1_600 - 20 * k, 0.0)));
        let expected = NewcomerResponse {
            verdict: Some(AudienceVerdict::NotFollowed),
            pairs: 3,
            controls: 6,
            slope: 0.00014683668884034182,
            standard_error: 0.015533620105197075,
            newcomers: 0.25,
            lift: 3.6491826937929774e-05,
        };
        assert_response(respond_to_growth(&posts, 0.0, 0.25, None), expected);
    }

    #[test]
    fn a_small_gain_in_followers_cannot_tell_a_lift_from_noise() {
        let posts = with_earlier_pairs([pair_of_looks(GROWTH_AT - 30 * H, 24, 72, 1_600, 0.005)]);
        let expected = NewcomerResponse {
            verdict: None,
            pairs: 1,
            controls: 6,
            slope: 0.5240814887393156,
            standard_error: 0.6908878352931861,
            newcomers: 0.01,
            lift: 0.005240814887393155,
        };
        assert_response(respond_to_growth(&posts, 0.0, 0.01, None), expected);
    }

    #[test]
    fn posts_are_compared_only_with_posts_seen_at_similar_ages() {
        // The account's curve is known between a day and three days; a post first seen at an
        // hour grows far more by age alone, and there is nothing to compare it with.
        let posts = with_earlier_pairs([pair_of_looks(GROWTH_AT - 2 * H, 1, 6, 300, 1.0)]);
        assert_response(respond_to_growth(&posts, 0.0, 0.15, None), NO_VERDICT);
    }

    #[test]
    fn an_account_without_earlier_looks_gets_no_verdict() {
        let posts = [pair_of_looks(GROWTH_AT - 30 * H, 24, 72, 1_600, 0.07)];
        assert_response(respond_to_growth(&posts, 0.0, 0.15, None), NewcomerResponse { controls: 0, ..NO_VERDICT });
    }

    #[test]
    fn followers_arriving_at_the_accounts_usual_pace_are_not_newcomers() {
        // Followers rise 15% between the looks: at the account's own pace, or not.
        let posts = with_earlier_pairs([pair_of_looks(GROWTH_AT - 30 * H, 24, 72, 1_600, 0.0)]);
        let pace = 20_000.0 * 0.15 / 48.0; // per hour, over the 48 h between the looks
        assert_response(respond_to_growth(&posts, pace, 0.15, None), NO_VERDICT);
        let unpaced = NewcomerResponse {
            verdict: Some(AudienceVerdict::NotFollowed),
            pairs: 1,
            controls: 6,
            slope: -1.6164149725661492e-05,
            standard_error: 0.04454855868050383,
            newcomers: 0.15,
            lift: -2.4246224588492238e-06,
        };
        assert_response(respond_to_growth(&posts, 0.0, 0.15, None), unpaced);
    }

    #[test]
    fn growth_beyond_an_organic_alert_is_judged_against_posts_from_before_that_episode() {
        // The episode began 3 days before the growth under test; the pairs in between are
        // lifted by its people and must not teach the account's curve.
        let episode_start = GROWTH_AT - 3 * DAY;
        let posts: Vec<PostObservation> = (0..6)
            .map(|k| pair_of_looks(episode_start - (4 + k) * DAY, 24, 72, 1_500 + 40 * k, 0.0))
            .chain((0..6).map(|k| pair_of_looks(episode_start - 30 * H + k * 3 * H, 24, 72, 1_500, 0.08)))
            .chain((0..2).map(|k| pair_of_looks(GROWTH_AT - (30 + 6 * k) * H, 24, 72, 1_600, 0.08)))
            .collect();
        let mixed = NewcomerResponse {
            verdict: None,
            pairs: 2,
            controls: 12,
            slope: 0.2574422353230864,
            standard_error: 0.20534680692082272,
            newcomers: 0.15,
            lift: 0.038616335298462964,
        };
        assert_response(respond_to_growth(&posts, 0.0, 0.15, None), mixed);
        let clean = NewcomerResponse {
            verdict: Some(AudienceVerdict::Followed),
            pairs: 2,
            controls: 6,
            slope: 0.513201667086523,
            standard_error: 0.043470992900215666,
            newcomers: 0.15,
            lift: 0.07698025006297844,
        };
        assert_response(respond_to_growth(&posts, 0.0, 0.15, Some(episode_start as f64)), clean);
    }
}
