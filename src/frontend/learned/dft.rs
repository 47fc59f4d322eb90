//! Time-domain filterbank: the learned counterpart of window + real FFT +
//! power spectrum.
//!
//! A frame `x` (pre-emphasis and DC removal already applied, not windowed) is
//! mapped by a learnable matrix `W = [W_c; W_s]` of shape `(2 n_bins,
//! frame_len)` and each (cos, sin) pair is squared and summed:
//!
//! ```text
//! z = W x,   out[k] = z[k]^2 + z[n_bins + k]^2          (power)
//!            out[k] = sqrt(z[k]^2 + z[n_bins + k]^2)     (magnitude)
//! ```
//!
//! At classic init `W_c[k, n] = w[n] cos(2 pi k n / n_fft)` and
//! `W_s[k, n] = -w[n] sin(2 pi k n / n_fft)` with `n_bins = n_fft / 2 + 1`;
//! zero-padding the frame to `n_fft` is implied by `frame_len <= n_fft` (the
//! padded samples would multiply columns that do not exist). `z` is then the
//! real and imaginary part of the DFT of the windowed frame, and `out` is
//! exactly its power (or magnitude) spectrum.
//!
//! The product runs as one matrix multiplication over all `batch * frames`
//! rows. It costs `2 n_bins * frame_len` multiply-adds per frame against
//! `O(n_fft log n_fft)` for an FFT, the price of a learnable basis.

use crate::nn::matmul::{gemm, matmul};
use ndarray::{s, Array2, ArrayD, ArrayViewD};

use super::{
    ensure2, grad_mat, mat, normal, param, store_rows, view3, Exported, Init, LearnedError,
    LearnedStage,
};
use crate::nn::{Ctx, Layer, Param};

const STAGE: &str = "time_filterbank";

/// What the filterbank outputs per (cos, sin) pair: the fixed FFT stage's
/// enum (`Power`: `z_c^2 + z_s^2`; `Magnitude`: `sqrt(z_c^2 + z_s^2)`, its
/// gradient at an exact zero taken as 0).
pub use crate::frontend::stage_options::SpectrumKind;

/// Learnable windowed-DFT basis followed by squared magnitude pairs.
pub struct TimeFilterbank {
    frame_len: usize,
    n_bins: usize,
    kind: SpectrumKind,
    weight: Param,
    classic: Array2<f32>,
    /// Input frames of the last training forward, `(batch * frames, frame_len)`.
    x: Array2<f32>,
    /// Projections `W x` of the last forward, `(batch * frames, 2 n_bins)`.
    z: Array2<f32>,
    /// Output of the last forward, `(batch * frames, n_bins)` (magnitude backward).
    y: Array2<f32>,
    /// Gradient w.r.t. `z`, reused across backward calls.
    dz: Array2<f32>,
    /// `(batch, frames)` of the last forward.
    lead: (usize, usize),
}

/// The classic basis: rows `w[n] cos(2 pi k n / n_fft)` then `-w[n] sin(...)`,
/// computed in f64 and rounded once.
pub fn dft_basis(window: &[f32], n_fft: usize) -> Array2<f32> {
    let n_bins = n_fft / 2 + 1;
    let len = window.len();
    let mut w = Array2::<f32>::zeros((2 * n_bins, len));
    for k in 0..n_bins {
        for (n, &win) in window.iter().enumerate() {
            // Reduce k n mod n_fft first so the angle stays small and exact.
            let phase = 2.0 * std::f64::consts::PI * ((k * n) % n_fft) as f64 / n_fft as f64;
            w[[k, n]] = (win as f64 * phase.cos()) as f32;
            w[[n_bins + k, n]] = (-(win as f64) * phase.sin()) as f32;
        }
    }
    w
}

impl TimeFilterbank {
    /// A filterbank for frames of `window.len()` samples and an `n_fft`-point
    /// spectrum (`n_fft / 2 + 1` bins).
    ///
    /// `Init::Classic` uses [`dft_basis`]; `Init::Random` draws every entry from
    /// `N(0, sigma^2)` with `sigma^2 = sum(w^2) / (2 frame_len)`, so a random row
    /// has the same expected squared norm as a classic one and the output power
    /// has the classic scale.
    ///
    /// # Errors
    /// Empty window, `frame_len > n_fft`, or a non-finite window value.
    pub fn new(
        window: &[f32],
        n_fft: usize,
        kind: SpectrumKind,
        learn: bool,
        init: Init<'_>,
    ) -> Result<Self, LearnedError> {
        let frame_len = window.len();
        if frame_len == 0 {
            return Err(LearnedError::invalid(
                STAGE,
                "window.len()",
                0,
                "must be positive",
            ));
        }
        if frame_len > n_fft {
            return Err(LearnedError::invalid(
                STAGE,
                "n_fft",
                n_fft,
                "must be >= the frame length",
            ));
        }
        if let Some(v) = window.iter().find(|v| !v.is_finite()) {
            return Err(LearnedError::invalid(STAGE, "window", v, "must be finite"));
        }
        let classic = dft_basis(window, n_fft);
        let value = match init {
            Init::Classic => classic.clone(),
            Init::Random(rng) => {
                let energy: f64 = window.iter().map(|&v| (v as f64).powi(2)).sum();
                let sigma = (energy / (2.0 * frame_len as f64)).sqrt() as f32;
                Array2::from_shape_simple_fn(classic.raw_dim(), || sigma * normal(rng))
            }
        };
        Ok(TimeFilterbank {
            frame_len,
            n_bins: n_fft / 2 + 1,
            kind,
            weight: param("weight", value.into_dyn(), learn, true),
            classic,
            x: Array2::zeros((0, frame_len)),
            z: Array2::zeros((0, 0)),
            y: Array2::zeros((0, 0)),
            dz: Array2::zeros((0, 0)),
            lead: (0, 0),
        })
    }

    /// Number of output bins, `n_fft / 2 + 1`.
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// The current basis `(2 n_bins, frame_len)`: cos rows, then sin rows.
    pub fn weight(&self) -> ndarray::ArrayView2<'_, f32> {
        mat(&self.weight)
    }
}

impl Layer for TimeFilterbank {
    fn name(&self) -> String {
        format!(
            "time_filterbank({}->{}, {:?})",
            self.frame_len, self.n_bins, self.kind
        )
    }

    /// `out[k] = (W_c x)_k^2 + (W_s x)_k^2` (power) or its square root
    /// (magnitude), per frame.
    ///
    /// # Shapes
    /// `(batch, frames, frame_len) -> (batch, frames, n_bins)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let x3 = view3(x, self.frame_len, "time_filterbank");
        let (b, f, _) = x3.dim();
        let rows = b * f;
        self.lead = (b, f);
        store_rows(&mut self.x, x3);
        ensure2(&mut self.z, rows, 2 * self.n_bins);
        // (rows, frame_len) x (frame_len, 2 n_bins) -> (rows, 2 n_bins)
        gemm(
            1.0,
            self.x.view(),
            mat(&self.weight).t(),
            0.0,
            &mut self.z.view_mut(),
        );
        let k = self.n_bins;
        ensure2(&mut self.y, rows, k);
        let zc = self.z.slice(s![.., ..k]);
        let zs = self.z.slice(s![.., k..]);
        let magnitude = self.kind == SpectrumKind::Magnitude;
        ndarray::Zip::from(&mut self.y)
            .and(&zc)
            .and(&zs)
            .for_each(|y, &c, &s| {
                let p = c * c + s * s;
                *y = if magnitude { p.sqrt() } else { p };
            });
        // (rows, n_bins) -> (batch, frames, n_bins)
        self.y
            .clone()
            .into_shape_with_order((b, f, k))
            .expect("rows * bins elements")
            .into_dyn()
    }

    /// With `g = d loss / d out`: `dz_c = 2 z_c g`, `dz_s = 2 z_s g` (power;
    /// magnitude: `z g / out`, 0 where `out = 0`), then `dx = dz W` and
    /// `dW += dz^T x` (skipped when frozen).
    ///
    /// # Shapes
    /// `(batch, frames, n_bins) -> (batch, frames, frame_len)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let dx = self.backward_inner(grad_out, true);
        dx.expect("input gradient requested")
    }

    fn backward_params_only(&mut self, grad_out: ArrayViewD<'_, f32>) {
        let _ = self.backward_inner(grad_out, false);
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.weight]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.weight]
    }
}

impl TimeFilterbank {
    fn backward_inner(
        &mut self,
        grad_out: ArrayViewD<'_, f32>,
        want_dx: bool,
    ) -> Option<ArrayD<f32>> {
        let g = view3(grad_out, self.n_bins, "time_filterbank backward");
        let (b, f) = self.lead;
        assert_eq!(
            g.dim(),
            (b, f, self.n_bins),
            "time_filterbank backward: grad_out shape"
        );
        let rows = b * f;
        let k = self.n_bins;
        ensure2(&mut self.dz, rows, 2 * k);
        let g_std = g.as_standard_layout();
        let g2 = g_std
            .view()
            .into_shape_with_order((rows, k))
            .expect("rows * bins elements");
        let magnitude = self.kind == SpectrumKind::Magnitude;
        for ((mut dz, z), (gr, yr)) in self
            .dz
            .rows_mut()
            .into_iter()
            .zip(self.z.rows())
            .zip(g2.rows().into_iter().zip(self.y.rows()))
        {
            for j in 0..k {
                let factor = if magnitude {
                    if yr[j] > 0.0 {
                        gr[j] / yr[j]
                    } else {
                        0.0
                    }
                } else {
                    2.0 * gr[j]
                };
                dz[j] = factor * z[j];
                dz[k + j] = factor * z[k + j];
            }
        }
        if self.weight.trainable {
            // (2 n_bins, rows) x (rows, frame_len) -> (2 n_bins, frame_len), accumulated.
            gemm(
                1.0,
                self.dz.t(),
                self.x.view(),
                1.0,
                &mut grad_mat(&mut self.weight),
            );
        }
        if !want_dx {
            return None;
        }
        // (rows, 2 n_bins) x (2 n_bins, frame_len) -> (rows, frame_len)
        let dx = matmul(self.dz.view(), mat(&self.weight));
        Some(
            dx.into_shape_with_order((b, f, self.frame_len))
                .expect("rows * frame_len")
                .into_dyn(),
        )
    }
}

impl LearnedStage for TimeFilterbank {
    fn stage(&self) -> &'static str {
        STAGE
    }

    fn export(&self) -> Vec<Exported> {
        vec![Exported {
            name: "weight".into(),
            current: self.weight.value.clone(),
            classic: self.classic.clone().into_dyn(),
        }]
    }
}

#[cfg(test)]
#[path = "dft_tests.rs"]
mod tests;
