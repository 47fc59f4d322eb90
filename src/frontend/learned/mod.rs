//! Learned counterparts of the front-end stages: each classic stage as a
//! trainable [`Layer`].
//!
//! # Design
//! - **One struct for hand-crafted and learned.** Every stage here takes a
//!   `learn: bool`. With `learn = false` its [`Param`]s are frozen: the
//!   optimizer leaves them alone and `backward` skips their gradients (it still
//!   returns the input gradient, so a frozen stage can sit between two learned
//!   ones). With `learn = true` the same forward runs and the gradients are
//!   accumulated. Nothing else differs, so "MFCC" and "learned MFCC" are the
//!   same code path.
//! - **Classic init reproduces the classic stage.** [`Init::Classic`] builds
//!   parameters from the hand-crafted stage's values (window, mel matrix, log
//!   floor, DCT matrix with lifter, pre-emphasis coefficient, PCEN constants),
//!   passed in as plain arrays and numbers so this module does not depend on
//!   how `frontend` computes them. Before any update the output equals the
//!   classic stage's output to float precision; each layer's tests state the
//!   tolerance and compare against a plain reference computation.
//!   [`Init::Random`] draws from an explicitly passed seeded [`Rng`], at a scale
//!   matched to the classic values so that downstream stages see inputs of the
//!   usual size.
//! - **Parametrisations keep constraints without clipping.** Quantities that
//!   must stay positive are stored through a smooth map: the mel matrix as
//!   `W = V^2` ([`melbank`]), the log offset and the PCEN constants as `exp` of
//!   a free parameter, the PCEN smoothing coefficient through a sigmoid, the
//!   parametric filter widths as `exp`. Gradient steps then can never leave the
//!   valid set, and the optimizer sees an unconstrained problem. Each file
//!   documents why its map was chosen and its cost (e.g. zero weights of `V^2`
//!   have zero gradient, handled by a tiny off-support seed).
//! - **Robust training from random init.** The issue records a collapse of a
//!   reference model whose input standardisation was computed once from the
//!   nearly identical random initial filters. [`norm::FeatureNorm`] is a
//!   differentiable normalisation (per frame, per utterance or per batch) that
//!   sits between the front end and the classifier, so standardisation
//!   follows the filters as they separate instead of being fixed at step 0.
//!   `tests/learned_robust.rs` (16 seeds, random filterbank, mel and DCT,
//!   Kaldi's sample scale): every seed trains at a usual Adam rate; under
//!   stress (rate 0.1) the reference set-up collapses on 8 seeds and this one
//!   on 3, the rest being dead classifier ReLUs after an Adam overshoot; with
//!   LeakyReLU in the classifier none collapses. So: normalise in the network
//!   and prefer a leaky activation in the first hidden layer.
//! - **Normalise after compression when the DCT starts random.** With the
//!   filterbank and mel matrix random too, every channel measures nearly the
//!   same broadband energy: the log-energies share the frame's loudness
//!   (moving by several nats) and differ by a tenth of a nat. Classic DCT
//!   rows past C0 sum to zero and cancel that common mode; random rows do
//!   not, so every coefficient is the loudness times a fixed weight and,
//!   once standardised per frame, every frame is the same vector (0.99997 of
//!   the features' energy in one direction): training stays at chance on
//!   every seed. A per-frame [`norm::FeatureNorm`] right after the
//!   compression (`[frontend.learn.compress_norm]`) removes the common mode
//!   before the DCT (`tests/learned_random_init.rs`).
//!
//! # The stages
//! | file | layer | classic counterpart | parameters |
//! | --- | --- | --- | --- |
//! | [`preemph`] | [`preemph::Preemph`] | pre-emphasis, Kaldi first-sample rule | coefficient |
//! | [`dft`] | [`dft::TimeFilterbank`] | window + real FFT + power/magnitude | `(2 n_bins, frame_len)` basis |
//! | [`melbank`] | [`melbank::MelMatrix`] | dense mel matrix (any preset) | `V`, `W = V^2` |
//! | [`melbank_param`] | [`melbank_param::ParametricMel`] | Kaldi or librosa triangles | centre, log-widths |
//! | [`compress`] | [`compress::LogCompress`] | `ln(max(x, floor))`, dB | `ln delta` |
//! | [`pcen`] | [`pcen::Pcen`] | PCEN (librosa) | `ln alpha, ln delta, ln r, logit s` |
//! | [`dct`] | [`dct::LearnedDct`] | orthonormal DCT-II with lifter | matrix (+ bias) |
//! | [`norm`] | [`norm::FeatureNorm`] | CMVN (utterance) or none | affine (optional) |
//!
//! Matrix-shaped stages run as one matrix multiplication over every frame of
//! the batch (`(batch * frames, n_in)` rows), sharing the product and its
//! backward in a private `rows` module; caches for backward are named fields
//! whose buffers are reused when shapes repeat.
//!
//! # What is the pipeline's business
//! Splitting the chain at its first learned stage (see
//! [`config::LearnConfig::first_learned`]) and caching the frozen prefix,
//! Kaldi's `use_energy` (replacing C0), librosa's `top_db` clipping, deltas:
//! these act on whole utterances or between stages and stay in the pipeline.
//!
//! # Tensor layout
//! Every layer works on `(batch, frames, dims)` f32 tensors ([`ArrayD`] viewed
//! as `Ix3`) and treats frames independently, except [`pcen::Pcen`] (a causal
//! recursion along frames) and [`norm::FeatureNorm`] (statistics over valid
//! frames); both honour [`crate::nn::Ctx::lengths`] and write zeros into
//! padded frames. Per-frame layers compute padded frames like any other; they
//! cannot influence valid frames.
//!
//! # Configuration and export
//! [`config::LearnConfig`] is the serde type for the `[frontend.learn.*]` TOML
//! tables; [`export::export_npy`] writes each stage's current effective
//! parameters next to the classic values they started from.

pub mod compress;
pub mod config;
pub mod dct;
pub mod dft;
pub mod export;
pub mod melbank;
pub mod melbank_param;
pub mod norm;
pub mod pcen;
pub mod preemph;
mod rows;
pub mod shape;

use std::path::PathBuf;

use ndarray::{Array2, Array3, ArrayD, ArrayView3, ArrayViewD, ArrayViewMut2, Ix2, Ix3};

use crate::nn::{Layer, Param, Rng};

pub use config::{InitKind, LearnConfig, StageConfig};
pub use export::{export_npy, Exported};

/// How a learned stage's parameters start.
pub enum Init<'a> {
    /// From the hand-crafted stage: the output equals the classic stage's.
    Classic,
    /// Random, at a scale matched to the classic values, from this generator.
    Random(&'a mut Rng),
}

/// Errors of the learned stages: bad options at construction, failed export.
#[derive(Debug, thiserror::Error)]
pub enum LearnedError {
    /// An option or initial value is out of range.
    #[error("{stage}: {field} = {value}: {reason}")]
    Invalid {
        /// Stage name, e.g. `"time_filterbank"`.
        stage: &'static str,
        /// The offending field.
        field: &'static str,
        /// Its value, printed.
        value: String,
        /// What was expected.
        reason: &'static str,
    },
    /// Creating the export directory failed.
    #[error("creating {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Writing one `.npy` file failed.
    #[error("writing {path}: {source}")]
    Npy {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: ndarray_npy::WriteNpyError,
    },
}

impl LearnedError {
    fn invalid(
        stage: &'static str,
        field: &'static str,
        value: impl ToString,
        reason: &'static str,
    ) -> Self {
        LearnedError::Invalid {
            stage,
            field,
            value: value.to_string(),
            reason,
        }
    }
}

/// A learned stage that can report its parameters for plots.
pub trait LearnedStage: Layer {
    /// Stable stage name used in file names, e.g. `"mel_matrix"`.
    fn stage(&self) -> &'static str;

    /// Current effective parameters (e.g. the mel matrix `V^2`, not `V`) with
    /// the classic values they correspond to.
    fn export(&self) -> Vec<Exported>;
}

/// Views `x` as `(batch, frames, dims)`.
///
/// # Panics
/// When `x` is not 3-D or its last axis is not `dims` (a caller bug).
pub(crate) fn view3<'a>(x: ArrayViewD<'a, f32>, dims: usize, who: &str) -> ArrayView3<'a, f32> {
    let shape = x.shape().to_vec();
    let v = x
        .into_dimensionality::<Ix3>()
        .unwrap_or_else(|_| panic!("{who}: expected (batch, frames, {dims}), got {shape:?}"));
    assert_eq!(
        v.shape()[2],
        dims,
        "{who}: expected (batch, frames, {dims}), got {shape:?}"
    );
    v
}

/// Copies a `(batch, frames, dims)` view into `buf` as `(batch * frames,
/// dims)`, reusing `buf`'s allocation when the shape is unchanged.
pub(crate) fn store_rows(buf: &mut Array2<f32>, x: ArrayView3<'_, f32>) {
    let (b, f, d) = x.dim();
    ensure2(buf, b * f, d);
    for (mut row, src) in buf.rows_mut().into_iter().zip(x.rows()) {
        row.assign(&src);
    }
}

/// Resizes `buf` to `(rows, cols)` when needed (contents then unspecified).
pub(crate) fn ensure2(buf: &mut Array2<f32>, rows: usize, cols: usize) {
    if buf.dim() != (rows, cols) {
        *buf = Array2::zeros((rows, cols));
    }
}

/// Resizes `buf` to `dim` when needed (contents then unspecified).
pub(crate) fn ensure3(buf: &mut Array3<f32>, dim: (usize, usize, usize)) {
    if buf.dim() != dim {
        *buf = Array3::zeros(dim);
    }
}

/// A matrix parameter's value as a 2-D view.
pub(crate) fn mat(p: &Param) -> ndarray::ArrayView2<'_, f32> {
    p.value
        .view()
        .into_dimensionality::<Ix2>()
        .expect("matrix parameter is 2-D")
}

/// A matrix parameter's gradient as a mutable 2-D view.
pub(crate) fn grad_mat(p: &mut Param) -> ArrayViewMut2<'_, f32> {
    p.grad
        .view_mut()
        .into_dimensionality::<Ix2>()
        .expect("matrix parameter is 2-D")
}

/// A parameter that is trainable or frozen according to `learn`.
pub(crate) fn param(name: &str, value: ArrayD<f32>, learn: bool, decay: bool) -> Param {
    if learn {
        Param::new(name, value, decay)
    } else {
        Param::frozen(name, value)
    }
}

/// Draws a standard normal f32.
pub(crate) fn normal(rng: &mut Rng) -> f32 {
    use rand_distr::Distribution;
    rand_distr::StandardNormal.sample(rng)
}
