//! Dumps a trained frame classifier's per-frame log-posteriors on one
//! speaker's utterances, once per VTLN warp, as `.npy` files, so that
//! decision rules (pooling over frames, combining warps) and where in a
//! word the errors arise can be studied outside the tool.
//!
//! Usage: `cargo run --release --example frame_posteriors -- MODEL DATA SPEAKER OUT [WARP...]`
//! - `MODEL`: a file written by `speechfront train` (a frame classifier:
//!   `[input] mode = "context"`); member 0 of an ensemble is used.
//! - `DATA`: the labelled folder (labels auto-detected, e.g. FSDD names);
//!   `SPEAKER`: whose utterances to score (e.g. the held-out speaker of
//!   `train --split speakers:george`).
//! - `WARP...`: VTLN warp factors (default: the model's `[test] vtln`, or
//!   1.0 alone).
//!
//! Writes into `OUT`: `items.txt` (one relative path per utterance, in
//! order), and per warp `W` (two decimals) `lp_W.npy`, float32 `(frames,
//! classes)` log-posteriors, and `utt_W.npy`, int64 `(frames,)` each
//! frame's utterance index. Features are computed exactly as `compare`
//! and `evaluate` compute test features (same per-file dither seed), so
//! averaging `lp_W` rows per utterance and over the warps reproduces the
//! model's decisions.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use ndarray::{Array1, Array2, ArrayView2};
use speechfront::data::LabelSource;
use speechfront::experiment::speaker_norm::{normalise, SpeakerCmvn, Stats};
use speechfront::experiment::{classic, item_seed, persist, Corpus};
use speechfront::frontend::Frontend;
use speechfront::nn::context::Splice;
use speechfront::nn::loss::log_softmax;
use speechfront::train::frames::frames_from_utterances;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        bail!("usage: frame_posteriors MODEL DATA SPEAKER OUT [WARP...]");
    }
    let (model, data, speaker, out) = (
        PathBuf::from(&args[0]),
        PathBuf::from(&args[1]),
        args[2].as_str(),
        PathBuf::from(&args[3]),
    );
    let (cfg, mut members) = persist::load(&model)?;
    let mut warps: Vec<f32> = args[4..]
        .iter()
        .map(|w| {
            w.parse()
                .with_context(|| format!("warp {w:?} is not a number"))
        })
        .collect::<Result<_>>()?;
    if warps.is_empty() {
        warps = if cfg.test.vtln.is_empty() {
            vec![1.0]
        } else {
            cfg.test.vtln.clone()
        };
    }
    let net = members
        .first_mut()
        .context("the model file holds no network")?;
    let Some(k) = net.frame_context else {
        bail!(
            "{}: not a frame classifier (needs [input] mode = \"context\")",
            model.display()
        );
    };
    let corpus = Corpus::load(&data, &LabelSource::Auto, cfg.sample_rate_hz)?;
    let items: Vec<usize> = (0..corpus.data.items.len())
        .filter(|&i| corpus.data.items[i].speaker.as_deref() == Some(speaker))
        .collect();
    if items.is_empty() {
        bail!("{}: no utterance of speaker {speaker:?}", data.display());
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let names: Vec<String> = items
        .iter()
        .map(|&i| corpus.data.items[i].rel_path.display().to_string())
        .collect();
    std::fs::write(out.join("items.txt"), names.join("\n"))?;
    // Speaker-level normalisation (`[input] speaker_cmvn`): this speaker's
    // statistics from their unwarped utterances, as `evaluate` does.
    let features = |warp: f32| -> Result<Vec<Array2<f32>>> {
        let mut opts = cfg.frontend_options()?;
        opts.mel.vtln_warp = warp;
        let fe = Frontend::new(&opts)?;
        Ok(items
            .iter()
            .map(|&i| {
                let seed = item_seed(0, &corpus.data.items[i].rel_path);
                classic::utterance_features(
                    &fe,
                    &corpus.audio[i],
                    corpus.sample_rate_hz,
                    &cfg.input,
                    seed,
                )
            })
            .collect())
    };
    let mode = cfg.input.speaker_cmvn;
    let stats = if mode == SpeakerCmvn::None {
        None
    } else {
        let plain = features(1.0)?;
        let views: Vec<ArrayView2<'_, f32>> = plain.iter().map(|f| f.view()).collect();
        let dims = classic::normalised_dims(&cfg.input, views[0].ncols());
        Some(Stats::of(&views, dims, mode))
    };
    let blocks = classic::delta_blocks(&cfg)?;
    for warp in warps {
        let mut feats = features(warp)?;
        if let Some(st) = &stats {
            for f in &mut feats {
                normalise(f, st, mode, blocks);
            }
        }
        let views: Vec<ArrayView2<'_, f32>> = feats.iter().map(|f| f.view()).collect();
        let frames = frames_from_utterances(
            &views,
            &vec![0; views.len()],
            Splice::dilated(k, net.frame_dilation),
        )?;
        let lp = log_softmax(net.logits(frames.x.view().into_dyn(), None).view());
        let utt: Array1<i64> = frames.utt.iter().map(|&u| u as i64).collect();
        let (lp_path, utt_path) = (
            out.join(format!("lp_{warp:.2}.npy")),
            out.join(format!("utt_{warp:.2}.npy")),
        );
        ndarray_npy::write_npy(&lp_path, &lp)
            .with_context(|| format!("writing {}", lp_path.display()))?;
        ndarray_npy::write_npy(&utt_path, &utt)
            .with_context(|| format!("writing {}", utt_path.display()))?;
    }
    println!(
        "{} utterances of {speaker} -> {}",
        items.len(),
        out.display()
    );
    Ok(())
}
