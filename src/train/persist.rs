//! Saving and loading a [`TrainedModel`] as one safetensors file.
//!
//! Tensors are named `"{layer index}.{parameter}"` (e.g. `0.mean`,
//! `1.weight`), stored as little-endian f32 exactly as in memory, so a
//! loaded model gives bit-identical predictions. The configuration
//! (architecture spec, training hyper-parameters, input size, classes,
//! frame context, history, crate version) is JSON in the header metadata
//! under the key `speechfront`. Loading rebuilds the network from the spec
//! and copies every tensor into it, checking names and shapes.
//!
//! The file is written under a temporary name and renamed, so an
//! interrupted save never leaves a half-written model.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::nn::spec::{build, MlpSpec};
use crate::nn::{rng_from_seed, Layer};
use crate::train::config::TrainConfig;
use crate::train::error::TrainError;
use crate::train::fit::History;
use crate::train::model::TrainedModel;

/// Metadata key holding the JSON header.
pub const META_KEY: &str = "speechfront";
/// Format version written and accepted.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct Header {
    format_version: u32,
    crate_version: String,
    spec: MlpSpec,
    train: TrainConfig,
    input_dim: usize,
    n_classes: usize,
    class_names: Vec<String>,
    frame_context: Option<usize>,
    history: History,
}

fn format_err(path: &Path, reason: impl Into<String>) -> TrainError {
    TrainError::Format {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl TrainedModel {
    /// Writes the model to `path` (safetensors).
    ///
    /// # Errors
    /// [`TrainError::Io`] when the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        let header = Header {
            format_version: FORMAT_VERSION,
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            spec: self.spec.clone(),
            train: self.train.clone(),
            input_dim: self.input_dim,
            n_classes: self.n_classes,
            class_names: self.class_names.clone(),
            frame_context: self.frame_context,
            history: self.history.clone(),
        };
        let json = serde_json::to_string(&header).map_err(|e| format_err(path, e.to_string()))?;
        let keys = self.network.param_keys();
        let params = self.network.params();
        let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = keys
            .into_iter()
            .zip(params)
            .map(|(k, p)| {
                let data: Vec<u8> = p.value.iter().flat_map(|v| v.to_le_bytes()).collect();
                (k, p.value.shape().to_vec(), data)
            })
            .collect();
        let mut views = Vec::with_capacity(bytes.len());
        for (k, shape, data) in &bytes {
            let v =
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
                    .map_err(|e| format_err(path, e.to_string()))?;
            views.push((k.clone(), v));
        }
        let meta = HashMap::from([(META_KEY.to_string(), json)]);
        let out = safetensors::serialize(views, Some(meta))
            .map_err(|e| format_err(path, e.to_string()))?;
        let tmp = path.with_extension("safetensors.tmp");
        std::fs::write(&tmp, out).map_err(|source| TrainError::Io {
            path: tmp.clone(),
            source,
        })?;
        std::fs::rename(&tmp, path).map_err(|source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a model written by [`TrainedModel::save`].
    ///
    /// # Errors
    /// [`TrainError::Io`] for an unreadable file, [`TrainError::Format`] for
    /// a file that is not such a model (missing header, unknown version,
    /// missing tensor, wrong shape or dtype).
    pub fn load(path: &Path) -> Result<TrainedModel, TrainError> {
        let bytes = std::fs::read(path).map_err(|source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
            .map_err(|e| format_err(path, e.to_string()))?;
        let json = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get(META_KEY))
            .ok_or_else(|| {
                format_err(
                    path,
                    format!("no '{META_KEY}' metadata: not a speechfront model"),
                )
            })?;
        let h: Header =
            serde_json::from_str(json).map_err(|e| format_err(path, format!("bad header: {e}")))?;
        if h.format_version != FORMAT_VERSION {
            return Err(format_err(
                path,
                format!(
                    "format version {} (expected {FORMAT_VERSION})",
                    h.format_version
                ),
            ));
        }
        let st = safetensors::SafeTensors::deserialize(&bytes)
            .map_err(|e| format_err(path, e.to_string()))?;
        let mut network = build(&h.spec, h.input_dim, h.n_classes, &mut rng_from_seed(0))?;
        let keys = network.param_keys();
        for (key, p) in keys.iter().zip(network.params_mut()) {
            let t = st
                .tensor(key)
                .map_err(|_| format_err(path, format!("missing tensor {key}")))?;
            if t.dtype() != safetensors::Dtype::F32 || t.shape() != p.value.shape() {
                return Err(format_err(
                    path,
                    format!(
                        "tensor {key}: {:?} {:?}, expected F32 {:?}",
                        t.dtype(),
                        t.shape(),
                        p.value.shape()
                    ),
                ));
            }
            let vals = t
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
            for (dst, v) in p.value.iter_mut().zip(vals) {
                *dst = v;
            }
        }
        if st.len() != keys.len() {
            return Err(format_err(
                path,
                format!("{} tensors, the architecture has {}", st.len(), keys.len()),
            ));
        }
        Ok(TrainedModel {
            spec: h.spec,
            train: h.train,
            input_dim: h.input_dim,
            n_classes: h.n_classes,
            class_names: h.class_names,
            frame_context: h.frame_context,
            network,
            history: h.history,
        })
    }
}
