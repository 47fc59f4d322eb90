//! The whole learned MFCC chain, end to end: time-domain filterbank -> mel
//! matrix -> log -> DCT -> (normalisation) -> a tiny classifier, with every
//! stage learnable. Finite-difference gradients through all of it, loss
//! decrease under gradient descent, and frozen stages left untouched.

mod learned_util;

use learned_util::{adam, hann, loss_and_backward, triangles, two_tones};
use speechfront::frontend::learned::compress::LogCompress;
use speechfront::frontend::learned::dct::{LearnedDct, Lifter, LifterIndex};
use speechfront::frontend::learned::dft::{SpectrumKind, TimeFilterbank};
use speechfront::frontend::learned::melbank::{MelMatrix, MelMatrixOptions};
use speechfront::frontend::learned::norm::{FeatureNorm, NormKind, DEFAULT_EPS, DEFAULT_MOMENTUM};
use speechfront::frontend::learned::Init;
use speechfront::nn::gradcheck::{check_layer, CheckOptions};
use speechfront::nn::init::Init as WeightInit;
use speechfront::nn::linear::Linear;
use speechfront::nn::pool::StatsPool;
use speechfront::nn::{rng_from_seed, Ctx, Layer, Rng, Sequential};

const SEED: u64 = 70;

/// The learned MFCC chain (learn flags per stage: spectrum, mel, log, dct),
/// optionally [`FeatureNorm`], then mean+std pooling over frames and one
/// `nn::Linear` to two logits.
fn mfcc_chain(
    learn: [bool; 4],
    random: bool,
    norm: bool,
    frame_len: usize,
    rng: &mut Rng,
) -> Sequential {
    let n_bins = frame_len / 2 + 1;
    let (n_mels, n_ceps) = (6, 4);
    let mut stage_rngs: Vec<Rng> = (0..3).map(|_| rng_from_seed(rng_seed(rng))).collect();
    let mut inits = stage_rngs.iter_mut().map(|r| {
        if random {
            Init::Random(r)
        } else {
            Init::Classic
        }
    });
    let mut init = || inits.next().expect("one init per stage");
    let mut front = Sequential::new();
    let window = hann(frame_len);
    front.push(
        TimeFilterbank::new(&window, frame_len, SpectrumKind::Power, learn[0], init())
            .expect("tfb"),
    );
    let mel = triangles(n_mels, n_bins);
    front.push(
        MelMatrix::new(mel.view(), learn[1], init(), MelMatrixOptions::default()).expect("mel"),
    );
    // Floor 1e-2: the toy spectra are O(1..100), so the log stays smooth.
    front.push(LogCompress::new(n_mels, true, 1e-2, 1.0, learn[2], Init::Classic).expect("log"));
    let lifter = Some(Lifter {
        q: 6.0,
        index: LifterIndex::Kaldi,
    });
    front.push(LearnedDct::new(n_mels, n_ceps, lifter, true, learn[3], init()).expect("dct"));
    if norm {
        let norm = FeatureNorm::new(
            n_ceps,
            NormKind::Frame,
            DEFAULT_EPS,
            DEFAULT_MOMENTUM,
            true,
            true,
        );
        front.push(norm.expect("norm"));
    }
    front.push(StatsPool::new(1e-5));
    front.push(Linear::new(2 * n_ceps, 2, WeightInit::HeNormal, rng));
    front
}

fn rng_seed(rng: &mut Rng) -> u64 {
    use rand::RngExt;
    rng.random_range(0..u64::MAX)
}

#[test]
fn finite_differences_through_the_whole_learned_chain() {
    let mut rng = rng_from_seed(SEED);
    let (x, _) = two_tones(3, 2, 16, &mut rng);
    for (random, norm) in [(false, false), (true, true)] {
        let mut chain = mfcc_chain([true; 4], random, norm, 16, &mut rng);
        let trainable = chain.num_trainable();
        // 18x16 basis + 6x9 mel + 6 log offsets + 4x6 DCT + 4 bias (+ 8 affine)
        // + 2x8 + 2 linear head.
        assert_eq!(
            trainable,
            288 + 54 + 6 + 24 + 4 + if norm { 8 } else { 0 } + 18
        );
        // Step 1e-3, not the default 1e-2: the log of a power spectrum near a
        // spectral null is strongly curved (third derivative ~ 1/p^3), and with
        // 1e-2 the central difference's truncation error reached 7% on one
        // input sample. Round-off stays small (6 O(1) outputs: ~6e-8 * 2.5 /
        // 1e-3 = 1.5e-4, under atol 1e-3).
        let opts = CheckOptions {
            step: 1e-3,
            ..CheckOptions::default()
        };
        check_layer(&mut chain, &x, &opts);
    }
}

#[test]
fn gradient_descent_reduces_the_loss_on_low_versus_high_tones() {
    let mut rng = rng_from_seed(SEED);
    let (x, labels) = two_tones(16, 4, 32, &mut rng);
    let mut chain = mfcc_chain([true; 4], false, false, 32, &mut rng);
    let first = loss_and_backward(&mut chain, &x, &labels, SEED);
    let mut adam = adam();
    let mut last = first;
    for _ in 0..30 {
        adam.step(&mut chain.params_mut(), 1e-2);
        last = loss_and_backward(&mut chain, &x, &labels, SEED);
    }
    // Separable data, 30 Adam steps: the loss must fall clearly, not by noise.
    assert!(last < 0.5 * first, "loss {first} -> {last}");
}

#[test]
fn frozen_stages_are_not_updated_while_learned_ones_move() {
    let mut rng = rng_from_seed(SEED);
    let (x, labels) = two_tones(8, 3, 16, &mut rng);
    // Spectrum and log frozen; mel and DCT learned.
    let mut chain = mfcc_chain([false, true, false, true], false, false, 16, &mut rng);
    let before: Vec<_> = chain
        .params()
        .iter()
        .map(|p| (p.trainable, p.value.clone()))
        .collect();
    let mut adam = adam();
    for _ in 0..5 {
        loss_and_backward(&mut chain, &x, &labels, SEED);
        adam.step(&mut chain.params_mut(), 1e-2);
    }
    let frozen: Vec<_> = before.iter().filter(|(t, _)| !t).collect();
    assert_eq!(frozen.len(), 2, "the basis and the log offset are frozen");
    for ((trainable, old), p) in before.iter().zip(chain.params()) {
        if *trainable {
            assert_ne!(old, &p.value, "{} did not move", p.name);
        } else {
            assert_eq!(old, &p.value, "frozen {} moved", p.name);
            assert!(
                p.grad.iter().all(|&g| g == 0.0),
                "frozen {} got a gradient",
                p.name
            );
        }
    }
}

/// Plain f64 MFCC of one frame: Hann-windowed naive DFT power, mel matrix
/// product, `ln(max(e, FLT_EPSILON))` (Kaldi), orthonormal DCT-II, Kaldi lifter.
fn plain_mfcc(frame: &[f32], mel: &ndarray::Array2<f32>, n_ceps: usize, q: f64) -> Vec<f64> {
    let n = frame.len();
    let window = hann(n);
    let power: Vec<f64> = (0..n / 2 + 1)
        .map(|k| {
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for (t, (&x, &w)) in frame.iter().zip(&window).enumerate() {
                let phase = std::f64::consts::TAU * (k * t) as f64 / n as f64;
                re += x as f64 * w as f64 * phase.cos();
                im -= x as f64 * w as f64 * phase.sin();
            }
            re * re + im * im
        })
        .collect();
    let logmel: Vec<f64> = mel
        .rows()
        .into_iter()
        .map(|row| {
            let e: f64 = row.iter().zip(&power).map(|(&w, p)| w as f64 * p).sum();
            e.max(f32::EPSILON as f64).ln()
        })
        .collect();
    let m = logmel.len() as f64;
    (0..n_ceps)
        .map(|i| {
            let scale = if i == 0 {
                (1.0 / m).sqrt()
            } else {
                (2.0 / m).sqrt()
            };
            let c: f64 = logmel
                .iter()
                .enumerate()
                .map(|(j, l)| l * (std::f64::consts::PI * i as f64 * (j as f64 + 0.5) / m).cos())
                .sum();
            (1.0 + q / 2.0 * (std::f64::consts::PI * i as f64 / q).sin()) * scale * c
        })
        .collect()
}

#[test]
fn the_learnable_chain_at_classic_init_computes_plain_mfcc() {
    let mut rng = rng_from_seed(SEED);
    let (x, _) = two_tones(4, 3, 32, &mut rng);
    let x = x.mapv(|v| v * 3e4); // Kaldi's int16 scale
    let mel = triangles(6, 17);
    let lifter = Some(Lifter {
        q: 6.0,
        index: LifterIndex::Kaldi,
    });
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(
            TimeFilterbank::new(&hann(32), 32, SpectrumKind::Power, true, Init::Classic)
                .expect("tfb"),
        ),
        Box::new(
            MelMatrix::new(mel.view(), true, Init::Classic, MelMatrixOptions::default())
                .expect("mel"),
        ),
        Box::new(LogCompress::new(6, false, f32::EPSILON, 1.0, true, Init::Classic).expect("log")),
        Box::new(LearnedDct::new(6, 4, lifter, false, true, Init::Classic).expect("dct")),
    ];
    let mut chain = Sequential::new();
    layers.into_iter().for_each(|l| chain.push_boxed(l));
    let y = chain.forward(x.view(), &mut Ctx::eval(&mut rng));
    for b in 0..4 {
        for t in 0..3 {
            let frame: Vec<f32> = (0..32).map(|n| x[[b, t, n]]).collect();
            for (i, r) in plain_mfcc(&frame, &mel, 4, 6.0).into_iter().enumerate() {
                // Mel energies (int16 scale, >> the eps floor, where
                // ln(x + eps) = ln(max(x, eps)) to 1e-10) carry f32 rounding of
                // ~32 * 6e-8 = 2e-6 relative, i.e. 2e-6 absolute in the log; the
                // liftered DCT row has L1 norm <= 4 * 0.58 * 6 = 14: <= 3e-5.
                // Observed: 6e-6. Tolerance 1e-4.
                let got = y[[b, t, i]] as f64;
                assert!((got - r).abs() <= 1e-4, "b{b} t{t} c{i}: {got} vs {r}");
            }
        }
    }
}
