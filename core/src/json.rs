//! Strict RFC 8259 JSON, read the way the contract reads it (docs/contract.md, rules 3-6).
//!
//! One pass over the bytes of a record. The event object's known fields are built into
//! [`Value`]s; every other value (unknown fields, whatever is nested in them) is checked
//! and skipped without being built, because unknown fields must pass the same rules.
//!
//! ```text
//!   {"kind": "post", "likes": 7, "extra": [1, {"x": 2}]}
//!    level 1          built            level 2  level 3   (checked, not built)
//! ```
//!
//! Where an input breaks several rules, the reader that defines the contract (orjson)
//! decides which one is reported: a byte-order mark first, then UTF-8 anywhere in the
//! record, then the first syntax error; a value nested deeper than `HARD_DEPTH_LIMIT`
//! stops the reader on the spot (its depth limit), deeper than `MAX_DEPTH` is reported
//! once the whole value has parsed.

/// The event object is level 1; each array or object inside it one more.
pub const MAX_DEPTH: usize = 64;
use std::borrow::Cow;

/// The JSON reference reader gives up at this depth even before the value ends.
pub const HARD_DEPTH_LIMIT: usize = 1024;

/// A JSON value as the reference reader gives it to Python: integers within 64 bits
/// stay integers, longer ones become floats.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    /// An integer literal beyond 64 bits: its value as a float (finite).
    BigInt(f64),
    Float(f64),
    /// Borrowed from the record unless it had escapes.
    Str(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum JsonError {
    ByteOrderMark,
    NotUtf8,
    /// What went wrong (the reference reader's words) and at which byte.
    Syntax(&'static str, usize),
    InfiniteNumber,
    TooDeep,
}

/// The event object's members: `slot_of` maps a key to a slot index for the fields that
/// are built; other keys are checked and skipped. `top` is what the value was when it is
/// not an object.
pub struct Document<'a> {
    pub top: Option<Value<'a>>,
    pub is_object: bool,
}

pub fn parse<'a>(raw: &'a [u8], slots: &mut [Option<Value<'a>>], slot_of: fn(&str) -> Option<usize>) -> Result<Document<'a>, JsonError> {
    if raw.starts_with(b"\xef\xbb\xbf") {
        return Err(JsonError::ByteOrderMark);
    }
    let text = std::str::from_utf8(raw).map_err(|_| JsonError::NotUtf8)?;
    if raw.is_empty() {
        return Err(JsonError::Syntax("Input is a zero-length, empty document", 0));
    }
    let mut p = Parser { raw, text, pos: 0, deepest: 0 };
    p.skip_ws();
    if p.pos == raw.len() {
        return Err(JsonError::Syntax("input data is empty", 0));
    }
    let doc = if p.peek() == Some(b'{') {
        p.event_object(slots, slot_of)?;
        Document { top: None, is_object: true }
    } else {
        let top = p.value(1, true)?;
        Document { top: Some(top), is_object: false }
    };
    p.skip_ws();
    if p.pos != raw.len() {
        return Err(JsonError::Syntax("unexpected content after document", p.pos));
    }
    if p.deepest > MAX_DEPTH {
        return Err(JsonError::TooDeep);
    }
    Ok(doc)
}

struct Parser<'a> {
    raw: &'a [u8],
    /// The same bytes, known to be UTF-8: strings are sliced from it (at ASCII quotes).
    text: &'a str,
    pos: usize,
    deepest: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.raw.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn end_or(&self, what: &'static str) -> JsonError {
        if self.pos >= self.raw.len() {
            JsonError::Syntax("unexpected end of data", self.pos)
        } else {
            JsonError::Syntax(what, self.pos)
        }
    }

    fn enter(&mut self, level: usize) -> Result<(), JsonError> {
        if level > HARD_DEPTH_LIMIT {
            return Err(JsonError::TooDeep);
        }
        self.deepest = self.deepest.max(level);
        Ok(())
    }

    /// The top-level object: members go to their slots (last one wins) or are skipped.
    fn event_object(&mut self, slots: &mut [Option<Value<'a>>], slot_of: fn(&str) -> Option<usize>) -> Result<(), JsonError> {
        self.enter(1)?;
        self.pos += 1; // '{'
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.end_or("unexpected character, expected a string key"));
            }
            let key = self.string()?;
            self.colon()?;
            match slot_of(&key) {
                Some(i) => slots[i] = Some(self.value(2, true)?),
                None => {
                    self.value(2, false)?;
                }
            }
            if self.after_member(b'}', "unexpected character, expected ',' or '}'")? {
                return Ok(());
            }
        }
    }

    fn colon(&mut self) -> Result<(), JsonError> {
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.end_or("unexpected character, expected ':' after key"));
        }
        self.pos += 1;
        self.skip_ws();
        Ok(())
    }

    /// After a member or element: `true` when the container closed.
    fn after_member(&mut self, close: u8, what: &'static str) -> Result<bool, JsonError> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                if self.peek() == Some(close) {
                    return Err(JsonError::Syntax("trailing comma is not allowed", self.pos));
                }
                Ok(false)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(true)
            }
            _ => Err(self.end_or(what)),
        }
    }

    /// One value at `level`; built when `build`, otherwise checked (and `Value::Null` returned).
    fn value(&mut self, level: usize, build: bool) -> Result<Value<'a>, JsonError> {
        match self.peek() {
            Some(b'{') => self.object(level, build),
            Some(b'[') => self.array(level, build),
            Some(b'"') => {
                let s = self.string()?;
                Ok(if build { Value::Str(s) } else { Value::Null })
            }
            Some(b't') => self.literal(b"true", "invalid literal, expected 'true'", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", "invalid literal, expected 'false'", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", "invalid literal, expected 'null'", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            // The reference reader takes these for the start of a number.
            Some(b'+' | b'.') => Err(JsonError::Syntax("no digit after sign", self.pos + 1)),
            _ => Err(self.end_or("unexpected character, expected a JSON value")),
        }
    }

    fn literal(&mut self, word: &[u8], what: &'static str, value: Value<'a>) -> Result<Value<'a>, JsonError> {
        let rest = &self.raw[self.pos..];
        if rest.starts_with(word) {
            self.pos += word.len();
            return Ok(value);
        }
        if word.starts_with(rest) {
            return Err(JsonError::Syntax("unexpected end of data", self.raw.len()));
        }
        Err(JsonError::Syntax(what, self.pos))
    }

    fn object(&mut self, level: usize, build: bool) -> Result<Value<'a>, JsonError> {
        self.enter(level)?;
        self.pos += 1;
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(if build { Value::Object(members) } else { Value::Null });
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.end_or("unexpected character, expected a string key"));
            }
            let key = self.string()?;
            self.colon()?;
            let v = self.value(level + 1, build)?;
            if build {
                members.push((key, v));
            }
            if self.after_member(b'}', "unexpected character, expected ',' or '}'")? {
                return Ok(if build { Value::Object(members) } else { Value::Null });
            }
        }
    }

    fn array(&mut self, level: usize, build: bool) -> Result<Value<'a>, JsonError> {
        self.enter(level)?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(if build { Value::Array(items) } else { Value::Null });
        }
        loop {
            self.skip_ws();
            let v = self.value(level + 1, build)?;
            if build {
                items.push(v);
            }
            if self.after_member(b']', "unexpected character, expected ',' or ']'")? {
                return Ok(if build { Value::Array(items) } else { Value::Null });
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value<'a>, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.end_or("no digit after sign"));
            }
        }
        let int_start = self.pos;
        let int_digits = self.digits();
        if int_digits > 1 && self.raw[int_start] == b'0' {
            return Err(JsonError::Syntax("number with leading zero is not allowed", int_start + 1));
        }
        let mut is_float = false;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            is_float = true;
            if self.digits() == 0 {
                return Err(self.end_or("no digit after decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            is_float = true;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.end_or("no digit after exponent sign"));
            }
        }
        let text = &self.text[start..self.pos]; // ASCII digits and signs
        if !is_float {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::Int(i));
            }
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Value::UInt(u));
            }
        }
        let f: f64 = text.parse().map_err(|_| JsonError::Syntax("invalid number", start))?;
        if f.is_infinite() {
            return Err(JsonError::InfiniteNumber);
        }
        Ok(if is_float { Value::Float(f) } else { Value::BigInt(f) })
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let at = self.pos - 2; // the reference reader points at the backslash
        let bytes = self.raw.get(self.pos..self.pos + 4).ok_or(JsonError::Syntax("invalid escaped sequence in string", at))?;
        let mut v = 0u32;
        for &b in bytes {
            let d = (b as char).to_digit(16).ok_or(JsonError::Syntax("invalid escaped sequence in string", at))?;
            v = v * 16 + d;
        }
        self.pos += 4;
        Ok(v)
    }

    /// A string starting at `"`, unescaped.
    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes, the string is borrowed from the record.
        let special = self.raw[start..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20);
        self.pos = start + special.unwrap_or(self.raw.len() - start);
        match self.peek() {
            None => return Err(JsonError::Syntax("unexpected end of data", self.raw.len())),
            Some(b'"') => {
                let s = &self.text[start..self.pos];
                self.pos += 1;
                return Ok(Cow::Borrowed(s));
            }
            Some(b'\\') => {}
            Some(_) => return Err(JsonError::Syntax("unexpected control character in string", open + 1)),
        }
        let mut out: Vec<u8> = self.raw[start..self.pos].to_vec();
        loop {
            match self.peek() {
                None => return Err(JsonError::Syntax("unexpected end of data", self.raw.len())),
                Some(b'"') => {
                    self.pos += 1;
                    return String::from_utf8(out).map(Cow::Owned).map_err(|_| JsonError::NotUtf8);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let esc = self.peek().ok_or(JsonError::Syntax("unexpected end of data", self.raw.len()))?;
                    self.pos += 1;
                    let simple = match esc {
                        b'"' => Some(b'"'),
                        b'\\' => Some(b'\\'),
                        b'/' => Some(b'/'),
                        b'b' => Some(0x08),
                        b'f' => Some(0x0c),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        b'u' => None,
                        _ => return Err(JsonError::Syntax("invalid escaped sequence in string", open + 1)),
                    };
                    if let Some(b) = simple {
                        out.push(b);
                        continue;
                    }
                    let c = self.unicode_escape(open)?;
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                Some(c) if c < 0x20 => return Err(JsonError::Syntax("unexpected control character in string", open + 1)),
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    /// After `\u`: one code point, a surrogate pair taking two escapes.
    fn unicode_escape(&mut self, open: usize) -> Result<char, JsonError> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if self.raw.get(self.pos..self.pos + 2) != Some(b"\\u") {
                    return Err(JsonError::Syntax("no low surrogate in string", open + 1));
                }
                self.pos += 2;
                let low = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    return Err(JsonError::Syntax("invalid low surrogate in string", open + 1));
                }
                0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(JsonError::Syntax("invalid high surrogate in string", open + 1)),
            c => c,
        };
        char::from_u32(code).ok_or(JsonError::Syntax("invalid escaped sequence in string", open + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(key: &str) -> Option<usize> {
        match key {
            "a" => Some(0),
            "b" => Some(1),
            _ => None,
        }
    }

    fn run(raw: &[u8]) -> Result<(Document<'_>, Vec<Option<Value<'_>>>), JsonError> {
        let mut slots = vec![None, None];
        let doc = parse(raw, &mut slots, slot)?;
        Ok((doc, slots))
    }

    #[test]
    fn known_members_are_built_and_the_last_duplicate_wins() {
        let (doc, slots) = run(br#"{"a": 1, "x": [1, {"y": null}], "a": "two", "b": [true, -0.5]}"#).expect("valid");
        assert!(doc.is_object);
        assert_eq!(slots[0], Some(Value::Str("two".into())));
        assert_eq!(slots[1], Some(Value::Array(vec![Value::Bool(true), Value::Float(-0.5)])));
    }

    #[test]
    fn escapes_and_surrogate_pairs_decode() {
        let (_, slots) = run(br#"{"a": "\u00e9\ud83d\ude00\n\/"}"#).expect("valid");
        assert_eq!(slots[0], Some(Value::Str("é😀\n/".into())));
        assert!(matches!(run(br#"{"a": "\ud83d"}"#), Err(JsonError::Syntax("no low surrogate in string", _))));
        assert!(matches!(run(br#"{"a": "\udc00"}"#), Err(JsonError::Syntax("invalid high surrogate in string", _))));
    }

    #[test]
    fn what_json_does_not_have_is_refused() {
        for bad in [&b"{\"a\": NaN}"[..], b"{\"a\": 01}", b"{\"a\": 1,}", b"{'a': 1}", b"{\"a\": 1} x", b"", b"  ", b"{\"a\": .5}"] {
            assert!(matches!(run(bad), Err(JsonError::Syntax(..))), "{bad:?}");
        }
        assert_eq!(run(b"{\"a\": 1e400}").err(), Some(JsonError::InfiniteNumber));
        assert_eq!(run(b"{\"x\": \"\xff\"}").err(), Some(JsonError::NotUtf8));
        assert_eq!(run(b"\xef\xbb\xbf{}").err(), Some(JsonError::ByteOrderMark));
    }

    #[test]
    fn integers_stay_integers_within_64_bits() {
        let (_, slots) = run(b"{\"a\": 18446744073709551615, \"b\": 18446744073709551616}").expect("valid");
        assert_eq!(slots[0], Some(Value::UInt(u64::MAX)));
        assert_eq!(slots[1], Some(Value::BigInt(18446744073709551616.0)));
    }

    #[test]
    fn nesting_is_counted_from_the_event_object() {
        let ok = format!("{{\"x\": {}{}}}", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        assert!(run(ok.as_bytes()).is_ok());
        let deep = format!("{{\"x\": {}{}}}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert_eq!(run(deep.as_bytes()).err(), Some(JsonError::TooDeep));
        let inside_string = format!("{{\"x\": \"{}\"}}", "[".repeat(500));
        assert!(run(inside_string.as_bytes()).is_ok());
    }
}
