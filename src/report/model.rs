//! The report's data model: plain serde structs that the `compare` command
//! fills and every renderer reads.
//!
//! Design decisions:
//! - Everything a renderer may lack is an `Option` or a `Vec` (with
//!   `#[serde(default)]`), so a partial report (one config, no learned stage,
//!   no speaker-independent runs) still renders and still parses back.
//! - Metrics are `f64` and may be NaN (no validation set, a diverged run):
//!   renderers print NaN as "n/a". JSON has no NaN, so serde_json writes it as
//!   `null`; the `nan_serde` deserializers read `null` back as NaN, which keeps
//!   the JSON round trip lossless.
//! - Accuracies are fractions in [0, 1]; renderers turn them into percent.
//! - Raw per-run numbers are stored, never pre-aggregated ones: mean ± std
//!   over seeds is computed by [`super::summary`] so Markdown, JSON and HTML
//!   cannot disagree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::nan_serde;

/// One benchmark report: what was run, on what, and every run's results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Page title, e.g. "speechfront compare: fsdd".
    pub title: String,
    /// When the report was made (RFC 3339 text, as the filler formats it).
    pub created: String,
    /// `CARGO_PKG_VERSION` of the crate that produced the numbers.
    pub crate_version: String,
    /// The machine the runs were timed on.
    #[serde(default)]
    pub machine: Machine,
    /// The exact command line, so the report can be reproduced from itself.
    #[serde(default)]
    pub command_line: String,
    /// The data set and what was skipped.
    #[serde(default)]
    pub data: DataSummary,
    /// Human description of the split, e.g. "FSDD official (takes 0-4 test)".
    #[serde(default)]
    pub split: String,
    /// One entry per compared configuration.
    #[serde(default)]
    pub configs: Vec<ConfigResult>,
    /// Learned front-end stages next to their initial form.
    #[serde(default)]
    pub learned: Vec<LearnedStage>,
    /// Features of one example utterance per front end.
    #[serde(default)]
    pub example_features: Vec<ExampleFeatures>,
    /// Same-budget networks: one wide layer against several narrow ones.
    #[serde(default)]
    pub deep_vs_fat: Vec<DeepVsFatRow>,
    /// Held-out-speaker accuracies of every front end (leave-one-speaker-out).
    #[serde(default)]
    pub speaker_independent: Vec<HeldOutResult>,
    /// What each ingredient of the default configuration contributes.
    #[serde(default)]
    pub ablation: Vec<AblationRow>,
    /// Each learned configuration beside its hand-crafted twin (the
    /// configuration equal to it but for the `[frontend.learn]` table),
    /// paired over the same test utterances, folds and seeds.
    #[serde(default)]
    pub twins: Vec<TwinRow>,
}

/// A learned configuration against its hand-crafted twin.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TwinRow {
    /// The learned configuration.
    pub learned: String,
    /// Its hand-crafted twin.
    pub twin: String,
    /// The learned stages, in processing order, e.g. `mel (matrix, classic
    /// init)`: what the row measures.
    #[serde(default)]
    pub stages: Vec<String>,
    /// Paired test decisions: (fold, seed, utterance) present in both.
    pub pairs: usize,
    /// Accuracy of the learned configuration over the pairs.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub learned_accuracy: f64,
    /// Accuracy of the twin over the pairs.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub twin_accuracy: f64,
    /// `learned_accuracy - twin_accuracy`.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub difference: f64,
    /// 95 % paired-bootstrap interval of the difference: lower end.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub ci_low: f64,
    /// Upper end.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub ci_high: f64,
    /// Pairs where exactly one of the two is right: learned right.
    pub learned_only: usize,
    /// Pairs where exactly one of the two is right: twin right.
    pub twin_only: usize,
}

impl TwinRow {
    /// The interval contains 0: no difference the test set can show.
    pub fn within_noise(&self) -> bool {
        self.ci_low <= 0.0 && self.ci_high >= 0.0
    }
}

/// Where the numbers were measured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name, e.g. "AMD EPYC 7B13".
    pub cpu_model: String,
    /// Logical cores available to the process.
    pub cores: usize,
    /// Operating system and architecture, e.g. "Debian GNU/Linux 13 (linux x86_64)".
    pub os: String,
}

/// The data set the report was made on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataSummary {
    /// The data folder (or manifest) as given on the command line.
    pub path: String,
    /// Audio files used (after skipping bad ones).
    pub n_files: usize,
    /// Number of classes.
    pub n_classes: usize,
    /// Class names, in the order used by every confusion matrix.
    #[serde(default)]
    pub classes: Vec<String>,
    /// Speaker names, when the labelling gives them.
    #[serde(default)]
    pub speakers: Vec<String>,
    /// Files that could not be used, with the reason.
    #[serde(default)]
    pub skipped: Vec<SkippedFile>,
}

/// A file left out of the run and why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedFile {
    /// Path of the file.
    pub path: String,
    /// The error, as text (e.g. "not a WAV file: bad RIFF header").
    pub reason: String,
}

/// One configuration's setup and all its runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigResult {
    /// Short name, e.g. "mfcc-kaldi" (free text; renderers escape it).
    pub name: String,
    /// The full TOML text of the configuration.
    #[serde(default)]
    pub config_toml: String,
    /// Trainable parameters of the front end (0 when fully hand-crafted).
    pub frontend_params: u64,
    /// Trainable parameters of the classifier.
    pub classifier_params: u64,
    /// One entry per seed (and per fold when cross-validating).
    #[serde(default)]
    pub runs: Vec<RunResult>,
    /// Feature-extraction speed, when measured.
    #[serde(default)]
    pub throughput: Option<Throughput>,
}

/// Feature-extraction speed of a front end.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Utterances processed per second (wall clock).
    #[serde(deserialize_with = "nan_serde::f64")]
    pub utterances_per_s: f64,
    /// Seconds of audio processed per second of wall clock.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub x_real_time: f64,
}

/// The result of training and testing one configuration once.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// The seed of every random choice in this run.
    pub seed: u64,
    /// Fold index, when cross-validating.
    #[serde(default)]
    pub fold: Option<usize>,
    /// The speaker held out for testing, for leave-one-speaker-out folds.
    #[serde(default)]
    pub held_out_speaker: Option<String>,
    /// Test accuracy, a fraction in [0, 1].
    #[serde(deserialize_with = "nan_serde::f64")]
    pub accuracy: f64,
    /// Macro-averaged F1 over classes, in [0, 1].
    #[serde(deserialize_with = "nan_serde::f64")]
    pub macro_f1: f64,
    /// `confusion[true][predicted]` counts, in `DataSummary::classes` order.
    #[serde(default)]
    pub confusion: Vec<Vec<u32>>,
    /// Test accuracy per speaker present in the test set.
    #[serde(default, deserialize_with = "nan_serde::map_f64")]
    pub per_speaker: BTreeMap<String, f64>,
    /// Wall-clock training time in seconds.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub train_seconds: f64,
    /// Per-epoch learning curve.
    #[serde(default)]
    pub history: Vec<EpochRecord>,
    /// Each test utterance's log-posteriors (hand-crafted path), for late
    /// fusion of configurations and calibration studies outside the tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posteriors: Option<TestPosteriors>,
}

/// Per-utterance log-posteriors of one run's test set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TestPosteriors {
    /// Test items (paths relative to the data folder), in row order.
    pub items: Vec<String>,
    /// `log_posteriors[i][c]`: the decision score of class `c` (in
    /// `DataSummary::classes` order) for item `i`, averaged over frames,
    /// ensemble members and test-time warps.
    pub log_posteriors: Vec<Vec<f32>>,
}

/// Losses and accuracies after one epoch; NaN where not measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number, starting at 1.
    pub epoch: u32,
    /// Mean training loss over the epoch.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub train_loss: f64,
    /// Training accuracy in [0, 1].
    #[serde(deserialize_with = "nan_serde::f64")]
    pub train_acc: f64,
    /// Validation loss.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub val_loss: f64,
    /// Validation accuracy in [0, 1].
    #[serde(deserialize_with = "nan_serde::f64")]
    pub val_acc: f64,
}

/// A learned front-end stage next to the form it started from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LearnedStage {
    /// The configuration it belongs to (`ConfigResult::name`).
    pub config: String,
    /// The seed of the run it was taken from.
    #[serde(default)]
    pub seed: Option<u64>,
    /// The stage's data; its `kind` tag says how to draw it.
    pub stage: StageData,
}

/// The initial and learned values of one stage, by kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StageData {
    /// A filterbank: `(n_filters, n_bins)` weights over the spectrum bins
    /// `0..n_bins`, bin `k` at `k * sample_rate_hz / (2 * (n_bins - 1))` Hz.
    /// Drawn as learned filters over the initial (mel) triangles.
    Filterbank {
        /// Sample rate, to label the x axis in Hz.
        sample_rate_hz: f32,
        /// Initial weights, `(n_filters, n_bins)`.
        #[serde(deserialize_with = "nan_serde::matrix_f32")]
        initial: Vec<Vec<f32>>,
        /// Learned weights, `(n_filters, n_bins)`.
        #[serde(deserialize_with = "nan_serde::matrix_f32")]
        learned: Vec<Vec<f32>>,
    },
    /// A compression curve evaluated at the input values `x` (steady state
    /// for stateful ones such as PCEN). Each row of `initial`/`learned` is one
    /// curve over `x` (one per channel when the parameters are per channel).
    Compression {
        /// Input values (filterbank energies).
        #[serde(deserialize_with = "nan_serde::vec_f32")]
        x: Vec<f32>,
        /// Draw `x` on a log axis (energies span decades).
        log_x: bool,
        /// The initial curve(s), e.g. `ln(x + floor)`.
        #[serde(deserialize_with = "nan_serde::matrix_f32")]
        initial: Vec<Vec<f32>>,
        /// The learned curve(s).
        #[serde(deserialize_with = "nan_serde::matrix_f32")]
        learned: Vec<Vec<f32>>,
    },
    /// A DCT-like matrix `(n_ceps, n_filters)`, drawn as heatmaps side by side.
    Dct {
        /// The DCT-II matrix it started from.
        #[serde(deserialize_with = "nan_serde::matrix_f32")]
        initial: Vec<Vec<f32>>,
        /// The learned matrix.
        #[serde(deserialize_with = "nan_serde::matrix_f32")]
        learned: Vec<Vec<f32>>,
    },
    /// Any other matrix-shaped stage (e.g. a time-domain filterbank), drawn
    /// as heatmaps side by side with the given axis names.
    Matrix {
        /// What the stage is, e.g. "waveform filterbank".
        name: String,
        /// Name of the column axis.
        x_label: String,
        /// Name of the row axis.
        y_label: String,
        /// Initial matrix.
        #[serde(deserialize_with = "nan_serde::matrix_f32")]
        initial: Vec<Vec<f32>>,
        /// Learned matrix.
        #[serde(deserialize_with = "nan_serde::matrix_f32")]
        learned: Vec<Vec<f32>>,
    },
}

impl StageData {
    /// A short human name of the stage kind.
    pub fn kind_name(&self) -> &str {
        match self {
            StageData::Filterbank { .. } => "filterbank",
            StageData::Compression { .. } => "compression",
            StageData::Dct { .. } => "DCT",
            StageData::Matrix { name, .. } => name,
        }
    }
}

/// The features one front end computes for one example utterance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExampleFeatures {
    /// Which front end, e.g. "MFCC (kaldi)".
    pub label: String,
    /// Which utterance, e.g. "7_theo_3.wav (class 7)".
    #[serde(default)]
    pub utterance: String,
    /// `(frames, dims)` feature matrix.
    #[serde(deserialize_with = "nan_serde::matrix_f32")]
    pub features: Vec<Vec<f32>>,
    /// How the image's colours are scaled. Default: [`FeatureScaling::Global`].
    #[serde(default)]
    pub scaling: FeatureScaling,
}

/// How a feature image maps values to colours.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatureScaling {
    /// One colour range for the whole image (1st to 99th percentile): right
    /// for spectra and filterbank energies, whose levels are comparable.
    #[default]
    Global,
    /// Each dimension standardised over time first: right for cepstra, where
    /// c0 (energy) would otherwise use the whole colour range.
    PerDim,
}

/// One network of the deep-versus-fat comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeepVsFatRow {
    /// Name, e.g. "3x64 relu".
    pub name: String,
    /// Hidden layers.
    pub depth: u32,
    /// Units per hidden layer.
    pub width: u32,
    /// Hidden activation, e.g. "relu", "sigmoid".
    pub activation: String,
    /// Trainable parameters.
    pub params: u64,
    /// Mean test accuracy over seeds.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub accuracy_mean: f64,
    /// Sample standard deviation of the test accuracy over seeds.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub accuracy_std: f64,
    /// Seeds it was averaged over.
    #[serde(default)]
    pub n_seeds: usize,
}

/// Test accuracy on one held-out speaker (leave-one-speaker-out).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeldOutResult {
    /// Configuration name.
    pub config: String,
    /// The speaker never heard in training.
    pub speaker: String,
    /// Seed of the run.
    pub seed: u64,
    /// Accuracy on that speaker's utterances, in [0, 1].
    #[serde(deserialize_with = "nan_serde::f64")]
    pub accuracy: f64,
}

/// The default configuration with one ingredient removed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AblationRow {
    /// The ingredient removed ("none" for the full configuration).
    pub removed: String,
    /// Mean accuracy over seeds (and folds).
    #[serde(deserialize_with = "nan_serde::f64")]
    pub accuracy_mean: f64,
    /// Sample standard deviation over seeds.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub accuracy_std: f64,
    /// `accuracy_mean` minus the full configuration's mean.
    #[serde(deserialize_with = "nan_serde::f64")]
    pub delta: f64,
    /// Accuracy on the worst held-out speaker, when measured per speaker.
    #[serde(default)]
    pub worst_speaker: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_metrics_survive_a_json_round_trip() {
        let run = RunResult {
            seed: 3,
            accuracy: f64::NAN,
            macro_f1: 0.5,
            train_seconds: f64::NAN,
            per_speaker: BTreeMap::from([("theo".to_string(), f64::NAN)]),
            ..RunResult::default()
        };
        let text = serde_json::to_string(&run).unwrap();
        assert!(text.contains("\"accuracy\":null"), "{text}");
        let back: RunResult = serde_json::from_str(&text).unwrap();
        assert!(back.accuracy.is_nan());
        assert!(back.train_seconds.is_nan());
        assert!(back.per_speaker["theo"].is_nan());
        assert_eq!(back.macro_f1, 0.5);
    }

    #[test]
    fn stage_kind_is_a_tag() {
        let stage = LearnedStage {
            config: "dct".into(),
            seed: None,
            stage: StageData::Dct {
                initial: vec![vec![1.0, f32::NAN]],
                learned: vec![],
            },
        };
        let text = serde_json::to_string(&stage).unwrap();
        assert!(text.contains("\"kind\":\"dct\""), "{text}");
        let back: LearnedStage = serde_json::from_str(&text).unwrap();
        match back.stage {
            StageData::Dct { initial, .. } => assert!(initial[0][1].is_nan()),
            other => panic!("wrong kind {other:?}"),
        }
    }

    #[test]
    fn minimal_json_parses_with_defaults() {
        let text = r#"{"title":"t","created":"now","crate_version":"0.1.0"}"#;
        let report: Report = serde_json::from_str(text).unwrap();
        assert!(report.configs.is_empty());
        assert!(report.data.skipped.is_empty());
        assert_eq!(report.machine.cores, 0);
    }
}
