use ndarray::{Array3, ArrayD};
use rand::RngExt;

use super::*;
use crate::nn::gradcheck::{check_layer, CheckOptions};
use crate::nn::{rng_from_seed, Ctx};

const SEED: u64 = 20;

fn hamming(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            (0.54 - 0.46 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos()) as f32
        })
        .collect()
}

fn frames(b: usize, f: usize, len: usize, seed: u64) -> ArrayD<f32> {
    let mut rng = rng_from_seed(seed);
    Array3::from_shape_simple_fn((b, f, len), || rng.random_range(-1.0f32..1.0)).into_dyn()
}

/// Plain reference: power spectrum of the windowed, zero-padded frame by a
/// naive f64 DFT.
fn naive_power(frame: &[f32], window: &[f32], n_fft: usize) -> Vec<f64> {
    (0..n_fft / 2 + 1)
        .map(|k| {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for n in 0..frame.len() {
                let v = frame[n] as f64 * window[n] as f64;
                let a = -2.0 * std::f64::consts::PI * (k * n) as f64 / n_fft as f64;
                re += v * a.cos();
                im += v * a.sin();
            }
            re * re + im * im
        })
        .collect()
}

fn run(layer: &mut TimeFilterbank, x: &ArrayD<f32>) -> ArrayD<f32> {
    let mut rng = rng_from_seed(SEED);
    layer.forward(x.view(), &mut Ctx::train(&mut rng))
}

#[test]
fn classic_init_is_the_power_spectrum_of_the_windowed_frame() {
    // 25 samples zero-padded to 32, like Kaldi's 25 ms frame in a 2^k FFT.
    let (len, n_fft) = (25, 32);
    let window = hamming(len);
    let x = frames(2, 5, len, 1).mapv(|v| v * 3e4); // int16 scale, as Kaldi
    for kind in [SpectrumKind::Power, SpectrumKind::Magnitude] {
        let mut tfb =
            TimeFilterbank::new(&window, n_fft, kind, false, Init::Classic).expect("valid");
        let y = run(&mut tfb, &x);
        assert_eq!(y.shape(), &[2, 5, 17]);
        for b in 0..2 {
            for t in 0..5 {
                let frame: Vec<f32> = (0..len).map(|n| x[[b, t, n]]).collect();
                let mut reference = naive_power(&frame, &window, n_fft);
                if kind == SpectrumKind::Magnitude {
                    reference.iter_mut().for_each(|p| *p = p.sqrt());
                }
                let peak = reference.iter().cloned().fold(0.0, f64::max);
                for (k, r) in reference.iter().enumerate() {
                    // f32 accumulation over 25 terms: error ~ 25 * 6e-8 of the
                    // frame's scale, well inside 1e-4 of the largest bin.
                    let got = y[[b, t, k]] as f64;
                    assert!(
                        (got - r).abs() <= 1e-4 * peak,
                        "{kind:?} b{b} t{t} k{k}: {got} vs {r}"
                    );
                }
            }
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    let window = hamming(12);
    for kind in [SpectrumKind::Power, SpectrumKind::Magnitude] {
        let mut rng = rng_from_seed(SEED);
        for init in [Init::Classic, Init::Random(&mut rng)] {
            let mut tfb = TimeFilterbank::new(&window, 16, kind, true, init).expect("valid");
            let x = frames(2, 3, 12, 2);
            check_layer(&mut tfb, &x, &CheckOptions::default());
        }
    }
}

#[test]
fn frozen_gives_no_parameter_gradient_but_the_same_input_gradient() {
    let window = hamming(12);
    let x = frames(2, 3, 12, 3);
    let g = frames(2, 3, 9, 4);
    let mut frozen =
        TimeFilterbank::new(&window, 16, SpectrumKind::Power, false, Init::Classic).expect("valid");
    let mut learned =
        TimeFilterbank::new(&window, 16, SpectrumKind::Power, true, Init::Classic).expect("valid");
    assert_eq!(frozen.num_trainable(), 0);
    assert_eq!(learned.num_trainable(), 18 * 12);
    run(&mut frozen, &x);
    run(&mut learned, &x);
    let dx_frozen = frozen.backward(g.view());
    let dx_learned = learned.backward(g.view());
    assert!(frozen.params()[0].grad.iter().all(|&v| v == 0.0));
    assert!(learned.params()[0].grad.iter().any(|&v| v != 0.0));
    assert_eq!(dx_frozen, dx_learned);
}

#[test]
fn random_init_has_the_classic_row_scale() {
    let window = hamming(200);
    let mut rng = rng_from_seed(SEED);
    let tfb = TimeFilterbank::new(
        &window,
        256,
        SpectrumKind::Power,
        true,
        Init::Random(&mut rng),
    )
    .expect("valid");
    let mean_sq =
        |w: ndarray::ArrayView2<f32>| w.iter().map(|v| v * v).sum::<f32>() / w.nrows() as f32;
    let random = mean_sq(tfb.weight());
    let classic = mean_sq(dft_basis(&window, 256).view());
    // 258 x 200 draws: the mean square is within a few percent of its expectation.
    assert!(
        (random / classic - 1.0).abs() < 0.05,
        "random {random} vs classic {classic}"
    );
}

#[test]
fn bad_options_are_errors_naming_the_field() {
    let err = TimeFilterbank::new(&[1.0; 40], 32, SpectrumKind::Power, true, Init::Classic)
        .err()
        .expect("too long");
    assert!(err.to_string().contains("n_fft = 32"), "{err}");
    let err = TimeFilterbank::new(&[], 32, SpectrumKind::Power, true, Init::Classic)
        .err()
        .expect("empty");
    assert!(err.to_string().contains("window"), "{err}");
    let err = TimeFilterbank::new(&[f32::NAN], 32, SpectrumKind::Power, true, Init::Classic)
        .err()
        .expect("nan");
    assert!(err.to_string().contains("NaN"), "{err}");
}
