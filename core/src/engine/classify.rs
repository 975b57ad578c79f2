//! Why did the followers jump? suspected_purchase vs organic_breakout.
//!
//! Follower counts are cheap to fake, engagement is not. Growth counts as organic when
//! something explains it:
//!
//! ```text
//!     engagement      the growth left after crediting the posts' extra engagement in
//!                     proportion (explain.rs) is no longer a spike by the test that found it
//!     viral post      a post near the window with >= viral_multiple x the account's median
//!                     interactions (the tier's typical rate when the account has no history):
//!                     viral reach converts far beyond any per-post estimate
//!     mention         a shout-out by another account whose audience, at a few percent
//!                     converting, can supply what engagement leaves unexplained
//!                     (in proportion to the mentioner's followers: see mentions.rs)
//! ```
//!
//! Posts explain growth only as people arrive: smoothly, as the posts spread. A step inside
//! growth that posts explain (a purchase hidden in a real viral surge) is still a suspected
//! purchase when it stands out of the growth around it by more than people's arrivals can
//! change in that time (`hidden_step`):
//!
//! ```text
//!     hourly growth   ..  40  55  70  4,080  85  80  70 ..   (viral surge of a 20,000 account)
//!     allowed              neighbours' pace x e^(dt / 4 h) = 85 x 1.28 = 109 in that hour
//!     step                 4,080 - 109 = 3,971 >= 400 (2% of followers): suspected purchase
//! ```
//!
//! Seen once a day, the same surge falls into one or two intervals and the allowance
//! (e^(24 h / 4 h) = 403 x the neighbours' pace) covers it: an account observed that rarely
//! is never accused this way.
//!
//! Otherwise it is a suspected purchase, and the tell-tales that usually come with one
//! (round-number jumps, spike-then-decay, engagement rate falling with the new followers)
//! are added as supporting evidence. Posts are judged by the interactions they are expected
//! to collect in all, not by what a young observation showed. Verdicts that the next hours
//! may overturn wait, without an alert:
//!
//! ```text
//!     unexplained, gradual      up to audience_hold_s, until the posts show whether
//!                               engagement grew with the followers (people engage, bought
//!                               followers do not): posts published since, against the
//!                               followers they were shown to and the account's posts of
//!                               the same age (explain::audience_response), and posts
//!                               already out, gaining between two looks beyond how the
//!                               account's posts of those ages grow (maturity.rs). Each
//!                               gives the log likelihood ratio of people against bought
//!                               followers; they add (`toward_people`), and the growth is
//!                               decided once the odds for either reach audience_log_odds
//!                               (19 to 1: a sequential test). Newcomers who engage with
//!                               older posts count for people; people need not go back to
//!                               older posts, so their absence there never counts against
//!     unexplained, unobserved   up to conversion_window_s when the growth arrived across a
//!                               gap without observations of unobserved_gap_s and three times
//!                               the account's usual interval (posts from the gap are seen
//!                               when next observed)
//!     explained                 until conversion_window_s after the explaining post: the
//!                               followers a post brings stop coming, a drip-fed purchase
//!                               does not (it is then judged on all the growth since)
//! ```
//!
//! The odds against people that decide a purchase shrink as the hold runs out (`by_lean`:
//! a truncated sequential test, from ln 19 at first sight to none at the end), so a lean
//! that persists decides sooner than the hold's end. When the hold runs out, the verdict
//! goes the way the posts lean (`toward_people`): an accusation needs evidence against the
//! new followers, not only the absence of proof for them. Without any post to read there
//! is none, and the growth is not called a purchase.
//!
//! Worked example (the odds of `toward_people`, h1 = newcomer_engagement = 0.25). Three
//! posts since a press article, each against the account's posts at its age, give a slope
//! of 0.9 with standard error 0.35: (0.9 - 0.125) x 0.25 / 0.35^2 = 1.58. Two posts already
//! out gained beyond their age: beta 0.6, se 0.2, (0.6 - 0.125) x 0.25 / 0.04 = 2.97.
//! Together 4.55 >= ln 19 = 2.94: people, decided. Had the new posts stayed flat (slope 0,
//! se 0.1: (0 - 0.125) x 0.25 / 0.01 = -3.1), a suspected purchase, decided at once. One
//! noisy post with slope -20 and se 20 says -0.013: nearly nothing.
//!
//! An organic episode does not hide a purchase made while it lasts: growth beyond its
//! alert is tested on its own, and only a purchase verdict opens a new episode.
//!
//! A single unexplained step is decided at the first observation that shows it, unless
//! the rise was already under way before it: the window may start mid-way through a surge,
//! and a step no bigger than smooth arrivals from the pace before it allow is part of the
//! surge (`rise_before`), which is gradual growth and waits as above. Nor is a step
//! between two looks further apart than people's arrival time scale (`post_maturity_s / 3`,
//! as in `hidden_step`) decided at first sight: those hours may be the start of a press
//! article's audience arriving. It is decided at the next look, which shows whether the
//! rise stopped (a step) or went on (gradual growth):
//!
//! ```text
//!     looks 6 h apart    40,000 .. 44,000 | 44,005        step: suspected purchase at the look after
//!                        40,000 .. 41,600 | 42,700 ..     rise goes on: gradual, waits for the posts
//! ```
//!
//! Ported operation for operation from the Python engine this crate replaced
//! (streams/core/classify.py, since removed).
//!
//! A verdict keeps its reasons as numbers ([`Reason`]): most verdicts are held and judged
//! again at the next observation, and only a published one is written out (evidence.rs).

use super::config::{EngineConfig, HOUR};
use super::counts::{display_unit, shown_from};
use super::evidence::Reason;
use super::explain::{
    audience_response, conversion_for, explain, lifetime_interactions, usual_interactions, AudienceResponse,
    Explanation, Usual,
};
use super::maturity::{newcomer_response, NewcomerResponse};
use super::mentions::MentionBook;
use super::output::Evidence;
use super::spikes::Exceedance;
use super::state::{AccountState, Classification};
use super::stats::{median, py_max, py_min};
use super::windows::PostObservation;

#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub classification: Classification,
    /// What the evidence is written from, in its order ([`Verdict::evidence`]).
    pub reasons: Vec<Reason>,
    /// The purchase tell-tales close the evidence (`purchase_tells`, looked for when it is written).
    pub purchase_tells: bool,
    /// A verdict the next observations may still overturn: held for up to `hold_s`.
    pub undecided: bool,
    pub hold_s: f64,
}

impl Verdict {
    fn decided(classification: Classification, reasons: Vec<Reason>) -> Self {
        Verdict { classification, reasons, purchase_tells: false, undecided: false, hold_s: 0.0 }
    }

    fn held(classification: Classification, reasons: Vec<Reason>, undecided: bool, hold_s: f64) -> Self {
        Verdict { classification, reasons, purchase_tells: false, undecided, hold_s }
    }

    fn with_purchase_tells(self) -> Self {
        Verdict { purchase_tells: true, ..self }
    }

    /// The evidence an alert publishes: the reasons in words, then the purchase tell-tales
    /// when they belong. `state`, `found` and `points` are what `classify` was given.
    pub fn evidence(&self, state: &AccountState, found: &Exceedance, points: &[(i64, i64)]) -> Vec<Evidence> {
        let mut evidence: Vec<Evidence> = self.reasons.iter().map(Reason::evidence).collect();
        if self.purchase_tells {
            let posts: Vec<&PostObservation> = state.posts.values().collect();
            evidence.extend(purchase_tells(state, found, points, &posts).iter().map(Reason::evidence));
        }
        evidence
    }
}

/// `explain_from`: posts from before then may explain the growth too (an open episode's start).
pub fn classify(
    state: &AccountState,
    config: &EngineConfig,
    found: &Exceedance,
    points: &[(i64, i64)],
    mentions: Option<&MentionBook>,
    explain_from: Option<f64>,
) -> Verdict {
    let (t, start) = (state.latest_ts, found.ref_ts);
    let growth = state.followers - found.ref_followers;
    let hours = py_max((t - start) / HOUR, 1.0 / 60.0);
    let z = found.excess / (found.sigma * hours.sqrt());
    let mut reasons = Vec::with_capacity(12);
    reasons.push(Reason::ExcessGrowth { found: *found, growth, hours });
    reasons.push(Reason::RobustZ { z, sigma: found.sigma });
    let posts: Vec<&PostObservation> = state.posts.values().collect();
    let since = explain_from.map_or(start, |from| py_min(start, from)) - config.viral_lookback_s;
    let tier = config.tiers.tier_for(found.ref_followers);
    // No history of its own: posts are judged against what is typical for the tier.
    let usual = usual_interactions(
        &posts,
        since,
        found.ref_followers as f64 * config.typical_engagement[tier.index()],
        config,
    );
    let typical = usual.median;
    let near: Vec<&PostObservation> = posts.iter().copied().filter(|p| within(p.posted_ts, since, t)).collect();
    let viral = strongest(&near, typical, config);
    reasons.push(match viral {
        Some((ratio, post)) => Reason::StrongestPost {
            ratio,
            interactions: post.interactions,
            lifetime: lifetime_interactions(post, config),
            typical,
        },
        None => Reason::NoPostNear,
    });
    let conversion = conversion_for(state, config, &usual, found.baseline.median_per_hour, since, tier);
    let explanation = explain(config, &conversion, &usual, &near, found.ref_followers, found.excess);
    reasons.extend(explained_reasons(found, growth, &usual, &explanation, config));
    if let Some((ratio, post)) = comment_ratio(&posts, since, t) {
        if ratio >= config.viral_multiple {
            reasons.push(Reason::CommentRatio { ratio, comments: post.comments });
        }
    }
    let explained = explanation.unexplained < found.threshold;
    let organic = viral.is_some_and(|(ratio, post)| {
        ratio >= config.viral_multiple
            && lifetime_interactions(post, config) >= config.viral_min_interactions as f64
    });
    // A mention explains what engagement leaves unexplained, as far as the rest is still a spike.
    let needed = ((explanation.unexplained - found.threshold).ceil() as i64).max(0);
    let mention = mentions.and_then(|book| book.explaining(&state.account_id, needed, since, t));
    if let Some(mention) = mention {
        reasons.push(Reason::MentionedBy {
            account: mention.by_account.clone(),
            followers: mention.by_followers,
            hours_before: (found.ref_ts - mention.ts as f64) / HOUR,
        });
    }
    // A count that may be a display rounding says little about when the followers came:
    // steps are read from the exact counts (as the baseline rates are), when there are two.
    let shown = shown_from(&state.platform);
    let exact: Vec<(i64, i64)> = points.iter().copied().filter(|&(_, f)| display_unit(f, shown) == 0).collect();
    let measured: &[(i64, i64)] = if exact.len() >= 2 { &exact } else { points };
    let (step, _, step_end) = largest_step(measured);
    let (_, step_hours, _) = largest_step(points); // how long the biggest rise between any two looks took
    let continued =
        rise_after(state, found, points, step_end, config) || rise_before(state, found, measured, config);
    let rise = match (measured.first(), measured.last()) {
        (Some(first), Some(last)) => last.1 - first.1,
        _ => 0,
    };
    let gradual = (step as f64) < 0.8 * rise as f64 || continued;
    if mention.is_some() {
        return Verdict::decided(Classification::OrganicBreakout, reasons);
    }
    if organic || explained {
        // Followers that posts bring arrive as people see the posts; a bought step inside
        // that growth does not, and posts do not explain it.
        let hidden = hidden_step(state, config, found);
        if let Some(step) = hidden.step {
            reasons.push(step);
            return Verdict::decided(Classification::SuspectedPurchase, reasons).with_purchase_tells();
        }
        if organic {
            return Verdict::held(Classification::OrganicBreakout, reasons, hidden.pending, config.classification_hold_s);
        }
        // Engagement explains the growth so far. Followers a post brings stop coming;
        // a drip-fed purchase keeps going: wait until the post's followers are in.
        let last_credit = near
            .iter()
            .filter(|p| usual.extra(lifetime_interactions(p, config)) > 0.0)
            .map(|p| p.posted_ts)
            .max()
            .map_or(start, |ts| ts as f64);
        let still_converting = t < last_credit + config.conversion_window_s;
        return Verdict::held(
            Classification::OrganicBreakout,
            reasons,
            still_converting || hidden.pending,
            config.conversion_window_s,
        );
    }
    // Followers that came from off the platform (press, a move from another network) are
    // people: they engage, and the account's next posts show it. Bought ones do not.
    let followers_at = |ts: f64| follower_count_at(state, ts);
    let audience =
        audience_response(&posts, found.ref_ts, found.ref_followers, config, Some(&followers_at));
    if audience.posts != 0 {
        reasons.push(Reason::EngagementFollowsFollowers(audience));
    }
    // ... and they engage with the posts that were already there, beyond those posts' usual
    // growth with age. Growth beyond an organic alert: the posts' curve is read from before
    // that episode.
    let began = match (explain_from, &state.episode) {
        (Some(_), Some(episode)) => Some(episode.start_ts as f64),
        _ => None,
    };
    let newcomers =
        newcomer_response(&posts, found.ref_ts, found.baseline.median_per_hour, config, &followers_at, began);
    if newcomers.pairs != 0 {
        reasons.push(Reason::NewcomersEngage(newcomers));
    }
    // The two signs read different looks: their log likelihood ratios add (`toward_people`).
    // Growth is decided once the odds for either answer reach audience_log_odds.
    let lean = toward_people(&audience, &newcomers, config);
    if lean.is_some_and(|odds| odds >= config.audience_log_odds) {
        return Verdict::decided(Classification::OrganicBreakout, reasons);
    }
    if gradual {
        let waited = state.pending_since.map_or(0.0, |since| t - since as f64);
        return match by_lean(lean, waited, config) {
            Lean::Purchase => Verdict::decided(Classification::SuspectedPurchase, reasons).with_purchase_tells(),
            Lean::HeldOrganic => Verdict::held(Classification::OrganicBreakout, reasons, true, config.audience_hold_s),
            Lean::HeldPurchase => {
                Verdict::held(Classification::SuspectedPurchase, reasons, true, config.audience_hold_s).with_purchase_tells()
            }
        };
    }
    // The purchase tell-tales close the evidence of every verdict below.
    // A rise between two looks hours apart may be the first hours of people arriving (a
    // press article, a move from another network): it is a step only once the look after
    // it shows the rise stopped. Between looks less than the arrival time scale apart
    // (post_maturity_s / 3, as in hidden_step) a step is decided at first sight.
    let last_look = points.last().map_or(0, |&(ts, _)| ts); // a rounded count shows a rise going on too
    if !gradual && step_end >= last_look && step_hours * HOUR >= config.post_maturity_s / 3.0 {
        return Verdict::held(Classification::SuspectedPurchase, reasons, true, config.classification_hold_s)
            .with_purchase_tells();
    }
    // Real followers arrive over hours as a post or a mention spreads, bought followers in
    // one step: gradual growth waits for an explanation (bounded by classification_hold_s).
    // Growth that arrived while the account went unobserved may come from posts published
    // in that gap, seen only when they are next observed: it waits for them.
    if step_hours * HOUR >= py_max(config.unobserved_gap_s, 3.0 * usual_interval(state)) {
        return Verdict::held(Classification::SuspectedPurchase, reasons, true, config.conversion_window_s)
            .with_purchase_tells();
    }
    Verdict::held(Classification::SuspectedPurchase, reasons, gradual, config.classification_hold_s)
        .with_purchase_tells()
}

/// What the posts' lean (`toward_people`) makes of unexplained gradual growth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lean {
    Purchase,
    /// organic unless the posts say otherwise before the hold runs out
    HeldOrganic,
    HeldPurchase,
}

/// The lean after `waited` of the audience hold. The odds against people that decide a
/// purchase shrink as the hold runs out, from `audience_log_odds` to none (a truncated
/// sequential test): then any lean against people does. An accusation needs evidence
/// against the new followers, not only the absence of proof for them: without a post to
/// read there is none, and the growth is held as organic (published so when the hold ends).
fn by_lean(lean: Option<f64>, waited: f64, config: &EngineConfig) -> Lean {
    let needed = config.audience_log_odds * py_max(1.0 - waited / config.audience_hold_s, 0.0);
    match lean {
        Some(odds) if odds < 0.0 && odds <= -needed => Lean::Purchase,
        Some(odds) if odds <= 0.0 => Lean::HeldPurchase,
        _ => Lean::HeldOrganic,
    }
}

/// Did followers keep rising beyond the account's pace after the largest step?
fn rise_after(state: &AccountState, found: &Exceedance, points: &[(i64, i64)], step_end: i64, config: &EngineConfig) -> bool {
    let after: Vec<(i64, i64)> = points.iter().copied().filter(|&(ts, _)| ts >= step_end).collect();
    let (Some(&(t0, f0)), Some(&(t1, f1))) = (after.first(), after.last()) else { return false };
    if after.len() < 2 {
        return false;
    }
    let shown = shown_from(&state.platform);
    let hours = (t1 - t0) as f64 / HOUR;
    let rise = ((f1 - display_unit(f1, shown)) - (f0 + display_unit(f0, shown))) as f64
        - py_max(found.baseline.median_per_hour, 0.0) * hours;
    rise >= py_max(
        config.min_excess_followers as f64,
        config.sigma_k * found.sigma * py_max(hours, 1.0 / 60.0).sqrt(),
    )
}

/// Was the largest step the continuation of a rise already under way (a surge seen mid-way)?
///
/// The window starts at the latest reference that makes it a spike, which may be inside
/// the rise. When the interval before the step already rose beyond the account's noise
/// (`sigma_k` robust deviations), and the step is no more than smooth arrivals allow from
/// that pace (`hidden_step`'s allowance: a factor e per `arrival_tau`), people were
/// arriving; a package delivered at once stands out of it by a spike.
fn rise_before(state: &AccountState, found: &Exceedance, measured: &[(i64, i64)], config: &EngineConfig) -> bool {
    let mut best = 0;
    let mut step = None;
    for pair in measured.windows(2) {
        let ((t0, f0), (t1, f1)) = (pair[0], pair[1]);
        if f1 - f0 > best {
            best = f1 - f0;
            step = Some((t0, f0, t1));
        }
    }
    let Some((t_start, f_start, t_end)) = step else { return false };
    let shown = shown_from(&state.platform);
    let earlier = state
        .hourly
        .between(t_start as f64 - config.short_window_s, (t_start - 1) as f64)
        .filter(|&(_, f)| display_unit(f, shown) == 0)
        .last();
    let Some((t_before, f_before)) = earlier else { return false };
    let pace = py_max(found.baseline.median_per_hour, 0.0);
    let hours_before = py_max((t_start - t_before) as f64 / HOUR, 1.0 / 60.0);
    let rise = (f_start - f_before) as f64 - pace * hours_before;
    if rise < config.sigma_k * found.sigma * hours_before.sqrt() {
        return false;
    }
    let hours = py_max((t_end - t_start) as f64 / HOUR, 1.0 / 60.0);
    let tau_hours = config.post_maturity_s / 3.0 / HOUR;
    let allowed = hours * (f_start - f_before) as f64 / hours_before
        * py_min((hours + hours_before) / 2.0 / tau_hours, 50.0).exp();
    let threshold = py_max(
        py_max(config.min_excess_followers as f64, config.short_min_relative * f_start as f64),
        config.sigma_k * found.sigma * hours.sqrt(),
    );
    best as f64 - allowed < threshold
}

#[derive(Clone, Debug, PartialEq)]
pub struct HiddenStep {
    /// a step that arrivals from posts cannot make (`Reason::StepBeyondArrivals`)
    pub step: Option<Reason>,
    /// the latest interval may be one: the next observation tells
    pub pending: bool,
}

/// One interval between consecutive hourly observations.
struct Interval {
    end_ts: i64,
    hours: f64,
    /// growth with display-rounded counts read as ranges: the least and the most it can be
    least: i64,
    most: i64,
    before: i64,
}

/// A step inside growth that posts explain, beyond what people arriving could make.
///
/// People who find an account through a post arrive as the post spreads: their rate of
/// arrival changes smoothly, by at most a factor e per `arrival_tau` (a third of
/// `post_maturity_s`). So the growth of one interval is allowed the rate of a
/// neighbouring interval, scaled by that factor over the time between them:
///
/// ```text
///     allowed_k = dt_k * max_j(rate_j * exp((dt_k + dt_j) / 2 / arrival_tau)),  j = k - 1, k + 1
///     rate_j   >= the account's hourly noise (sigma): rates grow from the noise, not from 0
///     step_k    = growth_k - allowed_k   (display-rounded counts read as ranges)
/// ```
///
/// A step that is itself a spike by the spike test (for an interval of `dt_k`) is not
/// explained by the posts. With only the interval before it, the latest interval is
/// pending: the next observation shows whether the rise went on (a surge) or stopped.
pub fn hidden_step(state: &AccountState, config: &EngineConfig, found: &Exceedance) -> HiddenStep {
    let t = state.latest_ts;
    let points: Vec<(i64, i64)> = state.hourly.between(found.ref_ts - config.short_window_s, t).collect();
    let shown = shown_from(&state.platform);
    let mut intervals = Vec::new();
    for pair in points.windows(2) {
        let ((t0, f0), (t1, f1)) = (pair[0], pair[1]);
        let (u0, u1) = (display_unit(f0, shown), display_unit(f1, shown));
        if t1 > t0 {
            intervals.push(Interval {
                end_ts: t1,
                hours: (t1 - t0) as f64 / HOUR,
                least: (f1 - u1) - (f0 + u0),
                most: (f1 + u1) - (f0 - u0),
                before: f0,
            });
        }
    }
    let tau_hours = config.post_maturity_s / 3.0 / HOUR;
    let floor_rate = py_max(found.baseline.median_per_hour, 0.0);
    // A rate grows from the account's noise, never from nothing: a quiet neighbour still
    // leaves a long interval room for a whole surge.
    let least_rate = py_max(floor_rate, found.sigma);
    let mut best: Option<(f64, f64, f64, i64)> = None; // (step, threshold, hours, end ts)
    let mut pending = false;
    for (k, interval) in intervals.iter().enumerate() {
        if interval.end_ts as f64 <= found.ref_ts || interval.least <= 0 {
            continue;
        }
        let hours = interval.hours;
        let threshold = py_max(
            py_max(config.min_excess_followers as f64, config.short_min_relative * interval.before as f64),
            config.sigma_k * found.sigma * hours.sqrt(),
        );
        let mut allowed = floor_rate * hours;
        let neighbours = [k.checked_sub(1), Some(k + 1)];
        for other in neighbours.into_iter().flatten().filter_map(|j| intervals.get(j)) {
            let scale = py_min((hours + other.hours) / 2.0 / tau_hours, 50.0).exp();
            allowed = py_max(allowed, hours * py_max(other.most as f64 / other.hours, least_rate) * scale);
        }
        let jump = interval.least as f64 - allowed;
        if jump < threshold || k == 0 {
            continue;
        }
        if k == intervals.len() - 1 {
            pending = true; // only the interval before it to go by
        } else if best.is_none_or(|(b_jump, b_threshold, _, _)| jump - threshold > b_jump - b_threshold) {
            best = Some((jump, threshold, hours, interval.end_ts));
        }
    }
    let Some((jump, threshold, hours, end_ts)) = best else { return HiddenStep { step: None, pending } };
    let hours_ago = (t - end_ts as f64) / HOUR;
    HiddenStep { step: Some(Reason::StepBeyondArrivals { jump, hours, hours_ago, threshold }), pending: false }
}

/// The account's followers at `ts`: linear between the observations either side of it
/// (an account seen once a day may be in the middle of a rise between them).
fn follower_count_at(state: &AccountState, ts: f64) -> Option<i64> {
    let (t0, f0) = state.hourly.at_or_before(ts)?;
    match state.hourly.ordered().find(|&(t, _)| t as f64 > ts) {
        Some((t1, f1)) if t1 > t0 => {
            Some(f0 + ((f1 - f0) as f64 * (ts - t0 as f64) / (t1 - t0) as f64).round() as i64)
        }
        _ => Some(f0),
    }
}

/// `since_ts <= posted_ts <= until_ts`.
fn within(posted_ts: i64, since_ts: f64, until_ts: f64) -> bool {
    since_ts <= posted_ts as f64 && posted_ts as f64 <= until_ts
}

fn strongest<'p>(
    near: &[&'p PostObservation],
    typical: f64,
    config: &EngineConfig,
) -> Option<(f64, &'p PostObservation)> {
    let (first, rest) = near.split_first()?;
    // Python's max: the first of equals wins.
    let mut best = (lifetime_interactions(first, config), *first);
    for post in rest {
        let lifetime = lifetime_interactions(post, config);
        if lifetime > best.0 {
            best = (lifetime, *post);
        }
    }
    Some((best.0 / typical, best.1))
}

fn explained_reasons(
    found: &Exceedance,
    growth: i64,
    usual: &Usual,
    explanation: &Explanation,
    config: &EngineConfig,
) -> [Reason; 4] {
    [
        Reason::ObservedGrowth { found: *found, growth },
        Reason::ExplainedGrowth { explanation: *explanation, usual: *usual, tolerance: config.explained_tolerance },
        Reason::UnexplainedGrowth { explanation: *explanation, threshold: found.threshold },
        Reason::FollowersPerInteraction { explanation: *explanation },
    ]
}

/// Strongest comment count near the window against the account's usual (at least 3).
fn comment_ratio<'p>(
    posts: &[&'p PostObservation],
    since_ts: f64,
    until_ts: f64,
) -> Option<(f64, &'p PostObservation)> {
    let earlier: Vec<f64> =
        posts.iter().filter(|p| (p.posted_ts as f64) < since_ts).map(|p| p.comments as f64).collect();
    if earlier.len() < 2 {
        return None;
    }
    let mut best: Option<&PostObservation> = None;
    for post in posts.iter().copied().filter(|p| within(p.posted_ts, since_ts, until_ts)) {
        if best.is_none_or(|b| post.comments > b.comments) {
            best = Some(post);
        }
    }
    let best = best?;
    Some((best.comments as f64 / py_max(median(&earlier), 3.0), best))
}

fn purchase_tells(
    state: &AccountState,
    found: &Exceedance,
    points: &[(i64, i64)],
    posts: &[&PostObservation],
) -> Vec<Reason> {
    let mut tells = Vec::new();
    let (step, step_hours, _) = largest_step(points);
    let organic_part = found.baseline.median_per_hour * step_hours;
    let jump = step as f64 - organic_part;
    for unit in [1000_i64, 500] {
        if jump >= (5 * unit) as f64 {
            // Python's round() of a float to an int: ties to even.
            let rounded = (jump / unit as f64).round_ties_even() as i64 * unit;
            let off = (jump - rounded as f64).abs();
            // Organic arrivals during the step blur the round number by about this much.
            if off <= py_max(2.0, 3.0 * found.sigma * step_hours.sqrt()) {
                tells.push(Reason::RoundNumberJump { step, off, rounded });
            }
            break;
        }
    }
    if let Some(peak) = points.iter().map(|&(_, f)| f).max() {
        if peak > found.ref_followers && state.followers < peak {
            let decay = (peak - state.followers) as f64 / (peak - found.ref_followers) as f64;
            if decay >= 0.1 {
                tells.push(Reason::SpikeThenDecay { decay, peak });
            }
        }
    }
    let before: Vec<f64> = posts.iter().filter(|p| (p.observed_ts as f64) < found.ref_ts).map(|p| p.rate()).collect();
    let after: Vec<f64> = posts
        .iter()
        .filter(|p| p.observed_ts as f64 >= found.ref_ts && p.followers > found.ref_followers)
        .map(|p| p.rate())
        .collect();
    if !before.is_empty() && !after.is_empty() {
        let usual_rate = median(&before);
        let change = if usual_rate > 0.0 { median(&after) / usual_rate } else { 0.0 };
        tells.push(Reason::EngagementRateChange { change });
    }
    tells
}

/// How far the posts lean toward people: the log likelihood ratios of people against
/// bought followers of the signs that are there (independent: different looks), added;
/// None without either. Newcomers who engage with older posts are people, but people need
/// not go back to older posts: that sign only ever counts for them, never against.
pub fn toward_people(audience: &AudienceResponse, newcomers: &NewcomerResponse, config: &EngineConfig) -> Option<f64> {
    (audience.posts != 0 || newcomers.pairs != 0)
        .then(|| audience.log_likelihood_ratio(config) + py_max(newcomers.log_likelihood_ratio(config), 0.0))
}

/// Median seconds between the account's hourly observations (its polling cadence).
fn usual_interval(state: &AccountState) -> f64 {
    let seen: Vec<i64> = state.hourly.ordered().map(|(ts, _)| ts).collect();
    let gaps: Vec<f64> = seen.windows(2).map(|pair| (pair[1] - pair[0]) as f64).collect();
    if gaps.is_empty() {
        0.0
    } else {
        median(&gaps)
    }
}

/// Biggest rise between consecutive observations, the hours it took and when it ended.
fn largest_step(points: &[(i64, i64)]) -> (i64, f64, i64) {
    let (mut best, mut hours, mut end) = (0, 1.0, points.last().map_or(0, |&(ts, _)| ts));
    for pair in points.windows(2) {
        let ((t0, f0), (t1, f1)) = (pair[0], pair[1]);
        if f1 - f0 > best {
            best = f1 - f0;
            hours = py_max((t1 - t0) as f64 / HOUR, 1.0 / 60.0);
            end = t1;
        }
    }
    (best, hours, end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spikes::Window;
    use crate::engine::state::Baseline;

    const T0: i64 = 1_700_006_400;

    /// `(id, posted hour, [(observed hour, interactions)])`
    type PostLooks = (&'static str, i64, &'static [(i64, i64)]);
    /// `(ts, the post seen then: (id, posted ts, interactions))`
    type Look = (i64, Option<(&'static str, i64, i64)>);

    /// Hourly observations `followers_at(h)` for h in 0..=hours, and posts
    /// `(id, posted hour, [(observed hour, interactions)])` (comments: a twentieth of the
    /// interactions), applied in time order as the engine applies them.
    fn account(
        account_id: &str,
        followers_at: fn(i64) -> i64,
        hours: i64,
        posts: &[PostLooks],
    ) -> AccountState {
        let config = EngineConfig::default();
        let mut state = AccountState::new(account_id, "tiktok", "h", &config);
        // (ts, post: Option<(id, posted_ts, interactions)>), stable-sorted by ts: snapshots first
        let mut events: Vec<Look> = (0..=hours).map(|h| (T0 + h * 3600, None)).collect();
        for &(id, posted_h, looks) in posts {
            for &(observed_h, interactions) in looks {
                events.push((T0 + observed_h * 3600, Some((id, T0 + posted_h * 3600, interactions))));
            }
        }
        events.sort_by_key(|&(ts, _)| ts);
        for (ts, post) in events {
            let followers = followers_at((ts - T0) / 3600);
            state.observe_followers(ts as f64, followers);
            if let Some((id, posted_ts, interactions)) = post {
                let observation = PostObservation {
                    posted_ts,
                    observed_ts: ts,
                    interactions,
                    followers,
                    views: None,
                    niches: vec![],
                    comments: interactions / 20,
                    prev_interactions: 0,
                    prev_observed_ts: 0,
                };
                let latest = state.latest_ts;
                state.posts.observe(id, observation, latest);
            }
        }
        state
    }

    /// The short-window exceedance from hour `ref_h` to the latest observation.
    fn exceedance(state: &AccountState, ref_h: i64, median_per_hour: f64, mad_per_hour: f64) -> Exceedance {
        let config = EngineConfig::default();
        let ref_ts = (T0 + ref_h * 3600) as f64;
        let ref_followers = state.hourly.at_or_before(ref_ts).map_or(0, |(_, f)| f);
        let hours = py_max((state.latest_ts - ref_ts) / HOUR, 1.0 / 60.0);
        let sigma = py_max(1.4826 * mad_per_hour, 1.0);
        let expected = median_per_hour * hours;
        let threshold = py_max(
            py_max(config.min_excess_followers as f64, config.short_min_relative * ref_followers as f64),
            config.sigma_k * sigma * hours.sqrt(),
        );
        Exceedance {
            window: Window::Short,
            ref_ts,
            ref_followers,
            excess: (state.followers - ref_followers) as f64 - expected,
            threshold,
            expected,
            baseline: Baseline { hour: ref_ts as i64 / 3600, median_per_hour, mad_per_hour, rates: 100 },
            sigma,
        }
    }

    /// The verdict, and the evidence an alert of it publishes.
    fn verdict_of(
        state: &AccountState,
        found: &Exceedance,
        mentions: Option<&MentionBook>,
    ) -> (Verdict, Vec<Evidence>) {
        let points: Vec<(i64, i64)> = state.hourly.between(found.ref_ts, state.latest_ts).collect();
        let verdict = classify(state, &EngineConfig::default(), found, &points, mentions, None);
        let evidence = verdict.evidence(state, found, &points);
        (verdict, evidence)
    }

    /// Evidence as (name, value, detail), to compare with Python's.
    fn evidence_of(evidence: &[Evidence]) -> Vec<(&str, f64, &str)> {
        evidence.iter().map(|e| (e.name.as_str(), e.value, e.detail.as_str())).collect()
    }

    const USUAL: [i64; 6] = [580, 610, 600, 640, 590, 620];
    const EARLY: [PostLooks; 6] = [
        ("p0", 0, &[(13, USUAL[0])]),
        ("p1", 6, &[(19, USUAL[1])]),
        ("p2", 12, &[(25, USUAL[2])]),
        ("p3", 18, &[(31, USUAL[3])]),
        ("p4", 24, &[(37, USUAL[4])]),
        ("p5", 30, &[(43, USUAL[5])]),
    ];

    fn with(extra: &[PostLooks]) -> Vec<PostLooks> {
        EARLY.iter().copied().chain(extra.iter().copied()).collect()
    }

    fn surge(h: i64) -> i64 {
        20_000 + 5 * h + if h > 60 { 100 * (h - 60) } else { 0 }
    }

    fn gradual(h: i64) -> i64 {
        20_000 + 5 * h + if h > 60 { 150 * (h - 60) } else { 0 }
    }

    // Expected evidence below is what the Python engine's classify (streams/core/classify.py,
    // since removed) returned on the same
    // account (built with AccountState.new, observe_followers and posts.observe).

    const HEAD_OF_SURGE: [(&str, f64, &str); 8] = [
        ("excess_growth", 1400.0, "followers grew by 1,470 (7.2%) in 14.0 h where the account's baseline of 5.0/h predicts 70; threshold 406 (short window)"),
        ("robust_z", 126.2, "the excess is 126.2 robust standard deviations of the account's hourly growth (3.0/h)"),
        ("max_post_engagement_ratio", 14.88, "the strongest post near the window has 9,000 interactions (about 9,000 over its lifetime), 14.9x the account's median of 605"),
        ("observed_growth", 1470.0, "followers grew by 1,470, 1,400 above the 70 the account's baseline predicts"),
        ("explained_growth", 2816.8, "posts near the window drew 8,395 interactions beyond the account's usual 605 per post, which explain 2,817 new followers (credited up to 3x: 8,451)"),
        ("unexplained_growth", -7050.5, "-7,051 followers above the baseline are not explained by engagement (a spike from 406)"),
        ("followers_per_interaction", 0.3355, "0.336 new followers per extra interaction (1.00% of the audience per median post of extra engagement), the micro tier's prior"),
        ("max_post_comment_ratio", 15.0, "a post near the window has 450 comments, 15.0x the usual (giveaways and shout-outs draw comments)"),
    ];

    #[test]
    fn a_viral_post_explains_smooth_growth_as_organic() {
        let state = account("tiktok:viral", surge, 74, &with(&[("v", 60, &[(61, 2500), (74, 9000)])]));
        let (verdict, evidence) = verdict_of(&state, &exceedance(&state, 60, 5.0, 2.0), None);
        assert_eq!(verdict.classification, Classification::OrganicBreakout);
        assert!(!verdict.undecided);
        assert_eq!(verdict.hold_s, 43_200.0);
        assert_eq!(evidence_of(&evidence), HEAD_OF_SURGE.to_vec());
    }

    #[test]
    fn a_step_without_engagement_is_a_suspected_purchase_with_its_tell_tales() {
        fn bought(h: i64) -> i64 {
            20_000 + 5 * h + if h >= 70 { 5000 - 200 * (h - 70) } else { 0 }
        }
        let state = account("tiktok:bought", bought, 74, &with(&[("q1", 50, &[(64, 610)]), ("q2", 60, &[(73, 600)])]));
        let (verdict, evidence) = verdict_of(&state, &exceedance(&state, 66, 5.0, 2.0), None);
        assert_eq!(verdict.classification, Classification::SuspectedPurchase);
        assert!(!verdict.undecided, "a single step is decided at once");
        assert_eq!(verdict.hold_s, 43_200.0);
        assert_eq!(
            evidence_of(&evidence),
            vec![
                ("excess_growth", 4200.0, "followers grew by 4,240 (20.9%) in 8.0 h where the account's baseline of 5.0/h predicts 40; threshold 407 (short window)"),
                ("robust_z", 500.8, "the excess is 500.8 robust standard deviations of the account's hourly growth (3.0/h)"),
                ("max_post_engagement_ratio", 1.01, "the strongest post near the window has 610 interactions (about 610 over its lifetime), 1.0x the account's median of 605"),
                ("observed_growth", 4240.0, "followers grew by 4,240, 4,200 above the 40 the account's baseline predicts"),
                ("explained_growth", 0.2, "posts near the window drew 1 interactions beyond the account's usual 605 per post, which explain 0 new followers (credited up to 3x: 1)"),
                ("unexplained_growth", 4199.4, "4,199 followers above the baseline are not explained by engagement (a spike from 407)"),
                ("followers_per_interaction", 0.336, "0.336 new followers per extra interaction (1.00% of the audience per median post of extra engagement), the micro tier's prior"),
                ("round_number_jump", 5000.0, "a single jump of 5,005 followers is within 0 of 5,000"),
                ("spike_then_decay", 0.155, "16% of the gained followers were lost again after the peak of 25,350"),
                ("engagement_rate_change", 0.807, "engagement rate after the jump is 0.81x the rate before: the new followers do not engage"),
            ]
        );
    }

    const GRADUAL_HEAD: [(&str, f64, &str); 7] = [
        ("excess_growth", 1800.0, "followers grew by 1,860 (9.2%) in 12.0 h where the account's baseline of 5.0/h predicts 60; threshold 406 (short window)"),
        ("robust_z", 175.2, "the excess is 175.2 robust standard deviations of the account's hourly growth (3.0/h)"),
        ("max_post_engagement_ratio", 1.01, "the strongest post near the window has 610 interactions (about 610 over its lifetime), 1.0x the account's median of 605"),
        ("observed_growth", 1860.0, "followers grew by 1,860, 1,800 above the 60 the account's baseline predicts"),
        ("explained_growth", 0.2, "posts near the window drew 1 interactions beyond the account's usual 605 per post, which explain 0 new followers (credited up to 3x: 1)"),
        ("unexplained_growth", 1799.4, "1,799 followers above the baseline are not explained by engagement (a spike from 406)"),
        ("followers_per_interaction", 0.3355, "0.336 new followers per extra interaction (1.00% of the audience per median post of extra engagement), the micro tier's prior"),
    ];

    #[test]
    fn unexplained_gradual_growth_is_held_until_the_posts_tell_and_no_post_is_no_accusation() {
        // No post since the growth and none spanning it: nothing says the followers are
        // not people. Held for the posts; when the hold runs out, that is the verdict.
        let state = account("tiktok:gradual", gradual, 72, &with(&[("q1", 50, &[(64, 610)])]));
        let (verdict, evidence) = verdict_of(&state, &exceedance(&state, 60, 5.0, 2.0), None);
        assert_eq!(verdict.classification, Classification::OrganicBreakout);
        assert!(verdict.undecided);
        assert_eq!(verdict.hold_s, EngineConfig::default().audience_hold_s);
        assert_eq!(evidence_of(&evidence), GRADUAL_HEAD.to_vec());
    }

    #[test]
    fn a_shout_out_by_a_large_account_explains_growth() {
        let state = account("tiktok:gradual", gradual, 72, &with(&[("q1", 50, &[(64, 610)])]));
        let mut book = MentionBook::default();
        let (posted, seen) = ((T0 + 58 * 3600) as f64, (T0 + 59 * 3600) as f64);
        book.record("instagram:bigstar", Some("go follow @gradual!"), posted, 400_000, Some(seen));
        let (verdict, evidence) = verdict_of(&state, &exceedance(&state, 60, 5.0, 2.0), Some(&book));
        assert_eq!(verdict.classification, Classification::OrganicBreakout);
        assert!(!verdict.undecided);
        let mut expected = GRADUAL_HEAD.to_vec();
        expected.push((
            "mentioned_by_followers",
            400_000.0,
            "instagram:bigstar (400,000 followers) mentioned the account +2.0 h before the window",
        ));
        assert_eq!(evidence_of(&evidence), expected);
    }

    #[test]
    fn a_step_hidden_in_a_viral_surge_is_still_a_purchase() {
        fn hidden(h: i64) -> i64 {
            surge(h) + if h >= 66 { 4000 } else { 0 }
        }
        let state = account("tiktok:hidden", hidden, 74, &with(&[("v", 60, &[(61, 2500), (74, 9000)])]));
        let found = exceedance(&state, 60, 5.0, 2.0);
        let step = "3,970 followers arrived within 1.0 h (8.0 h ago) beyond what the growth around it allows people \
                    finding the posts (a spike from 416): a step, not a surge";
        let hidden = hidden_step(&state, &EngineConfig::default(), &found);
        assert!(!hidden.pending);
        let expected = Evidence::new("step_beyond_arrivals", 3970.2, step.to_owned());
        assert_eq!(hidden.step.map(|step| step.evidence()), Some(expected));
        let (verdict, evidence) = verdict_of(&state, &found, None);
        assert_eq!(verdict.classification, Classification::SuspectedPurchase);
        assert!(!verdict.undecided);
        let evidence = evidence_of(&evidence);
        assert_eq!(evidence[0].2, "followers grew by 5,470 (26.9%) in 14.0 h where the account's baseline of 5.0/h predicts 70; threshold 406 (short window)");
        assert_eq!(evidence[5], ("unexplained_growth", -3050.5, "-3,051 followers above the baseline are not explained by engagement (a spike from 406)"));
        assert_eq!(evidence[8], ("step_beyond_arrivals", 3970.2, step));
        assert_eq!(evidence[9], ("engagement_rate_change", 11.609, "engagement rate after the jump is 11.61x the rate before: the new followers do not engage"));
        assert_eq!(evidence.len(), 10);
    }

    #[test]
    fn smooth_growth_from_posts_hides_no_step() {
        let state = account("tiktok:viral", surge, 74, &with(&[("v", 60, &[(61, 2500), (74, 9000)])]));
        let hidden = hidden_step(&state, &EngineConfig::default(), &exceedance(&state, 60, 5.0, 2.0));
        assert_eq!(hidden, HiddenStep { step: None, pending: false });
    }

    fn audience(posts: usize, slope: f64, standard_error: f64) -> AudienceResponse {
        AudienceResponse { verdict: None, posts, slope, standard_error }
    }

    fn newcomers(pairs: usize, slope: f64, standard_error: f64) -> NewcomerResponse {
        NewcomerResponse { verdict: None, pairs, controls: 3, slope, standard_error, newcomers: 0.1, lift: 0.05 }
    }

    #[test]
    fn the_odds_of_the_two_signs_add_and_weak_evidence_weighs_little() {
        let config = EngineConfig::default(); // newcomer_engagement h1 = 0.25: (slope - 0.125) 0.25 / se^2
        let none = audience(0, 0.0, f64::INFINITY);
        assert_eq!(toward_people(&none, &newcomers(0, 0.0, 0.1), &config), None); // nothing to lean on
        // Posts since the growth at slope 1.0, se 0.5: (1.0 - 0.125) 0.25 / 0.25 = 0.875.
        let posts = audience(3, 1.0, 0.5);
        assert_close(toward_people(&posts, &newcomers(0, 0.0, 0.1), &config), 0.875);
        // The same distance from the midpoint in errors with five times the error: a fifth of the odds.
        assert_close(toward_people(&audience(1, 0.125 + 0.875 * 5.0, 2.5), &newcomers(0, 0.0, 0.1), &config), 0.875 / 5.0);
        // Newcomers engaging with older posts add for people: (0.5 - 0.125) 0.25 / 0.01 = 9.375 ...
        assert_close(toward_people(&posts, &newcomers(2, 0.5, 0.1), &config), 0.875 + 9.375);
        // ... newcomers who leave older posts alone are no sign against people.
        assert_close(toward_people(&posts, &newcomers(2, -0.3, 0.1), &config), 0.875);
        assert_close(toward_people(&none, &newcomers(2, -0.3, 0.1), &config), 0.0);
        // Flat engagement on the new posts is: (0 - 0.125) 0.25 / 0.01 = -3.125, past -ln 19.
        let flat = toward_people(&audience(4, 0.0, 0.1), &newcomers(0, 0.0, 0.1), &config).unwrap_or(0.0);
        assert!(flat <= -config.audience_log_odds, "{flat}");
    }

    #[test]
    fn the_odds_a_purchase_needs_shrink_as_the_hold_runs_out() {
        let config = EngineConfig::default(); // audience_log_odds ln 19 = 2.94, hold 72 h
        let hold = config.audience_hold_s;
        assert_eq!(by_lean(Some(-3.0), 0.0, &config), Lean::Purchase);
        assert_eq!(by_lean(Some(-1.5), 0.0, &config), Lean::HeldPurchase);
        assert_eq!(by_lean(Some(-1.5), 0.5 * hold, &config), Lean::Purchase); // needs 1.47 by then
        assert_eq!(by_lean(Some(-0.1), hold, &config), Lean::Purchase);
        assert_eq!(by_lean(Some(0.0), 0.0, &config), Lean::HeldPurchase);
        assert_eq!(by_lean(Some(0.5), hold, &config), Lean::HeldOrganic);
        assert_eq!(by_lean(None, 2.0 * hold, &config), Lean::HeldOrganic); // no post to read
    }

    fn assert_close(value: Option<f64>, expected: f64) {
        assert!(value.is_some_and(|v| (v - expected).abs() < 1e-12), "{value:?} != {expected}");
    }

    #[test]
    fn the_largest_step_is_the_first_of_equal_rises() {
        let points = [(0, 100), (1800, 150), (5400, 250), (9000, 350), (9060, 400)];
        assert_eq!(largest_step(&points), (100, 1.0, 5400));
        assert_eq!(largest_step(&[(7200, 10)]), (0, 1.0, 7200));
        assert_eq!(largest_step(&[(0, 10), (30, 20)]), (10, 1.0 / 60.0, 30));
    }
}
