//! A trained experiment in one file: the classifier's safetensors file
//! (weights, architecture, standardisation; see [`crate::train::persist`])
//! with the experiment configuration added to its metadata, so `evaluate`
//! can rebuild the front end from the model file alone.

use std::collections::HashMap;
use std::path::Path;

use crate::train::TrainedModel;

use super::config::ExperimentConfig;
use super::ExperimentError;

/// Metadata key holding the experiment configuration as TOML.
pub const EXPERIMENT_KEY: &str = "speechfront.experiment";

fn err(path: &Path, reason: impl ToString) -> ExperimentError {
    ExperimentError::Config {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Saves `members` (one network, or an ensemble) trained under `cfg` to
/// `path` (written under a temporary name and renamed).
///
/// # Errors
/// I/O errors naming the file.
pub fn save(
    members: &[TrainedModel],
    cfg: &ExperimentConfig,
    path: &Path,
) -> Result<(), ExperimentError> {
    let meta = HashMap::from([(EXPERIMENT_KEY.to_string(), cfg.to_toml_string())]);
    crate::train::persist::save_ensemble(members, &meta, path)?;
    Ok(())
}

/// Loads a model written by [`save`], with its configuration.
///
/// Beyond the tensor checks of [`crate::train::persist::load_ensemble`],
/// the networks must fit the configuration stored with them (see
/// [`super::classic::check_members`]), so an edited header is refused
/// here rather than giving wrong predictions or failing on real data.
///
/// # Errors
/// Unreadable file, not a speechfront experiment model, an invalid
/// configuration inside, or networks that do not fit it; each names
/// `path`.
pub fn load(path: &Path) -> Result<(ExperimentConfig, Vec<TrainedModel>), ExperimentError> {
    let bytes = std::fs::read(path).map_err(|source| crate::train::TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_bytes(&bytes, path)
}

/// [`load`] on the bytes of a model file already in memory; `origin`
/// names the file in errors (it is never opened).
///
/// # Errors
/// As [`load`].
pub fn load_bytes(
    bytes: &[u8],
    origin: &Path,
) -> Result<(ExperimentConfig, Vec<TrainedModel>), ExperimentError> {
    let path = origin;
    let (members, meta) = crate::train::persist::load_ensemble_bytes(bytes, path)?;
    let text = meta.get(EXPERIMENT_KEY).ok_or_else(|| {
        err(
            path,
            format!("no '{EXPERIMENT_KEY}' metadata: not trained by `speechfront train`"),
        )
    })?;
    let cfg = ExperimentConfig::from_toml_str(text, path)
        .map_err(|e| err(path, format!("configuration inside the model: {e}")))?;
    let mut members = members;
    if !cfg.has_learned_stage() {
        super::classic::check_members(&cfg, &mut members).map_err(|r| err(path, r))?;
    }
    Ok((cfg, members))
}
