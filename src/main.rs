//! The `speechfront` command line: parse, then [`run`]. Each subcommand is a
//! variant of [`Command`] with its own argument struct and handler, so
//! `train`, `evaluate` and `compare` slot in next to `extract`.

mod cmd;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use speechfront::extract::{self, ExtractFlags, FileResult, OutputFormat, Shard};
use speechfront::frontend::{Feature, Preset};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Speech features (Kaldi- and librosa-exact MFCC/fbank) with a learnable front end.
#[derive(Parser, Debug)]
#[command(name = "speechfront", version, about)]
struct Cli {
    /// Without a command: `compare` on the embedded corpus (audio/digits)
    /// with the configurations in models/, report under reports/latest.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Extract features from audio files and folders into .npy files or a Kaldi archive.
    Extract(ExtractArgs),
    /// Train one configuration on a labelled folder and save the model.
    Train(cmd::model::TrainArgs),
    /// Test a saved model on a labelled folder.
    Evaluate(cmd::model::EvaluateArgs),
    /// Train and test every configuration with every seed; write a report.
    Compare(cmd::compare::CompareArgs),
    /// Join the shard manifests (and .scp files) of `extract --shard` runs; check none is missing.
    Merge(cmd::merge::MergeArgs),
}

/// Arguments of `extract` (raw; validated by `ExtractFlags::resolve`).
#[derive(Args, Debug)]
struct ExtractArgs {
    /// Audio files or folders (walked recursively for .wav .flac .mp3 .ogg).
    #[arg(required_unless_present = "inputs_from")]
    inputs: Vec<PathBuf>,
    /// Output directory; mirrors the input tree.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Preset whose defaults start the options [default: kaldi].
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    /// Feature to compute [default: config, else mfcc].
    #[arg(long, value_enum)]
    feature: Option<Feature>,
    /// Dither standard deviation (on the preset's sample scale); 0 = deterministic.
    #[arg(long, value_name = "X")]
    dither: Option<f32>,
    /// TOML file with [frontend] and [audio] tables (flags override it).
    #[arg(long, value_name = "FILE.toml")]
    config: Option<PathBuf>,
    /// Append delta and delta-delta features.
    #[arg(long)]
    deltas: bool,
    /// Per-utterance cepstral mean normalisation.
    #[arg(long)]
    cmvn: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "npy")]
    format: OutputFormat,
    /// Worker threads (0 = one per core).
    #[arg(long, default_value_t = 0, value_name = "N")]
    jobs: usize,
    /// Recompute every output, also into a folder made by another configuration.
    #[arg(long)]
    force: bool,
    /// Resample every file to this rate (Hz) [default: each file's own rate].
    #[arg(long, value_name = "HZ")]
    sample_rate: Option<u32>,
    /// Keep only this channel (0-based) instead of averaging all channels.
    #[arg(long, value_name = "N")]
    channel: Option<usize>,
    /// Global seed for dither (each file's seed derives from it and the file's key).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// A model written by `train`: write its trained front end's features
    /// (learned stages applied) instead of a preset's; the front-end flags
    /// are not used then.
    #[arg(long, value_name = "M.safetensors")]
    model: Option<PathBuf>,
    /// Also extract the inputs listed in FILE: paths one per line, or a Kaldi
    /// wav.scp (`*.scp`: `utt-id path`, the id becomes the key); `-` = stdin.
    #[arg(long, value_name = "FILE")]
    inputs_from: Option<PathBuf>,
    /// Extract only shard I of N (0-based; by a stable hash of each input's key).
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
}

impl From<ExtractArgs> for ExtractFlags {
    fn from(a: ExtractArgs) -> Self {
        ExtractFlags {
            inputs: a.inputs,
            out_dir: a.out,
            preset: a.preset,
            feature: a.feature,
            dither: a.dither,
            config: a.config,
            deltas: a.deltas,
            cmvn: a.cmvn,
            format: a.format,
            jobs: a.jobs,
            force: a.force,
            sample_rate: a.sample_rate,
            channel: a.channel,
            seed: a.seed,
            inputs_from: a.inputs_from,
            shard: a.shard.unwrap_or_default(),
        }
    }
}

fn main() -> ExitCode {
    // Output piped into `head` and the like: end quietly when the reader
    // goes away (the default for command-line tools), instead of Rust's
    // panic on the failed write. Files being written are finished through
    // temporary names and renames, so an interrupted run leaves none
    // half-written.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE at start-up,
    // before any thread exists; no handler code is involved.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Dispatch a parsed command line. `Ok(code)` is 0 on full success, 1 when
/// some inputs failed; `Err` is a fatal error (exit status 2).
fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let line = std::env::args().collect::<Vec<_>>().join(" ");
    match cli.command {
        Some(Command::Extract(args)) => run_extract(args),
        Some(Command::Train(args)) => cmd::model::train(args),
        Some(Command::Evaluate(args)) => cmd::model::evaluate(args),
        Some(Command::Compare(args)) => cmd::compare::run(args, line),
        Some(Command::Merge(args)) => cmd::merge::run(args),
        None => {
            // The main job: every configuration plus the deep-vs-fat study.
            // The ablation of the default (a 3-network ensemble per variant)
            // would more than double the run time; it is one flag away
            // (`compare --ablate default`).
            let args = cmd::compare::CompareArgs {
                deep_vs_fat: true,
                quick: true,
                ..cmd::compare::CompareArgs::default()
            };
            cmd::compare::run(args, line)
        }
    }
}

fn run_extract(args: ExtractArgs) -> anyhow::Result<ExitCode> {
    if let Some(model) = &args.model {
        if args.shard.is_some() || args.inputs_from.is_some() {
            anyhow::bail!(
                "extract --model takes its inputs as arguments; --shard and --inputs-from apply to preset extraction only for now"
            );
        }
        return cmd::extract_model::run(model, &args.inputs, &args.out, args.force);
    }
    let config = ExtractFlags::from(args)
        .resolve()
        .context("invalid extract configuration")?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {pos} files [{elapsed_precise}] {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    });
    let on_file = |input: &Path, result: &FileResult| {
        if let FileResult::Failed(reason) = result {
            let line = format!("{}: {reason}", input.display());
            match &bar {
                Some(b) => b.println(line),
                None => eprintln!("{line}"),
            }
        }
        if let Some(b) = &bar {
            b.inc(1);
        }
    };
    let summary = extract::run(&config, &on_file)?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let speed = if summary.wall_seconds > 0.0 {
        summary.audio_seconds / summary.wall_seconds
    } else {
        0.0
    };
    println!(
        "extracted {} of {}; {} failed; {} skipped (input and configuration unchanged); \
         {} recomputed (input changed or output missing); \
         {:.1} s of audio in {:.3} s wall ({:.0}x real time)",
        summary.extracted,
        summary.total,
        summary.failed,
        summary.skipped,
        summary.recomputed,
        summary.audio_seconds,
        summary.wall_seconds,
        speed
    );
    Ok(if summary.failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
