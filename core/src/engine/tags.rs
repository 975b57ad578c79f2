//! Hashtag normalisation and niche matching (streams/core/tags.py). Not ported yet.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct NicheMatcher {}

impl NicheMatcher {
    pub fn set_niche(&mut self, name: &str, tags: &[String]) {
        let _ = (name, tags);
        todo!("NicheMatcher::set_niche")
    }

    pub fn remove_niche(&mut self, name: &str) -> bool {
        let _ = name;
        todo!("NicheMatcher::remove_niche")
    }

    pub fn niche_names(&self) -> Vec<String> {
        todo!("NicheMatcher::niche_names")
    }

    /// Sorted names of the niches the tags hit (empty when none).
    pub fn match_tags(&mut self, tags: &[&str]) -> Vec<String> {
        let _ = tags;
        todo!("NicheMatcher::match_tags")
    }
}
