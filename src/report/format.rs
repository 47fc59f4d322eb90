//! Number formatting shared by the Markdown and HTML renderers.
//!
//! One place decides how a value looks, so both renderings print the same
//! text for the same number. Non-finite values print as "n/a".

use super::summary::MeanStd;

/// Text printed for a missing or non-finite value.
pub const NA: &str = "n/a";

/// A fraction as a percentage with one decimal: 0.9734 -> "97.3%".
pub fn pct(fraction: f64) -> String {
    if fraction.is_finite() {
        format!("{:.1}%", 100.0 * fraction)
    } else {
        NA.to_string()
    }
}

/// A number with `decimals` decimals, or "n/a".
pub fn num(value: f64, decimals: usize) -> String {
    if value.is_finite() {
        format!("{value:.decimals$}")
    } else {
        NA.to_string()
    }
}

/// A mean ± std of fractions in percent: "97.3 ± 0.4%". One value prints
/// without the ±; no value or a NaN mean prints "n/a".
pub fn pct_mean_std(m: &MeanStd) -> String {
    if m.n < 2 {
        return pct(m.mean);
    }
    pct_pm(m.mean, m.std)
}

/// A mean and std given separately (as stored in the ablation and
/// deep-versus-fat rows), in percent: "97.3 ± 0.4%", or just the mean when
/// the std is not finite, or "n/a".
pub fn pct_pm(mean: f64, std: f64) -> String {
    if !mean.is_finite() {
        NA.to_string()
    } else if !std.is_finite() {
        pct(mean)
    } else {
        format!("{:.1} ± {:.1}%", 100.0 * mean, 100.0 * std)
    }
}

/// A mean ± std with `decimals` decimals: "12.5 ± 0.3".
pub fn num_mean_std(m: &MeanStd, decimals: usize) -> String {
    if !m.mean.is_finite() {
        return NA.to_string();
    }
    if m.n < 2 || !m.std.is_finite() {
        return num(m.mean, decimals);
    }
    format!("{:.d$} ± {:.d$}", m.mean, m.std, d = decimals)
}

/// A signed difference of fractions in percentage points: "+1.2 pp".
pub fn delta_pp(delta: f64) -> String {
    if delta.is_finite() {
        format!("{:+.1} pp", 100.0 * delta)
    } else {
        NA.to_string()
    }
}

/// An integer with thin thousands separators: 1234567 -> "1 234 567".
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(ch);
    }
    out
}

/// A rate such as utterances per second, with precision that suits its size.
pub fn rate(value: f64) -> String {
    if !value.is_finite() {
        NA.to_string()
    } else if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_values_print_na() {
        assert_eq!(pct(f64::NAN), "n/a");
        assert_eq!(num(f64::INFINITY, 2), "n/a");
        assert_eq!(delta_pp(f64::NAN), "n/a");
        assert_eq!(rate(f64::NAN), "n/a");
        assert_eq!(pct_mean_std(&MeanStd::of(&[])), "n/a");
    }

    #[test]
    fn percentages_and_mean_std() {
        assert_eq!(pct(0.9734), "97.3%");
        assert_eq!(pct_mean_std(&MeanStd::of(&[0.9, 0.92])), "91.0 ± 1.4%");
        assert_eq!(pct_mean_std(&MeanStd::of(&[0.5])), "50.0%");
        assert_eq!(num_mean_std(&MeanStd::of(&[1.0, 3.0]), 1), "2.0 ± 1.4");
        assert_eq!(delta_pp(-0.012), "-1.2 pp");
        assert_eq!(pct_pm(0.9, 0.01), "90.0 ± 1.0%");
        assert_eq!(pct_pm(0.9, f64::NAN), "90.0%");
        assert_eq!(pct_pm(f64::NAN, 0.1), "n/a");
    }

    #[test]
    fn counts_group_thousands() {
        assert_eq!(count(7), "7");
        assert_eq!(count(1234), "1\u{202f}234");
        assert_eq!(count(1234567), "1\u{202f}234\u{202f}567");
    }
}
