//! Learnable pre-emphasis coefficient.
//!
//! ```text
//! y[n] = x[n] - a x[n-1]   (n >= 1),     y[0] = x[0] - a x[0]
//! ```
//!
//! per frame, with Kaldi's first-sample rule (the sample before the frame is
//! taken to be the frame's own first sample, so frames stay independent).
//! `a` is one scalar, unconstrained: values outside `[0, 1)` are legal
//! filters, and a plain parameter keeps the gradient simple,
//! `dL/da = -sum_n g[n] x[n-1] - g[0] x[0]`.
//!
//! The stage sits before the time-domain filterbank, after DC removal, as in
//! Kaldi (`remove_dc_offset` then `preemphasis_coefficient`). Learning it is
//! nearly redundant with a learned filterbank (a first-order FIR folds into
//! the basis); it exists so that the classic chain's every constant can be
//! made trainable on its own.

use ndarray::{Array1, Array3, ArrayD, ArrayViewD};
use rand::RngExt;

use super::{ensure3, param, view3, Exported, Init, LearnedError, LearnedStage};
use crate::nn::{Ctx, Layer, Param};

const STAGE: &str = "preemph";

/// Kaldi's default coefficient.
pub const KALDI_PREEMPH: f32 = 0.97;

/// Pre-emphasis with a learnable coefficient.
pub struct Preemph {
    frame_len: usize,
    classic: f32,
    coeff: Param,
    /// Input frames of the last forward.
    x: Array3<f32>,
}

impl Preemph {
    /// Pre-emphasis of frames of `frame_len` samples. `Init::Classic` uses
    /// `coeff` (Kaldi: [`KALDI_PREEMPH`]); `Init::Random` draws uniformly in
    /// `[0.8, 1.0)`, the range of coefficients in use.
    ///
    /// # Errors
    /// `frame_len = 0`, `coeff` not finite.
    pub fn new(
        frame_len: usize,
        coeff: f32,
        learn: bool,
        init: Init<'_>,
    ) -> Result<Self, LearnedError> {
        if frame_len == 0 {
            return Err(LearnedError::invalid(
                STAGE,
                "frame_len",
                0,
                "must be positive",
            ));
        }
        if !coeff.is_finite() {
            return Err(LearnedError::invalid(
                STAGE,
                "coeff",
                coeff,
                "must be finite",
            ));
        }
        let a = match init {
            Init::Classic => coeff,
            Init::Random(rng) => rng.random_range(0.8f32..1.0),
        };
        Ok(Preemph {
            frame_len,
            classic: coeff,
            coeff: param("coeff", Array1::from_elem(1, a).into_dyn(), learn, false),
            x: Array3::zeros((0, 0, frame_len)),
        })
    }

    /// The current coefficient.
    pub fn coeff(&self) -> f32 {
        self.coeff.value[[0]]
    }
}

impl Layer for Preemph {
    fn name(&self) -> String {
        format!("preemph({})", self.frame_len)
    }

    /// `y[n] = x[n] - a x[max(n - 1, 0)]` per frame.
    ///
    /// # Shapes
    /// `(batch, frames, frame_len) -> (batch, frames, frame_len)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let x3 = view3(x, self.frame_len, "preemph");
        let a = self.coeff();
        ensure3(&mut self.x, x3.dim());
        self.x.assign(&x3);
        let mut y = Array3::<f32>::zeros(x3.dim());
        for (mut yr, xr) in y.rows_mut().into_iter().zip(x3.rows()) {
            yr[0] = xr[0] - a * xr[0];
            for n in 1..self.frame_len {
                yr[n] = xr[n] - a * xr[n - 1];
            }
        }
        y.into_dyn()
    }

    /// `dx[n] = g[n] - a g[n+1]` (`dx[0]` also `- a g[0]`, the last has no
    /// `g[n+1]`); `da += -sum_n g[n] x[max(n - 1, 0)]` (skipped when frozen).
    ///
    /// # Shapes
    /// `(batch, frames, frame_len) -> (batch, frames, frame_len)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g = view3(grad_out, self.frame_len, "preemph backward");
        assert_eq!(g.dim(), self.x.dim(), "preemph backward: grad_out shape");
        let a = self.coeff();
        let len = self.frame_len;
        let mut dx = Array3::<f32>::zeros(g.dim());
        let mut da = 0.0f64;
        for ((mut d, gr), xr) in dx.rows_mut().into_iter().zip(g.rows()).zip(self.x.rows()) {
            for n in 0..len {
                let next = if n + 1 < len { gr[n + 1] } else { 0.0 };
                d[n] = gr[n] - a * next;
                da -= (gr[n] * xr[n.saturating_sub(1)]) as f64;
            }
            d[0] -= a * gr[0];
        }
        if self.coeff.trainable {
            self.coeff.grad[[0]] += da as f32;
        }
        dx.into_dyn()
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.coeff]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.coeff]
    }
}

impl LearnedStage for Preemph {
    fn stage(&self) -> &'static str {
        STAGE
    }

    fn export(&self) -> Vec<Exported> {
        vec![Exported {
            name: "coeff".into(),
            current: self.coeff.value.clone(),
            classic: Array1::from_elem(1, self.classic).into_dyn(),
        }]
    }
}

#[cfg(test)]
mod tests {
    use ndarray::Array3;
    use rand::RngExt;

    use super::*;
    use crate::nn::gradcheck::{check_layer, CheckOptions};
    use crate::nn::rng_from_seed;

    const SEED: u64 = 25;

    fn frames(seed: u64) -> ArrayD<f32> {
        let mut rng = rng_from_seed(seed);
        Array3::from_shape_simple_fn((2, 3, 10), || rng.random_range(-1.0f32..1.0)).into_dyn()
    }

    #[test]
    fn classic_init_is_kaldi_preemphasis() {
        let x = frames(1).mapv(|v| v * 3e4);
        let mut layer = Preemph::new(10, KALDI_PREEMPH, false, Init::Classic).expect("valid");
        let mut rng = rng_from_seed(SEED);
        let y = layer.forward(x.view(), &mut crate::nn::Ctx::eval(&mut rng));
        for b in 0..2 {
            for t in 0..3 {
                // Kaldi's loop: for i = n-1 down to 1: w[i] -= c w[i-1]; w[0] -= c w[0].
                let mut w: Vec<f64> = (0..10).map(|n| x[[b, t, n]] as f64).collect();
                for i in (1..10).rev() {
                    w[i] -= 0.97 * w[i - 1];
                }
                w[0] -= 0.97 * w[0];
                for (n, r) in w.iter().enumerate() {
                    // One f32 multiply-subtract on int16-scale values: ~2 ulp of 6e4.
                    assert!((y[[b, t, n]] as f64 - r).abs() <= 1e-2, "b{b} t{t} n{n}");
                }
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = rng_from_seed(SEED);
        for init in [Init::Classic, Init::Random(&mut rng)] {
            let mut layer = Preemph::new(10, KALDI_PREEMPH, true, init).expect("valid");
            check_layer(&mut layer, &frames(2), &CheckOptions::default());
        }
    }

    #[test]
    fn frozen_gives_no_parameter_gradient() {
        let mut layer = Preemph::new(10, KALDI_PREEMPH, false, Init::Classic).expect("valid");
        assert_eq!(layer.num_trainable(), 0);
        let mut rng = rng_from_seed(SEED);
        let y = layer.forward(frames(3).view(), &mut crate::nn::Ctx::train(&mut rng));
        layer.backward(y.view());
        assert_eq!(layer.params()[0].grad[[0]], 0.0);
    }

    #[test]
    fn bad_options_are_errors() {
        let e = Preemph::new(0, 0.97, true, Init::Classic)
            .err()
            .expect("empty frame");
        assert!(e.to_string().contains("frame_len = 0"), "{e}");
        assert!(Preemph::new(10, f32::NAN, true, Init::Classic).is_err());
    }
}
