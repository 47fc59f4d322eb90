//! Pooling over time: turning a `(batch, frames, dims)` sequence into one
//! vector per item.
//!
//! - [`FlattenFrames`]: the first `n` frames concatenated (the input must be
//!   cropped/padded to a fixed duration; missing frames count as zeros).
//! - [`StatsPool`]: mean and standard deviation over each item's *valid*
//!   frames (x-vector style statistics pooling), so utterances of different
//!   lengths can share one zero-padded batch: the valid lengths come from
//!   [`Ctx::lengths`] (all frames valid when absent).
//!
//! The frame-level alternative (context windows, utterance decision by
//! averaged log-posteriors) lives in [`crate::nn::context`].

use ndarray::{Array2, Array3, ArrayD, ArrayViewD, Ix3};

use crate::nn::{Ctx, Layer};

fn as3<'a>(x: ArrayViewD<'a, f32>, who: &str) -> ndarray::ArrayView3<'a, f32> {
    let shape = x.shape().to_vec();
    x.into_dimensionality::<Ix3>()
        .unwrap_or_else(|_| panic!("{who}: expected (batch, frames, dims), got {shape:?}"))
}

fn valid_lengths(ctx: &Ctx<'_>, batch: usize, frames: usize, who: &str) -> Vec<usize> {
    match &ctx.lengths {
        Some(l) => {
            assert_eq!(
                l.len(),
                batch,
                "{who}: {} lengths for a batch of {batch}",
                l.len()
            );
            l.iter().map(|&v| v.min(frames)).collect()
        }
        None => vec![frames; batch],
    }
}

/// Concatenates the first `frames` frames of each item.
#[derive(Debug, Clone)]
pub struct FlattenFrames {
    frames: usize,
    in_frames: usize,
    dims: usize,
    lengths: Vec<usize>,
}

impl FlattenFrames {
    /// Flattens exactly `frames` frames per item.
    pub fn new(frames: usize) -> Self {
        FlattenFrames {
            frames,
            in_frames: 0,
            dims: 0,
            lengths: Vec::new(),
        }
    }
}

impl Layer for FlattenFrames {
    fn name(&self) -> String {
        format!("flatten_frames({})", self.frames)
    }

    /// `y[b, t * dims + j] = x[b, t, j]` for `t < min(frames, length_b)`, else 0.
    ///
    /// # Shapes
    /// `(batch, T, dims) -> (batch, frames * dims)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let x3 = as3(x, "flatten_frames");
        let (batch, t_in, dims) = x3.dim();
        let lengths = valid_lengths(ctx, batch, t_in, "flatten_frames");
        let mut y = Array2::<f32>::zeros((batch, self.frames * dims));
        for (b, &len) in lengths.iter().enumerate() {
            for t in 0..self.frames.min(len) {
                y.row_mut(b)
                    .slice_mut(ndarray::s![t * dims..(t + 1) * dims])
                    .assign(&x3.slice(ndarray::s![b, t, ..]));
            }
        }
        (self.in_frames, self.dims, self.lengths) = (t_in, dims, lengths);
        y.into_dyn()
    }

    /// Copies each gradient back to its frame; cropped and padded frames get 0.
    ///
    /// # Shapes
    /// `(batch, frames * dims) -> (batch, T, dims)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let batch = self.lengths.len();
        let dims = self.dims;
        assert_eq!(
            grad_out.shape(),
            &[batch, self.frames * dims],
            "flatten_frames: backward shape"
        );
        let mut dx = Array3::<f32>::zeros((batch, self.in_frames, dims));
        for b in 0..batch {
            for t in 0..self.frames.min(self.lengths[b]) {
                for j in 0..dims {
                    dx[[b, t, j]] = grad_out[[b, t * dims + j]];
                }
            }
        }
        dx.into_dyn()
    }
}

/// Mean and standard deviation over each item's valid frames.
#[derive(Debug, Clone)]
pub struct StatsPool {
    eps: f32,
    input: Array3<f32>,
    mean: Array2<f32>,
    std: Array2<f32>,
    lengths: Vec<usize>,
}

impl StatsPool {
    /// `std = sqrt(var + eps)`; `eps` keeps the gradient finite on a
    /// constant feature. 1e-5 is the usual choice (x-vector recipes).
    pub fn new(eps: f32) -> Self {
        StatsPool {
            eps,
            input: Array3::zeros((0, 0, 0)),
            mean: Array2::zeros((0, 0)),
            std: Array2::zeros((0, 0)),
            lengths: Vec::new(),
        }
    }
}

impl Default for StatsPool {
    fn default() -> Self {
        StatsPool::new(1e-5)
    }
}

impl Layer for StatsPool {
    fn name(&self) -> String {
        "stats_pool(mean+std)".to_string()
    }

    /// `mean = sum_t x_t / L`, `std = sqrt(sum_t (x_t - mean)^2 / L + eps)`
    /// over `t < L` (the item's length); an item of length 0 gives zeros.
    ///
    /// # Shapes
    /// `(batch, T, dims) -> (batch, 2 * dims)` as `[mean, std]`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let x3 = as3(x, "stats_pool");
        let (batch, t_in, dims) = x3.dim();
        let lengths = valid_lengths(ctx, batch, t_in, "stats_pool");
        let mut mean = Array2::<f32>::zeros((batch, dims));
        let mut std = Array2::<f32>::zeros((batch, dims));
        for b in 0..batch {
            let l = lengths[b];
            if l == 0 {
                continue;
            }
            for j in 0..dims {
                let xs = x3.slice(ndarray::s![b, ..l, j]);
                let m = xs.iter().map(|&v| v as f64).sum::<f64>() / l as f64;
                let var = xs.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / l as f64;
                mean[[b, j]] = m as f32;
                std[[b, j]] = (var + self.eps as f64).sqrt() as f32;
            }
        }
        let mut y = Array2::<f32>::zeros((batch, 2 * dims));
        y.slice_mut(ndarray::s![.., ..dims]).assign(&mean);
        y.slice_mut(ndarray::s![.., dims..]).assign(&std);
        if ctx.training() {
            self.input = x3.to_owned();
        }
        (self.mean, self.std, self.lengths) = (mean, std, lengths);
        y.into_dyn()
    }

    /// `dx_t = g_mean / L + g_std (x_t - mean) / (L std)` for `t < L`, 0 beyond.
    ///
    /// # Shapes
    /// `(batch, 2 * dims) -> (batch, T, dims)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let (batch, t_in, dims) = self.input.dim();
        assert_eq!(
            grad_out.shape(),
            &[batch, 2 * dims],
            "stats_pool: backward shape"
        );
        let mut dx = Array3::<f32>::zeros((batch, t_in, dims));
        for b in 0..batch {
            let l = self.lengths[b];
            if l == 0 {
                continue;
            }
            for j in 0..dims {
                let gm = grad_out[[b, j]] / l as f32;
                let gs = grad_out[[b, dims + j]] / (l as f32 * self.std[[b, j]]);
                let m = self.mean[[b, j]];
                for t in 0..l {
                    dx[[b, t, j]] = gm + gs * (self.input[[b, t, j]] - m);
                }
            }
        }
        dx.into_dyn()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_layer, CheckOptions};
    use crate::nn::rng_from_seed;
    use ndarray::IxDyn;

    fn padded(shape: &[usize], lengths: &[usize]) -> ArrayD<f32> {
        ArrayD::from_shape_fn(IxDyn(shape), |i| {
            if i[1] < lengths[i[0]] {
                ((i[0] * 31 + i[1] * 7 + i[2] * 3) as f32 * 0.37).sin()
            } else {
                0.0
            }
        })
    }

    #[test]
    fn gradcheck_stats_pool_variable_lengths() {
        let lengths = vec![5, 3, 1, 4];
        let x = padded(&[4, 5, 3], &lengths);
        let opts = CheckOptions {
            lengths: Some(lengths),
            ..Default::default()
        };
        check_layer(&mut StatsPool::default(), &x, &opts);
        check_layer(
            &mut StatsPool::default(),
            &padded(&[2, 4, 2], &[4, 4]),
            &CheckOptions::default(),
        );
    }

    #[test]
    fn stats_ignore_padding() {
        let x = ndarray::array![[[1.0f32], [3.0], [0.0], [0.0]]].into_dyn();
        let mut rng = rng_from_seed(0);
        let mut ctx = Ctx {
            lengths: Some(vec![2]),
            ..Ctx::eval(&mut rng)
        };
        let y = StatsPool::new(0.0).forward(x.view(), &mut ctx);
        assert_eq!(y, ndarray::array![[2.0f32, 1.0]].into_dyn());
    }

    #[test]
    fn gradcheck_flatten() {
        let lengths = vec![3, 2];
        let x = padded(&[2, 3, 2], &lengths);
        let opts = CheckOptions {
            lengths: Some(lengths),
            ..Default::default()
        };
        check_layer(&mut FlattenFrames::new(2), &x, &opts);
        check_layer(
            &mut FlattenFrames::new(4),
            &padded(&[2, 3, 2], &[3, 3]),
            &CheckOptions::default(),
        );
    }

    #[test]
    fn flatten_pads_and_crops() {
        let x = ndarray::array![[[1.0f32, 2.0], [3.0, 4.0]]].into_dyn();
        let mut rng = rng_from_seed(0);
        let y = FlattenFrames::new(3).forward(x.view(), &mut Ctx::eval(&mut rng));
        assert_eq!(
            y,
            ndarray::array![[1.0f32, 2.0, 3.0, 4.0, 0.0, 0.0]].into_dyn()
        );
        let y = FlattenFrames::new(1).forward(x.view(), &mut Ctx::eval(&mut rng));
        assert_eq!(y, ndarray::array![[1.0f32, 2.0]].into_dyn());
    }
}
