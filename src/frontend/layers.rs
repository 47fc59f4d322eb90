//! The fixed stages in layer form ([`Layer`] on `(batch, frames, bins)`
//! tensors), so a later issue can make them trainable by flipping
//! [`Param::trainable`]:
//!
//! | layer | parameter (frozen) | shapes |
//! | --- | --- | --- |
//! | [`DftPowerLayer`] | `basis (2K, L)`: windowed cos rows then -sin rows | `(b, t, L) -> (b, t, K)` |
//! | [`MatrixLayer::mel`] | `filters (M, K)`: the dense mel matrix | `(b, t, K) -> (b, t, M)` |
//! | [`CompressLayer`] | none (elementwise log or dB) | `(b, t, M) -> (b, t, M)` |
//! | [`MatrixLayer::dct`] | `dct (C, M)`: DCT-II rows with the lifter folded in | `(b, t, M) -> (b, t, C)` |
//!
//! `L` = frame length, `K = fft_size/2 + 1`, `M` = mel bins, `C` = cepstra.
//! The input is [`Frontend::frames`]: frames after scaling, dither, DC
//! removal and pre-emphasis (the frozen, cacheable prefix), before the
//! window, which lives in the DFT basis.
//!
//! Not in layer form: the log-energy column (`use_energy`), dB `top_db`
//! clipping (an utterance-level max, non-smooth) and deltas/CMVN; the
//! stack built by [`layer_stack`] is therefore equal to the fast path when
//! those are off (tested).

use ndarray::{Array2, ArrayD, ArrayView2, ArrayViewD, Axis, Ix2, IxDyn};

use super::compress::Compressor;
use super::options::{Compression, Feature};
use super::Frontend;
use crate::nn::{Ctx, Layer, Param};

/// Flattens `(..., width)` to `(rows, width)`.
///
/// # Panics
/// When the last axis is not `width` (a caller bug), naming both shapes.
fn to_rows(x: ArrayViewD<'_, f32>, width: usize, layer: &str) -> Array2<f32> {
    assert!(
        x.ndim() >= 2 && x.shape().last() == Some(&width),
        "{layer}: expected input (..., {width}), got {:?}",
        x.shape()
    );
    let rows: usize = x.shape()[..x.ndim() - 1].iter().product();
    x.as_standard_layout()
        .into_owned()
        .into_shape_with_order((rows, width))
        .expect("standard layout reshapes")
}

/// Restores the leading axes of `like` around `(rows, width)`.
fn from_rows(y: Array2<f32>, like: &[usize]) -> ArrayD<f32> {
    let mut shape = like[..like.len() - 1].to_vec();
    shape.push(y.ncols());
    y.into_shape_with_order(IxDyn(&shape))
        .expect("row count matches")
}

/// `y = x W^T` on rows, with `W` a [`Param`] `(out, in)`.
#[derive(Debug, Clone)]
struct RowLinear {
    weight: Param,
    /// Input rows of the last training forward.
    input: Option<Array2<f32>>,
}

impl RowLinear {
    fn frozen(name: &str, w: Array2<f32>) -> Self {
        RowLinear {
            weight: Param::frozen(name, w.into_dyn()),
            input: None,
        }
    }

    fn w(&self) -> ArrayView2<'_, f32> {
        self.weight
            .value
            .view()
            .into_dimensionality::<Ix2>()
            .expect("2-D weight")
    }

    fn in_dim(&self) -> usize {
        self.weight.value.shape()[1]
    }

    fn out_dim(&self) -> usize {
        self.weight.value.shape()[0]
    }

    /// # Shapes
    /// `(m, in) -> (m, out)`
    fn forward(&mut self, rows: Array2<f32>, train: bool) -> Array2<f32> {
        // (m, in) x (in, out) -> (m, out)
        let y = rows.dot(&self.w().t());
        self.input = train.then_some(rows);
        y
    }

    /// `dx = g W`; `dW += g^T x` when trainable.
    ///
    /// # Shapes
    /// `g: (m, out) -> (m, in)`
    fn backward(&mut self, g: ArrayView2<'_, f32>) -> Array2<f32> {
        let x = self
            .input
            .take()
            .expect("backward after a training forward");
        if self.weight.trainable {
            // (out, m) x (m, in) -> (out, in)
            let dw = g.t().dot(&x);
            let mut grad = self
                .weight
                .grad
                .view_mut()
                .into_dimensionality::<Ix2>()
                .expect("2-D");
            grad += &dw;
        }
        // (m, out) x (out, in) -> (m, in)
        g.dot(&self.w())
    }
}

/// Window + DFT + power as one per-frame linear map and a squared-pair sum:
/// `z = B x`, `P_k = z_k^2 + z_{K+k}^2`, with
/// `B[k, n] = w_n cos(2 pi k n / N)`, `B[K+k, n] = -w_n sin(2 pi k n / N)`.
#[derive(Debug, Clone)]
pub struct DftPowerLayer {
    lin: RowLinear,
    /// `z` of the last training forward.
    z: Option<Array2<f32>>,
}

impl DftPowerLayer {
    /// From a window of length `L` and an FFT size `N >= L` (zero padding).
    pub fn new(window: &[f32], fft_size: usize) -> Self {
        let (l, k) = (window.len(), fft_size / 2 + 1);
        let mut b = Array2::zeros((2 * k, l));
        for f in 0..k {
            for (n, &w) in window.iter().enumerate() {
                let a = 2.0 * std::f64::consts::PI * ((f * n) % fft_size) as f64 / fft_size as f64;
                b[[f, n]] = (w as f64 * a.cos()) as f32;
                b[[k + f, n]] = (-(w as f64) * a.sin()) as f32;
            }
        }
        DftPowerLayer {
            lin: RowLinear::frozen("basis", b),
            z: None,
        }
    }

    fn bins(&self) -> usize {
        self.lin.out_dim() / 2
    }
}

impl Layer for DftPowerLayer {
    fn name(&self) -> String {
        format!("dft_power({}->{})", self.lin.in_dim(), self.bins())
    }

    /// `P = (Bx)_re^2 + (Bx)_im^2`.
    ///
    /// # Shapes
    /// `(batch, frames, L) -> (batch, frames, K)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let rows = to_rows(x.view(), self.lin.in_dim(), &self.name());
        let z = self.lin.forward(rows, ctx.training());
        let k = self.bins();
        let (re, im) = z.view().split_at(Axis(1), k);
        let p = &re * &re + &im * &im;
        self.z = ctx.training().then_some(z);
        from_rows(p, x.shape())
    }

    /// `dz_re = 2 z_re g`, `dz_im = 2 z_im g`, then the linear backward.
    ///
    /// # Shapes
    /// `(batch, frames, K) -> (batch, frames, L)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g = to_rows(grad_out.view(), self.bins(), &self.name());
        let z = self.z.take().expect("backward after a training forward");
        let mut gz = z * 2.0;
        let k = self.bins();
        let (mut re, mut im) = gz.view_mut().split_at(Axis(1), k);
        re *= &g;
        im *= &g;
        from_rows(self.lin.backward(gz.view()), grad_out.shape())
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.lin.weight]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.lin.weight]
    }
}

/// A fixed linear map along the last axis: the mel filterbank
/// ([`MatrixLayer::mel`], parameter `filters (M, K)`) or the DCT
/// ([`MatrixLayer::dct`], parameter `dct (C, M)`, lifter folded in).
#[derive(Debug, Clone)]
pub struct MatrixLayer {
    label: &'static str,
    lin: RowLinear,
}

impl MatrixLayer {
    /// From dense filters `(M, K)`, e.g. [`super::mel::MelBanks::dense`].
    pub fn mel(filters: Array2<f32>) -> Self {
        MatrixLayer {
            label: "mel",
            lin: RowLinear::frozen("filters", filters),
        }
    }

    /// From a `(C, M)` matrix, e.g. [`super::dct::Dct::matrix`].
    pub fn dct(matrix: Array2<f32>) -> Self {
        MatrixLayer {
            label: "dct",
            lin: RowLinear::frozen("dct", matrix),
        }
    }
}

impl Layer for MatrixLayer {
    fn name(&self) -> String {
        format!(
            "{}({}->{})",
            self.label,
            self.lin.in_dim(),
            self.lin.out_dim()
        )
    }

    /// `y = W x` per frame.
    ///
    /// # Shapes
    /// `(batch, frames, in) -> (batch, frames, out)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let rows = to_rows(x.view(), self.lin.in_dim(), &self.name());
        from_rows(self.lin.forward(rows, ctx.training()), x.shape())
    }

    /// `dx = W^T g`; `dW += g x^T` summed over frames when trainable.
    ///
    /// # Shapes
    /// `(batch, frames, out) -> (batch, frames, in)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g = to_rows(grad_out.view(), self.lin.out_dim(), &self.name());
        from_rows(self.lin.backward(g.view()), grad_out.shape())
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.lin.weight]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.lin.weight]
    }
}

/// Elementwise compression: `ln(max(x, floor))` or `10 log10(max(x,
/// amin)) - ref_db` (no `top_db`; see the module docs).
#[derive(Debug, Clone)]
pub struct CompressLayer {
    compressor: Compressor,
    kind: Compression,
    floor: f32,
    /// Input of the last training forward.
    input: Option<ArrayD<f32>>,
}

impl CompressLayer {
    /// From compression options (`top_db` is ignored here).
    pub fn new(o: &super::options::CompressOptions) -> Self {
        let elementwise = super::options::CompressOptions {
            top_db: None,
            ..o.clone()
        };
        let floor = match o.kind {
            Compression::Log => o.log_floor,
            Compression::Db | Compression::Whisper => o.db_amin,
        };
        CompressLayer {
            compressor: Compressor::new(&elementwise),
            kind: o.kind,
            floor,
            input: None,
        }
    }
}

impl Layer for CompressLayer {
    fn name(&self) -> String {
        format!("compress({:?})", self.kind).to_lowercase()
    }

    /// `y = ln(max(x, floor))` or `10 log10(max(x, amin)) - ref_db`.
    ///
    /// # Shapes
    /// `(batch, frames, bins) -> (batch, frames, bins)`
    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let mut y = x.as_standard_layout().into_owned();
        self.compressor
            .apply(y.as_slice_mut().expect("standard layout"));
        self.input = ctx.training().then(|| x.to_owned());
        y
    }

    /// `dx = g / x` (log) or `10 g / (x ln 10)` (dB) where `x > floor`,
    /// else 0 (the floor is flat).
    ///
    /// # Shapes
    /// `(batch, frames, bins) -> (batch, frames, bins)`
    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let x = self
            .input
            .take()
            .expect("backward after a training forward");
        let k = match self.kind {
            Compression::Log => 1.0,
            Compression::Db => 10.0 / std::f32::consts::LN_10,
            Compression::Whisper => 0.25 / std::f32::consts::LN_10,
        };
        let floor = self.floor;
        let mut dx = grad_out.to_owned();
        dx.zip_mut_with(&x, |g, &v| *g = if v > floor { *g * k / v } else { 0.0 });
        dx
    }
}

/// The layer form of `fe` from pre-window frames ([`Frontend::frames`]) to
/// features: DFT power, then for fbank/MFCC the mel layer, compression,
/// and for MFCC the DCT. Equal to [`Frontend::compute`] when `use_energy`,
/// `top_db`, deltas and CMVN are off, and the spectrum is a power spectrum.
pub fn layer_stack(fe: &Frontend) -> Vec<Box<dyn Layer>> {
    let o = fe.options();
    let mut stack: Vec<Box<dyn Layer>> =
        vec![Box::new(DftPowerLayer::new(fe.window(), o.fft_size()))];
    if let Some(mel) = fe.mel_banks() {
        stack.push(Box::new(MatrixLayer::mel(mel.dense())));
    }
    stack.push(Box::new(CompressLayer::new(&o.compress)));
    if o.feature == Feature::Mfcc {
        let dct = fe.dct().expect("MFCC front ends have a DCT");
        stack.push(Box::new(MatrixLayer::dct(dct.matrix())));
    }
    stack
}

#[cfg(test)]
#[path = "layers_tests.rs"]
mod tests;
