//! Learned mel filterbank as a dense non-negative matrix.
//!
//! ```text
//! out[f] = sum_k W[f, k] x[k],   W = V ⊙ V   (element-wise square)
//! ```
//!
//! # Parametrisation, and why `V^2`
//! Non-negativity is kept by the map `W = V^2`, never by clipping. At classic
//! init `V = sqrt(mel)`, and `sqrt` then square round-trips in f32 to within
//! one or two ulp, so the layer reproduces the mel matrix to float precision.
//! The alternative, `W = softplus(V)`, cannot represent the exact zeros of
//! the triangles: `softplus(V) = eps` needs `V ≈ ln(eps)`, where the gradient
//! `sigmoid(V) ≈ eps` is as small as the weight itself. That is a property of
//! every smooth map onto `[0, inf)`: where it reaches 0 its derivative is 0.
//! So no smooth parametrisation lets an exact zero grow; the only choice is
//! how small the starting weight is.
//!
//! Here entries outside a filter's initial support start at a tiny *seed*
//! `W = off_support * peak` (peak = the filter's largest classic weight),
//! i.e. `V = sqrt(off_support * peak)`. Under gradient descent a small `V`
//! evolves multiplicatively (`dL/dV = 2 V dL/dW`, so `V` changes by the factor
//! `1 - 2 lr dL/dW` per step): the time to grow from the seed to a useful
//! size is logarithmic in the seed, so a very small seed costs few steps. The
//! default `off_support = 1e-20` adds `1e-20 * peak * sum(x outside)` to each
//! output, below f32 resolution unless the spectrum outside a filter is
//! 1e12 times stronger than inside. `off_support = 0` gives exact zeros that
//! never move (a filter can then only reshape within its triangle).
//!
//! # Random init
//! `V` uniform in `[0, 1)`, squared, then each filter scaled so that its sum
//! equals the mean filter sum of the classic matrix. Output magnitudes then
//! match the classic stage's, so the log and everything after see inputs of
//! the usual size. Random filters spanning every bin are nearly alike at
//! first; see [`super::norm`] for why normalisation must not be frozen at
//! that point.

use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, Zip};
use rand::RngExt;

use super::rows::FrameMatmul;
use super::{mat, param, Exported, Init, LearnedError, LearnedStage};
use crate::nn::{Ctx, Layer, Param};

const STAGE: &str = "mel_matrix";

/// Options of [`MelMatrix`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MelMatrixOptions {
    /// Starting weight of entries outside a filter's classic support,
    /// relative to the filter's peak weight. Default: 1e-20 (below f32
    /// resolution of the output, yet non-zero so the entry can grow); 0 gives
    /// exact zeros that stay zero.
    pub off_support: f32,
}

impl Default for MelMatrixOptions {
    fn default() -> Self {
        MelMatrixOptions { off_support: 1e-20 }
    }
}

/// A non-negative `(n_filters, n_bins)` filterbank matrix `W = V^2`.
pub struct MelMatrix {
    n_bins: usize,
    n_filters: usize,
    v: Param,
    classic: Array2<f32>,
    /// `W = V^2` of the last forward.
    w: Array2<f32>,
    /// Input and gradient rows of the product.
    rows: FrameMatmul,
    /// `d loss / d W`, reused across backward calls.
    dw: Array2<f32>,
}

impl MelMatrix {
    /// A filterbank starting from `mel` (`(n_filters, n_bins)`, the dense
    /// hand-crafted matrix, e.g. Kaldi's triangles without the Nyquist bin
    /// or librosa's Slaney-normalised ones).
    ///
    /// # Errors
    /// An empty matrix, a negative or non-finite weight, a negative or
    /// non-finite `off_support`.
    pub fn new(
        mel: ArrayView2<'_, f32>,
        learn: bool,
        init: Init<'_>,
        opts: MelMatrixOptions,
    ) -> Result<Self, LearnedError> {
        let (n_filters, n_bins) = mel.dim();
        if n_filters == 0 || n_bins == 0 {
            return Err(LearnedError::invalid(
                STAGE,
                "mel.shape",
                format!("{:?}", mel.shape()),
                "must be non-empty",
            ));
        }
        if let Some(v) = mel.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(LearnedError::invalid(
                STAGE,
                "mel",
                v,
                "weights must be finite and >= 0",
            ));
        }
        if !(opts.off_support.is_finite() && opts.off_support >= 0.0) {
            return Err(LearnedError::invalid(
                STAGE,
                "off_support",
                opts.off_support,
                "must be finite and >= 0",
            ));
        }
        let v = match init {
            Init::Classic => {
                let mut v = mel.mapv(f32::sqrt);
                for (mut row, mel_row) in v.rows_mut().into_iter().zip(mel.rows()) {
                    let peak = mel_row.iter().cloned().fold(0.0f32, f32::max);
                    let seed = (opts.off_support * peak).sqrt();
                    row.iter_mut()
                        .filter(|x| **x == 0.0)
                        .for_each(|x| *x = seed);
                }
                v
            }
            Init::Random(rng) => {
                let target = mel.sum() / n_filters as f32;
                let mut w = Array2::from_shape_simple_fn((n_filters, n_bins), || {
                    let u: f32 = rng.random_range(0.0..1.0);
                    u * u
                });
                for mut row in w.rows_mut() {
                    let sum = row.sum();
                    if sum > 0.0 {
                        row.mapv_inplace(|x| x * target / sum);
                    }
                }
                w.mapv(f32::sqrt)
            }
        };
        Ok(MelMatrix {
            n_bins,
            n_filters,
            v: param("v", v.into_dyn(), learn, false),
            classic: mel.to_owned(),
            w: Array2::zeros((n_filters, n_bins)),
            rows: FrameMatmul::new(n_bins, n_filters),
            dw: Array2::zeros((n_filters, n_bins)),
        })
    }

    /// The current filterbank `W = V^2`, `(n_filters, n_bins)`.
    pub fn filters(&self) -> Array2<f32> {
        mat(&self.v).mapv(|v| v * v)
    }

    /// Number of filters (output channels).
    pub fn n_filters(&self) -> usize {
        self.n_filters
    }
}

impl Layer for MelMatrix {
    fn name(&self) -> String {
        format!("mel_matrix({}->{})", self.n_bins, self.n_filters)
    }

    /// `out = x W^T` with `W = V^2`, per frame.
    ///
    /// # Shapes
    /// `(batch, frames, n_bins) -> (batch, frames, n_filters)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        Zip::from(&mut self.w)
            .and(&mat(&self.v))
            .for_each(|w, &v| *w = v * v);
        self.rows.forward(x, self.w.view(), "mel_matrix")
    }

    /// `dx = g W`; `dV += 2 V ⊙ (g^T x)` (skipped when frozen).
    ///
    /// # Shapes
    /// `(batch, frames, n_filters) -> (batch, frames, n_bins)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        self.backward_params_only(grad_out);
        self.rows.input_grad(self.w.view())
    }

    fn backward_params_only(&mut self, grad_out: ArrayViewD<'_, f32>) {
        self.rows.load_grad(grad_out, "mel_matrix backward");
        if !self.v.trainable {
            return;
        }
        self.rows.weight_grad(&mut self.dw.view_mut(), 0.0);
        let Param { value, grad, .. } = &mut self.v;
        Zip::from(grad)
            .and(&*value)
            .and(self.dw.view().into_dyn())
            .for_each(|g, &v, &dw| *g += 2.0 * v * dw);
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.v]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.v]
    }
}

impl LearnedStage for MelMatrix {
    fn stage(&self) -> &'static str {
        STAGE
    }

    fn export(&self) -> Vec<Exported> {
        vec![Exported {
            name: "filters".into(),
            current: self.filters().into_dyn(),
            classic: self.classic.clone().into_dyn(),
        }]
    }
}

#[cfg(test)]
#[path = "melbank_tests.rs"]
mod tests;
