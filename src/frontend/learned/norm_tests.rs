use ndarray::{s, Array3, ArrayD};
use rand::RngExt;

use super::*;
use crate::nn::gradcheck::{check_layer, CheckOptions};
use crate::nn::rng_from_seed;

const SEED: u64 = 60;
const KINDS: [NormKind; 4] = [
    NormKind::Frame,
    NormKind::UtteranceMean,
    NormKind::UtteranceMeanVar,
    NormKind::Batch,
];

fn features(b: usize, f: usize, d: usize, seed: u64) -> ArrayD<f32> {
    let mut rng = rng_from_seed(seed);
    Array3::from_shape_fn((b, f, d), |(_, _, c)| {
        c as f32 + 2.0 * rng.random_range(-1.0f32..1.0)
    })
    .into_dyn()
}

fn layer(kind: NormKind, affine: bool, learn: bool) -> FeatureNorm {
    FeatureNorm::new(4, kind, DEFAULT_EPS, DEFAULT_MOMENTUM, affine, learn).expect("valid")
}

fn forward(
    layer: &mut FeatureNorm,
    x: &ArrayD<f32>,
    lengths: Option<Vec<usize>>,
    mode: Mode,
) -> ArrayD<f32> {
    let mut rng = rng_from_seed(SEED);
    let mut ctx = crate::nn::Ctx {
        mode,
        rng: &mut rng,
        lengths,
    };
    layer.forward(x.view(), &mut ctx)
}

/// Plain f64 reference: normalise `v` (one statistics group).
fn standardise(v: &[f64], variance: bool) -> Vec<f64> {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / n;
    let scale = if variance {
        1.0 / (var + DEFAULT_EPS as f64).sqrt()
    } else {
        1.0
    };
    v.iter().map(|a| (a - mean) * scale).collect()
}

#[test]
fn gradients_match_finite_differences_with_and_without_lengths() {
    let x = features(3, 6, 4, 1);
    for kind in KINDS {
        for affine in [false, true] {
            for lengths in [None, Some(vec![6, 3, 1])] {
                let mut norm = layer(kind, affine, true);
                if affine {
                    // Move gamma and beta off their identity start so a wrong
                    // formula cannot hide behind gamma = 1.
                    for (k, p) in norm.params_mut().into_iter().take(2).enumerate() {
                        p.value
                            .iter_mut()
                            .enumerate()
                            .for_each(|(i, v)| *v += 0.3 * (i + k) as f32 - 0.4);
                    }
                }
                let opts = CheckOptions {
                    lengths: lengths.clone(),
                    ..CheckOptions::default()
                };
                check_layer(&mut norm, &x, &opts);
            }
        }
    }
}

#[test]
fn matches_plain_normalisation_over_valid_frames_and_zeroes_padding() {
    let x = features(2, 7, 4, 2);
    let lengths = [7usize, 4];
    for kind in KINDS {
        let mut norm = layer(kind, false, false);
        let y = forward(&mut norm, &x, Some(lengths.to_vec()), Mode::Train);
        let mut expect = Array3::<f64>::zeros((2, 7, 4));
        match kind {
            NormKind::Frame => {
                for (b, &n) in lengths.iter().enumerate() {
                    for t in 0..n {
                        let v: Vec<f64> = (0..4).map(|c| x[[b, t, c]] as f64).collect();
                        standardise(&v, true)
                            .iter()
                            .enumerate()
                            .for_each(|(c, z)| expect[[b, t, c]] = *z);
                    }
                }
            }
            NormKind::Batch => {
                for c in 0..4 {
                    let idx: Vec<(usize, usize)> = lengths
                        .iter()
                        .enumerate()
                        .flat_map(|(b, &n)| (0..n).map(move |t| (b, t)))
                        .collect();
                    let v: Vec<f64> = idx.iter().map(|&(b, t)| x[[b, t, c]] as f64).collect();
                    for (&(b, t), z) in idx.iter().zip(standardise(&v, true)) {
                        expect[[b, t, c]] = z;
                    }
                }
            }
            _ => {
                for (b, &n) in lengths.iter().enumerate() {
                    for c in 0..4 {
                        let v: Vec<f64> = (0..n).map(|t| x[[b, t, c]] as f64).collect();
                        let z = standardise(&v, kind == NormKind::UtteranceMeanVar);
                        z.iter()
                            .enumerate()
                            .for_each(|(t, z)| expect[[b, t, c]] = *z);
                    }
                }
            }
        }
        for ((idx, e), got) in expect.indexed_iter().zip(y.iter()) {
            // f32 statistics over <= 11 values of O(5): ~1e-6.
            assert!(
                (*got as f64 - e).abs() < 1e-5,
                "{kind:?} at {idx:?}: {got} vs {e}"
            );
        }
    }
}

#[test]
fn padded_frames_neither_influence_nor_receive_gradient() {
    let x = features(2, 6, 4, 3);
    let lengths = Some(vec![6, 2]);
    for kind in KINDS {
        let mut norm = layer(kind, true, true);
        let y = forward(&mut norm, &x, lengths.clone(), Mode::Train);
        let mut x2 = x.clone();
        x2.slice_mut(s![1, 2.., ..]).fill(1e6);
        let y2 = forward(&mut norm, &x2, lengths.clone(), Mode::Train);
        assert_eq!(
            y, y2,
            "{kind:?}: padded input values leaked into the output"
        );
        assert!(y2.slice(s![1, 2.., ..]).iter().all(|&v| v == 0.0));
        let dx = norm.backward(features(2, 6, 4, 9).view());
        assert!(
            dx.slice(s![1, 2.., ..]).iter().all(|&g| g == 0.0),
            "{kind:?}"
        );
    }
}

#[test]
fn output_is_invariant_to_the_scale_of_the_front_end() {
    // The collapse guard: features 100x larger give the same classifier input.
    let x = features(2, 8, 4, 4);
    for kind in [NormKind::Frame, NormKind::UtteranceMeanVar, NormKind::Batch] {
        let mut norm = layer(kind, false, false);
        let y = forward(&mut norm, &x, None, Mode::Train);
        let y100 = forward(&mut norm, &x.mapv(|v| 100.0 * v + 7.0), None, Mode::Train);
        // eps / var ~ 1e-5 changes the scale by < 1e-5 relative; f32 ~ 1e-6.
        for (a, b) in y.iter().zip(y100.iter()) {
            assert!((a - b).abs() < 1e-4, "{kind:?}: {a} vs {b}");
        }
    }
}

#[test]
fn batch_kind_tracks_running_statistics_for_evaluation() {
    let x = features(4, 10, 4, 5).mapv(|v| 3.0 * v + 1.0);
    let mut norm =
        FeatureNorm::new(4, NormKind::Batch, DEFAULT_EPS, 1.0, false, true).expect("valid");
    // Momentum 1: the running averages become this batch's statistics, so
    // evaluation on the same batch reproduces training.
    let train = forward(&mut norm, &x, None, Mode::Train);
    let eval = forward(&mut norm, &x, None, Mode::Eval);
    for (a, b) in train.iter().zip(eval.iter()) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
    let names: Vec<_> = norm
        .params()
        .iter()
        .map(|p| (p.name.clone(), p.trainable))
        .collect();
    assert_eq!(
        names,
        [
            ("running_mean".to_string(), false),
            ("running_var".to_string(), false)
        ]
    );
}

#[test]
fn frozen_affine_gives_no_parameter_gradient() {
    let x = features(2, 5, 4, 6);
    let mut norm = layer(NormKind::Frame, true, false);
    assert_eq!(norm.num_trainable(), 0);
    let y = forward(&mut norm, &x, None, Mode::Train);
    norm.backward(y.view());
    assert!(norm
        .params()
        .iter()
        .all(|p| p.grad.iter().all(|&g| g == 0.0)));
}

#[test]
fn bad_options_are_errors_naming_the_field() {
    let e = FeatureNorm::new(3, NormKind::Frame, 0.0, 0.1, false, true)
        .err()
        .expect("zero eps");
    assert!(e.to_string().contains("eps = 0"), "{e}");
    let e = FeatureNorm::new(3, NormKind::Batch, 1e-5, 1.5, false, true)
        .err()
        .expect("momentum");
    assert!(e.to_string().contains("momentum = 1.5"), "{e}");
    assert!(FeatureNorm::new(0, NormKind::Frame, 1e-5, 0.1, false, true).is_err());
}
