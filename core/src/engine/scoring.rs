//! Micro-influencer score and the cohort summary (the owner's side of a cluster's cohorts is
//! streams/core/cohorts.py).
//!
//! ```text
//! score = 0.40 engagement    percentile of the account's median engagement rate within its
//!                            niche's tier cohort, shrunk towards a typical-rate prior while
//!                            the cohort is small
//!       + 0.20 niche_focus   share of the account's recent posts in its primary niche
//!       + 0.15 consistency   1 / (1 + coefficient of variation of the gaps between posts)
//!       + 0.25 authenticity  1, or 0.2 after a suspected purchase in the last 90 days
//! ```
//!
//! The cohort summary is a fixed log-scale histogram per (niche, tier), counting each
//! account once (its current bin is kept in its state and moved when it changes). On a
//! cluster (`CohortBook::cluster`) a move changes nothing locally: it queues contributions
//! for the niche's owner, and the percentiles come from the summaries it publishes
//! (`set_summary`).
//!
//! Every float is computed in the order Python computes it, with the same libm calls
//! (`log10`, and `pow` for `** 2`, which is not always `x * x`), so profiles are identical.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::config::{EngineConfig, Tier};
use super::output::{utc_text, Profile, ScoreComponents};
use super::state::{AccountState, CohortEntry, LastProfile};
use super::stats::{clamp01, median, py_round};

pub const BINS: usize = 64;
/// log10 of the engagement rates the bins span: 0.001% .. 1000%.
const LOG_MIN: f64 = -5.0;
const LOG_MAX: f64 = 1.0;

/// The histogram bin of a median engagement rate.
pub fn rate_bin(rate: f64) -> usize {
    if rate <= 0.0 {
        return 0;
    }
    let position = (rate.log10() - LOG_MIN) / (LOG_MAX - LOG_MIN);
    // Python's int() truncates towards zero, as `as` does (saturating far out of range).
    (position * BINS as f64).trunc().clamp(0.0, (BINS - 1) as f64) as usize
}

/// "The account is now in (tier, bin) of this niche" (`tier`/`bin` None: it left the
/// niche), versioned by the event time of the rescoring (streams/core/cohorts.py).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contribution {
    pub niche: String,
    pub account_id: String,
    pub tier: Option<Tier>,
    pub bin: Option<usize>,
    pub version: i64,
}

/// One (niche, tier) histogram and when its key entered the book (Python's dict order).
#[derive(Clone, Debug, PartialEq)]
struct Histogram {
    tier: Tier,
    added: u64,
    counts: Vec<i64>,
}

/// Per (niche, tier) histogram of accounts' median engagement rates.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CohortBook {
    by_niche: HashMap<String, Vec<Histogram>>,
    next_added: u64,
    /// Some on a cluster: moves go out as contributions instead of changing the histograms.
    outbox: Option<Vec<Contribution>>,
}

impl CohortBook {
    /// The book of a process that sees every account (replay, evaluation).
    pub fn new() -> Self {
        CohortBook::default()
    }

    /// `ClusterCohorts`: percentiles from the cluster's summaries, moves queued in an outbox.
    pub fn cluster() -> Self {
        CohortBook { outbox: Some(Vec::new()), ..CohortBook::default() }
    }

    pub fn is_cluster(&self) -> bool {
        self.outbox.is_some()
    }

    /// Count the account in `new` instead of `old` (`version`: event time of the rescoring).
    pub fn move_entry(&mut self, account_id: &str, old: Option<&CohortEntry>, new: &CohortEntry, version: i64) {
        if old == Some(new) {
            return;
        }
        if let Some(outbox) = &mut self.outbox {
            if let Some(old) = old.filter(|old| old.0 != new.0) {
                outbox.push(Contribution {
                    niche: old.0.clone(),
                    account_id: account_id.to_owned(),
                    tier: None,
                    bin: None,
                    version,
                });
            }
            outbox.push(Contribution {
                niche: new.0.clone(),
                account_id: account_id.to_owned(),
                tier: Some(new.1),
                bin: Some(new.2),
                version,
            });
            return;
        }
        if let Some((niche, tier, bin)) = old {
            if let Some(count) = self.histogram_mut(niche, *tier).and_then(|h| h.get_mut(*bin)) {
                if *count > 0 {
                    *count -= 1;
                }
            }
        }
        let (niche, tier, bin) = new;
        if let Some(counts) = self.histogram_or_new(niche, *tier) {
            if counts.len() <= *bin {
                counts.resize(bin + 1, 0); // a summary shorter than BINS (Python would raise)
            }
            counts[*bin] += 1;
        }
    }

    /// Mid-rank percentile of a bin among the cohort, and the cohort's size (0.5 and 0
    /// for an empty or unknown cohort).
    pub fn percentile(&self, niche: &str, tier: Tier, bin: usize) -> (f64, i64) {
        let Some(counts) = self.histogram(niche, tier) else { return (0.5, 0) };
        if counts.is_empty() {
            return (0.5, 0);
        }
        let total: i64 = counts.iter().sum();
        if total == 0 {
            return (0.5, 0);
        }
        let below: i64 = counts.iter().take(bin).sum();
        let at = counts.get(bin).copied().unwrap_or(0);
        ((below as f64 + 0.5 * at as f64) / total as f64, total)
    }

    /// Every histogram, in the order its key entered the book (`CohortBook.to_dict`).
    pub fn histograms(&self) -> Vec<((String, Tier), Vec<i64>)> {
        let mut all: Vec<(u64, (String, Tier), Vec<i64>)> = self
            .by_niche
            .iter()
            .flat_map(|(niche, hists)| hists.iter().map(move |h| (h.added, (niche.clone(), h.tier), h.counts.clone())))
            .collect();
        all.sort_unstable_by_key(|(added, _, _)| *added);
        all.into_iter().map(|(_, key, counts)| (key, counts)).collect()
    }

    /// Set one histogram (`CohortBook.from_dict`, a key at a time): a known key keeps its place.
    pub fn set_histogram(&mut self, niche: &str, tier: Tier, counts: Vec<i64>) {
        if let Some(kept) = self.histogram_or_new(niche, tier) {
            *kept = counts;
        }
    }

    /// Replace the niche's histograms with the cluster's (a summary from the niche's owner).
    pub fn set_summary(&mut self, niche: &str, tiers: Vec<(Tier, Vec<i64>)>) {
        self.by_niche.remove(niche);
        for (tier, counts) in tiers {
            self.set_histogram(niche, tier, counts);
        }
    }

    pub fn remove_niche(&mut self, niche: &str) {
        self.set_summary(niche, Vec::new());
    }

    /// The contributions queued since the last call (none off a cluster).
    pub fn take_outbox(&mut self) -> Vec<Contribution> {
        self.outbox.as_mut().map(std::mem::take).unwrap_or_default()
    }

    pub fn outbox_len(&self) -> usize {
        self.outbox.as_ref().map_or(0, Vec::len)
    }

    fn histogram(&self, niche: &str, tier: Tier) -> Option<&Vec<i64>> {
        self.by_niche.get(niche)?.iter().find(|h| h.tier == tier).map(|h| &h.counts)
    }

    fn histogram_mut(&mut self, niche: &str, tier: Tier) -> Option<&mut Vec<i64>> {
        self.by_niche.get_mut(niche)?.iter_mut().find(|h| h.tier == tier).map(|h| &mut h.counts)
    }

    /// The histogram, added (all zeros) when the book has none (`dict.setdefault`).
    fn histogram_or_new(&mut self, niche: &str, tier: Tier) -> Option<&mut Vec<i64>> {
        if !self.by_niche.contains_key(niche) {
            self.by_niche.insert(niche.to_owned(), Vec::new());
        }
        let hists = self.by_niche.get_mut(niche)?;
        let i = match hists.iter().position(|h| h.tier == tier) {
            Some(i) => i,
            None => {
                hists.push(Histogram { tier, added: self.next_added, counts: vec![0; BINS] });
                self.next_added += 1;
                hists.len() - 1
            }
        };
        Some(&mut hists[i].counts)
    }
}

/// Recompute the account's score; a profile only when it changed by `threshold`
/// (`config.material_score_change` unless given), or its tier or primary niche changed.
pub fn profile_if_changed(
    state: &mut AccountState,
    config: &EngineConfig,
    cohorts: &mut CohortBook,
    threshold: Option<f64>,
) -> Option<Profile> {
    let posts = state.posts.len();
    if posts < config.min_posts_for_profile {
        return None;
    }
    let counts = state.niche_counts(); // Counter: niches in first-seen order
    // min(counts, key=(-count, name)): the most frequent niche, the smallest name of equals.
    let (primary, primary_count) = counts.iter().min_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)))?.clone();
    let tier = config.tiers.tier_for(state.followers);
    let rates: Vec<f64> = state.posts.values().map(|p| p.rate()).collect();
    let rate = median(&rates);
    let entry: CohortEntry = (primary.clone(), tier, rate_bin(rate));
    cohorts.move_entry(&state.account_id, state.cohort_entry.as_ref(), &entry, state.latest_ts as i64);
    let bin = entry.2;
    state.cohort_entry = Some(entry);
    let (percentile, cohort_size) = cohorts.percentile(&primary, tier, bin);

    let engagement = _engagement(percentile, cohort_size, rate, tier, config);
    let focus = primary_count as f64 / posts as f64;
    let posted: Vec<i64> = state.posts.values().map(|p| p.posted_ts).collect();
    let consistency = _consistency(&posted);
    let recent_purchase = state.purchase_alerts.iter().any(|&ts| state.latest_ts - ts as f64 <= config.suspicion_memory_s);
    let authenticity = if recent_purchase { 0.2 } else { 1.0 };
    let score = clamp01(
        config.weight_engagement * engagement
            + config.weight_niche_focus * focus
            + config.weight_consistency * consistency
            + config.weight_authenticity * authenticity,
    );

    if let Some(last) = &state.last_profile {
        let threshold = threshold.unwrap_or(config.material_score_change);
        if (score - last.score).abs() < threshold && last.tier == tier && last.primary_niche == primary {
            return None;
        }
    }
    state.last_profile = Some(LastProfile {
        score: py_round(score, 4),
        tier,
        primary_niche: primary.clone(),
        engagement: Some(py_round(engagement, 4)),
    });
    let updated_at = state.latest_ts;
    let mut niches: Vec<String> = counts.into_iter().map(|(niche, _)| niche).collect();
    niches.sort_unstable();
    Some(Profile {
        profile_id: profile_id(&state.account_id, updated_at, score),
        account_id: state.account_id.clone(),
        platform: state.platform.clone(),
        handle: state.handle.clone(),
        tier,
        followers: state.followers,
        niches,
        primary_niche: primary,
        score: py_round(score, 4),
        components: ScoreComponents {
            engagement: py_round(engagement, 4),
            niche_focus: py_round(focus, 4),
            consistency: py_round(consistency, 4),
            authenticity,
        },
        median_engagement_rate: py_round(rate, 6),
        cohort_size,
        posts_in_window: posts as i64,
        window_start: posted.iter().min().copied().unwrap_or_default() as f64,
        window_end: updated_at,
        updated_at,
    })
}

/// How far the published score is from one with the cohorts as they are now (0 if
/// unknown): only the engagement component depends on other accounts, so the drift is its
/// change times its weight.
pub fn engagement_drift(state: &AccountState, config: &EngineConfig, cohorts: &CohortBook) -> f64 {
    let (Some(last), Some((niche, tier, bin))) = (&state.last_profile, &state.cohort_entry) else { return 0.0 };
    let Some(last_engagement) = last.engagement else { return 0.0 };
    let (percentile, cohort_size) = cohorts.percentile(niche, *tier, *bin);
    let rates: Vec<f64> = state.posts.values().map(|p| p.rate()).collect();
    if rates.is_empty() {
        return 0.0;
    }
    let engagement = _engagement(percentile, cohort_size, median(&rates), *tier, config);
    (engagement - last_engagement).abs() * config.weight_engagement
}

/// The cohort percentile, shrunk towards a typical-rate prior while the cohort is small.
pub fn _engagement(percentile: f64, cohort_size: i64, rate: f64, tier: Tier, config: &EngineConfig) -> f64 {
    let prior = clamp01(0.5 * rate / config.typical_engagement[tier.index()]); // typical rate -> 0.5
    let weight = config.cohort_prior_weight;
    (percentile * cohort_size as f64 + prior * weight) / (cohort_size as f64 + weight)
}

/// 1 / (1 + coefficient of variation of the gaps between publish times); 0.5 below 3 posts.
pub fn _consistency(posted: &[i64]) -> f64 {
    if posted.len() < 3 {
        return 0.5; // unknown cadence: neither rewarded nor punished
    }
    let mut ordered = posted.to_vec();
    ordered.sort_unstable();
    let gaps: Vec<i64> = ordered.windows(2).map(|w| w[1] - w[0]).collect();
    let n = gaps.len() as f64;
    let mean = gaps.iter().sum::<i64>() as f64 / n;
    if mean <= 0.0 {
        return 0.0;
    }
    // Python's `** 2` is libm's pow, which differs from `x * x` in the last bit now and
    // then; the exponent goes through black_box so that the call is not folded into one.
    let two = std::hint::black_box(2.0);
    let squares: f64 = gaps.iter().fold(0.0, |sum, &g| sum + (g as f64 - mean).powf(two));
    let std = (squares / n).sqrt();
    1.0 / (1.0 + std / mean)
}

/// sha256 of `f"{account_id}|{updated_at.isoformat()}|{score:.4f}"`, 32 hex digits.
fn profile_id(account_id: &str, updated_at: f64, score: f64) -> String {
    let text = format!("{account_id}|{}|{score:.4}", iso_utc(updated_at));
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// `datetime.fromtimestamp(ts, UTC).isoformat()`: `2017-07-14T02:40:00+00:00`, with
/// `.ffffff` when there are microseconds (the contract's text with `+00:00` for `Z`).
pub fn iso_utc(ts: f64) -> String {
    let text = utc_text(ts);
    format!("{}+00:00", text.strip_suffix('Z').unwrap_or(&text))
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::windows::PostObservation;

    // Expected values below are what the Python engine's streams/core/scoring.py and cohorts.py
    // (the scoring since removed) returned.

    fn account(account_id: &str, followers: i64, posts: &[(&str, i64, i64, &[&str])], ts: f64) -> AccountState {
        let config = EngineConfig::default();
        let handle = account_id.rsplit_once(':').map_or(account_id, |(_, h)| h);
        let mut state = AccountState::new(account_id, "ig", handle, &config);
        for &(post_id, posted_ts, interactions, niches) in posts {
            state.observe_followers(ts, followers);
            let post = PostObservation {
                posted_ts,
                observed_ts: ts as i64,
                interactions,
                followers,
                views: None,
                niches: niches.iter().map(|n| n.to_string()).collect(),
                comments: 0,
                prev_interactions: 0,
                prev_observed_ts: 0,
            };
            let latest = state.latest_ts;
            state.posts.observe(post_id, post, latest);
        }
        state
    }

    fn ana() -> AccountState {
        let posts: [(&str, i64, i64, &[&str]); 3] = [
            ("p1", 1_700_000_000, 400, &["ink", "pens"]),
            ("p2", 1_700_050_000, 250, &["ink"]),
            ("p3", 1_700_090_000, 610, &["art", "ink"]),
        ];
        let mut state = account("ig:ana", 12_000, &posts, 1_700_100_000.25);
        state.purchase_alerts.push(1_699_000_000);
        state
    }

    fn bo() -> AccountState {
        let posts: [(&str, i64, i64, &[&str]); 3] = [
            ("q1", 1_700_000_000, 100, &["ink"]),
            ("q2", 1_700_001_000, 90, &["ink"]),
            ("q3", 1_700_002_000, 80, &["moss"]),
        ];
        account("ig:bo", 15_000, &posts, 1_700_003_000.0)
    }

    #[test]
    fn engagement_rates_fall_in_log_scale_bins() {
        let rates = [0.0, -1.0, 1e-6, 1e-5, 0.0001, 0.03, 0.05, 1.0, 9.99, 10.0, 100.0];
        let bins: Vec<usize> = rates.into_iter().map(rate_bin).collect();
        assert_eq!(bins, vec![0, 0, 0, 0, 10, 37, 39, 53, 63, 63, 63]);
    }

    #[test]
    fn a_profile_is_scored_as_python_scores_it() {
        let config = EngineConfig::default();
        let mut cohorts = CohortBook::new();
        let mut state = ana();
        let profile = profile_if_changed(&mut state, &config, &mut cohorts, None);
        let Some(profile) = profile else { panic!("no profile") };
        assert_eq!(profile.profile_id, "f1d3d98065bcd5fea8b8ce4aa8f5095f");
        assert_eq!((profile.tier, profile.followers, profile.primary_niche.as_str()), (Tier::Micro, 12_000, "ink"));
        assert_eq!(profile.niches, vec!["art", "ink", "pens"]);
        assert_eq!(profile.score, 0.6035);
        assert_eq!(
            profile.components,
            ScoreComponents { engagement: 0.5463, niche_focus: 1.0, consistency: 0.9, authenticity: 0.2 }
        );
        assert_eq!((profile.median_engagement_rate, profile.cohort_size, profile.posts_in_window), (0.033333, 1, 3));
        assert_eq!((profile.window_start, profile.updated_at), (1_700_000_000.0, 1_700_100_000.25));
        assert_eq!(state.cohort_entry, Some(("ink".to_owned(), Tier::Micro, 37)));
        let last = LastProfile { score: 0.6035, tier: Tier::Micro, primary_niche: "ink".to_owned(), engagement: Some(0.5463) };
        assert_eq!(state.last_profile, Some(last));
    }

    #[test]
    fn an_unchanged_score_is_republished_only_with_a_zero_threshold() {
        let config = EngineConfig::default();
        let mut cohorts = CohortBook::new();
        let mut state = ana();
        assert!(profile_if_changed(&mut state, &config, &mut cohorts, None).is_some());
        assert!(profile_if_changed(&mut state, &config, &mut cohorts, None).is_none());
        assert!(profile_if_changed(&mut state, &config, &mut cohorts, Some(0.0)).is_some()); // |diff| < 0 never holds
        let mut counts = vec![0; BINS];
        counts[37] = 1;
        assert_eq!(cohorts.histograms(), vec![(("ink".to_owned(), Tier::Micro), counts)]); // counted once
    }

    #[test]
    fn the_drift_is_the_engagement_change_a_newcomer_to_the_cohort_causes() {
        let config = EngineConfig::default();
        let mut cohorts = CohortBook::new();
        let mut a = ana();
        profile_if_changed(&mut a, &config, &mut cohorts, None);
        // The published engagement is rounded to 4 places: the drift is that rounding.
        assert_eq!(engagement_drift(&a, &config, &cohorts), 1.481481481491187e-6);
        let mut b = bo();
        let Some(profile) = profile_if_changed(&mut b, &config, &mut cohorts, None) else { panic!("no profile") };
        assert_eq!((profile.profile_id.as_str(), profile.score), ("5b89c04487f97b30e70c41297cd42f60", 0.5905));
        assert_eq!(
            profile.components,
            ScoreComponents { engagement: 0.1429, niche_focus: 0.6667, consistency: 1.0, authenticity: 1.0 }
        );
        assert_eq!((profile.cohort_size, b.cohort_entry.clone()), (2, Some(("ink".to_owned(), Tier::Micro, 29))));
        assert_eq!(engagement_drift(&a, &config, &cohorts), 0.025924444444444417);
        assert_eq!(engagement_drift(&bo(), &config, &cohorts), 0.0); // never profiled
    }

    #[test]
    fn fewer_posts_than_needed_or_no_niche_give_no_profile() {
        let config = EngineConfig::default();
        let mut cohorts = CohortBook::new();
        let two: [(&str, i64, i64, &[&str]); 2] = [("a", 1, 5, &["ink"]), ("b", 2, 5, &["ink"])];
        assert!(profile_if_changed(&mut account("ig:x", 100, &two, 10.0), &config, &mut cohorts, None).is_none());
        let bare: [(&str, i64, i64, &[&str]); 3] = [("a", 1, 5, &[]), ("b", 2, 5, &[]), ("c", 3, 5, &[])];
        let mut state = account("ig:x", 100, &bare, 10.0);
        assert!(profile_if_changed(&mut state, &config, &mut cohorts, None).is_none());
        assert_eq!((state.cohort_entry, cohorts.histograms().len()), (None, 0));
    }

    #[test]
    fn consistency_squares_gaps_with_libm_pow_as_python_does() {
        // x * x instead of pow(x, 2) gives 0.47582068455444915 here.
        assert_eq!(_consistency(&[747_099, 605_166, 793_741, 974_830, 439, 787_929]), 0.47582068455444926);
        assert_eq!(_consistency(&[5, 1]), 0.5);
        assert_eq!(_consistency(&[7, 7, 7]), 0.0);
        assert_eq!(_consistency(&[0, 10, 20, 30]), 1.0);
    }

    #[test]
    fn a_moved_account_is_counted_once_and_percentiles_are_mid_rank() {
        let mut book = CohortBook::new();
        let entry = |bin: usize| ("ink".to_owned(), Tier::Nano, bin);
        book.move_entry("a", None, &entry(5), 1);
        book.move_entry("b", None, &entry(5), 1);
        book.move_entry("c", None, &entry(9), 1);
        book.move_entry("a", Some(&entry(5)), &entry(9), 2);
        book.move_entry("z", Some(&entry(20)), &entry(9), 2); // an empty old bin stays at 0
        book.move_entry("z", Some(&entry(9)), &entry(9), 3);
        assert_eq!(book.percentile("ink", Tier::Nano, 9), (0.625, 4));
        assert_eq!(book.percentile("ink", Tier::Nano, 5), (0.125, 4));
        assert_eq!(book.percentile("ink", Tier::Nano, 0), (0.0, 4));
        assert_eq!(book.percentile("ink", Tier::Micro, 0), (0.5, 0));
        assert_eq!(book.outbox_len(), 0);
    }

    #[test]
    fn on_a_cluster_moves_are_contributions_and_percentiles_come_from_summaries() {
        let mut book = CohortBook::cluster();
        let entry = |niche: &str, tier: Tier, bin: usize| (niche.to_owned(), tier, bin);
        book.move_entry("ig:a", None, &entry("ink", Tier::Micro, 30), 100);
        book.move_entry("ig:a", Some(&entry("ink", Tier::Micro, 30)), &entry("ink", Tier::Micro, 30), 150);
        book.move_entry("ig:a", Some(&entry("ink", Tier::Micro, 30)), &entry("ink", Tier::Mid, 12), 200);
        book.move_entry("ig:a", Some(&entry("ink", Tier::Mid, 12)), &entry("moss", Tier::Mid, 12), 300);
        let contribution = |niche: &str, tier: Option<Tier>, bin: Option<usize>, version: i64| Contribution {
            niche: niche.to_owned(),
            account_id: "ig:a".to_owned(),
            tier,
            bin,
            version,
        };
        assert_eq!(
            book.take_outbox(),
            vec![
                contribution("ink", Some(Tier::Micro), Some(30), 100),
                contribution("ink", Some(Tier::Mid), Some(12), 200),
                contribution("ink", None, None, 300),
                contribution("moss", Some(Tier::Mid), Some(12), 300),
            ]
        );
        assert!(book.histograms().is_empty() && book.take_outbox().is_empty());

        let with = |at: &[(usize, i64)]| {
            let mut counts = vec![0; BINS];
            for &(bin, n) in at {
                counts[bin] = n;
            }
            counts
        };
        book.set_summary("ink", vec![(Tier::Micro, with(&[(10, 2)])), (Tier::Nano, vec![1; BINS])]);
        book.set_summary("moss", vec![(Tier::Mid, with(&[]))]);
        book.set_summary("ink", vec![(Tier::Mid, with(&[(0, 3)])), (Tier::Micro, with(&[(30, 1), (31, 1)]))]);
        let sizes: Vec<(String, Tier, i64)> =
            book.histograms().into_iter().map(|((n, t), c)| (n, t, c.iter().sum())).collect();
        let python = [("moss", Tier::Mid, 0), ("ink", Tier::Mid, 3), ("ink", Tier::Micro, 2)];
        assert_eq!(sizes, python.map(|(n, t, s)| (n.to_owned(), t, s)).to_vec());
        assert_eq!(book.percentile("ink", Tier::Micro, 30), (0.25, 2));
        assert_eq!(book.percentile("ink", Tier::Micro, 31), (0.75, 2));
        assert_eq!(book.percentile("moss", Tier::Mid, 5), (0.5, 0));
        assert_eq!(book.percentile("art", Tier::Nano, 1), (0.5, 0));
        book.remove_niche("ink");
        let keys: Vec<(String, Tier)> = book.histograms().into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![("moss".to_owned(), Tier::Mid)]);
    }

    #[test]
    fn a_set_histogram_keeps_its_place() {
        let mut book = CohortBook::new();
        book.set_histogram("a", Tier::Nano, vec![1; BINS]);
        book.set_histogram("b", Tier::Nano, vec![2; BINS]);
        book.set_histogram("a", Tier::Nano, vec![3; BINS]);
        let order: Vec<(String, i64)> = book.histograms().into_iter().map(|((n, _), c)| (n, c[0])).collect();
        assert_eq!(order, vec![("a".to_owned(), 3), ("b".to_owned(), 2)]);
    }

    #[test]
    fn update_times_are_written_as_isoformat_writes_them() {
        assert_eq!(iso_utc(1.5e9), "2017-07-14T02:40:00+00:00");
        assert_eq!(iso_utc(1.5e9 + 0.25), "2017-07-14T02:40:00.250000+00:00");
        assert_eq!(iso_utc(1_500_000_000.000001), "2017-07-14T02:40:00.000001+00:00");
        assert_eq!(iso_utc(1_500_000_000.000_000_5), "2017-07-14T02:40:00+00:00");
        assert_eq!(iso_utc(1_500_000_000.999_999_5), "2017-07-14T02:40:01+00:00");
        assert_eq!(iso_utc(951_782_400.0), "2000-02-29T00:00:00+00:00");
        assert_eq!(iso_utc(1_700_000_123.456789), "2023-11-14T22:15:23.456789+00:00");
    }
}
