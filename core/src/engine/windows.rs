//! Bounded, event-time rolling windows of one account (streams/core/windows.py).
//!
//! Two bucket rings keep the latest `(ts, followers)` per hour and per day; posts are kept
//! by post_id in first-seen order (the order Python's dict keeps, which ties are broken by).

use super::stats::bucket_index;

/// `index -> (ts, followers)` keeping the latest observation per bucket and `keep` buckets
/// (pruned a day at a time: at most `keep + 24` are held).
///
/// Kept as `(index, ts, followers)` sorted by index: observations arrive in time order
/// almost always, so a bucket is updated or appended at the end; a late one is found by
/// binary search.
#[derive(Clone, Debug, PartialEq)]
pub struct BucketRing {
    pub width: f64,
    pub keep: usize,
    entries: Vec<(i64, i64, i64)>,
}

impl BucketRing {
    pub fn new(width: f64, keep: usize) -> Self {
        BucketRing { width, keep, entries: Vec::new() }
    }

    /// Where the bucket `index` is, or would be inserted.
    fn position(&self, index: i64) -> Result<usize, usize> {
        match self.entries.last() {
            None => Err(0),
            Some(&(last, _, _)) if last < index => Err(self.entries.len()),
            Some(&(last, _, _)) if last == index => Ok(self.entries.len() - 1),
            Some(_) => self.entries.binary_search_by_key(&index, |&(i, _, _)| i),
        }
    }

    pub fn observe(&mut self, ts: f64, followers: i64) {
        let index = bucket_index(ts, self.width);
        match self.position(index) {
            Ok(at) => {
                let current = &mut self.entries[at];
                if ts >= current.1 as f64 {
                    *current = (index, ts as i64, followers);
                }
            }
            Err(at) => {
                self.entries.insert(at, (index, ts as i64, followers));
                if self.entries.len() > self.keep + 24 {
                    self.prune();
                }
            }
        }
    }

    fn prune(&mut self) {
        let Some(&(last, _, _)) = self.entries.last() else { return };
        let cut = last - self.keep as i64 + 1;
        let gone = self.entries.partition_point(|&(i, _, _)| i < cut);
        self.entries.drain(..gone);
    }

    /// The entries whose buckets are within `first..=last`.
    fn span(&self, first: i64, last: i64) -> &[(i64, i64, i64)] {
        if first > last {
            return &[];
        }
        let from = self.entries.partition_point(|&(i, _, _)| i < first);
        let to = self.entries.partition_point(|&(i, _, _)| i <= last);
        &self.entries[from..to.max(from)]
    }

    /// Observations oldest first.
    pub fn ordered(&self) -> impl DoubleEndedIterator<Item = (i64, i64)> + ExactSizeIterator + '_ {
        self.entries.iter().map(|&(_, t, f)| (t, f))
    }

    /// Observations with `start_ts <= t <= end_ts`, oldest first.
    pub fn between(&self, start_ts: f64, end_ts: f64) -> impl Iterator<Item = (i64, i64)> + '_ {
        let first = bucket_index(start_ts, self.width);
        let last = bucket_index(end_ts, self.width);
        self.span(first, last)
            .iter()
            .map(|&(_, t, f)| (t, f))
            .filter(move |&(t, _)| start_ts <= t as f64 && t as f64 <= end_ts)
    }

    /// The latest observation at or before `ts`.
    pub fn at_or_before(&self, ts: f64) -> Option<(i64, i64)> {
        let index = bucket_index(ts, self.width);
        let to = self.entries.partition_point(|&(i, _, _)| i <= index);
        self.entries[..to].iter().rev().map(|&(_, t, f)| (t, f)).find(|&(t, _)| t as f64 <= ts)
    }

    /// The observation kept in the bucket `index`, if any.
    pub fn bucket(&self, index: i64) -> Option<(i64, i64)> {
        self.position(index).ok().map(|at| (self.entries[at].1, self.entries[at].2))
    }

    /// `(index, (ts, followers))` oldest first.
    pub fn indexed(&self) -> impl Iterator<Item = (i64, (i64, i64))> + '_ {
        self.entries.iter().map(|&(i, t, f)| (i, (t, f)))
    }

    /// Put an observation in its bucket as it was kept (restoring a ring, oldest first).
    pub fn restore(&mut self, index: i64, entry: (i64, i64)) {
        match self.position(index) {
            Ok(at) => self.entries[at] = (index, entry.0, entry.1),
            Err(at) => self.entries.insert(at, (index, entry.0, entry.1)),
        }
    }

    pub fn earliest(&self) -> Option<(i64, i64)> {
        self.entries.first().map(|&(_, t, f)| (t, f))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `[ts, followers, ts, followers, ...]` oldest first (the state format's "H" and "D").
    pub fn to_flat(&self) -> Vec<i64> {
        self.entries.iter().flat_map(|&(_, t, f)| [t, f]).collect()
    }

    pub fn from_flat(width: f64, keep: usize, flat: &[i64]) -> Self {
        let mut ring = BucketRing::new(width, keep);
        for pair in flat.chunks_exact(2) {
            ring.restore(bucket_index(pair[0] as f64, width), (pair[0], pair[1]));
        }
        ring
    }
}

/// The latest observation of one post, and the one before it.
#[derive(Clone, Debug, PartialEq)]
pub struct PostObservation {
    pub posted_ts: i64,
    pub observed_ts: i64,
    /// likes + comments + shares at observation time
    pub interactions: i64,
    /// the account's followers when the post was observed
    pub followers: i64,
    pub views: Option<i64>,
    pub niches: Vec<String>,
    pub comments: i64,
    /// the observation before this one (0, 0: none)
    pub prev_interactions: i64,
    pub prev_observed_ts: i64,
}

impl PostObservation {
    /// interactions / followers (0 without followers): the post's engagement rate.
    pub fn rate(&self) -> f64 {
        if self.followers > 0 {
            self.interactions as f64 / self.followers as f64
        } else {
            0.0
        }
    }
}

/// A later (or the same) look at a kept post replaces it; returns false for an earlier one.
fn replace_look(current: &mut PostObservation, mut observation: PostObservation) -> bool {
    if observation.observed_ts < current.observed_ts {
        return false;
    }
    if observation.observed_ts > current.observed_ts {
        observation.prev_interactions = current.interactions;
        observation.prev_observed_ts = current.observed_ts;
    } else {
        // the same look again (redelivered): the one before it stays the previous
        observation.prev_interactions = current.prev_interactions;
        observation.prev_observed_ts = current.prev_observed_ts;
    }
    *current = observation;
    true
}

/// The latest observation of each recent post, bounded in count and age, in first-seen order.
#[derive(Clone, Debug, PartialEq)]
pub struct PostWindow {
    pub max_posts: usize,
    pub max_age_s: f64,
    pub posts: Vec<(String, PostObservation)>,
}

impl PostWindow {
    pub fn new(max_posts: usize, max_age_s: f64) -> Self {
        PostWindow { max_posts, max_age_s, posts: Vec::new() }
    }

    pub fn get(&self, post_id: &str) -> Option<&PostObservation> {
        self.posts.iter().find(|(id, _)| id == post_id).map(|(_, p)| p)
    }

    pub fn contains(&self, post_id: &str) -> bool {
        self.posts.iter().any(|(id, _)| id == post_id)
    }

    /// Record an observation; returns false when it is older than what is already known.
    pub fn observe(&mut self, post_id: &str, observation: PostObservation, latest_ts: f64) -> bool {
        match self.posts.iter_mut().find(|(id, _)| id == post_id) {
            Some((_, current)) => replace_look(current, observation),
            None => {
                self.posts.push((post_id.to_owned(), observation));
                self.evict(latest_ts);
                self.contains(post_id)
            }
        }
    }

    /// `observe` with the post's niches given apart (`observation.niches` is ignored):
    /// they are copied only for a post not kept yet or whose niches changed. Returns
    /// whether the post was not kept before.
    pub fn observe_post(&mut self, post_id: &str, mut observation: PostObservation, niches: &[String], latest_ts: f64) -> bool {
        match self.posts.iter_mut().find(|(id, _)| id == post_id) {
            Some((_, current)) => {
                if observation.observed_ts >= current.observed_ts {
                    observation.niches =
                        if current.niches == niches { std::mem::take(&mut current.niches) } else { niches.to_vec() };
                    replace_look(current, observation);
                }
                false
            }
            None => {
                observation.niches = niches.to_vec();
                self.posts.push((post_id.to_owned(), observation));
                self.evict(latest_ts);
                true
            }
        }
    }

    fn evict(&mut self, latest_ts: f64) {
        let horizon = latest_ts - self.max_age_s;
        self.posts.retain(|(_, p)| (p.posted_ts as f64) >= horizon);
        while self.posts.len() > self.max_posts {
            let oldest = self
                .posts
                .iter()
                .enumerate()
                .min_by(|(_, (a_id, a)), (_, (b_id, b))| (a.posted_ts, a_id).cmp(&(b.posted_ts, b_id)))
                .map(|(i, _)| i);
            match oldest {
                Some(i) => {
                    self.posts.remove(i);
                }
                None => break,
            }
        }
    }

    pub fn len(&self) -> usize {
        self.posts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.posts.is_empty()
    }

    pub fn values(&self) -> impl Iterator<Item = &PostObservation> {
        self.posts.iter().map(|(_, p)| p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(posted: i64, observed: i64, interactions: i64) -> PostObservation {
        PostObservation {
            posted_ts: posted,
            observed_ts: observed,
            interactions,
            followers: 1000,
            views: None,
            niches: vec![],
            comments: 0,
            prev_interactions: 0,
            prev_observed_ts: 0,
        }
    }

    #[test]
    fn a_bucket_keeps_its_latest_observation() {
        let mut ring = BucketRing::new(3600.0, 168);
        ring.observe(7300.0, 10);
        ring.observe(7200.0, 5);
        ring.observe(7400.0, 12);
        assert_eq!(ring.ordered().collect::<Vec<_>>(), vec![(7400, 12)]);
    }

    #[test]
    fn the_ring_is_pruned_a_day_at_a_time() {
        let mut ring = BucketRing::new(3600.0, 168);
        for hour in 0..193 {
            ring.observe(hour as f64 * 3600.0, hour);
        }
        assert_eq!(ring.len(), 168);
        assert_eq!(ring.earliest(), Some((25 * 3600, 25)));
        assert_eq!(ring.at_or_before(30.5 * 3600.0), Some((30 * 3600, 30)));
        assert_eq!(ring.between(26.0 * 3600.0, 28.0 * 3600.0).count(), 3);
    }

    #[test]
    fn observe_post_takes_the_niches_given_and_tells_a_new_post() {
        let mut window = PostWindow::new(40, 30.0 * 86400.0);
        let pens = vec!["pens".to_owned()];
        assert!(window.observe_post("a", post(0, 10, 5), &pens, 10.0));
        assert!(!window.observe_post("a", post(0, 20, 9), &pens, 20.0));
        let ink = vec!["ink".to_owned(), "pens".to_owned()];
        assert!(!window.observe_post("a", post(0, 15, 7), &ink, 20.0)); // earlier: ignored
        assert_eq!(window.get("a").map(|p| (p.niches.clone(), p.prev_interactions)), Some((pens.clone(), 5)));
        assert!(!window.observe_post("a", post(0, 30, 12), &ink, 30.0));
        assert_eq!(window.get("a").map(|p| (p.niches.clone(), p.interactions)), Some((ink, 12)));
    }

    #[test]
    fn a_re_observed_post_keeps_its_previous_look() {
        let mut window = PostWindow::new(2, 30.0 * 86400.0);
        assert!(window.observe("a", post(0, 10, 5), 10.0));
        assert!(window.observe("a", post(0, 20, 9), 20.0));
        assert!(!window.observe("a", post(0, 15, 7), 20.0));
        let seen = window.get("a").map(|p| (p.interactions, p.prev_interactions, p.prev_observed_ts));
        assert_eq!(seen, Some((9, 5, 10)));
        window.observe("b", post(5, 30, 1), 30.0);
        window.observe("c", post(3, 30, 1), 30.0);
        let ids: Vec<&str> = window.posts.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, vec!["b", "c"]);
    }
}
