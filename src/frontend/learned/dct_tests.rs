use ndarray::{Array3, ArrayD};
use rand::RngExt;

use super::*;
use crate::nn::gradcheck::{check_layer, CheckOptions};
use crate::nn::rng_from_seed;

const SEED: u64 = 50;

fn inputs(b: usize, f: usize, c: usize, lo: f32, hi: f32, seed: u64) -> ArrayD<f32> {
    let mut rng = rng_from_seed(seed);
    Array3::from_shape_simple_fn((b, f, c), || rng.random_range(lo..hi)).into_dyn()
}

fn forward(layer: &mut LearnedDct, x: &ArrayD<f32>) -> ArrayD<f32> {
    let mut rng = rng_from_seed(SEED);
    layer.forward(x.view(), &mut crate::nn::Ctx::train(&mut rng))
}

/// Plain reference: scipy-style orthonormal DCT-II of the whole vector, keep
/// the first `n_ceps`, then multiply by the lifter (Kaldi: index i;
/// librosa: index i + 1), all in f64.
fn reference(x: &[f32], n_ceps: usize, q: Option<(f64, bool)>) -> Vec<(f64, f64)> {
    let n = x.len() as f64;
    (0..n_ceps)
        .map(|i| {
            let scale = if i == 0 {
                (1.0 / n).sqrt()
            } else {
                (2.0 / n).sqrt()
            };
            let terms = x.iter().enumerate().map(|(j, &v)| {
                v as f64
                    * scale
                    * (std::f64::consts::PI * i as f64 * (2.0 * j as f64 + 1.0) / (2.0 * n)).cos()
            });
            let (sum, abs): (f64, f64) = terms.fold((0.0, 0.0), |(s, a), t| (s + t, a + t.abs()));
            let lift = q.map_or(1.0, |(q, kaldi)| {
                let idx = if kaldi { i as f64 } else { i as f64 + 1.0 };
                1.0 + q / 2.0 * (std::f64::consts::PI * idx / q).sin()
            });
            (lift * sum, lift * abs)
        })
        .collect()
}

#[test]
fn classic_init_is_the_liftered_orthonormal_dct() {
    // Log-mel-like values: Kaldi's int16 scale gives roughly 0..25.
    let x = inputs(2, 4, 23, -5.0, 25.0, 1);
    let cases = [
        (None, None),
        (
            Some(Lifter {
                q: 22.0,
                index: LifterIndex::Kaldi,
            }),
            Some((22.0, true)),
        ),
        (
            Some(Lifter {
                q: 22.0,
                index: LifterIndex::Librosa,
            }),
            Some((22.0, false)),
        ),
    ];
    for (lifter, q) in cases {
        let mut layer =
            LearnedDct::new(23, 13, lifter, false, false, Init::Classic).expect("valid");
        let y = forward(&mut layer, &x);
        assert_eq!(y.shape(), &[2, 4, 13]);
        for b in 0..2 {
            for t in 0..4 {
                let row: Vec<f32> = (0..23).map(|j| x[[b, t, j]]).collect();
                for (i, (r, abs)) in reference(&row, 13, q).into_iter().enumerate() {
                    // Dot product of 23 f32 terms: |error| <= 23 * 6e-8 * sum|terms|,
                    // plus one rounding of each weight (6e-8 relative).
                    let tol = 24.0 * 6e-8 * abs + 1e-7 * abs;
                    let got = y[[b, t, i]] as f64;
                    assert!(
                        (got - r).abs() <= tol,
                        "{q:?} b{b} t{t} c{i}: {got} vs {r} (tol {tol})"
                    );
                }
            }
        }
    }
}

#[test]
fn classic_matrix_without_lifter_is_orthonormal() {
    let w = dct_matrix(16, 16, None);
    let gram = w.dot(&w.t());
    for ((i, j), v) in gram.indexed_iter() {
        let expect = if i == j { 1.0 } else { 0.0 };
        // f32 weights, 16-term products: within 1e-6.
        assert!((v - expect).abs() < 1e-6, "({i}, {j}) = {v}");
    }
}

#[test]
fn gradients_match_finite_differences() {
    let x = inputs(2, 3, 8, -2.0, 2.0, 2);
    let lifter = Some(Lifter {
        q: 6.0,
        index: LifterIndex::Kaldi,
    });
    let mut rng = rng_from_seed(SEED);
    for (bias, init) in [(false, Init::Classic), (true, Init::Random(&mut rng))] {
        let mut layer = LearnedDct::new(8, 5, lifter, bias, true, init).expect("valid");
        check_layer(&mut layer, &x, &CheckOptions::default());
    }
}

#[test]
fn frozen_gives_no_parameter_gradient() {
    let x = inputs(2, 3, 8, -2.0, 2.0, 3);
    let mut layer = LearnedDct::new(8, 5, None, true, false, Init::Classic).expect("valid");
    assert_eq!(layer.num_trainable(), 0);
    let y = forward(&mut layer, &x);
    let dx = layer.backward(y.view());
    assert!(layer
        .params()
        .iter()
        .all(|p| p.grad.iter().all(|&g| g == 0.0)));
    // Orthonormal rows: dx = W^T W x is the projection of x, not zero.
    assert!(dx.iter().any(|&g| g != 0.0));
}

#[test]
fn bad_options_are_errors_naming_the_field() {
    let e = LearnedDct::new(8, 9, None, false, true, Init::Classic)
        .err()
        .expect("too many ceps");
    assert!(e.to_string().contains("n_ceps = 9"), "{e}");
    let lifter = Some(Lifter {
        q: -1.0,
        index: LifterIndex::Kaldi,
    });
    let e = LearnedDct::new(8, 4, lifter, false, true, Init::Classic)
        .err()
        .expect("negative q");
    assert!(e.to_string().contains("lifter.q = -1"), "{e}");
}

#[test]
fn from_matrix_starts_exactly_at_the_given_matrix() {
    let m = dct_matrix(
        8,
        5,
        Some(Lifter {
            q: 22.0,
            index: LifterIndex::Librosa,
        }),
    );
    let layer = LearnedDct::from_matrix(m.view(), false, true, Init::Classic).expect("valid");
    assert_eq!(layer.weight(), m.view());
    let bad = ndarray::Array2::from_elem((2, 3), f32::NAN);
    let e = LearnedDct::from_matrix(bad.view(), false, true, Init::Classic)
        .err()
        .expect("nan");
    assert!(e.to_string().contains("matrix = NaN"), "{e}");
}
