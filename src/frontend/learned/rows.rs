//! The per-frame matrix product shared by the matrix-shaped stages (mel
//! matrix, parametric mel, DCT): `out = x W^T` over every frame at once, with
//! the caches and the three products of its backward pass.

use crate::nn::matmul::{gemm, matmul};
use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2};

use super::{store_rows, view3};

/// Caches of `out = x W^T` on `(batch, frames, n_in)` inputs, viewed as
/// `(batch * frames, n_in)` rows so one matrix multiplication does all frames.
pub(crate) struct FrameMatmul {
    n_in: usize,
    n_out: usize,
    /// Input rows of the last forward.
    x: Array2<f32>,
    /// `d loss / d out` rows of the last backward.
    g: Array2<f32>,
    /// `(batch, frames)` of the last forward.
    lead: (usize, usize),
}

impl FrameMatmul {
    pub(crate) fn new(n_in: usize, n_out: usize) -> Self {
        FrameMatmul {
            n_in,
            n_out,
            x: Array2::zeros((0, n_in)),
            g: Array2::zeros((0, n_out)),
            lead: (0, 0),
        }
    }

    /// `x W^T` with `w` of shape `(n_out, n_in)`, caching `x`.
    ///
    /// # Shapes
    /// `(batch, frames, n_in) -> (batch, frames, n_out)`
    ///
    /// # Panics
    /// On an input whose shape is not `(batch, frames, n_in)`.
    pub(crate) fn forward(
        &mut self,
        x: ArrayViewD<'_, f32>,
        w: ArrayView2<'_, f32>,
        who: &str,
    ) -> ArrayD<f32> {
        let x3 = view3(x, self.n_in, who);
        let (b, f, _) = x3.dim();
        self.lead = (b, f);
        store_rows(&mut self.x, x3);
        // (rows, n_in) x (n_in, n_out) -> (rows, n_out)
        let y = matmul(self.x.view(), w.t());
        y.into_shape_with_order((b, f, self.n_out))
            .expect("rows * n_out")
            .into_dyn()
    }

    /// Caches `grad_out` as rows for the products below.
    ///
    /// # Panics
    /// When `grad_out` is not `(batch, frames, n_out)` of the last forward.
    pub(crate) fn load_grad(&mut self, grad_out: ArrayViewD<'_, f32>, who: &str) {
        let g = view3(grad_out, self.n_out, who);
        assert_eq!(
            g.dim(),
            (self.lead.0, self.lead.1, self.n_out),
            "{who}: grad_out shape"
        );
        store_rows(&mut self.g, g);
    }

    /// The cached gradient rows `(batch * frames, n_out)`.
    pub(crate) fn grad_rows(&self) -> ArrayView2<'_, f32> {
        self.g.view()
    }

    /// `dw = beta dw + g^T x`, `(n_out, n_in)`.
    pub(crate) fn weight_grad(&self, dw: &mut ArrayViewMut2<'_, f32>, beta: f32) {
        // (n_out, rows) x (rows, n_in) -> (n_out, n_in)
        gemm(1.0, self.g.t(), self.x.view(), beta, dw);
    }

    /// `dx = g W`.
    ///
    /// # Shapes
    /// `(batch, frames, n_out) -> (batch, frames, n_in)`
    pub(crate) fn input_grad(&self, w: ArrayView2<'_, f32>) -> ArrayD<f32> {
        // (rows, n_out) x (n_out, n_in) -> (rows, n_in)
        let dx = matmul(self.g.view(), w);
        dx.into_shape_with_order((self.lead.0, self.lead.1, self.n_in))
            .expect("rows * n_in")
            .into_dyn()
    }
}
