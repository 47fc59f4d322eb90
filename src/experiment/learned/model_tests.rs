use std::path::Path;

use ndarray::ArrayD;
use rand::RngExt;

use crate::experiment::learned::build_model;
use crate::experiment::ExperimentConfig;
use crate::nn::gradcheck::{check_layer, CheckOptions};
use crate::nn::rng_from_seed;

fn config(mode: &str) -> ExperimentConfig {
    let text = format!(
        "[frontend]\nenergy = {{ use_energy = false }}\n[frontend.learn]\nmel = {{ learn = true }}\ncompress = {{ learn = true }}\ndct = {{ learn = true }}\nnorm = {{ kind = \"frame\" }}\n\
         [input]\nmode = \"{mode}\"\ncontext = 1\nframes = 5\n[classifier]\nhidden = [8]\nactivation = \"tanh\"\n"
    );
    ExperimentConfig::from_toml_str(&text, Path::new("models/g.toml")).expect("valid config")
}

/// The whole pipeline (learned mel, log, DCT, FeatureNorm, classifier) in
/// each input mode, against finite differences, with ragged lengths.
#[test]
fn whole_pipeline_gradients_match_finite_differences() {
    for mode in ["pool", "context", "fixed"] {
        let cfg = config(mode);
        let mut model = build_model(&cfg, 3, &mut rng_from_seed(5)).expect("model");
        let mut rng = rng_from_seed(9);
        // Power spectra of Kaldi 8 kHz frames (129 bins), O(1e3) like quiet
        // int16-scale speech: well above the log floor, so log is smooth.
        let x = ArrayD::from_shape_fn(ndarray::IxDyn(&[2, 6, 129]), |_| {
            rng.random_range(500.0f32..2000.0)
        });
        let opts = CheckOptions {
            lengths: Some(vec![6, 4]),
            empty_batch: false,
            ..CheckOptions::default()
        };
        let report = check_layer(&mut model, &x, &opts);
        assert!(!report.rows.is_empty(), "{mode}: nothing checked");
    }
}

#[test]
fn parameter_counts_split_front_end_and_classifier() {
    let model = build_model(&config("pool"), 3, &mut rng_from_seed(5)).expect("model");
    // Kaldi 8 kHz: 23 x 129 mel matrix, 1 log offset, 13 x 23 DCT.
    assert_eq!(model.frontend_params(), 23 * 129 + 1 + 13 * 23);
    // Stats pooling of 13 ceps -> 26 -> 8 -> 3.
    assert_eq!(model.classifier_params(), (26 * 8 + 8 + 8 * 3 + 3) as u64);
}

/// The training step's backward (no input gradient) accumulates exactly
/// the parameter gradients of the full backward, in every input mode.
#[test]
fn backward_without_input_gradient_gives_the_same_parameter_gradients() {
    use crate::nn::{Ctx, Layer};
    for mode in ["pool", "context", "fixed"] {
        let mut model = build_model(&config(mode), 3, &mut rng_from_seed(5)).expect("model");
        let mut rng = rng_from_seed(9);
        let x = ArrayD::from_shape_fn(ndarray::IxDyn(&[2, 6, 129]), |_| {
            rng.random_range(500.0f32..2000.0)
        });
        let grads = |model: &mut super::LearnedModel, full: bool| {
            let mut rng = rng_from_seed(1);
            let mut ctx = Ctx {
                lengths: Some(vec![6, 4]),
                ..Ctx::train(&mut rng)
            };
            let y = model.forward(x.view(), &mut ctx);
            let g = y.mapv(|v| v.sin());
            model.zero_grad();
            if full {
                let _ = model.backward(g.view());
            } else {
                model.backward_params_only(g.view());
            }
            model
                .params()
                .iter()
                .map(|p| p.grad.clone())
                .collect::<Vec<_>>()
        };
        let full = grads(&mut model, true);
        let partial = grads(&mut model, false);
        // Same operations in the same order on the parameter path: equal
        // to the bit.
        assert_eq!(full, partial, "{mode}");
        assert!(full.iter().any(|g| g.iter().any(|&v| v != 0.0)), "{mode}");
    }
}

/// The whole recipe after a learned stage (energy in C0, deltas, speaker
/// CMVN "both" with two groups' statistics, position, context window,
/// input standardisation) against finite differences, inputs carrying the
/// energy and group columns.
#[test]
fn the_whole_recipe_passes_a_gradient_check() {
    let text = "[frontend]\npost = { deltas = true, cmvn = \"none\" }\n\
                [frontend.learn]\nmel = { learn = true }\ndct = { learn = true }\n\
                [input]\nmode = \"context\"\ncontext = 1\nposition = true\nspeaker_cmvn = \"both\"\n\
                [classifier]\nhidden = [6]\nactivation = \"tanh\"\n";
    let cfg = ExperimentConfig::from_toml_str(text, Path::new("models/r.toml")).expect("valid");
    let mut model = build_model(&cfg, 3, &mut rng_from_seed(5)).expect("model");
    assert!(model.energy && model.speaker.on);
    model.speaker.stats = (0..2)
        .map(|g| {
            (
                (0..39).map(|c| 0.1 * (c + g) as f32).collect(),
                (0..39).map(|c| 0.5 + 0.02 * (c + 3 * g) as f32).collect(),
            )
        })
        .collect();
    let mut rng = rng_from_seed(9);
    // 129 power bins, then the log energy, then the group.
    let x = ArrayD::from_shape_fn(ndarray::IxDyn(&[2, 6, 131]), |i| match i[2] {
        129 => rng.random_range(5.0f32..9.0),
        130 => i[0] as f32,
        _ => rng.random_range(500.0f32..2000.0),
    });
    let opts = CheckOptions {
        lengths: Some(vec![6, 4]),
        empty_batch: false,
        batch_consistency: false,
        ..CheckOptions::default()
    };
    let report = check_layer(&mut model, &x, &opts);
    assert!(!report.rows.is_empty());
}
