//! The evidence of an alert in words: what classify.rs found, as numbers, written out.
//!
//! A verdict keeps its reasons as the numbers they are made of ([`Reason`]); the sentences
//! are written only for a verdict that is published (spikes.rs `open_episode`), not for
//! the many held verdicts that are judged again at the next observation.
//!
//! The texts are Python's f-strings, byte for byte: the helpers at the end of the module
//! write `{:,}`, `{:,.Nf}`, `{:+.Nf}`, `{:.N%}` and `{:g}` as Python does.

use super::explain::{AudienceResponse, AudienceVerdict, ConversionSource, Explanation, Usual};
use super::maturity::NewcomerResponse;
use super::output::Evidence;
use super::spikes::{Exceedance, Window};
use super::stats::py_round;

/// One reason behind a verdict, as the values its evidence is written from.
#[derive(Clone, Debug, PartialEq)]
pub enum Reason {
    /// The growth against the account's baseline, over `hours` from the reference.
    ExcessGrowth { found: Exceedance, growth: i64, hours: f64 },
    /// The excess in robust standard deviations (`sigma`) of the hourly growth.
    RobustZ { z: f64, sigma: f64 },
    /// The strongest post near the window against the account's usual (`typical`).
    StrongestPost { ratio: f64, interactions: i64, lifetime: f64, typical: f64 },
    NoPostNear,
    ObservedGrowth { found: Exceedance, growth: i64 },
    ExplainedGrowth { explanation: Explanation, usual: Usual, tolerance: f64 },
    UnexplainedGrowth { explanation: Explanation, threshold: f64 },
    FollowersPerInteraction { explanation: Explanation },
    CommentRatio { ratio: f64, comments: i64 },
    /// `hours_before`: from the mention to the window's start.
    MentionedBy { account: String, followers: i64, hours_before: f64 },
    /// A step within `hours`, ending `hours_ago`, beyond what arrivals allow.
    StepBeyondArrivals { jump: f64, hours: f64, hours_ago: f64, threshold: f64 },
    RoundNumberJump { step: i64, off: f64, rounded: i64 },
    SpikeThenDecay { decay: f64, peak: i64 },
    EngagementRateChange { change: f64 },
    EngagementFollowsFollowers(AudienceResponse),
    NewcomersEngage(NewcomerResponse),
}

impl Reason {
    /// The reason as the alert publishes it: a name, a number and a sentence.
    pub fn evidence(&self) -> Evidence {
        match self {
            Reason::ExcessGrowth { found, growth, hours } => Evidence::new(
                "excess_growth",
                py_round(found.excess, 1),
                format!(
                    "followers grew by {} ({}) in {} h where the account's baseline of {}/h predicts {}; threshold {} ({} window)",
                    int_grouped(*growth),
                    percent(*growth as f64 / found.ref_followers.max(1) as f64, 1),
                    fixed(*hours, 1),
                    fixed(found.baseline.median_per_hour, 1),
                    fixed_grouped(found.expected, 0),
                    fixed_grouped(found.threshold, 0),
                    window_name(found.window),
                ),
            ),
            Reason::RobustZ { z, sigma } => Evidence::new(
                "robust_z",
                py_round(*z, 1),
                format!(
                    "the excess is {} robust standard deviations of the account's hourly growth ({}/h)",
                    fixed(*z, 1),
                    fixed(*sigma, 1)
                ),
            ),
            Reason::StrongestPost { ratio, interactions, lifetime, typical } => Evidence::new(
                "max_post_engagement_ratio",
                py_round(*ratio, 2),
                format!(
                    "the strongest post near the window has {} interactions (about {} over its lifetime), {}x the \
                     account's median of {}",
                    int_grouped(*interactions),
                    fixed_grouped(*lifetime, 0),
                    fixed(*ratio, 1),
                    fixed_grouped(*typical, 0),
                ),
            ),
            Reason::NoPostNear => Evidence::new(
                "max_post_engagement_ratio",
                0.0,
                "no post near the window to explain the growth".to_owned(),
            ),
            Reason::ObservedGrowth { found, growth } => Evidence::new(
                "observed_growth",
                *growth as f64,
                format!(
                    "followers grew by {}, {} above the {} the account's baseline predicts",
                    int_grouped(*growth),
                    fixed_grouped(found.excess, 0),
                    fixed_grouped(found.expected, 0),
                ),
            ),
            Reason::ExplainedGrowth { explanation, usual, tolerance } => Evidence::new(
                "explained_growth",
                py_round(explanation.explained, 1),
                format!(
                    "posts near the window drew {} interactions beyond the account's usual {} per post, which \
                     explain {} new followers (credited up to {}x: {})",
                    fixed_grouped(explanation.extra_interactions, 0),
                    fixed_grouped(usual.median, 0),
                    fixed_grouped(explanation.explained, 0),
                    general(*tolerance),
                    fixed_grouped(explanation.credited, 0),
                ),
            ),
            Reason::UnexplainedGrowth { explanation, threshold } => Evidence::new(
                "unexplained_growth",
                py_round(explanation.unexplained, 1),
                format!(
                    "{} followers above the baseline are not explained by engagement (a spike from {})",
                    fixed_grouped(explanation.unexplained, 0),
                    fixed_grouped(*threshold, 0),
                ),
            ),
            Reason::FollowersPerInteraction { explanation } => followers_per_interaction(explanation),
            Reason::CommentRatio { ratio, comments } => Evidence::new(
                "max_post_comment_ratio",
                py_round(*ratio, 2),
                format!(
                    "a post near the window has {} comments, {}x the usual (giveaways and shout-outs draw comments)",
                    int_grouped(*comments),
                    fixed(*ratio, 1)
                ),
            ),
            Reason::MentionedBy { account, followers, hours_before } => Evidence::new(
                "mentioned_by_followers",
                *followers as f64,
                format!(
                    "{} ({} followers) mentioned the account {} h before the window",
                    account,
                    int_grouped(*followers),
                    signed_fixed(*hours_before, 1),
                ),
            ),
            Reason::StepBeyondArrivals { jump, hours, hours_ago, threshold } => Evidence::new(
                "step_beyond_arrivals",
                py_round(*jump, 1),
                format!(
                    "{} followers arrived within {} h ({} h ago) beyond what the growth around it allows people \
                     finding the posts (a spike from {}): a step, not a surge",
                    fixed_grouped(*jump, 0),
                    fixed(*hours, 1),
                    fixed(*hours_ago, 1),
                    fixed_grouped(*threshold, 0),
                ),
            ),
            Reason::RoundNumberJump { step, off, rounded } => Evidence::new(
                "round_number_jump",
                *rounded as f64,
                format!(
                    "a single jump of {} followers is within {} of {}",
                    int_grouped(*step),
                    fixed_grouped(*off, 0),
                    int_grouped(*rounded)
                ),
            ),
            Reason::SpikeThenDecay { decay, peak } => Evidence::new(
                "spike_then_decay",
                py_round(*decay, 3),
                format!(
                    "{} of the gained followers were lost again after the peak of {}",
                    percent(*decay, 0),
                    int_grouped(*peak)
                ),
            ),
            Reason::EngagementRateChange { change } => Evidence::new(
                "engagement_rate_change",
                py_round(*change, 3),
                format!(
                    "engagement rate after the jump is {}x the rate before: the new followers do not engage",
                    fixed(*change, 2)
                ),
            ),
            Reason::EngagementFollowsFollowers(audience) => audience_evidence(audience),
            Reason::NewcomersEngage(newcomers) => newcomer_evidence(newcomers),
        }
    }
}

fn followers_per_interaction(explanation: &Explanation) -> Evidence {
    let conversion = &explanation.conversion;
    let source = match conversion.source {
        ConversionSource::Account => {
            format!("learned from {} earlier good post(s) of the account", conversion.learned_from)
        }
        ConversionSource::Tier => format!("the {} tier's prior", conversion.tier.as_str()),
    };
    Evidence::new(
        "followers_per_interaction",
        py_round(explanation.followers_per_interaction, 4),
        format!(
            "{} new followers per extra interaction ({} of the audience per median post of extra \
             engagement), {}",
            fixed(explanation.followers_per_interaction, 3),
            percent(conversion.elasticity, 2),
            source,
        ),
    )
}

fn audience_evidence(audience: &AudienceResponse) -> Evidence {
    let how = match audience.verdict {
        Some(AudienceVerdict::Followed) => "engagement grew with the new followers: they are people",
        Some(AudienceVerdict::NotFollowed) => "engagement stayed where it was: the new followers do not engage",
        None => "too few posts since to tell",
    };
    Evidence::new(
        "engagement_follows_followers",
        py_round(audience.slope, 3),
        format!(
            "{} post(s) since the growth began, each against the account's earlier posts at its age: interactions \
             moved {}x as far as followers did (log scale, +/- {}); {}",
            audience.posts,
            fixed(audience.slope, 2),
            fixed(audience.standard_error, 2),
            how
        ),
    )
}

fn newcomer_evidence(newcomers: &NewcomerResponse) -> Evidence {
    let how = match newcomers.verdict {
        Some(AudienceVerdict::Followed) => "posts already published gained with the new followers: they are people",
        Some(AudienceVerdict::NotFollowed) => {
            "posts already published grew only as posts of their age do: no sign of the new followers there \
             (people need not go back to older posts)"
        }
        None => "too little to tell yet",
    };
    Evidence::new(
        "newcomers_engage_with_earlier_posts",
        py_round(newcomers.slope, 3),
        format!(
            "{} post(s) seen before and after new followers arrived (up to {} of the audience between two looks) \
             gained {} (log) beyond the account's maturity curve from {} earlier pairs of looks: {} +/- {} of the \
             engagement of the posts' own audience per newcomer; {}",
            newcomers.pairs,
            percent(newcomers.newcomers, 1),
            signed_fixed(newcomers.lift, 3),
            newcomers.controls,
            fixed(newcomers.slope, 2),
            fixed(newcomers.standard_error, 2),
            how
        ),
    )
}

fn window_name(window: Window) -> &'static str {
    match window {
        Window::Short => "short",
        Window::Long => "long",
    }
}

// --- Python's format specs ---------------------------------------------------------------

/// Python's text of a non-finite float ("inf", "-inf", "nan"), with `+` when asked.
fn non_finite(x: f64, plus: bool) -> String {
    let text = if x.is_nan() {
        "nan"
    } else if x > 0.0 {
        "inf"
    } else {
        "-inf"
    };
    if plus && !text.starts_with('-') {
        format!("+{text}")
    } else {
        text.to_owned()
    }
}

/// `{x:.Nf}`: Rust's fixed formatting is exact and rounds half to even, as Python's.
fn fixed(x: f64, precision: usize) -> String {
    if !x.is_finite() {
        return non_finite(x, false);
    }
    format!("{x:.precision$}")
}

/// `{x:+.Nf}`.
fn signed_fixed(x: f64, precision: usize) -> String {
    if !x.is_finite() {
        return non_finite(x, true);
    }
    format!("{x:+.precision$}")
}

/// `{x:,.Nf}`: fixed, with a comma between thousands of the integer part.
fn fixed_grouped(x: f64, precision: usize) -> String {
    if !x.is_finite() {
        return non_finite(x, false);
    }
    group_thousands(&format!("{x:.precision$}"))
}

/// `{n:,}` of an int.
fn int_grouped(n: i64) -> String {
    group_thousands(&n.to_string())
}

/// `{x:.N%}`: Python multiplies by 100, then formats fixed and appends `%`.
fn percent(x: f64, precision: usize) -> String {
    format!("{}%", fixed(x * 100.0, precision))
}

/// `{x:g}`: six significant digits, fixed from 1e-4 up to 1e6, else exponent; no
/// trailing zeros.
fn general(x: f64) -> String {
    const PRECISION: i32 = 6;
    if !x.is_finite() {
        return non_finite(x, false);
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0".to_owned() } else { "0".to_owned() };
    }
    // The exponent after rounding to PRECISION significant digits decides the notation.
    let scientific = format!("{:.*e}", (PRECISION - 1) as usize, x);
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if (-4..PRECISION).contains(&exponent) {
        let digits = (PRECISION - 1 - exponent) as usize;
        strip_fraction_zeros(&format!("{x:.digits$}"))
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{}{:02}", strip_fraction_zeros(mantissa), sign, exponent.abs())
    }
}

fn strip_fraction_zeros(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text.to_owned()
    }
}

/// Commas between groups of three digits of the integer part of a formatted number.
fn group_thousands(text: &str) -> String {
    let (sign, unsigned) = match text.strip_prefix(['-', '+']) {
        Some(rest) => (&text[..1], rest),
        None => ("", text),
    };
    let (integer, fraction) = match unsigned.find('.') {
        Some(dot) => unsigned.split_at(dot),
        None => (unsigned, ""),
    };
    let mut grouped = String::with_capacity(text.len() + integer.len() / 3);
    grouped.push_str(sign);
    for (i, digit) in integer.chars().enumerate() {
        if i > 0 && (integer.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped.push_str(fraction);
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    // Python's format() of each value, printed by CPython 3.11.
    const VALUES: [f64; 24] = [
        0.0, -0.0, 0.5, 1.5, 2.5, -0.5, -0.4, 999.95, 999.5, 1e6, -1234567.891, 0.125, 0.375, 1e20, 1234.5, 12345.65,
        -999.95, f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 0.05, 0.005, 0.9995, 1e-5,
    ];

    fn formatted(format: fn(f64) -> String) -> Vec<String> {
        VALUES.iter().map(|&x| format(x)).collect()
    }

    #[test]
    fn fixed_formats_round_as_python_does() {
        assert_eq!(
            formatted(|x| fixed(x, 1)),
            ["0.0", "-0.0", "0.5", "1.5", "2.5", "-0.5", "-0.4", "1000.0", "999.5", "1000000.0", "-1234567.9", "0.1",
             "0.4", "100000000000000000000.0", "1234.5", "12345.6", "-1000.0", "inf", "-inf", "nan", "0.1", "0.0",
             "1.0", "0.0"]
        );
        assert_eq!(
            formatted(|x| signed_fixed(x, 1)),
            ["+0.0", "-0.0", "+0.5", "+1.5", "+2.5", "-0.5", "-0.4", "+1000.0", "+999.5", "+1000000.0", "-1234567.9",
             "+0.1", "+0.4", "+100000000000000000000.0", "+1234.5", "+12345.6", "-1000.0", "+inf", "-inf", "+nan",
             "+0.1", "+0.0", "+1.0", "+0.0"]
        );
        assert_eq!(
            formatted(|x| signed_fixed(x, 3)),
            ["+0.000", "-0.000", "+0.500", "+1.500", "+2.500", "-0.500", "-0.400", "+999.950", "+999.500",
             "+1000000.000", "-1234567.891", "+0.125", "+0.375", "+100000000000000000000.000", "+1234.500",
             "+12345.650", "-999.950", "+inf", "-inf", "+nan", "+0.050", "+0.005", "+1.000", "+0.000"]
        );
    }

    #[test]
    fn thousands_are_separated_as_python_does() {
        assert_eq!(
            formatted(|x| fixed_grouped(x, 0)),
            ["0", "-0", "0", "2", "2", "-0", "-0", "1,000", "1,000", "1,000,000", "-1,234,568", "0", "0",
             "100,000,000,000,000,000,000", "1,234", "12,346", "-1,000", "inf", "-inf", "nan", "0", "0", "1", "0"]
        );
        assert_eq!(
            formatted(|x| fixed_grouped(x, 1)),
            ["0.0", "-0.0", "0.5", "1.5", "2.5", "-0.5", "-0.4", "1,000.0", "999.5", "1,000,000.0", "-1,234,567.9",
             "0.1", "0.4", "100,000,000,000,000,000,000.0", "1,234.5", "12,345.6", "-1,000.0", "inf", "-inf", "nan",
             "0.1", "0.0", "1.0", "0.0"]
        );
        let ints = [0, 7, -7, 999, 1000, -1000, 1_234_567, -1_234_567, 1_000_000_000_000_000];
        assert_eq!(
            ints.map(int_grouped),
            ["0", "7", "-7", "999", "1,000", "-1,000", "1,234,567", "-1,234,567", "1,000,000,000,000,000"]
        );
    }

    #[test]
    fn percents_multiply_by_a_hundred_first() {
        assert_eq!(
            formatted(|x| percent(x, 0)),
            ["0%", "-0%", "50%", "150%", "250%", "-50%", "-40%", "99995%", "99950%", "100000000%", "-123456789%",
             "12%", "38%", "10000000000000000000000%", "123450%", "1234565%", "-99995%", "inf%", "-inf%", "nan%",
             "5%", "0%", "100%", "0%"]
        );
        assert_eq!(
            formatted(|x| percent(x, 1)),
            ["0.0%", "-0.0%", "50.0%", "150.0%", "250.0%", "-50.0%", "-40.0%", "99995.0%", "99950.0%",
             "100000000.0%", "-123456789.1%", "12.5%", "37.5%", "10000000000000000000000.0%", "123450.0%",
             "1234565.0%", "-99995.0%", "inf%", "-inf%", "nan%", "5.0%", "0.5%", "100.0%", "0.0%"]
        );
        assert_eq!(
            formatted(|x| percent(x, 2)),
            ["0.00%", "-0.00%", "50.00%", "150.00%", "250.00%", "-50.00%", "-40.00%", "99995.00%", "99950.00%",
             "100000000.00%", "-123456789.10%", "12.50%", "37.50%", "10000000000000000000000.00%", "123450.00%",
             "1234565.00%", "-99995.00%", "inf%", "-inf%", "nan%", "5.00%", "0.50%", "99.95%", "0.00%"]
        );
    }

    #[test]
    fn general_format_keeps_six_significant_digits() {
        assert_eq!(
            formatted(general),
            ["0", "-0", "0.5", "1.5", "2.5", "-0.5", "-0.4", "999.95", "999.5", "1e+06", "-1.23457e+06", "0.125",
             "0.375", "1e+20", "1234.5", "12345.6", "-999.95", "inf", "-inf", "nan", "0.05", "0.005", "0.9995",
             "1e-05"]
        );
        let more = [3.0, 2.5, 123456.0, 1234567.0, 0.0001, 0.00001234, 1e16, 100000.0, 999999.5, 0.1 + 0.2];
        assert_eq!(
            more.map(general),
            ["3", "2.5", "123456", "1.23457e+06", "0.0001", "1.234e-05", "1e+16", "100000", "1e+06", "0.3"]
        );
    }

}
