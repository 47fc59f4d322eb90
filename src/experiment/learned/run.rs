//! Training and testing one run of the learned path: the training set
//! (prefixes plus perturbed copies), the fit of every ensemble member,
//! decisions averaged over members and test-time variants, and the trained
//! front end's output for the report.
//!
//! # The recipe, as on the hand-crafted path
//! - **Objective and batches.** In `context` mode the loss is per-frame
//!   cross-entropy (see [`super::model`]); `train.batch_size` counts
//!   frames there, as in [`crate::train::frames`], so a batch holds whole
//!   utterances whose frames add up to about `batch_size` (at least one
//!   utterance). In `pool` / `fixed` mode a batch is `batch_size`
//!   utterances, as on the hand-crafted path.
//! - **Validation and stopping**: utterances carved from the training items
//!   (stratified, seeded by the member seed) with `train.val_fraction`;
//!   `train.patience` and `train.epochs` through [`crate::train::fit()`].
//! - **Ensembles**: `ensemble` members with seeds
//!   [`crate::experiment::classic::member_seed`]; decisions average their
//!   utterance log-posteriors.
//! - **Test-time VTLN / speed**: each (speed, warp) pair's prefix is
//!   recomputed from the audio and the log-posteriors averaged, as on the
//!   hand-crafted path (a warp needs the mel filterbank in the frozen
//!   prefix; see [`super::augment::check`]).
//! - **Speaker CMVN**: training speakers' statistics from their original
//!   utterances through the current front end (refreshed every epoch); a
//!   test speaker's from their own unwarped test utterances through the
//!   trained front end.

use std::time::Instant;

use ndarray::{Array2, Axis};
use rayon::prelude::*;

use crate::nn::{rng_from_seed, Ctx};
use crate::train::fit::{fit_observed, Dataset};
use crate::train::split::stratified_split;
use crate::train::{EpochObserver, History, Metrics, Silent};

use super::super::classic::{item_speakers, member_seed};
use super::super::config::{ExperimentConfig, InputMode};
use super::super::corpus::Corpus;
use super::super::speaker_norm::{speaker_groups, split_groups};
use super::super::{item_seed, ExperimentError, RunOutput};
use super::{
    augment, build_model, chain_options, learn_split, model, other, stage_data, LearnedModel,
    PrefixComputer,
};

/// Batch size of inference passes.
const EVAL_BATCH: usize = 256;

/// A trained learned-path model: one or more members (an ensemble) of the
/// same configuration.
pub struct ChainModel {
    /// The members; member 0 was trained with the run seed itself.
    pub members: Vec<LearnedModel>,
    /// Each member's training history.
    pub histories: Vec<History>,
}

fn with_groups(utts: &[&Array2<f32>], groups: Option<&[usize]>) -> Option<Vec<Array2<f32>>> {
    groups.map(|g| {
        utts.iter()
            .zip(g)
            .map(|(u, &k)| model::with_group(u, k))
            .collect()
    })
}

/// Per-utterance log-posteriors of one member (evaluation mode). With
/// speaker CMVN, `groups` gives each utterance's group in the member's
/// current statistics.
///
/// # Shapes
/// `utts.len()` utterances -> `(utts.len(), n_classes)`
pub fn member_log_posteriors(
    model: &mut LearnedModel,
    utts: &[&Array2<f32>],
    groups: Option<&[usize]>,
) -> Array2<f32> {
    use crate::train::TrainModel;
    let grouped = with_groups(utts, groups.filter(|_| model.speaker.on));
    let refs: Vec<&Array2<f32>> = match &grouped {
        Some(v) => v.iter().collect(),
        None => utts.to_vec(),
    };
    let objective = std::mem::replace(&mut model.frame_objective, false);
    let mut rows: Vec<Array2<f32>> = Vec::new();
    let mut rng = rng_from_seed(0);
    for chunk in refs.chunks(EVAL_BATCH) {
        let (x, lengths) = model::padded(chunk);
        let mut ctx = Ctx {
            lengths: Some(lengths),
            ..Ctx::eval(&mut rng)
        };
        let logits = model
            .forward_logits(x.into_dyn().view(), &mut ctx)
            .into_dimensionality::<ndarray::Ix2>()
            .expect("(batch, classes)");
        let lp = match model.head {
            // Context mode: already the mean frame log-posterior.
            model::Head::Frames { .. } => logits,
            model::Head::Whole(_) => crate::nn::loss::log_softmax(logits.view()),
        };
        rows.push(lp);
    }
    model.frame_objective = objective;
    let views: Vec<ndarray::ArrayView2<'_, f32>> = rows.iter().map(|r| r.view()).collect();
    if views.is_empty() {
        return Array2::zeros((0, 0));
    }
    ndarray::concatenate(Axis(0), &views).expect("same classes")
}

/// Predicted class of each utterance's prefix (one member, evaluation
/// mode, no speaker statistics).
pub fn predict(model: &mut LearnedModel, utts: &[&Array2<f32>]) -> Vec<usize> {
    let groups: Vec<usize> = (0..utts.len()).collect();
    if model.speaker.on {
        model.refresh_speaker_stats(utts, &groups);
    }
    let lp = member_log_posteriors(model, utts, Some(&groups));
    crate::nn::loss::argmax_rows(lp.view())
}

/// Front-end output (before the shaping) of each utterance's prefix, in
/// evaluation mode: at classic init, the hand-crafted features of
/// [`chain_options`] before CMVN and deltas.
pub fn front_features(model: &mut LearnedModel, prefix: &[&Array2<f32>]) -> Vec<Array2<f32>> {
    let mut rng = rng_from_seed(0);
    prefix
        .iter()
        .map(|p| {
            let x = p.view().insert_axis(Axis(0)).into_dyn();
            let mut ctx = Ctx {
                lengths: Some(vec![p.nrows()]),
                ..Ctx::eval(&mut rng)
            };
            let y = model.features(x, &mut ctx);
            y.index_axis(Axis(0), 0)
                .into_dimensionality::<ndarray::Ix2>()
                .expect("2-D")
                .to_owned()
        })
        .collect()
}

/// The classifier's input features (front end and shaping: CMVN, deltas,
/// speaker views, position) of each utterance, in evaluation mode; with
/// speaker CMVN the statistics are each group's, `groups` one per
/// utterance (computed here from these utterances).
///
/// # Shapes
/// each `(frames, prefix_dims)` -> `(frames, shaped dims)`
pub fn shaped_features(
    model: &mut LearnedModel,
    prefix: &[&Array2<f32>],
    groups: &[usize],
) -> Vec<Array2<f32>> {
    if model.speaker.on {
        model.refresh_speaker_stats(prefix, groups);
    }
    let mut rng = rng_from_seed(0);
    prefix
        .iter()
        .zip(groups)
        .map(|(p, &g)| {
            let x = p.view().insert_axis(Axis(0)).into_dyn();
            let mut ctx = Ctx {
                lengths: Some(vec![p.nrows()]),
                ..Ctx::eval(&mut rng)
            };
            if model.speaker.on {
                model.shaping.speaker_norm.stats =
                    vec![model.speaker.stats.get(g).cloned().unwrap_or_default()];
            }
            let h = model.features(x, &mut ctx);
            let y = crate::nn::Layer::forward(&mut model.shaping, h.view(), &mut ctx);
            y.index_axis(Axis(0), 0)
                .into_dimensionality::<ndarray::Ix2>()
                .expect("2-D")
                .to_owned()
        })
        .collect()
}

/// Trains a fresh model of `cfg` on `train` items' prefixes with `seed`
/// (one network; see [`train_chain`] for the ensemble).
///
/// # Errors
/// Invalid configuration, empty data, a diverged training.
pub fn train_learned(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    prefix: &[Array2<f32>],
    train: &[usize],
    seed: u64,
) -> Result<(LearnedModel, History), ExperimentError> {
    train_learned_observed(corpus, cfg, prefix, train, seed, &mut Silent)
}

/// Every member of `cfg`'s ensemble, trained on `train` with member seeds
/// derived from `seed`.
///
/// # Errors
/// As [`train_learned`].
pub fn train_chain(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    prefix: &[Array2<f32>],
    train: &[usize],
    seed: u64,
    observer: &mut dyn EpochObserver,
) -> Result<ChainModel, ExperimentError> {
    let mut members = Vec::new();
    let mut histories = Vec::new();
    for k in 0..cfg.ensemble.max(1) {
        let (m, h) = train_learned_observed(
            corpus,
            cfg,
            prefix,
            train,
            member_seed(seed, k),
            &mut *observer,
        )?;
        members.push(m);
        histories.push(h);
    }
    Ok(ChainModel { members, histories })
}

/// [`train_learned`], reporting each epoch to `observer`.
///
/// # Errors
/// As [`train_learned`].
pub fn train_learned_observed(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    prefix: &[Array2<f32>],
    train: &[usize],
    seed: u64,
    observer: &mut dyn EpochObserver,
) -> Result<(LearnedModel, History), ExperimentError> {
    if prefix.len() != corpus.data.items.len() {
        return Err(other(
            cfg,
            format!(
                "{} prefixes for {} items",
                prefix.len(),
                corpus.data.items.len()
            ),
        ));
    }
    let n_classes = corpus.data.classes.len();
    let targets = corpus.targets();
    let mut rng = rng_from_seed(seed);
    let mut model = build_model(cfg, n_classes, &mut rng)?;
    let labels: Vec<usize> = train.iter().map(|&i| targets[i]).collect();
    let (tr, va) = if cfg.train.val_fraction > 0.0 {
        stratified_split(&labels, cfg.train.val_fraction, &mut rng)
    } else {
        ((0..train.len()).collect(), Vec::new())
    };
    // Speaker groups over every training item (validation included, as
    // the hand-crafted path gathers its statistics before the split).
    let groups = speaker_groups(&item_speakers(corpus, train));
    if model.speaker.on {
        let originals: Vec<Array2<f32>> = train.iter().map(|&i| prefix[i].clone()).collect();
        let refs: Vec<&Array2<f32>> = originals.iter().collect();
        model.refresh_speaker_stats(&refs, &groups);
        model.speaker.source = Some((originals, groups.clone()));
    }
    let spk_on = model.speaker.on;
    let tag = |u: &Array2<f32>, k: usize| -> Array2<f32> {
        if spk_on {
            model::with_group(u, groups[k])
        } else {
            u.clone()
        }
    };
    let (_, first) = learn_split(cfg)?;
    augment::check(&cfg.augment, first).map_err(|e| other(cfg, e))?;
    let items: Vec<usize> = tr.iter().map(|&k| train[k]).collect();
    let copies = if cfg.augment.is_active() {
        let pc = PrefixComputer::new(&chain_options(cfg)?, first)?;
        augment::training_copies(corpus, cfg, &pc, prefix, &items, seed)
    } else {
        Vec::new()
    };
    let mut utts: Vec<Array2<f32>> = tr.iter().map(|&k| tag(&prefix[train[k]], k)).collect();
    let copy_group: Vec<usize> = tr
        .iter()
        .flat_map(|&k| std::iter::repeat_n(k, cfg.augment.copies))
        .take(copies.len())
        .collect();
    utts.extend(copies.iter().zip(&copy_group).map(|(c, &k)| tag(c, k)));
    let mut y: Vec<usize> = tr.iter().map(|&k| labels[k]).collect();
    y.extend(copy_group.iter().map(|&k| labels[k]));
    let val: Vec<Array2<f32>> = va.iter().map(|&k| tag(&prefix[train[k]], k)).collect();
    let yv: Vec<usize> = va.iter().map(|&k| labels[k]).collect();
    let refs: Vec<&Array2<f32>> = utts.iter().collect();
    let vrefs: Vec<&Array2<f32>> = val.iter().collect();
    if cfg.input.mode == InputMode::Context {
        install_input_standardizer(&mut model, &refs);
    }
    let (xt, lt) = model::padded(&refs);
    let (xv, lv) = model::padded(&vrefs);
    let mut dt = Dataset::new(xt.view().into_dyn(), &y);
    dt.lengths = Some(&lt);
    let mut dv = Dataset::new(xv.view().into_dyn(), &yv);
    dv.lengths = Some(&lv);
    let mut tcfg = cfg.train.clone();
    tcfg.seed = seed;
    if cfg.input.mode == InputMode::Context {
        // `batch_size` counts frames, as on the hand-crafted path.
        let frames: usize = lt.iter().sum();
        let mean = frames as f64 / lt.len().max(1) as f64;
        tcfg.batch_size = ((cfg.train.batch_size as f64 / mean.max(1.0)).round() as usize).max(1);
        model.frame_objective = true;
    }
    let history = fit_observed(
        &mut model,
        &dt,
        (!va.is_empty()).then_some(&dv),
        n_classes,
        &tcfg,
        &mut rng,
        observer,
    );
    model.frame_objective = false;
    model.speaker.source = None;
    Ok((model, history?))
}

/// Fits the classifier's input standardisation (its first layer, when
/// `classifier.input_norm`) on the training utterances' classifier inputs
/// at step 0, as the hand-crafted path fits it on its stacked frames.
fn install_input_standardizer(model: &mut LearnedModel, utts: &[&Array2<f32>]) {
    use crate::nn::standardize::{Standardize, MIN_STD};
    let has_norm = match &model.head {
        model::Head::Frames { net, .. } => net
            .layers()
            .first()
            .is_some_and(|l| l.params().first().is_some_and(|p| p.name == "mean")),
        model::Head::Whole(_) => false,
    };
    if !has_norm {
        return;
    }
    let Some((sum, sq, n)) = model.input_moments(utts) else {
        return;
    };
    let n = n.max(1) as f64;
    let mean = ndarray::Array1::from_iter(sum.iter().map(|s| (s / n) as f32));
    let inv = ndarray::Array1::from_iter(sum.iter().zip(&sq).map(|(s, q)| {
        let m = s / n;
        1.0 / (((q / n - m * m).max(0.0)).sqrt() as f32).max(MIN_STD)
    }));
    if let model::Head::Frames { net, .. } = &mut model.head {
        crate::train::model::install_standardizer(net, &Standardize::from_stats(mean, inv));
    }
}

/// The (speed, warp) pairs of `cfg.test` (an empty list stands for 1.0).
fn test_variants(cfg: &ExperimentConfig) -> Vec<(f32, f32)> {
    let or_one = |v: &[f32]| if v.is_empty() { vec![1.0] } else { v.to_vec() };
    let (speeds, warps) = (or_one(&cfg.test.speed), or_one(&cfg.test.vtln));
    speeds
        .iter()
        .flat_map(|&s| warps.iter().map(move |&w| (s, w)))
        .collect()
}

/// Per-utterance log-posteriors of the corpus items `items`, averaged over
/// the members and every (speed, warp) pair of `cfg.test`, as
/// [`crate::experiment::classic::test_log_posteriors`] does.
///
/// # Errors
/// Invalid warped front end.
pub fn test_log_posteriors(
    model: &mut ChainModel,
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    prefix: &[Array2<f32>],
    items: &[usize],
) -> Result<Array2<f32>, ExperimentError> {
    let (_, first) = learn_split(cfg)?;
    let keys: Vec<u64> = items
        .iter()
        .map(|&i| item_seed(0, &corpus.data.items[i].rel_path))
        .collect();
    let groups = split_groups(
        &speaker_groups(&item_speakers(corpus, items)),
        &keys,
        cfg.test.speaker_utterances,
    );
    let plain: Vec<&Array2<f32>> = items.iter().map(|&i| &prefix[i]).collect();
    let mut variants: Vec<Vec<Array2<f32>>> = Vec::new();
    let pairs = test_variants(cfg);
    for &(speed, warp) in &pairs {
        if speed == 1.0 && warp == 1.0 {
            variants.push(Vec::new());
            continue;
        }
        let mut o = chain_options(cfg)?;
        o.mel.vtln_warp = warp;
        let pc = PrefixComputer::new(&o, first)?;
        variants.push(
            items
                .par_iter()
                .map(|&i| {
                    let seed = item_seed(0, &corpus.data.items[i].rel_path);
                    let samples = corpus.audio_at_speed(i, speed);
                    pc.utterance(&samples, corpus.sample_rate_hz, &cfg.input, seed)
                })
                .collect(),
        );
    }
    let mut sum: Option<Array2<f32>> = None;
    for m in &mut model.members {
        if m.speaker.on {
            // Each test speaker's statistics from their own unwarped
            // utterances, through this member's trained front end.
            m.refresh_speaker_stats(&plain, &groups);
        }
        for v in &variants {
            let utts: Vec<&Array2<f32>> = if v.is_empty() {
                plain.clone()
            } else {
                v.iter().collect()
            };
            let lp = member_log_posteriors(m, &utts, Some(&groups));
            match &mut sum {
                Some(acc) => *acc += &lp,
                None => sum = Some(lp),
            }
        }
    }
    let n = (model.members.len() * pairs.len()).max(1) as f32;
    Ok(sum.unwrap_or_else(|| Array2::zeros((items.len(), corpus.data.classes.len()))) / n)
}

/// One run of the learned path: trains on `train`, tests on `test`.
///
/// # Errors
/// As [`train_learned`].
pub fn run_learned(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    prefix: &[Array2<f32>],
    train: &[usize],
    test: &[usize],
    seed: u64,
) -> Result<RunOutput, ExperimentError> {
    run_learned_observed(corpus, cfg, prefix, train, test, seed, &mut Silent)
}

/// [`run_learned`], reporting each training epoch to `observer`.
///
/// # Errors
/// As [`train_learned`].
pub fn run_learned_observed(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    prefix: &[Array2<f32>],
    train: &[usize],
    test: &[usize],
    seed: u64,
    observer: &mut dyn EpochObserver,
) -> Result<RunOutput, ExperimentError> {
    let start = Instant::now();
    let mut chain = train_chain(corpus, cfg, prefix, train, seed, observer)?;
    let train_seconds = start.elapsed().as_secs_f64();
    let lp = test_log_posteriors(&mut chain, corpus, cfg, prefix, test)?;
    let predicted = crate::nn::loss::argmax_rows(lp.view());
    let model = &mut chain.members[0];
    let example_features = test
        .first()
        .and_then(|&i| front_features(model, &[&prefix[i]]).pop());
    let targets = corpus.targets();
    let truth: Vec<usize> = test.iter().map(|&i| targets[i]).collect();
    let metrics = Metrics::compute(&predicted, &truth, corpus.data.classes.len());
    let classifier_params = chain.members.iter().map(|m| m.classifier_params()).sum();
    let model = &chain.members[0];
    Ok(RunOutput {
        test_items: test.to_vec(),
        predicted,
        truth,
        metrics,
        history: chain.histories[0].clone(),
        train_seconds,
        frontend_params: chain.members.iter().map(|m| m.frontend_params()).sum(),
        classifier_params,
        learned: stage_data(model, cfg.sample_rate_hz as f32),
        example_features,
        log_posteriors: Some(lp),
    })
}
