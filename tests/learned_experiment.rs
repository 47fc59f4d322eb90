//! The learned experiment path on the repository's own digits corpus
//! (`audio/digits`, FSDD naming, 8 kHz): a 90-file subset (3 speakers x 10
//! digits x 3 takes; takes 1-2 train, take 0 tests) keeps the run short.

mod learned_util;

use std::path::Path;

use ndarray::Array2;
use speechfront::experiment::classic::corpus_features;
use speechfront::experiment::learned::{
    build_model, corpus_prefix, front_features, run_learned, train_learned, FrontStage,
};
use speechfront::experiment::{Corpus, ExperimentConfig};
use speechfront::nn::rng_from_seed;

const SPEAKERS: [&str; 3] = ["caf3", "gbk", "usf1"];

/// The 90-file subset, loaded as a corpus.
fn corpus() -> (tempfile::TempDir, Corpus) {
    learned_util::digits_subset(&SPEAKERS, 0..3)
}

/// Train = takes 1 and 2, test = take 0.
fn split(c: &Corpus) -> (Vec<usize>, Vec<usize>) {
    learned_util::takes_split(c)
}

fn config(learn: &str, extra: &str) -> ExperimentConfig {
    let text = format!(
        "preset = \"kaldi\"\nfeature = \"mfcc\"\n[frontend]\nenergy = {{ use_energy = false }}\n[frontend.learn]\n{learn}\nnorm = {{ kind = \"frame\" }}\n[input]\nmode = \"pool\"\n[classifier]\nhidden = [64]\nactivation = \"leaky_relu\"\n[train]\nlr = 0.003\nbatch_size = 16\nval_fraction = 0.0\n{extra}\n"
    );
    ExperimentConfig::from_toml_str(&text, Path::new("models/learned_test.toml"))
        .expect("valid config")
}

fn max_abs_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn classic_init_reproduces_the_classic_features_for_every_split_point() {
    let (_d, c) = corpus();
    let classic = corpus_features(&c, &config("", ""), None).expect("classic features");
    for learn in [
        "spectrum = { learn = true }",
        "mel = { learn = true }",
        "compress = { learn = true }",
        "dct = { learn = true }",
    ] {
        let cfg = config(learn, "");
        let prefix = corpus_prefix(&c, &cfg, None).expect("prefix");
        let mut model = build_model(&cfg, 10, &mut rng_from_seed(1)).expect("model");
        let refs: Vec<&Array2<f32>> = prefix.iter().take(12).collect();
        let got = front_features(&mut model, &refs);
        for (g, want) in got.iter().zip(&classic) {
            // Same dither (seeded per file), same stage values; the paths
            // differ in f32 rounding only (dense DFT and mel products versus
            // FFT and sparse sums): 1e-5 of the feature range plus 1e-4, as
            // in tests/learned_parity.rs.
            let range = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            let d = max_abs_diff(g, want);
            assert!(
                d <= 1e-5 * range + 1e-4,
                "{learn}: max diff {d:e} (range {range})"
            );
        }
    }
}

#[test]
fn learned_mel_and_dct_train_well_above_chance_and_frozen_stages_stay() {
    let (_d, c) = corpus();
    let cfg = config(
        "mel = { learn = true }\ncompress = { learn = false }\ndct = { learn = true }",
        "epochs = 40\npatience = 0",
    );
    let prefix = corpus_prefix(&c, &cfg, None).expect("prefix");
    let (train, test) = split(&c);
    let out = run_learned(&c, &cfg, &prefix, &train, &test, 7).expect("run");
    // Chance is 0.1 on 10 balanced digits; same speakers, unseen takes.
    println!("accuracy {}", out.metrics.accuracy);
    assert!(
        out.metrics.accuracy >= 0.6,
        "accuracy {}",
        out.metrics.accuracy
    );
    assert_eq!(out.predicted.len(), test.len());
    assert!(out.frontend_params > 0 && out.classifier_params > 0);
    assert_eq!(out.learned.len(), 2, "filterbank and DCT reported");
    assert_eq!(out.history.epochs.len(), 40);

    // Frozen compression unchanged, learned mel moved.
    let (mut model, _) = train_learned(&c, &cfg, &prefix, &train, 7).expect("train");
    let fresh = build_model(&cfg, 10, &mut rng_from_seed(7)).expect("model");
    for (a, b) in model.front.iter_mut().zip(&fresh.front) {
        let moved = a
            .layer()
            .params()
            .iter()
            .zip(b.layer_ref().params())
            .any(|(p, q)| p.value != q.value);
        match a {
            FrontStage::Log(..) => assert!(!moved, "frozen compression changed"),
            FrontStage::Mel(..) | FrontStage::Dct(..) => {
                assert!(moved, "learned stage did not move")
            }
            _ => {}
        }
    }
}

#[test]
fn same_seed_same_predictions_in_context_mode() {
    let (_d, c) = corpus();
    let mut cfg = config("mel = { learn = true }", "epochs = 3\npatience = 0");
    cfg.input.mode = speechfront::experiment::InputMode::Context;
    cfg.input.context = 2;
    let prefix = corpus_prefix(&c, &cfg, None).expect("prefix");
    let (train, test) = split(&c);
    let a = run_learned(&c, &cfg, &prefix, &train, &test, 3).expect("run a");
    let b = run_learned(&c, &cfg, &prefix, &train, &test, 3).expect("run b");
    assert_eq!(a.predicted, b.predicted);
    assert_eq!(a.history.epochs.len(), 3);
    let la: Vec<f64> = a.history.epochs.iter().map(|e| e.train_loss).collect();
    let lb: Vec<f64> = b.history.epochs.iter().map(|e| e.train_loss).collect();
    assert_eq!(la, lb);
    assert!(la[2] < la[0], "training loss should fall: {la:?}");
}

#[test]
fn no_learned_stage_is_an_error_naming_the_config() {
    let (_d, c) = corpus();
    let e = corpus_prefix(&c, &config("", ""), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("learned_test"), "{e}");
}
