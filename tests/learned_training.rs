//! The learned path's training extras on the embedded digits corpus
//! (`audio/digits`, 8 kHz): per-epoch observers, `[augment]` through the
//! frozen prefix, and the trained front end's example features in the
//! report. A 40-file subset (2 speakers x 10 digits x 2 takes) keeps each
//! run to a few seconds.

mod learned_util;

use std::path::Path;

use rand::RngExt;
use speechfront::data::{LabelSource, Split};
use speechfront::experiment::augment::copy_seed;
use speechfront::experiment::learned::{
    augment::training_copies, build_model, chain_options, corpus_prefix, front_features,
    run_learned, run_learned_observed, train_learned, PrefixComputer,
};
use speechfront::experiment::{compare, CompareOptions, Corpus, ExperimentConfig};
use speechfront::frontend::learned::config::Stage;
use speechfront::nn::rng_from_seed;
use speechfront::train::observe::Recorder;

const SPEAKERS: [&str; 2] = ["caf3", "usf1"];

fn corpus() -> (tempfile::TempDir, Corpus) {
    learned_util::digits_subset(&SPEAKERS, 0..2)
}

/// Train = take 1, test = take 0.
fn split(c: &Corpus) -> (Vec<usize>, Vec<usize>) {
    (0..c.data.items.len()).partition(|&i| {
        c.data.items[i]
            .rel_path
            .to_string_lossy()
            .ends_with("_1.wav")
    })
}

/// Learned mel + DCT (MFCC out: 13 cepstra from 129 power bins).
fn config(train: &str, augment: &str) -> ExperimentConfig {
    let text = format!(
        "name = \"lt\"\npreset = \"kaldi\"\nfeature = \"mfcc\"\n[frontend]\nframe = {{ dither = 0.0 }}\n\
         [frontend.learn]\nmel = {{ learn = true }}\ndct = {{ learn = true }}\nnorm = {{ kind = \"frame\" }}\n\
         [input]\nmode = \"pool\"\n[classifier]\nhidden = [32]\n\
         [train]\nlr = 0.003\nbatch_size = 8\npatience = 0\n{train}\n{augment}\n"
    );
    ExperimentConfig::from_toml_str(&text, Path::new("models/lt.toml")).expect("valid config")
}

#[test]
fn the_observer_sees_every_epoch_of_a_learned_run() {
    let (_d, c) = corpus();
    let cfg = config("epochs = 4\nval_fraction = 0.25", "");
    let prefix = corpus_prefix(&c, &cfg, None).expect("prefix");
    let (train, test) = split(&c);
    let mut rec = Recorder::default();
    let out = run_learned_observed(&c, &cfg, &prefix, &train, &test, 5, &mut rec).expect("run");
    assert_eq!(rec.calls.len(), 4);
    for (k, ((r, max), e)) in rec.calls.iter().zip(&out.history.epochs).enumerate() {
        assert_eq!((r.epoch, *max), (k + 1, 4));
        assert_eq!(r, e, "the observer sees the history's record");
        assert!(r.val_loss.is_some(), "a validation part was carved");
    }
    // Watching changes nothing: the unobserved run gives the same numbers.
    let quiet = run_learned(&c, &cfg, &prefix, &train, &test, 5).expect("run");
    assert_eq!(quiet.predicted, out.predicted);
    let losses = |h: &speechfront::train::History| -> Vec<f64> {
        h.epochs.iter().map(|e| e.train_loss).collect()
    };
    assert_eq!(losses(&quiet.history), losses(&out.history));
}

#[test]
fn example_features_are_the_trained_front_end_output() {
    let (_d, c) = corpus();
    let cfg = config("epochs = 6\nval_fraction = 0.0", "");
    let prefix = corpus_prefix(&c, &cfg, None).expect("prefix");
    let (train, test) = split(&c);
    let out = run_learned(&c, &cfg, &prefix, &train, &test, 2).expect("run");
    let ex = out
        .example_features
        .expect("a learned run has example features");
    let first = &prefix[test[0]];
    // The power spectrum, then Kaldi's log energy (use_energy: it replaces C0).
    assert_eq!(first.ncols(), 129 + 1, "the prefix is the power spectrum");
    assert_eq!(
        ex.dim(),
        (first.nrows(), 13),
        "13 learned cepstra per frame"
    );
    // The same trained model, rebuilt from the seed, gives the same output.
    let (mut trained, _) = train_learned(&c, &cfg, &prefix, &train, 2).expect("train");
    assert_eq!(front_features(&mut trained, &[first])[0], ex);
    // ... which is not the front end at its initial values.
    let mut fresh = build_model(&cfg, 10, &mut rng_from_seed(2)).expect("model");
    assert_ne!(front_features(&mut fresh, &[first])[0], ex);
}

#[test]
fn the_report_shows_the_trained_front_end_of_a_learned_configuration() {
    let (d, _) = corpus();
    let cfg = config("epochs = 2\nval_fraction = 0.0", "");
    let opts = CompareOptions {
        data: d.path().to_path_buf(),
        labels: LabelSource::FileName,
        split: "speakers:usf1".parse::<Split>().expect("split"),
        configs: vec![cfg],
        seeds: 1,
        base_seed: 0,
        cache_dir: None,
        progress: false,
        command_line: "test".into(),
        deep_vs_fat: false,
        ablate: None,
        quick: false,
    };
    let (report, failures) = compare(&opts).expect("compare");
    assert!(failures.is_empty(), "{failures:?}");
    let ex = &report.example_features[0];
    assert!(ex.label.contains("trained front end"), "{}", ex.label);
    assert!(
        ex.features.iter().all(|r| r.len() == 13),
        "cepstra, not the 129-bin prefix"
    );
}

#[test]
fn waveform_augmentation_adds_perturbed_prefixes() {
    let (_d, c) = corpus();
    let cfg = config(
        "epochs = 2\nval_fraction = 0.0",
        "[augment]\ncopies = 2\nwave = { speed = [0.8, 0.9], noise_snr_db = [20.0, 30.0] }",
    );
    let prefix = corpus_prefix(&c, &cfg, None).expect("prefix");
    let pc = PrefixComputer::new(&chain_options(&cfg).expect("options"), Stage::Mel)
        .expect("prefix computer");
    let items = [0usize, 7];
    let copies = training_copies(&c, &cfg, &pc, &prefix, &items, 11);
    assert_eq!(copies.len(), 4, "two copies of each of two items");
    for (k, copy) in copies.iter().enumerate() {
        let (i, n) = (items[k / 2], k % 2);
        // Slowed to 0.8-0.9 of the speed: more frames, same 129 bins (and
        // the log-energy column).
        assert_eq!(copy.ncols(), 129 + 1);
        assert!(copy.nrows() > prefix[i].nrows(), "copy {k}");
        // Reproduced by hand: the copy's generator draws speed, noise,
        // then the dither seed of the prefix.
        let mut rng = rng_from_seed(copy_seed(11, n, &c.data.items[i].rel_path));
        let wave = cfg.augment.wave.apply(&c.audio[i], 8000, &mut rng);
        let want = pc.utterance(&wave, 8000, &cfg.input, rng.random::<u64>());
        assert_eq!(copy, &want, "copy {k}");
    }
    assert_ne!(copies[0], copies[1], "copies of one item differ");

    // A run with the copies trains on different data than one without, and
    // repeats itself with the same seed.
    let (train, test) = split(&c);
    let plain = config("epochs = 2\nval_fraction = 0.0", "");
    let a = run_learned(&c, &cfg, &prefix, &train, &test, 4).expect("augmented run");
    let b = run_learned(&c, &cfg, &prefix, &train, &test, 4).expect("augmented run");
    let p = run_learned(&c, &plain, &prefix, &train, &test, 4).expect("plain run");
    let losses = |o: &speechfront::experiment::RunOutput| -> Vec<f64> {
        o.history.epochs.iter().map(|e| e.train_loss).collect()
    };
    assert_eq!(losses(&a), losses(&b));
    assert_ne!(losses(&a), losses(&p));
}

#[test]
fn feature_masks_apply_on_a_mel_prefix_and_are_rejected_before_a_learned_mel() {
    let e = ExperimentConfig::from_toml_str(
        "[frontend.learn]\nmel = { learn = true }\n[augment]\nfeature = { freq_masks = 1, max_freq_width = 4 }\n",
        Path::new("models/masked.toml"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("models/masked.toml") && e.contains("freq_masks") && e.contains("Mel"),
        "{e}"
    );
    // After the mel filterbank the prefix is on the mel axis: time and
    // frequency masks change the cached log-mel input of a learned DCT.
    let cfg = ExperimentConfig::from_toml_str(
        "[frontend]\nframe = { dither = 0.0 }\n[frontend.learn]\ndct = { learn = true }\n\
         [augment]\nfeature = { freq_masks = 1, max_freq_width = 4, time_masks = 1, max_time_width = 5 }\n",
        Path::new("models/dct.toml"),
    )
    .expect("masks before a learned DCT are allowed");
    let (_d, c) = corpus();
    let prefix = corpus_prefix(&c, &cfg, None).expect("prefix");
    let pc = PrefixComputer::new(&chain_options(&cfg).expect("options"), Stage::Dct)
        .expect("prefix computer");
    let copies = training_copies(&c, &cfg, &pc, &prefix, &[3], 1);
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0].dim(), prefix[3].dim());
    assert_ne!(copies[0], prefix[3]);
}
