use ndarray::{Array2, Array3, ArrayD};
use rand::RngExt;

use super::*;
use crate::nn::gradcheck::{check_layer, CheckOptions};
use crate::nn::rng_from_seed;

const SEED: u64 = 30;

/// Plain reference: Kaldi-style triangles, linear in mel (1127 ln(1 + f/700))
/// between neighbouring centres, over bins 0..n_fft/2 with the Nyquist bin
/// left at zero.
fn kaldi_mel(n_filters: usize, n_fft: usize, sample_rate: f64) -> Array2<f32> {
    let mel = |f: f64| 1127.0 * (1.0 + f / 700.0).ln();
    let (lo, hi) = (mel(20.0), mel(sample_rate / 2.0));
    let delta = (hi - lo) / (n_filters + 1) as f64;
    let mut m = Array2::zeros((n_filters, n_fft / 2 + 1));
    for j in 0..n_filters {
        let (l, c, r) = (
            lo + j as f64 * delta,
            lo + (j + 1) as f64 * delta,
            lo + (j + 2) as f64 * delta,
        );
        for k in 0..n_fft / 2 {
            let z = mel(k as f64 * sample_rate / n_fft as f64);
            if z > l && z < r {
                m[[j, k]] = if z <= c {
                    (z - l) / (c - l)
                } else {
                    (r - z) / (r - c)
                } as f32;
            }
        }
    }
    m
}

fn spectra(b: usize, f: usize, bins: usize, scale: f32, seed: u64) -> ArrayD<f32> {
    let mut rng = rng_from_seed(seed);
    Array3::from_shape_simple_fn((b, f, bins), || scale * rng.random_range(0.0f32..1.0)).into_dyn()
}

fn forward(layer: &mut MelMatrix, x: &ArrayD<f32>) -> ArrayD<f32> {
    let mut rng = rng_from_seed(SEED);
    layer.forward(x.view(), &mut crate::nn::Ctx::train(&mut rng))
}

#[test]
fn classic_init_reproduces_the_mel_matrix_product() {
    let mel = kaldi_mel(23, 256, 8000.0);
    let x = spectra(2, 6, 129, 1e6, 1);
    for off_support in [0.0, MelMatrixOptions::default().off_support] {
        let opts = MelMatrixOptions { off_support };
        let mut layer = MelMatrix::new(mel.view(), false, Init::Classic, opts).expect("valid");
        let y = forward(&mut layer, &x);
        assert_eq!(y.shape(), &[2, 6, 23]);
        for b in 0..2 {
            for t in 0..6 {
                for j in 0..23 {
                    let r: f64 = (0..129)
                        .map(|k| mel[[j, k]] as f64 * x[[b, t, k]] as f64)
                        .sum();
                    // Sums of 129 non-negative f32 products: relative error at
                    // most 129 * 6e-8 = 8e-6 (plus 2 ulp from sqrt then square);
                    // the 1e-20 off-support seed adds < 1e-18 relative here.
                    let got = y[[b, t, j]] as f64;
                    assert!(
                        (got - r).abs() <= 1e-5 * r,
                        "off {off_support} b{b} t{t} j{j}: {got} vs {r}"
                    );
                }
            }
        }
        let w = layer.filters();
        for (a, m) in w.iter().zip(mel.iter()) {
            // sqrt then square: within 2 ulp where the triangle is non-zero.
            assert!(
                (a - m).abs() <= 2.5e-7 * m.max(1e-12) || (*m == 0.0 && *a <= 1e-20),
                "{a} vs {m}"
            );
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    let mel = kaldi_mel(4, 16, 8000.0);
    let x = spectra(2, 3, 9, 1.0, 2);
    let mut rng = rng_from_seed(SEED);
    for init in [Init::Classic, Init::Random(&mut rng)] {
        let mut layer =
            MelMatrix::new(mel.view(), true, init, MelMatrixOptions::default()).expect("valid");
        check_layer(&mut layer, &x, &CheckOptions::default());
    }
}

#[test]
fn frozen_gives_no_parameter_gradient() {
    let mel = kaldi_mel(4, 16, 8000.0);
    let x = spectra(2, 3, 9, 1.0, 3);
    let mut layer = MelMatrix::new(
        mel.view(),
        false,
        Init::Classic,
        MelMatrixOptions::default(),
    )
    .expect("valid");
    assert_eq!(layer.num_trainable(), 0);
    let y = forward(&mut layer, &x);
    let dx = layer.backward(y.view());
    assert!(layer.params()[0].grad.iter().all(|&g| g == 0.0));
    assert!(
        dx.iter().any(|&g| g != 0.0),
        "the input gradient still flows"
    );
}

#[test]
fn off_support_entries_can_grow_only_with_a_seed() {
    let mel = kaldi_mel(4, 16, 8000.0);
    let x = spectra(1, 2, 9, 1.0, 4);
    // Loss = -sum(out): every weight wants to grow.
    let g = ArrayD::from_elem(ndarray::IxDyn(&[1, 2, 4]), -1.0f32);
    for (off_support, grows) in [(1e-20f32, true), (0.0, false)] {
        let mut layer = MelMatrix::new(
            mel.view(),
            true,
            Init::Classic,
            MelMatrixOptions { off_support },
        )
        .expect("ok");
        forward(&mut layer, &x);
        layer.backward(g.view());
        let grad = layer.params()[0].grad.clone();
        for ((j, k), m) in mel.indexed_iter() {
            if *m == 0.0 {
                let moving = grad[[j, k]] != 0.0;
                assert_eq!(
                    moving,
                    grows,
                    "off_support {off_support}: entry ({j}, {k}) gradient {}",
                    grad[[j, k]]
                );
            }
        }
    }
}

#[test]
fn random_init_is_positive_with_the_mean_classic_filter_sum() {
    let mel = kaldi_mel(23, 256, 8000.0);
    let target = mel.sum() / 23.0;
    let mut rng = rng_from_seed(SEED);
    let layer = MelMatrix::new(
        mel.view(),
        true,
        Init::Random(&mut rng),
        MelMatrixOptions::default(),
    )
    .expect("ok");
    let w = layer.filters();
    assert!(w.iter().all(|&v| v >= 0.0));
    for row in w.rows() {
        // Normalised in f32, then sqrt and square: relative error ~1e-6.
        assert!(
            (row.sum() / target - 1.0).abs() < 1e-4,
            "{} vs {target}",
            row.sum()
        );
    }
    // Non-negativity holds for any V, including negative entries.
    let mut layer = layer;
    layer.params_mut()[0].value.mapv_inplace(|v| -v);
    let y = forward(&mut layer, &spectra(1, 2, 129, 1.0, 5));
    assert!(y.iter().all(|&v| v >= 0.0));
}

#[test]
fn bad_matrices_are_errors_naming_the_field() {
    let mut mel = kaldi_mel(4, 16, 8000.0);
    mel[[1, 2]] = -0.5;
    let err = MelMatrix::new(mel.view(), true, Init::Classic, MelMatrixOptions::default())
        .err()
        .expect("negative");
    assert!(err.to_string().contains("mel = -0.5"), "{err}");
    let empty = Array2::<f32>::zeros((0, 9));
    assert!(MelMatrix::new(
        empty.view(),
        true,
        Init::Classic,
        MelMatrixOptions::default()
    )
    .is_err());
    let opts = MelMatrixOptions {
        off_support: f32::NAN,
    };
    let err = MelMatrix::new(kaldi_mel(4, 16, 8000.0).view(), true, Init::Classic, opts)
        .err()
        .expect("nan");
    assert!(err.to_string().contains("off_support"), "{err}");
}
