//! Input standardisation as a layer: `y = (x - mean) * inv_std` per feature
//! (last axis).
//!
//! The statistics are computed on the training data only
//! ([`Standardize::fit`]) and stored as *frozen* parameters, so they are
//! listed, saved and loaded with the model like any weight but never moved
//! by the optimizer. Keeping them inside the network (rather than in the
//! data pipeline) means a saved model carries its own normalisation and
//! cannot be evaluated with the wrong one.

use ndarray::{Array1, ArrayD, ArrayViewD};

use crate::nn::tensor::to_rows;
use crate::nn::{Ctx, Layer, Param};

/// Per-feature affine standardisation with frozen statistics.
#[derive(Debug, Clone)]
pub struct Standardize {
    /// `(features,)`, frozen.
    pub mean: Param,
    /// `(features,)` reciprocal standard deviations, frozen.
    pub inv_std: Param,
}

/// Floor on a feature's standard deviation, so a constant feature maps to 0
/// instead of dividing by zero.
pub const MIN_STD: f32 = 1e-6;

impl Standardize {
    /// The identity on `features` features (mean 0, inv_std 1).
    pub fn identity(features: usize) -> Self {
        Standardize::from_stats(Array1::zeros(features), Array1::ones(features))
    }

    /// From a mean and a reciprocal standard deviation.
    pub fn from_stats(mean: Array1<f32>, inv_std: Array1<f32>) -> Self {
        Standardize {
            mean: Param::frozen("mean", mean.into_dyn()),
            inv_std: Param::frozen("inv_std", inv_std.into_dyn()),
        }
    }

    /// Statistics over every row of `x` viewed as `(rows, features)`
    /// (accumulated in f64; population standard deviation, floored at
    /// [`MIN_STD`]).
    pub fn fit(x: ArrayViewD<'_, f32>) -> Self {
        let r = to_rows(x);
        let r = r.view();
        let n = r.nrows().max(1) as f64;
        let f = r.ncols();
        let mut sum = vec![0.0f64; f];
        let mut sq = vec![0.0f64; f];
        for row in r.rows() {
            for (j, &v) in row.iter().enumerate() {
                sum[j] += v as f64;
                sq[j] += (v as f64) * (v as f64);
            }
        }
        let mean = Array1::from_iter(sum.iter().map(|s| (s / n) as f32));
        let inv = Array1::from_iter(sum.iter().zip(&sq).map(|(s, q)| {
            let m = s / n;
            let var = (q / n - m * m).max(0.0);
            1.0 / (var.sqrt() as f32).max(MIN_STD)
        }));
        Standardize::from_stats(mean, inv)
    }

    fn features(&self) -> usize {
        self.mean.len()
    }
}

impl Layer for Standardize {
    fn name(&self) -> String {
        format!("standardize({})", self.features())
    }

    /// `y = (x - mean) * inv_std`.
    ///
    /// # Shapes
    /// `(.., features) -> (.., features)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let f = self.features();
        assert_eq!(
            x.shape().last().copied(),
            Some(f),
            "{}: input shape {:?}",
            self.name(),
            x.shape()
        );
        let mut y = x.as_standard_layout().into_owned();
        let m = self.mean.value.as_slice().expect("contiguous");
        let s = self.inv_std.value.as_slice().expect("contiguous");
        for row in y
            .as_slice_mut()
            .expect("standard")
            .chunks_exact_mut(f.max(1))
        {
            for ((v, &mm), &ss) in row.iter_mut().zip(m).zip(s) {
                *v = (*v - mm) * ss;
            }
        }
        y
    }

    /// `dx = g * inv_std` (the statistics are frozen).
    ///
    /// # Shapes
    /// same as forward
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let mut dx = grad_out.as_standard_layout().into_owned();
        let f = self.features();
        let s = self.inv_std.value.as_slice().expect("contiguous");
        for row in dx
            .as_slice_mut()
            .expect("standard")
            .chunks_exact_mut(f.max(1))
        {
            for (g, &ss) in row.iter_mut().zip(s) {
                *g *= ss;
            }
        }
        dx
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.mean, &self.inv_std]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.mean, &mut self.inv_std]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_layer, CheckOptions};
    use crate::nn::rng_from_seed;
    use ndarray::{array, IxDyn};

    #[test]
    fn gradcheck_standardize() {
        let mut s = Standardize::from_stats(array![0.5, -1.0, 2.0], array![2.0, 0.5, 1.5]);
        let x = ArrayD::from_shape_fn(IxDyn(&[4, 3]), |i| (i[0] as f32) - (i[1] as f32) * 0.7);
        check_layer(&mut s, &x, &CheckOptions::default());
    }

    #[test]
    fn fit_gives_zero_mean_unit_std_and_handles_constants() {
        let x = array![[1.0f32, 5.0], [3.0, 5.0], [5.0, 5.0]].into_dyn();
        let mut s = Standardize::fit(x.view());
        assert_eq!(s.num_trainable(), 0, "statistics are frozen");
        let y = s.forward(x.view(), &mut Ctx::eval(&mut rng_from_seed(0)));
        let col0: Vec<f32> = y.index_axis(ndarray::Axis(1), 0).iter().copied().collect();
        let sd = (8.0f32 / 3.0).sqrt();
        for (a, b) in col0.iter().zip([-2.0 / sd, 0.0, 2.0 / sd]) {
            assert!((a - b).abs() < 1e-6);
        }
        assert!(y.index_axis(ndarray::Axis(1), 1).iter().all(|&v| v == 0.0));
    }
}
