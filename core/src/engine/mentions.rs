//! Mentions that explain growth (streams/core/mentions.py). Not ported yet.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct MentionBook {}

impl MentionBook {
    pub fn record(&mut self, account_id: &str, text: Option<&str>, ts: f64, followers: i64, seen_ts: Option<f64>) {
        let _ = (account_id, text, ts, followers, seen_ts);
        todo!("MentionBook::record")
    }
}
