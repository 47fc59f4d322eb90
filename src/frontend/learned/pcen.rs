//! Per-channel energy normalisation (PCEN) with learnable per-channel
//! constants, as an alternative to the log.
//!
//! For each utterance and channel, over its valid frames `t < len`:
//!
//! ```text
//! M[0] = E[0],  M[t] = (1 - s) M[t-1] + s E[t]          (smoother)
//! out[t] = (E[t] / (eps + M[t])^alpha + delta)^r - delta^r
//! alpha = exp(a), delta = exp(d), r = exp(q), s = sigmoid(z)
//! ```
//!
//! and `out = 0` on padded frames (lengths from [`Ctx::lengths`]). `M[0] =
//! E[0]` is librosa's initial state (`lfilter_zi` scaled by the first frame:
//! the smoother starts in steady state), so a constant input gives a constant
//! output from the first frame.
//!
//! # Parametrisation
//! `alpha`, `delta` and `r` are positive and span decades in practice, so
//! they are stored as logs (as in Wang et al. 2017 and LEAF); `s` must stay
//! in `(0, 1)` for the smoother to be stable and is stored as a logit. `eps`
//! (1e-6, librosa's default) is fixed: it only guards the division.
//!
//! # Backward
//! The smoother is a causal recursion, so its gradient runs backward in time:
//! with `gM[t]` the total gradient reaching `M[t]`,
//! `gM[t] = (d out[t] / d M[t]) g[t] + (1 - s) gM[t+1]`,
//! `gE[t] = (d out[t] / d E[t])_direct g[t] + s gM[t]` (`t >= 1`; `gE[0]`
//! takes `gM[0]` whole), `gs = sum_{t>=1} gM[t] (E[t] - M[t-1])`.
//! Padded frames neither feed nor receive any of it.

use ndarray::{Array1, Array3, ArrayD, ArrayViewD};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{ensure3, param, view3, Exported, Init, LearnedError, LearnedStage};
use crate::nn::{Ctx, Layer, Param};

const STAGE: &str = "pcen";

/// The classic PCEN constants.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PcenConstants {
    /// Gain-normalisation exponent. Default 0.98 (librosa, Wang et al.).
    pub alpha: f32,
    /// Bias added before compression. Default 2 (librosa).
    pub delta: f32,
    /// Compression exponent. Default 0.5 (librosa).
    pub r: f32,
    /// Smoother weight per frame, in (0, 1). Default 0.025 (Wang et al.);
    /// librosa derives it from a time constant, see [`smoothing_from_time_constant`].
    pub s: f32,
    /// Division guard. Default 1e-6 (librosa).
    pub eps: f32,
}

impl Default for PcenConstants {
    fn default() -> Self {
        PcenConstants {
            alpha: 0.98,
            delta: 2.0,
            r: 0.5,
            s: 0.025,
            eps: 1e-6,
        }
    }
}

/// librosa's smoother weight for a time constant (seconds) at a frame rate
/// (frames per second): `T = tc * rate`, `s = (sqrt(1 + 4 T^2) - 1) / (2 T^2)`.
pub fn smoothing_from_time_constant(time_constant_s: f64, frame_rate_hz: f64) -> f64 {
    let t = time_constant_s * frame_rate_hz;
    ((1.0 + 4.0 * t * t).sqrt() - 1.0) / (2.0 * t * t)
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// PCEN with learnable per-channel `alpha`, `delta`, `r` and `s`.
pub struct Pcen {
    n_channels: usize,
    eps: f32,
    classic: PcenConstants,
    log_alpha: Param,
    log_delta: Param,
    log_r: Param,
    logit_s: Param,
    /// Input energies `E` of the last forward.
    e: Array3<f32>,
    /// Smoother state `M` of the last forward.
    m: Array3<f32>,
    /// `ln(eps + M)`, cached for backward.
    ln_d: Array3<f32>,
    /// `(eps + M)^-alpha`, cached for backward.
    gain: Array3<f32>,
    /// `A = E gain + delta`, cached for backward.
    a: Array3<f32>,
    /// `ln A`, cached for backward.
    ln_a: Array3<f32>,
    lengths: Vec<usize>,
}

/// Per-channel constants in natural units, for one pass.
struct Values {
    alpha: Array1<f32>,
    delta: Array1<f32>,
    r: Array1<f32>,
    s: Array1<f32>,
}

impl Pcen {
    /// PCEN over `n_channels` channels. `Init::Classic` uses `constants` in
    /// every channel; `Init::Random` adds an independent uniform draw in
    /// `[-0.5, 0.5)` to each stored parameter (log or logit), a spread of
    /// about x1.6 around the classic values.
    ///
    /// # Errors
    /// `n_channels = 0`; `alpha`, `delta`, `r` or `eps` not finite and
    /// positive; `s` outside `(0, 1)`.
    pub fn new(
        n_channels: usize,
        constants: PcenConstants,
        learn: bool,
        init: Init<'_>,
    ) -> Result<Self, LearnedError> {
        if n_channels == 0 {
            return Err(LearnedError::invalid(
                STAGE,
                "n_channels",
                0,
                "must be positive",
            ));
        }
        let c = constants;
        for (field, v) in [
            ("alpha", c.alpha),
            ("delta", c.delta),
            ("r", c.r),
            ("eps", c.eps),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(LearnedError::invalid(
                    STAGE,
                    field,
                    v,
                    "must be finite and > 0",
                ));
            }
        }
        if !(c.s > 0.0 && c.s < 1.0) {
            return Err(LearnedError::invalid(STAGE, "s", c.s, "must be in (0, 1)"));
        }
        let logit = (c.s / (1.0 - c.s)).ln();
        let base = [c.alpha.ln(), c.delta.ln(), c.r.ln(), logit];
        let values: Vec<Array1<f32>> = match init {
            Init::Classic => base
                .iter()
                .map(|&b| Array1::from_elem(n_channels, b))
                .collect(),
            Init::Random(rng) => base
                .iter()
                .map(|&b| {
                    Array1::from_shape_simple_fn(n_channels, || b + rng.random_range(-0.5f32..0.5))
                })
                .collect(),
        };
        let p = |name: &str, v: &Array1<f32>| param(name, v.clone().into_dyn(), learn, false);
        Ok(Pcen {
            n_channels,
            eps: c.eps,
            classic: c,
            log_alpha: p("log_alpha", &values[0]),
            log_delta: p("log_delta", &values[1]),
            log_r: p("log_r", &values[2]),
            logit_s: p("logit_s", &values[3]),
            e: Array3::zeros((0, 0, n_channels)),
            m: Array3::zeros((0, 0, n_channels)),
            ln_d: Array3::zeros((0, 0, n_channels)),
            gain: Array3::zeros((0, 0, n_channels)),
            a: Array3::zeros((0, 0, n_channels)),
            ln_a: Array3::zeros((0, 0, n_channels)),
            lengths: Vec::new(),
        })
    }

    fn values(&self) -> Values {
        let v =
            |p: &Param, f: fn(f32) -> f32| p.value.iter().map(|&x| f(x)).collect::<Array1<f32>>();
        Values {
            alpha: v(&self.log_alpha, f32::exp),
            delta: v(&self.log_delta, f32::exp),
            r: v(&self.log_r, f32::exp),
            s: v(&self.logit_s, sigmoid),
        }
    }

    fn any_trainable(&self) -> bool {
        self.params().iter().any(|p| p.trainable)
    }
}

impl Layer for Pcen {
    fn name(&self) -> String {
        format!("pcen({})", self.n_channels)
    }

    /// Smoother then compression (module docs), per utterance over its valid
    /// frames; 0 on padded frames. Energies must be `>= 0`.
    ///
    /// # Shapes
    /// `(batch, frames, channels) -> (batch, frames, channels)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let x3 = view3(x, self.n_channels, "pcen");
        let (b, f, c) = x3.dim();
        self.lengths = match &ctx.lengths {
            Some(l) => {
                assert_eq!(l.len(), b, "pcen: {} lengths for a batch of {b}", l.len());
                l.iter().map(|&n| n.min(f)).collect()
            }
            None => vec![f; b],
        };
        let v = self.values();
        let delta_r: Vec<f32> = (0..c).map(|k| v.delta[k].powf(v.r[k])).collect();
        for buf in [
            &mut self.e,
            &mut self.m,
            &mut self.ln_d,
            &mut self.gain,
            &mut self.a,
            &mut self.ln_a,
        ] {
            ensure3(buf, (b, f, c));
        }
        self.e.assign(&x3);
        let mut out = Array3::<f32>::zeros((b, f, c));
        let e = self.e.as_slice().expect("standard layout");
        let m = self.m.as_slice_mut().expect("standard layout");
        let ln_d = self.ln_d.as_slice_mut().expect("standard layout");
        let gain = self.gain.as_slice_mut().expect("standard layout");
        let a = self.a.as_slice_mut().expect("standard layout");
        let ln_a = self.ln_a.as_slice_mut().expect("standard layout");
        let o = out.as_slice_mut().expect("standard layout");
        for (i, &n) in self.lengths.iter().enumerate() {
            for t in 0..n {
                let at = (i * f + t) * c;
                for (k, &delta_r_k) in delta_r.iter().enumerate() {
                    let j = at + k;
                    m[j] = if t == 0 {
                        e[j]
                    } else {
                        (1.0 - v.s[k]) * m[j - c] + v.s[k] * e[j]
                    };
                    ln_d[j] = (self.eps + m[j]).ln();
                    gain[j] = (-v.alpha[k] * ln_d[j]).exp();
                    a[j] = e[j] * gain[j] + v.delta[k];
                    ln_a[j] = a[j].ln();
                    o[j] = (v.r[k] * ln_a[j]).exp() - delta_r_k;
                }
            }
        }
        out.into_dyn()
    }

    /// Reverse-time accumulation through the smoother (module docs); 0 on
    /// padded frames; parameter gradients skipped when frozen. Uses the
    /// forward's cached logs and gains: one `exp` per element.
    ///
    /// # Shapes
    /// `(batch, frames, channels) -> (batch, frames, channels)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g3 = view3(grad_out, self.n_channels, "pcen backward");
        assert_eq!(g3.dim(), self.e.dim(), "pcen backward: grad_out shape");
        let (_, f, c) = g3.dim();
        let g_std = g3.as_standard_layout();
        let g = g_std.as_slice().expect("standard layout");
        let v = self.values();
        let delta_r: Vec<f32> = (0..c).map(|k| v.delta[k].powf(v.r[k])).collect();
        let ln_delta: Vec<f32> = (0..c).map(|k| v.delta[k].ln()).collect();
        let (e, m) = (
            self.e.as_slice().expect("std"),
            self.m.as_slice().expect("std"),
        );
        let (ln_d, gain) = (
            self.ln_d.as_slice().expect("std"),
            self.gain.as_slice().expect("std"),
        );
        let (a, ln_a) = (
            self.a.as_slice().expect("std"),
            self.ln_a.as_slice().expect("std"),
        );
        let mut dx = Array3::<f32>::zeros(g3.dim());
        let d = dx.as_slice_mut().expect("standard layout");
        // Gradients w.r.t. alpha, delta, r, s (natural units), accumulated in f64.
        let mut acc = vec![[0.0f64; 4]; c];
        let mut carry = vec![0.0f32; c];
        for (i, &n) in self.lengths.iter().enumerate() {
            carry.iter_mut().for_each(|v| *v = 0.0);
            for t in (0..n).rev() {
                let at = (i * f + t) * c;
                for k in 0..c {
                    let j = at + k;
                    let (alpha, delta, r, s) = (v.alpha[k], v.delta[k], v.r[k], v.s[k]);
                    let ar = (r * ln_a[j]).exp();
                    // d out / d A = r A^(r-1)
                    let ga = g[j] * r * ar / a[j];
                    let acc_k = &mut acc[k];
                    acc_k[0] += (ga * (-e[j] * gain[j] * ln_d[j])) as f64;
                    acc_k[1] += (g[j] * r * (ar / a[j] - delta_r[k] / delta)) as f64;
                    acc_k[2] += (g[j] * (ar * ln_a[j] - delta_r[k] * ln_delta[k])) as f64;
                    let gm = ga * (-alpha * e[j] * gain[j] / (self.eps + m[j])) + carry[k];
                    if t >= 1 {
                        d[j] = ga * gain[j] + s * gm;
                        acc_k[3] += (gm * (e[j] - m[j - c])) as f64;
                        carry[k] = (1.0 - s) * gm;
                    } else {
                        d[j] = ga * gain[j] + gm;
                    }
                }
            }
        }
        if self.any_trainable() {
            for (k, acc_k) in acc.iter().enumerate() {
                // Chain to the stored parameters: d/d ln(x) = x d/dx;
                // d/d logit(s) = s (1 - s) d/ds.
                let chain = [v.alpha[k], v.delta[k], v.r[k], v.s[k] * (1.0 - v.s[k])];
                let params = [
                    &mut self.log_alpha,
                    &mut self.log_delta,
                    &mut self.log_r,
                    &mut self.logit_s,
                ];
                for ((p, a), ch) in params.into_iter().zip(acc_k).zip(chain) {
                    if p.trainable {
                        p.grad[[k]] += *a as f32 * ch;
                    }
                }
            }
        }
        dx.into_dyn()
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.log_alpha, &self.log_delta, &self.log_r, &self.logit_s]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![
            &mut self.log_alpha,
            &mut self.log_delta,
            &mut self.log_r,
            &mut self.logit_s,
        ]
    }
}

impl LearnedStage for Pcen {
    fn stage(&self) -> &'static str {
        STAGE
    }

    fn export(&self) -> Vec<Exported> {
        let v = self.values();
        let k = self.classic;
        let classic = |x: f32| Array1::from_elem(self.n_channels, x).into_dyn();
        vec![
            Exported {
                name: "alpha".into(),
                current: v.alpha.into_dyn(),
                classic: classic(k.alpha),
            },
            Exported {
                name: "delta".into(),
                current: v.delta.into_dyn(),
                classic: classic(k.delta),
            },
            Exported {
                name: "r".into(),
                current: v.r.into_dyn(),
                classic: classic(k.r),
            },
            Exported {
                name: "s".into(),
                current: v.s.into_dyn(),
                classic: classic(k.s),
            },
        ]
    }
}

#[cfg(test)]
#[path = "pcen_tests.rs"]
mod tests;
