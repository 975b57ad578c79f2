//! The compact binary account state (format 2): what the changelog holds per account.
//!
//! Integers are LEB128 varints (signed ones zigzag-encoded) and most are written as
//! differences from a neighbour, so a bucket of the hourly ring costs about four bytes:
//!
//! ```text
//!   0x02                      format tag (a JSON state, format 1, starts with '{')
//!   platform handle [account_id]                   strings: varint length + UTF-8; the
//!                                                  id only when it is not platform:handle
//!   latest_ts seen_ts scored_ts                    f64, little endian (exact)
//!   followers                                      varint
//!   hourly, daily rings       count, then per bucket the steps from the previous one of:
//!                             its index, its ts - index*width, its followers
//!   niche names               count + strings: a post's niches are a bit set over them
//!   posts (first-seen order)  id (bytes shared with the previous post's id + the rest),
//!                             posted from the previous post's, observed from posted,
//!                             interactions, followers from the account's, views + 1
//!                             (0: none), niches, comments, previous interactions and gap
//!   buffer, episode, pending, purchase alerts, last profile, cohort entry, baselines
//! ```
//!
//! Every field of `AccountState` that format 1 keeps is kept, so converting either way
//! loses nothing (`AccountState::from_bytes` reads both formats).

use super::config::{EngineConfig, Tier, DAY, HOUR};
use super::state::{
    AccountState, Baseline, BaselineKey, Baselines, Classification, Episode, LastProfile, Observation, StateError,
};
use super::windows::{BucketRing, PostObservation, PostWindow};

pub const COMPACT_FORMAT: u8 = 2;

struct Writer {
    out: Vec<u8>,
}

impl Writer {
    fn u(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.out.push(byte);
                return;
            }
            self.out.push(byte | 0x80);
        }
    }

    fn i(&mut self, v: i64) {
        self.u(((v << 1) ^ (v >> 63)) as u64);
    }

    fn f(&mut self, v: f64) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }

    fn s(&mut self, v: &str) {
        self.u(v.len() as u64);
        self.out.extend_from_slice(v.as_bytes());
    }

    fn flag(&mut self, present: bool) {
        self.out.push(u8::from(present));
    }

    fn opt_i(&mut self, v: Option<i64>) {
        match v {
            None => self.u(0),
            Some(v) => {
                self.u(1);
                self.i(v);
            }
        }
    }

    fn ring(&mut self, ring: &BucketRing) {
        self.u(ring.len() as u64);
        let (mut index, mut offset, mut followers) = (0i64, 0i64, 0i64);
        for (i, (ts, f)) in ring.indexed() {
            let at = ts - (i as f64 * ring.width) as i64;
            self.i(i - index);
            self.i(at - offset);
            self.i(f - followers);
            index = i;
            offset = at;
            followers = f;
        }
    }
}

struct Reader<'a> {
    raw: &'a [u8],
    pos: usize,
}

fn truncated() -> StateError {
    StateError("compact account state is truncated".into())
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, StateError> {
        let b = *self.raw.get(self.pos).ok_or_else(truncated)?;
        self.pos += 1;
        Ok(b)
    }

    fn u(&mut self) -> Result<u64, StateError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(StateError("compact account state has an over-long integer".into()))
    }

    fn n(&mut self) -> Result<usize, StateError> {
        let v = self.u()?;
        // A count can never exceed the bytes left: a corrupt count fails here, not in an allocation.
        if v > (self.raw.len() - self.pos) as u64 + 1 {
            return Err(truncated());
        }
        Ok(v as usize)
    }

    fn i(&mut self) -> Result<i64, StateError> {
        let v = self.u()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn f(&mut self) -> Result<f64, StateError> {
        let bytes = self.raw.get(self.pos..self.pos + 8).ok_or_else(truncated)?;
        self.pos += 8;
        let mut b = [0u8; 8];
        b.copy_from_slice(bytes);
        Ok(f64::from_le_bytes(b))
    }

    fn s(&mut self) -> Result<String, StateError> {
        let len = self.n()?;
        let bytes = self.raw.get(self.pos..self.pos + len).ok_or_else(truncated)?;
        self.pos += len;
        String::from_utf8(bytes.to_vec()).map_err(|_| StateError("compact account state has a string that is not UTF-8".into()))
    }

    fn flag(&mut self) -> Result<bool, StateError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(StateError("compact account state has a bad flag".into())),
        }
    }

    fn opt_i(&mut self) -> Result<Option<i64>, StateError> {
        Ok(if self.flag_u()? { Some(self.i()?) } else { None })
    }

    fn flag_u(&mut self) -> Result<bool, StateError> {
        Ok(self.u()? != 0)
    }

    fn tier(&mut self) -> Result<Tier, StateError> {
        Tier::ALL.get(self.byte()? as usize).copied().ok_or_else(|| StateError("compact account state has a bad tier".into()))
    }

    fn ring(&mut self, width: f64, keep: usize) -> Result<BucketRing, StateError> {
        let mut ring = BucketRing::new(width, keep);
        let (mut index, mut offset, mut followers) = (0i64, 0i64, 0i64);
        for _ in 0..self.n()? {
            index += self.i()?;
            offset += self.i()?;
            followers += self.i()?;
            ring.restore(index, ((index as f64 * width) as i64 + offset, followers));
        }
        Ok(ring)
    }
}

/// Bytes two strings share at their start, at a character boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    let mut n = 0;
    for ((i, x), y) in a.char_indices().zip(b.chars()) {
        if x != y {
            return i;
        }
        n = i + x.len_utf8();
    }
    n
}

fn tier_byte(tier: Tier) -> u8 {
    tier.index() as u8
}

impl AccountState {
    /// The state in the compact format.
    pub fn to_compact(&self) -> Vec<u8> {
        let mut w = Writer { out: Vec::with_capacity(1024) };
        w.out.push(COMPACT_FORMAT);
        w.s(&self.platform);
        w.s(&self.handle);
        if self.account_id == format!("{}:{}", self.platform, self.handle) {
            w.u(0);
        } else {
            w.u(1);
            w.s(&self.account_id);
        }
        w.f(self.latest_ts);
        w.f(self.seen_ts);
        w.f(self.scored_ts);
        w.i(self.followers);
        w.ring(&self.hourly);
        w.ring(&self.daily);
        let mut names: Vec<&str> = Vec::new();
        for post in self.posts.values() {
            for niche in &post.niches {
                if !names.contains(&niche.as_str()) {
                    names.push(niche);
                }
            }
        }
        // A post's niches: a bit set over the names, which are sorted, when every post's
        // niches are sorted and distinct (as niche matching gives them); lists otherwise.
        names.sort_unstable();
        w.u(names.len() as u64);
        for name in &names {
            w.s(name);
        }
        let sets = names.len() <= 64 && self.posts.values().all(|p| p.niches.windows(2).all(|w| w[0] < w[1]));
        w.flag(sets);
        let (mut previous_id, mut previous_posted) = ("", self.latest_ts as i64);
        w.u(self.posts.posts.len() as u64);
        for (id, p) in &self.posts.posts {
            let shared = common_prefix(previous_id, id);
            w.u(shared as u64);
            w.s(&id[shared..]);
            w.i(p.posted_ts - previous_posted);
            w.i(p.observed_ts - p.posted_ts);
            w.i(p.interactions);
            w.i(p.followers - self.followers);
            w.u(p.views.map_or(0, |v| (v as u64).wrapping_add(1)));
            let positions = p.niches.iter().map(|niche| names.iter().position(|n| n == niche).unwrap_or(0));
            if sets {
                w.u(positions.fold(0u64, |set, at| set | 1 << at));
            } else {
                w.u(p.niches.len() as u64);
                for at in positions {
                    w.u(at as u64);
                }
            }
            previous_id = id;
            previous_posted = p.posted_ts;
            w.i(p.comments);
            w.i(p.prev_interactions);
            w.i(if p.prev_observed_ts != 0 { p.observed_ts - p.prev_observed_ts } else { 0 });
        }
        w.u(self.buffer.len() as u64);
        for o in &self.buffer {
            w.f(o.ts);
            w.i(o.followers);
            w.s(&o.handle);
            w.flag(o.post_id.is_some());
            if let Some(id) = &o.post_id {
                w.s(id);
            }
            w.i(o.posted_ts);
            w.i(o.interactions);
            w.opt_i(o.views);
            w.u(o.niches.len() as u64);
            for niche in &o.niches {
                w.s(niche);
            }
            w.i(o.comments);
        }
        w.flag(self.episode.is_some());
        if let Some(e) = &self.episode {
            w.s(&e.alert_id);
            w.out.push(match e.classification {
                Classification::SuspectedPurchase => 0,
                Classification::OrganicBreakout => 1,
            });
            w.i(e.start_ts);
            w.i(e.last_exceed_ts);
            w.i(e.alert_ts);
        }
        w.opt_i(self.pending_since);
        w.opt_i(self.pending_start);
        w.u(self.purchase_alerts.len() as u64);
        for &t in &self.purchase_alerts {
            w.i(t);
        }
        w.flag(self.last_profile.is_some());
        if let Some(l) = &self.last_profile {
            w.f(l.score);
            w.out.push(tier_byte(l.tier));
            w.s(&l.primary_niche);
            w.flag(l.engagement.is_some());
            if let Some(e) = l.engagement {
                w.f(e);
            }
        }
        w.flag(self.cohort_entry.is_some());
        if let Some((niche, tier, bin)) = &self.cohort_entry {
            w.s(niche);
            w.out.push(tier_byte(*tier));
            w.u(*bin as u64);
        }
        w.u(self.baselines.entries.len() as u64);
        for (key, b) in &self.baselines.entries {
            w.out.push(match key {
                BaselineKey::Short => 0,
                BaselineKey::Long => 1,
                BaselineKey::Held => 2,
            });
            w.i(b.hour);
            w.f(b.median_per_hour);
            w.f(b.mad_per_hour);
            w.u(b.rates as u64);
        }
        w.out
    }

    /// A state from either format: compact (format 2) or the JSON of format 1.
    pub fn from_bytes(raw: &[u8], config: &EngineConfig) -> Result<Self, StateError> {
        match raw.first() {
            Some(&COMPACT_FORMAT) => Self::from_compact(raw, config),
            Some(b'{') => Self::from_json_bytes(raw, config),
            _ => Err(StateError("account state in an unknown format".into())),
        }
    }

    pub fn from_compact(raw: &[u8], config: &EngineConfig) -> Result<Self, StateError> {
        let mut r = Reader { raw, pos: 1 };
        let platform = r.s()?;
        let handle = r.s()?;
        let account_id = if r.flag_u()? { r.s()? } else { format!("{platform}:{handle}") };
        let latest_ts = r.f()?;
        let seen_ts = r.f()?;
        let scored_ts = r.f()?;
        let followers = r.i()?;
        let hourly = r.ring(HOUR, config.hourly_buckets_kept)?;
        let daily = r.ring(DAY, config.daily_buckets_kept)?;
        let mut names = Vec::new();
        for _ in 0..r.n()? {
            names.push(r.s()?);
        }
        let sets = r.flag()?;
        let mut previous_id = String::new();
        let mut previous_posted = latest_ts as i64;
        let mut posts = PostWindow::new(config.max_posts_tracked, config.post_max_age_s);
        for _ in 0..r.n()? {
            let shared = r.n()?;
            let rest = r.s()?;
            let id = format!("{}{rest}", previous_id.get(..shared).ok_or_else(|| StateError("compact account state: bad post id".into()))?);
            let posted_ts = previous_posted + r.i()?;
            let observed_ts = posted_ts + r.i()?;
            let interactions = r.i()?;
            let post_followers = followers + r.i()?;
            let views = match r.u()? {
                0 => None,
                v => Some(v.wrapping_sub(1) as i64),
            };
            let mut niches = Vec::new();
            if sets {
                let set = r.u()?;
                if names.len() < 64 && set >> names.len() != 0 {
                    return Err(StateError("compact account state: bad niche set".into()));
                }
                niches.extend(names.iter().enumerate().filter(|(bit, _)| set & (1 << bit) != 0).map(|(_, n)| n.clone()));
            } else {
                for _ in 0..r.n()? {
                    let at = r.n()?;
                    niches.push(names.get(at).cloned().ok_or_else(|| StateError("compact account state: bad niche".into()))?);
                }
            }
            let comments = r.i()?;
            let prev_interactions = r.i()?;
            let gap = r.i()?;
            previous_id.clone_from(&id);
            previous_posted = posted_ts;
            posts.posts.push((
                id,
                PostObservation {
                    posted_ts,
                    observed_ts,
                    interactions,
                    followers: post_followers,
                    views,
                    niches,
                    comments,
                    prev_interactions,
                    prev_observed_ts: if gap != 0 { observed_ts - gap } else { 0 },
                },
            ));
        }
        let mut buffer = Vec::new();
        for _ in 0..r.n()? {
            let ts = r.f()?;
            let o_followers = r.i()?;
            let o_handle = r.s()?;
            let post_id = if r.flag()? { Some(r.s()?) } else { None };
            let posted_ts = r.i()?;
            let interactions = r.i()?;
            let views = r.opt_i()?;
            let mut niches = Vec::new();
            for _ in 0..r.n()? {
                niches.push(r.s()?);
            }
            let comments = r.i()?;
            buffer.push(Observation {
                ts,
                followers: o_followers,
                handle: o_handle,
                post_id,
                posted_ts,
                interactions,
                views,
                niches,
                comments,
            });
        }
        let episode = if r.flag()? {
            let alert_id = r.s()?;
            let classification = match r.byte()? {
                0 => Classification::SuspectedPurchase,
                1 => Classification::OrganicBreakout,
                _ => return Err(StateError("compact account state: bad classification".into())),
            };
            Some(Episode { alert_id, classification, start_ts: r.i()?, last_exceed_ts: r.i()?, alert_ts: r.i()? })
        } else {
            None
        };
        let pending_since = r.opt_i()?;
        let pending_start = r.opt_i()?;
        let mut purchase_alerts = Vec::new();
        for _ in 0..r.n()? {
            purchase_alerts.push(r.i()?);
        }
        let last_profile = if r.flag()? {
            let score = r.f()?;
            let tier = r.tier()?;
            let primary_niche = r.s()?;
            let engagement = if r.flag()? { Some(r.f()?) } else { None };
            Some(LastProfile { score, tier, primary_niche, engagement })
        } else {
            None
        };
        let cohort_entry = if r.flag()? {
            let niche = r.s()?;
            let tier = r.tier()?;
            Some((niche, tier, r.u()? as usize))
        } else {
            None
        };
        let mut baselines = Baselines::default();
        for _ in 0..r.n()? {
            let key = match r.byte()? {
                0 => BaselineKey::Short,
                1 => BaselineKey::Long,
                2 => BaselineKey::Held,
                _ => return Err(StateError("compact account state: bad baseline".into())),
            };
            let hour = r.i()?;
            let median_per_hour = r.f()?;
            let mad_per_hour = r.f()?;
            let rates = r.u()? as usize;
            baselines.set(key, Baseline { hour, median_per_hour, mad_per_hour, rates });
        }
        if r.pos != raw.len() {
            return Err(StateError("compact account state has trailing bytes".into()));
        }
        Ok(AccountState {
            account_id,
            platform,
            handle,
            hourly,
            daily,
            posts,
            latest_ts,
            followers,
            seen_ts,
            buffer,
            episode,
            pending_since,
            pending_start,
            purchase_alerts,
            last_profile,
            cohort_entry,
            baselines,
            scored_ts,
            settled_ts: 0.0,
            arrival: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AccountState {
        let config = EngineConfig::default();
        let mut state = AccountState::new("instagram:inkwell", "instagram", "inkwell", &config);
        let start = 1_772_323_200.0;
        for hour in 0..200 {
            let ts = start + f64::from(hour) * 3600.0 + 17.5;
            state.observe_followers(ts, 12_000 + i64::from(hour) * 3 - i64::from(hour % 7));
        }
        for i in 0..45 {
            let posted = start as i64 + i * 4 * 3600;
            let observation = PostObservation {
                posted_ts: posted,
                observed_ts: posted + 7200,
                interactions: 300 + i,
                followers: 12_100,
                views: if i % 3 == 0 { None } else { Some(5_000 + i) },
                niches: if i % 2 == 0 { vec!["pens".into(), "ink".into()] } else { vec!["pens".into()] },
                comments: 12,
                prev_interactions: 0,
                prev_observed_ts: 0,
            };
            let id = if i == 3 { "elsewhere:9".to_owned() } else { format!("instagram:inkwell:{i}") };
            let latest = state.latest_ts;
            state.posts.observe(&id, observation, latest);
        }
        state.episode = Some(Episode {
            alert_id: "a".repeat(32),
            classification: Classification::OrganicBreakout,
            start_ts: 5,
            last_exceed_ts: 6,
            alert_ts: 7,
        });
        state.pending_since = Some(1_772_400_000);
        state.purchase_alerts = vec![1, 2, 3];
        state.last_profile = Some(LastProfile { score: 0.6123, tier: Tier::Micro, primary_niche: "ink".into(), engagement: None });
        state.cohort_entry = Some(("ink".into(), Tier::Micro, 41));
        state.baselines.set(BaselineKey::Long, Baseline { hour: 9, median_per_hour: 2.5, mad_per_hour: 0.75, rates: 160 });
        state.buffer.push(Observation {
            ts: 1.5,
            followers: 3,
            handle: "h".into(),
            post_id: Some("p".into()),
            posted_ts: 1,
            interactions: 2,
            views: Some(0),
            niches: vec!["x".into()],
            comments: 1,
        });
        state
    }

    #[test]
    fn the_compact_format_keeps_everything() {
        let config = EngineConfig::default();
        let state = sample();
        let compact = state.to_compact();
        assert!(AccountState::from_bytes(&compact, &config) == Ok(state.clone()), "the compact state reads back differently");
        let json = state.to_json_bytes();
        assert_eq!(AccountState::from_bytes(&json, &config), Ok(state));
        assert!(compact.len() * 3 < json.len(), "{} compact bytes against {} as JSON", compact.len(), json.len());
    }

    #[test]
    fn sorted_niches_are_kept_as_bit_sets() {
        let config = EngineConfig::default();
        let mut state = sample();
        let lists = state.to_compact().len();
        for (_, post) in state.posts.posts.iter_mut() {
            post.niches.sort();
        }
        let sets = state.to_compact();
        assert_eq!(AccountState::from_bytes(&sets, &config).as_ref(), Ok(&state));
        assert!(sets.len() < lists, "{} bytes with bit sets against {lists} with lists", sets.len());
    }

    #[test]
    fn a_truncated_or_foreign_state_is_an_error_not_a_panic() {
        let config = EngineConfig::default();
        let compact = sample().to_compact();
        for cut in 0..compact.len() {
            assert!(AccountState::from_bytes(&compact[..cut], &config).is_err());
        }
        assert!(AccountState::from_bytes(b"\x07junk", &config).is_err());
        assert!(AccountState::from_bytes(b"{\"v\": 9}", &config).is_err());
    }
}
