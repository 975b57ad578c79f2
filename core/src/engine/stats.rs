//! Small numeric helpers, and Python's float arithmetic where it differs from the obvious
//! Rust (the engine was ported from Python and gives its results bit for bit).

/// Median of a non-empty slice (sorts a copy), as `statistics`-free Python computes it.
pub fn median(values: &[f64]) -> f64 {
    let mut ordered = values.to_vec();
    median_in_place(&mut ordered)
}

/// Median that sorts `values` in place.
pub fn median_in_place(values: &mut [f64]) -> f64 {
    // Elements equal under total_cmp are the same bits, so an unstable sort gives the
    // same slice as a stable one.
    values.sort_unstable_by(f64::total_cmp);
    median_of_sorted(values)
}

/// Median of a non-empty slice sorted by `f64::total_cmp`.
pub fn median_of_sorted(values: &[f64]) -> f64 {
    let n = values.len();
    let mid = n / 2;
    if n % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// `median(|v - mid| for v in values)` of finite `values` sorted by `f64::total_cmp`,
/// without sorting the deviations: those of the values below `mid` grow leftwards and
/// those of the others rightwards, so the two runs are merged up to the middle.
pub fn median_deviation_of_sorted(values: &[f64], mid: f64) -> f64 {
    let n = values.len();
    let split = values.partition_point(|&v| v < mid);
    let (mut left, mut right) = (split, split); // next: values[left - 1], values[right]
    let mut nth = |count: usize| {
        let mut last = 0.0;
        for _ in 0..count {
            let below = (left > 0).then(|| (values[left - 1] - mid).abs());
            let above = (right < n).then(|| (values[right] - mid).abs());
            last = match (below, above) {
                (Some(b), Some(a)) if b.total_cmp(&a).is_le() => {
                    left -= 1;
                    b
                }
                (_, Some(a)) => {
                    right += 1;
                    a
                }
                (Some(b), None) => {
                    left -= 1;
                    b
                }
                (None, None) => last,
            };
        }
        last
    };
    if n % 2 == 1 {
        nth(n / 2 + 1)
    } else {
        let lower = nth(n / 2);
        let upper = nth(1);
        (lower + upper) / 2.0
    }
}

/// Python's `max(a, b)` of floats: `a` unless `b > a` (signed zeros and NaN as Python).
pub fn py_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// Python's `min(a, b)` of floats: `a` unless `b < a`.
pub fn py_min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

/// Python 3.11's `sum()` of floats: from the left, starting at 0 (Rust's `Sum` for f64
/// starts at -0.0). Python 3.12 compensates the rounding and would differ in the last bits.
pub fn py_sum(values: impl Iterator<Item = f64>) -> f64 {
    values.fold(0.0, |total, x| total + x)
}

pub fn clamp01(value: f64) -> f64 {
    value.clamp(0.0, 1.0)
}

/// Python's `a // b` for floats (CPython's float_floor_div), which is not always
/// `(a / b).floor()`: just below a multiple of `b` the quotient rounds up.
pub fn py_floordiv(a: f64, b: f64) -> f64 {
    let mut modulo = a % b;
    let mut div = (a - modulo) / b;
    if modulo != 0.0 {
        if (b < 0.0) != (modulo < 0.0) {
            modulo += b;
            div -= 1.0;
        }
    } else {
        modulo = 0.0_f64.copysign(b);
    }
    let _ = modulo;
    if div != 0.0 {
        let mut floordiv = div.floor();
        if div - floordiv > 0.5 {
            floordiv += 1.0;
        }
        floordiv
    } else {
        0.0_f64.copysign(a / b)
    }
}

/// Python's `int(a // b)` for a float and a positive width: a bucket index.
pub fn bucket_index(ts: f64, width: f64) -> i64 {
    // Whole seconds and a whole width below 2^53 are exact, and so is CPython's
    // fmod-based floor division of them: the integer floor division is the same number.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if ts.fract() == 0.0 && ts.abs() < EXACT && width.fract() == 0.0 && (1.0..EXACT).contains(&width) {
        return (ts as i64).div_euclid(width as i64);
    }
    py_floordiv(ts, width) as i64
}

/// Python's `round(x, digits)` for floats: correctly rounded, ties to even on the exact
/// decimal value (CPython formats with the shortest-exact algorithm and reads it back).
pub fn py_round(x: f64, digits: i32) -> f64 {
    if !x.is_finite() {
        return x;
    }
    // Format with enough digits to decide, as CPython's double_round does with
    // _Py_dg_dtoa mode 3: Rust's `{:.N}` formatting is exact and rounds half to even.
    let text = format!("{:.*}", digits.max(0) as usize, x);
    text.parse::<f64>().unwrap_or(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floordiv_matches_python_below_a_multiple() {
        // Python: 1 // 0.1 == 9.0, while 1 / 0.1 rounds to 10.0.
        assert_eq!(py_floordiv(1.0, 0.1), 9.0);
        assert_eq!(py_floordiv(10799.999999999998, 3600.0), 2.0);
        assert_eq!(py_floordiv(7200.0, 3600.0), 2.0);
        assert_eq!(py_floordiv(1_700_000_000.5, 3600.0), 472_222.0);
    }

    #[test]
    fn bucket_index_of_whole_seconds_is_the_float_floor_division() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..200_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let ts = ((x >> 11) % 4_000_000_000) as f64 - 1_000_000_000.0;
            for width in [3600.0, 86400.0, 7.0] {
                assert_eq!(bucket_index(ts, width), py_floordiv(ts, width) as i64, "{ts} // {width}");
            }
        }
        for ts in [0.0, -0.0, -1.0, 3599.0, 3600.0, -3600.0, -3601.0, 9_007_199_254_740_991.0] {
            assert_eq!(bucket_index(ts, 3600.0), py_floordiv(ts, 3600.0) as i64, "{ts}");
        }
    }

    #[test]
    fn median_deviation_of_sorted_values_is_the_median_of_the_sorted_deviations() {
        let mut x: u64 = 12345;
        for n in 1..120 {
            for _ in 0..20 {
                let mut values: Vec<f64> = (0..n)
                    .map(|_| {
                        x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                        ((x >> 40) % 41) as f64 * 0.37 - 5.0
                    })
                    .collect();
                values.sort_by(f64::total_cmp);
                let mid = median_of_sorted(&values);
                let deviations: Vec<f64> = values.iter().map(|v| (v - mid).abs()).collect();
                assert_eq!(median_deviation_of_sorted(&values, mid).to_bits(), median(&deviations).to_bits());
            }
        }
    }

    #[test]
    fn median_of_even_and_odd_lengths() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn round_is_half_even_on_the_exact_value() {
        assert_eq!(py_round(2.675, 2), 2.67); // 2.675 is 2.67499999... in binary
        assert_eq!(py_round(0.125, 2), 0.12);
        assert_eq!(py_round(0.375, 2), 0.38);
        assert_eq!(py_round(1.23456, 3), 1.235);
    }
}
