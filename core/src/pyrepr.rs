//! Python's `repr()` of a parsed JSON value, for the one reason that quotes a value:
//! `unknown kind 'reel' (expected one of: post, snapshot)`.
//!
//! Strings are escaped the way `str.__repr__` does, with the printable table generated
//! from Python's Unicode database (core/gen_printable.py).

use std::cmp::Ordering;

use crate::json::Value;
use crate::printable::PRINTABLE;

pub fn repr(value: &Value) -> String {
    let mut out = String::new();
    write(value, &mut out);
    out
}

fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("None"),
        Value::Bool(true) => out.push_str("True"),
        Value::Bool(false) => out.push_str("False"),
        Value::Int(i) => out.push_str(&i.to_string()),
        Value::UInt(u) => out.push_str(&u.to_string()),
        Value::BigInt(f) | Value::Float(f) => out.push_str(&float_repr(*f)),
        Value::Str(s) => str_repr(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write(item, out);
            }
            out.push(']');
        }
        Value::Object(members) => {
            // A dict: a repeated key keeps its first place and takes its last value.
            let mut keys: Vec<&str> = Vec::new();
            let mut values: Vec<&Value> = Vec::new();
            for (k, v) in members {
                match keys.iter().position(|existing| existing == k) {
                    Some(i) => values[i] = v,
                    None => {
                        keys.push(k);
                        values.push(v);
                    }
                }
            }
            out.push('{');
            for (i, (k, v)) in keys.iter().zip(values).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                str_repr(k, out);
                out.push_str(": ");
                write(v, out);
            }
            out.push('}');
        }
    }
}

/// `repr(float)`: the shortest digits that round-trip, fixed notation for exponents -4..16.
pub fn float_repr(f: f64) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0".into() } else { "0.0".into() };
    }
    // Of two shortest digit strings that both read back as `f`, Rust's shortest formatting
    // may take the upper where Python's repr takes the correctly rounded one (ties to even):
    // the exact value rounded to the shortest length, which Rust's fixed precision gives,
    // whenever that reads back as `f` (below a power of two it may not).
    let shortest = format!("{f:e}"); // e.g. "-1.5e-5", "1e16"
    let length = shortest.split('e').next().unwrap_or("").chars().filter(char::is_ascii_digit).count().max(1);
    let rounded = format!("{:.*e}", length - 1, f);
    let sci = if rounded.parse::<f64>() == Ok(f) { rounded } else { shortest };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let body = if point <= 0 {
            format!("0.{}{}", "0".repeat(point.unsigned_abs() as usize), digits)
        } else if (point as usize) >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        return format!("{sign}{body}");
    }
    let mantissa = if digits.len() > 1 { format!("{}.{}", &digits[..1], &digits[1..]) } else { digits };
    let esign = if exp < 0 { '-' } else { '+' };
    format!("{sign}{mantissa}e{esign}{:02}", exp.unsigned_abs())
}

fn is_printable(c: char) -> bool {
    let u = c as u32;
    PRINTABLE
        .binary_search_by(|&(lo, hi)| if hi < u { Ordering::Less } else if lo > u { Ordering::Greater } else { Ordering::Equal })
        .is_ok()
}

pub fn str_repr(s: &str, out: &mut String) {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_does() {
        for (f, s) in [(1e16, "1e+16"), (1.5, "1.5"), (100.0, "100.0"), (1e-5, "1e-05"), (0.0001, "0.0001"), (-2.5e-7, "-2.5e-07"),
                       (1.8446744073709552e19, "1.8446744073709552e+19"), (123456789012345.6, "123456789012345.6"), (-0.0, "-0.0"),
                       (2f64.powi(46) + 0.625, "70368744177664.62"), (2f64.powi(-24), "5.960464477539063e-08"),
                       (0.125, "0.125"), (2.5, "2.5")] {
            assert_eq!(float_repr(f), s);
        }
    }

    #[test]
    fn values_print_as_python_does() {
        let v = Value::Array(vec![Value::Int(1), Value::Str("x".into()), Value::Null, Value::Bool(true)]);
        assert_eq!(repr(&v), "[1, 'x', None, True]");
        let mut s = String::new();
        str_repr("café\n\u{1}'", &mut s);
        assert_eq!(s, "\"café\\n\\x01'\"");
        let obj = Value::Object(vec![("a".into(), Value::Int(1)), ("b".into(), Value::Int(2)), ("a".into(), Value::Int(3))]);
        assert_eq!(repr(&obj), "{'a': 3, 'b': 2}");
    }
}
