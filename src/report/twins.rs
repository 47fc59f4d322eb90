//! The twin section: each learned configuration against its hand-crafted
//! twin, as a sentence per row generated from its numbers and a forest
//! plot of the paired differences with their 95 % intervals.
//!
//! The sentences are the report's finding for each stage, so they say
//! "within noise" whenever the interval holds 0, whatever the sign of the
//! point estimate: a difference the test set cannot show is not a finding.

use super::format::pct;
use super::model::TwinRow;
use super::scale::{nice_ticks, tick_label, Scale};
use super::svg::{text_width, truncate, Anchor, Rect, Svg};

/// Colour of a row whose interval lies above 0 (learning helped).
const BETTER: &str = "#1a7f37";
/// Colour of a row whose interval lies below 0 (learning cost accuracy).
const WORSE: &str = "#cf222e";
/// Colour of a row within noise.
const NOISE: &str = "#57606a";

/// What a row shows, in three words: "within noise", "learned better" or
/// "learned worse".
pub fn verdict(t: &TwinRow) -> &'static str {
    if t.within_noise() {
        "within noise"
    } else if t.difference > 0.0 {
        "learned better"
    } else {
        "learned worse"
    }
}

fn colour(t: &TwinRow) -> &'static str {
    match verdict(t) {
        "learned better" => BETTER,
        "learned worse" => WORSE,
        _ => NOISE,
    }
}

/// Points with sign and two decimals, e.g. `+0.40`.
fn pp(fraction: f64) -> String {
    format!("{:+.2}", 100.0 * fraction)
}

/// What the row's configuration learns, for a sentence: "the mel stage
/// (matrix, classic init)" or "the spectrum, mel, compression and DCT
/// stages".
fn what(t: &TwinRow) -> String {
    match t.stages.as_slice() {
        [] => format!("the stages of `{}`", t.learned),
        [one] => format!("the {one} stage"),
        many => {
            let names: Vec<&str> = many
                .iter()
                .map(|s| s.split(" (").next().unwrap_or(s))
                .collect();
            let (last, rest) = names.split_last().expect("at least two");
            format!("the {} and {last} stages", rest.join(", "))
        }
    }
}

/// The finding of one row in one sentence, from its numbers.
pub fn finding(t: &TwinRow) -> String {
    let numbers = format!(
        "{} points [{}, {}] ({} against {} over {} paired decisions)",
        pp(t.difference),
        pp(t.ci_low),
        pp(t.ci_high),
        pct(t.learned_accuracy),
        pct(t.twin_accuracy),
        t.pairs
    );
    let head = format!("Learning {} (`{}` against `{}`)", what(t), t.learned, t.twin);
    match verdict(t) {
        "within noise" => format!(
            "{head}: {numbers}, within noise: here the learned stage neither helps nor hurts."
        ),
        "learned better" => format!("{head}: {numbers}: learning the stage helps here."),
        _ => format!("{head}: {numbers}: the hand-crafted stage is better here."),
    }
}

/// One sentence over all rows: how many are within noise, better, worse.
pub fn overall(rows: &[TwinRow]) -> String {
    let count = |v: &str| rows.iter().filter(|t| verdict(t) == v).count();
    let (noise, better, worse) = (
        count("within noise"),
        count("learned better"),
        count("learned worse"),
    );
    let mut s = format!(
        "Of {} learned configuration{} paired with a hand-crafted twin, {noise} {} within noise, \
         {better} better and {worse} worse beyond the 95 % paired interval.",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        if noise == 1 { "is" } else { "are" },
    );
    if worse == 0 && better == 0 && !rows.is_empty() {
        s.push_str(
            " On this data, learning a stage that starts as the hand-crafted one ends about \
             where the hand-crafted one is.",
        );
    }
    s
}

/// The rows' paired differences as a forest plot: one line per row, its
/// 95 % interval as a bar, the point estimate as a dot, 0 as a rule.
pub fn forest(rows: &[TwinRow]) -> String {
    let label_w = rows
        .iter()
        .map(|t| text_width(&truncate(&t.learned, 28), 12.0))
        .fold(80.0_f64, f64::max)
        + 16.0;
    let (plot_w, row_h, top, bottom) = (420.0, 26.0, 28.0, 44.0);
    let width = label_w + plot_w + 24.0;
    let height = top + row_h * rows.len() as f64 + bottom;
    let mut svg = Svg::new(
        width,
        height,
        "Accuracy difference, learned minus twin, with 95 % paired intervals",
    );
    let finite = |v: f64| if v.is_finite() { Some(100.0 * v) } else { None };
    let mut lo = rows
        .iter()
        .filter_map(|t| finite(t.ci_low))
        .fold(-1.0_f64, f64::min);
    let mut hi = rows
        .iter()
        .filter_map(|t| finite(t.ci_high))
        .fold(1.0_f64, f64::max);
    let pad = 0.08 * (hi - lo);
    lo -= pad;
    hi += pad;
    let x = Scale::linear((lo, hi), (label_w, label_w + plot_w));
    svg.text(
        label_w + plot_w / 2.0,
        16.0,
        "learned − twin (accuracy points), 95 % paired interval",
        12.0,
        Anchor::Middle,
    );
    let axis_y = top + row_h * rows.len() as f64 + 4.0;
    let ticks = nice_ticks(lo, hi, 7);
    let step = if ticks.len() > 1 {
        ticks[1] - ticks[0]
    } else {
        1.0
    };
    for &v in &ticks {
        let px = x.map(v);
        svg.line(px, top - 4.0, px, axis_y, "#eaeef2", 1.0);
        svg.text(px, axis_y + 16.0, &tick_label(v, step), 11.0, Anchor::Middle);
    }
    svg.line(x.map(0.0), top - 6.0, x.map(0.0), axis_y, "#24292f", 1.2);
    svg.line(label_w, axis_y, label_w + plot_w, axis_y, "#24292f", 1.0);
    svg.text(
        x.map(0.0) - 4.0,
        axis_y + 32.0,
        "← twin better",
        11.0,
        Anchor::End,
    );
    svg.text(
        x.map(0.0) + 4.0,
        axis_y + 32.0,
        "learned better →",
        11.0,
        Anchor::Start,
    );
    for (i, t) in rows.iter().enumerate() {
        let cy = top + row_h * (i as f64 + 0.5);
        if i % 2 == 1 {
            svg.rect(
                Rect {
                    x: 0.0,
                    y: cy - row_h / 2.0,
                    w: width,
                    h: row_h,
                },
                "#f6f8fa",
                "",
            );
            // Redraw the zero rule over the band.
            svg.line(x.map(0.0), cy - row_h / 2.0, x.map(0.0), cy + row_h / 2.0, "#24292f", 1.2);
        }
        svg.text(
            label_w - 8.0,
            cy + 4.0,
            &truncate(&t.learned, 28),
            12.0,
            Anchor::End,
        );
        let c = colour(t);
        if let (Some(a), Some(b), Some(m)) =
            (finite(t.ci_low), finite(t.ci_high), finite(t.difference))
        {
            svg.line(x.map(a), cy, x.map(b), cy, c, 3.0);
            svg.line(x.map(a), cy - 5.0, x.map(a), cy + 5.0, c, 1.5);
            svg.line(x.map(b), cy - 5.0, x.map(b), cy + 5.0, c, 1.5);
            svg.circle(
                x.map(m),
                cy,
                4.5,
                c,
                &format!(
                    "{} vs {}: {} [{}, {}] points, {}",
                    t.learned,
                    t.twin,
                    pp(t.difference),
                    pp(t.ci_low),
                    pp(t.ci_high),
                    verdict(t)
                ),
            );
        }
    }
    svg.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, d: f64, lo: f64, hi: f64) -> TwinRow {
        TwinRow {
            learned: name.into(),
            twin: "default".into(),
            stages: vec!["mel (matrix, classic init)".into()],
            pairs: 500,
            learned_accuracy: 0.9 + d,
            twin_accuracy: 0.9,
            difference: d,
            ci_low: lo,
            ci_high: hi,
            learned_only: 10,
            twin_only: 8,
        }
    }

    #[test]
    fn the_sentence_follows_the_interval_not_the_point() {
        let noise = row("a", 0.004, -0.003, 0.011);
        assert!(finding(&noise).contains("within noise"), "{}", finding(&noise));
        assert!(finding(&noise).contains("+0.40 points [-0.30, +1.10]"));
        let worse = row("b", -0.02, -0.03, -0.01);
        assert!(finding(&worse).contains("hand-crafted stage is better"));
        let better = row("c", 0.02, 0.01, 0.03);
        assert!(finding(&better).contains("helps"));
        assert!(finding(&better).starts_with("Learning the mel (matrix, classic init) stage"));
        let s = overall(&[noise.clone(), worse, better]);
        assert!(s.contains("Of 3 learned configurations"), "{s}");
        assert!(s.contains("1 is within noise, 1 better and 1 worse"), "{s}");
        assert!(overall(&[noise]).contains("ends about where"));
    }

    #[test]
    fn several_stages_are_named_in_order() {
        let mut t = row("all", 0.0, -0.01, 0.01);
        t.stages = vec![
            "spectrum (linear, classic init)".into(),
            "mel (matrix, classic init)".into(),
            "DCT (linear, classic init)".into(),
        ];
        assert!(finding(&t).starts_with("Learning the spectrum, mel and DCT stages"));
    }

    #[test]
    fn the_forest_plot_has_one_marker_per_row_and_a_zero_rule() {
        let rows = [row("a", 0.004, -0.003, 0.011), row("b", -0.02, -0.03, -0.01)];
        let s = forest(&rows);
        assert_eq!(s.matches("<circle").count(), 2);
        assert!(s.contains(WORSE) && s.contains(NOISE));
        assert!(s.contains("a vs default: +0.40 [-0.30, +1.10] points, within noise"));
        // A NaN row draws no marker and no NaN coordinate.
        let mut nan = row("n", f64::NAN, f64::NAN, f64::NAN);
        nan.pairs = 0;
        let s = forest(&[nan]);
        assert!(!s.contains("NaN") && !s.contains("<circle"));
    }
}
