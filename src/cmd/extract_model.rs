//! `speechfront extract --model M.safetensors INPUTS --out DIR`: the
//! features of a trained model's front end (its learned stages applied;
//! see [`TrainedExperiment::features`]) for every audio file, one `.npy`
//! per file mirroring the input tree. Bad files are reported and counted;
//! the others are written (temporary name, then rename).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use speechfront::audio::DecodeOptions;
use speechfront::experiment::TrainedExperiment;
use speechfront::extract::{inputs, npy, write_atomic};

/// Runs `extract --model`.
pub fn run(model: &Path, input: &[PathBuf], out: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let mut m = TrainedExperiment::load(model)?;
    let (jobs, bad) = inputs::collect(input);
    let mut failed = bad.len();
    for b in &bad {
        eprintln!("{}: {}", b.input.display(), b.reason);
    }
    let opts = DecodeOptions {
        sample_rate_hz: Some(m.config.sample_rate_hz),
        ..DecodeOptions::default()
    };
    let (mut written, mut skipped) = (0usize, 0usize);
    for job in &jobs {
        let dest = out.join(&job.rel_out);
        if dest.exists() && !force {
            skipped += 1;
            continue;
        }
        let result = speechfront::audio::load(&job.input, &opts)
            .map_err(|e| e.to_string())
            .and_then(|a| {
                if a.samples.is_empty() {
                    return Err("no samples".to_string());
                }
                m.features(&a.samples, Path::new(&job.key))
                    .map_err(|e| e.to_string())
            })
            .and_then(|f| {
                if let Some(dir) = dest.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                }
                write_atomic(&dest, 4 * f.len() + 128, |w| npy::write(w, f.view()))
                    .map_err(|e| format!("{}: {e}", dest.display()))
            });
        match result {
            Ok(()) => written += 1,
            Err(reason) => {
                eprintln!("{}: {reason}", job.input.display());
                failed += 1;
            }
        }
    }
    println!(
        "extracted {written} of {} with {} ({}); {failed} failed; {skipped} skipped (output present)",
        jobs.len(),
        model.display(),
        m.config.name
    );
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
