//! Experiments: a configuration (front end, input shaping, classifier,
//! training recipe) trained and tested on a labelled audio folder, one run
//! per (configuration, fold, seed), gathered into a [`crate::report::Report`].
//!
//! # One chain, two engines
//! A configuration is the chain frozen prefix -> trainable suffix -> input
//! shaping -> classifier (see `docs/architecture.md`). A hand-crafted
//! configuration has an empty suffix: its features are a pure function of
//! the audio, computed once per configuration by
//! [`classic::corpus_features`] (through the on-disk
//! [`crate::data::FeatureCache`]), and every seed and fold trains only the
//! classifier. With a learned stage, [`learned::corpus_prefix`] computes
//! the frozen prefix once and [`learned::run_learned`] trains the suffix,
//! the shaping layers' gradients included, with the same objective,
//! stopping rules, ensembles and test-time recipe. Both give a
//! [`TrainedExperiment`] (one model type, one file format; [`trained`]),
//! and learned configurations are reported beside their hand-crafted twins
//! ([`twins`]).
//!
//! # Progress
//! [`compare_with`] reports each run's start, every training epoch (through
//! [`crate::train::EpochObserver`]) and each run's end to a [`Progress`]:
//! [`Lines`] prints one line per finished run; the binary draws indicatif
//! bars on a terminal. Observers only read the epoch records, so watching a
//! run never changes its numbers.
//!
//! # Determinism
//! Every run's randomness (validation split, initial weights, shuffles,
//! dropout, augmentation) derives from its seed; dither derives from the
//! file's relative path. The same seed gives the same numbers whatever the
//! number of threads.

pub mod augment;
pub mod classic;
pub mod compare;
pub mod config;
pub mod corpus;
pub mod learned;
pub mod persist;
pub mod progress;
pub mod speaker_norm;
pub mod studies;
pub mod trained;
pub mod twins;

use std::path::{Path, PathBuf};

pub use compare::{compare, compare_with, CompareOptions};
pub use config::{ExperimentConfig, InputConfig, InputMode};
pub use corpus::Corpus;
pub use progress::{Lines, Progress, RunTag};
pub use trained::{Trained, TrainedExperiment};

use crate::report::StageData;
use crate::train::{History, Metrics};

/// Errors of experiments; each names the file or configuration at fault.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// A configuration file is unreadable or invalid.
    #[error("{}: {reason}", path.display())]
    Config {
        /// The configuration file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The data folder has no usable file.
    #[error("{}: no decodable, labelled audio file", path.display())]
    NoData {
        /// The data folder.
        path: PathBuf,
    },
    /// Data-set errors (scanning, splits, cache).
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    /// Front-end option errors.
    #[error(transparent)]
    Frontend(#[from] crate::frontend::FrontendError),
    /// Training errors (divergence, invalid recipe).
    #[error(transparent)]
    Train(#[from] crate::train::TrainError),
    /// Network construction errors.
    #[error(transparent)]
    Nn(#[from] crate::nn::NnError),
    /// Writing the report failed.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// Anything else, with context.
    #[error("{0}")]
    Other(String),
}

/// What one (configuration, fold, seed) run produced.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// Corpus indices of the test items, in prediction order.
    pub test_items: Vec<usize>,
    /// Predicted class per test item.
    pub predicted: Vec<usize>,
    /// True class per test item.
    pub truth: Vec<usize>,
    /// Accuracy, macro-F1, confusion.
    pub metrics: Metrics,
    /// Per-epoch losses and accuracies.
    pub history: History,
    /// Wall time of training.
    pub train_seconds: f64,
    /// Trainable scalars in the front end.
    pub frontend_params: u64,
    /// Trainable scalars in the classifier.
    pub classifier_params: u64,
    /// Learned stages next to their hand-crafted initial values.
    pub learned: Vec<StageData>,
    /// Learned path: the trained front end's output (before the
    /// normalisation) for the first test item, `(frames, dims)`. None on
    /// the hand-crafted path, whose features are the cached ones.
    pub example_features: Option<ndarray::Array2<f32>>,
    /// Hand-crafted path: each test item's log-posteriors (the scores
    /// behind `predicted`), `(test items, classes)`.
    pub log_posteriors: Option<ndarray::Array2<f32>>,
}

/// A per-item seed from a run seed and the item's relative path, so that
/// per-item randomness does not depend on processing order.
pub fn item_seed(seed: u64, rel_path: &Path) -> u64 {
    let h = blake3::hash(rel_path.to_string_lossy().as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.as_bytes()[..8]);
    u64::from_le_bytes(b) ^ seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
}
