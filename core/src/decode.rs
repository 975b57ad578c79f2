//! The input contract (docs/contract.md, "Decoding rules"): bytes of `posts.raw` or
//! `accounts.snapshots` in, a `Post` or `AccountSnapshot` or the dead-letter reason out.
//!
//! ```text
//!  null? ─► size ─► BOM, UTF-8, RFC 8259 JSON ─► depth ─► object ─► kind ─► fields ─► clock ─► order
//!  not_json too_large  not_json / invalid_utf8  too_deep  schema  unknown_kind schema  schema   schema
//! ```
//!
//! The reasons are word for word what the pydantic models give (schemas/codec.py), field
//! errors in the models' field order, the first three named and the rest counted.

use std::borrow::Cow;

use crate::json::{self, JsonError, Value};
use crate::pyrepr;
use crate::timestamp::{self, Timestamp};

pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;
pub const COUNT_LIMIT: i64 = 1 << 53;
pub const MAX_FUTURE_US: i64 = 86_400 * 1_000_000;
const MAX_ID_CHARS: usize = 512;
const MAX_TEXT_CHARS: usize = 10_000;
const MAX_TAGS: usize = 100;
const MAX_TAG_CHARS: usize = 100;
const SHOWN_ERRORS: usize = 3;

/// The `reason` label of `nichewatch_dlq_writes_total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReasonClass {
    NotJson,
    InvalidUtf8,
    TooLarge,
    TooDeep,
    Schema,
    UnknownKind,
}

impl ReasonClass {
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonClass::NotJson => "not_json",
            ReasonClass::InvalidUtf8 => "invalid_utf8",
            ReasonClass::TooLarge => "too_large",
            ReasonClass::TooDeep => "too_deep",
            ReasonClass::Schema => "schema",
            ReasonClass::UnknownKind => "unknown_kind",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub reason: String,
    pub class: ReasonClass,
}

impl Rejection {
    fn new(class: ReasonClass, reason: impl Into<String>) -> Self {
        Rejection { reason: reason.into(), class }
    }
}

/// Which optional fields the record carried (pydantic's `model_fields_set`).
pub type Present = u32;

#[derive(Debug, Clone, PartialEq)]
pub struct PostEvent<'a> {
    pub post_id: Cow<'a, str>,
    pub platform: Cow<'a, str>,
    pub account_id: Cow<'a, str>,
    pub handle: Cow<'a, str>,
    pub posted_at: Timestamp,
    pub observed_at: Timestamp,
    pub followers: i64,
    pub following: Option<i64>,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
    pub views: Option<i64>,
    pub tags: Vec<Cow<'a, str>>,
    pub text: Option<Cow<'a, str>>,
    pub present: Present,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotEvent<'a> {
    pub platform: Cow<'a, str>,
    pub account_id: Cow<'a, str>,
    pub handle: Cow<'a, str>,
    pub observed_at: Timestamp,
    pub followers: i64,
    pub following: Option<i64>,
    pub posts_count: Option<i64>,
    pub present: Present,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    Post(PostEvent<'a>),
    Snapshot(SnapshotEvent<'a>),
}

/// The members of the event object that are read; everything else is checked and skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Field {
    Kind,
    SchemaVersion,
    PostId,
    Platform,
    AccountId,
    Handle,
    PostedAt,
    ObservedAt,
    Followers,
    Following,
    Likes,
    Comments,
    Shares,
    Views,
    Tags,
    Text,
    PostsCount,
}

pub const FIELD_COUNT: usize = 17;

impl Field {
    pub const ALL: [Field; FIELD_COUNT] = [
        Field::Kind,
        Field::SchemaVersion,
        Field::PostId,
        Field::Platform,
        Field::AccountId,
        Field::Handle,
        Field::PostedAt,
        Field::ObservedAt,
        Field::Followers,
        Field::Following,
        Field::Likes,
        Field::Comments,
        Field::Shares,
        Field::Views,
        Field::Tags,
        Field::Text,
        Field::PostsCount,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Field::Kind => "kind",
            Field::SchemaVersion => "schema_version",
            Field::PostId => "post_id",
            Field::Platform => "platform",
            Field::AccountId => "account_id",
            Field::Handle => "handle",
            Field::PostedAt => "posted_at",
            Field::ObservedAt => "observed_at",
            Field::Followers => "followers",
            Field::Following => "following",
            Field::Likes => "likes",
            Field::Comments => "comments",
            Field::Shares => "shares",
            Field::Views => "views",
            Field::Tags => "tags",
            Field::Text => "text",
            Field::PostsCount => "posts_count",
        }
    }

    fn slot_of(key: &str) -> Option<usize> {
        let field = match key {
            "kind" => Field::Kind,
            "schema_version" => Field::SchemaVersion,
            "post_id" => Field::PostId,
            "platform" => Field::Platform,
            "account_id" => Field::AccountId,
            "handle" => Field::Handle,
            "posted_at" => Field::PostedAt,
            "observed_at" => Field::ObservedAt,
            "followers" => Field::Followers,
            "following" => Field::Following,
            "likes" => Field::Likes,
            "comments" => Field::Comments,
            "shares" => Field::Shares,
            "views" => Field::Views,
            "tags" => Field::Tags,
            "text" => Field::Text,
            "posts_count" => Field::PostsCount,
            _ => return None,
        };
        Some(field as usize)
    }

    pub fn bit(self) -> Present {
        1 << (self as usize)
    }
}

const INT_TYPE: &str = "Input should be a valid integer";
const STR_TYPE: &str = "Input should be a valid string";
const REQUIRED: &str = "Field required";
const NEGATIVE: &str = "Input should be greater than or equal to 0";
const TOO_BIG: &str = "counter of 2**53 or more";
const UNSUPPORTED_VERSION: &str = "unsupported schema_version (this reader understands 1)";

/// An integral JSON number (JSON Schema's `integer` admits `900.0` and `9e2`), as an
/// `i64` when it is below 2**53 in size; otherwise the sign of what it is beyond that.
enum Integral {
    Small(i64),
    Huge { negative: bool },
}

fn integral(v: &Value) -> Option<Integral> {
    let huge = |negative| Some(Integral::Huge { negative });
    match *v {
        Value::Int(i) if i.unsigned_abs() < COUNT_LIMIT as u64 => Some(Integral::Small(i)),
        Value::Int(i) => huge(i < 0),
        Value::UInt(_) => huge(false),
        Value::BigInt(f) => huge(f < 0.0),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < COUNT_LIMIT as f64 => Some(Integral::Small(f as i64)),
        Value::Float(f) if f.fract() == 0.0 => huge(f < 0.0),
        _ => None,
    }
}

fn count(v: &Value) -> Result<i64, &'static str> {
    match integral(v) {
        Some(Integral::Small(i)) if i < 0 => Err(NEGATIVE),
        Some(Integral::Small(i)) => Ok(i),
        Some(Integral::Huge { negative: true }) => Err(NEGATIVE),
        Some(Integral::Huge { negative: false }) => Err(TOO_BIG),
        None => Err(INT_TYPE),
    }
}

/// Field errors in the model's field order; each is `(location, message)`.
struct Errors(Vec<(String, String)>);

impl Errors {
    fn push(&mut self, field: Field, message: &str) {
        self.0.push((field.name().to_owned(), message.to_owned()));
    }

    fn into_reason(self) -> String {
        let mut parts: Vec<String> = self.0.iter().take(SHOWN_ERRORS).map(|(f, m)| format!("{f}: {m}")).collect();
        if self.0.len() > SHOWN_ERRORS {
            parts.push(format!("and {} more", self.0.len() - SHOWN_ERRORS));
        }
        format!("invalid event: {}", parts.join("; "))
    }
}

/// Takes each field's value out of its slot, in the model's field order.
struct Reader<'a> {
    slots: [Option<Value<'a>>; FIELD_COUNT],
    errors: Errors,
    present: Present,
}

impl<'a> Reader<'a> {
    fn get(&mut self, field: Field) -> Option<Value<'a>> {
        let v = self.slots[field as usize].take();
        if v.is_some() {
            self.present |= field.bit();
        }
        v
    }

    fn schema_version(&mut self) {
        match self.get(Field::SchemaVersion) {
            None => self.errors.push(Field::SchemaVersion, REQUIRED),
            Some(v) => match integral(&v) {
                Some(Integral::Small(1)) => {}
                Some(_) => self.errors.push(Field::SchemaVersion, UNSUPPORTED_VERSION),
                None => self.errors.push(Field::SchemaVersion, INT_TYPE),
            },
        }
    }

    fn string(&mut self, field: Field, max_chars: usize, nullable: bool) -> Option<Cow<'a, str>> {
        let v = match self.get(field) {
            None if nullable => return None,
            None => {
                self.errors.push(field, REQUIRED);
                return None;
            }
            Some(Value::Null) if nullable => return None,
            Some(v) => v,
        };
        let Value::Str(s) = v else {
            self.errors.push(field, STR_TYPE);
            return None;
        };
        let chars = s.chars().count();
        if chars == 0 && !nullable {
            self.errors.push(field, "String should have at least 1 character");
        } else if chars > max_chars {
            self.errors.push(field, &format!("String should have at most {max_chars} characters"));
        } else {
            return Some(s);
        }
        None
    }

    fn id(&mut self, field: Field) -> Cow<'a, str> {
        self.string(field, MAX_ID_CHARS, false).unwrap_or_default()
    }

    fn count(&mut self, field: Field) -> i64 {
        match self.get(field) {
            None => self.errors.push(field, REQUIRED),
            Some(v) => match count(&v) {
                Ok(n) => return n,
                Err(message) => self.errors.push(field, message),
            },
        }
        0
    }

    fn optional_count(&mut self, field: Field) -> Option<i64> {
        match self.get(field) {
            None | Some(Value::Null) => None,
            Some(v) => match count(&v) {
                Ok(n) => Some(n),
                Err(message) => {
                    self.errors.push(field, message);
                    None
                }
            },
        }
    }

    fn timestamp(&mut self, field: Field) -> Option<Timestamp> {
        match self.get(field) {
            None => self.errors.push(field, REQUIRED),
            Some(Value::Str(s)) => match timestamp::parse(&s) {
                Ok(t) => return Some(t),
                Err(message) => self.errors.push(field, message),
            },
            Some(_) => self.errors.push(field, STR_TYPE),
        }
        None
    }

    fn tags(&mut self) -> Vec<Cow<'a, str>> {
        let items = match self.get(Field::Tags) {
            None => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.errors.push(Field::Tags, "Input should be a valid array");
                return Vec::new();
            }
        };
        if items.len() > MAX_TAGS {
            let message = format!("List should have at most {MAX_TAGS} items after validation, not {}", items.len());
            self.errors.push(Field::Tags, &message);
            return Vec::new();
        }
        let mut tags = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match item {
                Value::Str(s) if s.chars().count() <= MAX_TAG_CHARS => tags.push(s),
                Value::Str(_) => self.errors.0.push((format!("tags.{i}"), format!("String should have at most {MAX_TAG_CHARS} characters"))),
                _ => self.errors.0.push((format!("tags.{i}"), STR_TYPE.to_owned())),
            }
        }
        tags
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Array(_) => "an array",
        Value::Str(_) => "a string",
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Object(_) => "an object",
        _ => "a number",
    }
}

fn json_rejection(raw: &[u8], err: JsonError) -> Rejection {
    match err {
        JsonError::ByteOrderMark => Rejection::new(ReasonClass::NotJson, "not valid JSON: starts with a byte-order mark (U+FEFF)"),
        JsonError::NotUtf8 => Rejection::new(ReasonClass::InvalidUtf8, "not valid UTF-8"),
        JsonError::TooDeep => Rejection::new(ReasonClass::TooDeep, format!("JSON nested too deep (more than {} levels)", json::MAX_DEPTH)),
        JsonError::InfiniteNumber => Rejection::new(ReasonClass::NotJson, "not valid JSON: number beyond the range of a 64-bit float"),
        JsonError::Syntax(message, pos) => {
            // What the reference reader stopped at, read a little around.
            let near = &raw[pos.saturating_sub(1).min(raw.len())..(pos + 8).min(raw.len())];
            let contains = |w: &[u8]| near.windows(w.len()).any(|x| x == w);
            if contains(b"NaN") || contains(b"Infinity") {
                return Rejection::new(ReasonClass::NotJson, "not valid JSON: NaN and Infinity are not JSON numbers");
            }
            let short = message.split(':').next().unwrap_or(message);
            Rejection::new(ReasonClass::NotJson, format!("not valid JSON: {}", &short[..short.len().min(80)]))
        }
    }
}

/// One record's value (`None`: a tombstone) at wall-clock time `now_us` (epoch microseconds).
pub fn decode(raw: Option<&[u8]>, now_us: i64) -> Result<Event<'_>, Rejection> {
    let Some(raw) = raw else {
        return Err(Rejection::new(ReasonClass::NotJson, "missing value (null record)"));
    };
    if raw.len() > MAX_PAYLOAD_BYTES {
        return Err(Rejection::new(ReasonClass::TooLarge, format!("payload of {} bytes exceeds {MAX_PAYLOAD_BYTES} bytes", raw.len())));
    }
    let mut slots: [Option<Value>; FIELD_COUNT] = Default::default();
    let doc = json::parse(raw, &mut slots, Field::slot_of).map_err(|e| json_rejection(raw, e))?;
    if let Some(top) = &doc.top {
        return Err(Rejection::new(ReasonClass::Schema, format!("expected a JSON object, got {}", json_type(top))));
    }
    let is_post = match &slots[Field::Kind as usize] {
        Some(Value::Str(k)) if k == "post" => true,
        Some(Value::Str(k)) if k == "snapshot" => false,
        other => {
            let shown = other.as_ref().map_or_else(|| "None".to_owned(), pyrepr::repr);
            return Err(Rejection::new(ReasonClass::UnknownKind, format!("unknown kind {shown} (expected one of: post, snapshot)")));
        }
    };
    let mut r = Reader { slots, errors: Errors(Vec::new()), present: 0 };
    let event = if is_post { read_post(&mut r) } else { read_snapshot(&mut r) };
    if !r.errors.0.is_empty() {
        return Err(Rejection::new(ReasonClass::Schema, r.errors.into_reason()));
    }
    let event = event.ok_or_else(|| Rejection::new(ReasonClass::Schema, "invalid event"))?;
    check_clock_and_order(&event, now_us)?;
    Ok(event)
}

fn read_post<'a>(r: &mut Reader<'a>) -> Option<Event<'a>> {
    r.schema_version();
    r.get(Field::Kind);
    let post_id = r.id(Field::PostId);
    let platform = r.id(Field::Platform);
    let account_id = r.id(Field::AccountId);
    let handle = r.id(Field::Handle);
    let posted_at = r.timestamp(Field::PostedAt);
    let observed_at = r.timestamp(Field::ObservedAt);
    let followers = r.count(Field::Followers);
    let following = r.optional_count(Field::Following);
    let likes = r.count(Field::Likes);
    let comments = r.count(Field::Comments);
    let shares = r.count(Field::Shares);
    let views = r.optional_count(Field::Views);
    let tags = r.tags();
    let text = r.string(Field::Text, MAX_TEXT_CHARS, true);
    Some(Event::Post(PostEvent {
        post_id,
        platform,
        account_id,
        handle,
        posted_at: posted_at?,
        observed_at: observed_at?,
        followers,
        following,
        likes,
        comments,
        shares,
        views,
        tags,
        text,
        present: r.present,
    }))
}

fn read_snapshot<'a>(r: &mut Reader<'a>) -> Option<Event<'a>> {
    r.schema_version();
    r.get(Field::Kind);
    let platform = r.id(Field::Platform);
    let account_id = r.id(Field::AccountId);
    let handle = r.id(Field::Handle);
    let observed_at = r.timestamp(Field::ObservedAt);
    let followers = r.count(Field::Followers);
    let following = r.optional_count(Field::Following);
    let posts_count = r.optional_count(Field::PostsCount);
    Some(Event::Snapshot(SnapshotEvent {
        platform,
        account_id,
        handle,
        observed_at: observed_at?,
        followers,
        following,
        posts_count,
        present: r.present,
    }))
}

fn check_clock_and_order(event: &Event, now_us: i64) -> Result<(), Rejection> {
    let limit = now_us.saturating_add(MAX_FUTURE_US);
    let future = |field: &str, t: &Timestamp| {
        Rejection::new(ReasonClass::Schema, format!("invalid event: {field}: {} is more than 1 day in the future", t.isoformat()))
    };
    match event {
        Event::Snapshot(s) if s.observed_at.epoch_us > limit => Err(future("observed_at", &s.observed_at)),
        Event::Snapshot(_) => Ok(()),
        Event::Post(p) if p.observed_at.epoch_us > limit => Err(future("observed_at", &p.observed_at)),
        Event::Post(p) if p.posted_at.epoch_us > limit => Err(future("posted_at", &p.posted_at)),
        Event::Post(p) if p.observed_at.epoch_us < p.posted_at.epoch_us => Err(Rejection::new(
            ReasonClass::Schema,
            format!(
                "invalid event: observed_at: {} is earlier than posted_at {}",
                p.observed_at.isoformat(),
                p.posted_at.isoformat()
            ),
        )),
        Event::Post(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_US: i64 = 1_772_326_800_000_000; // 2026-03-01T01:00:00Z

    fn post(extra: &str) -> Vec<u8> {
        format!(
            r#"{{"kind":"post","schema_version":1,"post_id":"p1","platform":"instagram","account_id":"instagram:a","handle":"a",
            "posted_at":"2026-03-01T00:00:00Z","observed_at":"2026-03-01T00:30:00Z","followers":10,"likes":1,"comments":0,"shares":0{extra}}}"#
        )
        .into_bytes()
    }

    fn reason(raw: &[u8]) -> (ReasonClass, String) {
        let r = decode(Some(raw), NOW_US).expect_err("rejected");
        (r.class, r.reason)
    }

    #[test]
    fn a_valid_post_decodes_with_its_optional_fields_marked() {
        let raw = post(r##","tags":["#Ink"],"views":null"##);
        let Ok(Event::Post(p)) = decode(Some(&raw), NOW_US) else { panic!("not a post") };
        assert_eq!((p.likes, p.views, p.tags.as_slice()), (1, None, &[Cow::Borrowed("#Ink")][..]));
        assert_ne!(p.present & Field::Views.bit(), 0);
        assert_eq!(p.present & Field::Text.bit(), 0);
    }

    #[test]
    fn integral_numbers_are_counts_and_others_name_the_field() {
        let raw = post(r#","likes":9e2"#);
        let Ok(Event::Post(p)) = decode(Some(&raw), NOW_US) else { panic!("not a post") };
        assert_eq!(p.likes, 900);
        assert_eq!(reason(&post(r#","likes":900.5"#)).1, "invalid event: likes: Input should be a valid integer");
        assert_eq!(reason(&post(r#","likes":1e20"#)).1, "invalid event: likes: counter of 2**53 or more");
        assert_eq!(reason(&post(r#","likes":-1"#)).1, "invalid event: likes: Input should be greater than or equal to 0");
        assert_eq!(reason(&post(r#","schema_version":2.0"#)).1, format!("invalid event: schema_version: {UNSUPPORTED_VERSION}"));
    }

    #[test]
    fn errors_beyond_three_are_counted() {
        let (class, text) = reason(br#"{"kind":"post"}"#);
        assert_eq!(class, ReasonClass::Schema);
        assert_eq!(text, "invalid event: schema_version: Field required; post_id: Field required; platform: Field required; and 8 more");
    }

    #[test]
    fn each_rule_has_its_class() {
        assert_eq!(decode(None, NOW_US).expect_err("tombstone").class, ReasonClass::NotJson);
        assert_eq!(reason(&vec![b' '; MAX_PAYLOAD_BYTES + 1]).0, ReasonClass::TooLarge);
        assert_eq!(reason(b"\"\xff\"").0, ReasonClass::InvalidUtf8);
        assert_eq!(reason(b"[1]"), (ReasonClass::Schema, "expected a JSON object, got an array".into()));
        assert_eq!(reason(br#"{"kind":"reel"}"#), (ReasonClass::UnknownKind, "unknown kind 'reel' (expected one of: post, snapshot)".into()));
        assert_eq!(reason(br#"{"kind":NaN}"#).1, "not valid JSON: NaN and Infinity are not JSON numbers");
    }

    #[test]
    fn the_clock_and_the_order_of_times_are_checked_last() {
        let late = post(r#","observed_at":"2026-03-02T01:00:01Z""#);
        assert_eq!(reason(&late).1, "invalid event: observed_at: 2026-03-02T01:00:01+00:00 is more than 1 day in the future");
        let early = post(r#","observed_at":"2026-02-28T23:00:00Z""#);
        assert!(reason(&early).1.contains("is earlier than posted_at 2026-03-01T00:00:00+00:00"));
    }
}
