//! A learned stage initialised "classic" reproduces the hand-crafted
//! configuration at step 0 *through the whole recipe*: the classifier's
//! input (front end, deltas, per-utterance and speaker CMVN views, the
//! position column, the ±k context window) is the hand-crafted path's, for
//! every stage that can be learned. On the embedded corpus (audio/digits),
//! 3 speakers x 10 digits x 2 takes.

mod learned_util;

use std::path::Path;

use ndarray::{Array2, Axis};
use speechfront::experiment::classic::{
    corpus_features, delta_blocks, item_speakers, normalised_dims,
};
use speechfront::experiment::learned::{build_model, corpus_prefix, shaped_features};
use speechfront::experiment::speaker_norm::{group_stats, normalise, speaker_groups};
use speechfront::experiment::ExperimentConfig;
use speechfront::nn::context::{stack_spliced, ContextWindow, Splice};
use speechfront::nn::{rng_from_seed, Ctx, Layer};

/// The default recipe's feature side (models/default.toml): MFCC with
/// use_energy, deltas, speech trimming, position, speaker CMVN "both",
/// context ±5.
const RECIPE: &str = r#"
preset = "kaldi"
feature = "mfcc"
sample_rate_hz = 8000
[frontend]
frame = { dither = 0.0 }
post = { deltas = true, cmvn = "none" }
[input]
mode = "context"
context = 5
trim_silence = true
speech = { threshold_db = 40.0 }
position = true
speaker_cmvn = "both"
[classifier]
hidden = [16]
"#;

fn config(learn: &str) -> ExperimentConfig {
    let text = if learn.is_empty() {
        RECIPE.to_string()
    } else {
        format!("{RECIPE}[frontend.learn]\n{learn}\n")
    };
    ExperimentConfig::from_toml_str(&text, Path::new("models/recipe.toml")).expect("valid")
}

#[test]
fn every_classic_init_stage_gives_the_hand_crafted_classifier_input() {
    let (_d, c) = learned_util::digits_subset(&["caf3", "gbk", "usf1"], 0..2);
    let all: Vec<usize> = (0..c.data.items.len()).collect();
    let hand = config("");
    // The hand-crafted path: cached features, then the speaker views.
    let mut want = corpus_features(&c, &hand, None).expect("features");
    let groups = speaker_groups(&item_speakers(&c, &all));
    let views: Vec<_> = want.iter().map(|f| f.view()).collect();
    let dims = normalised_dims(&hand.input, want[0].ncols());
    let stats = group_stats(&views, &groups, dims, hand.input.speaker_cmvn);
    let blocks = delta_blocks(&hand).expect("blocks");
    for (f, &g) in want.iter_mut().zip(&groups) {
        normalise(f, &stats[g], hand.input.speaker_cmvn, blocks);
    }
    assert_eq!(want[0].ncols(), 2 * 39 + 1, "two views of 39 + position");
    for learn in [
        "spectrum = { learn = true, init = \"classic\" }",
        "mel = { learn = true, init = \"classic\", kind = \"matrix\" }",
        "mel = { learn = true, init = \"classic\", kind = \"parametric\" }",
        "compress = { learn = true, init = \"classic\", kind = \"log\" }",
        "dct = { learn = true, init = \"classic\" }",
        "spectrum = { learn = true }\nmel = { learn = true }\ncompress = { learn = true }\ndct = { learn = true }",
    ] {
        let cfg = config(learn);
        let prefix = corpus_prefix(&c, &cfg, None).expect("prefix");
        let mut model = build_model(&cfg, 10, &mut rng_from_seed(3)).expect("model");
        let refs: Vec<&Array2<f32>> = prefix.iter().collect();
        let got = shaped_features(&mut model, &refs, &groups);
        let mut worst = 0.0f32;
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g.dim(), w.dim(), "{learn}");
            for (a, b) in g.iter().zip(w) {
                worst = worst.max((a - b).abs());
            }
        }
        println!("{learn}: max |chain - hand-crafted| = {worst:e}");
        // The views are standardised (unit scale): float rounding of the
        // dense products, amplified by the speaker and utterance scales.
        assert!(worst < 1e-4, "{learn}: classifier inputs differ by {worst}");
        // The context window is the same splice on both paths.
        let x = got[0].view().insert_axis(Axis(0)).into_dyn();
        let mut rng = rng_from_seed(0);
        let mut ctx = Ctx::eval(&mut rng);
        let rows = ContextWindow::dilated(5, 1).forward(x, &mut ctx);
        let stacked = stack_spliced(got[0].view(), got[0].nrows(), Splice::new(5));
        assert_eq!(rows.index_axis(Axis(0), 0), stacked.into_dyn());
    }
}

/// A learned configuration saved and loaded gives bit-identical
/// log-posteriors (and the same trained front end).
#[test]
fn a_saved_chain_reloads_to_bit_identical_decisions() {
    use speechfront::experiment::TrainedExperiment;
    let (_d, c) = learned_util::digits_subset(&["caf3", "gbk"], 0..2);
    let cfg = ExperimentConfig::from_toml_str(
        &format!(
            "ensemble = 2\n{RECIPE}[frontend.learn]\ndct = {{ learn = true }}\n[train]\nepochs = 2\n[test]\nvtln = [0.95, 1.0]\n"
        ),
        Path::new("models/save.toml"),
    )
    .expect("valid");
    let (train, test): (Vec<usize>, Vec<usize>) =
        (0..c.data.items.len()).partition(|&i| i % 4 != 0);
    let mut rec = speechfront::train::Silent;
    let mut m = TrainedExperiment::train(&c, &cfg, &train, 5, &mut rec).expect("train");
    let before = m.log_posteriors(&c, &test).expect("log-posteriors");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    m.save(&path).expect("save");
    let mut back = TrainedExperiment::load(&path).expect("load");
    assert_eq!(back.classes(), m.classes());
    let after = back.log_posteriors(&c, &test).expect("log-posteriors");
    assert_eq!(before, after, "decisions after reload");
    let f0 = m.features(&c.audio[0], Path::new("x")).unwrap();
    let f1 = back.features(&c.audio[0], Path::new("x")).unwrap();
    assert_eq!(f0, f1);
}
