//! The learned path: the frozen prefix cached once, the learned stages and
//! the classifier trained end to end. (Being wired in; see the issue note.)

use ndarray::Array2;

use crate::data::FeatureCache;

use super::config::ExperimentConfig;
use super::corpus::Corpus;
use super::{ExperimentError, RunOutput};

/// The frozen prefix of every utterance (everything before the first
/// learned stage).
///
/// # Errors
/// Always, until the learned pipeline lands.
pub fn corpus_prefix(
    _corpus: &Corpus,
    cfg: &ExperimentConfig,
    _cache: Option<&FeatureCache>,
) -> Result<Vec<Array2<f32>>, ExperimentError> {
    Err(ExperimentError::Other(format!(
        "{}: learned front ends are not wired into experiments yet",
        cfg.name
    )))
}

/// One run of the learned path.
///
/// # Errors
/// Always, until the learned pipeline lands.
pub fn run_learned(
    _corpus: &Corpus,
    cfg: &ExperimentConfig,
    _prefix: &[Array2<f32>],
    _train: &[usize],
    _test: &[usize],
    _seed: u64,
) -> Result<RunOutput, ExperimentError> {
    Err(ExperimentError::Other(format!(
        "{}: learned front ends are not wired into experiments yet",
        cfg.name
    )))
}
