//! `compare`: every configuration with every seed on the same split,
//! gathered into one [`Report`].

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use ndarray::Array2;
use rayon::prelude::*;

use crate::data::{FeatureCache, Fold, LabelSource, Split};
use crate::nn::rng_from_seed;
use crate::report::{
    self, ConfigResult, DataSummary, EpochRecord, ExampleFeatures, FeatureScaling, HeldOutResult,
    LearnedStage, Report, RunResult, SkippedFile, TestPosteriors, Throughput,
};

use super::config::ExperimentConfig;
use super::corpus::Corpus;
use super::progress::{Lines, Progress, RunTag};
use super::{classic, learned, ExperimentError, RunOutput};
use crate::train::{EpochObserver, EpochRecord as TrainEpoch};

/// What to compare, on which data, how.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// The labelled audio folder.
    pub data: PathBuf,
    /// How labels are found.
    pub labels: LabelSource,
    /// How the data is split.
    pub split: Split,
    /// The configurations.
    pub configs: Vec<ExperimentConfig>,
    /// Seeds `base_seed .. base_seed + seeds`.
    pub seeds: usize,
    /// First seed.
    pub base_seed: u64,
    /// Feature cache folder (None: no cache).
    pub cache_dir: Option<PathBuf>,
    /// Print one line per finished run on stderr.
    pub progress: bool,
    /// The command line, recorded in the report.
    pub command_line: String,
    /// Also run "deep versus fat" on the first hand-crafted configuration
    /// (first fold, first seed).
    pub deep_vs_fat: bool,
    /// Also ablate the configuration with this name (every fold, first
    /// seed).
    pub ablate: Option<String>,
}

struct Prepared {
    feats: Vec<Array2<f32>>,
    extract_seconds: f64,
}

fn prepare(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    cache: Option<&FeatureCache>,
) -> Result<Prepared, ExperimentError> {
    let start = Instant::now();
    let feats = if cfg.has_learned_stage() {
        learned::corpus_prefix(corpus, cfg, cache)?
    } else {
        classic::corpus_features(corpus, cfg, cache)?
    };
    Ok(Prepared {
        feats,
        extract_seconds: start.elapsed().as_secs_f64(),
    })
}

fn run_one(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    p: &Prepared,
    fold: &Fold,
    seed: u64,
    observer: &mut dyn EpochObserver,
) -> Result<RunOutput, ExperimentError> {
    let (train, test) = (&fold.train, &fold.test);
    if cfg.has_learned_stage() {
        learned::run_learned_observed(corpus, cfg, &p.feats, train, test, seed, observer)
    } else {
        classic::run_classic_observed(corpus, cfg, &p.feats, train, test, seed, observer)
    }
}

fn run_result(
    corpus: &Corpus,
    fold_index: usize,
    fold: &Fold,
    seed: u64,
    out: &RunOutput,
) -> RunResult {
    let mut per: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for ((&i, &p), &t) in out.test_items.iter().zip(&out.predicted).zip(&out.truth) {
        let e = per
            .entry(corpus.data.items[i].speaker.clone().unwrap_or_default())
            .or_default();
        e.0 += usize::from(p == t);
        e.1 += 1;
    }
    RunResult {
        seed,
        fold: Some(fold_index),
        held_out_speaker: (fold.test_speakers.len() == 1).then(|| fold.test_speakers[0].clone()),
        accuracy: out.metrics.accuracy,
        macro_f1: out.metrics.macro_f1,
        confusion: out
            .metrics
            .confusion
            .iter()
            .map(|r| r.iter().map(|&c| c as u32).collect())
            .collect(),
        per_speaker: per
            .into_iter()
            .map(|(s, (c, n))| (s, c as f64 / n.max(1) as f64))
            .collect(),
        train_seconds: out.train_seconds,
        history: out
            .history
            .epochs
            .iter()
            .map(|e| EpochRecord {
                epoch: e.epoch as u32,
                train_loss: e.train_loss,
                train_acc: e.train_accuracy,
                val_loss: e.val_loss.unwrap_or(f64::NAN),
                val_acc: e.val_accuracy.unwrap_or(f64::NAN),
            })
            .collect(),
        posteriors: out.log_posteriors.as_ref().map(|lp| TestPosteriors {
            items: out
                .test_items
                .iter()
                .map(|&i| corpus.data.items[i].rel_path.display().to_string())
                .collect(),
            log_posteriors: lp.rows().into_iter().map(|r| r.to_vec()).collect(),
        }),
    }
}

/// Runs every configuration with every seed on every fold of the split and
/// returns the report (not yet written).
///
/// # Errors
/// Unreadable data, an invalid split, a configuration whose runs fail.
pub fn compare(opts: &CompareOptions) -> Result<(Report, Vec<String>), ExperimentError> {
    compare_with(opts, &Lines::new(opts.progress))
}

/// [`compare`], reporting to `progress` (each run's start, epochs and end;
/// `opts.progress` is not used).
///
/// # Errors
/// As [`compare`].
pub fn compare_with(
    opts: &CompareOptions,
    progress: &dyn Progress,
) -> Result<(Report, Vec<String>), ExperimentError> {
    let mut failures = Vec::new();
    let cache = match &opts.cache_dir {
        Some(d) => Some(FeatureCache::new(d)?),
        None => None,
    };
    let mut report = report::provenance::new_report(
        "speechfront: hand-crafted versus learned front ends",
        &opts.command_line,
    );
    let rates: Vec<u32> = opts.configs.iter().map(|c| c.sample_rate_hz).collect();
    let mut corpora: BTreeMap<u32, Corpus> = BTreeMap::new();
    for &r in &rates {
        if let std::collections::btree_map::Entry::Vacant(e) = corpora.entry(r) {
            e.insert(Corpus::load(&opts.data, &opts.labels, r)?);
        }
    }
    let first = &corpora[&rates[0]];
    report.split = opts.split.to_string();
    report.data = DataSummary {
        path: opts.data.display().to_string(),
        n_files: first.data.items.len(),
        n_classes: first.data.classes.len(),
        classes: first.data.classes.clone(),
        speakers: first.data.speakers(),
        skipped: first
            .data
            .skipped
            .iter()
            .map(|(p, r)| SkippedFile {
                path: p.display().to_string(),
                reason: r.clone(),
            })
            .collect(),
    };
    let folds = opts
        .split
        .folds(&first.data, &mut rng_from_seed(opts.base_seed))?;
    let seeds: Vec<u64> = (0..opts.seeds as u64).map(|s| opts.base_seed + s).collect();
    progress.begin(opts.configs.len() * folds.len() * seeds.len());
    // Each configuration's test decisions, for the twin table.
    let mut decided: Vec<(&ExperimentConfig, super::twins::Decisions)> = Vec::new();
    for cfg in &opts.configs {
        let corpus = &corpora[&cfg.sample_rate_hz];
        progress.note(&format!("{}: preparing features ...", cfg.name));
        let prepared = match prepare(corpus, cfg, cache.as_ref()) {
            Ok(p) => p,
            Err(e) => {
                progress.note(&format!("{}: failed: {e}", cfg.name));
                failures.push(format!("{}: {e}", cfg.name));
                continue;
            }
        };
        let jobs: Vec<(usize, u64)> = (0..folds.len())
            .flat_map(|f| seeds.iter().map(move |&s| (f, s)))
            .collect();
        let outs: Vec<Result<RunOutput, ExperimentError>> = jobs
            .par_iter()
            .map(|&(f, seed)| {
                let tag = RunTag {
                    config: cfg.name.clone(),
                    fold: f + 1,
                    n_folds: folds.len(),
                    fold_name: folds[f].name.clone(),
                    seed,
                    max_epochs: cfg.train.epochs,
                };
                progress.run_started(&tag);
                let mut observer = |r: &TrainEpoch, max: usize| progress.epoch(&tag, r, max);
                let out = run_one(corpus, cfg, &prepared, &folds[f], seed, &mut observer);
                progress.run_finished(&tag, out.as_ref());
                out
            })
            .collect();
        let mut result = ConfigResult {
            name: cfg.name.clone(),
            config_toml: cfg.to_toml_string(),
            ..ConfigResult::default()
        };
        let seconds = corpus.seconds();
        result.throughput = Some(Throughput {
            utterances_per_s: corpus.audio.len() as f64 / prepared.extract_seconds.max(1e-9),
            x_real_time: seconds / prepared.extract_seconds.max(1e-9),
        });
        let mut trained_example = None;
        let mut decisions = super::twins::Decisions::new();
        for (&(f, seed), out) in jobs.iter().zip(outs) {
            let out = match out {
                Ok(o) => o,
                Err(e) => {
                    failures.push(format!("{} fold {} seed {seed}: {e}", cfg.name, f + 1));
                    continue;
                }
            };
            result.frontend_params = out.frontend_params;
            result.classifier_params = out.classifier_params;
            if f == 0 && seed == seeds[0] {
                trained_example = out.example_features.clone();
                for stage in &out.learned {
                    report.learned.push(LearnedStage {
                        config: cfg.name.clone(),
                        seed: Some(seed),
                        stage: stage.clone(),
                    });
                }
            }
            for ((&i, &p), &t) in out.test_items.iter().zip(&out.predicted).zip(&out.truth) {
                decisions.insert((f, seed, i), p == t);
            }
            let rr = run_result(corpus, f, &folds[f], seed, &out);
            if let Some(s) = &rr.held_out_speaker {
                report.speaker_independent.push(HeldOutResult {
                    config: cfg.name.clone(),
                    speaker: s.clone(),
                    seed,
                    accuracy: rr.accuracy,
                });
            }
            result.runs.push(rr);
        }
        if let Some(example) =
            example_features(corpus, cfg, &prepared, &folds, trained_example, seeds[0])
        {
            report.example_features.push(example);
        }
        if !result.runs.is_empty() {
            report.configs.push(result);
        }
        decided.push((cfg, decisions));
    }
    let (cfgs, decisions): (Vec<&ExperimentConfig>, Vec<_>) = decided.into_iter().unzip();
    report.twins = super::twins::twin_rows(&cfgs, &decisions);
    // The studies train many variants: they use the first seed only, which
    // keeps the default run within a few minutes (rows record n_seeds).
    let study_seeds = &seeds[..seeds.len().min(1)];
    let classic_cfgs: Vec<&ExperimentConfig> = opts
        .configs
        .iter()
        .filter(|c| !c.has_learned_stage())
        .collect();
    if opts.deep_vs_fat {
        if let (Some(base), Some(fold)) = (classic_cfgs.first(), folds.first()) {
            progress.note(&format!("deep versus fat on {} ...", base.name));
            match super::studies::deep_vs_fat(
                &corpora[&base.sample_rate_hz],
                base,
                fold,
                study_seeds,
            ) {
                Ok(rows) => report.deep_vs_fat = rows,
                Err(e) => failures.push(format!("deep versus fat: {e}")),
            }
        }
    }
    if let Some(name) = &opts.ablate {
        match opts.configs.iter().find(|c| &c.name == name) {
            Some(base) => {
                progress.note(&format!("ablation of {} ...", base.name));
                match super::studies::ablation(
                    &corpora[&base.sample_rate_hz],
                    base,
                    &folds,
                    study_seeds,
                ) {
                    Ok(rows) => report.ablation = rows,
                    Err(e) => failures.push(format!("ablation: {e}")),
                }
            }
            None => failures.push(format!("ablation: no configuration named '{name}'")),
        }
    }
    progress.end();
    Ok((report, failures))
}

/// The report's example features of `cfg`: the first test item of the
/// first fold through the hand-crafted front end, or, for a learned
/// configuration, through the front end trained in the first fold with
/// the first seed (`trained`, from [`RunOutput::example_features`]). A
/// learned configuration whose first run failed has no example (its
/// cached prefix is not its features).
fn example_features(
    corpus: &Corpus,
    cfg: &ExperimentConfig,
    prepared: &Prepared,
    folds: &[Fold],
    trained: Option<Array2<f32>>,
    seed: u64,
) -> Option<ExampleFeatures> {
    let first_test = *folds.first()?.test.first()?;
    let item = &corpus.data.items[first_test];
    let (label, x) = if cfg.has_learned_stage() {
        (
            format!("{} · trained front end, seed {seed}", cfg.name),
            trained?,
        )
    } else {
        (cfg.name.clone(), prepared.feats[first_test].clone())
    };
    Some(ExampleFeatures {
        label,
        utterance: format!("{} (class {})", item.rel_path.display(), item.label),
        features: x.outer_iter().map(|r| r.to_vec()).collect(),
        // Cepstra (a DCT last, learned or not) are scaled per dimension, so
        // that c0 does not take the whole colour range.
        scaling: if cfg.feature == crate::frontend::Feature::Mfcc {
            FeatureScaling::PerDim
        } else {
            FeatureScaling::Global
        },
    })
}
