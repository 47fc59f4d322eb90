//! Learned DCT: a per-frame linear map initialised from the orthonormal
//! DCT-II matrix with the cepstral lifter folded in.
//!
//! ```text
//! out[i] = sum_j W[i, j] x[j] (+ b[i]),
//! W[i, j] = l_i * c_i * cos(pi i (j + 1/2) / N),  c_0 = sqrt(1/N), c_i = sqrt(2/N)
//! ```
//!
//! `l_i` is the lifter: `1 + (Q/2) sin(pi i / Q)` with Kaldi's index
//! convention, `1 + (Q/2) sin(pi (i + 1) / Q)` with librosa's, 1 without a
//! lifter. Folding it into `W` makes "DCT then lifter" a single matrix, so the
//! learned layer starts exactly where the classic stage is. Kaldi's
//! `use_energy` (replacing C0 by the frame's log energy) is applied outside
//! this layer, on its output.
//!
//! The optional bias starts at zero (the classic stage has none); it lets a
//! learned DCT shift coefficients, which the following normalisation would
//! otherwise absorb, so it is off by default in configurations.

use ndarray::{Array1, Array2, ArrayD, ArrayView2, ArrayViewD, Axis};
use serde::{Deserialize, Serialize};

use super::rows::FrameMatmul;
use super::{grad_mat, mat, normal, param, Exported, Init, LearnedError, LearnedStage};
use crate::nn::{Ctx, Layer, Param};

const STAGE: &str = "dct";

/// Which coefficient index the lifter's sine uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LifterIndex {
    /// `sin(pi i / Q)` for coefficient `i` (0-based): Kaldi's `cepstral-lifter`.
    Kaldi,
    /// `sin(pi (i + 1) / Q)`: librosa's `mfcc(lifter=Q)`.
    Librosa,
}

/// A sinusoidal cepstral lifter `1 + (Q/2) sin(pi idx / Q)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lifter {
    /// `Q`; Kaldi's default is 22. Must be > 0.
    pub q: f32,
    /// Index convention.
    pub index: LifterIndex,
}

impl Lifter {
    /// The lifter weight of coefficient `i` (0-based).
    pub fn weight(&self, i: usize) -> f64 {
        let idx = match self.index {
            LifterIndex::Kaldi => i,
            LifterIndex::Librosa => i + 1,
        } as f64;
        let q = self.q as f64;
        1.0 + 0.5 * q * (std::f64::consts::PI * idx / q).sin()
    }
}

/// The `(n_ceps, n_in)` orthonormal DCT-II rows `0..n_ceps`, each scaled by
/// its lifter weight; computed in f64 and rounded once.
pub fn dct_matrix(n_in: usize, n_ceps: usize, lifter: Option<Lifter>) -> Array2<f32> {
    let n = n_in as f64;
    Array2::from_shape_fn((n_ceps, n_in), |(i, j)| {
        let c = if i == 0 {
            (1.0 / n).sqrt()
        } else {
            (2.0 / n).sqrt()
        };
        let l = lifter.map_or(1.0, |l| l.weight(i));
        (l * c * (std::f64::consts::PI * i as f64 * (j as f64 + 0.5) / n).cos()) as f32
    })
}

/// A linear map `(n_in -> n_ceps)` per frame, starting as the liftered DCT.
pub struct LearnedDct {
    n_in: usize,
    n_ceps: usize,
    weight: Param,
    bias: Option<Param>,
    classic: Array2<f32>,
    /// Input and gradient rows of the product.
    rows: FrameMatmul,
}

impl LearnedDct {
    /// `n_in` log filterbank channels to `n_ceps` coefficients.
    ///
    /// `Init::Classic` uses [`dct_matrix`]; `Init::Random` draws `W` from
    /// `N(0, 1/n_in)`, whose rows have the expected unit norm of the
    /// orthonormal DCT's rows. The bias (when `bias`) starts at 0 either way.
    ///
    /// # Errors
    /// `n_in = 0`, `n_ceps = 0`, `n_ceps > n_in`, a lifter `q` that is not
    /// finite and positive.
    pub fn new(
        n_in: usize,
        n_ceps: usize,
        lifter: Option<Lifter>,
        bias: bool,
        learn: bool,
        init: Init<'_>,
    ) -> Result<Self, LearnedError> {
        if n_in == 0 {
            return Err(LearnedError::invalid(STAGE, "n_in", 0, "must be positive"));
        }
        if n_ceps == 0 || n_ceps > n_in {
            return Err(LearnedError::invalid(
                STAGE,
                "n_ceps",
                n_ceps,
                "must be in 1..=n_in",
            ));
        }
        if let Some(l) = lifter {
            if !(l.q.is_finite() && l.q > 0.0) {
                return Err(LearnedError::invalid(
                    STAGE,
                    "lifter.q",
                    l.q,
                    "must be finite and > 0",
                ));
            }
        }
        Self::from_matrix(dct_matrix(n_in, n_ceps, lifter).view(), bias, learn, init)
    }

    /// Like [`LearnedDct::new`], with the classic `(n_ceps, n_in)` matrix
    /// given (e.g. the hand-crafted stage's own liftered DCT matrix, so that
    /// classic init is that stage bit for bit).
    ///
    /// # Errors
    /// An empty or non-finite matrix.
    pub fn from_matrix(
        classic: ArrayView2<'_, f32>,
        bias: bool,
        learn: bool,
        init: Init<'_>,
    ) -> Result<Self, LearnedError> {
        let (n_ceps, n_in) = classic.dim();
        if n_ceps == 0 || n_in == 0 {
            let shape = format!("{:?}", classic.shape());
            return Err(LearnedError::invalid(
                STAGE,
                "matrix.shape",
                shape,
                "must be non-empty",
            ));
        }
        if let Some(v) = classic.iter().find(|v| !v.is_finite()) {
            return Err(LearnedError::invalid(STAGE, "matrix", v, "must be finite"));
        }
        let w = match init {
            Init::Classic => classic.to_owned(),
            Init::Random(rng) => {
                let sigma = (1.0 / n_in as f32).sqrt();
                Array2::from_shape_simple_fn((n_ceps, n_in), || sigma * normal(rng))
            }
        };
        Ok(LearnedDct {
            n_in,
            n_ceps,
            weight: param("weight", w.into_dyn(), learn, true),
            bias: bias.then(|| {
                param(
                    "bias",
                    Array1::<f32>::zeros(n_ceps).into_dyn(),
                    learn,
                    false,
                )
            }),
            classic: classic.to_owned(),
            rows: FrameMatmul::new(n_in, n_ceps),
        })
    }

    /// The current `(n_ceps, n_in)` matrix.
    pub fn weight(&self) -> ndarray::ArrayView2<'_, f32> {
        mat(&self.weight)
    }

    fn param_grads(&mut self) {
        if self.weight.trainable {
            self.rows.weight_grad(&mut grad_mat(&mut self.weight), 1.0);
        }
        if let Some(bias) = self.bias.as_mut().filter(|b| b.trainable) {
            bias.grad += &self.rows.grad_rows().sum_axis(Axis(0)).into_dyn();
        }
    }
}

impl Layer for LearnedDct {
    fn name(&self) -> String {
        format!("dct({}->{})", self.n_in, self.n_ceps)
    }

    /// `out = x W^T + b`, per frame.
    ///
    /// # Shapes
    /// `(batch, frames, n_in) -> (batch, frames, n_ceps)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let mut y = self.rows.forward(x, mat(&self.weight), "dct");
        if let Some(bias) = &self.bias {
            y += &bias.value;
        }
        y
    }

    /// `dx = g W`; `dW += g^T x`, `db += sum_rows g` (skipped when frozen).
    ///
    /// # Shapes
    /// `(batch, frames, n_ceps) -> (batch, frames, n_in)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        self.backward_params_only(grad_out);
        self.rows.input_grad(mat(&self.weight))
    }

    fn backward_params_only(&mut self, grad_out: ArrayViewD<'_, f32>) {
        self.rows.load_grad(grad_out, "dct backward");
        self.param_grads();
    }

    fn params(&self) -> Vec<&Param> {
        std::iter::once(&self.weight)
            .chain(self.bias.as_ref())
            .collect()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        std::iter::once(&mut self.weight)
            .chain(self.bias.as_mut())
            .collect()
    }
}

impl LearnedStage for LearnedDct {
    fn stage(&self) -> &'static str {
        STAGE
    }

    fn export(&self) -> Vec<Exported> {
        let mut out = vec![Exported {
            name: "weight".into(),
            current: self.weight.value.clone(),
            classic: self.classic.clone().into_dyn(),
        }];
        if let Some(b) = &self.bias {
            out.push(Exported {
                name: "bias".into(),
                current: b.value.clone(),
                classic: ArrayD::zeros(b.value.raw_dim()),
            });
        }
        out
    }
}

#[cfg(test)]
#[path = "dct_tests.rs"]
mod tests;
