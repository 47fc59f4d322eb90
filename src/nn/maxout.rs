//! Maxout (Goodfellow et al. 2013): each output unit is the maximum of `k`
//! affine pieces of the input, `y_j = max_p (x W_p + b_p)_j`.
//!
//! Built on [`Linear`] with `units * k` outputs laid out unit-major
//! (`column = j * k + p`), so the pieces of one unit are adjacent; the
//! forward pass keeps the winning piece per output (argmax) and the backward
//! pass routes each output gradient to that piece only. A maxout unit with
//! two pieces can represent ReLU, leaky ReLU or `|x|`, and with more pieces
//! any convex piecewise-linear function of its input.

use ndarray::{Array2, ArrayD, ArrayViewD, IxDyn};

use crate::nn::init::Init;
use crate::nn::linear::Linear;
use crate::nn::tensor::{rows_cols, to_rows};
use crate::nn::{Ctx, Layer, Param, Rng};

/// `units` maxout units of `k` pieces each over the last axis.
#[derive(Debug, Clone)]
pub struct Maxout {
    lin: Linear,
    units: usize,
    k: usize,
    /// Winning piece per output of the last training forward.
    argmax: Vec<u32>,
    out_shape: Vec<usize>,
}

impl Maxout {
    /// # Panics
    /// If `k == 0` (the spec validates this with a typed error first).
    pub fn new(in_dim: usize, units: usize, k: usize, init: Init, rng: &mut Rng) -> Self {
        assert!(k >= 1, "maxout needs at least one piece");
        Maxout {
            lin: Linear::new(in_dim, units * k, init, rng),
            units,
            k,
            argmax: Vec::new(),
            out_shape: Vec::new(),
        }
    }
}

impl Layer for Maxout {
    fn name(&self) -> String {
        format!("maxout({}->{}x{})", self.lin.in_dim(), self.units, self.k)
    }

    /// `y_j = max_p z_{j k + p}`, `z = x W + b`.
    ///
    /// # Shapes
    /// `(.., in) -> (.., units)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let mut shape = x.shape().to_vec();
        *shape.last_mut().expect("rank >= 1") = self.units;
        let z = self.lin.forward(x, ctx);
        let (rows, _) = rows_cols(z.shape());
        let zs = z.as_slice().expect("linear output is standard");
        let mut y = Vec::with_capacity(rows * self.units);
        let keep = ctx.training();
        if keep {
            self.argmax.clear();
        }
        for piece in zs.chunks_exact(self.k) {
            let (best, v) =
                piece
                    .iter()
                    .enumerate()
                    .fold((0, f32::NEG_INFINITY), |(bi, bv), (i, &v)| {
                        if v > bv {
                            (i, v)
                        } else {
                            (bi, bv)
                        }
                    });
            y.push(v);
            if keep {
                self.argmax.push(best as u32);
            }
        }
        if keep {
            self.out_shape = shape.clone();
        }
        ArrayD::from_shape_vec(IxDyn(&shape), y).expect("sizes agree")
    }

    /// Routes `g_j` to the winning piece, then back through the affine map.
    ///
    /// # Shapes
    /// `(.., units) -> (.., in)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let gz = self.scatter(grad_out);
        self.lin.backward(gz.into_dyn().view())
    }

    fn backward_params_only(&mut self, grad_out: ArrayViewD<'_, f32>) {
        let gz = self.scatter(grad_out);
        self.lin.backward_params_only(gz.into_dyn().view());
    }

    fn params(&self) -> Vec<&Param> {
        self.lin.params()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.lin.params_mut()
    }
}

impl Maxout {
    /// Output gradient `(rows, units)` -> piece gradient `(rows, units * k)`.
    fn scatter(&self, grad_out: ArrayViewD<'_, f32>) -> Array2<f32> {
        assert_eq!(
            grad_out.shape(),
            &self.out_shape[..],
            "{}: backward shape",
            self.name()
        );
        let g = to_rows(grad_out);
        let g = g.view();
        let mut gz = Array2::zeros((g.nrows(), self.units * self.k));
        let gzs = gz.as_slice_mut().expect("fresh array");
        for (i, (&gv, &a)) in g.iter().zip(&self.argmax).enumerate() {
            gzs[i * self.k + a as usize] = gv;
        }
        gz
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_layer, CheckOptions};
    use crate::nn::rng_from_seed;

    #[test]
    fn gradcheck_maxout() {
        let mut rng = rng_from_seed(21);
        let mut m = Maxout::new(4, 3, 3, Init::XavierUniform, &mut rng);
        let x = ArrayD::from_shape_fn(IxDyn(&[5, 4]), |i| ((i[0] * 4 + i[1]) as f32 * 0.71).sin());
        // The max has kinks where two pieces tie; with the default step (1e-2)
        // several probes straddle one. A step of 1e-3 keeps probes on one
        // side (round-off grows to ~3e-4, still under atol = 1e-3), and one
        // probe is still allowed to straddle a tie.
        let opts = CheckOptions {
            step: 1e-3,
            allowed_mismatches: 1,
            ..Default::default()
        };
        check_layer(&mut m, &x, &opts);
    }

    #[test]
    fn two_pieces_can_be_abs() {
        let w = ndarray::array![[1.0f32, -1.0]];
        let mut m = Maxout::new(1, 1, 2, Init::XavierUniform, &mut rng_from_seed(0));
        m.lin = Linear::from_weights(w, ndarray::array![0.0, 0.0]);
        let x = ndarray::array![[-3.0f32], [2.0]].into_dyn();
        let y = m.forward(x.view(), &mut Ctx::eval(&mut rng_from_seed(0)));
        assert_eq!(y, ndarray::array![[3.0f32], [2.0]].into_dyn());
    }
}
