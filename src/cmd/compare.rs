//! `speechfront compare` and the no-argument default run.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use speechfront::data::{LabelSource, Split};
use speechfront::experiment::{
    compare_with, config::config_paths, CompareOptions, ExperimentConfig,
};
use speechfront::report::{self, summary::summary_rows};

/// Arguments of `compare`.
#[derive(Args, Debug, Clone)]
pub struct CompareArgs {
    /// Labelled audio folder.
    #[arg(long, value_name = "DIR", default_value = "audio/digits")]
    pub data: PathBuf,
    /// Configuration files or folders of them.
    #[arg(long, value_name = "FILE.toml", num_args = 1.., default_value = "models")]
    pub configs: Vec<PathBuf>,
    /// Seeds per configuration (seed, seed+1, ...).
    #[arg(long, default_value_t = 2)]
    pub seeds: usize,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Split: fsdd | random[:F] | speakers:A,B | loso | loso:K | manifest | none.
    /// The default holds out five voices of the embedded corpus.
    #[arg(long, default_value = "speakers:cak3,gbf2,laf1,nyk4,usm1")]
    pub split: String,
    /// Labels: auto | folder | fsdd | regex:PATTERN | manifest:PATH.
    #[arg(long, default_value = "auto")]
    pub labels: String,
    /// Report folder.
    #[arg(long, value_name = "DIR", default_value = "reports/latest")]
    pub out: PathBuf,
    /// Also train networks of equal parameter budget at depths 1-4, ReLU and
    /// sigmoid, on the first hand-crafted configuration.
    #[arg(long)]
    pub deep_vs_fat: bool,
    /// Also ablate this configuration (remove each ingredient in turn).
    #[arg(long, value_name = "NAME")]
    pub ablate: Option<String>,
    /// The first run's quick profile: ensembles trained as one network, at
    /// most 20 epochs each (the report's title says so). The no-argument run
    /// sets it.
    #[arg(long)]
    pub quick: bool,
    /// Feature cache folder ("none" disables the cache).
    #[arg(long, value_name = "DIR", default_value = "cache/features")]
    pub cache: PathBuf,
}

impl Default for CompareArgs {
    fn default() -> Self {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrap {
            #[command(flatten)]
            args: CompareArgs,
        }
        Wrap::parse_from(["compare"]).args
    }
}

/// Runs `compare`, writes the report, prints the summary table.
pub fn run(args: CompareArgs, command_line: String) -> anyhow::Result<ExitCode> {
    let paths = config_paths(&args.configs)?;
    anyhow::ensure!(
        !paths.is_empty(),
        "no configuration (*.toml) in {:?}",
        args.configs
    );
    let configs: Vec<ExperimentConfig> = paths
        .iter()
        .map(|p| ExperimentConfig::load(p))
        .collect::<Result<_, _>>()?;
    let split: Split = args
        .split
        .parse()
        .with_context(|| format!("--split {}", args.split))?;
    let labels: LabelSource = args
        .labels
        .parse()
        .with_context(|| format!("--labels {}", args.labels))?;
    let cache_dir = (args.cache != Path::new("none")).then(|| args.cache.clone());
    eprintln!(
        "compare: {} configuration(s) x {} seed(s) on {} (split {split})",
        configs.len(),
        args.seeds,
        args.data.display()
    );
    if args.quick {
        eprintln!(
            "compare: {}",
            speechfront::experiment::compare::QUICK_PROFILE
        );
    }
    let opts = CompareOptions {
        data: args.data.clone(),
        labels,
        split,
        configs,
        seeds: args.seeds,
        base_seed: args.seed,
        cache_dir,
        progress: true,
        command_line,
        deep_vs_fat: args.deep_vs_fat,
        ablate: args.ablate.clone(),
        quick: args.quick,
    };
    let progress = super::progress::for_compare();
    let (report, failures) = compare_with(&opts, progress.as_ref())?;
    let written = report::write_all(&args.out, &report)?;
    println!("{}", summary_table(&report));
    if !report.data.skipped.is_empty() {
        println!(
            "skipped {} file(s) (listed in the report)",
            report.data.skipped.len()
        );
    }
    println!("report: {}", written.html.display());
    if !failures.is_empty() {
        eprintln!("{} run(s) failed:", failures.len());
        for f in &failures {
            eprintln!("  {f}");
        }
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// A plain-text summary: one row per configuration.
pub fn summary_table(report: &report::Report) -> String {
    let rows = summary_rows(report);
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(13);
    let mut s = format!(
        "{:<width$}  {:>16}  {:>9}  {:>10}  {:>10}  {:>8}\n",
        "configuration", "accuracy %", "macro-F1", "front end", "classifier", "train s"
    );
    for r in rows {
        let std = if r.accuracy.std.is_finite() {
            format!("{:.2}", 100.0 * r.accuracy.std)
        } else {
            "n/a".into()
        };
        s += &format!(
            "{:<width$}  {:>7.2} ± {:<6}  {:>9.3}  {:>10}  {:>10}  {:>8.1}\n",
            r.name,
            100.0 * r.accuracy.mean,
            std,
            r.macro_f1.mean,
            r.frontend_params,
            r.classifier_params,
            r.train_seconds.mean
        );
    }
    s
}
