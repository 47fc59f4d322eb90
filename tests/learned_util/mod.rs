//! Helpers shared by the learned front-end integration tests: a layer chain,
//! a tiny classifier head (mean pool, dense, ReLU, log-softmax) written inline
//! because the `nn` branch's layers are not merged here, Adam, and a toy
//! two-tone data set.
#![allow(dead_code)]

use ndarray::{Array1, Array2, Array3, ArrayD, ArrayViewD, Axis, Ix2, Ix3};
use rand::RngExt;
use speechfront::nn::{Ctx, Layer, Param, Rng};

/// Layers applied in order; parameters listed in the same order.
pub struct Chain(pub Vec<Box<dyn Layer>>);

impl Layer for Chain {
    fn name(&self) -> String {
        self.0
            .iter()
            .map(|l| l.name())
            .collect::<Vec<_>>()
            .join(" -> ")
    }

    fn forward(&mut self, x: ArrayViewD<'_, f32>, ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let mut h = x.to_owned();
        for l in &mut self.0 {
            h = l.forward(h.view(), ctx);
        }
        h
    }

    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let mut g = grad_out.to_owned();
        for l in self.0.iter_mut().rev() {
            g = l.backward(g.view());
        }
        g
    }

    fn params(&self) -> Vec<&Param> {
        self.0.iter().flat_map(|l| l.params()).collect()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.0.iter_mut().flat_map(|l| l.params_mut()).collect()
    }
}

/// Mean over frames: `(batch, frames, d) -> (batch, d)`.
#[derive(Default)]
pub struct MeanPool {
    frames: usize,
}

impl Layer for MeanPool {
    fn name(&self) -> String {
        "mean_pool".into()
    }

    fn forward(&mut self, x: ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let x = x.into_dimensionality::<Ix3>().expect("3-D");
        self.frames = x.shape()[1];
        x.mean_axis(Axis(1))
            .unwrap_or_else(|| Array2::zeros((x.shape()[0], x.shape()[2])))
            .into_dyn()
    }

    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g = grad_out.into_dimensionality::<Ix2>().expect("2-D");
        let (b, d) = g.dim();
        let f = self.frames;
        Array3::from_shape_fn((b, f, d), |(i, _, c)| g[[i, c]] / f as f32).into_dyn()
    }
}

/// `y = x W^T + b` on `(batch, in)`.
pub struct Dense {
    w: Param,
    b: Param,
    x: Array2<f32>,
}

impl Dense {
    /// He-style init: `N(0, 2 / n_in)`.
    pub fn new(n_in: usize, n_out: usize, rng: &mut Rng) -> Self {
        use rand_distr::Distribution;
        let sigma = (2.0 / n_in as f32).sqrt();
        let w = Array2::from_shape_simple_fn((n_out, n_in), || {
            sigma
                * <rand_distr::StandardNormal as Distribution<f32>>::sample(
                    &rand_distr::StandardNormal,
                    rng,
                )
        });
        Dense {
            w: Param::new("w", w.into_dyn(), true),
            b: Param::new("b", Array1::<f32>::zeros(n_out).into_dyn(), false),
            x: Array2::zeros((0, n_in)),
        }
    }
}

impl Layer for Dense {
    fn name(&self) -> String {
        format!("dense{:?}", self.w.value.shape())
    }

    fn forward(&mut self, x: ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        self.x = x.into_dimensionality::<Ix2>().expect("2-D").to_owned();
        let w = self.w.value.view().into_dimensionality::<Ix2>().unwrap();
        let b = self
            .b
            .value
            .view()
            .into_dimensionality::<ndarray::Ix1>()
            .unwrap();
        (self.x.dot(&w.t()) + b).into_dyn()
    }

    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g = grad_out.into_dimensionality::<Ix2>().expect("2-D");
        let w = self.w.value.view().into_dimensionality::<Ix2>().unwrap();
        self.w.grad += &g.t().dot(&self.x).into_dyn();
        self.b.grad += &g.sum_axis(Axis(0)).into_dyn();
        g.dot(&w).into_dyn()
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.w, &self.b]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.w, &mut self.b]
    }
}

/// `max(0, x)`.
#[derive(Default)]
pub struct Relu {
    mask: ArrayD<f32>,
}

impl Layer for Relu {
    fn name(&self) -> String {
        "relu".into()
    }

    fn forward(&mut self, x: ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        self.mask = x.mapv(|v| if v > 0.0 { 1.0 } else { 0.0 });
        x.mapv(|v| v.max(0.0))
    }

    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        &grad_out * &self.mask
    }
}

/// Row-wise `z - logsumexp(z)` on `(batch, classes)`.
#[derive(Default)]
pub struct LogSoftmax {
    p: Array2<f32>,
}

impl Layer for LogSoftmax {
    fn name(&self) -> String {
        "log_softmax".into()
    }

    fn forward(&mut self, x: ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let mut y = x.into_dimensionality::<Ix2>().expect("2-D").to_owned();
        for mut row in y.rows_mut() {
            let m = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
            let lse = m + row.mapv(|v| (v - m).exp()).sum().ln();
            row -= lse;
        }
        self.p = y.mapv(f32::exp);
        y.into_dyn()
    }

    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g = grad_out.into_dimensionality::<Ix2>().expect("2-D");
        let s = g.sum_axis(Axis(1)).insert_axis(Axis(1));
        (&g - &(&self.p * &s)).into_dyn()
    }
}

/// Mean negative log-likelihood of `labels` under log-probabilities `y`
/// `(batch, classes)`, and its gradient.
pub fn nll(y: &ArrayD<f32>, labels: &[usize]) -> (f32, ArrayD<f32>) {
    let n = labels.len() as f32;
    let mut g = ArrayD::zeros(y.raw_dim());
    let mut loss = 0.0;
    for (i, &c) in labels.iter().enumerate() {
        loss -= y[[i, c]] / n;
        g[[i, c]] = -1.0 / n;
    }
    (loss, g)
}

/// Fraction of rows whose arg-max is the label.
pub fn accuracy(y: &ArrayD<f32>, labels: &[usize]) -> f32 {
    let hits = labels
        .iter()
        .enumerate()
        .filter(|(i, &c)| (0..y.shape()[1]).all(|k| y[[*i, k]] <= y[[*i, c]]))
        .count();
    hits as f32 / labels.len() as f32
}

/// Adam with bias correction; one (m, v) pair per parameter tensor.
pub struct Adam {
    lr: f32,
    t: i32,
    state: Vec<(ArrayD<f32>, ArrayD<f32>)>,
}

impl Adam {
    pub fn new(lr: f32) -> Self {
        Adam {
            lr,
            t: 0,
            state: Vec::new(),
        }
    }

    /// One update of every trainable parameter from its gradient.
    pub fn step(&mut self, params: Vec<&mut Param>) {
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-8f32);
        self.t += 1;
        if self.state.is_empty() {
            self.state = params
                .iter()
                .map(|p| {
                    (
                        ArrayD::zeros(p.value.raw_dim()),
                        ArrayD::zeros(p.value.raw_dim()),
                    )
                })
                .collect();
        }
        let c1 = 1.0 - b1.powi(self.t);
        let c2 = 1.0 - b2.powi(self.t);
        for (p, (m, v)) in params.into_iter().zip(self.state.iter_mut()) {
            if !p.trainable {
                continue;
            }
            ndarray::Zip::from(&mut p.value)
                .and(&p.grad)
                .and(m)
                .and(v)
                .for_each(|w, &g, m, v| {
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *w -= self.lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                });
        }
    }
}

/// `n` utterances of `frames` frames of `frame_len` samples at 8 kHz: class 0
/// a tone in 300..700 Hz, class 1 in 2000..3000 Hz, random amplitude and
/// phase, plus white noise of amplitude 0.1. Balanced, alternating labels.
pub fn two_tones(
    n: usize,
    frames: usize,
    frame_len: usize,
    rng: &mut Rng,
) -> (ArrayD<f32>, Vec<usize>) {
    let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let mut x = Array3::<f32>::zeros((n, frames, frame_len));
    for (i, &c) in labels.iter().enumerate() {
        let freq = if c == 0 {
            rng.random_range(300.0f32..700.0)
        } else {
            rng.random_range(2000.0f32..3000.0)
        };
        let amp = rng.random_range(0.5f32..1.0);
        let phase = rng.random_range(0.0f32..std::f32::consts::TAU);
        for t in 0..frames {
            for s in 0..frame_len {
                let n = (t * frame_len + s) as f32;
                let noise = rng.random_range(-0.1f32..0.1);
                x[[i, t, s]] =
                    amp * (std::f32::consts::TAU * freq * n / 8000.0 + phase).sin() + noise;
            }
        }
    }
    (x.into_dyn(), labels)
}

/// The periodic Hann window.
pub fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / n as f64).cos()) as f32)
        .collect()
}

/// Triangles in bin space with evenly spaced centres, neighbours' centres as
/// feet (a mel-like bank, enough for chain tests): `(n_filters, n_bins)`.
pub fn triangles(n_filters: usize, n_bins: usize) -> Array2<f32> {
    let step = (n_bins - 1) as f32 / (n_filters + 1) as f32;
    Array2::from_shape_fn((n_filters, n_bins), |(j, k)| {
        let c = (j + 1) as f32 * step;
        (1.0 - (k as f32 - c).abs() / step).max(0.0)
    })
}

/// `(x - mean) / std` per feature on `(batch, d)` with statistics fixed at
/// construction: the reference model's input standardisation.
pub struct FixedStandardise {
    pub mean: Array1<f32>,
    pub inv_std: Array1<f32>,
}

impl FixedStandardise {
    /// Statistics of `h` `(n, d)` over its rows.
    pub fn fit(h: &ArrayD<f32>) -> Self {
        let h = h.view().into_dimensionality::<Ix2>().expect("2-D");
        let mean = h.mean_axis(Axis(0)).expect("rows");
        let inv_std = h.var_axis(Axis(0), 0.0).mapv(|v| 1.0 / (v + 1e-12).sqrt());
        FixedStandardise { mean, inv_std }
    }
}

impl Layer for FixedStandardise {
    fn name(&self) -> String {
        "fixed_standardise".into()
    }

    fn forward(&mut self, x: ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let x = x.into_dimensionality::<Ix2>().expect("2-D");
        ((&x - &self.mean) * &self.inv_std).into_dyn()
    }

    fn backward(&mut self, grad_out: ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g = grad_out.into_dimensionality::<Ix2>().expect("2-D");
        (&g * &self.inv_std).into_dyn()
    }
}
