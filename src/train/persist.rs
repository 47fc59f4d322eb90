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
    /// Absent in files written before dilated context windows existed.
    #[serde(default = "one")]
    frame_dilation: usize,
    history: History,
}

fn one() -> usize {
    1
}

fn format_err(path: &Path, reason: impl Into<String>) -> TrainError {
    TrainError::Format {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Metadata key and tensor-name prefix of ensemble member `k`: member 0
/// uses the plain names, so a one-member file is an ordinary model file.
fn member_names(k: usize) -> (String, String) {
    if k == 0 {
        (META_KEY.to_string(), String::new())
    } else {
        (format!("{META_KEY}.m{k}"), format!("m{k}."))
    }
}

/// Writes `models` (an ensemble; usually one) to `path` as one safetensors
/// file, with `extra` added to the header metadata. Member `k > 0` has its
/// header under `speechfront.m{k}` and its tensors prefixed `m{k}.`.
///
/// # Errors
/// [`TrainError::Io`] when the file cannot be written; [`TrainError::Data`]
/// for an empty ensemble.
pub fn save_ensemble(
    models: &[TrainedModel],
    extra: &HashMap<String, String>,
    path: &Path,
) -> Result<(), TrainError> {
    if models.is_empty() {
        return Err(TrainError::Data("no model to save".into()));
    }
    let mut meta = extra.clone();
    let mut bytes: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (k, m) in models.iter().enumerate() {
        let (meta_key, prefix) = member_names(k);
        let header = Header {
            format_version: FORMAT_VERSION,
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            spec: m.spec.clone(),
            train: m.train.clone(),
            input_dim: m.input_dim,
            n_classes: m.n_classes,
            class_names: m.class_names.clone(),
            frame_context: m.frame_context,
            frame_dilation: m.frame_dilation,
            history: m.history.clone(),
        };
        let json = serde_json::to_string(&header).map_err(|e| format_err(path, e.to_string()))?;
        meta.insert(meta_key, json);
        for (key, p) in m.network.param_keys().into_iter().zip(m.network.params()) {
            let data: Vec<u8> = p.value.iter().flat_map(|v| v.to_le_bytes()).collect();
            bytes.push((format!("{prefix}{key}"), p.value.shape().to_vec(), data));
        }
    }
    let mut views = Vec::with_capacity(bytes.len());
    for (k, shape, data) in &bytes {
        let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
            .map_err(|e| format_err(path, e.to_string()))?;
        views.push((k.clone(), v));
    }
    let out =
        safetensors::serialize(views, Some(meta)).map_err(|e| format_err(path, e.to_string()))?;
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

/// Reads every member of a file written by [`save_ensemble`] (or
/// [`TrainedModel::save`]) and the file's whole header metadata.
///
/// # Errors
/// [`TrainError::Io`] for an unreadable file, [`TrainError::Format`] for
/// a file that is not such a model: see [`load_ensemble_bytes`].
pub fn load_ensemble(
    path: &Path,
) -> Result<(Vec<TrainedModel>, HashMap<String, String>), TrainError> {
    let bytes = std::fs::read(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_ensemble_bytes(&bytes, path)
}

/// [`load_ensemble`] on the bytes of a model file already in memory;
/// `origin` names the file in errors.
///
/// Nothing in the file is trusted: the container must be a well-formed
/// safetensors file that it covers exactly (a truncated or extended file is
/// refused), every tensor must be little-endian F32 with finite values, the
/// architecture a header declares must fit in the values the file holds
/// before anything is allocated for it, every parameter of the rebuilt
/// network must be present with its exact shape, no tensor may be left
/// over, and the header's class names must match its class count.
///
/// # Errors
/// [`TrainError::Format`] naming `origin` and what is wrong.
pub fn load_ensemble_bytes(
    bytes: &[u8],
    origin: &Path,
) -> Result<(Vec<TrainedModel>, HashMap<String, String>), TrainError> {
    let path = origin;
    let st = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| format_err(path, container_error(&e, bytes)))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| format_err(path, container_error(&e, bytes)))?;
    let meta: HashMap<String, String> = meta.metadata().clone().unwrap_or_default();
    if !meta.contains_key(META_KEY) {
        return Err(format_err(
            path,
            format!("no '{META_KEY}' metadata: not a speechfront model"),
        ));
    }
    let values = check_tensor_values(&st).map_err(|r| format_err(path, r))?;
    let mut models = Vec::new();
    let mut claimed: std::collections::HashSet<String> = Default::default();
    let mut declared = 0u64;
    loop {
        let (meta_key, prefix) = member_names(models.len());
        let Some(json) = meta.get(&meta_key) else {
            break;
        };
        let h = parse_header(json, &meta_key, path)?;
        declared = h
            .spec
            .min_weights(h.input_dim, h.n_classes)
            .and_then(|w| w.checked_add(declared))
            .unwrap_or(u64::MAX);
        if declared > values {
            return Err(format_err(
                path,
                format!(
                    "'{meta_key}' declares a network of at least {} weights (input {}, hidden {:?}, {} classes), the file holds {values} values",
                    h.spec
                        .min_weights(h.input_dim, h.n_classes)
                        .map_or_else(|| "2^64".to_string(), |w| w.to_string()),
                    h.input_dim,
                    h.spec.hidden,
                    h.n_classes
                ),
            ));
        }
        let m = load_member(&st, h, &prefix, path)?;
        claimed.extend(
            m.network
                .param_keys()
                .into_iter()
                .map(|k| format!("{prefix}{k}")),
        );
        models.push(m);
    }
    let mut extra: Vec<String> = st
        .names()
        .into_iter()
        .filter(|n| !claimed.contains(*n))
        .map(str::to_string)
        .collect();
    if !extra.is_empty() {
        extra.sort();
        return Err(format_err(
            path,
            format!(
                "tensor(s) the architecture does not have: {}",
                extra.join(", ")
            ),
        ));
    }
    if let Some(m) = models
        .iter()
        .skip(1)
        .find(|m| m.input_dim != models[0].input_dim || m.class_names != models[0].class_names)
    {
        return Err(format_err(
            path,
            format!(
                "ensemble members disagree: input {} with classes {:?} versus input {} with classes {:?}",
                models[0].input_dim, models[0].class_names, m.input_dim, m.class_names
            ),
        ));
    }
    Ok((models, meta))
}

/// A safetensors container error in words, with the sizes involved.
pub(crate) fn container_error(e: &safetensors::SafeTensorError, bytes: &[u8]) -> String {
    use safetensors::SafeTensorError as E;
    let header_len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    let len = bytes.len();
    match (e, header_len) {
        (E::HeaderTooSmall, _) => {
            format!("{len} bytes: too short for a safetensors file (truncated?)")
        }
        (E::HeaderTooLarge, Some(n)) => format!(
            "declares a {n}-byte header, more than the 100 MB safetensors allows (corrupt or not a safetensors file)"
        ),
        (E::InvalidHeaderLength, Some(n)) => format!(
            "declares a {n}-byte header but the file has {len} bytes (truncated or not a safetensors file)"
        ),
        (E::InvalidHeader(_) | E::InvalidHeaderDeserialization(_), _) => {
            format!("safetensors header unreadable: {e}")
        }
        (E::MetadataIncompleteBuffer, _) => format!(
            "the tensors the header declares do not cover the file's {len} bytes exactly (truncated or extended)"
        ),
        (E::InvalidOffset(name), _) => {
            format!("tensor '{name}': its data offsets do not follow the previous tensor's or exceed the file (corrupt header)")
        }
        (E::TensorInvalidInfo | E::ValidationOverflow, _) => {
            format!("a tensor's shape, type and data offsets disagree ({e})")
        }
        _ => format!("not a readable safetensors file: {e}"),
    }
}

/// Checks that every tensor is F32 with finite values; returns how many
/// values the file holds in all.
fn check_tensor_values(st: &safetensors::SafeTensors<'_>) -> Result<u64, String> {
    let mut total = 0u64;
    let mut names: Vec<&str> = st.names();
    names.sort();
    for name in names {
        let t = st.tensor(name).map_err(|e| e.to_string())?;
        if t.dtype() != safetensors::Dtype::F32 {
            return Err(format!("tensor {name}: type {:?}, expected F32", t.dtype()));
        }
        let data = t.data();
        if let Some(i) = data
            .chunks_exact(4)
            .position(|c| !f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite())
        {
            let c = &data[4 * i..4 * i + 4];
            return Err(format!(
                "tensor {name}: value {i} of {} is {} (weights must be finite)",
                data.len() / 4,
                f32::from_le_bytes([c[0], c[1], c[2], c[3]])
            ));
        }
        total += (data.len() / 4) as u64;
    }
    Ok(total)
}

/// One member's header JSON, checked for what the tensors cannot show.
fn parse_header(json: &str, key: &str, path: &Path) -> Result<Header, TrainError> {
    let h: Header = serde_json::from_str(json)
        .map_err(|e| format_err(path, format!("bad header '{key}': {e}")))?;
    if h.format_version != FORMAT_VERSION {
        return Err(format_err(
            path,
            format!(
                "format version {} (expected {FORMAT_VERSION})",
                h.format_version
            ),
        ));
    }
    if !h.class_names.is_empty() && h.class_names.len() != h.n_classes {
        return Err(format_err(
            path,
            format!(
                "'{key}' declares {} classes but names {}",
                h.n_classes,
                h.class_names.len()
            ),
        ));
    }
    if let Some(k) = h.frame_context {
        let width = k.checked_mul(2).and_then(|w| w.checked_add(1));
        let reach = k.checked_mul(h.frame_dilation.max(1));
        if width.is_none_or(|w| w > h.input_dim) || reach.is_none() {
            return Err(format_err(
                path,
                format!(
                    "'{key}' declares a context of +-{k} frames (dilation {}) over {} inputs: more frames than inputs",
                    h.frame_dilation, h.input_dim
                ),
            ));
        }
    }
    Ok(h)
}

/// One member: its checked header and its tensors under `prefix`.
fn load_member(
    st: &safetensors::SafeTensors<'_>,
    h: Header,
    prefix: &str,
    path: &Path,
) -> Result<TrainedModel, TrainError> {
    let mut network = build(&h.spec, h.input_dim, h.n_classes, &mut rng_from_seed(0))
        .map_err(|e| format_err(path, format!("header architecture: {e}")))?;
    let keys = network.param_keys();
    for (key, p) in keys.iter().zip(network.params_mut()) {
        let key = format!("{prefix}{key}");
        let t = st.tensor(&key).map_err(|_| {
            format_err(
                path,
                format!(
                    "missing tensor {key} (shape {:?} in the header's architecture)",
                    p.value.shape()
                ),
            )
        })?;
        if t.shape() != p.value.shape() {
            return Err(format_err(
                path,
                format!(
                    "tensor {key}: shape {:?}, the header's architecture needs {:?}",
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
    Ok(TrainedModel {
        spec: h.spec,
        train: h.train,
        input_dim: h.input_dim,
        n_classes: h.n_classes,
        class_names: h.class_names,
        frame_context: h.frame_context,
        frame_dilation: h.frame_dilation.max(1),
        network,
        history: h.history,
    })
}

impl TrainedModel {
    /// Writes the model to `path` (safetensors).
    ///
    /// # Errors
    /// [`TrainError::Io`] when the file cannot be written.
    pub fn save(&self, path: &Path) -> Result<(), TrainError> {
        save_ensemble(std::slice::from_ref(self), &HashMap::new(), path)
    }

    /// Reads a model written by [`TrainedModel::save`].
    ///
    /// # Errors
    /// [`TrainError::Io`] for an unreadable file, [`TrainError::Format`] for
    /// a file that is not such a model (missing header, unknown version,
    /// missing tensor, wrong shape or dtype) or holds an ensemble (use
    /// [`load_ensemble`]).
    pub fn load(path: &Path) -> Result<TrainedModel, TrainError> {
        let (mut models, _) = load_ensemble(path)?;
        if models.len() != 1 {
            return Err(format_err(
                path,
                format!(
                    "an ensemble of {} networks: use load_ensemble",
                    models.len()
                ),
            ));
        }
        Ok(models.remove(0))
    }
}
