//! `speechfront train` and `speechfront evaluate`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use speechfront::data::{LabelSource, Split};
use speechfront::experiment::classic;
use speechfront::experiment::speaker_norm::SpeakerCmvn;
use speechfront::experiment::{Corpus, ExperimentConfig, TrainedExperiment};
use speechfront::nn::rng_from_seed;
use speechfront::train::Metrics;

/// Arguments of `train`.
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Labelled audio folder.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Experiment configuration.
    #[arg(long, value_name = "FILE.toml")]
    pub config: PathBuf,
    /// Train on the first fold's training part and report its test part
    /// (fsdd | random[:F] | speakers:A,B | loso | manifest). Default: train
    /// on the whole folder.
    #[arg(long)]
    pub split: Option<String>,
    /// Labels: auto | folder | fsdd | regex:PATTERN | manifest:PATH.
    #[arg(long, default_value = "auto")]
    pub labels: String,
    /// Seed of the run.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Where to write the model (one safetensors file).
    #[arg(long, value_name = "FILE")]
    pub model_out: PathBuf,
}

/// Arguments of `evaluate`.
#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// A model written by `train`.
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Labelled audio folder to test on.
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
    /// Labels: auto | folder | fsdd | regex:PATTERN | manifest:PATH.
    #[arg(long, default_value = "auto")]
    pub labels: String,
    /// Print one JSON object on the last line.
    #[arg(long)]
    pub json: bool,
    /// With a speaker-normalised model (`[input] speaker_cmvn`): at most N
    /// of a speaker's utterances share one set of statistics (default: the
    /// model's `[test] speaker_utterances`, 0 = all of them).
    #[arg(long, value_name = "N")]
    pub speaker_utterances: Option<usize>,
}

fn print_metrics(m: &Metrics, classes: &[String], n: usize) {
    println!(
        "accuracy {:.2}% ({n} utterances), macro-F1 {:.4}",
        100.0 * m.accuracy,
        m.macro_f1
    );
    println!("confusion (rows: true, columns: predicted):");
    let w = classes.iter().map(|c| c.len()).max().unwrap_or(1).max(4);
    print!("{:>w$}", "");
    for c in classes {
        print!(" {c:>w$}");
    }
    println!();
    for (c, row) in classes.iter().zip(&m.confusion) {
        print!("{c:>w$}");
        for v in row {
            print!(" {v:>w$}");
        }
        println!();
    }
}

/// Runs `train`.
pub fn train(args: TrainArgs) -> anyhow::Result<ExitCode> {
    let cfg = ExperimentConfig::load(&args.config)?;
    let labels: LabelSource = args
        .labels
        .parse()
        .with_context(|| format!("--labels {}", args.labels))?;
    let corpus = Corpus::load(&args.data, &labels, cfg.sample_rate_hz)?;
    for (p, r) in &corpus.data.skipped {
        eprintln!("{}: skipped: {r}", p.display());
    }
    let (train_idx, test_idx) = match &args.split {
        None => ((0..corpus.data.items.len()).collect::<Vec<_>>(), Vec::new()),
        Some(s) => {
            let split: Split = s.parse().with_context(|| format!("--split {s}"))?;
            let folds = split.folds(&corpus.data, &mut rng_from_seed(args.seed))?;
            let f = folds.into_iter().next().context("the split gave no fold")?;
            (f.train, f.test)
        }
    };
    eprintln!(
        "training {} on {} utterances (seed {})",
        cfg.name,
        train_idx.len(),
        args.seed
    );
    let bar = super::progress::on_terminal().then(|| {
        super::progress::epoch_bar(format!("{} seed {}", cfg.name, args.seed), cfg.train.epochs)
    });
    let mut show = |r: &speechfront::train::EpochRecord, max: usize| {
        if let Some(b) = &bar {
            super::progress::show_epoch(b, r, max);
        }
    };
    let trained = TrainedExperiment::train(&corpus, &cfg, &train_idx, args.seed, &mut show);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut m = trained?;
    let h = m.history();
    eprintln!(
        "stopped after {} epochs (best {})",
        h.epochs.len(),
        h.best_epoch
    );
    if !test_idx.is_empty() {
        let pred = m.predict(&corpus, &test_idx)?;
        let targets = corpus.targets();
        let truth: Vec<usize> = test_idx.iter().map(|&i| targets[i]).collect();
        print_metrics(
            &Metrics::compute(&pred, &truth, corpus.data.classes.len()),
            &corpus.data.classes,
            truth.len(),
        );
    }
    m.save(&args.model_out)?;
    println!("model: {}", args.model_out.display());
    Ok(ExitCode::SUCCESS)
}

/// Utterances per speaker below which speaker-level statistics are noisy:
/// on FSDD's held-out voices, 10 words give most of the gain of all 500.
const FEW_WORDS: usize = 10;

/// For a speaker-normalised model: a warning naming the utterances that
/// have no speaker (each normalised on its own, which the model was not
/// trained for) and the speakers with fewer than [`FEW_WORDS`] utterances;
/// `None` when there are none.
fn few_words_warning(speakers: &[Option<&str>]) -> Option<String> {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut unknown = 0;
    for s in speakers {
        match s {
            Some(name) => *counts.entry(name).or_default() += 1,
            None => unknown += 1,
        }
    }
    let few: Vec<String> = counts
        .iter()
        .filter(|(_, &n)| n < FEW_WORDS)
        .map(|(s, n)| format!("{s} ({n})"))
        .collect();
    let mut parts = Vec::new();
    if unknown > 0 {
        parts.push(format!(
            "{unknown} utterance(s) have no speaker and are normalised on their own"
        ));
    }
    if !few.is_empty() {
        parts.push(format!(
            "speaker(s) with fewer than {FEW_WORDS} utterances: {}",
            few.join(", ")
        ));
    }
    (!parts.is_empty()).then(|| {
        format!(
            "this model normalises each speaker with statistics over their utterances \
             ([input] speaker_cmvn); {}. Accuracy drops with fewer words per speaker \
             (README, sixth round).",
            parts.join("; ")
        )
    })
}

/// Runs `evaluate`.
pub fn evaluate(args: EvaluateArgs) -> anyhow::Result<ExitCode> {
    let mut model = TrainedExperiment::load(&args.model)?;
    if let Some(n) = args.speaker_utterances {
        model.config.test.speaker_utterances = n;
    }
    let cfg = model.config.clone();
    let labels: LabelSource = args
        .labels
        .parse()
        .with_context(|| format!("--labels {}", args.labels))?;
    let corpus = Corpus::load(&args.data, &labels, cfg.sample_rate_hz)?;
    for (p, r) in &corpus.data.skipped {
        eprintln!("{}: skipped: {r}", p.display());
    }
    let classes = model.classes().to_vec();
    let mut keep = Vec::new();
    let mut truth = Vec::new();
    for (i, item) in corpus.data.items.iter().enumerate() {
        match classes.iter().position(|c| *c == item.label) {
            Some(c) => {
                keep.push(i);
                truth.push(c);
            }
            None => eprintln!(
                "{}: skipped: label '{}' unknown to the model",
                item.path.display(),
                item.label
            ),
        }
    }
    anyhow::ensure!(
        !keep.is_empty(),
        "{}: no utterance with a label the model knows",
        args.data.display()
    );
    if cfg.input.speaker_cmvn != SpeakerCmvn::None {
        if let Some(w) = few_words_warning(&classic::item_speakers(&corpus, &keep)) {
            eprintln!("warning: {w}");
        }
    }
    let pred = model.predict(&corpus, &keep)?;
    let metrics = Metrics::compute(&pred, &truth, classes.len());
    print_metrics(&metrics, &classes, truth.len());
    if args.json {
        let obj = serde_json::json!({
            "accuracy": metrics.accuracy,
            "macro_f1": metrics.macro_f1,
            "n": truth.len(),
            "classes": classes,
            "confusion": metrics.confusion,
            "config": cfg.name,
        });
        println!("{obj}");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_words_warning_names_unknown_and_small_speakers() {
        let many: Vec<Option<&str>> = vec![Some("a"); 12];
        assert_eq!(few_words_warning(&many), None);
        let mut mixed = many.clone();
        mixed.extend([Some("b"), Some("b"), None]);
        let w = few_words_warning(&mixed).expect("a warning");
        assert!(w.contains("1 utterance(s) have no speaker"), "{w}");
        assert!(w.contains("b (2)") && !w.contains("a (12)"), "{w}");
    }
}
