//! Frame classification over a context window, the hybrid acoustic-model
//! way of using an MLP on speech.
//!
//! Each frame is stacked with its `k` left and `k` right neighbours into one
//! `(2k + 1) dims` input; at the utterance edges the first/last valid frame
//! is repeated (edge replication, as Kaldi's splicing does), so every frame
//! yields an input. The MLP is trained on frames with their utterance's
//! label, and an utterance is classified by averaging its frames'
//! log-posteriors ([`utterance_log_posteriors`]): the product-of-experts
//! decision `argmax_c sum_t log p(c | x_t)`.

use ndarray::{Array2, Array3, ArrayD, ArrayView2, ArrayViewD, Ix3};

use crate::nn::loss::log_softmax;
use crate::nn::{Ctx, Layer};

/// Which neighbours a frame is stacked with: frames `t + d j` for
/// `j = -k ..= k`, so `2k + 1` frames spanning `±d k`.
///
/// A dilation `d > 1` widens the window's reach without widening the
/// input: `k = 5, d = 2` sees ±10 frames (210 ms at a 10 ms shift) through
/// 11 of them. Deltas already describe each frame's immediate
/// neighbourhood, so skipping every other frame loses little, while a
/// longer reach covers more of a word's sound sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Splice {
    /// Neighbours on each side.
    pub k: usize,
    /// Frames between neighbours (1 = adjacent).
    pub dilation: usize,
}

impl Splice {
    /// `±k` adjacent neighbours.
    pub fn new(k: usize) -> Self {
        Splice { k, dilation: 1 }
    }

    /// `±k` neighbours `dilation` frames apart (0 is taken as 1).
    pub fn dilated(k: usize, dilation: usize) -> Self {
        Splice {
            k,
            dilation: dilation.max(1),
        }
    }

    /// Frames stacked per output frame, `2k + 1`.
    pub fn width(&self) -> usize {
        2 * self.k + 1
    }

    /// Source frame of slot `j` (`0..2k + 1`) for output frame `t` of an
    /// utterance of `len` frames: `clamp(t + d (j - k), 0, len - 1)`.
    #[inline]
    pub fn source(&self, t: usize, j: usize, len: usize) -> usize {
        (t + j * self.dilation)
            .saturating_sub(self.k * self.dilation)
            .min(len - 1)
    }
}

/// Stacks each of the first `len` frames with its `±k` neighbours, edges
/// replicated.
///
/// # Shapes
/// `(frames, dims) -> (len, (2k + 1) dims)`
pub fn stack_context(x: ArrayView2<'_, f32>, len: usize, k: usize) -> Array2<f32> {
    stack_spliced(x, len, Splice::new(k))
}

/// Stacks each of the first `len` frames with the neighbours chosen by
/// `splice`, edges replicated.
///
/// # Shapes
/// `(frames, dims) -> (len, (2k + 1) dims)`
pub fn stack_spliced(x: ArrayView2<'_, f32>, len: usize, splice: Splice) -> Array2<f32> {
    let dims = x.ncols();
    let width = splice.width();
    let mut y = Array2::<f32>::zeros((len, width * dims));
    for t in 0..len {
        let mut row = y.row_mut(t);
        for j in 0..width {
            let src = splice.source(t, j, len);
            row.slice_mut(ndarray::s![j * dims..(j + 1) * dims])
                .assign(&x.row(src));
        }
    }
    y
}

/// Context-window stacking as a layer (for joint training with a front end).
#[derive(Debug, Clone)]
pub struct ContextWindow {
    k: usize,
    dilation: usize,
    in_frames: usize,
    dims: usize,
    lengths: Vec<usize>,
}

impl ContextWindow {
    /// `k` neighbours on each side.
    pub fn new(k: usize) -> Self {
        ContextWindow::dilated(k, 1)
    }

    /// `k` neighbours on each side, `dilation` frames apart (see [`Splice`]).
    pub fn dilated(k: usize, dilation: usize) -> Self {
        ContextWindow {
            k,
            dilation: dilation.max(1),
            in_frames: 0,
            dims: 0,
            lengths: Vec::new(),
        }
    }
}

impl Layer for ContextWindow {
    fn name(&self) -> String {
        format!("context_window(+-{})", self.k)
    }

    /// `y[b, t, j dims + i] = x[b, clamp(t + j - k, 0, L_b - 1), i]` for
    /// `t < L_b`; padded frames (`t >= L_b`) give zeros.
    ///
    /// # Shapes
    /// `(batch, T, dims) -> (batch, T, (2k + 1) dims)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let x3 = x.view().into_dimensionality::<Ix3>().unwrap_or_else(|_| {
            panic!(
                "context_window: expected (batch, frames, dims), got {:?}",
                x.shape()
            )
        });
        let (batch, t_in, dims) = x3.dim();
        let lengths: Vec<usize> = match &ctx.lengths {
            Some(l) => l.iter().map(|&v| v.min(t_in)).collect(),
            None => vec![t_in; batch],
        };
        assert_eq!(lengths.len(), batch, "context_window: lengths vs batch");
        let width = 2 * self.k + 1;
        let mut y = Array3::<f32>::zeros((batch, t_in, width * dims));
        for (b, &len) in lengths.iter().enumerate() {
            if len > 0 {
                let s = stack_spliced(
                    x3.index_axis(ndarray::Axis(0), b),
                    len,
                    Splice::dilated(self.k, self.dilation),
                );
                y.slice_mut(ndarray::s![b, ..len, ..]).assign(&s);
            }
        }
        (self.in_frames, self.dims, self.lengths) = (t_in, dims, lengths);
        y.into_dyn()
    }

    /// Scatter-adds each stacked slot's gradient back to its source frame.
    ///
    /// # Shapes
    /// `(batch, T, (2k + 1) dims) -> (batch, T, dims)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let (batch, dims, k) = (self.lengths.len(), self.dims, self.k);
        let width = 2 * k + 1;
        assert_eq!(
            grad_out.shape(),
            &[batch, self.in_frames, width * dims],
            "context_window: backward shape"
        );
        let splice = Splice::dilated(k, self.dilation);
        let mut dx = Array3::<f32>::zeros((batch, self.in_frames, dims));
        for b in 0..batch {
            let len = self.lengths[b];
            for t in 0..len {
                for j in 0..width {
                    let src = splice.source(t, j, len);
                    for i in 0..dims {
                        dx[[b, src, i]] += grad_out[[b, t, j * dims + i]];
                    }
                }
            }
        }
        dx.into_dyn()
    }
}

/// Average frame log-posteriors per utterance.
///
/// `out[u] = mean over frames f with utt[f] = u of log_softmax(logits[f])`;
/// an utterance with no frame gets a row of zeros.
///
/// # Shapes
/// logits `(frames, classes)`, `utt` `(frames,)` -> `(n_utts, classes)`
pub fn utterance_log_posteriors(
    logits: ArrayView2<'_, f32>,
    utt: &[usize],
    n_utts: usize,
) -> Array2<f32> {
    assert_eq!(
        utt.len(),
        logits.nrows(),
        "utterance_log_posteriors: one utterance index per frame"
    );
    let lp = log_softmax(logits);
    let mut sum = Array2::<f64>::zeros((n_utts, logits.ncols()));
    let mut count = vec![0usize; n_utts];
    for (row, &u) in lp.rows().into_iter().zip(utt) {
        count[u] += 1;
        for (s, &v) in sum.row_mut(u).iter_mut().zip(row.iter()) {
            *s += v as f64;
        }
    }
    let mut out = Array2::<f32>::zeros(sum.dim());
    for (u, c) in count.iter().enumerate() {
        if *c > 0 {
            for (o, &s) in out.row_mut(u).iter_mut().zip(sum.row(u).iter()) {
                *o = (s / *c as f64) as f32;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::gradcheck::{check_layer, CheckOptions};
    use ndarray::{array, IxDyn};

    #[test]
    fn stacking_replicates_edges() {
        let x = array![[1.0f32], [2.0], [3.0]];
        let y = stack_context(x.view(), 3, 1);
        assert_eq!(
            y,
            array![[1.0f32, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 3.0]]
        );
        let y = stack_context(x.view(), 2, 2);
        assert_eq!(y.row(1).to_vec(), vec![1.0, 1.0, 2.0, 2.0, 2.0]);
    }

    #[test]
    fn dilated_stacking_skips_frames_and_replicates_edges() {
        let x = Array2::from_shape_fn((7, 1), |(t, _)| t as f32);
        let y = stack_spliced(x.view(), 7, Splice::dilated(2, 2));
        // Frame 3 sees 3 - 4, 3 - 2, 3, 3 + 2, 3 + 4 (clamped to 0 and 6).
        assert_eq!(y.row(3).to_vec(), vec![0.0, 1.0, 3.0, 5.0, 6.0]);
        assert_eq!(y.row(0).to_vec(), vec![0.0, 0.0, 0.0, 2.0, 4.0]);
        assert_eq!(y.row(6).to_vec(), vec![2.0, 4.0, 6.0, 6.0, 6.0]);
        // Dilation 1 is plain stacking.
        assert_eq!(
            stack_spliced(x.view(), 7, Splice::dilated(2, 1)),
            stack_context(x.view(), 7, 2)
        );
    }

    #[test]
    fn gradcheck_context_window() {
        let lengths = vec![4, 2, 1];
        let x = ArrayD::from_shape_fn(IxDyn(&[3, 4, 2]), |i| {
            if i[1] < lengths[i[0]] {
                ((i[0] * 13 + i[1] * 5 + i[2]) as f32 * 0.3).cos()
            } else {
                0.0
            }
        });
        let opts = CheckOptions {
            lengths: Some(lengths),
            ..Default::default()
        };
        check_layer(&mut ContextWindow::new(2), &x, &opts);
        check_layer(&mut ContextWindow::new(1), &x, &CheckOptions::default());
    }

    #[test]
    fn utterance_decision_averages_log_posteriors() {
        // Utterance 0: one confident frame for class 1 and two mild ones for
        // class 0; averaging log-posteriors decides class 1 (the confident
        // frame's log-probability for class 0 is very negative).
        let logits = array![[0.0f32, 10.0], [1.0, 0.0], [1.0, 0.0], [0.0, 3.0]];
        let out = utterance_log_posteriors(logits.view(), &[0, 0, 0, 1], 2);
        assert!(out[[0, 1]] > out[[0, 0]]);
        assert!(out[[1, 1]] > out[[1, 0]]);
        let lp = log_softmax(logits.view());
        let want = (lp[[0, 0]] + lp[[1, 0]] + lp[[2, 0]]) / 3.0;
        assert!((out[[0, 0]] - want).abs() < 1e-6);
    }
}
