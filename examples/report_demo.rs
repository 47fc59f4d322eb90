//! Writes the synthetic demo report (HTML, Markdown, JSON) so the renderers
//! can be looked at without running a benchmark.
//!
//! Usage: `cargo run --example report_demo -- [OUT_DIR] [SEED]`
//! (defaults: `reports/demo`, seed 7). The numbers are invented.

use std::path::PathBuf;

use anyhow::{Context, Result};
use speechfront::report::{synthetic::synthetic_report, write_all};

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let out = PathBuf::from(args.next().unwrap_or_else(|| "reports/demo".to_string()));
    let seed: u64 = match args.next() {
        Some(s) => s
            .parse()
            .with_context(|| format!("seed must be an integer, got {s:?}"))?,
        None => 7,
    };
    let report = synthetic_report(seed);
    let paths = write_all(&out, &report)
        .with_context(|| format!("writing the report into {}", out.display()))?;
    println!("{}", paths.html.display());
    println!("{}", paths.markdown.display());
    println!("{}", paths.json.display());
    Ok(())
}
