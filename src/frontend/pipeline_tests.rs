//! Tests of the pipeline driver: validation, edge cases, and the fast path
//! against a slow dense oracle of the whole Kaldi MFCC chain.

use super::*;
use crate::frontend::options::{Cmvn, Preset};
use crate::nn::rng_from_seed;
use rand::RngExt;

const SEED: u64 = 20261127;

fn speechy(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rng_from_seed(seed);
    (0..n)
        .map(|i| {
            let t = i as f32 / 16000.0;
            0.3 * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
                + 0.05 * rng.random_range(-1.0f32..1.0)
        })
        .collect()
}

fn kaldi(feature: Feature) -> FrontendOptions {
    let mut o = FrontendOptions::preset(Preset::Kaldi, feature, 16000.0);
    o.frame.dither = 0.0;
    o
}

#[test]
fn frontend_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Frontend>();
}

#[test]
fn short_and_empty_signals_give_zero_rows() {
    for preset in [Preset::Kaldi, Preset::Librosa] {
        for feature in [Feature::Mfcc, Feature::Fbank, Feature::Spectrogram] {
            let mut o = FrontendOptions::preset(preset, feature, 16000.0);
            o.post.deltas = true;
            let f = Frontend::new(&o).unwrap();
            let y = f.compute(&[], &mut rng_from_seed(SEED));
            assert_eq!(y.dim(), (0, f.dims()), "{preset:?} {feature:?}");
        }
    }
    let f = Frontend::new(&kaldi(Feature::Mfcc)).unwrap();
    assert_eq!(
        f.compute(&[0.1; 399], &mut rng_from_seed(SEED)).dim(),
        (0, 13)
    );
    assert_eq!(
        f.compute(&[0.1; 400], &mut rng_from_seed(SEED)).dim(),
        (1, 13)
    );
}

#[test]
fn rng_untouched_without_dither_and_deterministic_with_it() {
    let x = speechy(4000, 1);
    let f = Frontend::new(&kaldi(Feature::Mfcc)).unwrap();
    let mut rng = rng_from_seed(SEED);
    f.compute(&x, &mut rng);
    assert_eq!(rng, rng_from_seed(SEED), "no dither: no draws");
    let d = Frontend::new(&FrontendOptions::default()).unwrap();
    let a = d.compute(&x, &mut rng_from_seed(SEED));
    let b = d.compute(&x, &mut rng_from_seed(SEED));
    let c = d.compute(&x, &mut rng_from_seed(SEED + 1));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

/// Slow oracle of Kaldi's MFCC: f64 throughout, naive DFT, dense mel.
fn oracle_kaldi_mfcc(f: &Frontend, x: &[f32]) -> Array2<f64> {
    let o = f.options();
    let (len, shift, nfft) = (o.frame_length(), o.frame_shift(), o.fft_size());
    let n_frames = if x.len() < len {
        0
    } else {
        1 + (x.len() - len) / shift
    };
    let w = f.window();
    let mel = f.mel_banks().unwrap().dense();
    let dct = Dct::new(
        &crate::frontend::options::DctOptions {
            lifter: 0.0,
            ..o.dct.clone()
        },
        o.mel.num_bins,
    )
    .matrix();
    let lift = super::super::dct::lifter_coeffs(&o.dct);
    let mut out = Array2::zeros((n_frames, o.dct.num_ceps));
    for t in 0..n_frames {
        let mut fr: Vec<f64> = x[t * shift..t * shift + len]
            .iter()
            .map(|&v| v as f64 * 32768.0)
            .collect();
        let mean = fr.iter().sum::<f64>() / len as f64;
        fr.iter_mut().for_each(|v| *v -= mean);
        let energy = fr
            .iter()
            .map(|v| v * v)
            .sum::<f64>()
            .max(f32::EPSILON as f64)
            .ln();
        for i in (1..len).rev() {
            fr[i] -= 0.97 * fr[i - 1];
        }
        fr[0] -= 0.97 * fr[0];
        let fr: Vec<f64> = fr.iter().zip(w).map(|(a, &b)| a * b as f64).collect();
        let power: Vec<f64> = (0..nfft / 2 + 1)
            .map(|k| {
                let (mut re, mut im) = (0.0, 0.0);
                for (n, v) in fr.iter().enumerate() {
                    let a = -2.0 * std::f64::consts::PI * ((k * n) % nfft) as f64 / nfft as f64;
                    re += v * a.cos();
                    im += v * a.sin();
                }
                re * re + im * im
            })
            .collect();
        let logmel: Vec<f64> = (0..o.mel.num_bins)
            .map(|m| {
                (0..power.len())
                    .map(|k| mel[[m, k]] as f64 * power[k])
                    .sum::<f64>()
                    .max(f32::EPSILON as f64)
                    .ln()
            })
            .collect();
        for c in 0..o.dct.num_ceps {
            let v: f64 = (0..o.mel.num_bins)
                .map(|m| dct[[c, m]] as f64 * logmel[m])
                .sum();
            out[[t, c]] = v * lift[c];
        }
        out[[t, 0]] = energy;
    }
    out
}

#[test]
fn fast_path_equals_slow_oracle() {
    let x = speechy(3200, 2);
    let f = Frontend::new(&kaldi(Feature::Mfcc)).unwrap();
    let fast = f.compute(&x, &mut rng_from_seed(SEED));
    let slow = oracle_kaldi_mfcc(&f, &x);
    assert_eq!(fast.dim(), slow.dim());
    let worst = fast
        .iter()
        .zip(slow.iter())
        .map(|(&a, &b)| (a as f64 - b).abs())
        .fold(0.0, f64::max);
    // f32 against f64 on int16-scale input: log-mel errors ~1e-5, times a
    // lifter gain up to 12: well under 1e-3.
    assert!(worst < 1e-3, "max abs diff {worst}");
}

#[test]
fn fbank_and_spectrogram_layouts() {
    let x = speechy(3200, 3);
    let mut o = kaldi(Feature::Fbank);
    let fb = Frontend::new(&o)
        .unwrap()
        .compute(&x, &mut rng_from_seed(SEED));
    o.energy.use_energy = true;
    let fe = Frontend::new(&o)
        .unwrap()
        .compute(&x, &mut rng_from_seed(SEED));
    assert_eq!((fb.ncols(), fe.ncols()), (23, 24));
    assert_eq!(
        fe.slice(ndarray::s![.., 1..]),
        fb,
        "energy prepended, bins unchanged"
    );
    let sp = Frontend::new(&kaldi(Feature::Spectrogram))
        .unwrap()
        .compute(&x, &mut rng_from_seed(SEED));
    assert_eq!(sp.ncols(), 257);
    assert_eq!(
        sp.column(0),
        fe.column(0),
        "spectrogram bin 0 is the raw log energy"
    );
}

#[test]
fn librosa_db_range_is_limited_by_top_db() {
    let mut x = speechy(16000, 4);
    x[..8000].iter_mut().for_each(|v| *v *= 1e-6);
    let f = Frontend::new(&FrontendOptions::preset(
        Preset::Librosa,
        Feature::Fbank,
        16000.0,
    ))
    .unwrap();
    let y = f.compute(&x, &mut rng_from_seed(SEED));
    let max = y.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let min = y.iter().cloned().fold(f32::INFINITY, f32::min);
    assert!((max - min - 80.0).abs() < 1e-3, "range {}", max - min);
}

#[test]
fn deltas_and_cmvn_post_processing() {
    let x = speechy(8000, 5);
    let mut o = kaldi(Feature::Mfcc);
    o.post.deltas = true;
    o.post.cmvn = Cmvn::Mean;
    let f = Frontend::new(&o).unwrap();
    let y = f.compute(&x, &mut rng_from_seed(SEED));
    assert_eq!(y.ncols(), 39);
    for c in 0..13 {
        let m = y.column(c).mean().unwrap();
        assert!(m.abs() < 1e-3, "static column {c} mean {m}");
    }
}

#[test]
fn simd_dispatch_gives_the_portable_numbers() {
    let x = speechy(8000, 6);
    let f = Frontend::new(&kaldi(Feature::Mfcc)).unwrap();
    let n = f.num_frames(x.len());
    let mut portable = f.sink(n);
    let mut s = f.scratch();
    let whole = crate::frontend::framing::Signal::whole(&x);
    f.run_frames_body(whole, 0..n, &mut rng_from_seed(SEED), &mut s, &mut portable);
    let portable = f.finish(portable);
    let dispatched = f.compute(&x, &mut rng_from_seed(SEED));
    // Same per-lane operations, no FMA: bitwise equal, whichever path ran.
    assert_eq!(portable, dispatched);
}

#[test]
fn every_preset_feature_and_post_combination_is_finite() {
    let x = speechy(12000, 7);
    for preset in [Preset::Kaldi, Preset::Librosa] {
        for feature in [Feature::Mfcc, Feature::Fbank, Feature::Spectrogram] {
            for (deltas, cmvn_mode) in [(false, Cmvn::None), (true, Cmvn::MeanVar)] {
                for rate in [8000.0, 16000.0, 22050.0] {
                    let mut o = FrontendOptions::preset(preset, feature, rate);
                    o.post.deltas = deltas;
                    o.post.cmvn = cmvn_mode;
                    let f = Frontend::new(&o).unwrap();
                    let y = f.compute(&x, &mut rng_from_seed(SEED));
                    let what = format!("{preset:?} {feature:?} {rate} deltas={deltas}");
                    assert_eq!(y.dim(), (f.num_frames(x.len()), f.dims()), "{what}");
                    assert!(y.nrows() > 0 && y.iter().all(|v| v.is_finite()), "{what}");
                }
            }
        }
    }
}

#[test]
fn new_reports_option_and_mel_errors() {
    let mut o = kaldi(Feature::Mfcc);
    o.dct.num_ceps = 40;
    let e = Frontend::new(&o).unwrap_err();
    assert_eq!(e.to_string(), "dct.num_ceps (40) > mel.num_bins (23)");
    let mut o = kaldi(Feature::Fbank);
    o.mel.num_bins = 300;
    let e = Frontend::new(&o).unwrap_err().to_string();
    assert!(
        e.starts_with("mel.num_bins (300) too many for fft_size 512"),
        "{e}"
    );
}
