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
    /// The first run's quick profile ([`QUICK_PROFILE`]): every ensemble
    /// is trained as one network, for at most [`QUICK_MAX_EPOCHS`] epochs.
    /// The report's title says so and each configuration's recorded TOML
    /// shows what ran.
    pub quick: bool,
}

/// What the quick profile of the no-argument run changes, as the report's
/// title states it. On the embedded corpus the 3-network ensemble of the
/// default recipe buys nothing measurable (the default and plain MFCC
/// both reach 98.3 % on its 150 held-out words) and is two thirds of the
/// recipe's training; the epoch cap shortens the runs that early stopping
/// would let go on (the default's first seed stopped at epoch 35 of 40 at
/// 99.3 %). `speechfront compare` runs the recipes as written.
pub const QUICK_PROFILE: &str = "quick first-run profile: ensembles trained as one network, at most 20 epochs per network (speechfront compare runs the recipes as written)";

/// The quick profile's epoch cap (see [`QUICK_PROFILE`]).
pub const QUICK_MAX_EPOCHS: usize = 20;

/// `cfg` as the quick profile runs it.
fn quick_config(cfg: &ExperimentConfig) -> ExperimentConfig {
    let mut c = cfg.clone();
    c.ensemble = 1;
    c.train.epochs = c.train.epochs.min(QUICK_MAX_EPOCHS);
    c
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
    let title = if opts.quick {
        format!("speechfront: hand-crafted versus learned front ends ({QUICK_PROFILE})")
    } else {
        "speechfront: hand-crafted versus learned front ends".to_string()
    };
    let mut report = report::provenance::new_report(&title, &opts.command_line);
    let quick_configs: Vec<ExperimentConfig>;
    let configs: &[ExperimentConfig] = if opts.quick {
        quick_configs = opts.configs.iter().map(quick_config).collect();
        &quick_configs
    } else {
        &opts.configs
    };
    let rates: Vec<u32> = configs.iter().map(|c| c.sample_rate_hz).collect();
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
    progress.begin(configs.len() * folds.len() * seeds.len());
    // Each configuration's test decisions, for the twin table.
    let mut decided: Vec<(&ExperimentConfig, super::twins::Decisions)> = Vec::new();
    // Every configuration's features, side by side (each is one thread's
    // work; the cache is safe for concurrent writers).
    for cfg in configs {
        progress.note(&format!("{}: preparing features ...", cfg.name));
    }
    let prepared: Vec<Result<Prepared, ExperimentError>> = configs
        .par_iter()
        .map(|cfg| prepare(&corpora[&cfg.sample_rate_hz], cfg, cache.as_ref()))
        .collect();
    // The studies train many variants: they use the first seed only, which
    // keeps the default run within a few minutes (rows record n_seeds).
    let study_seeds = &seeds[..seeds.len().min(1)];
    let classic_cfgs: Vec<&ExperimentConfig> =
        configs.iter().filter(|c| !c.has_learned_stage()).collect();
    let mut jobs: Vec<Job> = Vec::new();
    for (c, p) in prepared.iter().enumerate() {
        if p.is_ok() {
            for f in 0..folds.len() {
                jobs.extend(seeds.iter().map(|&seed| Job::Run {
                    config: c,
                    fold: f,
                    seed,
                }));
            }
        }
    }
    let deep_base = classic_cfgs.first().copied().filter(|_| opts.deep_vs_fat);
    if let (Some(_), Some(_)) = (deep_base, folds.first()) {
        jobs.push(Job::DeepVsFat);
    }
    let ablate_base = opts
        .ablate
        .as_ref()
        .and_then(|name| configs.iter().find(|c| &c.name == name));
    if ablate_base.is_some() {
        jobs.push(Job::Ablation);
    }
    // Longest first, so that the two cores finish together (the order of
    // the report does not depend on this: results are gathered by index).
    jobs.sort_by(|a, b| {
        let cost = |j: &Job| match *j {
            Job::Run { config, .. } => run_cost(&configs[config]),
            Job::DeepVsFat => deep_base.map_or(0.0, deep_vs_fat_cost),
            Job::Ablation => ablate_base.map_or(0.0, |b| 8.0 * run_cost(b) * folds.len() as f64),
        };
        cost(b).total_cmp(&cost(a))
    });
    let outcomes = run_jobs(&jobs, |job| match *job {
        Job::Run { config, fold, seed } => {
            let cfg = &configs[config];
            let tag = RunTag {
                config: cfg.name.clone(),
                fold: fold + 1,
                n_folds: folds.len(),
                fold_name: folds[fold].name.clone(),
                seed,
                max_epochs: cfg.train.epochs,
            };
            let p = prepared[config]
                .as_ref()
                .expect("jobs only for prepared configurations");
            progress.run_started(&tag);
            let mut observer = |r: &TrainEpoch, max: usize| progress.epoch(&tag, r, max);
            let out = run_one(
                &corpora[&cfg.sample_rate_hz],
                cfg,
                p,
                &folds[fold],
                seed,
                &mut observer,
            );
            progress.run_finished(&tag, out.as_ref());
            Outcome::Run(out)
        }
        Job::DeepVsFat => {
            let base = deep_base.expect("deep-vs-fat job has a base");
            progress.note(&format!("deep versus fat on {} ...", base.name));
            Outcome::DeepVsFat(super::studies::deep_vs_fat(
                &corpora[&base.sample_rate_hz],
                base,
                &folds[0],
                study_seeds,
            ))
        }
        Job::Ablation => {
            let base = ablate_base.expect("ablation job has a base");
            progress.note(&format!("ablation of {} ...", base.name));
            Outcome::Ablation(super::studies::ablation(
                &corpora[&base.sample_rate_hz],
                base,
                &folds,
                study_seeds,
            ))
        }
    });
    let mut runs: BTreeMap<(usize, usize, u64), Result<RunOutput, ExperimentError>> =
        BTreeMap::new();
    for (job, outcome) in jobs.iter().zip(outcomes) {
        match (job, outcome) {
            (&Job::Run { config, fold, seed }, Outcome::Run(out)) => {
                runs.insert((config, fold, seed), out);
            }
            (Job::DeepVsFat, Outcome::DeepVsFat(r)) => match r {
                Ok(rows) => report.deep_vs_fat = rows,
                Err(e) => failures.push(format!("deep versus fat: {e}")),
            },
            (Job::Ablation, Outcome::Ablation(r)) => match r {
                Ok(rows) => report.ablation = rows,
                Err(e) => failures.push(format!("ablation: {e}")),
            },
            _ => unreachable!("each job gives its own kind of outcome"),
        }
    }
    if let (Some(name), None) = (&opts.ablate, ablate_base) {
        failures.push(format!("ablation: no configuration named '{name}'"));
    }
    for (c, (cfg, prepared)) in configs.iter().zip(prepared).enumerate() {
        let corpus = &corpora[&cfg.sample_rate_hz];
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => {
                progress.note(&format!("{}: failed: {e}", cfg.name));
                failures.push(format!("{}: {e}", cfg.name));
                continue;
            }
        };
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
        for f in 0..folds.len() {
            for &seed in &seeds {
                let out = match runs.remove(&(c, f, seed)).expect("every run was scheduled") {
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
    progress.end();
    Ok((report, failures))
}

/// One unit of `compare`'s work, scheduled on the shared pool.
enum Job {
    /// One configuration (index into `CompareOptions::configs`) on one
    /// fold with one seed.
    Run {
        config: usize,
        fold: usize,
        seed: u64,
    },
    /// The deep-versus-fat study (its 8 variants run side by side inside).
    DeepVsFat,
    /// The ablation study.
    Ablation,
}

enum Outcome {
    Run(Result<RunOutput, ExperimentError>),
    DeepVsFat(Result<Vec<report::DeepVsFatRow>, ExperimentError>),
    Ablation(Result<Vec<report::AblationRow>, ExperimentError>),
}

/// A rough relative cost of one run of `cfg`, only to start the longest
/// work first: networks x training copies x epoch cap, with the learned
/// configurations' front-end work (batches of 32 through the trainable
/// stages) counted as 2 networks.
fn run_cost(cfg: &ExperimentConfig) -> f64 {
    let copies = if cfg.augment.is_active() {
        1 + cfg.augment.copies
    } else {
        1
    };
    let learned = if cfg.has_learned_stage() { 2.0 } else { 1.0 };
    cfg.ensemble.max(1) as f64 * copies as f64 * cfg.train.epochs as f64 * learned
}

/// The deep-versus-fat study's cost in [`run_cost`] units: 8 single
/// networks without augmentation (half of them counted once more for the
/// deeper nets' extra epochs of work).
fn deep_vs_fat_cost(base: &ExperimentConfig) -> f64 {
    8.0 * base.train.epochs as f64
}

/// Runs `jobs` on rayon's pool, each worker taking the next job in list
/// order as soon as it is free (rayon's own splitting would hand each
/// worker a fixed half of the list). Returns the outcomes in list order.
/// A job may use the pool itself (the studies do): its inner tasks run on
/// the same threads, so no second pool is stacked on this one.
fn run_jobs<J: Sync, T: Send>(jobs: &[J], run: impl Fn(&J) -> T + Sync) -> Vec<T> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<T>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let workers = rayon::current_num_threads().min(jobs.len());
    rayon::scope(|s| {
        for _ in 0..workers {
            s.spawn(|_| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                let out = run(job);
                *slots[i].lock().expect("no job panicked holding its slot") = Some(out);
            });
        }
    });
    slots
        .into_iter()
        .map(|m| {
            m.into_inner()
                .expect("no job panicked holding its slot")
                .expect("every job ran")
        })
        .collect()
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
