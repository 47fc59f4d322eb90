//! Aggregation: mean ± std over seeds, one summary row per front end, and
//! per-speaker tables.
//!
//! Every renderer takes its numbers from here, so Markdown, JSON and HTML
//! always agree. NaN propagates (a diverged run makes its mean "n/a") rather
//! than being silently dropped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{ConfigResult, Report, Throughput};
use super::nan_serde;

/// Mean and sample standard deviation of a set of values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MeanStd {
    /// Arithmetic mean; NaN when there are no values or one is NaN.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub mean: f64,
    /// Sample standard deviation (n - 1); NaN when n < 2.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub std: f64,
    /// Number of values.
    pub n: usize,
}

impl MeanStd {
    /// Mean and sample standard deviation of `values`.
    ///
    /// Sample (Bessel-corrected) std because the seeds are a sample of the
    /// seeds one could have drawn.
    pub fn of(values: &[f64]) -> MeanStd {
        let n = values.len();
        if n == 0 {
            return MeanStd {
                mean: f64::NAN,
                std: f64::NAN,
                n,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let std = if n < 2 {
            f64::NAN
        } else {
            let ss: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
            (ss / (n - 1) as f64).sqrt()
        };
        MeanStd { mean, std, n }
    }
}

/// One row of the per-front-end summary table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryRow {
    /// Configuration name.
    pub name: String,
    /// Test accuracy over all runs (seeds and folds).
    pub accuracy: MeanStd,
    /// Macro-F1 over all runs.
    pub macro_f1: MeanStd,
    /// Trainable front-end parameters.
    pub frontend_params: u64,
    /// Trainable classifier parameters.
    pub classifier_params: u64,
    /// Training time in seconds per run.
    pub train_seconds: MeanStd,
    /// Feature-extraction speed, when measured.
    pub throughput: Option<Throughput>,
    /// Distinct seeds among the runs.
    pub seeds: Vec<u64>,
}

/// The summary row of one configuration.
pub fn summary_row(config: &ConfigResult) -> SummaryRow {
    let pick = |f: fn(&super::model::RunResult) -> f64| -> Vec<f64> {
        config.runs.iter().map(f).collect()
    };
    let mut seeds: Vec<u64> = config.runs.iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    SummaryRow {
        name: config.name.clone(),
        accuracy: MeanStd::of(&pick(|r| r.accuracy)),
        macro_f1: MeanStd::of(&pick(|r| r.macro_f1)),
        frontend_params: config.frontend_params,
        classifier_params: config.classifier_params,
        train_seconds: MeanStd::of(&pick(|r| r.train_seconds)),
        throughput: config.throughput.clone(),
        seeds,
    }
}

/// Summary rows of every configuration, in report order.
pub fn summary_rows(report: &Report) -> Vec<SummaryRow> {
    report.configs.iter().map(summary_row).collect()
}

/// A configuration-by-speaker table of accuracies, each cell averaged over
/// seeds, with the mean over speakers and the worst speaker per row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeakerTable {
    /// Column order.
    pub speakers: Vec<String>,
    /// One row per configuration.
    pub rows: Vec<SpeakerRow>,
}

/// One configuration's row of a [`SpeakerTable`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeakerRow {
    /// Configuration name.
    pub config: String,
    /// One cell per speaker column; `n == 0` where there was no run.
    pub cells: Vec<MeanStd>,
    /// Mean over the speakers that have a value.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub mean: f64,
    /// Lowest speaker mean (NaN if any is NaN, none if empty).
    #[serde(deserialize_with = "nan_serde::f64")]
    pub worst: f64,
}

impl SpeakerTable {
    /// True when there is nothing to show.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() || self.speakers.is_empty()
    }

    /// Builds the table from `(config, speaker, accuracy)` triples; rows keep
    /// the order in which configurations first appear, speakers are sorted.
    pub fn from_triples<'a>(triples: impl IntoIterator<Item = (&'a str, &'a str, f64)>) -> Self {
        let mut order: Vec<String> = Vec::new();
        let mut cells: BTreeMap<(String, String), Vec<f64>> = BTreeMap::new();
        let mut speakers: Vec<String> = Vec::new();
        for (config, speaker, acc) in triples {
            if !order.iter().any(|c| c == config) {
                order.push(config.to_string());
            }
            if !speakers.iter().any(|s| s == speaker) {
                speakers.push(speaker.to_string());
            }
            cells
                .entry((config.to_string(), speaker.to_string()))
                .or_default()
                .push(acc);
        }
        speakers.sort();
        let rows = order
            .into_iter()
            .map(|config| {
                let row: Vec<MeanStd> = speakers
                    .iter()
                    .map(|s| {
                        let key = (config.clone(), s.clone());
                        MeanStd::of(cells.get(&key).map(Vec::as_slice).unwrap_or(&[]))
                    })
                    .collect();
                let present: Vec<f64> = row.iter().filter(|c| c.n > 0).map(|c| c.mean).collect();
                let mean = MeanStd::of(&present).mean;
                let worst = if present.iter().any(|v| v.is_nan()) {
                    f64::NAN
                } else {
                    present.iter().copied().reduce(f64::min).unwrap_or(f64::NAN)
                };
                SpeakerRow {
                    config,
                    cells: row,
                    mean,
                    worst,
                }
            })
            .collect();
        SpeakerTable { speakers, rows }
    }
}

/// Accuracy per held-out speaker for every front end: from the
/// speaker-independent section when present, else from the main runs that
/// name a held-out speaker.
pub fn held_out_table(report: &Report) -> SpeakerTable {
    if !report.speaker_independent.is_empty() {
        return SpeakerTable::from_triples(
            report
                .speaker_independent
                .iter()
                .map(|h| (h.config.as_str(), h.speaker.as_str(), h.accuracy)),
        );
    }
    SpeakerTable::from_triples(report.configs.iter().flat_map(|c| {
        c.runs.iter().filter_map(move |r| {
            r.held_out_speaker
                .as_deref()
                .map(|s| (c.name.as_str(), s, r.accuracy))
        })
    }))
}

/// Test accuracy per speaker present in the test set (from each run's
/// `per_speaker` map), averaged over runs.
pub fn test_speaker_table(report: &Report) -> SpeakerTable {
    SpeakerTable::from_triples(report.configs.iter().flat_map(|c| {
        c.runs.iter().flat_map(move |r| {
            r.per_speaker
                .iter()
                .map(move |(s, a)| (c.name.as_str(), s.as_str(), *a))
        })
    }))
}

/// The confusion matrices of a configuration's runs, summed.
///
/// Ragged or differently sized matrices are summed cell by cell into the
/// largest shape, so inconsistent input never panics.
pub fn summed_confusion(config: &ConfigResult) -> Vec<Vec<u32>> {
    let rows = config
        .runs
        .iter()
        .map(|r| r.confusion.len())
        .max()
        .unwrap_or(0);
    let cols = config
        .runs
        .iter()
        .flat_map(|r| r.confusion.iter().map(Vec::len))
        .max()
        .unwrap_or(0);
    let mut sum = vec![vec![0u32; cols]; rows];
    for run in &config.runs {
        for (i, row) in run.confusion.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                sum[i][j] = sum[i][j].saturating_add(v);
            }
        }
    }
    sum
}

/// All distinct seeds used anywhere in the report, sorted.
pub fn all_seeds(report: &Report) -> Vec<u64> {
    let mut seeds: Vec<u64> = report
        .configs
        .iter()
        .flat_map(|c| c.runs.iter().map(|r| r.seed))
        .collect();
    seeds.extend(report.speaker_independent.iter().map(|h| h.seed));
    seeds.sort_unstable();
    seeds.dedup();
    seeds
}

#[cfg(test)]
mod tests {
    use super::super::model::{HeldOutResult, RunResult};
    use super::*;

    fn run(seed: u64, acc: f64, speaker: Option<&str>) -> RunResult {
        RunResult {
            seed,
            accuracy: acc,
            macro_f1: acc - 0.01,
            train_seconds: 2.0,
            held_out_speaker: speaker.map(str::to_string),
            confusion: vec![vec![1, 0], vec![2, 3]],
            ..RunResult::default()
        }
    }

    #[test]
    fn mean_std_matches_hand_values() {
        // values 1, 2, 3, 4: mean 2.5, sample variance 5/3.
        let m = MeanStd::of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m.mean, 2.5);
        // 1e-12: a few roundings of small sums.
        assert!((m.std - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(m.n, 4);
    }

    #[test]
    fn mean_std_edge_cases() {
        assert!(MeanStd::of(&[]).mean.is_nan());
        let one = MeanStd::of(&[0.7]);
        assert_eq!(one.mean, 0.7);
        assert!(one.std.is_nan());
        assert!(MeanStd::of(&[0.5, f64::NAN]).mean.is_nan());
    }

    #[test]
    fn summary_row_aggregates_runs_and_dedups_seeds() {
        let config = ConfigResult {
            name: "a".into(),
            runs: vec![run(2, 0.8, None), run(1, 0.9, None), run(2, 1.0, None)],
            ..ConfigResult::default()
        };
        let row = summary_row(&config);
        // 1e-12: mean of three short decimals.
        assert!((row.accuracy.mean - 0.9).abs() < 1e-12);
        assert_eq!(row.seeds, vec![1, 2]);
        assert_eq!(row.accuracy.n, 3);
    }

    #[test]
    fn held_out_table_prefers_speaker_section_and_finds_worst() {
        let mut report = Report::default();
        report.configs.push(ConfigResult {
            name: "main".into(),
            runs: vec![
                run(1, 0.5, Some("bob")),
                run(1, 0.7, Some("amy")),
                run(2, 0.9, Some("amy")),
            ],
            ..ConfigResult::default()
        });
        let t = held_out_table(&report);
        assert_eq!(t.speakers, vec!["amy", "bob"]);
        // amy: mean(0.7, 0.9) = 0.8, bob 0.5; 1e-12: float sums of decimals.
        assert!((t.rows[0].cells[0].mean - 0.8).abs() < 1e-12);
        assert_eq!(t.rows[0].worst, 0.5);
        assert!((t.rows[0].mean - 0.65).abs() < 1e-12);

        report.speaker_independent.push(HeldOutResult {
            config: "si".into(),
            speaker: "cat".into(),
            seed: 1,
            accuracy: 0.4,
        });
        let t = held_out_table(&report);
        assert_eq!(t.speakers, vec!["cat"]);
        assert_eq!(t.rows[0].config, "si");
    }

    #[test]
    fn missing_cells_have_no_runs() {
        let t = SpeakerTable::from_triples([("a", "x", 0.5), ("b", "y", 0.25)]);
        assert_eq!(t.rows[0].cells[1].n, 0);
        assert_eq!(t.rows[0].mean, 0.5);
        assert_eq!(t.rows[1].worst, 0.25);
    }

    #[test]
    fn confusion_sum_tolerates_ragged_matrices() {
        let mut a = run(1, 0.5, None);
        a.confusion = vec![vec![1, 2, 3]];
        let config = ConfigResult {
            runs: vec![a, run(2, 0.5, None)],
            ..ConfigResult::default()
        };
        let sum = summed_confusion(&config);
        assert_eq!(sum, vec![vec![2, 2, 3], vec![2, 3, 0]]);
    }
}
