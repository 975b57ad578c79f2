//! Follower counts as platform pages show them: "1.2K", "12.3K", "123K", "1.2M".
//!
//! A post scraped from a page carries its author's follower count rounded for display, while
//! profile snapshots from an API are exact. Taken at face value, a 1,249,000-follower
//! account shown as "1.2M" and then snapshotted exactly "gains" 49,000 followers in an hour.
//! So a count that could be a display rounding is read as the range it stands for:
//!
//! ```text
//!     shown 1,200,000  ->  unit 100,000  ->  true count in [1,100,000, 1,300,000]
//! ```
//!
//! one unit either side, which covers both truncation ("1.29M" shown "1.2M") and rounding to
//! nearest. Pages show one decimal of K or M (1.2K, 12.3K, 123K, 1.2M, 12.3M), from 1,000 on
//! (Instagram from 10,000). The spike test takes the least growth the two ends' ranges
//! allow, and the account's baseline growth rates skip such counts. Counts are stored as
//! they came, so the windows do not depend on the order observations arrive in. An exact
//! count that happens to look rounded (one in a hundred five-digit counts) costs at most its
//! unit of sensitivity, 1% at that size.

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
