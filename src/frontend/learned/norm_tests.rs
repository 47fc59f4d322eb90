use ndarray::{s, Array3, ArrayD};
use rand::RngExt;

use super::*;
use crate::nn::gradcheck::{check_layer, CheckOptions};
use crate::nn::rng_from_seed;

const SEED: u64 = 60;

fn features(b: usize, f: usize, d: usize, seed: u64) -> ArrayD<f32> {
    let mut rng = rng_from_seed(seed);
    Array3::from_shape_fn((b, f, d), |(_, _, c)| c as f32 + 2.0 * rng.random_range(-1.0f32..1.0)).into_dyn()
}

fn forward(layer: &mut UtteranceNorm, x: &ArrayD<f32>, lengths: Option<Vec<usize>>) -> ArrayD<f32> {
    let mut rng = rng_from_seed(SEED);
    let mut ctx = crate::nn::Ctx::train(&mut rng);
    ctx.lengths = lengths;
    layer.forward(x.view(), &mut ctx)
}

#[test]
fn gradients_match_finite_differences_with_and_without_lengths() {
    let x = features(3, 6, 4, 1);
    for kind in [NormKind::Mean, NormKind::MeanVar] {
        for affine in [false, true] {
            for lengths in [None, Some(vec![6, 3, 1])] {
                let mut layer = UtteranceNorm::new(4, kind, 1e-5, affine, true).expect("valid");
                if affine {
                    // Move gamma and beta off their identity start so a wrong
                    // formula cannot hide behind gamma = 1.
                    for (k, p) in layer.params_mut().into_iter().enumerate() {
                        p.value.iter_mut().enumerate().for_each(|(i, v)| *v += 0.3 * (i + k) as f32 - 0.4);
                    }
                }
                let opts = CheckOptions { lengths: lengths.clone(), ..CheckOptions::default() };
                check_layer(&mut layer, &x, &opts);
            }
        }
    }
}

#[test]
fn matches_plain_cmvn_over_valid_frames_and_zeroes_padding() {
    let x = features(2, 7, 3, 2);
    let lengths = vec![7, 4];
    for kind in [NormKind::Mean, NormKind::MeanVar] {
        let mut layer = UtteranceNorm::new(3, kind, 1e-5, false, false).expect("valid");
        let y = forward(&mut layer, &x, Some(lengths.clone()));
        for (b, &n) in lengths.iter().enumerate() {
            for c in 0..3 {
                let v: Vec<f64> = (0..n).map(|t| x[[b, t, c]] as f64).collect();
                let mean = v.iter().sum::<f64>() / n as f64;
                let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n as f64;
                for t in 0..7 {
                    let expect = if t >= n {
                        0.0
                    } else if kind == NormKind::Mean {
                        v[t] - mean
                    } else {
                        (v[t] - mean) / (var + 1e-5).sqrt()
                    };
                    // f32 statistics over <= 7 frames of O(5) values: ~1e-6.
                    assert!((y[[b, t, c]] as f64 - expect).abs() < 1e-5, "{kind:?} b{b} t{t} c{c}");
                }
            }
        }
    }
}

#[test]
fn padded_frames_neither_influence_nor_receive_gradient() {
    let x = features(2, 6, 3, 3);
    let lengths = Some(vec![6, 2]);
    let mut layer = UtteranceNorm::new(3, NormKind::MeanVar, 1e-5, true, true).expect("valid");
    let y = forward(&mut layer, &x, lengths.clone());
    let mut x2 = x.clone();
    x2.slice_mut(s![1, 2.., ..]).fill(1e6);
    let y2 = forward(&mut layer, &x2, lengths);
    assert_eq!(y, y2, "padded input values leaked into the output");
    let dx = layer.backward(ArrayD::ones(y2.raw_dim()).view());
    assert!(dx.slice(s![1, 2.., ..]).iter().all(|&g| g == 0.0));
}

#[test]
fn output_is_invariant_to_the_scale_of_the_front_end() {
    // The collapse guard: features 100x larger give the same classifier input.
    let x = features(2, 8, 4, 4);
    let mut layer = UtteranceNorm::new(4, NormKind::MeanVar, 1e-5, false, false).expect("valid");
    let y = forward(&mut layer, &x, None);
    let y100 = forward(&mut layer, &x.mapv(|v| 100.0 * v + 7.0), None);
    // eps / var ~ 1e-5 changes the scale by < 1e-5 relative; f32 ~ 1e-6.
    for (a, b) in y.iter().zip(y100.iter()) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
}

#[test]
fn frozen_affine_gives_no_parameter_gradient() {
    let x = features(2, 5, 3, 5);
    let mut layer = UtteranceNorm::new(3, NormKind::MeanVar, 1e-5, true, false).expect("valid");
    assert_eq!(layer.num_trainable(), 0);
    let y = forward(&mut layer, &x, None);
    layer.backward(y.view());
    assert!(layer.params().iter().all(|p| p.grad.iter().all(|&g| g == 0.0)));
}

#[test]
fn bad_options_are_errors_naming_the_field() {
    let e = UtteranceNorm::new(3, NormKind::MeanVar, 0.0, false, true).err().expect("zero eps");
    assert!(e.to_string().contains("eps = 0"), "{e}");
    assert!(UtteranceNorm::new(0, NormKind::Mean, 1e-5, false, true).is_err());
}
