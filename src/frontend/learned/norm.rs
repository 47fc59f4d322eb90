//! Feature normalisation inside the network, between the front end and the
//! classifier, as a differentiable layer.
//!
//! Three groupings of the statistics, all over valid frames only (lengths
//! from [`Ctx::lengths`]; padded frames give 0 and receive no gradient):
//!
//! ```text
//! utterance: per utterance and channel c, over frames t:  mu_c, var_c
//! frame:     per frame t, over channels c:                 mu_t, var_t
//! batch:     per channel c, over every valid frame of the batch (training);
//!            running averages of those in evaluation
//! xhat = (x - mu) / sqrt(var + eps)     (utterance_mean: xhat = x - mu)
//! out  = gamma_c * xhat + beta_c        (optional affine; else out = xhat)
//! ```
//!
//! # Why this layer exists
//! The issue records a reference model with a random-init learned filterbank
//! that collapsed to chance on one seed in three: its input standardisation
//! was computed once, from the nearly identical initial filters; as the
//! filters separated the standardised inputs grew far beyond unit scale, a
//! loss spike followed and killed most first-layer ReLUs. Here the statistics
//! are recomputed on every forward from the current features and
//! differentiated through, so the classifier sees unit-scale inputs whatever
//! the filters do, and the front end cannot blow the classifier's inputs up by
//! rescaling.
//!
//! # Which grouping
//! - `frame` (default) normalises each frame across its channels, like layer
//!   norm: batch items stay independent (the [`Layer`] contract), training and
//!   evaluation compute the same thing, and the spectral *shape* of a frame
//!   survives. It removes each frame's overall level and spread.
//! - `utterance` is Kaldi's per-utterance CMVN (`utterance_mean`: CMN only).
//!   It removes each utterance's mean feature vector, so it suits a
//!   classifier that sees the frames' trajectory (flatten pooling); followed by
//!   mean pooling it outputs zeros, and by mean+std pooling constants, so
//!   a classifier on pooled features learns nothing from it.
//! - `batch` is batch normalisation per channel: nothing is removed from any
//!   single utterance, but in training the items of a batch share statistics
//!   (the one exception to batch-item independence, as in every batch norm);
//!   evaluation uses running averages (`momentum` 0.1, population variance),
//!   kept as frozen parameters so that checkpoints carry them.

use ndarray::{
    s, Array1, Array2, Array3, ArrayD, ArrayView1, ArrayView2, ArrayViewD, ArrayViewMut2, Axis, Ix1,
};
use serde::{Deserialize, Serialize};

use super::{ensure3, param, view3, LearnedError};
use crate::nn::{Ctx, Layer, Mode, Param};

const STAGE: &str = "norm";

/// Default variance offset: negligible against feature variances of O(1).
pub const DEFAULT_EPS: f32 = 1e-5;

/// Default weight of a new batch in the running averages.
pub const DEFAULT_MOMENTUM: f32 = 0.1;

/// The grouping of [`FeatureNorm`]'s statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormKind {
    /// Per frame over channels (layer norm). Default: batch-independent,
    /// keeps the spectral shape, same in training and evaluation.
    #[default]
    Frame,
    /// Per utterance and channel over frames, mean only (CMN).
    UtteranceMean,
    /// Per utterance and channel over frames, mean and variance (CMVN).
    UtteranceMeanVar,
    /// Per channel over the batch's valid frames; running averages in evaluation.
    Batch,
}

/// Differentiable feature normalisation; see the module docs.
pub struct FeatureNorm {
    dims: usize,
    kind: NormKind,
    eps: f32,
    momentum: f32,
    gamma: Option<Param>,
    beta: Option<Param>,
    running_mean: Param,
    running_var: Param,
    /// Normalised input `xhat` of the last forward, `(batch, frames, dims)`.
    xhat: Array3<f32>,
    /// `1 / sqrt(var + eps)` per statistics group of the last forward, one
    /// vector per utterance (utterance: per channel; frame: per valid frame)
    /// or a single one (batch: per channel).
    inv_std: Vec<Array1<f32>>,
    /// Valid frames per utterance of the last forward.
    lengths: Vec<usize>,
    /// Whether the last forward used the running averages (batch, evaluation).
    used_running: bool,
}

/// Normalises each column of `x` over its rows into `xhat`; returns
/// `1 / sqrt(var + eps)` per column (ones when `variance` is false).
fn normalize_columns(
    x: ArrayView2<'_, f32>,
    mut xhat: ArrayViewMut2<'_, f32>,
    variance: bool,
    eps: f32,
) -> Array1<f32> {
    let mean = x.mean_axis(Axis(0)).expect("at least one row");
    xhat.assign(&x);
    xhat -= &mean;
    if !variance {
        return Array1::ones(x.ncols());
    }
    let var = xhat
        .mapv(|v| v * v)
        .mean_axis(Axis(0))
        .expect("at least one row");
    let inv = var.mapv(|v| 1.0 / (v + eps).sqrt());
    xhat *= &inv;
    inv
}

/// Backward of [`normalize_columns`]: with `h = d loss / d xhat` and means
/// over rows, `dx = inv (h - mean(h) - xhat mean(h xhat))` (variance) or
/// `dx = h - mean(h)`.
fn normalize_columns_backward(
    h: ArrayView2<'_, f32>,
    xhat: ArrayView2<'_, f32>,
    inv: ArrayView1<'_, f32>,
    variance: bool,
    mut dx: ArrayViewMut2<'_, f32>,
) {
    let mean_h = h.mean_axis(Axis(0)).expect("at least one row");
    dx.assign(&h);
    dx -= &mean_h;
    if variance {
        let mean_hx = (&h * &xhat).mean_axis(Axis(0)).expect("at least one row");
        dx -= &(&xhat * &mean_hx);
        dx *= &inv;
    }
}

impl FeatureNorm {
    /// Normalisation of `dims` channels.
    ///
    /// `eps` is added to the variance (1e-5: negligible against log-mel or
    /// cepstral variances, O(1) to O(100), and keeps constant or one-frame
    /// groups finite: they map to 0). `momentum` weighs a new batch in the
    /// running averages of kind `batch` (0.1, the usual batch-norm value).
    /// With `affine`, a per-channel scale `gamma` (start 1) and shift `beta`
    /// (start 0) follow, trainable when `learn`.
    ///
    /// # Errors
    /// `dims = 0`, `eps` not finite or `<= 0`, `momentum` outside `(0, 1]`.
    pub fn new(
        dims: usize,
        kind: NormKind,
        eps: f32,
        momentum: f32,
        affine: bool,
        learn: bool,
    ) -> Result<Self, LearnedError> {
        if dims == 0 {
            return Err(LearnedError::invalid(STAGE, "dims", 0, "must be positive"));
        }
        if !(eps.is_finite() && eps > 0.0) {
            return Err(LearnedError::invalid(
                STAGE,
                "eps",
                eps,
                "must be finite and > 0",
            ));
        }
        if !(momentum > 0.0 && momentum <= 1.0) {
            return Err(LearnedError::invalid(
                STAGE,
                "momentum",
                momentum,
                "must be in (0, 1]",
            ));
        }
        let vector = |v: f32| Array1::<f32>::from_elem(dims, v).into_dyn();
        Ok(FeatureNorm {
            dims,
            kind,
            eps,
            momentum,
            gamma: affine.then(|| param("gamma", vector(1.0), learn, false)),
            beta: affine.then(|| param("beta", vector(0.0), learn, false)),
            running_mean: Param::frozen("running_mean", vector(0.0)),
            running_var: Param::frozen("running_var", vector(1.0)),
            xhat: Array3::zeros((0, 0, dims)),
            inv_std: Vec::new(),
            lengths: Vec::new(),
            used_running: false,
        })
    }

    /// Batch kind: the valid rows of `x` stacked, `(sum of lengths, dims)`.
    fn gather(&self, x: &ndarray::ArrayView3<'_, f32>) -> Array2<f32> {
        let total: usize = self.lengths.iter().sum();
        let mut rows = Array2::zeros((total, self.dims));
        let mut at = 0;
        for (i, &n) in self.lengths.iter().enumerate() {
            rows.slice_mut(s![at..at + n, ..])
                .assign(&x.slice(s![i, ..n, ..]));
            at += n;
        }
        rows
    }

    /// Batch kind: writes stacked rows back into the valid frames of `out`.
    fn scatter(&self, rows: ArrayView2<'_, f32>, out: &mut Array3<f32>) {
        let mut at = 0;
        for (i, &n) in self.lengths.iter().enumerate() {
            out.slice_mut(s![i, ..n, ..])
                .assign(&rows.slice(s![at..at + n, ..]));
            at += n;
        }
    }

    fn forward_batch(&mut self, x3: &ndarray::ArrayView3<'_, f32>, training: bool) {
        let rows = self.gather(x3);
        let mut xhat = Array2::zeros(rows.raw_dim());
        self.used_running = !training || rows.nrows() == 0;
        if self.used_running {
            let mean = self
                .running_mean
                .value
                .view()
                .into_dimensionality::<Ix1>()
                .expect("1-D");
            let inv = self.running_var.value.mapv(|v| 1.0 / (v + self.eps).sqrt());
            let inv = inv.into_dimensionality::<Ix1>().expect("1-D");
            xhat.assign(&rows);
            xhat -= &mean;
            xhat *= &inv;
            self.inv_std = vec![inv];
        } else {
            let inv = normalize_columns(rows.view(), xhat.view_mut(), true, self.eps);
            let mean = rows.mean_axis(Axis(0)).expect("rows > 0");
            let var = rows.var_axis(Axis(0), 0.0);
            let m = self.momentum;
            self.running_mean
                .value
                .zip_mut_with(&mean.into_dyn(), |r, &v| *r = (1.0 - m) * *r + m * v);
            self.running_var
                .value
                .zip_mut_with(&var.into_dyn(), |r, &v| *r = (1.0 - m) * *r + m * v);
            self.inv_std = vec![inv];
        }
        let mut xh3 = std::mem::take(&mut self.xhat);
        self.scatter(xhat.view(), &mut xh3);
        self.xhat = xh3;
    }
}

fn vec1(p: &Option<Param>) -> Option<ArrayView1<'_, f32>> {
    p.as_ref()
        .map(|p| p.value.view().into_dimensionality::<Ix1>().expect("1-D"))
}

impl Layer for FeatureNorm {
    fn name(&self) -> String {
        format!("norm({}, {:?})", self.dims, self.kind)
    }

    /// `out = gamma (x - mu) / sqrt(var + eps) + beta` with the statistics
    /// of the module docs; 0 on padded frames.
    ///
    /// # Shapes
    /// `(batch, frames, dims) -> (batch, frames, dims)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let x3 = view3(x, self.dims, "norm");
        let (b, f, d) = x3.dim();
        self.lengths = match &ctx.lengths {
            Some(l) => {
                assert_eq!(l.len(), b, "norm: {} lengths for a batch of {b}", l.len());
                l.iter().map(|&n| n.min(f)).collect()
            }
            None => vec![f; b],
        };
        ensure3(&mut self.xhat, (b, f, d));
        self.xhat.fill(0.0);
        self.inv_std.clear();
        match self.kind {
            NormKind::Batch => self.forward_batch(&x3, ctx.mode == Mode::Train),
            kind => {
                for (i, &n) in self.lengths.iter().enumerate() {
                    let xi = x3.slice(s![i, ..n, ..]);
                    let xh = self.xhat.slice_mut(s![i, ..n, ..]);
                    let inv = match (kind, n) {
                        (_, 0) => Array1::zeros(0),
                        (NormKind::Frame, _) => {
                            normalize_columns(xi.t(), xh.reversed_axes(), true, self.eps)
                        }
                        (NormKind::UtteranceMean, _) => normalize_columns(xi, xh, false, self.eps),
                        _ => normalize_columns(xi, xh, true, self.eps),
                    };
                    self.inv_std.push(inv);
                }
            }
        }
        let mut out = self.xhat.clone();
        if let (Some(gamma), Some(beta)) = (vec1(&self.gamma), vec1(&self.beta)) {
            for (i, &n) in self.lengths.iter().enumerate() {
                let mut o = out.slice_mut(s![i, ..n, ..]);
                o *= &gamma;
                o += &beta;
            }
        }
        out.into_dyn()
    }

    /// With `h = g gamma` on valid frames and means over each statistics
    /// group: `dx = inv_std (h - mean(h) - xhat mean(h xhat))` (CMN:
    /// `dx = h - mean(h)`; batch in evaluation: `dx = inv_std h`); 0 on padded
    /// frames. `d gamma += sum g xhat`, `d beta += sum g` (skipped when frozen).
    ///
    /// # Shapes
    /// `(batch, frames, dims) -> (batch, frames, dims)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g = view3(grad_out, self.dims, "norm backward");
        assert_eq!(g.dim(), self.xhat.dim(), "norm backward: grad_out shape");
        let mut h = Array3::<f32>::zeros(g.dim());
        let mut dgamma = Array1::<f32>::zeros(self.dims);
        let mut dbeta = Array1::<f32>::zeros(self.dims);
        for (i, &n) in self.lengths.iter().enumerate() {
            let gi = g.slice(s![i, ..n, ..]);
            let xh = self.xhat.slice(s![i, ..n, ..]);
            dgamma += &(&gi * &xh).sum_axis(Axis(0));
            dbeta += &gi.sum_axis(Axis(0));
            let mut hi = h.slice_mut(s![i, ..n, ..]);
            hi.assign(&gi);
            if let Some(gamma) = vec1(&self.gamma) {
                hi *= &gamma;
            }
        }
        let mut dx = Array3::<f32>::zeros(g.dim());
        match self.kind {
            NormKind::Batch if self.used_running => {
                dx.assign(&h);
                dx *= &self.inv_std[0];
            }
            NormKind::Batch => {
                let (hr, xr) = (self.gather(&h.view()), self.gather(&self.xhat.view()));
                let mut dr = Array2::zeros(hr.raw_dim());
                normalize_columns_backward(
                    hr.view(),
                    xr.view(),
                    self.inv_std[0].view(),
                    true,
                    dr.view_mut(),
                );
                self.scatter(dr.view(), &mut dx);
            }
            kind => {
                for (i, &n) in self.lengths.iter().enumerate() {
                    if n == 0 {
                        continue;
                    }
                    let (hi, xh) = (h.slice(s![i, ..n, ..]), self.xhat.slice(s![i, ..n, ..]));
                    let di = dx.slice_mut(s![i, ..n, ..]);
                    let inv = self.inv_std[i].view();
                    match kind {
                        NormKind::Frame => normalize_columns_backward(
                            hi.t(),
                            xh.t(),
                            inv,
                            true,
                            di.reversed_axes(),
                        ),
                        NormKind::UtteranceMean => {
                            normalize_columns_backward(hi, xh, inv, false, di)
                        }
                        _ => normalize_columns_backward(hi, xh, inv, true, di),
                    }
                }
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

    /// `gamma`, `beta` (when affine), then the frozen `running_mean` and
    /// `running_var` (listed so that checkpoints save them).
    fn params(&self) -> Vec<&Param> {
        self.gamma
            .iter()
            .chain(self.beta.iter())
            .chain([&self.running_mean, &self.running_var])
            .collect()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.gamma
            .iter_mut()
            .chain(self.beta.iter_mut())
            .chain([&mut self.running_mean, &mut self.running_var])
            .collect()
    }
}

#[cfg(test)]
#[path = "norm_tests.rs"]
mod tests;
