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

/// Metadata key marking a model with learned stages (JSON header:
/// classes, members, histories, tensor names).
pub const CHAIN_KEY: &str = "speechfront.chain";

/// Format version of chain files written and accepted.
pub const CHAIN_FORMAT_VERSION: u32 = 1;

/// Whether `path` holds a model with learned stages (a chain file).
///
/// # Errors
/// An unreadable file or one that is not safetensors.
pub fn is_chain(path: &Path) -> Result<bool, ExperimentError> {
    let bytes = std::fs::read(path).map_err(|e| err(path, e))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes)
        .map_err(|e| err(path, crate::train::persist::container_error(&e, &bytes)))?;
    Ok(meta
        .metadata()
        .as_ref()
        .is_some_and(|m| m.contains_key(CHAIN_KEY)))
}

/// Tensor names of one member: `m{k}.{index}.{layer}.{parameter}`.
fn chain_names(k: usize, m: &super::learned::LearnedModel) -> Vec<String> {
    use crate::train::TrainModel;
    m.param_labels()
        .iter()
        .enumerate()
        .map(|(i, l)| format!("m{k}.{i:03}.{l}"))
        .collect()
}

/// Saves a chain (every member's parameters, frozen ones included, as
/// f32 little-endian tensors) with its configuration and classes to
/// `path`, under a temporary name then renamed. Loading rebuilds each
/// member from the configuration and copies the tensors in, so
/// predictions after reload are bit-identical.
///
/// # Errors
/// I/O errors naming the file.
pub fn save_chain(
    chain: &super::learned::ChainModel,
    cfg: &ExperimentConfig,
    classes: &[String],
    path: &Path,
) -> Result<(), ExperimentError> {
    use crate::train::TrainModel;
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    let mut names = Vec::new();
    for (k, m) in chain.members.iter().enumerate() {
        let n = chain_names(k, m);
        for (name, p) in n.iter().zip(m.parameters()) {
            let data: Vec<u8> = p.value.iter().flat_map(|v| v.to_le_bytes()).collect();
            tensors.push((name.clone(), p.value.shape().to_vec(), data));
        }
        names.push(n);
    }
    let header = super::trained::ChainHeader {
        format_version: CHAIN_FORMAT_VERSION,
        crate_version: env!("CARGO_PKG_VERSION").to_string(),
        class_names: classes.to_vec(),
        members: chain.members.len(),
        histories: chain.histories.clone(),
        tensors: names,
    };
    let meta = HashMap::from([
        (EXPERIMENT_KEY.to_string(), cfg.to_toml_string()),
        (
            CHAIN_KEY.to_string(),
            serde_json::to_string(&header).map_err(|e| err(path, e))?,
        ),
    ]);
    let mut views = Vec::with_capacity(tensors.len());
    for (name, shape, data) in &tensors {
        let v = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
            .map_err(|e| err(path, e))?;
        views.push((name.clone(), v));
    }
    let out = safetensors::serialize(views, Some(meta)).map_err(|e| err(path, e))?;
    let tmp = path.with_extension("safetensors.tmp");
    std::fs::write(&tmp, out).map_err(|e| err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| err(path, e))
}

/// Loads a chain written by [`save_chain`]: configuration, classes and
/// every member, each rebuilt from the configuration and filled with the
/// stored tensors (names, shapes and dtype checked; no tensor missing or
/// left over).
///
/// # Errors
/// Unreadable file; missing metadata; unknown version; a tensor missing,
/// extra, of another shape or dtype, or not finite.
pub fn load_chain(
    path: &Path,
) -> Result<(ExperimentConfig, Vec<String>, super::learned::ChainModel), ExperimentError> {
    use crate::train::TrainModel;
    let bytes = std::fs::read(path).map_err(|e| err(path, e))?;
    let container = |e: safetensors::SafeTensorError| {
        err(path, crate::train::persist::container_error(&e, &bytes))
    };
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(container)?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).map_err(container)?;
    let meta = meta.metadata().clone().unwrap_or_default();
    let text = meta
        .get(EXPERIMENT_KEY)
        .ok_or_else(|| err(path, format!("no '{EXPERIMENT_KEY}' metadata")))?;
    let cfg = ExperimentConfig::from_toml_str(text, path)?;
    let header: super::trained::ChainHeader = serde_json::from_str(
        meta.get(CHAIN_KEY)
            .ok_or_else(|| err(path, format!("no '{CHAIN_KEY}' metadata")))?,
    )
    .map_err(|e| err(path, format!("{CHAIN_KEY}: {e}")))?;
    if header.format_version != CHAIN_FORMAT_VERSION {
        return Err(err(
            path,
            format!(
                "chain format version {} (this build reads {CHAIN_FORMAT_VERSION})",
                header.format_version
            ),
        ));
    }
    if header.members == 0 || header.members > 64 || header.class_names.len() < 2 {
        return Err(err(
            path,
            format!(
                "{} members and {} classes: not a trained chain",
                header.members,
                header.class_names.len()
            ),
        ));
    }
    let mut members = Vec::with_capacity(header.members);
    let mut seen = 0usize;
    for k in 0..header.members {
        let mut rng = crate::nn::rng_from_seed(0);
        let mut m = super::learned::build_model(&cfg, header.class_names.len(), &mut rng)?;
        let names = chain_names(k, &m);
        for (name, p) in names.iter().zip(m.parameters_mut()) {
            let t = st
                .tensor(name)
                .map_err(|_| err(path, format!("tensor '{name}' is missing")))?;
            if t.dtype() != safetensors::Dtype::F32 || t.shape() != p.value.shape() {
                return Err(err(
                    path,
                    format!(
                        "tensor '{name}': {:?} {:?}, the configuration needs F32 {:?}",
                        t.dtype(),
                        t.shape(),
                        p.value.shape()
                    ),
                ));
            }
            let values: Vec<f32> = t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if values.iter().any(|v| !v.is_finite()) {
                return Err(err(path, format!("tensor '{name}' has a non-finite value")));
            }
            p.value = ndarray::ArrayD::from_shape_vec(p.value.raw_dim(), values)
                .map_err(|e| err(path, format!("tensor '{name}': {e}")))?;
            seen += 1;
        }
        members.push(m);
    }
    if st.len() != seen {
        return Err(err(
            path,
            format!(
                "{} tensors in the file, the configuration has {seen}",
                st.len()
            ),
        ));
    }
    let histories = if header.histories.len() == header.members {
        header.histories
    } else {
        vec![crate::train::History::default(); header.members]
    };
    Ok((
        cfg,
        header.class_names,
        super::learned::ChainModel { members, histories },
    ))
}
