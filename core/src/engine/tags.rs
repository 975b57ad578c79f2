//! Hashtag normalisation and niche matching (streams/core/tags.py).
//!
//! `#FountainPens`, `fountainpens` and `ＦｏｕｎｔａｉｎＰｅｎｓ` are one tag: Unicode NFKC,
//! strip white space, strip the leading '#'s, strip again, casefold (`ß` -> `ss`), NFKC
//! again (casefolding can produce new compatibility forms). Each step is the one Python
//! takes, at the Unicode version of the Python engine's interpreter (14.0.0): NFKC from
//! `unicode-normalization` 0.1.21 (that version's tables), the case folding from a table
//! written out of Python's own `str.casefold` (core/tools/casefold_table.py), white space
//! as `str.isspace` has it. A post belongs to every niche whose tag set it hits.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use unicode_normalization::UnicodeNormalization;

pub mod casefold;

use casefold::FOLDS;

/// Tag lists whose niches are remembered until the niches change (then all are forgotten,
/// as when the memory is full).
pub const MATCH_CACHE_SIZE: usize = 65_536;

/// Canonical form of a hashtag (idempotent but for a '#' behind white space behind a '#',
/// as in Python).
pub fn normalise_tag(tag: &str) -> String {
    if tag.is_ascii() {
        // NFKC leaves ASCII alone and casefolding it is lowering it.
        return strip(strip(tag).trim_start_matches('#')).to_ascii_lowercase();
    }
    let composed: String = tag.nfkc().collect();
    let text = strip(strip(&composed).trim_start_matches('#'));
    casefold(text).nfkc().collect()
}

/// Python's `str.strip()`: both ends, every character `str.isspace` holds true of.
fn strip(text: &str) -> &str {
    text.trim_matches(is_python_space)
}

/// `str.isspace`: bidirectional class WS, B or S, or general category Zs (Unicode 14.0.0).
fn is_python_space(c: char) -> bool {
    matches!(
        c,
        '\u{9}'..='\u{d}'
            | '\u{1c}'..='\u{20}'
            | '\u{85}'
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
    )
}

/// Python's `str.casefold`.
fn casefold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars() {
        match FOLDS.binary_search_by_key(&c, |&(from, _)| from) {
            Ok(i) => folded.push_str(FOLDS[i].1),
            Err(_) => folded.push(c),
        }
    }
    folded
}

static NO_TAGS: BTreeSet<String> = BTreeSet::new();

/// Maps a post's tags to the niches it belongs to; updated at runtime from niches.config.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NicheMatcher {
    tags_by_niche: BTreeMap<String, BTreeSet<String>>,
    niches_by_tag: HashMap<String, Vec<String>>,
    /// tag list (length-prefixed, as `key_of` writes it) -> the niches it hits
    matches: HashMap<Vec<u8>, Vec<String>>,
    scratch: Vec<u8>,
}

impl NicheMatcher {
    pub fn niche_names(&self) -> Vec<String> {
        self.tags_by_niche.keys().cloned().collect()
    }

    /// The niche's normalised tags (none for an unknown niche).
    pub fn tags_of(&self, name: &str) -> &BTreeSet<String> {
        self.tags_by_niche.get(name).unwrap_or(&NO_TAGS)
    }

    /// Define or replace a niche; its tags are normalised and the empty ones dropped.
    pub fn set_niche(&mut self, name: &str, tags: &[String]) {
        let tags: BTreeSet<String> = tags.iter().map(|t| normalise_tag(t)).filter(|t| !t.is_empty()).collect();
        self.tags_by_niche.insert(name.to_owned(), tags);
        self.rebuild();
    }

    /// Forget a niche; returns whether it existed.
    pub fn remove_niche(&mut self, name: &str) -> bool {
        let existed = self.tags_by_niche.remove(name).is_some();
        if existed {
            self.rebuild();
        }
        existed
    }

    /// Sorted names of the niches the tags hit (empty when none).
    pub fn match_tags(&mut self, tags: &[&str]) -> Vec<String> {
        // Posts repeat their tag lists; the answer per list is kept until the niches change.
        let mut key = std::mem::take(&mut self.scratch);
        key_of(tags, &mut key);
        let found = match self.matches.get(key.as_slice()) {
            Some(cached) => cached.clone(),
            None => {
                let found = self.match_uncached(tags);
                if self.matches.len() >= MATCH_CACHE_SIZE {
                    self.matches.clear();
                }
                self.matches.insert(key.clone(), found.clone());
                found
            }
        };
        self.scratch = key;
        found
    }

    fn match_uncached(&self, tags: &[&str]) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for tag in tags {
            if let Some(hit) = self.niches_by_tag.get(&normalise_tag(tag)) {
                found.extend(hit.iter().cloned());
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    fn rebuild(&mut self) {
        let mut index: HashMap<String, Vec<String>> = HashMap::new();
        for (name, tags) in &self.tags_by_niche {
            for tag in tags {
                index.entry(tag.clone()).or_default().push(name.clone());
            }
        }
        self.niches_by_tag = index;
        self.matches.clear();
    }
}

/// A tag list as one byte string: each tag's length, then its bytes.
fn key_of(tags: &[&str], key: &mut Vec<u8>) {
    key.clear();
    for tag in tags {
        key.extend_from_slice(&(tag.len() as u64).to_le_bytes());
        key.extend_from_slice(tag.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn normalisation_follows_the_unicode_version_of_the_python_engine() {
        assert_eq!(unicode_normalization::UNICODE_VERSION, (14, 0, 0));
        assert_eq!(casefold::UNICODE_VERSION, "14.0.0");
    }

    // Expected values below are what streams.core.tags.normalise_tag returns.
    #[test]
    fn tags_are_normalised_as_python_normalises_them() {
        let cases = [
            ("#FountainPens", "fountainpens"),
            ("ＦｏｕｎｔａｉｎＰｅｎｓ", "fountainpens"),
            ("＃Ｉｎｋ", "ink"),
            ("Straße", "strasse"),
            ("ẞ", "ss"),
            ("ﬁsh", "fish"),
            ("İstanbul", "i\u{307}stanbul"),
            ("ıi", "ıi"),
            ("e\u{301}", "é"),
            ("E\u{301}", "é"),
            ("Å", "å"),
            ("##tag", "tag"),
            ("# #tag", "#tag"),
            ("#", ""),
            ("  ", ""),
            (" \u{1c}#\u{a0}##Tag\u{85} ", "##tag"), // NFKC makes the no-break space a space first
            ("\u{3000}#タグ\u{2029}", "タグ"),
            ("ＡＢ\u{3000}", "ab"),
            ("\u{1c}#ink\u{1f}", "ink"),
            ("\u{200b}ink", "\u{200b}ink"),
            ("ΣΑΣ", "σασ"),
            ("ǅ", "dž"),
            ("ᾼ", "αι"),
            ("㎒", "mhz"),
            ("ℌ", "h"),
            ("\u{2126}", "ω"),
            ("ŉ", "ʼn"),
            ("\u{1e9e}\u{345}", "ssι"),
            ("Ⅻ", "xii"),
        ];
        for (tag, expected) in cases {
            assert_eq!(normalise_tag(tag), expected, "{tag:?}");
        }
    }

    #[test]
    fn a_hash_after_white_space_survives_one_normalisation_as_in_python() {
        // Python's docstring says idempotent; it is not on these, and neither is the port.
        assert_eq!(normalise_tag("# #tag"), "#tag");
        assert_eq!(normalise_tag("#tag"), "tag");
    }

    #[test]
    fn ascii_tags_strip_python_white_space_and_lower() {
        assert_eq!(normalise_tag("\t#Ink\x0b"), "ink");
        assert_eq!(normalise_tag("\x1d##Moss Art\x1e"), "moss art");
        assert_eq!(normalise_tag("#\x00x"), "\x00x");
        assert_eq!(normalise_tag("-#x"), "-#x");
    }

    #[test]
    fn a_post_belongs_to_every_niche_its_tags_hit() {
        let mut matcher = NicheMatcher::default();
        matcher.set_niche("pens", &strings(&["#FountainPens", "Ink", "#"]));
        matcher.set_niche("art", &strings(&["ink", "Sketch"]));
        assert_eq!(matcher.niche_names(), strings(&["art", "pens"]));
        assert_eq!(matcher.tags_of("pens").iter().collect::<Vec<_>>(), vec!["fountainpens", "ink"]);
        assert!(matcher.tags_of("none").is_empty());
        assert_eq!(matcher.match_tags(&["ＩＮＫ"]), strings(&["art", "pens"]));
        assert_eq!(matcher.match_tags(&["fountainpens", "x"]), strings(&["pens"]));
        assert_eq!(matcher.match_tags(&["x"]), Vec::<String>::new());
        assert_eq!(matcher.match_tags(&[]), Vec::<String>::new());
    }

    #[test]
    fn changing_the_niches_forgets_remembered_matches() {
        let mut matcher = NicheMatcher::default();
        matcher.set_niche("pens", &strings(&["ink"]));
        assert_eq!(matcher.match_tags(&["ink"]), strings(&["pens"]));
        matcher.set_niche("art", &strings(&["#Ink"]));
        assert_eq!(matcher.match_tags(&["ink"]), strings(&["art", "pens"]));
        assert!(matcher.remove_niche("pens"));
        assert!(!matcher.remove_niche("pens"));
        assert_eq!(matcher.match_tags(&["ink"]), strings(&["art"]));
    }

    #[test]
    fn tag_lists_are_told_apart_however_they_split() {
        let mut matcher = NicheMatcher::default();
        matcher.set_niche("ab", &strings(&["ab"]));
        assert_eq!(matcher.match_tags(&["a", "b"]), Vec::<String>::new());
        assert_eq!(matcher.match_tags(&["ab"]), strings(&["ab"]));
    }

    #[test]
    fn the_match_memory_is_bounded() {
        let mut matcher = NicheMatcher::default();
        matcher.set_niche("n", &strings(&["t0"]));
        for i in 0..MATCH_CACHE_SIZE + 10 {
            let tag = format!("t{i}");
            matcher.match_tags(&[tag.as_str()]);
        }
        assert!(matcher.matches.len() <= MATCH_CACHE_SIZE);
        assert_eq!(matcher.match_tags(&["t0"]), strings(&["n"]));
    }
}
