//! Robustness of training from random init (where every seed used to stay at chance), with the
//! real `nn` classifier stack: a random time-domain filterbank, random mel
//! matrix and random DCT, then pooling over frames and a one-hidden-layer
//! MLP trained with Adam, over 16 seeds at Kaldi's int16 sample scale.
//!
//! Findings these tests pin down (16 seeds each, when written):
//! - with the in-network per-frame normalisation ([`FeatureNorm`]), every
//!   seed trains at a usual Adam rate (1e-2), with ReLU and `nn`'s mean+std
//!   pooling;
//! - under stress (Adam rate 0.1), the reference set-up (input
//!   standardisation fixed from the initial features, `nn::Standardize`
//!   fitted at step 0, ReLU) collapses to chance on 8 seeds, the in-network
//!   normalisation on 3: the remaining collapses are the classifier's 16
//!   ReLUs all dying after an Adam overshoot in the first steps, which no
//!   front-end normalisation prevents (and which gradient-norm clipping does
//!   not prevent either: Adam's steps are scale-free);
//! - with LeakyReLU(0.01) and the in-network normalisation every seed trains
//!   even under that stress.

mod learned_util;

use learned_util::{accuracy, adam, hann, loss_and_backward, triangles, two_tones, MeanPool};
use speechfront::frontend::learned::compress::LogCompress;
use speechfront::frontend::learned::dct::LearnedDct;
use speechfront::frontend::learned::dft::{SpectrumKind, TimeFilterbank};
use speechfront::frontend::learned::melbank::{MelMatrix, MelMatrixOptions};
use speechfront::frontend::learned::norm::{FeatureNorm, NormKind, DEFAULT_EPS, DEFAULT_MOMENTUM};
use speechfront::frontend::learned::Init;
use speechfront::nn::activation::{Activation, ActivationFn};
use speechfront::nn::init::Init as WeightInit;
use speechfront::nn::linear::Linear;
use speechfront::nn::pool::StatsPool;
use speechfront::nn::standardize::Standardize;
use speechfront::nn::{rng_from_seed, Ctx, Layer, Sequential};

const FRAME: usize = 32;
const SEEDS: u64 = 16;
/// Kaldi computes on int16-scale samples: power spectra of order 1e9.
const GAIN: f32 = 3e4;

/// How the classifier's inputs are scaled.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scaling {
    /// Per-frame normalisation inside the network (this crate's design).
    InNetwork,
    /// Standardisation fixed from the initial features (the reference model).
    FixedAtInit,
}

/// Pooling over frames before the MLP.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Pool {
    /// Mean only.
    Mean,
    /// `nn::pool::StatsPool`: mean and standard deviation.
    Stats,
}

#[derive(Clone, Copy, Debug)]
struct Setup {
    scaling: Scaling,
    pool: Pool,
    act: ActivationFn,
    lr: f32,
}

fn random_model(seed: u64, setup: Setup, x: &ndarray::ArrayD<f32>) -> Sequential {
    let mut rng = rng_from_seed(seed);
    let n_bins = FRAME / 2 + 1;
    let (n_mels, n_ceps, hidden) = (8, 6, 16);
    let mut model = Sequential::new();
    let window = hann(FRAME);
    let tfb = TimeFilterbank::new(
        &window,
        FRAME,
        SpectrumKind::Power,
        true,
        Init::Random(&mut rng),
    );
    model.push(tfb.expect("tfb"));
    let mel = triangles(n_mels, n_bins);
    let mel = MelMatrix::new(
        mel.view(),
        true,
        Init::Random(&mut rng),
        MelMatrixOptions::default(),
    );
    model.push(mel.expect("mel"));
    model.push(LogCompress::new(n_mels, true, 1e-2, 1.0, true, Init::Classic).expect("log"));
    model.push(
        LearnedDct::new(n_mels, n_ceps, None, false, true, Init::Random(&mut rng)).expect("dct"),
    );
    if setup.scaling == Scaling::InNetwork {
        let norm = FeatureNorm::new(
            n_ceps,
            NormKind::Frame,
            DEFAULT_EPS,
            DEFAULT_MOMENTUM,
            false,
            true,
        );
        model.push(norm.expect("norm"));
    }
    let pooled = match setup.pool {
        Pool::Mean => {
            model.push(MeanPool::default());
            n_ceps
        }
        Pool::Stats => {
            model.push(StatsPool::new(1e-5));
            2 * n_ceps
        }
    };
    if setup.scaling == Scaling::FixedAtInit {
        let features = model.forward(x.view(), &mut Ctx::eval(&mut rng));
        model.push(Standardize::fit(features.view()));
    }
    model.push(Linear::new(pooled, hidden, WeightInit::HeNormal, &mut rng));
    model.push(Activation::new(setup.act).expect("activation"));
    model.push(Linear::new(hidden, 2, WeightInit::HeNormal, &mut rng));
    model
}

/// Trains 150 full-batch Adam steps and returns held-out accuracy.
fn train(seed: u64, setup: Setup) -> f32 {
    let mut data_rng = rng_from_seed(1000 + seed);
    let (x, labels) = two_tones(48, 4, FRAME, &mut data_rng);
    let (x_test, labels_test) = two_tones(48, 4, FRAME, &mut data_rng);
    let (x, x_test) = (x.mapv(|v| GAIN * v), x_test.mapv(|v| GAIN * v));
    let mut model = random_model(seed, setup, &x);
    let mut opt = adam();
    for _ in 0..150 {
        loss_and_backward(&mut model, &x, &labels, seed);
        opt.step(&mut model.params_mut(), setup.lr);
    }
    accuracy(&mut model, &x_test, &labels_test)
}

/// Held-out accuracy per seed and the number of seeds that failed to train
/// (below 90%; low versus high tone is separable by any spectral feature,
/// so a seed that trains reaches ~100% and a collapsed one 50%).
fn over_seeds(setup: Setup) -> (Vec<f32>, usize) {
    let accs: Vec<f32> = (0..SEEDS).map(|seed| train(seed, setup)).collect();
    let failed = accs.iter().filter(|&&a| a < 0.9).count();
    (accs, failed)
}

#[test]
fn every_seed_trains_at_a_usual_rate_with_in_network_normalisation() {
    let setup = Setup {
        scaling: Scaling::InNetwork,
        pool: Pool::Stats,
        act: ActivationFn::Relu,
        lr: 1e-2,
    };
    let (accs, failed) = over_seeds(setup);
    assert_eq!(failed, 0, "held-out accuracy per seed: {accs:?}");
}

#[test]
fn every_seed_trains_under_stress_with_normalisation_and_leaky_relu() {
    let setup = Setup {
        scaling: Scaling::InNetwork,
        pool: Pool::Mean,
        act: ActivationFn::LeakyRelu(0.01),
        lr: 0.1,
    };
    let (accs, failed) = over_seeds(setup);
    assert_eq!(failed, 0, "held-out accuracy per seed: {accs:?}");
}

#[test]
fn fixed_standardisation_collapses_more_often_than_in_network_normalisation() {
    let stress = Setup {
        scaling: Scaling::FixedAtInit,
        pool: Pool::Mean,
        act: ActivationFn::Relu,
        lr: 0.1,
    };
    let (fixed_accs, fixed) = over_seeds(stress);
    let (norm_accs, norm) = over_seeds(Setup {
        scaling: Scaling::InNetwork,
        ..stress
    });
    // 8 versus 3 of 16 when written; the test guards the direction and that
    // the reference set-up really collapses here (so the tests above are
    // not vacuous).
    assert!(
        fixed >= 4,
        "reference set-up collapsed on only {fixed}: {fixed_accs:?}"
    );
    assert!(
        norm < fixed,
        "in-network {norm} ({norm_accs:?}) vs fixed {fixed} ({fixed_accs:?})"
    );
}
