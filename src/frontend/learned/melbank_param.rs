//! Parametric mel filterbank: each triangle learns only its centre and its
//! (left and right, or one symmetric) bandwidth.
//!
//! Filter `j` has a centre `c_j` and half-widths `wl_j`, `wr_j` on the mel
//! scale, in units of the classic spacing `delta = (mel(high) - mel(low)) /
//! (n_filters + 1)`:
//!
//! ```text
//! c_j  = mel(low) + delta * u_j                 (u_j = j + 1 classically)
//! wl_j = delta * exp(a_j),  wr_j = delta * exp(b_j)   (a = b = 0 classically;
//!                                                 symmetric: b_j = a_j)
//! feet L, C, R = c - wl, c, c + wr        (space "mel": bins at mel(f_k))
//!               imel(c - wl), imel(c), imel(c + wr)   (space "hz": bins at f_k)
//! T[j, k] = max(0, min((s_k - L) / (C - L), (R - s_k) / (R - C)))
//! W[j, k] = T[j, k] * (2 / (imel(c + wr) - imel(c - wl)) if Slaney area norm)
//! out[j]  = sum_k W[j, k] x[k]
//! ```
//!
//! Classic init reproduces Kaldi's triangles (HTK mel `1127 ln(1 + f/700)`,
//! triangles in mel between neighbouring centres, Nyquist bin excluded) with
//! [`ParametricMelOptions::kaldi`], and librosa's (Slaney mel, triangles in Hz,
//! area norm, Nyquist bin included) with [`ParametricMelOptions::librosa`].
//!
//! # Parametrisation
//! Centres and log-widths in units of `delta` keep every parameter O(1), so
//! one learning rate suits every filter and every sample rate; `exp` keeps the
//! widths positive, so a triangle never inverts, and the feet stay ordered
//! (`imel` is increasing). Centres are free: filters may cross, which the
//! data may want.
//!
//! # Gradients
//! `T` is piecewise linear in the feet; with `s` a bin position,
//! rising side `dT/dL = (s - C) / (C - L)^2`, `dT/dC = -(s - L) / (C - L)^2`;
//! falling side `dT/dR = (s - C) / (R - C)^2`, `dT/dC = (R - s) / (R - C)^2`;
//! zero outside. The gradient is discontinuous where a foot or the centre
//! crosses a bin (a kink), exactly as for ReLU; between kinks it is exact.

use ndarray::{Array1, Array2, ArrayD, ArrayViewD, Ix2};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::rows::FrameMatmul;
use super::{param, Exported, Init, LearnedError, LearnedStage};
use crate::nn::{Ctx, Layer, Param};

const STAGE: &str = "mel_parametric";

// The mel scale and the triangle space are the hand-crafted stage's own
// enums (one enum per concept); the formulas live on `MelScale`.
pub use crate::frontend::stage_options::{MelScale, Triangles as TriangleSpace};

/// Options of [`ParametricMel`]; every field must be set (see the presets).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ParametricMelOptions {
    /// Number of triangles.
    pub n_filters: usize,
    /// FFT size; the input has `n_fft / 2 + 1` bins.
    pub n_fft: usize,
    /// Sample rate in Hz.
    pub sample_rate: f32,
    /// Lowest foot of the classic bank, Hz (Kaldi 20, librosa 0).
    pub low_hz: f32,
    /// Highest foot of the classic bank, Hz (already resolved: Kaldi's
    /// `high_freq <= 0` offset from Nyquist is the caller's business).
    pub high_hz: f32,
    /// Mel formula.
    pub scale: MelScale,
    /// Triangles linear in mel or in Hz.
    pub space: TriangleSpace,
    /// Slaney area norm `2 / (right Hz - left Hz)`.
    pub area_norm: bool,
    /// Whether the Nyquist bin gets weights (Kaldi: no; librosa: yes).
    pub include_nyquist: bool,
    /// One width per filter (both sides) instead of a left and a right one.
    pub symmetric: bool,
}

impl ParametricMelOptions {
    /// Kaldi's `compute-fbank-feats` bank: HTK mel, triangles in mel, 20 Hz
    /// to Nyquist, no norm, no Nyquist bin; asymmetric widths.
    pub fn kaldi(n_filters: usize, n_fft: usize, sample_rate: f32) -> Self {
        ParametricMelOptions {
            n_filters,
            n_fft,
            sample_rate,
            low_hz: 20.0,
            high_hz: sample_rate / 2.0,
            scale: MelScale::Htk,
            space: TriangleSpace::Mel,
            area_norm: false,
            include_nyquist: false,
            symmetric: false,
        }
    }

    /// librosa's `filters.mel` defaults: Slaney mel, triangles in Hz, 0 Hz to
    /// Nyquist, area norm, Nyquist bin included; asymmetric widths.
    pub fn librosa(n_filters: usize, n_fft: usize, sample_rate: f32) -> Self {
        ParametricMelOptions {
            low_hz: 0.0,
            scale: MelScale::Slaney,
            space: TriangleSpace::Hz,
            area_norm: true,
            include_nyquist: true,
            ..Self::kaldi(n_filters, n_fft, sample_rate)
        }
    }

    fn validate(&self) -> Result<(), LearnedError> {
        let bad = |field, value: String, reason| {
            Err(LearnedError::Invalid {
                stage: STAGE,
                field,
                value,
                reason,
            })
        };
        if self.n_filters == 0 {
            return bad("n_filters", "0".into(), "must be positive");
        }
        if self.n_fft < 2 {
            return bad("n_fft", self.n_fft.to_string(), "must be >= 2");
        }
        if !(self.sample_rate.is_finite() && self.sample_rate > 0.0) {
            return bad(
                "sample_rate",
                self.sample_rate.to_string(),
                "must be finite and > 0",
            );
        }
        if !(self.low_hz.is_finite() && self.low_hz >= 0.0) {
            return bad("low_hz", self.low_hz.to_string(), "must be finite and >= 0");
        }
        if !(self.high_hz.is_finite()
            && self.high_hz > self.low_hz
            && self.high_hz <= self.sample_rate / 2.0)
        {
            return bad(
                "high_hz",
                self.high_hz.to_string(),
                "must be in (low_hz, sample_rate / 2]",
            );
        }
        Ok(())
    }
}

/// Mel filterbank with learnable centres and widths.
pub struct ParametricMel {
    opts: ParametricMelOptions,
    n_bins: usize,
    mel_low: f64,
    delta: f64,
    /// `u_j`, `(n_filters,)`.
    centre: Param,
    /// `(a_j, b_j)` or `(a_j)`, `(n_filters, 2)` or `(n_filters, 1)`.
    log_width: Param,
    classic: Array2<f32>,
    /// Filterbank of the last forward, `(n_filters, n_bins)`.
    w: Array2<f32>,
    dw: Array2<f32>,
    /// Input and gradient rows of the product.
    rows: FrameMatmul,
}

/// The feet `(L, C, R)` in the triangle space and the Hz edges for the norm.
struct Feet {
    l: f64,
    c: f64,
    r: f64,
    /// `dL/dl_mel`, `dC/dc_mel`, `dR/dr_mel`.
    dl: f64,
    dc: f64,
    dr: f64,
    /// Hz edges and their derivatives w.r.t. the mel edges.
    l_hz: f64,
    r_hz: f64,
    dl_hz: f64,
    dr_hz: f64,
}

impl ParametricMel {
    /// A bank from `opts`; `Init::Classic` places the triangles of the
    /// classic bank (`u_j = j + 1`, widths one spacing); `Init::Random` draws
    /// sorted centres uniformly in `(0, n_filters + 1)` and log-widths
    /// uniformly in `[-0.5, 0.5)` (widths 0.6 to 1.6 spacings).
    ///
    /// # Errors
    /// Any field of `opts` out of range, naming it.
    pub fn new(
        opts: ParametricMelOptions,
        learn: bool,
        init: Init<'_>,
    ) -> Result<Self, LearnedError> {
        opts.validate()?;
        let j = opts.n_filters;
        let mel_low = opts.scale.mel(opts.low_hz as f64);
        let delta = (opts.scale.mel(opts.high_hz as f64) - mel_low) / (j + 1) as f64;
        let sides = if opts.symmetric { 1 } else { 2 };
        let classic_u = Array1::from_shape_fn(j, |i| (i + 1) as f32);
        let classic_w = Array2::<f32>::zeros((j, sides));
        let (u, a) = match init {
            Init::Classic => (classic_u.clone(), classic_w.clone()),
            Init::Random(rng) => {
                let mut u: Vec<f32> = (0..j)
                    .map(|_| rng.random_range(0.0..(j + 1) as f32))
                    .collect();
                u.sort_by(f32::total_cmp);
                (
                    Array1::from(u),
                    Array2::from_shape_simple_fn((j, sides), || rng.random_range(-0.5f32..0.5)),
                )
            }
        };
        let n_bins = opts.n_fft / 2 + 1;
        let mut layer = ParametricMel {
            opts,
            n_bins,
            mel_low,
            delta,
            centre: param("centre", classic_u.into_dyn(), learn, false),
            log_width: param("log_width", classic_w.into_dyn(), learn, false),
            classic: Array2::zeros((j, n_bins)),
            w: Array2::zeros((j, n_bins)),
            dw: Array2::zeros((j, n_bins)),
            rows: FrameMatmul::new(n_bins, j),
        };
        layer.classic = layer.filters();
        layer.centre.value = u.into_dyn();
        layer.log_width.value = a.into_dyn();
        Ok(layer)
    }

    fn widths(&self, j: usize) -> (f64, f64) {
        let a = &self.log_width.value;
        let left = a[[j, 0]] as f64;
        let right = if self.opts.symmetric {
            left
        } else {
            a[[j, 1]] as f64
        };
        (self.delta * left.exp(), self.delta * right.exp())
    }

    fn feet(&self, j: usize) -> Feet {
        let scale = self.opts.scale;
        let c_mel = self.mel_low + self.delta * self.centre.value[[j]] as f64;
        let (wl, wr) = self.widths(j);
        let (l_mel, r_mel) = (c_mel - wl, c_mel + wr);
        let (l_hz, r_hz) = (scale.hz(l_mel), scale.hz(r_mel));
        let (dl_hz, dr_hz) = (scale.dhz(l_mel), scale.dhz(r_mel));
        match self.opts.space {
            TriangleSpace::Mel => Feet {
                l: l_mel,
                c: c_mel,
                r: r_mel,
                dl: 1.0,
                dc: 1.0,
                dr: 1.0,
                l_hz,
                r_hz,
                dl_hz,
                dr_hz,
            },
            TriangleSpace::Hz => Feet {
                l: l_hz,
                c: scale.hz(c_mel),
                r: r_hz,
                dl: dl_hz,
                dc: scale.dhz(c_mel),
                dr: dr_hz,
                l_hz,
                r_hz,
                dl_hz,
                dr_hz,
            },
        }
    }

    /// Position of bin `k` in the triangle space.
    fn bin_pos(&self, k: usize) -> f64 {
        let hz = k as f64 * self.opts.sample_rate as f64 / self.opts.n_fft as f64;
        match self.opts.space {
            TriangleSpace::Mel => self.opts.scale.mel(hz),
            TriangleSpace::Hz => hz,
        }
    }

    fn active_bins(&self) -> usize {
        if self.opts.include_nyquist {
            self.n_bins
        } else {
            self.n_bins - 1
        }
    }

    /// The current `(n_filters, n_bins)` filterbank.
    pub fn filters(&self) -> Array2<f32> {
        let mut w = Array2::zeros((self.opts.n_filters, self.n_bins));
        for j in 0..self.opts.n_filters {
            let f = self.feet(j);
            let norm = if self.opts.area_norm {
                2.0 / (f.r_hz - f.l_hz)
            } else {
                1.0
            };
            for k in 0..self.active_bins() {
                let s = self.bin_pos(k);
                let t = if s > f.l && s <= f.c {
                    (s - f.l) / (f.c - f.l)
                } else if s > f.c && s < f.r {
                    (f.r - s) / (f.r - f.c)
                } else {
                    0.0
                };
                w[[j, k]] = (t * norm) as f32;
            }
        }
        w
    }

    /// Current centres in Hz.
    pub fn centres_hz(&self) -> Array1<f32> {
        (0..self.opts.n_filters)
            .map(|j| {
                self.opts
                    .scale
                    .hz(self.mel_low + self.delta * self.centre.value[[j]] as f64)
                    as f32
            })
            .collect()
    }

    /// Adds `d loss / d params` given `d loss / d W` in `self.dw`.
    fn param_grads(&mut self) {
        let mut du = vec![0.0f64; self.opts.n_filters];
        let mut da = vec![[0.0f64; 2]; self.opts.n_filters];
        for j in 0..self.opts.n_filters {
            let f = self.feet(j);
            let (wl, wr) = self.widths(j);
            let norm = if self.opts.area_norm {
                2.0 / (f.r_hz - f.l_hz)
            } else {
                1.0
            };
            // d loss / d (L, C, R) in triangle space, and d loss / d norm.
            let (mut gl, mut gc, mut gr, mut gn) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
            for k in 0..self.active_bins() {
                let s = self.bin_pos(k);
                let g = self.dw[[j, k]] as f64;
                if s > f.l && s <= f.c {
                    let d = f.c - f.l;
                    gl += g * norm * (s - f.c) / (d * d);
                    gc -= g * norm * (s - f.l) / (d * d);
                    gn += g * (s - f.l) / d;
                } else if s > f.c && s < f.r {
                    let d = f.r - f.c;
                    gr += g * norm * (s - f.c) / (d * d);
                    gc += g * norm * (f.r - s) / (d * d);
                    gn += g * (f.r - s) / d;
                }
            }
            // To the mel edges l_mel = c - wl, c_mel, r_mel = c + wr.
            let mut gl_mel = gl * f.dl;
            let gc_mel = gc * f.dc;
            let mut gr_mel = gr * f.dr;
            if self.opts.area_norm {
                let span = f.r_hz - f.l_hz;
                let dn = 2.0 / (span * span) * gn;
                gl_mel += dn * f.dl_hz;
                gr_mel -= dn * f.dr_hz;
            }
            // c_mel, l_mel and r_mel all move with u (times delta).
            du[j] = self.delta * (gl_mel + gc_mel + gr_mel);
            // d l_mel / d a = -wl, d r_mel / d b = wr.
            da[j] = [-wl * gl_mel, wr * gr_mel];
        }
        if self.centre.trainable {
            for (g, d) in self.centre.grad.iter_mut().zip(&du) {
                *g += *d as f32;
            }
        }
        if self.log_width.trainable {
            let symmetric = self.opts.symmetric;
            let mut grad = self
                .log_width
                .grad
                .view_mut()
                .into_dimensionality::<Ix2>()
                .expect("2-D");
            for (j, d) in da.iter().enumerate() {
                if symmetric {
                    grad[[j, 0]] += (d[0] + d[1]) as f32;
                } else {
                    grad[[j, 0]] += d[0] as f32;
                    grad[[j, 1]] += d[1] as f32;
                }
            }
        }
    }

    fn grad_rows(&mut self, grad_out: ArrayViewD<'_, f32>) {
        self.rows.load_grad(grad_out, "mel_parametric backward");
        if self.centre.trainable || self.log_width.trainable {
            self.rows.weight_grad(&mut self.dw.view_mut(), 0.0);
            self.param_grads();
        }
    }
}

impl Layer for ParametricMel {
    fn name(&self) -> String {
        format!(
            "mel_parametric({}->{}, {:?})",
            self.n_bins, self.opts.n_filters, self.opts.space
        )
    }

    /// `out = x W^T` with `W` built from the centres and widths (module docs).
    ///
    /// # Shapes
    /// `(batch, frames, n_bins) -> (batch, frames, n_filters)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        self.w = self.filters();
        self.rows.forward(x, self.w.view(), "mel_parametric")
    }

    /// `dx = g W`; `dW = g^T x` reduced to the centres and log-widths through
    /// the piecewise-linear triangle derivatives (module docs).
    ///
    /// # Shapes
    /// `(batch, frames, n_filters) -> (batch, frames, n_bins)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        self.grad_rows(grad_out);
        self.rows.input_grad(self.w.view())
    }

    fn backward_params_only(&mut self, grad_out: ArrayViewD<'_, f32>) {
        self.grad_rows(grad_out);
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.centre, &self.log_width]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.centre, &mut self.log_width]
    }
}

impl LearnedStage for ParametricMel {
    fn stage(&self) -> &'static str {
        STAGE
    }

    fn export(&self) -> Vec<Exported> {
        let classic_hz: Array1<f32> = (0..self.opts.n_filters)
            .map(|j| {
                self.opts
                    .scale
                    .hz(self.mel_low + self.delta * (j + 1) as f64) as f32
            })
            .collect();
        vec![
            Exported {
                name: "filters".into(),
                current: self.filters().into_dyn(),
                classic: self.classic.clone().into_dyn(),
            },
            Exported {
                name: "centres_hz".into(),
                current: self.centres_hz().into_dyn(),
                classic: classic_hz.into_dyn(),
            },
        ]
    }
}

#[cfg(test)]
#[path = "melbank_param_tests.rs"]
mod tests;
