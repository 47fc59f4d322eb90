//! Training and testing one run of the learned path: the training set
//! (prefixes plus perturbed copies), the fit, predictions, and the trained
//! front end's output for the report.

use std::time::Instant;

use ndarray::{Array2, Axis};

use crate::nn::{rng_from_seed, Ctx};
use crate::train::fit::{fit_observed, Dataset};
use crate::train::split::stratified_split;
use crate::train::{EpochObserver, History, Metrics, Silent};

use super::super::config::ExperimentConfig;
use super::super::corpus::Corpus;
use super::super::{ExperimentError, RunOutput};
use super::{
    augment, build_model, chain_options, learn_split, model, other, stage_data, LearnedModel,
    PrefixComputer,
};

/// Batch size of inference passes.
const EVAL_BATCH: usize = 256;

/// Predicted class of each item of `x` (evaluation mode).
pub fn predict(model: &mut LearnedModel, utts: &[&Array2<f32>]) -> Vec<usize> {
    use crate::train::TrainModel;
    let mut out = Vec::with_capacity(utts.len());
    let mut rng = rng_from_seed(0);
    for chunk in utts.chunks(EVAL_BATCH) {
        let (x, lengths) = model::padded(chunk);
        let mut ctx = Ctx {
            lengths: Some(lengths),
            ..Ctx::eval(&mut rng)
        };
        let logits = model.forward_logits(x.into_dyn().view(), &mut ctx);
        let l2 = logits
            .into_dimensionality::<ndarray::Ix2>()
            .expect("(batch, classes)");
        out.extend(crate::nn::loss::argmax_rows(l2.view()));
    }
    out
}

/// Front-end output (before normalisation) of each utterance's prefix, in
/// evaluation mode: at classic init, the hand-crafted features of
/// [`chain_options`].
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

/// Trains a fresh model of `cfg` on `train` items' prefixes with `seed`.
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
    let (xt, lt, yt) = {
        let (_, first) = learn_split(cfg)?;
        augment::check(&cfg.augment, first).map_err(|e| other(cfg, e))?;
        let items: Vec<usize> = tr.iter().map(|&k| train[k]).collect();
        let copies = if cfg.augment.is_active() {
            let pc = PrefixComputer::new(&chain_options(cfg)?, first)?;
            augment::training_copies(corpus, cfg, &pc, prefix, &items, seed)
        } else {
            Vec::new()
        };
        let mut utts: Vec<&Array2<f32>> = items.iter().map(|&i| &prefix[i]).collect();
        utts.extend(&copies);
        let mut y: Vec<usize> = tr.iter().map(|&k| labels[k]).collect();
        y.extend(
            items
                .iter()
                .flat_map(|&i| std::iter::repeat_n(targets[i], cfg.augment.copies))
                .take(copies.len()),
        );
        let (x, len) = model::padded(&utts);
        (x, len, y)
    };
    let (xv, lv, yv) = {
        let utts: Vec<&Array2<f32>> = va.iter().map(|&k| &prefix[train[k]]).collect();
        let (x, len) = model::padded(&utts);
        (
            x,
            len,
            va.iter().map(|&k| labels[k]).collect::<Vec<usize>>(),
        )
    };
    let mut dt = Dataset::new(xt.view().into_dyn(), &yt);
    dt.lengths = Some(&lt);
    let mut dv = Dataset::new(xv.view().into_dyn(), &yv);
    dv.lengths = Some(&lv);
    let mut tcfg = cfg.train.clone();
    tcfg.seed = seed;
    let history = fit_observed(
        &mut model,
        &dt,
        (!va.is_empty()).then_some(&dv),
        n_classes,
        &tcfg,
        &mut rng,
        observer,
    )?;
    Ok((model, history))
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
    let (mut model, history) = train_learned_observed(corpus, cfg, prefix, train, seed, observer)?;
    let train_seconds = start.elapsed().as_secs_f64();
    let utts: Vec<&Array2<f32>> = test.iter().map(|&i| &prefix[i]).collect();
    let predicted = predict(&mut model, &utts);
    let example_features = utts
        .first()
        .and_then(|u| front_features(&mut model, &[*u]).pop());
    let targets = corpus.targets();
    let truth: Vec<usize> = test.iter().map(|&i| targets[i]).collect();
    let metrics = Metrics::compute(&predicted, &truth, corpus.data.classes.len());
    Ok(RunOutput {
        test_items: test.to_vec(),
        predicted,
        truth,
        metrics,
        history,
        train_seconds,
        frontend_params: model.frontend_params(),
        classifier_params: model.classifier_params(),
        learned: stage_data(&model, cfg.sample_rate_hz as f32),
        example_features,
        log_posteriors: None,
    })
}
