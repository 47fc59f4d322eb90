//! Robustness of training from random init (the collapse): a random
//! time-domain filterbank, random mel matrix and random DCT, followed by the
//! in-network per-frame normalisation and an MLP with ReLUs, must train on
//! every seed; the reference model's standardisation fixed from the initial
//! features collapses in the same setting.

mod learned_util;

use learned_util::{
    accuracy, hann, nll, triangles, two_tones, Adam, Chain, Dense, FixedStandardise, LogSoftmax,
    MeanPool, Relu,
};
use speechfront::frontend::learned::compress::LogCompress;
use speechfront::frontend::learned::dct::LearnedDct;
use speechfront::frontend::learned::dft::{SpectrumKind, TimeFilterbank};
use speechfront::frontend::learned::melbank::{MelMatrix, MelMatrixOptions};
use speechfront::frontend::learned::norm::{FeatureNorm, NormKind, DEFAULT_EPS, DEFAULT_MOMENTUM};
use speechfront::frontend::learned::Init;
use speechfront::nn::{rng_from_seed, Ctx, Layer};

const FRAME: usize = 32;

/// How the classifier's inputs are scaled.
#[derive(Clone, Copy, Debug)]
enum Scaling {
    /// Per-frame normalisation inside the network (this crate's design).
    InNetwork,
    /// Standardisation fixed from the initial features (the reference model).
    FixedAtInit,
}

fn random_model(seed: u64, scaling: Scaling, x: &ndarray::ArrayD<f32>) -> Chain {
    let mut rng = rng_from_seed(seed);
    let n_bins = FRAME / 2 + 1;
    let (n_mels, n_ceps, hidden) = (8, 6, 16);
    let tfb = TimeFilterbank::new(
        &hann(FRAME),
        FRAME,
        SpectrumKind::Power,
        true,
        Init::Random(&mut rng),
    )
    .expect("tfb");
    let mel = triangles(n_mels, n_bins);
    let mel = MelMatrix::new(
        mel.view(),
        true,
        Init::Random(&mut rng),
        MelMatrixOptions::default(),
    )
    .expect("mel");
    let log = LogCompress::new(n_mels, true, 1e-2, 1.0, true, Init::Classic).expect("log");
    let dct =
        LearnedDct::new(n_mels, n_ceps, None, false, true, Init::Random(&mut rng)).expect("dct");
    let mut layers: Vec<Box<dyn Layer>> =
        vec![Box::new(tfb), Box::new(mel), Box::new(log), Box::new(dct)];
    if let Scaling::InNetwork = scaling {
        layers.push(Box::new(
            FeatureNorm::new(
                n_ceps,
                NormKind::Frame,
                DEFAULT_EPS,
                DEFAULT_MOMENTUM,
                false,
                true,
            )
            .expect("norm"),
        ));
    }
    layers.push(Box::new(MeanPool::default()));
    if let Scaling::FixedAtInit = scaling {
        let mut front = Chain(layers);
        let h = front.forward(x.view(), &mut Ctx::eval(&mut rng));
        layers = front.0;
        layers.push(Box::new(FixedStandardise::fit(&h)));
    }
    layers.push(Box::new(Dense::new(n_ceps, hidden, &mut rng)));
    layers.push(Box::new(Relu::default()));
    layers.push(Box::new(Dense::new(hidden, 2, &mut rng)));
    layers.push(Box::new(LogSoftmax::default()));
    Chain(layers)
}

/// Trains full-batch with Adam and returns held-out accuracy.
fn train(seed: u64, scaling: Scaling, steps: usize, lr: f32, gain: f32) -> f32 {
    let mut data_rng = rng_from_seed(1000 + seed);
    let (x, labels) = two_tones(48, 4, FRAME, &mut data_rng);
    let (x_test, labels_test) = two_tones(48, 4, FRAME, &mut data_rng);
    let (x, x_test) = (x.mapv(|v| gain * v), x_test.mapv(|v| gain * v));
    let mut model = random_model(seed, scaling, &x);
    let mut adam = Adam::new(lr);
    let mut rng = rng_from_seed(seed);
    for _ in 0..steps {
        let y = model.forward(x.view(), &mut Ctx::train(&mut rng));
        let (_, g) = nll(&y, &labels);
        model.zero_grad();
        model.backward(g.view());
        adam.step(model.params_mut());
    }
    let y = model.forward(x_test.view(), &mut Ctx::eval(&mut rng));
    accuracy(&y, &labels_test)
}

/// The stress setting: Kaldi's int16 sample scale (power spectra ~1e9) and an
/// aggressive Adam step, 150 full-batch steps.
const GAIN: f32 = 3e4;
const LR: f32 = 0.1;
const SEEDS: u64 = 8;

#[test]
fn random_init_trains_on_every_seed_with_in_network_normalisation() {
    let accs: Vec<f32> = (0..SEEDS)
        .map(|seed| train(seed, Scaling::InNetwork, 150, LR, GAIN))
        .collect();
    // Low versus high tone is separable by any spectral feature: a seed that
    // trains reaches ~100%; a collapsed one sits at chance (50%).
    assert!(
        accs.iter().all(|&a| a >= 0.9),
        "held-out accuracy per seed: {accs:?}"
    );
}

#[test]
fn the_reference_standardisation_fixed_at_init_collapses_in_the_same_setting() {
    // Guards the test above against being vacuous: the same models, data and
    // optimizer with the reference model's fixed standardisation collapse to
    // chance on some seeds (5 of 8 when this was written).
    let accs: Vec<f32> = (0..SEEDS)
        .map(|seed| train(seed, Scaling::FixedAtInit, 150, LR, GAIN))
        .collect();
    let collapsed = accs.iter().filter(|&&a| a <= 0.6).count();
    assert!(collapsed >= 1, "no seed collapsed: {accs:?}");
}

#[test]
fn random_init_trains_at_unit_scale_and_a_moderate_step() {
    let accs: Vec<f32> = (0..4)
        .map(|seed| train(seed, Scaling::InNetwork, 150, 1e-2, 1.0))
        .collect();
    assert!(
        accs.iter().all(|&a| a >= 0.9),
        "held-out accuracy per seed: {accs:?}"
    );
}
