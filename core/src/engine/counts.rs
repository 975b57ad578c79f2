//! Follower counts as platform pages show them (streams/core/counts.py).

pub const SHOWN_FROM_OTHERS: i64 = 1_000;

pub fn shown_from(platform: &str) -> i64 {
    if platform == "instagram" {
        10_000
    } else {
        SHOWN_FROM_OTHERS
    }
}

/// The rounding unit of `value` if it could be a count shown rounded for display, else 0.
pub fn display_unit(value: i64, abbreviated_from: i64) -> i64 {
    if value < abbreviated_from || value % 100 != 0 {
        return 0;
    }
    let digits = value.to_string().len();
    let unit = match digits {
        4 | 5 => 100,
        6 => 1_000,
        7 | 8 => 100_000,
        9 => 1_000_000,
        10 => 100_000_000,
        _ => 0,
    };
    if unit != 0 && value % unit == 0 {
        unit
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounded_counts_have_their_unit() {
        assert_eq!(display_unit(1_200_000, 1_000), 100_000);
        assert_eq!(display_unit(12_300, 1_000), 100);
        assert_eq!(display_unit(123_000, 1_000), 1_000);
        assert_eq!(display_unit(12_345, 1_000), 0);
        assert_eq!(display_unit(9_800, 10_000), 0);
        assert_eq!(display_unit(-100, 1_000), 0);
    }

    #[test]
    fn counts_shown_with_one_decimal_of_k_or_m_have_a_display_unit() {
        let others = SHOWN_FROM_OTHERS;
        assert_eq!(display_unit(12_300, others), 100);
        assert_eq!(display_unit(12_000, others), 100);
        assert_eq!(display_unit(123_000, others), 1_000);
        assert_eq!(display_unit(1_200_000, others), 100_000);
        assert_eq!(display_unit(12_300_000, others), 100_000);
        assert_eq!(display_unit(1_230_000, others), 0);
        assert_eq!(display_unit(12_345, others), 0);
        assert_eq!(display_unit(1_200, others), 100);
        assert_eq!(display_unit(1_230, others), 0);
    }

    #[test]
    fn instagram_shows_every_digit_below_ten_thousand() {
        assert_eq!(display_unit(9_000, shown_from("instagram")), 0);
        assert_eq!(display_unit(9_000, shown_from("tiktok")), 100);
        assert_eq!(display_unit(12_000, shown_from("instagram")), 100);
    }
}
