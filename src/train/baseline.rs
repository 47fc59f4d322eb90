//! Linear baseline: multinomial logistic regression (linfa-logistic, f64)
//! on the same features as the MLP, so a report can answer "is the MLP
//! worth it?".
//!
//! Features are standardised with training statistics first (as the MLP
//! does), which also keeps linfa's L-BFGS well conditioned.

use linfa::prelude::*;
use linfa_logistic::{MultiFittedLogisticRegression, MultiLogisticRegression};
use ndarray::{Array1, Array2, ArrayView2};

use crate::train::error::TrainError;

/// Settings of the baseline.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogisticOptions {
    /// L2 strength (linfa's `alpha`). Default: 1e-3 (light; the features are
    /// standardised).
    pub alpha: f64,
    /// L-BFGS iteration cap. Default: 200.
    pub max_iterations: u64,
}

impl Default for LogisticOptions {
    fn default() -> Self {
        LogisticOptions {
            alpha: 1e-3,
            max_iterations: 200,
        }
    }
}

/// A fitted baseline with its standardisation.
#[derive(Debug)]
pub struct LogisticBaseline {
    mean: Array1<f64>,
    inv_std: Array1<f64>,
    model: MultiFittedLogisticRegression<f64, usize>,
}

impl LogisticBaseline {
    /// Fits on `(samples, features)` with labels.
    ///
    /// # Errors
    /// Mismatched sizes or a linfa failure (message included).
    pub fn fit(
        x: ArrayView2<'_, f32>,
        labels: &[usize],
        opts: LogisticOptions,
    ) -> Result<Self, TrainError> {
        if x.nrows() != labels.len() {
            return Err(TrainError::Data(format!(
                "baseline: {} labels for {} samples",
                labels.len(),
                x.nrows()
            )));
        }
        let xd = x.mapv(|v| v as f64);
        let mean = xd
            .mean_axis(ndarray::Axis(0))
            .unwrap_or_else(|| Array1::zeros(x.ncols()));
        let inv_std = xd
            .std_axis(ndarray::Axis(0), 0.0)
            .mapv(|s| 1.0 / s.max(1e-6));
        let z = (&xd - &mean) * &inv_std;
        let ds = Dataset::new(z, Array1::from(labels.to_vec()));
        let model = MultiLogisticRegression::default()
            .alpha(opts.alpha)
            .max_iterations(opts.max_iterations)
            .fit(&ds)
            .map_err(|e| TrainError::Baseline(e.to_string()))?;
        Ok(LogisticBaseline {
            mean,
            inv_std,
            model,
        })
    }

    /// Predicted class per row.
    pub fn predict(&self, x: ArrayView2<'_, f32>) -> Vec<usize> {
        let z: Array2<f64> = (&x.mapv(|v| v as f64) - &self.mean) * &self.inv_std;
        self.model.predict(&z).to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::rng_from_seed;
    use rand::RngExt;

    #[test]
    fn separates_three_gaussian_blobs() {
        let mut rng = rng_from_seed(4);
        let centres = [[0.0f32, 3.0], [3.0, -2.0], [-3.0, -2.0]];
        let n = 60;
        let mut x = Array2::<f32>::zeros((n * 3, 2));
        let mut y = Vec::new();
        for (c, ctr) in centres.iter().enumerate() {
            for i in 0..n {
                x[[c * n + i, 0]] = ctr[0] + rng.random_range(-1.0f32..1.0);
                x[[c * n + i, 1]] = ctr[1] + rng.random_range(-1.0f32..1.0);
                y.push(c);
            }
        }
        let b = LogisticBaseline::fit(x.view(), &y, LogisticOptions::default()).unwrap();
        let acc = crate::train::metrics::accuracy(&b.predict(x.view()), &y);
        // Blobs of half-width 1 around centres >= 3.6 apart: linearly separable.
        assert_eq!(acc, 1.0);
        assert!(LogisticBaseline::fit(x.view(), &y[1..], LogisticOptions::default()).is_err());
    }
}
