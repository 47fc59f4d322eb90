//! Learned log compression: `log(x + delta)` with a learnable offset.
//!
//! ```text
//! out = scale * ln(x + delta),   delta = exp(theta)
//! ```
//!
//! `delta` is stored as `theta = ln(delta)` so that it stays positive under any
//! gradient step and moves on a relative scale (the useful offsets span many
//! decades: 1e-7 on Kaldi's int16-scale power, 1e-10 for librosa's amin on a
//! [-1, 1) signal). `scale` is fixed: 1 for the natural log (Kaldi), `10 /
//! ln 10` for decibels (librosa's `power_to_db` with `ref = 1`).
//!
//! # Matching the classic floor
//! Kaldi computes `ln(max(x, FLT_EPSILON))` and librosa `10 log10(max(x,
//! amin))`: a hard floor, whose derivative in `x` is zero below it and whose
//! floor value has no gradient at all. The smooth form `ln(x + delta)` with
//! `delta` = the floor differs by `ln(1 + delta / x) <= delta / x` for `x >=
//! delta` (below 1.2e-7 once `x >= 1`, i.e. within f32 rounding of a log on
//! Kaldi's int16 scale where speech power is 1e2..1e12), by at most `ln 2` at
//! `x = delta`, and by at most `ln 2` below it (the floor gives `ln delta`,
//! the smooth form values between `ln delta` and `ln 2 delta`). Exact zeros
//! (digital silence) give `ln delta` in both. librosa's `top_db` clipping
//! depends on the utterance's maximum and is not part of this layer.
//!
//! # Shape of delta
//! One scalar shared by all channels ([`LogCompress::new`] with
//! `per_channel = false`, the classic form) or one per channel.

use ndarray::{Array1, Array2, ArrayD, ArrayViewD, Axis};
use rand::RngExt;

use super::{ensure2, param, view3, Exported, Init, LearnedError, LearnedStage};
use crate::nn::{Ctx, Layer, Param};

const STAGE: &str = "log_compress";

/// Kaldi's log floor: `FLT_EPSILON`.
pub const KALDI_LOG_FLOOR: f32 = f32::EPSILON;

/// `scale * ln(x + exp(theta))` with learnable `theta`.
pub struct LogCompress {
    n_channels: usize,
    scale: f32,
    floor: f32,
    theta: Param,
    /// `1 / (x + delta)` of the last training forward, `(batch * frames, channels)`.
    inv: Array2<f32>,
    lead: (usize, usize),
}

impl LogCompress {
    /// Log compression of `n_channels` channels.
    ///
    /// `floor` is the classic floor (Kaldi: [`KALDI_LOG_FLOOR`]; librosa:
    /// `amin = 1e-10`); `Init::Classic` sets `delta = floor`, `Init::Random`
    /// draws `ln delta` uniformly within one decade of `ln floor` (the offset
    /// has no natural random scale; this keeps it near the preset's). `scale`
    /// multiplies the natural log (1 for Kaldi, `10 / ln 10` for dB).
    ///
    /// # Errors
    /// `n_channels = 0`, `floor <= 0` or non-finite, `scale` non-finite or 0.
    pub fn new(
        n_channels: usize,
        per_channel: bool,
        floor: f32,
        scale: f32,
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
        if !(floor.is_finite() && floor > 0.0) {
            return Err(LearnedError::invalid(
                STAGE,
                "floor",
                floor,
                "must be finite and > 0",
            ));
        }
        if !(scale.is_finite() && scale != 0.0) {
            return Err(LearnedError::invalid(
                STAGE,
                "scale",
                scale,
                "must be finite and non-zero",
            ));
        }
        let len = if per_channel { n_channels } else { 1 };
        let theta = match init {
            Init::Classic => Array1::from_elem(len, floor.ln()),
            Init::Random(rng) => {
                let ln10 = std::f32::consts::LN_10;
                Array1::from_shape_simple_fn(len, || floor.ln() + rng.random_range(-ln10..ln10))
            }
        };
        Ok(LogCompress {
            n_channels,
            scale,
            floor,
            theta: param("theta", theta.into_dyn(), learn, false),
            inv: Array2::zeros((0, n_channels)),
            lead: (0, 0),
        })
    }

    /// Current offsets `delta = exp(theta)` (one, or one per channel).
    pub fn delta(&self) -> Array1<f32> {
        self.theta.value.iter().map(|t| t.exp()).collect()
    }

    fn delta_of(&self, c: usize) -> f32 {
        let t = &self.theta.value;
        t[if t.len() == 1 { 0 } else { c }].exp()
    }
}

impl Layer for LogCompress {
    fn name(&self) -> String {
        format!(
            "log_compress({}, delta x{})",
            self.n_channels,
            self.theta.len()
        )
    }

    /// `out = scale * ln(x + delta)`; the input must be `>= 0` (a power or
    /// filterbank energy), otherwise the log may be NaN.
    ///
    /// # Shapes
    /// `(batch, frames, channels) -> (batch, frames, channels)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let x3 = view3(x, self.n_channels, "log_compress");
        let (b, f, c) = x3.dim();
        self.lead = (b, f);
        let delta: Vec<f32> = (0..c).map(|j| self.delta_of(j)).collect();
        ensure2(&mut self.inv, b * f, c);
        let mut out = ndarray::Array3::<f32>::zeros((b, f, c));
        for ((mut o, xr), mut inv) in out
            .rows_mut()
            .into_iter()
            .zip(x3.rows())
            .zip(self.inv.rows_mut())
        {
            for j in 0..c {
                let s = xr[j] + delta[j];
                o[j] = self.scale * s.ln();
                inv[j] = 1.0 / s;
            }
        }
        out.into_dyn()
    }

    /// `dx = g scale / (x + delta)`; `d theta += sum g scale delta / (x + delta)`
    /// (over frames, and channels when `delta` is shared; skipped when frozen).
    ///
    /// # Shapes
    /// `(batch, frames, channels) -> (batch, frames, channels)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g = view3(grad_out, self.n_channels, "log_compress backward");
        let (b, f) = self.lead;
        assert_eq!(
            g.dim(),
            (b, f, self.n_channels),
            "log_compress backward: grad_out shape"
        );
        let mut dx = ndarray::Array3::<f32>::zeros(g.dim());
        for ((mut d, gr), inv) in dx.rows_mut().into_iter().zip(g.rows()).zip(self.inv.rows()) {
            ndarray::Zip::from(&mut d)
                .and(&gr)
                .and(&inv)
                .for_each(|d, &g, &i| *d = g * self.scale * i);
        }
        if self.theta.trainable {
            // d out / d theta = scale * delta / (x + delta) = delta * (d out / d x).
            let per_channel = dx.sum_axis(Axis(0)).sum_axis(Axis(0));
            let shared = self.theta.len() == 1;
            for j in 0..self.n_channels {
                let k = if shared { 0 } else { j };
                let delta = self.delta_of(j);
                self.theta.grad[[k]] += delta * per_channel[j];
            }
        }
        dx.into_dyn()
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.theta]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.theta]
    }
}

impl LearnedStage for LogCompress {
    fn stage(&self) -> &'static str {
        STAGE
    }

    fn export(&self) -> Vec<Exported> {
        let delta = self.delta();
        let classic = Array1::from_elem(delta.len(), self.floor);
        vec![Exported {
            name: "delta".into(),
            current: delta.into_dyn(),
            classic: classic.into_dyn(),
        }]
    }
}

#[cfg(test)]
#[path = "compress_tests.rs"]
mod tests;
