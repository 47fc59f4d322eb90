//! Helpers shared by the learned front-end integration tests: a toy two-tone
//! data set, a Hann window, a mel-like triangle bank, and the training step
//! of a front end + classifier built from `speechfront::nn` layers; and a
//! small subset of the embedded digits corpus.
#![allow(dead_code)]

use ndarray::{Array2, Array3, ArrayD, Ix2};
use rand::RngExt;
use speechfront::nn::loss::{argmax_rows, softmax_cross_entropy};
use speechfront::nn::optim::{Optimizer, OptimizerSpec, Penalty};
use speechfront::nn::{rng_from_seed, Ctx, Layer, Rng};

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

/// Forward, softmax cross-entropy on the `(batch, classes)` logits, zeroed
/// gradients, backward; returns the loss.
pub fn loss_and_backward(
    model: &mut dyn Layer,
    x: &ArrayD<f32>,
    labels: &[usize],
    seed: u64,
) -> f32 {
    let mut rng = rng_from_seed(seed);
    let logits = model.forward(x.view(), &mut Ctx::train(&mut rng));
    let logits = logits
        .into_dimensionality::<Ix2>()
        .expect("(batch, classes) logits");
    let (loss, g) = softmax_cross_entropy(logits.view(), labels, None);
    model.zero_grad();
    model.backward(g.into_dyn().view());
    loss
}

/// Adam with the usual constants and no penalty.
pub fn adam() -> Optimizer {
    let spec = OptimizerSpec::Adam {
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };
    Optimizer::new(spec, Penalty::default()).expect("valid Adam")
}

/// Fraction of utterances whose arg-max logit is the label.
pub fn accuracy(model: &mut dyn Layer, x: &ArrayD<f32>, labels: &[usize]) -> f32 {
    let mut rng = rng_from_seed(0);
    let logits = model.forward(x.view(), &mut Ctx::eval(&mut rng));
    let logits = logits
        .into_dimensionality::<Ix2>()
        .expect("(batch, classes) logits");
    let hits = argmax_rows(logits.view())
        .iter()
        .zip(labels)
        .filter(|(p, l)| p == l)
        .count();
    hits as f32 / labels.len() as f32
}

/// Mean over frames, `(batch, frames, d) -> (batch, d)` (all frames valid):
/// the one pooling `nn::pool` lacks (it has mean+std and flatten).
#[derive(Default)]
pub struct MeanPool {
    frames: usize,
}

impl Layer for MeanPool {
    fn name(&self) -> String {
        "mean_pool".into()
    }

    fn forward(&mut self, x: ndarray::ArrayViewD<'_, f32>, _ctx: &mut Ctx<'_>) -> ArrayD<f32> {
        let x = x
            .into_dimensionality::<ndarray::Ix3>()
            .expect("(batch, frames, d)");
        let (b, f, d) = x.dim();
        self.frames = f;
        x.mean_axis(ndarray::Axis(1))
            .unwrap_or_else(|| Array2::zeros((b, d)))
            .into_dyn()
    }

    fn backward(&mut self, grad_out: ndarray::ArrayViewD<'_, f32>) -> ArrayD<f32> {
        let g = grad_out.into_dimensionality::<Ix2>().expect("(batch, d)");
        let (b, d) = g.dim();
        let f = self.frames;
        Array3::from_shape_fn((b, f, d), |(i, _, c)| g[[i, c]] / f as f32).into_dyn()
    }
}

/// The files `{digit}_{speaker}_{take}.wav` of `audio/digits` for every
/// digit, speaker of `speakers` and take of `takes`, copied into a
/// temporary folder and loaded at 8 kHz (FSDD naming).
pub fn digits_subset(
    speakers: &[&str],
    takes: std::ops::Range<usize>,
) -> (tempfile::TempDir, speechfront::experiment::Corpus) {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("audio/digits");
    for s in speakers {
        for d in 0..10 {
            for t in takes.clone() {
                let name = format!("{d}_{s}_{t}.wav");
                std::fs::copy(src.join(&name), dir.path().join(&name)).expect("copy digit file");
            }
        }
    }
    let c = speechfront::experiment::Corpus::load(
        dir.path(),
        &speechfront::data::LabelSource::FileName,
        8000,
    )
    .expect("corpus");
    assert_eq!(c.data.items.len(), speakers.len() * 10 * takes.len());
    (dir, c)
}

/// Train = takes 1 and 2, test = take 0 (same speakers, unseen takes).
pub fn takes_split(c: &speechfront::experiment::Corpus) -> (Vec<usize>, Vec<usize>) {
    (0..c.data.items.len()).partition(|&i| {
        !c.data.items[i]
            .rel_path
            .to_string_lossy()
            .ends_with("_0.wav")
    })
}
