//! Inverted dropout.
//!
//! In training each unit is kept with probability `1 - p` and the kept ones
//! are scaled by `1 / (1 - p)`; in evaluation the layer is the identity.
//!
//! # Why this equals scaling the weights by `(1 - p)` at test time
//! Classic dropout (Srivastava et al. 2014) does not rescale in training, so
//! a unit's expected contribution to the next layer's pre-activation during
//! training is `(1 - p) w h`; to match that expectation at test time, where
//! every unit is present, the outgoing weights are multiplied by `(1 - p)`.
//! Inverted dropout moves the factor to training time instead: the kept
//! units are divided by `(1 - p)`, so the expected training-time input to
//! the next layer, `(1 - p) * h / (1 - p) = h`, already equals the test-time
//! input. The next layer's weights trained this way are exactly the classic
//! weights multiplied by `(1 - p)`, which is the classic test-time rule; the
//! network computes the same function, but nothing has to change at test
//! time (no weight rescaling when saving, loading or evaluating).
//!
//! The mask is drawn from [`Ctx::rng`]: 32 bits per unit, two units per
//! 64-bit draw; a unit is dropped when its 32 bits fall below `p * 2^32`.

use ndarray::{ArrayD, ArrayViewD, Zip};

use crate::nn::error::{check_unit_open, NnError};
use crate::nn::tensor::ensure_shape;
use crate::nn::{Ctx, Layer};

/// Inverted dropout with drop probability `p`.
#[derive(Debug, Clone)]
pub struct Dropout {
    p: f32,
    /// 0 or `1 / (1 - p)` per unit of the last training forward.
    mask: ArrayD<f32>,
    /// Whether the last forward was a training one (mask valid).
    active: bool,
}

impl Dropout {
    /// A dropout layer dropping each unit with probability `p`.
    ///
    /// # Errors
    /// `p` outside `[0, 1)`.
    pub fn new(p: f32) -> Result<Self, NnError> {
        check_unit_open("dropout", p)?;
        Ok(Dropout {
            p,
            mask: ArrayD::zeros(ndarray::IxDyn(&[0])),
            active: false,
        })
    }

    /// The drop probability.
    pub fn p(&self) -> f32 {
        self.p
    }
}

/// Fills `mask` with 0 (probability `p`) or `scale`.
fn draw_mask(mask: &mut [f32], p: f32, scale: f32, rng: &mut crate::nn::Rng) {
    use rand::Rng as _;
    let threshold = (p as f64 * 4_294_967_296.0) as u64;
    let mut chunks = mask.chunks_exact_mut(2);
    for pair in &mut chunks {
        let r = rng.next_u64();
        pair[0] = if (r & 0xffff_ffff) >= threshold {
            scale
        } else {
            0.0
        };
        pair[1] = if (r >> 32) >= threshold { scale } else { 0.0 };
    }
    for v in chunks.into_remainder() {
        let r = rng.next_u64() & 0xffff_ffff;
        *v = if r >= threshold { scale } else { 0.0 };
    }
}

impl Layer for Dropout {
    fn name(&self) -> String {
        format!("dropout({})", self.p)
    }

    /// Training: `y = x * m`, `m` in `{0, 1/(1-p)}`; evaluation: `y = x`.
    ///
    /// # Shapes
    /// any -> same
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        self.active = ctx.training() && self.p > 0.0;
        if !self.active {
            return x.to_owned();
        }
        ensure_shape(&mut self.mask, x.shape());
        let scale = 1.0 / (1.0 - self.p);
        draw_mask(
            self.mask.as_slice_mut().expect("standard mask"),
            self.p,
            scale,
            ctx.rng,
        );
        Zip::from(&x).and(&self.mask).map_collect(|&v, &m| v * m)
    }

    /// `dx = g * m` (the same mask as the forward pass).
    ///
    /// # Shapes
    /// any -> same
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        if !self.active {
            return grad_out.to_owned();
        }
        assert_eq!(
            grad_out.shape(),
            self.mask.shape(),
            "dropout: backward shape"
        );
        Zip::from(&grad_out)
            .and(&self.mask)
            .map_collect(|&g, &m| g * m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_layer, CheckOptions};
    use crate::nn::rng_from_seed;
    use ndarray::IxDyn;

    #[test]
    fn gradcheck_train_and_eval() {
        let x = ArrayD::from_shape_fn(IxDyn(&[4, 9]), |i| (i[0] * 9 + i[1]) as f32 * 0.1 - 1.0);
        let mut d = Dropout::new(0.3).unwrap();
        check_layer(&mut d, &x, &CheckOptions::default());
        check_layer(
            &mut d,
            &x,
            &CheckOptions {
                mode: crate::nn::Mode::Eval,
                ..Default::default()
            },
        );
    }

    #[test]
    fn keep_rate_and_expectation() {
        let mut d = Dropout::new(0.25).unwrap();
        let mut rng = rng_from_seed(9);
        let x = ArrayD::from_elem(IxDyn(&[200, 101]), 1.0f32);
        let y = d.forward(x.view(), &mut Ctx::train(&mut rng));
        let kept = y.iter().filter(|&&v| v != 0.0).count() as f64 / y.len() as f64;
        // 20,200 Bernoulli(0.75) draws: standard error 0.003; 0.02 is > 6 sigma.
        assert!((kept - 0.75).abs() < 0.02, "kept {kept}");
        assert!(y.iter().all(|&v| v == 0.0 || (v - 4.0 / 3.0).abs() < 1e-6));
        let mean = y.iter().map(|&v| v as f64).sum::<f64>() / y.len() as f64;
        assert!((mean - 1.0).abs() < 0.03, "mean {mean}");
        let e = d.forward(x.view(), &mut Ctx::eval(&mut rng));
        assert_eq!(e, x);
    }

    #[test]
    fn invalid_p_is_rejected() {
        assert!(Dropout::new(1.0).is_err());
        assert!(Dropout::new(-0.1).is_err());
    }
}
