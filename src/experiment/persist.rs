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

/// Saves `model` trained under `cfg` to `path` (written under a temporary
/// name and renamed).
///
/// # Errors
/// I/O errors naming the file.
pub fn save(
    model: &TrainedModel,
    cfg: &ExperimentConfig,
    path: &Path,
) -> Result<(), ExperimentError> {
    model.save(path)?;
    let bytes = std::fs::read(path).map_err(|e| err(path, e))?;
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| err(path, e))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| err(path, e))?;
    let mut metadata: HashMap<String, String> = meta.metadata().clone().unwrap_or_default();
    metadata.insert(EXPERIMENT_KEY.to_string(), cfg.to_toml_string());
    let tensors: Vec<(String, safetensors::tensor::TensorView<'_>)> =
        st.tensors().into_iter().collect();
    let out = safetensors::serialize(tensors, Some(metadata)).map_err(|e| err(path, e))?;
    crate::report::write_atomic(path, &out)?;
    Ok(())
}

/// Loads a model written by [`save`], with its configuration.
///
/// # Errors
/// Unreadable file, not a speechfront experiment model, or an invalid
/// configuration inside.
pub fn load(path: &Path) -> Result<(ExperimentConfig, TrainedModel), ExperimentError> {
    let bytes = std::fs::read(path).map_err(|e| err(path, e))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| err(path, e))?;
    let text = meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(EXPERIMENT_KEY))
        .ok_or_else(|| {
            err(
                path,
                format!("no '{EXPERIMENT_KEY}' metadata: not trained by `speechfront train`"),
            )
        })?
        .clone();
    let cfg = ExperimentConfig::from_toml_str(&text, path)?;
    let model = TrainedModel::load(path)?;
    Ok((cfg, model))
}
