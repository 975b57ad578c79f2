//! One fetched batch of a partition of the input topics (streams/pipeline.py,
//! `Pipeline.process`): records in, and out the outputs, the dead letters, the records
//! to re-key, the ingestion counts, the latencies and the accounts whose state changed.
//!
//! Per record, in order: decode against the contract (a refusal is a dead letter); a
//! record not keyed by its account id is handed back to be re-published under that key;
//! a post of no tracked niche by an account without state is counted `untracked`; an
//! event the state already holds exactly is counted `duplicate` (and still applied, which
//! leaves the state as it is); one too late for the account is counted `late`.

use std::collections::HashSet;

use crate::decode::{self, Event};

use super::output::Output;
use super::state::AccountState;
use super::stats::bucket_index;
use super::Engine;

/// The niche label of an event that hits no tracked niche (streams/metrics.py).
pub const NO_NICHE: &str = "_none";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Accepted,
    Duplicate,
    Untracked,
    Late,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Accepted => "accepted",
            Outcome::Duplicate => "duplicate",
            Outcome::Untracked => "untracked",
            Outcome::Late => "late",
        }
    }
}

#[derive(Debug, Default)]
pub struct BatchOutcome {
    pub outputs: Vec<Output>,
    /// (position, reason, reason class)
    pub dead_letters: Vec<(usize, String, &'static str)>,
    /// (position, the account id it belongs under)
    pub rekeyed: Vec<(usize, String)>,
    /// ((platform, niche, outcome), events), in first-seen order
    pub counts: Vec<((String, String, Outcome), u64)>,
    /// wall clock minus event time, seconds, per applied event
    pub post_latencies: Vec<f64>,
    pub snapshot_latencies: Vec<f64>,
    /// accounts whose state was written, in first-write order
    pub changed: Vec<String>,
}

impl BatchOutcome {
    fn count(&mut self, platform: &str, niche: &str, outcome: Outcome) {
        match self.counts.iter_mut().find(|((p, n, o), _)| *o == outcome && p == platform && n == niche) {
            Some(entry) => entry.1 += 1,
            None => self.counts.push(((platform.to_owned(), niche.to_owned(), outcome), 1)),
        }
    }
}

/// The state already holds exactly what this event would write (to the second).
pub fn is_redelivery(state: &AccountState, event: &Event<'_>, niches: &[String]) -> bool {
    match event {
        Event::Post(p) => {
            let ts = p.observed_at.epoch_us.div_euclid(1_000_000);
            let Some(known) = state.posts.get(&p.post_id) else { return false };
            known.observed_ts == ts
                && known.posted_ts == p.posted_at.epoch_us.div_euclid(1_000_000)
                && known.interactions == p.likes + p.comments + p.shares
                && known.followers == p.followers
                && known.views == p.views
                && known.comments == p.comments
                && known.niches == niches
                && ((ts as f64) < state.latest_ts || p.handle == state.handle)
        }
        Event::Snapshot(s) => {
            let ts = s.observed_at.epoch_us.div_euclid(1_000_000);
            let bucket = state.hourly.bucket(bucket_index(ts as f64, state.hourly.width));
            bucket == Some((ts, s.followers)) && ((ts as f64) < state.latest_ts || s.handle == state.handle)
        }
    }
}

/// A consumed record's key and value (None: absent, a tombstone).
pub type RawRecord<'a> = (Option<&'a [u8]>, Option<&'a [u8]>);

/// Process one batch. `load` is asked for an account's state the engine does not hold
/// (the table's copy, e.g. recovered from the changelog); `wall` is the clock in seconds.
pub fn process_records(
    engine: &mut Engine,
    records: &[RawRecord<'_>],
    now_us: i64,
    wall: f64,
    load: &mut dyn FnMut(&str) -> Option<AccountState>,
) -> BatchOutcome {
    let mut out = BatchOutcome::default();
    let mut written: HashSet<String> = HashSet::new(); // the accounts in `out.changed`
    for (i, &(key, value)) in records.iter().enumerate() {
        let event = match decode::decode(value, now_us) {
            Ok(event) => event,
            Err(rejected) => {
                out.dead_letters.push((i, rejected.reason, rejected.class.as_str()));
                continue;
            }
        };
        let (account_id, platform, observed_us) = match &event {
            Event::Post(p) => (&*p.account_id, &*p.platform, p.observed_at.epoch_us),
            Event::Snapshot(s) => (&*s.account_id, &*s.platform, s.observed_at.epoch_us),
        };
        if key != Some(account_id.as_bytes()) {
            out.rekeyed.push((i, account_id.to_owned()));
            continue;
        }
        let niches = engine.niches_of(&event);
        if !engine.store.contains_key(account_id) {
            if let Some(state) = load(account_id) {
                engine.store.insert(account_id.to_owned(), state);
            }
        }
        let duplicate = match engine.store.get(account_id) {
            None if niches.is_empty() => {
                out.count(platform, NO_NICHE, Outcome::Untracked);
                continue;
            }
            None => false,
            Some(state) => is_redelivery(state, &event, &niches),
        };
        if !engine.process_matched(&event, &niches, &mut out.outputs) {
            out.count(platform, niches.first().map_or(NO_NICHE, String::as_str), Outcome::Late);
            continue;
        }
        if !written.contains(account_id) {
            written.insert(account_id.to_owned());
            out.changed.push(account_id.to_owned());
        }
        let outcome = if duplicate { Outcome::Duplicate } else { Outcome::Accepted };
        if niches.is_empty() {
            out.count(platform, NO_NICHE, outcome);
        }
        for niche in &niches {
            out.count(platform, niche, outcome);
        }
        let latency = wall - observed_us as f64 / 1e6;
        match event {
            Event::Post(_) => out.post_latencies.push(latency),
            Event::Snapshot(_) => out.snapshot_latencies.push(latency),
        }
    }
    out
}
