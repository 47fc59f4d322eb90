//! Element-wise activations: sigmoid, tanh, ReLU, leaky ReLU.
//!
//! Each derivative is written in terms of the *output* `y`, so the layer
//! caches only `y` (one buffer, reused between steps):
//! - sigmoid: `y' = y (1 - y)`;
//! - tanh: `y' = 1 - y^2`;
//! - ReLU: `y' = [y > 0]`;
//! - leaky ReLU (slope `a >= 0`): `y' = 1` if `y > 0`, else `a` (the sign of
//!   `y` equals the sign of `x` because `a >= 0`).
//!
//! At the kink `x = 0` ReLU-family derivatives are taken as `a` (the left
//! derivative), the usual convention.

use ndarray::{ArrayD, ArrayViewD, Zip};
use serde::{Deserialize, Serialize};

use crate::nn::error::{check_non_negative, NnError};
use crate::nn::tensor::ensure_shape;
use crate::nn::{Ctx, Layer};

/// Which element-wise function.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivationFn {
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh x`.
    Tanh,
    /// `max(x, 0)`.
    Relu,
    /// `x` if `x > 0`, else `slope * x`.
    LeakyRelu(f32),
}

impl ActivationFn {
    /// Applies the function to one value. Sigmoid is evaluated in the form
    /// that never overflows `exp`.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            ActivationFn::Sigmoid => {
                if x >= 0.0 {
                    1.0 / (1.0 + (-x).exp())
                } else {
                    let e = x.exp();
                    e / (1.0 + e)
                }
            }
            ActivationFn::Tanh => x.tanh(),
            // Not `x.max(0.0)`: that maps NaN to 0 and would hide a
            // diverging network from the training guard.
            ActivationFn::Relu => {
                if x <= 0.0 {
                    0.0
                } else {
                    x
                }
            }
            ActivationFn::LeakyRelu(a) => {
                if x > 0.0 {
                    x
                } else {
                    a * x
                }
            }
        }
    }

    /// Derivative expressed through the output `y = f(x)`.
    #[inline]
    pub fn derivative_from_output(self, y: f32) -> f32 {
        match self {
            ActivationFn::Sigmoid => y * (1.0 - y),
            ActivationFn::Tanh => 1.0 - y * y,
            ActivationFn::Relu => {
                if y > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            ActivationFn::LeakyRelu(a) => {
                if y > 0.0 {
                    1.0
                } else {
                    a
                }
            }
        }
    }
}

/// An element-wise activation layer (no parameters).
#[derive(Debug, Clone)]
pub struct Activation {
    f: ActivationFn,
    out: ArrayD<f32>,
}

impl Activation {
    /// A layer applying `f`.
    ///
    /// # Errors
    /// A leaky-ReLU slope that is negative or not finite (the output-based
    /// derivative needs `slope >= 0`).
    pub fn new(f: ActivationFn) -> Result<Self, NnError> {
        if let ActivationFn::LeakyRelu(a) = f {
            check_non_negative("leaky_slope", a)?;
        }
        Ok(Activation {
            f,
            out: ArrayD::zeros(ndarray::IxDyn(&[0])),
        })
    }

    /// The function applied.
    pub fn function(&self) -> ActivationFn {
        self.f
    }
}

impl Layer for Activation {
    fn name(&self) -> String {
        match self.f {
            ActivationFn::LeakyRelu(a) => format!("leaky_relu({a})"),
            f => format!("{f:?}").to_lowercase(),
        }
    }

    /// `y = f(x)` element-wise.
    ///
    /// # Shapes
    /// any -> same
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let f = self.f;
        if !ctx.training() {
            return x.mapv(|v| f.apply(v));
        }
        // One pass writes both the output and the cache for backward.
        ensure_shape(&mut self.out, x.shape());
        Zip::from(&x).and(&mut self.out).map_collect(|&v, c| {
            let y = f.apply(v);
            *c = y;
            y
        })
    }

    /// `dx = g * f'(y)`.
    ///
    /// # Shapes
    /// any -> same
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        assert_eq!(
            grad_out.shape(),
            self.out.shape(),
            "{}: backward shape",
            self.name()
        );
        let f = self.f;
        // One pass: read g and y, write dx (no copy-then-scale).
        Zip::from(&grad_out)
            .and(&self.out)
            .map_collect(|&g, &y| g * f.derivative_from_output(y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_layer, CheckOptions};
    use crate::nn::rng_from_seed;
    use ndarray::IxDyn;
    use rand::RngExt;

    /// Inputs kept at least 0.05 away from 0 so the finite-difference step
    /// (1e-2) never straddles the ReLU kink.
    fn away_from_zero(shape: &[usize], seed: u64) -> ArrayD<f32> {
        let mut rng = rng_from_seed(seed);
        ArrayD::from_shape_fn(IxDyn(shape), |_| {
            let m = rng.random_range(0.05f32..2.0);
            if rng.random::<bool>() {
                m
            } else {
                -m
            }
        })
    }

    #[test]
    fn gradcheck_every_function() {
        let x = away_from_zero(&[4, 7], 1);
        for f in [
            ActivationFn::Sigmoid,
            ActivationFn::Tanh,
            ActivationFn::Relu,
            ActivationFn::LeakyRelu(0.1),
        ] {
            let mut l = Activation::new(f).unwrap();
            check_layer(&mut l, &x, &CheckOptions::default());
        }
        let mut l = Activation::new(ActivationFn::Tanh).unwrap();
        check_layer(
            &mut l,
            &away_from_zero(&[2, 3, 4], 2),
            &CheckOptions::default(),
        );
    }

    #[test]
    fn values_and_stability() {
        let s = ActivationFn::Sigmoid;
        assert_eq!(s.apply(0.0), 0.5);
        assert_eq!(s.apply(-1000.0), 0.0);
        assert_eq!(s.apply(1000.0), 1.0);
        assert!(s.apply(-100.0).is_finite());
        assert_eq!(ActivationFn::LeakyRelu(0.2).apply(-2.0), -0.4);
        assert_eq!(ActivationFn::Relu.apply(-2.0), 0.0);
        assert!(
            ActivationFn::Relu.apply(f32::NAN).is_nan(),
            "NaN propagates"
        );
    }

    #[test]
    fn negative_slope_is_rejected() {
        let e = Activation::new(ActivationFn::LeakyRelu(-0.1)).unwrap_err();
        assert!(e.to_string().contains("leaky_slope"));
    }
}
