//! Hashtag normalisation and niche matching (streams/core/tags.py). Not ported yet.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct NicheMatcher {}

impl NicheMatcher {
    /// Sorted names of the niches the tags hit (empty when none).
    pub fn match_tags(&mut self, tags: &[&str]) -> Vec<String> {
        let _ = tags;
        todo!("NicheMatcher::match_tags")
    }
}
