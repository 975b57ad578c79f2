//! The detection engine (streams/core/engine.py): events in, alerts and influencer
//! profiles out, on event time only.
//!
//! A module per concern, each the port of the Python module of the same name:
//! `config`, `stats`, `counts`, `windows`, `state`, `spikes` (baselines and the two window
//! tests), `classify` with `explain` and `maturity` (why an account grew) and `evidence`
//! (the reasons in words, for a published alert), `scoring` (influencer score and the
//! cohort summary), `mentions`, `tags` (niche matching) and `output` (the contract's
//! JSON). Per-account data lives in the `store`, keyed by account id; the engine keeps
//! besides only the niches, the cohorts and the mentions.

pub mod batch;
pub mod classify;
pub mod compact;
pub mod config;
pub mod counts;
pub mod evidence;
pub mod explain;
pub mod maturity;
pub mod mentions;
pub mod output;
pub mod scoring;
pub mod spikes;
pub mod state;
pub mod stats;
pub mod tags;
pub mod windows;

use std::collections::HashMap;

use crate::decode::Event;
use config::EngineConfig;
use mentions::MentionBook;
use output::Output;
use scoring::{engagement_drift, profile_if_changed, CohortBook};
use state::{AccountState, Classification, Observation};
use tags::NicheMatcher;
use windows::PostObservation;

/// Re-observations of a known post rescore the account at most once per event-time hour.
pub const PROFILE_RESCORE_S: f64 = 3600.0;

/// Weight of a post in tag suggestions before its author is scored.
pub const TAG_WEIGHT_UNSCORED: f64 = 0.1;

/// A new post's tags, for every worker's tag statistics (streams/core/tagstats.py,
/// `TagObservation`).
#[derive(Clone, Debug, PartialEq)]
pub struct TagObservation {
    pub post_id: String,
    pub tags: Vec<String>,
    pub niches: Vec<String>,
    pub account_id: String,
    pub followers: i64,
    pub rate: f64,
    pub weight: f64,
    pub ts: f64,
}

/// Counters for the metrics layer (the engine never resets them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub events: u64,
    pub posts: u64,
    pub snapshots: u64,
    pub late_dropped: u64,
    pub suspected_purchase: u64,
    pub organic_breakout: u64,
    pub profiles: u64,
}

pub struct Engine {
    pub config: EngineConfig,
    pub matcher: NicheMatcher,
    pub store: HashMap<String, AccountState>,
    pub cohorts: CohortBook,
    pub mentions: MentionBook,
    /// On a cluster the book is fed from every partition by the mention reader.
    pub record_mentions: bool,
    pub stats: EngineStats,
    /// New posts' tag observations, when they are shared (None: not collected).
    pub tag_outbox: Option<Vec<TagObservation>>,
    /// accounts processed so far (`AccountState::arrival`)
    arrivals: u64,
}

/// One observation's fields (a snapshot has no post part).
struct Fields<'a> {
    ts: f64,
    followers: i64,
    handle: &'a str,
    post: Option<PostFields<'a>>,
}

struct PostFields<'a> {
    post_id: &'a str,
    posted_ts: i64,
    interactions: i64,
    views: Option<i64>,
    niches: &'a [String],
    comments: i64,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        Engine {
            config,
            matcher: NicheMatcher::default(),
            store: HashMap::new(),
            cohorts: CohortBook::default(),
            mentions: MentionBook::default(),
            record_mentions: true,
            stats: EngineStats::default(),
            tag_outbox: None,
            arrivals: 0,
        }
    }

    /// The niches a post's tags hit (sorted; none for a snapshot).
    pub fn niches_of(&mut self, event: &Event<'_>) -> Vec<String> {
        match event {
            Event::Post(post) => {
                let tags: Vec<&str> = post.tags.iter().map(|t| &**t).collect();
                self.matcher.match_tags(&tags)
            }
            Event::Snapshot(_) => Vec::new(),
        }
    }

    /// Apply one decoded event; append the alerts and profiles it caused to `outputs`.
    pub fn process(&mut self, event: &Event<'_>, outputs: &mut Vec<Output>) {
        let niches = self.niches_of(event);
        self.process_matched(event, &niches, outputs);
    }

    /// `process` for an event whose niches are known (`niches_of`); returns false when it
    /// was dropped as late.
    pub fn process_matched(&mut self, event: &Event<'_>, niches: &[String], outputs: &mut Vec<Output>) -> bool {
        let (account_id, platform, handle, observed) = match event {
            Event::Post(p) => (&*p.account_id, &*p.platform, &*p.handle, p.observed_at.epoch_us),
            Event::Snapshot(s) => (&*s.account_id, &*s.platform, &*s.handle, s.observed_at.epoch_us),
        };
        let ts = observed as f64 / 1e6;
        // The state is updated where it is kept (no removal and re-insertion per event).
        let Engine { config, store, cohorts, mentions, record_mentions, stats, tag_outbox, arrivals, .. } = self;
        if !store.contains_key(account_id) {
            store.insert(account_id.to_owned(), AccountState::new(account_id, platform, handle, config));
        }
        let Some(state) = store.get_mut(account_id) else { return false };
        if ts < state.seen_ts - config.allowed_lateness_s {
            stats.late_dropped += 1;
            return false;
        }
        stats.events += 1;
        if state.arrival == 0 {
            *arrivals += 1;
            state.arrival = *arrivals;
        }
        if ts > state.seen_ts {
            state.seen_ts = ts;
        }
        match event {
            Event::Post(post) => {
                stats.posts += 1;
                let posted = post.posted_at.epoch_us as f64 / 1e6;
                if *record_mentions {
                    mentions.record(account_id, post.text.as_deref(), posted, post.followers, Some(ts));
                }
                let interactions = post.likes + post.comments + post.shares;
                if let Some(outbox) = tag_outbox.as_mut() {
                    if !state.posts.contains(&post.post_id) {
                        observe_tags(outbox, state, post, niches, interactions, ts);
                    }
                }
                let fields = Fields {
                    ts,
                    followers: post.followers,
                    handle,
                    post: Some(PostFields {
                        post_id: &post.post_id,
                        posted_ts: posted as i64,
                        interactions,
                        views: post.views,
                        niches,
                        comments: post.comments,
                    }),
                };
                let mut books = Books { config, cohorts, mentions, stats };
                observe(&mut books, state, fields, outputs);
            }
            Event::Snapshot(snapshot) => {
                stats.snapshots += 1;
                let fields = Fields { ts, followers: snapshot.followers, handle, post: None };
                let mut books = Books { config, cohorts, mentions, stats };
                observe(&mut books, state, fields, outputs);
            }
        }
        true
    }

    /// Every buffered observation applied (the end of a replay); nothing without a delay.
    pub fn flush(&mut self, outputs: &mut Vec<Output>) {
        // In the order the accounts arrived, as the Python engine walks its store.
        let mut waiting: Vec<(u64, String)> =
            self.store.iter().filter(|(_, s)| !s.buffer.is_empty()).map(|(k, s)| (s.arrival, k.clone())).collect();
        waiting.sort();
        for (_, id) in waiting {
            let Engine { config, store, cohorts, mentions, stats, .. } = self;
            let Some(state) = store.get_mut(&id) else { continue };
            let mut books = Books { config, cohorts, mentions, stats };
            let mut buffered = std::mem::take(&mut state.buffer);
            buffered.sort_by(Observation::order_cmp);
            for o in &buffered {
                let fields = observation_fields(o);
                apply(&mut books, state, &fields, outputs);
            }
        }
    }

    /// Bring the account's published score up to date with the cohorts as they are now
    /// (streams/core/engine.py, `Engine.settle`).
    pub fn settle(&mut self, account_id: &str, threshold: f64) -> Option<output::Profile> {
        let state = self.store.get_mut(account_id)?;
        state.last_profile.as_ref()?;
        let stale = state.latest_ts > state.settled_ts;
        if !stale && engagement_drift(state, &self.config, &self.cohorts) < threshold {
            return None;
        }
        let profile = profile_if_changed(state, &self.config, &mut self.cohorts, Some(threshold));
        if profile.is_some() {
            // Only a published rescoring settles the account: the drift check compares the
            // engagement with the published one, which leaves out what else changed since
            // (posts move the niche focus and the consistency), so after a rescoring that
            // stayed within the threshold the cohorts' drift alone says nothing.
            state.settled_ts = state.latest_ts;
            self.stats.profiles += 1;
        }
        profile
    }
}

/// What applying an observation reads and updates besides the account's state.
struct Books<'e> {
    config: &'e EngineConfig,
    cohorts: &'e mut CohortBook,
    mentions: &'e MentionBook,
    stats: &'e mut EngineStats,
}

fn observe(books: &mut Books<'_>, state: &mut AccountState, fields: Fields<'_>, outputs: &mut Vec<Output>) {
    if books.config.reorder_delay_s <= 0.0 {
        apply(books, state, &fields, outputs);
        return;
    }
    // Hold observations until the account's event time is reorder_delay past them,
    // then apply them in event-time order.
    state.buffer.push(Observation {
        ts: fields.ts,
        followers: fields.followers,
        handle: fields.handle.to_owned(),
        post_id: fields.post.as_ref().map(|p| p.post_id.to_owned()),
        posted_ts: fields.post.as_ref().map_or(0, |p| p.posted_ts),
        interactions: fields.post.as_ref().map_or(0, |p| p.interactions),
        views: fields.post.as_ref().and_then(|p| p.views),
        niches: fields.post.as_ref().map_or_else(Vec::new, |p| p.niches.to_vec()),
        comments: fields.post.as_ref().map_or(0, |p| p.comments),
    });
    let horizon = state.seen_ts - books.config.reorder_delay_s;
    let buffered = std::mem::take(&mut state.buffer);
    let waiting = buffered.iter().filter(|o| o.ts > horizon).count();
    let ready_at: Vec<bool> = if waiting > books.config.max_buffered_observations {
        // Too many waiting: the earlier half goes now, whatever its time.
        let mut order: Vec<usize> = (0..buffered.len()).collect();
        order.sort_by(|&a, &b| buffered[a].order_cmp(&buffered[b]));
        let mut marks = vec![false; buffered.len()];
        for &i in &order[..buffered.len() / 2] {
            marks[i] = true;
        }
        marks
    } else {
        buffered.iter().map(|o| o.ts <= horizon).collect()
    };
    let mut ready = Vec::new();
    for (o, go) in buffered.into_iter().zip(ready_at) {
        if go {
            ready.push(o);
        } else {
            state.buffer.push(o); // what stays keeps its arrival order
        }
    }
    ready.sort_by(Observation::order_cmp);
    for o in &ready {
        let fields = observation_fields(o);
        apply(books, state, &fields, outputs);
    }
}

fn apply(books: &mut Books<'_>, state: &mut AccountState, o: &Fields<'_>, outputs: &mut Vec<Output>) {
    let config = books.config;
    let previous_followers = state.followers;
    if o.ts >= state.latest_ts {
        o.handle.clone_into(&mut state.handle); // handles change; keep the newest
    }
    state.observe_followers(o.ts, o.followers);
    let mut new_post = false;
    if let Some(post) = &o.post {
        let observation = PostObservation {
            posted_ts: post.posted_ts,
            observed_ts: o.ts as i64,
            interactions: post.interactions,
            followers: o.followers,
            views: post.views,
            niches: Vec::new(), // observe_post sets them
            comments: post.comments,
            prev_interactions: 0,
            prev_observed_ts: 0,
        };
        let latest = state.latest_ts;
        new_post = state.posts.observe_post(post.post_id, observation, post.niches, latest);
    }
    let alert = spikes::evaluate(state, config, Some(books.mentions));
    let tier_changed = state.followers != previous_followers
        && config.tiers.tier_for(state.followers) != config.tiers.tier_for(previous_followers);
    let profile = if new_post
        || alert.is_some()
        || (o.post.is_some() && o.ts - state.scored_ts >= PROFILE_RESCORE_S)
        || tier_changed
    {
        state.scored_ts = o.ts;
        profile_if_changed(state, config, books.cohorts, None)
    } else {
        None
    };
    if let Some(alert) = alert {
        match alert.classification {
            Classification::SuspectedPurchase => books.stats.suspected_purchase += 1,
            Classification::OrganicBreakout => books.stats.organic_breakout += 1,
        }
        outputs.push(Output::Alert(alert));
    }
    if let Some(profile) = profile {
        books.stats.profiles += 1;
        outputs.push(Output::Profile(profile));
    }
}

/// Queue a post's tags once: re-observations (in the window, checked by the caller, or
/// still buffered) are not counted. Posts of high-scoring micro-influencers weigh most.
fn observe_tags(
    outbox: &mut Vec<TagObservation>,
    state: &AccountState,
    post: &crate::decode::PostEvent<'_>,
    niches: &[String],
    interactions: i64,
    ts: f64,
) {
    if state.buffer.iter().any(|o| o.post_id.as_deref() == Some(&*post.post_id)) {
        return;
    }
    let rates: Vec<f64> = state.posts.values().map(PostObservation::rate).collect();
    let rate = if !rates.is_empty() {
        stats::median(&rates)
    } else if post.followers > 0 {
        interactions as f64 / post.followers as f64
    } else {
        0.0
    };
    let weight = match &state.last_profile {
        None => TAG_WEIGHT_UNSCORED,
        Some(last) if matches!(last.tier, config::Tier::Nano | config::Tier::Micro) => last.score,
        Some(last) => TAG_WEIGHT_UNSCORED * last.score,
    };
    outbox.push(TagObservation {
        post_id: post.post_id.to_string(),
        tags: post.tags.iter().map(|t| t.to_string()).collect(),
        niches: niches.to_vec(),
        account_id: post.account_id.to_string(),
        followers: post.followers,
        rate,
        weight,
        ts,
    });
}

fn observation_fields(o: &Observation) -> Fields<'_> {
    Fields {
        ts: o.ts,
        followers: o.followers,
        handle: &o.handle,
        post: o.post_id.as_deref().map(|post_id| PostFields {
            post_id,
            posted_ts: o.posted_ts,
            interactions: o.interactions,
            views: o.views,
            niches: &o.niches,
            comments: o.comments,
        }),
    }
}
