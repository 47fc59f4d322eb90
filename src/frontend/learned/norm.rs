//! Per-utterance feature normalisation as a differentiable layer
//! (CMVN inside the network).
//!
//! For each utterance and channel `c`, over its valid frames `t < len`:
//!
//! ```text
//! mu_c  = mean_t x[t, c]
//! var_c = mean_t (x[t, c] - mu_c)^2
//! xhat  = (x - mu_c) / sqrt(var_c + eps)      (kind MeanVar)
//! xhat  = x - mu_c                            (kind Mean)
//! out   = gamma_c * xhat + beta_c             (optional affine, else out = xhat)
//! ```
//!
//! and `out = 0` on padded frames `t >= len` (lengths from [`Ctx::lengths`]).
//!
//! # Why this layer exists
//! The issue records a reference model with a random-init learned filterbank
//! that collapsed to chance on one seed in three: its input standardisation
//! was computed once, from the nearly identical initial filters; as the
//! filters separated the standardised inputs grew far beyond unit scale, a
//! loss spike followed and killed most first-layer ReLUs. Here the statistics
//! are recomputed on every forward from the current features and
//! differentiated through, so the classifier always sees unit-scale inputs,
//! whatever the filters do, and the front end cannot blow up the classifier's
//! input by rescaling. Statistics are per utterance (not per batch, as batch
//! norm would) so that the layer keeps the [`Layer`] contract that batch
//! items are independent, and evaluation needs no running averages.
//!
//! Per-utterance mean normalisation is Kaldi's `apply-cmvn` with
//! per-utterance statistics; `MeanVar` adds `--norm-vars`.

use ndarray::{Array1, Array2, Array3, ArrayD, ArrayViewD, Axis, Ix1};
use serde::{Deserialize, Serialize};

use super::{ensure3, param, view3, LearnedError};
use crate::nn::{Ctx, Layer, Param};

const STAGE: &str = "utterance_norm";

/// What [`UtteranceNorm`] removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormKind {
    /// Subtract the mean only (CMN).
    Mean,
    /// Subtract the mean and divide by the standard deviation (CMVN). Default:
    /// scale control is what prevents the collapse.
    #[default]
    MeanVar,
}

/// Differentiable per-utterance mean (and variance) normalisation.
pub struct UtteranceNorm {
    dims: usize,
    kind: NormKind,
    eps: f32,
    gamma: Option<Param>,
    beta: Option<Param>,
    /// Normalised input `xhat` of the last training forward.
    xhat: Array3<f32>,
    /// `1 / sqrt(var + eps)` per utterance and channel (1 for `Mean`).
    inv_std: Array2<f32>,
    /// Valid frames per utterance of the last forward.
    lengths: Vec<usize>,
}

impl UtteranceNorm {
    /// Normalisation of `dims` channels. `eps` is added to the variance
    /// (1e-5 is negligible against log-mel or cepstral variances, O(1) to
    /// O(100), and keeps constant or one-frame utterances finite: they map
    /// to 0). With `affine`, a per-channel scale `gamma` (start 1) and shift
    /// `beta` (start 0) follow, trainable when `learn`.
    ///
    /// # Errors
    /// `dims = 0`, `eps` not finite or `<= 0`.
    pub fn new(dims: usize, kind: NormKind, eps: f32, affine: bool, learn: bool) -> Result<Self, LearnedError> {
        if dims == 0 {
            return Err(LearnedError::invalid(STAGE, "dims", 0, "must be positive"));
        }
        if !(eps.is_finite() && eps > 0.0) {
            return Err(LearnedError::invalid(STAGE, "eps", eps, "must be finite and > 0"));
        }
        let (gamma, beta) = if affine {
            (
                Some(param("gamma", Array1::<f32>::ones(dims).into_dyn(), learn, false)),
                Some(param("beta", Array1::<f32>::zeros(dims).into_dyn(), learn, false)),
            )
        } else {
            (None, None)
        };
        Ok(UtteranceNorm {
            dims,
            kind,
            eps,
            gamma,
            beta,
            xhat: Array3::zeros((0, 0, dims)),
            inv_std: Array2::zeros((0, dims)),
            lengths: Vec::new(),
        })
    }
}

fn vec1(p: &Option<Param>) -> Option<ndarray::ArrayView1<'_, f32>> {
    p.as_ref().map(|p| p.value.view().into_dimensionality::<Ix1>().expect("1-D"))
}

impl Layer for UtteranceNorm {
    fn name(&self) -> String {
        format!("utterance_norm({}, {:?})", self.dims, self.kind)
    }

    /// `out = gamma (x - mu) / sqrt(var + eps) + beta` over each utterance's
    /// valid frames; 0 on padded frames.
    ///
    /// # Shapes
    /// `(batch, frames, dims) -> (batch, frames, dims)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let x3 = view3(x, self.dims, "utterance_norm");
        let (b, f, d) = x3.dim();
        self.lengths = match &ctx.lengths {
            Some(l) => {
                assert_eq!(l.len(), b, "utterance_norm: {} lengths for a batch of {b}", l.len());
                l.iter().map(|&n| n.min(f)).collect()
            }
            None => vec![f; b],
        };
        ensure3(&mut self.xhat, (b, f, d));
        self.xhat.fill(0.0);
        self.inv_std = Array2::ones((b, d));
        for (i, &n) in self.lengths.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let valid = x3.index_axis(Axis(0), i);
            let valid = valid.slice(ndarray::s![..n, ..]);
            let mean = valid.mean_axis(Axis(0)).expect("n > 0");
            let mut xh = self.xhat.index_axis_mut(Axis(0), i);
            let mut xh = xh.slice_mut(ndarray::s![..n, ..]);
            xh.assign(&valid);
            xh -= &mean;
            if self.kind == NormKind::MeanVar {
                let var = xh.mapv(|v| v * v).mean_axis(Axis(0)).expect("n > 0");
                let inv = var.mapv(|v| 1.0 / (v + self.eps).sqrt());
                xh *= &inv;
                self.inv_std.row_mut(i).assign(&inv);
            }
        }
        let mut out = self.xhat.clone();
        if let (Some(gamma), Some(beta)) = (vec1(&self.gamma), vec1(&self.beta)) {
            for (i, &n) in self.lengths.iter().enumerate() {
                let mut o = out.index_axis_mut(Axis(0), i);
                let mut o = o.slice_mut(ndarray::s![..n, ..]);
                o *= &gamma;
                o += &beta;
            }
        }
        out.into_dyn()
    }

    /// With `h = g gamma` on valid frames and means over them:
    /// `dx = h - mean(h)` (Mean) or
    /// `dx = inv_std (h - mean(h) - xhat mean(h xhat))` (MeanVar); 0 on padded
    /// frames. `d gamma += sum g xhat`, `d beta += sum g` (skipped when frozen).
    ///
    /// # Shapes
    /// `(batch, frames, dims) -> (batch, frames, dims)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g = view3(grad_out, self.dims, "utterance_norm backward");
        assert_eq!(g.dim(), self.xhat.dim(), "utterance_norm backward: grad_out shape");
        let mut dx = Array3::<f32>::zeros(g.dim());
        let gamma = vec1(&self.gamma).map(|v| v.to_owned());
        let mut dgamma = Array1::<f32>::zeros(self.dims);
        let mut dbeta = Array1::<f32>::zeros(self.dims);
        for (i, &n) in self.lengths.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let gi = g.index_axis(Axis(0), i);
            let gi = gi.slice(ndarray::s![..n, ..]);
            let xh = self.xhat.index_axis(Axis(0), i);
            let xh = xh.slice(ndarray::s![..n, ..]);
            dgamma += &(&gi * &xh).sum_axis(Axis(0));
            dbeta += &gi.sum_axis(Axis(0));
            let mut h = gi.to_owned();
            if let Some(gamma) = &gamma {
                h *= gamma;
            }
            let mean_h = h.mean_axis(Axis(0)).expect("n > 0");
            let mut di = dx.index_axis_mut(Axis(0), i);
            let mut di = di.slice_mut(ndarray::s![..n, ..]);
            di.assign(&h);
            di -= &mean_h;
            if self.kind == NormKind::MeanVar {
                let mean_hx = (&h * &xh).mean_axis(Axis(0)).expect("n > 0");
                di -= &(&xh * &mean_hx);
                di *= &self.inv_std.row(i);
            }
        }
        if let Some(p) = self.gamma.as_mut().filter(|p| p.trainable) {
            p.grad += &dgamma.into_dyn();
        }
        if let Some(p) = self.beta.as_mut().filter(|p| p.trainable) {
            p.grad += &dbeta.into_dyn();
        }
        dx.into_dyn()
    }

    fn params(&self) -> Vec<&Param> {
        self.gamma.iter().chain(self.beta.iter()).collect()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.gamma.iter_mut().chain(self.beta.iter_mut()).collect()
    }
}

#[cfg(test)]
#[path = "norm_tests.rs"]
mod tests;
