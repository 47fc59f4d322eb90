use ndarray::{s, Array3, ArrayD};
use rand::RngExt;

use super::*;
use crate::nn::gradcheck::{check_layer, CheckOptions};
use crate::nn::{rng_from_seed, Mode};

const SEED: u64 = 45;

fn energies(b: usize, f: usize, c: usize, seed: u64) -> ArrayD<f32> {
    let mut rng = rng_from_seed(seed);
    Array3::from_shape_simple_fn((b, f, c), || rng.random_range(0.2f32..5.0)).into_dyn()
}

fn forward(layer: &mut Pcen, x: &ArrayD<f32>, lengths: Option<Vec<usize>>) -> ArrayD<f32> {
    let mut rng = rng_from_seed(SEED);
    layer.forward(
        x.view(),
        &mut crate::nn::Ctx {
            mode: Mode::Train,
            rng: &mut rng,
            lengths,
        },
    )
}

/// Plain f64 reference of librosa's `pcen` on one channel's sequence.
fn reference(e: &[f64], k: PcenConstants) -> Vec<f64> {
    let (alpha, delta, r, s, eps) = (
        k.alpha as f64,
        k.delta as f64,
        k.r as f64,
        k.s as f64,
        k.eps as f64,
    );
    let mut m = e[0];
    e.iter()
        .enumerate()
        .map(|(t, &v)| {
            if t > 0 {
                m = (1.0 - s) * m + s * v;
            }
            (v / (eps + m).powf(alpha) + delta).powf(r) - delta.powf(r)
        })
        .collect()
}

#[test]
fn classic_init_matches_a_plain_pcen() {
    // Mel energies on librosa's [-1, 1) scale span decades: 1e-6 .. 1e2.
    let mut rng = rng_from_seed(1);
    let x = Array3::from_shape_simple_fn((2, 60, 5), || 10f32.powf(rng.random_range(-6.0f32..2.0)))
        .into_dyn();
    let k = PcenConstants::default();
    let mut layer = Pcen::new(5, k, false, Init::Classic).expect("valid");
    let y = forward(&mut layer, &x, None);
    for b in 0..2 {
        for c in 0..5 {
            let e: Vec<f64> = (0..60).map(|t| x[[b, t, c]] as f64).collect();
            for (t, r) in reference(&e, k).into_iter().enumerate() {
                // f32 smoother over 60 frames (contracting, error stays ~1e-7
                // relative) and pow/exp/ln in f32: within 1e-5 relative + 1e-6.
                let got = y[[b, t, c]] as f64;
                assert!(
                    (got - r).abs() <= 1e-5 * r.abs() + 1e-6,
                    "b{b} t{t} c{c}: {got} vs {r}"
                );
            }
        }
    }
}

#[test]
fn librosa_smoothing_from_its_default_time_constant() {
    // librosa: time_constant 0.4 s, sr 22050, hop 512 -> T = 17.2 frames.
    let s = smoothing_from_time_constant(0.4, 22050.0 / 512.0);
    assert!((s - 0.0564).abs() < 1e-3, "{s}");
}

#[test]
fn gradients_match_finite_differences_with_lengths() {
    let x = energies(3, 7, 4, 2);
    let mut rng = rng_from_seed(SEED);
    for lengths in [None, Some(vec![7, 4, 1])] {
        // Random init moves every constant off its classic value per channel,
        // and s to ~0.02..0.04; a larger s exercises the recursion harder.
        let k = PcenConstants {
            s: 0.3,
            ..PcenConstants::default()
        };
        let mut layer = Pcen::new(4, k, true, Init::Random(&mut rng)).expect("valid");
        let opts = CheckOptions {
            lengths: lengths.clone(),
            ..CheckOptions::default()
        };
        let report = check_layer(&mut layer, &x, &opts);
        for (name, _, scale) in &report.rows {
            assert!(
                *scale > 1e-2,
                "{name}: gradient scale {scale} too small to be checked"
            );
        }
    }
}

#[test]
fn padded_frames_neither_influence_nor_receive_gradient() {
    let x = energies(2, 6, 3, 3);
    let lengths = Some(vec![6, 2]);
    let mut layer = Pcen::new(3, PcenConstants::default(), true, Init::Classic).expect("valid");
    let y = forward(&mut layer, &x, lengths.clone());
    let mut x2 = x.clone();
    x2.slice_mut(s![1, 2.., ..]).fill(1e6);
    let y2 = forward(&mut layer, &x2, lengths);
    assert_eq!(y, y2, "padded input values leaked");
    assert!(y2.slice(s![1, 2.., ..]).iter().all(|&v| v == 0.0));
    let dx = layer.backward(energies(2, 6, 3, 4).view());
    assert!(dx.slice(s![1, 2.., ..]).iter().all(|&g| g == 0.0));
}

#[test]
fn frozen_gives_no_parameter_gradient() {
    let x = energies(2, 5, 3, 5);
    let mut layer = Pcen::new(3, PcenConstants::default(), false, Init::Classic).expect("valid");
    assert_eq!(layer.num_trainable(), 0);
    let y = forward(&mut layer, &x, None);
    let dx = layer.backward(y.view());
    assert!(layer
        .params()
        .iter()
        .all(|p| p.grad.iter().all(|&g| g == 0.0)));
    assert!(dx.iter().any(|&g| g != 0.0));
}

#[test]
fn bad_constants_are_errors_naming_the_field() {
    let k = PcenConstants {
        s: 1.0,
        ..PcenConstants::default()
    };
    let e = Pcen::new(3, k, true, Init::Classic).err().expect("s = 1");
    assert!(e.to_string().contains("s = 1"), "{e}");
    let k = PcenConstants {
        r: -0.5,
        ..PcenConstants::default()
    };
    let e = Pcen::new(3, k, true, Init::Classic)
        .err()
        .expect("negative r");
    assert!(e.to_string().contains("r = -0.5"), "{e}");
}
