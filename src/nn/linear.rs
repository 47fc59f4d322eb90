//! Fully connected (affine) layer over the last axis.
//!
//! The weight is stored `(in, out)` so the forward pass is one row-major
//! matmul `Y = X W` with no transpose, and the two backward matmuls read
//! transposed *views* (`X^T dY`, `dY W^T`) that the matmul kernel packs
//! itself; nothing is copied. The weight gradient is accumulated in place
//! ([`gemm`] with beta = 1), so no temporary is allocated. Every product
//! goes through [`crate::nn::matmul`] (faer, one thread).
//!
//! The training input is cached in a buffer that is reused between steps
//! (reallocated only when the batch shape changes).

use ndarray::{Array1, Array2, ArrayD, ArrayViewD, Ix2, IxDyn};

use crate::nn::init::Init;
use crate::nn::matmul::{gemm, matmul};
use crate::nn::tensor::{copy_into, rows_cols, to_rows};
use crate::nn::{Ctx, Layer, Param, Rng};

/// `y = x W + b` over the last axis of `x`.
#[derive(Debug, Clone)]
pub struct Linear {
    /// `(in, out)`; L1/L2 penalties apply.
    pub weight: Param,
    /// `(out,)`; no penalty by default.
    pub bias: Param,
    input: Array2<f32>,
    in_shape: Vec<usize>,
}

impl Linear {
    /// A layer with weights drawn by `init` from `rng` and zero bias.
    pub fn new(in_dim: usize, out_dim: usize, init: Init, rng: &mut Rng) -> Self {
        Linear::from_weights(init.weights(in_dim, out_dim, rng), Array1::zeros(out_dim))
    }

    /// A layer with the given `(in, out)` weight and `(out,)` bias.
    ///
    /// # Panics
    /// If `bias.len() != weight.ncols()`.
    pub fn from_weights(weight: Array2<f32>, bias: Array1<f32>) -> Self {
        assert_eq!(
            bias.len(),
            weight.ncols(),
            "linear: bias length vs weight columns"
        );
        Linear {
            weight: Param::new("weight", weight.into_dyn(), true),
            bias: Param::new("bias", bias.into_dyn(), false),
            input: Array2::zeros((0, 0)),
            in_shape: Vec::new(),
        }
    }

    /// Input size (rows of the weight).
    pub fn in_dim(&self) -> usize {
        self.weight.value.shape()[0]
    }

    /// Output size (columns of the weight).
    pub fn out_dim(&self) -> usize {
        self.weight.value.shape()[1]
    }

    fn w(&self) -> ndarray::ArrayView2<'_, f32> {
        self.weight
            .value
            .view()
            .into_dimensionality::<Ix2>()
            .expect("rank-2 weight")
    }

    /// Accumulates the parameter gradients from `g` (rows, out).
    fn accumulate(&mut self, g: ndarray::ArrayView2<'_, f32>) {
        assert_eq!(
            g.nrows(),
            self.input.nrows(),
            "linear: backward with {} rows after a forward with {}",
            g.nrows(),
            self.input.nrows()
        );
        if self.weight.trainable {
            let mut gw = self
                .weight
                .grad
                .view_mut()
                .into_dimensionality::<Ix2>()
                .expect("rank 2");
            // (in, rows) x (rows, out) -> (in, out), added into the buffer.
            gemm(1.0, self.input.t(), g, 1.0, &mut gw);
        }
        if self.bias.trainable {
            let gb = self.bias.grad.as_slice_mut().expect("contiguous bias grad");
            match g.as_slice() {
                // Row-major: plain slices, so the inner loop vectorises.
                Some(gs) => {
                    for row in gs.chunks_exact(gb.len().max(1)) {
                        for (b, &v) in gb.iter_mut().zip(row) {
                            *b += v;
                        }
                    }
                }
                None => {
                    for row in g.rows() {
                        for (b, &v) in gb.iter_mut().zip(row.iter()) {
                            *b += v;
                        }
                    }
                }
            }
        }
    }
}

impl Layer for Linear {
    fn name(&self) -> String {
        format!("linear({}->{})", self.in_dim(), self.out_dim())
    }

    /// `y = x W + b`.
    ///
    /// # Shapes
    /// `(.., in) -> (.., out)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let (rows, cols) = rows_cols(x.shape());
        assert_eq!(
            cols,
            self.in_dim(),
            "{}: input shape {:?}",
            self.name(),
            x.shape()
        );
        let mut out_shape = x.shape().to_vec();
        *out_shape.last_mut().expect("rank >= 1") = self.out_dim();
        let x2 = to_rows(x.view());
        let x2 = x2.view();
        if ctx.training() {
            copy_into(&mut self.input, x2.view());
            self.in_shape = x.shape().to_vec();
        }
        // (rows, in) x (in, out) -> (rows, out)
        let mut y = matmul(x2, self.w());
        let b = self.bias.value.as_slice().expect("contiguous bias");
        if let Some(ys) = y.as_slice_mut() {
            for row in ys.chunks_exact_mut(b.len().max(1)) {
                for (v, &bb) in row.iter_mut().zip(b) {
                    *v += bb;
                }
            }
        }
        debug_assert_eq!(y.nrows(), rows);
        y.into_shape_with_order(IxDyn(&out_shape))
            .expect("standard layout")
    }

    /// `dW += x^T g`, `db += sum_rows g`, returns `dx = g W^T`.
    ///
    /// # Shapes
    /// `(.., out) -> (.., in)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g = to_rows(grad_out.view());
        let g = g.view();
        self.accumulate(g.view());
        // (rows, out) x (out, in) -> (rows, in)
        let dx = matmul(g, self.w().t());
        dx.into_shape_with_order(IxDyn(&self.in_shape))
            .expect("standard layout")
    }

    /// Parameter gradients only: skips the `dY W^T` matmul.
    fn backward_params_only(&mut self, grad_out: ArrayViewD<'_, f32>) {
        let g = to_rows(grad_out.view());
        self.accumulate(g.view());
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.weight, &self.bias]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.weight, &mut self.bias]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_layer, CheckOptions};
    use crate::nn::rng_from_seed;
    use ndarray::array;
    use rand::RngExt;

    fn random(shape: &[usize], seed: u64) -> ArrayD<f32> {
        let mut rng = rng_from_seed(seed);
        ArrayD::from_shape_fn(IxDyn(shape), |_| rng.random_range(-1.0f32..1.0))
    }

    #[test]
    fn gradcheck_2d_and_3d() {
        let mut rng = rng_from_seed(11);
        let mut l = Linear::new(5, 3, Init::XavierUniform, &mut rng);
        check_layer(&mut l, &random(&[4, 5], 1), &CheckOptions::default());
        let mut l = Linear::new(4, 6, Init::HeNormal, &mut rng);
        check_layer(&mut l, &random(&[2, 3, 4], 2), &CheckOptions::default());
    }

    #[test]
    fn forward_matches_hand_computation() {
        let mut l = Linear::from_weights(
            array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
            array![0.5, -1.0],
        );
        let mut rng = rng_from_seed(0);
        let y = l.forward(
            array![[1.0, 0.0, -1.0]].into_dyn().view(),
            &mut Ctx::eval(&mut rng),
        );
        assert_eq!(y, array![[1.0 - 5.0 + 0.5, 2.0 - 6.0 - 1.0]].into_dyn());
    }

    #[test]
    fn params_only_backward_gives_the_same_parameter_gradients() {
        let mut rng = rng_from_seed(5);
        let mut a = Linear::new(6, 4, Init::XavierUniform, &mut rng);
        let mut b = a.clone();
        let x = random(&[3, 6], 3);
        let g = random(&[3, 4], 4);
        a.forward(x.view(), &mut Ctx::train(&mut rng));
        b.forward(x.view(), &mut Ctx::train(&mut rng));
        let _ = a.backward(g.view());
        b.backward_params_only(g.view());
        assert_eq!(a.weight.grad, b.weight.grad);
        assert_eq!(a.bias.grad, b.bias.grad);
    }

    #[test]
    fn frozen_weight_gets_no_gradient() {
        let mut rng = rng_from_seed(5);
        let mut l = Linear::new(3, 2, Init::XavierUniform, &mut rng);
        l.weight.trainable = false;
        let x = random(&[2, 3], 1);
        l.forward(x.view(), &mut Ctx::train(&mut rng));
        let dx = l.backward(random(&[2, 2], 2).view());
        assert!(l.weight.grad.iter().all(|&v| v == 0.0));
        assert!(l.bias.grad.iter().any(|&v| v != 0.0));
        assert_eq!(dx.shape(), &[2, 3]);
    }
}
