//! RFC 3339 timestamps as the contract reads them (docs/contract.md, "Timestamps").
//!
//! ```text
//!   2026-03-14T10:30:00.123456789+01:30
//!   └─date───┘│└time──┘└fraction─┘└offset┘   T|t, 1-9 fraction digits (kept to the
//!             T                              microsecond, cut), Z|z|+hh:mm|-hh:mm
//! ```
//!
//! Checked in the order of the model's steps, each with the reason the model gives:
//! the pattern, the calendar date, the time of day and offset, the 2000-01-01 floor, and
//! last a timezone (an offset-less timestamp matches the decoder's pattern only so that it
//! gets "should have timezone info").

pub const EARLIEST_EPOCH_S: i64 = 946_684_800; // 2000-01-01T00:00:00Z

pub const PATTERN_MESSAGE: &str = "Input should be an RFC 3339 timestamp such as 2026-03-14T09:00:00Z (see the contract)";
const MONTH_MESSAGE: &str = "Input should be a valid datetime or date, month value is outside expected range of 1-12";
const DAY_MESSAGE: &str = "Input should be a valid datetime or date, day value is outside expected range";
const TIME_MESSAGE: &str = "Input should be a valid datetime or date, unexpected extra characters at the end of the input";
const EARLIEST_MESSAGE: &str = "Input should be greater than or equal to 2000-01-01T00:00:00Z";
const NAIVE_MESSAGE: &str = "Input should have timezone info";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub year: u16,
    pub month: u8,
    pub day: u8,
    pub hour: u8,
    pub minute: u8,
    pub second: u8,
    pub microsecond: u32,
    /// Seconds east of UTC.
    pub offset_s: i32,
    /// The instant, in microseconds since the epoch.
    pub epoch_us: i64,
}

impl Timestamp {
    /// Python's `datetime.isoformat()` of the decoded value (as the model's reasons print it).
    pub fn isoformat(&self) -> String {
        let mut s = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        if self.microsecond != 0 {
            s.push_str(&format!(".{:06}", self.microsecond));
        }
        let sign = if self.offset_s < 0 { '-' } else { '+' };
        let off = self.offset_s.unsigned_abs();
        s.push_str(&format!("{sign}{:02}:{:02}", off / 3600, off % 3600 / 60));
        s
    }
}

fn two(b: &[u8], at: usize) -> u8 {
    (b[at] - b'0') * 10 + (b[at + 1] - b'0')
}

fn all_digits(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_digit)
}

pub fn is_leap(year: u16) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A timestamp string, or the model's reason for refusing it.
pub fn parse(s: &str) -> Result<Timestamp, &'static str> {
    let b = s.as_bytes();
    // The pattern: YYYY-MM-DD[Tt]hh:mm:ss(\.d{1,9})?([Zz]|[+-]hh:mm)?  (anchored)
    if b.len() < 19
        || !all_digits(&b[0..4])
        || b[4] != b'-'
        || !all_digits(&b[5..7])
        || b[7] != b'-'
        || !all_digits(&b[8..10])
        || !matches!(b[10], b'T' | b't')
        || !all_digits(&b[11..13])
        || b[13] != b':'
        || !all_digits(&b[14..16])
        || b[16] != b':'
        || !all_digits(&b[17..19])
    {
        return Err(PATTERN_MESSAGE);
    }
    let mut at = 19;
    let mut microsecond = 0u32;
    if b.get(at) == Some(&b'.') {
        let start = at + 1;
        let mut end = start;
        while end < b.len() && b[end].is_ascii_digit() {
            end += 1;
        }
        let n = end - start;
        if n == 0 || n > 9 {
            return Err(PATTERN_MESSAGE);
        }
        for i in 0..6 {
            let d = if i < n { u32::from(b[start + i] - b'0') } else { 0 };
            microsecond = microsecond * 10 + d;
        }
        at = end;
    }
    let offset = match &b[at..] {
        [] => None,
        [b'Z' | b'z'] => Some((0i32, 0u8, 0u8)),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] if all_digits(&[*h1, *h2, *m1, *m2]) => {
            let sign = if *sign == b'-' { -1 } else { 1 };
            Some((sign, (h1 - b'0') * 10 + (h2 - b'0'), (m1 - b'0') * 10 + (m2 - b'0')))
        }
        _ => return Err(PATTERN_MESSAGE),
    };
    let year = u16::from(two(b, 0)) * 100 + u16::from(two(b, 2));
    let (month, day) = (two(b, 5), two(b, 8));
    if !(1..=12).contains(&month) {
        return Err(MONTH_MESSAGE);
    }
    if day == 0 || day > days_in_month(year, month) {
        return Err(DAY_MESSAGE);
    }
    let (hour, minute, second) = (two(b, 11), two(b, 14), two(b, 17));
    if hour > 23 || minute > 59 || second > 59 {
        return Err(TIME_MESSAGE);
    }
    let offset_s = match offset {
        Some((_, h, m)) if h > 23 || m > 59 => return Err(TIME_MESSAGE),
        Some((sign, h, m)) => sign * (i32::from(h) * 3600 + i32::from(m) * 60),
        None => 0,
    };
    let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
    let local_s = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    let epoch_s = local_s - i64::from(offset_s);
    if epoch_s < EARLIEST_EPOCH_S {
        return Err(EARLIEST_MESSAGE);
    }
    if offset.is_none() {
        return Err(NAIVE_MESSAGE);
    }
    Ok(Timestamp {
        year,
        month,
        day,
        hour,
        minute,
        second,
        microsecond,
        offset_s,
        epoch_us: epoch_s * 1_000_000 + i64::from(microsecond),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_spellings_read_as_the_same_instant() {
        let utc = parse("2026-03-01T01:00:00Z").expect("valid");
        assert_eq!(utc.epoch_us, 1_772_326_800_000_000);
        for s in ["2026-03-01t01:00:00z", "2026-03-01T01:00:00+00:00", "2026-03-01T01:00:00-00:00", "2026-03-01T02:30:00+01:30"] {
            assert_eq!(parse(s).expect(s).epoch_us, utc.epoch_us, "{s}");
        }
    }

    #[test]
    fn fractions_are_cut_to_the_microsecond() {
        let t = parse("2026-03-01T01:00:00.1234569Z").expect("valid");
        assert_eq!(t.microsecond, 123_456);
        assert_eq!(parse("2026-03-01T01:00:00.5Z").expect("valid").microsecond, 500_000);
        assert_eq!(parse("2026-03-01T01:00:00.1234567890Z"), Err(PATTERN_MESSAGE));
    }

    #[test]
    fn each_step_gives_its_own_reason() {
        assert_eq!(parse("2026-03-01 01:00:00Z"), Err(PATTERN_MESSAGE));
        assert_eq!(parse("2026-03-01T01:00:00+0100"), Err(PATTERN_MESSAGE));
        assert_eq!(parse("2026-13-01T01:00:00Z"), Err(MONTH_MESSAGE));
        assert_eq!(parse("2026-02-29T01:00:00Z"), Err(DAY_MESSAGE));
        assert!(parse("2024-02-29T01:00:00Z").is_ok());
        assert_eq!(parse("2026-03-01T24:00:00Z"), Err(TIME_MESSAGE));
        assert_eq!(parse("2026-03-01T01:00:00+24:00"), Err(TIME_MESSAGE));
        assert_eq!(parse("2000-01-01T00:30:00+01:00"), Err(EARLIEST_MESSAGE));
        assert_eq!(parse("1999-01-01T00:00:00"), Err(EARLIEST_MESSAGE));
        assert_eq!(parse("2026-01-01T00:00:00"), Err(NAIVE_MESSAGE));
    }

    #[test]
    fn isoformat_is_pythons() {
        assert_eq!(parse("2026-03-01T01:00:00Z").expect("valid").isoformat(), "2026-03-01T01:00:00+00:00");
        assert_eq!(parse("2026-03-01T01:00:00.5-05:30").expect("valid").isoformat(), "2026-03-01T01:00:00.500000-05:30");
    }
}
