//! Shout-outs: posts that mention another account by @handle (streams/core/mentions.py).
//!
//! A mention by an account with `f` followers can explain up to
//! `MENTION_TOLERANCE x MENTION_CONVERSION x f` new followers of the mentioned account.
//! Mentions are matched by handle (the part of `platform:handle` after the last colon),
//! lower case. The book is engine-wide and bounded: past `max_entries` handles, the tenth
//! whose newest mention is oldest is forgotten (ties in the order the handles were first
//! added, as Python's dict keeps them).
//!
//! A decision taken at event time `t` counts only the mentions observed by then
//! (`seen_ts <= t`), whatever order they reached the book in.

use std::collections::HashMap;

/// Share of a mentioner's audience that follows the mentioned account.
pub const MENTION_CONVERSION: f64 = 0.05;
/// Credit given to that share: conversions vary a lot from one shout-out to the next.
pub const MENTION_TOLERANCE: f64 = 3.0;
/// The most recent mentions kept of one handle.
pub const MENTIONS_PER_HANDLE: usize = 8;
/// Handles kept by a default book.
pub const DEFAULT_MAX_ENTRIES: usize = 100_000;
/// `@([A-Za-z0-9_.]{2,30})`: the repetition bounds of a handle.
const HANDLE_MIN: usize = 2;
const HANDLE_MAX: usize = 30;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mention {
    /// when the mentioning post was published
    pub ts: i64,
    pub by_account: String,
    pub by_followers: i64,
    /// when the mentioning post was first observed
    pub seen_ts: i64,
}

/// The mentions kept of one handle, and when the handle was (last) added to the book.
#[derive(Clone, Debug, PartialEq)]
struct Kept {
    added: u64,
    mentions: Vec<Mention>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MentionBook {
    pub max_entries: usize,
    by_handle: HashMap<String, Kept>,
    /// insertion counter standing in for the dict's insertion order
    next_added: u64,
}

impl Default for MentionBook {
    fn default() -> Self {
        MentionBook::new(DEFAULT_MAX_ENTRIES)
    }
}

impl MentionBook {
    pub fn new(max_entries: usize) -> Self {
        MentionBook { max_entries, by_handle: HashMap::new(), next_added: 0 }
    }

    /// Note the mentions in a post's text; `ts` is when the post was published, `seen_ts`
    /// when this observation of it was made (`ts` if not given).
    pub fn record(&mut self, account_id: &str, text: Option<&str>, ts: f64, followers: i64, seen_ts: Option<f64>) {
        // Python's int() of a float truncates towards zero, as `as` does.
        let seen = seen_ts.unwrap_or(ts) as i64;
        for target in mentioned(account_id, text) {
            self.add(&target, Mention { ts: ts as i64, by_account: account_id.to_owned(), by_followers: followers, seen_ts: seen });
        }
    }

    /// Note one mention of the handle `target` (lower case); a post counts once, as first observed.
    pub fn add(&mut self, target: &str, mention: Mention) {
        if !self.by_handle.contains_key(target) {
            let added = self.next_added;
            self.next_added += 1;
            self.by_handle.insert(target.to_owned(), Kept { added, mentions: Vec::new() });
            if self.by_handle.len() > self.max_entries {
                self._forget_oldest();
            }
        }
        let Some(kept) = self.by_handle.get_mut(target) else { return };
        let kept = &mut kept.mentions;
        if let Some(known) = kept.iter_mut().find(|k| k.by_account == mention.by_account && k.ts == mention.ts) {
            if mention.seen_ts < known.seen_ts {
                *known = mention;
            }
            return;
        }
        kept.push(mention);
        if kept.len() > MENTIONS_PER_HANDLE {
            // (ts, by_account) is unique in a handle's list, so the minimum is one element.
            let oldest = kept
                .iter()
                .enumerate()
                .min_by(|(_, a), (_, b)| (a.ts, &a.by_account).cmp(&(b.ts, &b.by_account)))
                .map(|(i, _)| i);
            if let Some(i) = oldest {
                kept.remove(i);
            }
        }
    }

    /// Forget the tenth of the handles whose newest mention is oldest (handles without
    /// mentions, such as the one being added, are kept).
    pub fn _forget_oldest(&mut self) {
        let mut newest: Vec<(i64, u64, &str)> = self
            .by_handle
            .iter()
            .filter_map(|(handle, kept)| kept.mentions.iter().map(|m| m.ts).max().map(|ts| (ts, kept.added, handle.as_str())))
            .collect();
        // Python's sort is stable over the dict's insertion order: (newest, added) is that order.
        newest.sort_unstable_by_key(|&(ts, added, _)| (ts, added));
        let doomed: Vec<String> = newest.iter().take(self.max_entries / 10).map(|&(_, _, h)| h.to_owned()).collect();
        for handle in doomed {
            self.by_handle.remove(&handle);
        }
    }

    /// The strongest mention published within `[since_ts, until_ts]` and seen by `until_ts`
    /// whose audience can explain `gained` followers (the first of equals, by
    /// `(by_followers, ts)`).
    pub fn explaining(&self, account_id: &str, gained: i64, since_ts: f64, until_ts: f64) -> Option<&Mention> {
        let kept = self.by_handle.get(&handle_of(account_id))?;
        let mut best: Option<&Mention> = None;
        for mention in &kept.mentions {
            if float_le_int(since_ts, mention.ts)
                && int_le_float(mention.ts, until_ts)
                && int_le_float(mention.seen_ts, until_ts)
                && float_ge_int(explainable(mention.by_followers), gained)
                && best.is_none_or(|b| (mention.by_followers, mention.ts) > (b.by_followers, b.ts))
            {
                best = Some(mention);
            }
        }
        best
    }

    /// No handle is known (a Python `MentionBook` is always truthy: this is not `bool(book)`).
    pub fn is_empty(&self) -> bool {
        self.by_handle.is_empty()
    }

    /// Handles kept.
    pub fn len(&self) -> usize {
        self.by_handle.len()
    }

    /// The mentions kept of a handle (lower case), oldest added first.
    pub fn mentions_of(&self, handle: &str) -> &[Mention] {
        self.by_handle.get(handle).map_or(&[], |k| k.mentions.as_slice())
    }
}

/// The handles (lower case) a post's text mentions, other than its author's own, in order
/// of first mention.
pub fn mentioned(account_id: &str, text: Option<&str>) -> Vec<String> {
    let Some(text) = text else { return Vec::new() };
    if !text.contains('@') {
        return Vec::new();
    }
    let own = handle_of(account_id);
    let mut targets: Vec<String> = Vec::new();
    for handle in find_handles(text) {
        let target = handle.trim_end_matches('.').to_ascii_lowercase();
        if target != own && !targets.contains(&target) {
            targets.push(target);
        }
    }
    targets
}

/// `re.findall(r"@([A-Za-z0-9_.]{2,30})", text)`: non-overlapping, left to right, each
/// match as long as it can be. Every byte the pattern can match is ASCII, and no byte of a
/// multi-byte UTF-8 character is, so scanning bytes is scanning characters.
fn find_handles(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'@' {
            i += 1;
            continue;
        }
        let start = i + 1;
        let run = bytes[start..].iter().take(HANDLE_MAX).take_while(|&&b| is_handle_byte(b)).count();
        if run >= HANDLE_MIN {
            found.push(&text[start..start + run]);
            i = start + run;
        } else {
            i += 1;
        }
    }
    found
}

fn is_handle_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

/// New followers a mention by an account with `by_followers` followers can explain.
pub fn explainable(by_followers: i64) -> f64 {
    MENTION_TOLERANCE * MENTION_CONVERSION * by_followers as f64
}

/// `account_id.rpartition(":")[2].lower()`.
pub fn handle_of(account_id: &str) -> String {
    let handle = account_id.rsplit_once(':').map_or(account_id, |(_, h)| h);
    if handle.is_ascii() {
        handle.to_ascii_lowercase()
    } else {
        handle.to_lowercase()
    }
}

// Python compares floats with ints exactly; for an integer n, x >= n exactly when
// floor(x) >= n (and floor(x) fits an i64 inside the bounds checked first).
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

fn float_ge_int(x: f64, n: i64) -> bool {
    if x.is_nan() {
        false
    } else if x >= TWO_63 {
        true
    } else if x < -TWO_63 {
        false
    } else {
        x.floor() as i64 >= n
    }
}

fn float_le_int(x: f64, n: i64) -> bool {
    // x <= n  <=>  -x >= -n; n = i64::MIN has no negation, and nothing is below it but
    // floats under -2**63.
    if n == i64::MIN {
        x <= -TWO_63
    } else {
        float_ge_int(-x, -n)
    }
}

fn int_le_float(n: i64, x: f64) -> bool {
    float_ge_int(x, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mention(ts: i64, by: &str, followers: i64, seen: i64) -> Mention {
        Mention { ts, by_account: by.to_owned(), by_followers: followers, seen_ts: seen }
    }

    // Expected values below are what streams/core/mentions.py returns for the same input.
    #[test]
    fn handles_are_found_as_python_findall_finds_them() {
        let cases: [(&str, &[&str]); 16] = [
            ("a@@bc", &["bc"]),
            ("@a", &[]),
            ("@abc.", &["abc"]),
            ("email@domain.com", &["domain.com"]),
            ("héllo@ünï @ab_c.d. x@AB", &["ab_c.d", "ab"]),
            ("@..", &[""]),
            ("@a.", &["a"]),
            ("go follow @Foo and @foo!", &["foo"]),
            ("@me", &[]),
            ("@x:y", &[]),
            ("@ab@cd", &["ab", "cd"]),
            ("@\u{212a}ab", &[]),
            ("see @Ab.cd...", &["ab.cd"]),
            ("é@abécd", &["ab"]),
            ("no mention here", &[]),
            ("", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(mentioned("p:me", Some(text)), expected.to_vec(), "{text:?}");
        }
        assert!(mentioned("p:me", None).is_empty());
    }

    #[test]
    fn a_handle_is_at_most_thirty_characters() {
        let forty = format!("@{}", "x".repeat(40));
        assert_eq!(mentioned("p:me", Some(&forty)), vec!["x".repeat(30)]);
        let thirty_then_at = format!("@{}@bb", "a".repeat(30));
        assert_eq!(mentioned("p:me", Some(&thirty_then_at)), vec!["a".repeat(30), "bb".to_owned()]);
        let thirty_one_then_at = format!("@{}@bb", "a".repeat(31));
        assert_eq!(mentioned("p:me", Some(&thirty_one_then_at)), vec!["a".repeat(30), "bb".to_owned()]);
    }

    #[test]
    fn the_handle_is_after_the_last_colon_in_lower_case() {
        assert_eq!(handle_of("a:b:C"), "c");
        assert_eq!(handle_of("noplat"), "noplat");
        assert_eq!(handle_of("x:"), "");
        assert_eq!(handle_of("x:\u{212a}ab"), "kab"); // the Kelvin sign lowers to ASCII k
    }

    #[test]
    fn explainable_growth_is_fifteen_percent_of_the_audience() {
        assert_eq!(explainable(1000), 150.00000000000003);
        assert_eq!(explainable(200_000), 30000.000000000004);
    }

    #[test]
    fn a_post_counts_once_as_first_observed() {
        let mut book = MentionBook::default();
        book.record("p:big", Some("go follow @Small"), 100.0, 1000, Some(300.0));
        book.record("p:big", Some("go follow @small"), 100.0, 1000, Some(200.0));
        book.record("p:big", Some("go follow @small"), 100.0, 1000, Some(400.0));
        assert_eq!(book.mentions_of("small"), &[mention(100, "p:big", 1000, 200)]);
    }

    #[test]
    fn only_mentions_seen_by_the_decision_count() {
        let mut book = MentionBook::default();
        book.add("small", mention(100, "p:a", 1000, 500));
        book.add("small", mention(150, "p:b", 400, 150));
        // 150 explainable by 1000 followers (150.00000000000003 >= 150), 60 by 400.
        assert_eq!(book.explaining("q:Small", 150, 0.0, 400.0), None);
        assert_eq!(book.explaining("q:Small", 150, 0.0, 500.0).map(|m| m.ts), Some(100));
        assert_eq!(book.explaining("q:Small", 60, 0.0, 400.0).map(|m| m.ts), Some(150));
        assert_eq!(book.explaining("q:Small", 60, 120.0, 149.5), None);
        assert_eq!(book.explaining("q:Small", 151, 0.0, 500.0), None);
    }

    #[test]
    fn a_mention_counts_from_when_it_was_observed_whatever_order_it_arrived_in() {
        let first = mention(1_000, "instagram:big", 50_000, 1_000);
        let later = mention(1_500, "tiktok:bigger", 90_000, 5_000);
        let (mut early, mut late) = (MentionBook::default(), MentionBook::default());
        early.add("ink", first.clone());
        early.add("ink", later.clone());
        late.add("ink", later.clone()); // read ahead, then the earlier one
        late.add("ink", first.clone());
        for book in [&early, &late] {
            assert_eq!(book.explaining("instagram:ink", 100, 0.0, 2_000.0), Some(&first)); // later not yet seen
            assert_eq!(book.explaining("instagram:ink", 100, 0.0, 6_000.0), Some(&later));
        }
    }

    #[test]
    fn the_strongest_mention_wins_and_the_first_of_equals() {
        let mut book = MentionBook::default();
        book.add("h", mention(10, "p:a", 500, 10));
        book.add("h", mention(20, "p:b", 900, 20));
        book.add("h", mention(20, "p:c", 900, 20));
        book.add("h", mention(15, "p:d", 900, 15));
        assert_eq!(book.explaining("x:h", 1, 0.0, 100.0).map(|m| m.by_account.as_str()), Some("p:b"));
    }

    #[test]
    fn a_handle_keeps_its_eight_most_recent_mentions() {
        let mut book = MentionBook::default();
        for (i, ts) in [50, 10, 90, 30, 70, 20, 80, 60, 40, 10].into_iter().enumerate() {
            book.add("h", mention(ts, &format!("p:{}", 9 - i), 1, ts));
        }
        let kept: Vec<(i64, &str)> = book.mentions_of("h").iter().map(|m| (m.ts, m.by_account.as_str())).collect();
        let python = [(50, "p:9"), (90, "p:7"), (30, "p:6"), (70, "p:5"), (20, "p:4"), (80, "p:3"), (60, "p:2"), (40, "p:1")];
        assert_eq!(kept, python.to_vec());
    }

    fn handles(book: &MentionBook, names: impl Iterator<Item = String>) -> Vec<String> {
        let mut kept: Vec<String> = names.filter(|h| book.by_handle.contains_key(h)).collect();
        kept.sort();
        kept
    }

    #[test]
    fn the_handles_whose_newest_mention_is_oldest_are_forgotten_first() {
        let mut book = MentionBook::new(20);
        for i in 0..25_i64 {
            book.add(&format!("h{i}"), mention(1000 - (i % 7) * 10, "p:a", 1, 0));
        }
        let python = [
            "h0", "h1", "h10", "h11", "h14", "h15", "h16", "h17", "h18", "h2", "h21", "h22", "h23", "h24", "h3", "h4",
            "h7", "h8", "h9",
        ];
        assert_eq!(handles(&book, (0..25).map(|i| format!("h{i}"))), python.map(String::from).to_vec());
    }

    #[test]
    fn a_re_added_handle_goes_to_the_end_of_the_insertion_order() {
        let mut book = MentionBook::new(10);
        for i in 0..11_i64 {
            book.add(&format!("h{i}"), mention(100, "p:a", 1, 0));
        }
        assert!(!book.by_handle.contains_key("h0")); // all tie on ts: the first added goes
        book.add("h0", mention(100, "p:a", 1, 0)); // h1 goes (h0, still empty, is spared)
        for i in 11..20_i64 {
            book.add(&format!("h{i}"), mention(100, "p:a", 1, 0));
        }
        let python = ["h0", "h11", "h12", "h13", "h14", "h15", "h16", "h17", "h18", "h19"];
        assert_eq!(handles(&book, (0..20).map(|i| format!("h{i}"))), python.map(String::from).to_vec());
    }

    #[test]
    fn comparisons_with_growth_are_exact() {
        assert!(float_ge_int(9_007_199_254_740_992.0, 9_007_199_254_740_992));
        assert!(!float_ge_int(9_007_199_254_740_992.0, 9_007_199_254_740_993));
        assert!(float_ge_int(150.00000000000003, 150));
        assert!(!float_ge_int(149.99, 150));
        assert!(float_le_int(-0.5, 0) && !float_le_int(0.5, 0));
        assert!(int_le_float(3, 3.0) && !int_le_float(4, 3.9));
        assert!(!float_ge_int(f64::NAN, 0));
    }
}
