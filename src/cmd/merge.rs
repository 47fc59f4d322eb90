//! `speechfront merge OUT`: join and check the shards of a sharded
//! `extract` run (see [`speechfront::extract::merge`]).

use anyhow::Context;
use clap::Args;
use speechfront::extract::{self, inputs};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The output folder the shards wrote into.
    pub out: PathBuf,
    /// The run's inputs again (optional): check every one is listed once.
    pub inputs: Vec<PathBuf>,
    /// The run's --inputs-from list again (optional), for the same check.
    #[arg(long, value_name = "FILE")]
    pub inputs_from: Option<PathBuf>,
}

/// Exit 0 when the run is whole, 1 when something is missing or failed.
pub fn run(args: MergeArgs) -> anyhow::Result<ExitCode> {
    let mut paths = args.inputs;
    let mut keyed = Vec::new();
    if let Some(list) = &args.inputs_from {
        let text = if list.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
        } else {
            std::fs::read(list)
        }
        .with_context(|| format!("{}: cannot read input list", list.display()))?;
        let listed = inputs::read_list(&text, list);
        paths.extend(listed.paths);
        keyed = listed.keyed;
    }
    let r = extract::merge(&args.out, &paths, &keyed)?;
    let dir = args.out.display();
    for i in &r.missing_shards {
        eprintln!(
            "{dir}: shard {i}/{} has no manifest (not run, or still running)",
            r.shards
        );
    }
    for i in &r.interrupted_shards {
        eprintln!(
            "{dir}: shard {i}/{} was interrupted (journal left): rerun it",
            r.shards
        );
    }
    for n in &r.other_layouts {
        eprintln!("{dir}: manifests of a {n}-shard run are also here (stale? remove them)");
    }
    for k in &r.duplicate_keys {
        eprintln!("{dir}: key {k} is listed by more than one row");
    }
    for p in &r.stale_rows {
        eprintln!(
            "{}: output made by another configuration than extract.json's",
            p.display()
        );
    }
    for (p, e) in &r.failed {
        eprintln!("{}: failed: {e}", p.display());
    }
    for p in &r.missing_inputs {
        eprintln!("{}: input not in any shard's manifest", p.display());
    }
    println!(
        "merged {} rows from {} shard(s); {} missing shard(s), {} failed, {} missing input(s){}",
        r.rows,
        r.shards,
        r.missing_shards.len(),
        r.failed.len(),
        r.missing_inputs.len(),
        if r.written {
            "; wrote manifest.tsv"
        } else if r.shards > 1 {
            "; nothing written"
        } else {
            " (unsharded: manifest.tsv is the run's own)"
        }
    );
    Ok(if r.complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
