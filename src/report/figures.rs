//! The report's figures: the model's data turned into [`super::charts`].
//!
//! Each function returns one `<svg>` element (or a pair). Big matrices are
//! block-averaged before drawing ([`downsample`]) so a page with several
//! feature images stays a few hundred kilobytes; colour ranges of feature
//! images use the 1st and 99th percentiles so one outlier frame (a log of
//! near-zero energy) cannot wash out the picture.

use std::collections::BTreeMap;

use super::charts::{heatmap_chart, line_chart, HeatmapChart, LineChart, Series};
use super::colour::{series_colour, Palette};
use super::model::{ConfigResult, DeepVsFatRow, ExampleFeatures, FeatureScaling, RunResult};
use super::plot::LegendEntry;
use super::summary::summed_confusion;

/// Grey used for the "initial" curves under the learned ones.
const INITIAL_GREY: &str = "#8c8c8c";
/// Dash pattern for validation curves and initial curves.
const DASH: &str = "5 3";

/// A short label for a run: "seed 3", "seed 3 / theo", "seed 3 / fold 2".
pub fn run_label(run: &RunResult) -> String {
    match (&run.held_out_speaker, run.fold) {
        (Some(s), _) => format!("seed {} / {s}", run.seed),
        (None, Some(f)) => format!("seed {} / fold {f}", run.seed),
        (None, None) => format!("seed {}", run.seed),
    }
}

/// Legend for learning curves: run colours when few, plus the line styles.
fn curve_legend(runs: &[RunResult]) -> Vec<LegendEntry> {
    let mut entries = Vec::new();
    if runs.len() <= 6 {
        for (i, r) in runs.iter().enumerate() {
            entries.push(LegendEntry {
                label: run_label(r),
                colour: series_colour(i).into(),
                dash: None,
            });
        }
    }
    entries.push(LegendEntry {
        label: "train".into(),
        colour: "#444".into(),
        dash: None,
    });
    entries.push(LegendEntry {
        label: "validation".into(),
        colour: "#444".into(),
        dash: Some(DASH.into()),
    });
    entries
}

/// Learning curves of one configuration: (loss chart, accuracy chart), one
/// colour per run, train solid and validation dashed.
pub fn learning_curves(config: &ConfigResult) -> (String, String) {
    let mut loss = LineChart::new("loss", "epoch", "cross-entropy");
    let mut acc = LineChart::new("accuracy", "epoch", "accuracy (%)");
    acc.y_range = Some((0.0, 100.0));
    for c in [&mut loss, &mut acc] {
        c.width = 272.0;
        c.plot_height = 150.0;
        c.integer_x = true;
        c.legend = curve_legend(&config.runs);
    }
    for (i, run) in config.runs.iter().enumerate() {
        let colour = series_colour(i);
        let pts = |f: fn(&super::model::EpochRecord) -> f64, scale: f64| -> Vec<(f64, f64)> {
            run.history
                .iter()
                .map(|e| (e.epoch as f64, scale * f(e)))
                .collect()
        };
        let mut val_loss = Series::line(pts(|e| e.val_loss, 1.0), colour);
        val_loss.dash = Some(DASH.into());
        let mut val_acc = Series::line(pts(|e| e.val_acc, 100.0), colour);
        val_acc.dash = Some(DASH.into());
        loss.series
            .push(Series::line(pts(|e| e.train_loss, 1.0), colour));
        loss.series.push(val_loss);
        acc.series
            .push(Series::line(pts(|e| e.train_acc, 100.0), colour));
        acc.series.push(val_acc);
    }
    (line_chart(&loss), line_chart(&acc))
}

/// The confusion matrix of a configuration, summed over its runs, with
/// counts in the cells. `classes` label the rows (true) and columns
/// (predicted); indices are used where names are missing.
pub fn confusion(config: &ConfigResult, classes: &[String]) -> String {
    let sum = summed_confusion(config);
    let n = sum.len().max(sum.iter().map(Vec::len).max().unwrap_or(0));
    let labels: Vec<String> = (0..n)
        .map(|i| classes.get(i).cloned().unwrap_or_else(|| i.to_string()))
        .collect();
    // 26 px cells fit a 3-digit count; big class sets grow the chart to keep
    // counts readable up to about 35 classes.
    let side = (26.0 * n as f64).clamp(60.0, 620.0);
    let max = sum.iter().flatten().copied().max().unwrap_or(0) as f64;
    heatmap_chart(&HeatmapChart {
        title: config.name.clone(),
        matrix: sum
            .iter()
            .map(|r| r.iter().map(|&v| v as f64).collect())
            .collect(),
        row_labels: labels.clone(),
        col_labels: labels,
        x_label: "predicted".into(),
        y_label: "true".into(),
        palette: Palette::Blues,
        range: Some((0.0, max.max(1.0))),
        annotate: true,
        area: (side, side),
        row0_at_bottom: false,
        raster: false,
    })
}

/// Learned filters over the initial ones, x axis in Hz.
///
/// Row `k` of a `(n_filters, n_bins)` matrix has bin `b` at
/// `b * sample_rate_hz / (2 * (n_bins - 1))` Hz.
pub fn filterbank(
    title: &str,
    sample_rate_hz: f32,
    initial: &[Vec<f32>],
    learned: &[Vec<f32>],
) -> String {
    let mut c = LineChart::new(title, "frequency (Hz)", "weight");
    c.width = 760.0;
    c.plot_height = 200.0;
    let hz = |n_bins: usize, b: usize| {
        if n_bins < 2 {
            0.0
        } else {
            b as f64 * sample_rate_hz as f64 / (2.0 * (n_bins - 1) as f64)
        }
    };
    for row in initial {
        let mut s = Series::line(
            row.iter()
                .enumerate()
                .map(|(b, &w)| (hz(row.len(), b), w as f64))
                .collect(),
            INITIAL_GREY,
        );
        s.width = 1.0;
        s.dash = Some("3 2".into());
        c.series.push(s);
    }
    for (i, row) in learned.iter().enumerate() {
        let mut s = Series::line(
            row.iter()
                .enumerate()
                .map(|(b, &w)| (hz(row.len(), b), w as f64))
                .collect(),
            series_colour(i),
        );
        s.width = 1.2;
        c.series.push(s);
    }
    c.legend = vec![
        LegendEntry {
            label: "initial".into(),
            colour: INITIAL_GREY.into(),
            dash: Some("3 2".into()),
        },
        LegendEntry {
            label: "learned (a colour per filter)".into(),
            colour: series_colour(0).into(),
            dash: None,
        },
    ];
    line_chart(&c)
}

/// Learned compression curve(s) against the initial one(s).
pub fn compression(
    title: &str,
    x: &[f32],
    log_x: bool,
    initial: &[Vec<f32>],
    learned: &[Vec<f32>],
) -> String {
    let mut c = LineChart::new(title, "input energy", "output");
    c.width = 420.0;
    c.plot_height = 200.0;
    c.log_x = log_x;
    let curve = |row: &[f32]| -> Vec<(f64, f64)> {
        x.iter()
            .zip(row)
            .map(|(&a, &b)| (a as f64, b as f64))
            .collect()
    };
    for row in initial {
        let mut s = Series::line(curve(row), INITIAL_GREY);
        s.width = 2.0;
        s.dash = Some(DASH.into());
        c.series.push(s);
    }
    // Many per-channel curves in one colour, translucent; a few in distinct colours.
    let many = learned.len() > 10;
    for (i, row) in learned.iter().enumerate() {
        let mut s = Series::line(
            curve(row),
            if many {
                series_colour(2)
            } else {
                series_colour(i + 2)
            },
        );
        if many {
            s.opacity = 0.35;
            s.width = 1.0;
        }
        c.series.push(s);
    }
    let learned_label = if learned.len() > 1 {
        format!("learned ({} channels)", learned.len())
    } else {
        "learned".into()
    };
    c.legend = vec![
        LegendEntry {
            label: "initial (log)".into(),
            colour: INITIAL_GREY.into(),
            dash: Some(DASH.into()),
        },
        LegendEntry {
            label: learned_label,
            colour: series_colour(2).into(),
            dash: None,
        },
    ];
    line_chart(&c)
}

/// Initial and learned matrices as two heatmaps on one symmetric diverging
/// colour scale, so equal colours mean equal values.
pub fn matrix_pair(
    initial: &[Vec<f32>],
    learned: &[Vec<f32>],
    x_label: &str,
    y_label: &str,
) -> (String, String) {
    let a = downsample(initial, 64, 160);
    let b = downsample(learned, 64, 160);
    let max_abs = a
        .iter()
        .chain(&b)
        .flatten()
        .filter(|v| v.is_finite())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let range = if max_abs > 0.0 {
        (-max_abs, max_abs)
    } else {
        (-1.0, 1.0)
    };
    let draw = |title: &str, m: Vec<Vec<f64>>| {
        let rows = m.len().max(1) as f64;
        let cols = m.iter().map(Vec::len).max().unwrap_or(1).max(1) as f64;
        let cell = (300.0 / cols).min(200.0 / rows).clamp(2.0, 14.0);
        let row_labels = index_labels(m.len(), m.len());
        heatmap_chart(&HeatmapChart {
            title: title.to_string(),
            row_labels,
            col_labels: vec![],
            x_label: x_label.into(),
            y_label: y_label.into(),
            palette: Palette::Diverging,
            range: Some(range),
            annotate: false,
            area: (cell * cols, cell * rows),
            row0_at_bottom: false,
            raster: true,
            matrix: m,
        })
    };
    (draw("initial", a), draw("learned", b))
}

/// One example utterance's features as an image: time left to right,
/// feature dimension 0 at the bottom.
pub fn features(example: &ExampleFeatures) -> String {
    let frames = example.features.len();
    let dims = example.features.iter().map(Vec::len).max().unwrap_or(0);
    // Transpose to (dims, frames) so time runs along x.
    let transposed: Vec<Vec<f32>> = (0..dims)
        .map(|d| {
            example
                .features
                .iter()
                .map(|f| f.get(d).copied().unwrap_or(f32::NAN))
                .collect()
        })
        .collect();
    let transposed = match example.scaling {
        FeatureScaling::Global => transposed,
        FeatureScaling::PerDim => transposed.iter().map(|row| standardise(row)).collect(),
    };
    let m = downsample(&transposed, 48, 120);
    let range = robust_range(&m);
    let rows = m.len().max(1) as f64;
    let cols = m.iter().map(Vec::len).max().unwrap_or(1).max(1) as f64;
    let height = (rows * 4.0).clamp(60.0, 150.0);
    heatmap_chart(&HeatmapChart {
        title: match example.scaling {
            FeatureScaling::Global => format!("{} ({frames} frames × {dims})", example.label),
            FeatureScaling::PerDim => {
                format!(
                    "{} ({frames} frames × {dims}, each dim standardised)",
                    example.label
                )
            }
        },
        row_labels: index_labels(m.len(), dims),
        col_labels: index_labels(cols as usize, frames),
        x_label: "frame".into(),
        y_label: "dim".into(),
        palette: Palette::Sequential,
        range: Some(range),
        annotate: false,
        area: (420.0, height),
        row0_at_bottom: true,
        raster: true,
        matrix: m,
    })
}

/// Accuracy against depth at a fixed parameter budget, one line per
/// activation, with ± std error bars.
pub fn deep_vs_fat(rows: &[DeepVsFatRow]) -> String {
    let mut by_act: BTreeMap<&str, Vec<&DeepVsFatRow>> = BTreeMap::new();
    for r in rows {
        by_act.entry(r.activation.as_str()).or_default().push(r);
    }
    let mut c = LineChart::new(
        "accuracy vs depth at equal parameter budget",
        "hidden layers",
        "accuracy (%)",
    );
    c.width = 480.0;
    c.plot_height = 220.0;
    c.integer_x = true;
    for (i, (act, mut group)) in by_act.into_iter().enumerate() {
        group.sort_by_key(|r| r.depth);
        let mut s = Series::line(
            group
                .iter()
                .map(|r| (r.depth as f64, 100.0 * r.accuracy_mean))
                .collect(),
            series_colour(i),
        );
        s.errors = Some(group.iter().map(|r| 100.0 * r.accuracy_std).collect());
        s.markers = Some(act.to_string());
        c.series.push(s);
        c.legend.push(LegendEntry {
            label: act.to_string(),
            colour: series_colour(i).into(),
            dash: None,
        });
    }
    line_chart(&c)
}

/// `row` minus its mean, over its standard deviation (NaN ignored; a
/// constant row becomes zeros).
fn standardise(row: &[f32]) -> Vec<f32> {
    let finite: Vec<f64> = row
        .iter()
        .filter(|v| v.is_finite())
        .map(|&v| v as f64)
        .collect();
    let stats = super::summary::MeanStd::of(&finite);
    let std = if stats.std.is_finite() && stats.std > 0.0 {
        stats.std
    } else {
        1.0
    };
    row.iter()
        .map(|&v| ((v as f64 - stats.mean) / std) as f32)
        .collect()
}

/// Labels for `n` display rows/columns covering `original` items: the first
/// original index each one stands for.
fn index_labels(n: usize, original: usize) -> Vec<String> {
    (0..n)
        .map(|i| (i * original / n.max(1)).to_string())
        .collect()
}

/// Block-averages `m` (rows of possibly different lengths) to at most
/// `max_rows` x `max_cols`, ignoring NaN inside a block (a block of only NaN
/// stays NaN).
pub fn downsample(m: &[Vec<f32>], max_rows: usize, max_cols: usize) -> Vec<Vec<f64>> {
    let rows = m.len();
    let cols = m.iter().map(Vec::len).max().unwrap_or(0);
    let out_rows = rows.min(max_rows.max(1));
    let out_cols = cols.min(max_cols.max(1));
    (0..out_rows)
        .map(|i| {
            let (r0, r1) = (
                i * rows / out_rows,
                ((i + 1) * rows / out_rows).max(i * rows / out_rows + 1),
            );
            (0..out_cols)
                .map(|j| {
                    let (c0, c1) = (
                        j * cols / out_cols,
                        ((j + 1) * cols / out_cols).max(j * cols / out_cols + 1),
                    );
                    let (mut sum, mut n) = (0.0f64, 0usize);
                    for row in &m[r0..r1] {
                        for &v in row.get(c0..c1.min(row.len())).unwrap_or(&[]) {
                            if v.is_finite() {
                                sum += v as f64;
                                n += 1;
                            }
                        }
                    }
                    if n == 0 {
                        f64::NAN
                    } else {
                        sum / n as f64
                    }
                })
                .collect()
        })
        .collect()
}

/// The 1st and 99th percentile of the finite values (0..1 if none).
fn robust_range(m: &[Vec<f64>]) -> (f64, f64) {
    let mut v: Vec<f64> = m
        .iter()
        .flatten()
        .copied()
        .filter(|x| x.is_finite())
        .collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    let (lo, hi) = (at(0.01), at(0.99));
    if hi > lo {
        (lo, hi)
    } else {
        (lo - 0.5, lo + 0.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::model::EpochRecord;

    #[test]
    fn downsample_averages_blocks_and_keeps_small_matrices() {
        let m = vec![vec![1.0, 3.0, 5.0, 7.0], vec![1.0, 3.0, 5.0, f32::NAN]];
        assert_eq!(downsample(&m, 1, 2), vec![vec![2.0, 17.0 / 3.0]]);
        assert_eq!(downsample(&m, 10, 10).len(), 2);
        assert!(downsample(&[], 4, 4).is_empty());
        let all_nan = downsample(&[vec![f32::NAN]], 1, 1);
        assert!(all_nan[0][0].is_nan());
    }

    #[test]
    fn standardise_gives_zero_mean_unit_std() {
        let z = standardise(&[1.0, 2.0, 3.0, f32::NAN]);
        assert_eq!(z[1], 0.0);
        // 1e-6: f32 rounding of (3 - 2) / 1.
        assert!((z[2] - 1.0).abs() < 1e-6, "{z:?}");
        assert!(z[3].is_nan());
        assert_eq!(standardise(&[4.0, 4.0]), vec![0.0, 0.0]);
    }

    #[test]
    fn robust_range_ignores_one_outlier() {
        let mut row: Vec<f64> = (0..200).map(|i| i as f64 / 200.0).collect();
        row[0] = -1e9;
        let (lo, hi) = robust_range(&[row]);
        assert!(lo > -1.0 && hi < 1.0, "{lo} {hi}");
    }

    #[test]
    fn confusion_has_one_annotated_cell_per_class_pair() {
        let run = RunResult {
            confusion: vec![vec![3, 1, 0], vec![0, 4, 0], vec![1, 0, 2]],
            ..RunResult::default()
        };
        let config = ConfigResult {
            name: "c".into(),
            runs: vec![run.clone(), run],
            ..ConfigResult::default()
        };
        let svg = confusion(&config, &["a".into(), "b".into()]);
        assert!(svg.contains(">8<"), "summed diagonal count missing");
        // The missing third class name falls back to its index.
        assert!(svg.contains(">2</text>"));
        assert_eq!(svg.matches("<rect").count(), 9 + 1 + 32 + 1);
    }

    #[test]
    fn learning_curves_draw_train_and_validation_per_run() {
        let history: Vec<EpochRecord> = (1..=5)
            .map(|e| EpochRecord {
                epoch: e,
                train_loss: 1.0 / e as f64,
                train_acc: 0.5,
                val_loss: f64::NAN,
                val_acc: 0.4,
            })
            .collect();
        let runs = vec![
            RunResult {
                seed: 1,
                history: history.clone(),
                ..RunResult::default()
            },
            RunResult {
                seed: 2,
                history,
                ..RunResult::default()
            },
        ];
        let (loss, acc) = learning_curves(&ConfigResult {
            runs,
            ..ConfigResult::default()
        });
        // Loss: 2 train lines (val loss all NaN) + 4 legend swatches.
        assert_eq!(loss.matches("<polyline").count(), 2 + 4);
        // Accuracy: 2 train + 2 validation + 4 legend swatches.
        assert_eq!(acc.matches("<polyline").count(), 4 + 4);
        assert!(acc.contains("seed 2"));
    }

    #[test]
    fn filterbank_axis_is_in_hz() {
        let tri = vec![vec![0.0, 1.0, 0.0, 0.0, 0.0], vec![0.0, 0.0, 0.0, 1.0, 0.0]];
        let svg = filterbank("fb", 16000.0, &tri, &tri);
        // 5 bins span 0..8000 Hz; the nice ticks include 8000.
        assert!(svg.contains(">8000<"), "no Nyquist tick");
        assert!(svg.contains("frequency (Hz)"));
    }
}
