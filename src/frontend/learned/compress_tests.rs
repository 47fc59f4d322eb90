use ndarray::{Array3, ArrayD};
use rand::RngExt;

use super::*;
use crate::nn::gradcheck::{check_layer, CheckOptions};
use crate::nn::rng_from_seed;

const SEED: u64 = 40;

fn positive(b: usize, f: usize, c: usize, lo: f32, hi: f32, seed: u64) -> ArrayD<f32> {
    let mut rng = rng_from_seed(seed);
    Array3::from_shape_simple_fn((b, f, c), || rng.random_range(lo..hi)).into_dyn()
}

fn forward(layer: &mut LogCompress, x: &ArrayD<f32>) -> ArrayD<f32> {
    let mut rng = rng_from_seed(SEED);
    layer.forward(x.view(), &mut crate::nn::Ctx::train(&mut rng))
}

#[test]
fn classic_init_matches_kaldi_floor_on_int16_scale_power() {
    // Kaldi-scale mel energies: 1 .. 1e10, plus exact zeros (digital silence).
    let mut x = positive(2, 5, 23, 0.0, 10.0, 1).mapv(|e| 10f32.powf(e));
    x[[0, 0, 0]] = 0.0;
    let mut layer =
        LogCompress::new(23, false, KALDI_LOG_FLOOR, 1.0, false, Init::Classic).expect("valid");
    let y = forward(&mut layer, &x);
    for (got, &v) in y.iter().zip(x.iter()) {
        let kaldi = (v as f64).max(f32::EPSILON as f64).ln();
        // |ln(x + eps) - ln(max(x, eps))| <= eps / x <= 1.2e-7 for x >= 1 and
        // 0 at x = 0; f32 rounding of a log up to 23 is <= 2 ulp = 4e-6.
        assert!(
            (*got as f64 - kaldi).abs() <= 4e-6,
            "{got} vs {kaldi} at {v}"
        );
    }
}

#[test]
fn the_documented_departure_from_a_hard_floor_is_at_most_ln2() {
    let eps = KALDI_LOG_FLOOR;
    let x = ArrayD::from_shape_vec(ndarray::IxDyn(&[1, 1, 3]), vec![0.0, eps, 0.5 * eps])
        .expect("shape");
    let mut layer = LogCompress::new(3, false, eps, 1.0, false, Init::Classic).expect("valid");
    let y = forward(&mut layer, &x);
    let floor = (eps as f64).ln();
    // x = 0: identical to the floor; x = eps: ln 2 above it; below: between.
    assert!((y[[0, 0, 0]] as f64 - floor).abs() < 1e-5);
    assert!((y[[0, 0, 1]] as f64 - floor - std::f64::consts::LN_2).abs() < 1e-5);
    let d = y[[0, 0, 2]] as f64 - floor;
    assert!(d > 0.0 && d < std::f64::consts::LN_2);
}

#[test]
fn decibel_scale_matches_power_to_db_with_ref_one() {
    let x = positive(1, 4, 8, 1e-6, 1.0, 2);
    let scale = 10.0 / std::f32::consts::LN_10;
    let mut layer = LogCompress::new(8, true, 1e-10, scale, false, Init::Classic).expect("valid");
    let y = forward(&mut layer, &x);
    for (got, &v) in y.iter().zip(x.iter()) {
        let db = 10.0 * (v as f64).max(1e-10).log10();
        // The offset adds 4.34 ln(1 + amin / x) <= 4.34e-4 dB for x >= 1e-6;
        // f32 rounding of the log adds ~1e-5 dB.
        assert!((*got as f64 - db).abs() <= 5e-4, "{got} vs {db}");
    }
}

#[test]
fn gradients_match_finite_differences() {
    // Inputs in [0.5, 3] with delta near 0.3 so that d/d theta is O(0.1..0.4).
    let x = positive(2, 3, 5, 0.5, 3.0, 3);
    let mut rng = rng_from_seed(SEED);
    for per_channel in [false, true] {
        let init = Init::Random(&mut rng);
        let mut layer = LogCompress::new(5, per_channel, 0.3, 1.0, true, init).expect("valid");
        check_layer(&mut layer, &x, &CheckOptions::default());
        let mut layer =
            LogCompress::new(5, per_channel, 0.3, 4.3, true, Init::Classic).expect("valid");
        check_layer(&mut layer, &x, &CheckOptions::default());
    }
}

#[test]
fn frozen_gives_no_parameter_gradient() {
    let x = positive(2, 3, 5, 0.5, 3.0, 4);
    let mut layer = LogCompress::new(5, true, 0.3, 1.0, false, Init::Classic).expect("valid");
    assert_eq!(layer.num_trainable(), 0);
    let y = forward(&mut layer, &x);
    let dx = layer.backward(y.view());
    assert!(layer.params()[0].grad.iter().all(|&g| g == 0.0));
    assert!(dx.iter().all(|g| g.is_finite()) && dx.iter().any(|&g| g != 0.0));
}

#[test]
fn bad_options_are_errors_naming_the_field() {
    let e = LogCompress::new(4, false, 0.0, 1.0, true, Init::Classic)
        .err()
        .expect("zero floor");
    assert!(e.to_string().contains("floor = 0"), "{e}");
    let e = LogCompress::new(0, false, 1e-7, 1.0, true, Init::Classic)
        .err()
        .expect("no channels");
    assert!(e.to_string().contains("n_channels"), "{e}");
    let e = LogCompress::new(4, false, 1e-7, f32::INFINITY, true, Init::Classic)
        .err()
        .expect("inf scale");
    assert!(e.to_string().contains("scale = inf"), "{e}");
}
