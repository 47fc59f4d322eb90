//! Typed errors of training, persistence and the baseline.

use std::path::PathBuf;

use thiserror::Error;

use crate::nn::NnError;

/// Why training, saving or loading failed.
#[derive(Debug, Error)]
pub enum TrainError {
    /// An invalid layer/optimizer/spec setting.
    #[error("invalid setting: {0}")]
    Config(#[from] NnError),
    /// Inconsistent training data (sizes, labels).
    #[error("invalid data: {0}")]
    Data(String),
    /// The loss or a gradient became NaN or infinite.
    #[error("epoch {epoch}, batch {batch}: {what}")]
    NonFinite {
        /// 1-based epoch.
        epoch: usize,
        /// 1-based batch within the epoch.
        batch: usize,
        /// What went wrong and where (layer and parameter when known).
        what: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A model file with bad content.
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The linear baseline failed.
    #[error("logistic baseline: {0}")]
    Baseline(String),
}
