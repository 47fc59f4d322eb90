use ndarray::{Array2, Array3, ArrayD};
use rand::RngExt;

use super::*;
use crate::nn::gradcheck::{check_layer, CheckOptions};
use crate::nn::rng_from_seed;

const SEED: u64 = 35;

/// Plain reference of Kaldi's `MelBanks` (no VTLN): HTK mel, feet at
/// neighbouring centres, bins 0..n_fft/2 (Nyquist excluded), f64.
fn kaldi_reference(n_filters: usize, n_fft: usize, sr: f64, low: f64, high: f64) -> Array2<f64> {
    let mel = |f: f64| 1127.0 * (1.0 + f / 700.0).ln();
    let delta = (mel(high) - mel(low)) / (n_filters + 1) as f64;
    let mut m = Array2::zeros((n_filters, n_fft / 2 + 1));
    for j in 0..n_filters {
        let left = mel(low) + j as f64 * delta;
        let (center, right) = (left + delta, left + 2.0 * delta);
        for k in 0..n_fft / 2 {
            let z = mel(sr / n_fft as f64 * k as f64);
            if z > left && z < right {
                m[[j, k]] = if z <= center {
                    (z - left) / (center - left)
                } else {
                    (right - z) / (right - center)
                };
            }
        }
    }
    m
}

/// Plain reference of `librosa.filters.mel(sr, n_fft, n_mels)` with its
/// defaults (Slaney mel, norm="slaney", fmin 0, fmax sr/2), f64.
fn librosa_reference(n_filters: usize, n_fft: usize, sr: f64) -> Array2<f64> {
    let f_sp = 200.0 / 3.0;
    let logstep = 6.4f64.ln() / 27.0;
    let mel = |f: f64| {
        if f >= 1000.0 {
            15.0 + (f / 1000.0).ln() / logstep
        } else {
            f / f_sp
        }
    };
    let hz = |m: f64| {
        if m >= 15.0 {
            1000.0 * (logstep * (m - 15.0)).exp()
        } else {
            f_sp * m
        }
    };
    let top = mel(sr / 2.0);
    let pts: Vec<f64> = (0..n_filters + 2)
        .map(|i| hz(top * i as f64 / (n_filters + 1) as f64))
        .collect();
    let mut m = Array2::zeros((n_filters, n_fft / 2 + 1));
    for j in 0..n_filters {
        let enorm = 2.0 / (pts[j + 2] - pts[j]);
        for k in 0..=n_fft / 2 {
            let f = sr * k as f64 / n_fft as f64;
            let lower = (f - pts[j]) / (pts[j + 1] - pts[j]);
            let upper = (pts[j + 2] - f) / (pts[j + 2] - pts[j + 1]);
            m[[j, k]] = lower.min(upper).max(0.0) * enorm;
        }
    }
    m
}

fn assert_close(got: &Array2<f32>, reference: &Array2<f64>, what: &str) {
    let peak = reference.iter().cloned().fold(0.0, f64::max);
    for ((idx, r), g) in reference.indexed_iter().zip(got.iter()) {
        // Both computed in f64 and rounded once to f32: 1 ulp of the peak,
        // plus the 1e-9-relative differences of two f64 evaluation orders.
        assert!(
            (*g as f64 - r).abs() <= 1.2e-7 * peak,
            "{what} {idx:?}: {g} vs {r}"
        );
    }
}

#[test]
fn classic_init_reproduces_kaldi_and_librosa_triangles() {
    for (n, n_fft, sr) in [(23, 512, 16000.0f32), (15, 256, 8000.0)] {
        let layer = ParametricMel::new(
            ParametricMelOptions::kaldi(n, n_fft, sr),
            false,
            Init::Classic,
        )
        .expect("ok");
        let reference = kaldi_reference(n, n_fft, sr as f64, 20.0, sr as f64 / 2.0);
        assert_close(&layer.filters(), &reference, "kaldi");
        let layer = ParametricMel::new(
            ParametricMelOptions::librosa(n, n_fft, sr),
            false,
            Init::Classic,
        )
        .expect("ok");
        assert_close(
            &layer.filters(),
            &librosa_reference(n, n_fft, sr as f64),
            "librosa",
        );
    }
}

#[test]
fn classic_forward_is_the_reference_matrix_product() {
    let opts = ParametricMelOptions::kaldi(23, 512, 16000.0);
    let mut layer = ParametricMel::new(opts, false, Init::Classic).expect("ok");
    let reference = kaldi_reference(23, 512, 16000.0, 20.0, 8000.0);
    let mut rng = rng_from_seed(SEED);
    let x = Array3::from_shape_simple_fn((2, 3, 257), || rng.random_range(0.0f32..1e6)).into_dyn();
    let y = layer.forward(x.view(), &mut crate::nn::Ctx::eval(&mut rng));
    for b in 0..2 {
        for t in 0..3 {
            for j in 0..23 {
                let r: f64 = (0..257)
                    .map(|k| reference[[j, k]] * x[[b, t, k]] as f64)
                    .sum();
                // Non-negative sums of 257 f32 products: relative <= 257 * 6e-8.
                assert!(
                    (y[[b, t, j]] as f64 - r).abs() <= 2e-5 * r,
                    "b{b} t{t} j{j}"
                );
            }
        }
    }
}

/// Smallest distance, in units of the spacing `delta`, between a bin and
/// any foot or centre of any filter (in mel).
fn kink_margin(layer: &ParametricMel) -> f64 {
    let mut margin = f64::INFINITY;
    for j in 0..layer.opts.n_filters {
        let f = layer.feet(j);
        for k in 0..layer.active_bins() {
            let s = layer.bin_pos(k);
            for p in [f.l, f.c, f.r] {
                // Distances in Hz space converted to mel units via the local slope.
                let d = match layer.opts.space {
                    TriangleSpace::Mel => (s - p).abs(),
                    TriangleSpace::Hz => (layer.opts.scale.mel(s) - layer.opts.scale.mel(p)).abs(),
                };
                margin = margin.min(d / layer.delta);
            }
        }
    }
    margin
}

#[test]
fn gradients_match_finite_differences_away_from_kinks() {
    let mut rng = rng_from_seed(SEED);
    let x = Array3::from_shape_simple_fn((2, 3, 17), || rng.random_range(0.1f32..1.0)).into_dyn();
    // Step 1e-3 moves a foot by at most ~0.005 spacings (centre) or 0.1% of a
    // width; a bin further than 0.02 spacings from every foot never crosses a
    // kink during the check, so no mismatch is allowed.
    let opts = CheckOptions {
        step: 1e-3,
        ..CheckOptions::default()
    };
    let presets = [
        ParametricMelOptions::kaldi(4, 32, 8000.0),
        ParametricMelOptions::librosa(4, 32, 8000.0),
    ];
    for base in presets {
        for symmetric in [false, true] {
            let mel_opts = ParametricMelOptions { symmetric, ..base };
            // Random inits until one keeps every bin clear of the kinks (the
            // classic init puts Kaldi's feet on a regular grid that can meet bins).
            let mut layer = (0..50)
                .map(|_| ParametricMel::new(mel_opts, true, Init::Random(&mut rng)).expect("ok"))
                .find(|l| kink_margin(l) > 0.02)
                .expect("an init clear of kinks within 50 draws");
            // Area-normalised weights are ~2 / (span in Hz) ~ 1e-3: scale the
            // input so outputs and gradients are O(1), above check_layer's atol.
            let gain = if mel_opts.area_norm { 1e3 } else { 1.0 };
            let report = check_layer(&mut layer, &x.mapv(|v| v * gain), &opts);
            // The check is not vacuous: centre and width gradients are O(0.1..1)
            // (the input row is skipped: area-normalised weights are ~1e-3).
            for (name, _, scale) in report.rows.iter().filter(|r| r.0 != "input") {
                assert!(*scale > 1e-2, "{name}: gradient scale {scale}");
            }
        }
    }
}

#[test]
fn frozen_gives_no_parameter_gradient() {
    let mut layer = ParametricMel::new(
        ParametricMelOptions::kaldi(4, 32, 8000.0),
        false,
        Init::Classic,
    )
    .expect("ok");
    assert_eq!(layer.num_trainable(), 0);
    let x = ArrayD::from_elem(ndarray::IxDyn(&[1, 2, 17]), 1.0f32);
    let mut rng = rng_from_seed(SEED);
    let y = layer.forward(x.view(), &mut crate::nn::Ctx::train(&mut rng));
    layer.backward(y.view());
    assert!(layer
        .params()
        .iter()
        .all(|p| p.grad.iter().all(|&g| g == 0.0)));
}

#[test]
fn widths_stay_positive_for_any_parameter_value() {
    let mut layer = ParametricMel::new(
        ParametricMelOptions::kaldi(4, 64, 8000.0),
        true,
        Init::Classic,
    )
    .expect("ok");
    layer.params_mut()[1].value.fill(-30.0);
    layer.params_mut()[0]
        .value
        .iter_mut()
        .for_each(|u| *u = -2.0);
    let w = layer.filters();
    assert!(w.iter().all(|v| v.is_finite() && *v >= 0.0));
}

#[test]
fn bad_options_are_errors_naming_the_field() {
    let mut o = ParametricMelOptions::kaldi(4, 32, 8000.0);
    o.high_hz = 5000.0;
    let e = ParametricMel::new(o, true, Init::Classic)
        .err()
        .expect("above Nyquist");
    assert!(e.to_string().contains("high_hz = 5000"), "{e}");
    let o = ParametricMelOptions {
        n_filters: 0,
        ..ParametricMelOptions::kaldi(4, 32, 8000.0)
    };
    assert!(ParametricMel::new(o, true, Init::Classic)
        .err()
        .expect("no filters")
        .to_string()
        .contains("n_filters"));
}
