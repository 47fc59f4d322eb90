//! Gradient checks of every front-end layer (frozen and flipped to
//! trainable) and the layer path against the fast path.

use super::*;
use crate::frontend::options::{CompressOptions, FrontendOptions, Preset};
use crate::nn::gradcheck::{check_layer, CheckOptions};
use crate::nn::rng_from_seed;
use rand::RngExt;

const SEED: u64 = 77;

fn random(shape: &[usize], lo: f32, hi: f32, seed: u64) -> ArrayD<f32> {
    let mut rng = rng_from_seed(seed);
    ArrayD::from_shape_fn(IxDyn(shape), |_| rng.random_range(lo..hi))
}

/// A tiny Kaldi-style front end: 16-sample frames, 16-point FFT, 4 mels.
fn tiny() -> Frontend {
    let mut o = FrontendOptions::preset(Preset::Kaldi, Feature::Mfcc, 8000.0);
    o.frame.frame_length_samples = Some(16);
    o.frame.frame_shift_samples = Some(8);
    o.frame.dither = 0.0;
    o.mel.num_bins = 4;
    o.mel.low_freq_hz = 0.0;
    o.dct.num_ceps = 3;
    Frontend::new(&o).expect("tiny front end is valid")
}

fn check_both(layer: &mut dyn Layer, x: &ArrayD<f32>) {
    check_layer(layer, x, &CheckOptions::default());
    for p in layer.params_mut() {
        assert!(!p.trainable, "hand-crafted stages start frozen");
        p.trainable = true;
    }
    check_layer(layer, x, &CheckOptions::default());
}

#[test]
fn dft_power_gradients() {
    let fe = tiny();
    let mut l = DftPowerLayer::new(fe.window(), 16);
    assert_eq!(l.name(), "dft_power(16->9)");
    check_both(&mut l, &random(&[2, 3, 16], -1.0, 1.0, 1));
}

#[test]
fn mel_and_dct_gradients() {
    let fe = tiny();
    let mut mel = MatrixLayer::mel(fe.mel_banks().unwrap().dense());
    assert_eq!(mel.name(), "mel(9->4)");
    check_both(&mut mel, &random(&[2, 3, 9], 0.0, 2.0, 2));
    let mut dct = MatrixLayer::dct(fe.dct().unwrap().matrix());
    assert_eq!(dct.name(), "dct(4->3)");
    check_both(&mut dct, &random(&[2, 3, 4], -3.0, 3.0, 3));
}

#[test]
fn compression_gradients_away_from_the_floor() {
    // Inputs in [0.5, 2]: log and dB are smooth there (the floor's kink
    // is at 1e-7 / 1e-10).
    let x = random(&[2, 3, 4], 0.5, 2.0, 4);
    check_layer(
        &mut CompressLayer::new(&CompressOptions::default()),
        &x,
        &CheckOptions::default(),
    );
    let db = CompressOptions {
        kind: Compression::Db,
        top_db: Some(80.0),
        ..Default::default()
    };
    check_layer(&mut CompressLayer::new(&db), &x, &CheckOptions::default());
}

#[test]
fn compression_floor_has_zero_gradient() {
    let mut l = CompressLayer::new(&CompressOptions::default());
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 1, 2]), vec![0.0, 2.0]).unwrap();
    let mut rng = rng_from_seed(SEED);
    l.forward(x.view(), &mut Ctx::train(&mut rng));
    let g = l.backward(ArrayD::ones(IxDyn(&[1, 1, 2])).view());
    assert_eq!(g.as_slice().unwrap(), &[0.0, 0.5]);
}

fn speechy(n: usize) -> Vec<f32> {
    let mut rng = rng_from_seed(SEED);
    (0..n)
        .map(|i| 0.3 * (i as f32 * 0.09).sin() + 0.05 * rng.random_range(-1.0f32..1.0))
        .collect()
}

/// Runs the layer stack on the frozen prefix of `fe` and returns
/// (layer path, fast path) as `(frames, dims)`.
fn both_paths(fe: &Frontend, x: &[f32]) -> (Array2<f32>, Array2<f32>) {
    let (frames, _) = fe.frames(x, &mut rng_from_seed(SEED));
    let mut h = frames.insert_axis(Axis(0)).into_dyn();
    let mut rng = rng_from_seed(SEED);
    for layer in layer_stack(fe).iter_mut() {
        h = layer.forward(h.view(), &mut Ctx::eval(&mut rng));
    }
    let layered = h
        .index_axis(Axis(0), 0)
        .into_dimensionality::<Ix2>()
        .unwrap()
        .to_owned();
    (layered, fe.compute(x, &mut rng_from_seed(SEED)))
}

fn max_abs(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter()
        .zip(b)
        .map(|(u, v)| (u - v).abs())
        .fold(0.0, f32::max)
}

#[test]
fn layer_path_equals_fast_path_kaldi() {
    let x = speechy(4000);
    for feature in [Feature::Mfcc, Feature::Fbank] {
        let mut o = FrontendOptions::preset(Preset::Kaldi, feature, 16000.0);
        o.frame.dither = 0.0;
        o.energy.use_energy = false;
        let fe = Frontend::new(&o).unwrap();
        let (layered, fast) = both_paths(&fe, &x);
        // A 400-tap f32 matmul DFT against realfft: log-mel differences of
        // ~1e-6..1e-5 on int16-scale input, times DCT/lifter gains up to 12
        // for MFCC (measured 4e-5); 1e-3 leaves 25x margin while a wrong
        // window, basis sign or bin is off by > 0.01.
        let d = max_abs(&layered, &fast);
        assert!(d < 1e-3, "{feature:?}: max abs diff {d}");
    }
}

#[test]
fn layer_path_equals_fast_path_librosa_without_top_db() {
    let x = speechy(8000);
    let mut o = FrontendOptions::preset(Preset::Librosa, Feature::Mfcc, 16000.0);
    o.compress.top_db = None;
    let fe = Frontend::new(&o).unwrap();
    let (layered, fast) = both_paths(&fe, &x);
    // dB values (10 log10): the same relative f32 error as above is 4.3x
    // larger in dB, summed over 128 mels by the orthonormal DCT (measured
    // 3e-5); 1e-3 keeps a wide margin.
    let d = max_abs(&layered, &fast);
    assert!(d < 1e-3, "max abs diff {d}");
}
