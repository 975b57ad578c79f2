//! Follower-spike detection against the account's own robust baseline.
//!
//! On every follower observation the latest count `F` at time `t` is compared with
//! earlier observations `r` of the account (hourly buckets):
//!
//! ```text
//!     excess(r) = F - F_r - median_rate * (t - t_r)
//!     spike  if  excess(r) >= max(min_excess, min_relative * F_r, k * sigma * sqrt(hours))
//! ```
//!
//! `median_rate` and `sigma` (1.4826 * MAD) are the account's hourly growth before the
//! window, so a fast-growing account is judged against itself. Two windows run side by
//! side: a short one (24h: steps and bursts) and a long one (72h, stricter baseline
//! cut-off: drip-fed purchases that never jump). Drops never count.
//!
//! Hourly rates summed as if independent understate what days of organic growth can add
//! up to when it comes in bursts (good posts) or its pace drifts. So a window of a day or
//! more is also held to the account's own growth over earlier windows of its length
//! (`window_pace`, from its daily looks): the expected growth is at least their median,
//! and the threshold at least `k` times their spread (1.4826 * MAD):
//!
//! ```text
//!     earlier 3-day growths     906  906  906  ...  (one burst of 906 every third day)
//!     this 3-day window         906    expected 906: no excess (hourly rates predict 0)
//!     the same with a drip      906 + 2,952 bought: excess 2,952 >= threshold 600: spike
//! ```
//!
//! An episode opens with one alert and stays open while growth keeps exceeding; it closes
//! after `episode_cooldown_s` without exceedance, and later windows may not reach back
//! before it, so one purchase is one alert.
//!
//! The Python engine this replaced (streams/core/spikes.py, since removed) kept scan
//! shortcuts (`short_clear`, `short_ceiling`, the hourly-rate reuse) beside the persisted
//! baselines; this port always scans in full. Float operations are in the Python source's
//! order, so results agree bit for bit.

use sha2::{Digest, Sha256};

use super::classify::classify;
use super::config::{EngineConfig, DAY, HOUR};
use super::counts::{display_unit, shown_from};
use super::mentions::MentionBook;
use super::output::Alert;
use super::state::{AccountState, Baseline, BaselineKey, Classification, Episode};
use super::stats::{bucket_index, median_deviation_of_sorted, median_of_sorted, py_max, py_min, py_round};

pub const MAD_TO_SIGMA: f64 = 1.4826;
pub const MIN_SIGMA_PER_HOUR: f64 = 0.5;
pub const BASELINE_REFRESH_HOURS: i64 = 24;
/// Suspected-purchase alert times kept for the authenticity component.
const PURCHASE_ALERTS_KEPT: usize = 5;

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
    let t = state.latest_ts;
    let mut guard = 0.0;
    if let Some((last_exceed_ts, classification, alert_ts)) =
        state.episode.as_ref().map(|e| (e.last_exceed_ts, e.classification, e.alert_ts))
    {
        if t - last_exceed_ts as f64 <= config.episode_cooldown_s {
            let found = find_exceedance(state, config, 0.0);
            if found.is_some() {
                if let Some(episode) = state.episode.as_mut() {
                    episode.last_exceed_ts = episode.last_exceed_ts.max(t as i64);
                }
            }
            if classification == Classification::OrganicBreakout && alert_ts != 0 {
                // An organic episode must not hide a purchase made while it lasts:
                // growth beyond the alert is judged on its own.
                let fresh = if found.is_some() { find_exceedance(state, config, alert_ts as f64) } else { None };
                let fresh = match fresh {
                    Some(fresh) => Some(fresh),
                    None => held_spike(state, config),
                };
                if let Some(fresh) = fresh {
                    return open_episode(state, config, fresh, mentions, true);
                }
            }
            return None;
        }
        guard = last_exceed_ts as f64; // closed: never compare across it again
    }
    let found = match find_exceedance(state, config, guard) {
        Some(found) => Some(found),
        None => held_spike(state, config),
    };
    let Some(found) = found else {
        if let Some(since) = state.pending_since {
            if t - since as f64 > config.conversion_window_s {
                // faded before a verdict was needed
                state.pending_since = None;
                state.pending_start = None;
            }
        }
        return None;
    };
    open_episode(state, config, found, mentions, false)
}

/// A held spike whose growth has left the windows, judged from where it was first seen.
///
/// Bought followers stay: a spike waiting for its verdict must not be forgotten because
/// the windows moved past its step while it waited.
pub(crate) fn held_spike(state: &mut AccountState, config: &EngineConfig) -> Option<Exceedance> {
    let pending_start = state.pending_start?;
    // The baseline from before the growth began: an open episode's start if earlier.
    let mut began = pending_start as f64;
    if let Some(episode) = &state.episode {
        began = py_min(began, episode.start_ts as f64);
    }
    let mut baseline = baseline_before(state, BaselineKey::Held, began);
    if baseline.rates < config.min_baseline_rates {
        // Too little history before it to know the account's own pace: its pace since.
        let cutoff = state.latest_ts - config.short_window_s;
        baseline = baseline_before(state, BaselineKey::Short, cutoff);
    }
    let sigma = sigma_of(&baseline, state.followers, config);
    let seed = Exceedance {
        window: Window::Short,
        ref_ts: pending_start as f64,
        ref_followers: 0,
        excess: 0.0,
        threshold: 0.0,
        expected: 0.0,
        baseline,
        sigma,
    };
    let held = rebased(state, config, seed, pending_start as f64);
    (held.ref_followers != 0 && held.excess >= held.threshold).then_some(held)
}

pub(crate) fn find_exceedance(state: &mut AccountState, config: &EngineConfig, guard_ts: f64) -> Option<Exceedance> {
    match short_test(state, config, guard_ts) {
        Some(found) => Some(found),
        None => long_test(state, config, guard_ts),
    }
}

fn short_test(state: &mut AccountState, config: &EngineConfig, guard_ts: f64) -> Option<Exceedance> {
    let (t, followers) = (state.latest_ts, state.followers);
    let baseline = baseline_before(state, BaselineKey::Short, t - config.short_window_s);
    let floor = config.min_excess_followers as f64;
    let relative = config.short_min_relative;
    let sigma = sigma_of(&baseline, followers, config);
    let rate = py_max(baseline.median_per_hour, 0.0);
    let mut found = None;
    // Oldest first, keeping the latest qualifying reference: the tightest window. The
    // pre-check (the threshold is never below the floors) rejects most references.
    let last_ref = t - 1.0;
    for (ref_ts, ref_followers) in state.hourly.between(py_max(t - config.short_window_s, guard_ts), t) {
        if ref_ts as f64 > last_ref {
            continue; // not a reference yet (within a second of now)
        }
        let expected = rate * (t - ref_ts as f64) / HOUR;
        let excess = (followers - ref_followers) as f64 - expected;
        let mut pre = relative * ref_followers as f64;
        if pre < floor {
            pre = floor;
        }
        if excess < pre {
            continue;
        }
        let hit = test(config, Window::Short, state, ref_ts as f64, ref_followers, baseline, sigma);
        if hit.is_some() {
            found = hit;
        }
    }
    found
}

fn long_test(state: &mut AccountState, config: &EngineConfig, guard_ts: f64) -> Option<Exceedance> {
    let (t, followers) = (state.latest_ts, state.followers);
    let cutoff = t - config.long_window_s;
    let mut reference = state.hourly.at_or_before(cutoff).or_else(|| state.daily.at_or_before(cutoff));
    if reference.is_none_or(|(ts, _)| (ts as f64) < guard_ts) {
        reference = state.hourly.between(py_max(guard_ts, cutoff), t).next();
        if reference.is_none_or(|(ts, _)| t - ts as f64 <= config.short_window_s) {
            return None; // no more than the short window can see
        }
    }
    let (ref_ts, ref_followers) = reference?;
    let mut baseline = baseline_before(state, BaselineKey::Long, ref_ts as f64);
    if baseline.rates < config.min_baseline_rates {
        baseline = baseline_before(state, BaselineKey::Short, t - config.short_window_s);
    }
    // Pre-check (the threshold is never below the floors), as in `test`.
    let hours = py_max((t - ref_ts as f64) / HOUR, 1.0 / 60.0);
    let excess = (followers - ref_followers) as f64 - py_max(baseline.median_per_hour, 0.0) * hours;
    if excess < config.min_excess_followers as f64 || excess < config.long_min_relative * ref_followers as f64 {
        return None;
    }
    let sigma = sigma_of(&baseline, followers, config);
    test(config, Window::Long, state, ref_ts as f64, ref_followers, baseline, sigma)
}

fn test(
    config: &EngineConfig,
    window: Window,
    state: &AccountState,
    ref_ts: f64,
    ref_followers: i64,
    baseline: Baseline,
    sigma: f64,
) -> Option<Exceedance> {
    let measured = measure(config, window, state, ref_ts, ref_followers, baseline, sigma);
    (measured.excess >= measured.threshold).then_some(measured)
}

/// Growth from the reference to now above the baseline, and the threshold it is held to.
///
/// A window of a day or more is also held to the account's own growth over windows of
/// its length before it (`window_pace`): organic growth that comes in bursts, or whose
/// pace drifts over weeks, grows over days by more than hourly rates, summed as if they
/// were independent, allow.
fn measure(
    config: &EngineConfig,
    window: Window,
    state: &AccountState,
    ref_ts: f64,
    ref_followers: i64,
    baseline: Baseline,
    sigma: f64,
) -> Exceedance {
    let (t, followers, platform) = (state.latest_ts, state.followers, state.platform.as_str());
    let hours = py_max((t - ref_ts) / HOUR, 1.0 / 60.0);
    // A shrinking baseline (e.g. bought followers being removed) must not turn a flat
    // follower count into "growth above expectation".
    let mut expected = py_max(baseline.median_per_hour, 0.0) * hours;
    // A count that may be a display rounding is a range (counts.rs): the least growth
    // the two ranges allow is what counts.
    let shown = shown_from(platform);
    let least_growth =
        followers - display_unit(followers, shown) - ref_followers - display_unit(ref_followers, shown);
    let excess = least_growth as f64 - expected;
    let relative = match window {
        Window::Short => config.short_min_relative,
        Window::Long => config.long_min_relative,
    };
    let mut threshold = py_max(
        py_max(config.min_excess_followers as f64, relative * ref_followers as f64),
        config.sigma_k * sigma * hours.sqrt(),
    );
    let mut excess = excess;
    if hours * HOUR >= DAY {
        if let Some(pace) = window_pace(state, ref_ts, t - ref_ts, config) {
            if pace.centre > expected {
                excess -= pace.centre - expected;
                expected = pace.centre;
            }
            threshold = py_max(threshold, config.sigma_k * pace.spread);
        }
    }
    Exceedance { window, ref_ts, ref_followers, excess, threshold, expected, baseline, sigma }
}

/// Past windows of a length needed before an account's own growth over them is used.
pub const MIN_PACE_WINDOWS: usize = 5;

/// The account's growth over windows of `span_s` that ended before `before_ts`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowPace {
    /// median growth over such a window
    pub centre: f64,
    /// 1.4826 x MAD of it
    pub spread: f64,
    pub windows: usize,
}

/// Growth over every span of `span_s` between two of the account's daily observations
/// (scaled to exactly `span_s`; one per day it ends on) that ended by `before_ts`,
/// leaving out spans with a suspected purchase in them (bought followers are not its
/// pace). None with fewer than `MIN_PACE_WINDOWS`.
pub(crate) fn window_pace(state: &AccountState, before_ts: f64, span_s: f64, config: &EngineConfig) -> Option<WindowPace> {
    let days: Vec<(i64, i64)> = state.daily.ordered().filter(|&(ts, _)| ts as f64 <= before_ts).collect();
    let mut growths = Vec::new();
    for (k, &(t1, f1)) in days.iter().enumerate() {
        let start = days[..k].partition_point(|&(ts, _)| ts as f64 <= t1 as f64 - span_s);
        let Some(&(t0, f0)) = start.checked_sub(1).map(|i| &days[i]) else { continue };
        let dt = (t1 - t0) as f64;
        if dt <= 0.0 || dt > span_s + DAY {
            continue; // the account went unobserved for more than a day around it
        }
        let bought = state.purchase_alerts.iter().any(|&alert| {
            let alert = alert as f64;
            t0 as f64 <= alert && alert <= t1 as f64 + config.short_window_s
        });
        if !bought {
            growths.push((f1 - f0) as f64 * span_s / dt);
        }
    }
    if growths.len() < MIN_PACE_WINDOWS {
        return None;
    }
    growths.sort_unstable_by(f64::total_cmp);
    let centre = median_of_sorted(&growths);
    let spread = MAD_TO_SIGMA * median_deviation_of_sorted(&growths, centre);
    Some(WindowPace { centre, spread, windows: growths.len() })
}

/// A tenth of the hourly rates is cut off each end for the trimmed mean.
const TRIM_DIVISOR: usize = 10;

/// The centre (the larger of the median and the trimmed mean) and the MAD (around the
/// median) of hourly growth rates observed before `cutoff_ts`; refreshed daily.
pub(crate) fn baseline_before(state: &mut AccountState, key: BaselineKey, cutoff_ts: f64) -> Baseline {
    let hour = bucket_index(state.latest_ts, HOUR);
    // The cut-off trails the window by a day or more, so a day's staleness is harmless
    // (and the persisted baseline decides when it is refreshed, as in Python).
    if let Some(cached) = state.baselines.get(key) {
        if (0..BASELINE_REFRESH_HOURS).contains(&(hour - cached.hour)) {
            return cached;
        }
    }
    let (ends, mut all_rates) = hourly_rates(state);
    let count = ends.partition_point(|&end| end as f64 <= cutoff_ts);
    let rates = &mut all_rates[..count];
    let (mid, mad) = if rates.len() >= 3 {
        rates.sort_unstable_by(f64::total_cmp);
        let mid = median_of_sorted(rates);
        // A window's expected growth is a sum of hourly growths: its centre is their mean,
        // not their median, which lies far below it when growth comes in bursts. The mean
        // is trimmed (a tenth off each end) so a past spike does not raise it.
        let cut = rates.len() / TRIM_DIVISOR;
        let kept = &rates[cut..rates.len() - cut];
        let trimmed = kept.iter().sum::<f64>() / kept.len() as f64;
        (py_max(mid, trimmed), median_deviation_of_sorted(rates, mid))
    } else {
        (0.0, 0.0)
    };
    let baseline = Baseline { hour, median_per_hour: mid, mad_per_hour: mad, rates: rates.len() };
    state.baselines.set(key, baseline);
    baseline
}

/// Growth per hour between consecutive buckets, by end time; shared by both windows.
/// A bucket whose count may be a display rounding gives no rate (the pair skips it).
pub(crate) fn hourly_rates(state: &AccountState) -> (Vec<i64>, Vec<f64>) {
    let shown = shown_from(&state.platform);
    let mut ends = Vec::new();
    let mut rates = Vec::new();
    let mut buckets = state.hourly.ordered();
    if let Some((mut t0, mut f0)) = buckets.next() {
        for (t1, f1) in buckets {
            if f1 % 100 == 0 && display_unit(f1, shown) != 0 {
                continue; // maybe rounded for display (counts.rs): no rate from it
            }
            if t1 > t0 {
                ends.push(t1);
                rates.push((f1 - f0) as f64 * HOUR / (t1 - t0) as f64);
            }
            t0 = t1;
            f0 = f1;
        }
    }
    (ends, rates)
}

pub(crate) fn sigma_of(baseline: &Baseline, followers: i64, config: &EngineConfig) -> f64 {
    let mut sigma = py_max(MAD_TO_SIGMA * baseline.mad_per_hour, MIN_SIGMA_PER_HOUR);
    if baseline.rates < config.min_baseline_rates {
        // Too little history to know the account's noise: assume a generous prior.
        sigma = py_max(sigma, config.prior_sigma_relative_per_hour * followers as f64);
    }
    sigma
}

fn open_episode(
    state: &mut AccountState,
    config: &EngineConfig,
    mut found: Exceedance,
    mentions: Option<&MentionBook>,
    purchase_only: bool,
) -> Option<Alert> {
    let t = state.latest_ts;
    if let Some(pending_start) = state.pending_start {
        if (pending_start as f64) < found.ref_ts {
            // A held spike is judged, and reported, from where it was first seen.
            found = rebased(state, config, found, pending_start as f64);
        }
    }
    let mut points: Vec<(i64, i64)> = state.hourly.between(found.ref_ts, t).collect();
    if points.is_empty() {
        points = vec![(found.ref_ts as i64, found.ref_followers), (t as i64, state.followers)];
    }
    // Within an open episode, what explained it may explain its later growth as well, as
    // far as a post's followers keep arriving.
    let explain_from = match &state.episode {
        Some(episode) if purchase_only => {
            Some(py_max(episode.start_ts as f64, found.ref_ts - config.conversion_window_s))
        }
        _ => None,
    };
    let verdict = classify(state, config, &found, &points, mentions, explain_from);
    if purchase_only && verdict.classification != Classification::SuspectedPurchase {
        return None;
    }
    if verdict.undecided {
        let since = match state.pending_since {
            Some(since) => since,
            None => {
                state.pending_since = Some(t as i64);
                state.pending_start = Some(found.ref_ts as i64);
                t as i64
            }
        };
        if t - (since as f64) < verdict.hold_s {
            return None;
        }
    }
    // The verdict is published: only now is its evidence written.
    let evidence = verdict.evidence(state, &found, &points);
    state.pending_since = None;
    state.pending_start = None;
    let onset_ts = largest_step_end(&points);
    let id = alert_id(&state.account_id, onset_ts);
    state.episode = Some(Episode {
        alert_id: id.clone(),
        classification: verdict.classification,
        start_ts: found.ref_ts as i64,
        last_exceed_ts: t as i64,
        alert_ts: t as i64,
    });
    if verdict.classification == Classification::SuspectedPurchase {
        state.purchase_alerts.push(t as i64);
        let excess = state.purchase_alerts.len().saturating_sub(PURCHASE_ALERTS_KEPT);
        state.purchase_alerts.drain(..excess);
    }
    let growth = state.followers - found.ref_followers;
    let mut niches: Vec<String> = state.niche_counts().into_iter().map(|(niche, _)| niche).collect();
    niches.sort();
    Some(Alert {
        alert_id: id,
        account_id: state.account_id.clone(),
        platform: state.platform.clone(),
        handle: state.handle.clone(),
        niches,
        classification: verdict.classification,
        window_start: found.ref_ts,
        window_end: t,
        detected_at: t,
        followers_before: found.ref_followers,
        followers_after: state.followers,
        growth,
        growth_relative: if found.ref_followers != 0 {
            growth as f64 / found.ref_followers as f64
        } else {
            growth as f64
        },
        expected_growth: py_round(found.expected, 2),
        baseline_growth_per_hour: py_round(found.baseline.median_per_hour, 3),
        baseline_mad_per_hour: py_round(found.baseline.mad_per_hour, 3),
        evidence,
    })
}

/// The exceedance measured again from the latest bucket at or before `start_ts`.
pub(crate) fn rebased(state: &AccountState, config: &EngineConfig, found: Exceedance, start_ts: f64) -> Exceedance {
    let Some((earlier_ts, earlier_followers)) = state.hourly.at_or_before(start_ts) else { return found };
    measure(config, found.window, state, earlier_ts as f64, earlier_followers, found.baseline, found.sigma)
}

/// Time of the observation ending the biggest single rise: the episode's onset.
pub(crate) fn largest_step_end(points: &[(i64, i64)]) -> i64 {
    let mut best_ts = points.last().map_or(0, |&(ts, _)| ts);
    let mut best_step: Option<i64> = None;
    for pair in points.windows(2) {
        let ((_, before), (ts, after)) = (pair[0], pair[1]);
        if best_step.is_none_or(|best| after - before > best) {
            best_ts = ts;
            best_step = Some(after - before);
        }
    }
    best_ts
}

/// The first 32 hex digits of sha256(`"{account_id}|{onset_ts}"`): one id per onset.
pub(crate) fn alert_id(account_id: &str, onset_ts: i64) -> String {
    let digest = Sha256::digest(format!("{account_id}|{onset_ts}").as_bytes());
    let mut hex = String::with_capacity(32);
    for byte in &digest[..16] {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

#[cfg(test)]
mod tests {
    //! Expected values are the Python engine's (streams/core/spikes.py, since removed) on the
    //! same inputs.
    use super::*;

    const T0: i64 = 1_772_323_200; // 2026-03-01T00:00:00Z
    const H: i64 = 3600;

    fn account(account_id: &str, counts: &[(i64, i64)]) -> AccountState {
        let config = EngineConfig::default();
        let platform = account_id.split(':').next().unwrap_or_default();
        let mut state = AccountState::new(account_id, platform, "h", &config);
        for &(ts, followers) in counts {
            state.observe_followers(ts as f64, followers);
        }
        state
    }

    fn baseline(hour: i64, median_per_hour: f64, mad_per_hour: f64, rates: usize) -> Baseline {
        Baseline { hour, median_per_hour, mad_per_hour, rates }
    }

    /// 40 hours at +3/h from 20,001, then a step of 2,000 (10%), then `after` more hours at +3/h.
    fn stepped(account_id: &str, after: i64) -> AccountState {
        let mut counts: Vec<(i64, i64)> = (0..40).map(|h| (T0 + h * H + 60, 20_001 + 3 * h)).collect();
        counts.extend((40..40 + after).map(|h| (T0 + h * H + 60, 22_121 + 3 * (h - 40))));
        account(account_id, &counts)
    }

    fn suspected_episode() -> Episode {
        Episode {
            alert_id: "x".into(),
            classification: Classification::SuspectedPurchase,
            start_ts: T0 + 39 * H + 60,
            last_exceed_ts: T0 + 41 * H + 60,
            alert_ts: T0 + 41 * H + 60,
        }
    }

    /// Hourly looks for 24 days at an account whose organic growth comes in bursts: 906
    /// followers over six hours every third day, nothing in between; `drip` more per hour
    /// over the last three days.
    fn bursty(drip: i64) -> AccountState {
        let mut followers = 20_011;
        let mut counts = Vec::new();
        for h in 0..24 * 24 {
            if h % 72 >= 30 && h % 72 < 36 {
                followers += 151;
            }
            if h >= 21 * 24 {
                followers += drip;
            }
            counts.push((T0 + h * H + 60, followers));
        }
        account("tiktok:bursty", &counts)
    }

    #[test]
    fn a_long_window_is_held_to_the_accounts_own_growth_over_windows_of_its_length() {
        let config = EngineConfig::default();
        let mut state = bursty(0);
        // Hourly rates are 0 but for the bursts: summed as if independent, three days of
        // them predict nothing, and the 906 of one burst is a spike (3% of 20,000 is 600).
        let pace = window_pace(&state, state.latest_ts - 3.0 * DAY, 3.0 * DAY, &config);
        assert_eq!(pace, Some(WindowPace { centre: 906.0, spread: 0.0, windows: 18 }));
        // Every earlier three days grew by one burst: this one did too.
        assert_eq!(find_exceedance(&mut state, &config, 0.0), None);
        // Without the days before it (the daily looks), the same burst is a long-window spike.
        let mut forgotten = bursty(0);
        forgotten.daily = crate::engine::windows::BucketRing::new(DAY, config.daily_buckets_kept);
        assert_eq!(long_test(&mut forgotten, &config, 0.0).map(|f| f.expected), Some(0.0));
        // Bought followers on top (41 an hour for three days) are still a spike.
        let mut dripped = bursty(41);
        assert!(find_exceedance(&mut dripped, &config, 0.0).is_some());
        let long = long_test(&mut dripped, &config, 0.0).map(|f| (f.expected, f.excess >= 2_000.0));
        assert_eq!(long, Some((906.0, true)));
        // Too short a history (fewer than MIN_PACE_WINDOWS such windows): no pace.
        assert_eq!(window_pace(&state, (T0 + 7 * 24 * H) as f64, 3.0 * DAY, &config), None);
    }

    #[test]
    fn windows_with_a_suspected_purchase_in_them_are_not_the_accounts_pace() {
        let config = EngineConfig::default();
        let mut state = bursty(0);
        state.purchase_alerts.push(T0 + 10 * 24 * H);
        let pace = window_pace(&state, state.latest_ts - 3.0 * DAY, 3.0 * DAY, &config);
        assert_eq!(pace.map(|p| p.windows), Some(14)); // of 18
    }

    #[test]
    fn a_flat_account_raises_nothing() {
        let config = EngineConfig::default();
        let mut state = account("tiktok:flat", &[]);
        for h in 0..60 {
            state.observe_followers((T0 + h * H + 17) as f64, 5123);
            assert_eq!(evaluate(&mut state, &config, None), None);
        }
        assert_eq!(state.baselines.get(BaselineKey::Short), Some(baseline(492_360, 0.0, 0.0, 24)));
        assert_eq!(state.baselines.get(BaselineKey::Long), Some(baseline(492_361, 0.0, 0.0, 0)));
        assert_eq!(state.episode, None);
    }

    #[test]
    fn a_step_of_ten_percent_is_found_from_the_bucket_before_it() {
        let config = EngineConfig::default();
        let mut state = stepped("tiktok:step", 2);
        let found = find_exceedance(&mut state, &config, 0.0);
        let expected = Exceedance {
            window: Window::Short,
            ref_ts: 1_772_463_660.0,
            ref_followers: 20_118,
            excess: 2000.0,
            threshold: 402.36,
            expected: 6.0,
            baseline: baseline(492_353, 3.0, 0.0, 17),
            sigma: 0.5,
        };
        assert_eq!(found, Some(expected));
        let points: Vec<(i64, i64)> = state.hourly.between(expected.ref_ts, state.latest_ts).collect();
        assert_eq!(points, vec![(1_772_463_660, 20_118), (1_772_467_260, 22_121), (1_772_470_860, 22_124)]);
        let onset = largest_step_end(&points);
        assert_eq!(onset, 1_772_467_260);
        assert_eq!(alert_id("tiktok:step", onset), "45ed081ea9bf3d671cea320109d7ec4d");
    }

    #[test]
    fn the_onset_is_the_end_of_the_first_biggest_rise() {
        assert_eq!(largest_step_end(&[(1, 10), (2, 20), (3, 30), (4, 30)]), 2);
        assert_eq!(largest_step_end(&[(1, 10), (2, 5), (3, 4)]), 3);
        assert_eq!(largest_step_end(&[(7, 10)]), 7);
    }

    #[test]
    fn growth_at_the_accounts_own_baseline_pace_is_not_a_spike() {
        // About 20 followers an hour for five days: 480 a day, far above the 2% floor.
        let config = EngineConfig::default();
        let counts: Vec<(i64, i64)> = (0..120).map(|h| (T0 + h * H, 5_003 + 20 * h + (h * 7) % 5 - 2)).collect();
        let mut state = account("tiktok:pace", &counts);
        assert_eq!(find_exceedance(&mut state, &config, 0.0), None);
        assert_eq!(state.baselines.get(BaselineKey::Short), Some(baseline(492_431, 22.0, 0.0, 95)));
        assert_eq!(state.baselines.get(BaselineKey::Long), Some(baseline(492_431, 22.0, 0.0, 47)));
        assert_eq!(evaluate(&mut state, &config, None), None);
    }

    #[test]
    fn a_closed_episode_is_not_compared_across() {
        let config = EngineConfig::default();
        // 49 hours after the episode's last exceedance the long window still sees the step.
        let mut state = stepped("tiktok:closed", 51);
        let across = Exceedance {
            window: Window::Long,
            ref_ts: 1_772_388_060.0,
            ref_followers: 20_055,
            excess: 2000.0,
            threshold: 601.65,
            expected: 216.0,
            baseline: baseline(492_402, 3.0, 0.0, 18),
            sigma: 0.5,
        };
        assert_eq!(find_exceedance(&mut state, &config, 0.0), Some(across));
        state.baselines = Default::default();
        state.episode = Some(suspected_episode());
        assert_eq!(evaluate(&mut state, &config, None), None);
        assert_eq!(state.episode, Some(suspected_episode()));
    }

    #[test]
    fn an_open_episode_is_extended_while_growth_keeps_exceeding() {
        let config = EngineConfig::default();
        let mut state = stepped("tiktok:open", 6);
        state.episode = Some(suspected_episode());
        assert_eq!(evaluate(&mut state, &config, None), None);
        let last_exceed = state.episode.as_ref().map(|e| (e.last_exceed_ts, e.alert_ts));
        assert_eq!(last_exceed, Some((1_772_485_260, 1_772_470_860)));
    }

    #[test]
    fn a_held_spike_is_judged_from_where_it_was_first_seen_after_the_windows_moved_on() {
        let config = EngineConfig::default();
        let mut state = stepped("tiktok:held", 80);
        assert_eq!(find_exceedance(&mut state, &config, 0.0), None);
        state.pending_since = Some(T0 + 40 * H + 60);
        state.pending_start = Some(T0 + 39 * H + 60);
        let held = Exceedance {
            window: Window::Short,
            ref_ts: 1_772_463_660.0,
            ref_followers: 20_118,
            excess: 2000.0,
            threshold: 402.36,
            expected: 240.0,
            baseline: baseline(492_431, 3.0, 0.0, 38),
            sigma: 0.5,
        };
        assert_eq!(held_spike(&mut state, &config), Some(held));
        assert_eq!(state.baselines.get(BaselineKey::Held), Some(baseline(492_431, 3.0, 0.0, 38)));
    }

    #[test]
    fn without_a_pending_spike_nothing_is_held() {
        let config = EngineConfig::default();
        let mut state = stepped("tiktok:none", 80);
        assert_eq!(held_spike(&mut state, &config), None);
    }

    #[test]
    fn hourly_rates_skip_counts_that_may_be_display_roundings() {
        let counts = [
            (T0, 9_700),
            (T0 + H, 9_750),
            (T0 + 2 * H + 30, 9_800),
            (T0 + 3 * H, 9_803),
            (T0 + 5 * H, 12_300),
            (T0 + 6 * H, 12_311),
        ];
        // TikTok abbreviates from 1,000: 9,800 and 12,300 may be "9.8K" and "12.3K".
        let tiktok = hourly_rates(&account("tiktok:r", &counts));
        assert_eq!(tiktok, (vec![1_772_326_800, 1_772_334_000, 1_772_344_800], vec![50.0, 26.5, 836.0]));
        // Instagram writes counts below 10,000 out.
        let instagram = hourly_rates(&account("instagram:r", &counts));
        assert_eq!(
            instagram,
            (
                vec![1_772_326_800, 1_772_330_430, 1_772_334_000, 1_772_344_800],
                vec![50.0, 49.586776859504134, 3.0252100840336134, 836.0]
            )
        );
    }

    #[test]
    fn a_baseline_is_kept_for_a_day_then_refreshed() {
        let counts: Vec<(i64, i64)> = (0..50).map(|h| (T0 + h * H, 7_001 + 10 * h + h % 3)).collect();
        let mut state = account("tiktok:b", &counts);
        let first = baseline(492_361, 11.0, 0.0, 49);
        assert_eq!(baseline_before(&mut state, BaselineKey::Short, (T0 + 49 * H) as f64), first);
        for h in 50..74 {
            state.observe_followers((T0 + h * H) as f64, 7_001 + 10 * 49 + 40 * (h - 49) + h % 2);
            let cutoff = (T0 + h * H) as f64;
            if h == 72 {
                assert_eq!(baseline_before(&mut state, BaselineKey::Short, cutoff), first);
            }
            if h == 73 {
                let refreshed = baseline(492_385, 18.779661016949152, 3.0, 73); // the trimmed mean, above the median
                assert_eq!(baseline_before(&mut state, BaselineKey::Short, cutoff), refreshed);
                assert_eq!(state.baselines.get(BaselineKey::Short), Some(refreshed));
            }
        }
    }

    #[test]
    fn sigma_has_a_floor_and_a_prior_while_history_is_short() {
        let config = EngineConfig::default();
        assert_eq!(sigma_of(&baseline(0, 3.0, 0.1, 40), 1_000_000, &config), 0.5);
        assert_eq!(sigma_of(&baseline(0, 3.0, 2.0, 40), 1_000_000, &config), 2.9652);
        assert_eq!(sigma_of(&baseline(0, 3.0, 2.0, 11), 1_000_000, &config), 500.0);
    }
}
