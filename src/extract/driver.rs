//! The batch loop: decode, compute and write every job on a rayon pool,
//! report each file as it finishes, write the manifest at the end.
//!
//! - `.npy` mode: workers write their own outputs (fully parallel), each
//!   under a temporary name in the same folder, then renamed.
//! - `ark` mode: files are computed in parallel in blocks of a few hundred
//!   and appended in input order, so the archive's bytes do not depend on
//!   `--jobs`. The `.scp` is the commit record: it is rewritten (temporary
//!   name, rename) after the archive, so an interrupted run never lists a
//!   partial entry; bytes an interrupted append left at the end of the
//!   archive are unreferenced. A rerun without `--force` skips keys already
//!   in the `.scp` and appends the rest; `--force` writes a fresh archive.
//! - Dither: each file's generator is seeded from the global seed and the
//!   file's key (blake3), so its numbers do not depend on `--jobs` or on
//!   which other files are in the run.

use super::ark;
use super::config::{ExtractConfig, FrontendPlan, OutputFormat};
use super::inputs::{self, Job};
use super::manifest::{self, Row, Status};
use super::npy;
use crate::audio;
use crate::frontend::Frontend;
use crate::nn::rng_from_seed;
use ndarray::Array2;
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Instant;

/// Name of the archive and index in ark mode.
pub const ARK_NAME: &str = "feats.ark";
/// Name of the index in ark mode.
pub const SCP_NAME: &str = "feats.scp";
/// Name of the manifest.
pub const MANIFEST_NAME: &str = "manifest.tsv";

/// Files computed per block in ark mode (bounds the features held in memory).
const ARK_BLOCK: usize = 256;

/// What happened to one file.
#[derive(Clone, Debug, PartialEq)]
pub enum FileResult {
    /// Written.
    Extracted {
        /// Feature rows.
        frames: usize,
        /// Feature columns.
        dims: usize,
        /// Audio duration (at the rate the features were computed at).
        seconds: f64,
    },
    /// Output present, not recomputed.
    Skipped,
    /// No output; the reason (without the path).
    Failed(String),
}

/// Totals of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Inputs seen (jobs plus inputs that could not become jobs).
    pub total: usize,
    /// Files written in this run.
    pub extracted: usize,
    /// Files skipped because their output exists.
    pub skipped: usize,
    /// Files that failed.
    pub failed: usize,
    /// Seconds of audio extracted in this run.
    pub audio_seconds: f64,
    /// Wall time of the run.
    pub wall_seconds: f64,
}

/// A failure of the run itself (not of one file).
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The output directory, archive or manifest cannot be written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// The worker pool cannot be built.
    #[error("cannot start {jobs} worker threads: {reason}")]
    Pool {
        /// Threads asked for.
        jobs: usize,
        /// rayon's message.
        reason: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ExtractError + '_ {
    move |source| ExtractError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The seed of one file's dither generator.
pub fn file_seed(global: u64, key: &str) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(b"speechfront dither v1");
    h.update(&global.to_le_bytes());
    h.update(key.as_bytes());
    let bytes = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&bytes.as_bytes()[..8]);
    u64::from_le_bytes(first)
}

/// One built front end per sample rate (a failed build is cached too, so a
/// folder of files at an unusable rate reports one reason without retrying).
struct FrontendCache<'a> {
    plan: &'a FrontendPlan,
    built: RwLock<HashMap<u32, Arc<Result<Frontend, String>>>>,
}

impl FrontendCache<'_> {
    fn get(&self, rate_hz: u32) -> Arc<Result<Frontend, String>> {
        if let Some(fe) = self
            .built
            .read()
            .ok()
            .and_then(|m| m.get(&rate_hz).cloned())
        {
            return fe;
        }
        let built = Arc::new(
            self.plan
                .build(rate_hz)
                .map_err(|e| format!("front end at {rate_hz} Hz: {e}")),
        );
        match self.built.write() {
            Ok(mut m) => m.entry(rate_hz).or_insert(built).clone(),
            Err(_) => built,
        }
    }
}

/// Features and seconds of audio of one file, or the reason it failed.
type Computed = Result<(Array2<f32>, f64), String>;

/// Features of one file, or the reason it failed. A WAV file at its own
/// rate is decoded block by block into the front end's stream, so only a
/// window of its samples is ever held (see [`crate::frontend::stream`]).
fn compute(job: &Job, cfg: &ExtractConfig, cache: &FrontendCache<'_>) -> Computed {
    let reason = |e: audio::AudioError| e.kind.to_string();
    let mut input = audio::open(&job.input, &cfg.decode).map_err(reason)?;
    let seconds = input.seconds();
    let fe = cache.get(input.sample_rate_hz);
    let fe = match fe.as_ref() {
        Ok(fe) => fe,
        Err(e) => {
            // A broken file reports its own fault first, as when it was
            // decoded whole before the front end was looked up.
            input.into_audio().map_err(reason)?;
            return Err(e.clone());
        }
    };
    let mut rng = rng_from_seed(file_seed(cfg.seed, &job.key));
    let features = match input.decoded() {
        Some(samples) => fe.compute(samples, &mut rng),
        None => {
            let mut stream = fe.stream(input.len);
            while stream.wants_samples() && input.read_block(stream.buffer()).map_err(reason)? > 0 {
                stream.process(&mut rng);
            }
            stream.finish(&mut rng).map_err(|e| e.to_string())?
        }
    };
    Ok((features, seconds))
}

/// This process's id, asked of the kernel once (it names temporary files).
fn process_id() -> u32 {
    static PID: OnceLock<u32> = OnceLock::new();
    *PID.get_or_init(std::process::id)
}

/// Outputs already under `out_dir` (relative paths), listed with one
/// directory walk instead of one `stat` per job.
fn existing_outputs(out_dir: &Path) -> HashSet<PathBuf> {
    walkdir::WalkDir::new(out_dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.path().strip_prefix(out_dir).ok().map(Path::to_path_buf))
        .collect()
}

/// Write through a temporary name in the same folder, then rename; the
/// temporary file is removed on error. No fsync: this protects against an
/// interrupted process, not against power loss, and fsync per file would
/// cost more than the extraction.
/// `size_hint` (bytes) sizes the write buffer, capped at 64 KiB.
pub fn write_atomic(
    path: &Path,
    size_hint: usize,
    write: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", process_id()));
    let result = (|| {
        let capacity = size_hint.clamp(64, 1 << 16);
        let mut w = BufWriter::with_capacity(capacity, File::create(&tmp)?);
        write(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Run the extraction. `on_file` is called once per input (from worker
/// threads, in completion order) with the input path and its result; the
/// caller prints failures and drives a progress bar with it.
///
/// # Errors
/// Only run-level failures (output directory, archive or manifest not
/// writable, thread pool); per-file failures are in the results.
pub fn run(
    cfg: &ExtractConfig,
    on_file: &(dyn Fn(&Path, &FileResult) + Sync),
) -> Result<Summary, ExtractError> {
    let start = Instant::now();
    let (jobs, bad) = inputs::collect(&cfg.inputs);
    fs::create_dir_all(&cfg.out_dir).map_err(io_err(&cfg.out_dir))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs)
        .build()
        .map_err(|e| ExtractError::Pool {
            jobs: cfg.jobs,
            reason: e.to_string(),
        })?;
    let cache = FrontendCache {
        plan: &cfg.frontend,
        built: RwLock::new(HashMap::new()),
    };
    let mut results: Vec<(PathBuf, FileResult)> = Vec::with_capacity(jobs.len() + bad.len());
    for b in bad {
        let r = FileResult::Failed(b.reason);
        on_file(&b.input, &r);
        results.push((b.input, r));
    }
    let done = match cfg.format {
        OutputFormat::Npy => run_npy(cfg, &jobs, &cache, &pool, on_file)?,
        OutputFormat::Ark => run_ark(cfg, &jobs, &cache, &pool, on_file)?,
    };
    results.extend(done);
    write_manifest(&cfg.out_dir, &results)?;
    let mut summary = Summary {
        total: results.len(),
        extracted: 0,
        skipped: 0,
        failed: 0,
        audio_seconds: 0.0,
        wall_seconds: 0.0,
    };
    for (_, r) in &results {
        match r {
            FileResult::Extracted { seconds, .. } => {
                summary.extracted += 1;
                summary.audio_seconds += seconds;
            }
            FileResult::Skipped => summary.skipped += 1,
            FileResult::Failed(_) => summary.failed += 1,
        }
    }
    summary.wall_seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

fn run_npy(
    cfg: &ExtractConfig,
    jobs: &[Job],
    cache: &FrontendCache<'_>,
    pool: &rayon::ThreadPool,
    on_file: &(dyn Fn(&Path, &FileResult) + Sync),
) -> Result<Vec<(PathBuf, FileResult)>, ExtractError> {
    // Create the mirrored folders once, up front, instead of per file.
    let folders: BTreeSet<PathBuf> = jobs
        .iter()
        .filter_map(|j| cfg.out_dir.join(&j.rel_out).parent().map(Path::to_path_buf))
        .collect();
    for f in &folders {
        fs::create_dir_all(f).map_err(io_err(f))?;
    }
    let existing = if cfg.force {
        HashSet::new()
    } else {
        existing_outputs(&cfg.out_dir)
    };
    let one = |job: &Job| -> (PathBuf, FileResult) {
        let out = cfg.out_dir.join(&job.rel_out);
        let result = if existing.contains(&job.rel_out) {
            FileResult::Skipped
        } else {
            match compute(job, cfg, cache) {
                Ok((features, seconds)) => {
                    let size = 128 + 4 * features.len();
                    match write_atomic(&out, size, |w| npy::write(w, features.view())) {
                        Ok(()) => FileResult::Extracted {
                            frames: features.nrows(),
                            dims: features.ncols(),
                            seconds,
                        },
                        Err(e) => {
                            FileResult::Failed(format!("cannot write {}: {e}", out.display()))
                        }
                    }
                }
                Err(reason) => FileResult::Failed(reason),
            }
        };
        on_file(&job.input, &result);
        (job.input.clone(), result)
    };
    Ok(pool.install(|| jobs.par_iter().map(one).collect()))
}

fn run_ark(
    cfg: &ExtractConfig,
    jobs: &[Job],
    cache: &FrontendCache<'_>,
    pool: &rayon::ThreadPool,
    on_file: &(dyn Fn(&Path, &FileResult) + Sync),
) -> Result<Vec<(PathBuf, FileResult)>, ExtractError> {
    let ark_path = cfg.out_dir.join(ARK_NAME);
    let scp_path = cfg.out_dir.join(SCP_NAME);
    let ark_abs = fs::canonicalize(&cfg.out_dir)
        .map_err(io_err(&cfg.out_dir))?
        .join(ARK_NAME);
    let ark_name = ark_abs.to_string_lossy().into_owned();
    // Existing entries survive a rerun without --force.
    let mut scp_lines: Vec<String> = Vec::new();
    let appending = !cfg.force && scp_path.exists() && ark_path.exists();
    if appending {
        let text = fs::read_to_string(&scp_path).map_err(io_err(&scp_path))?;
        scp_lines.extend(text.lines().map(|l| format!("{l}\n")));
    }
    let existing: BTreeSet<String> = scp_lines
        .iter()
        .filter_map(|l| ark::parse_scp_line(l).map(|(k, _, _)| k.to_string()))
        .collect();
    let tmp_ark = cfg.out_dir.join(format!(".{ARK_NAME}.tmp{}", process_id()));
    let target = if appending { &ark_path } else { &tmp_ark };
    let file = if appending {
        fs::OpenOptions::new().append(true).open(target)
    } else {
        File::create(target)
    }
    .map_err(io_err(target))?;
    let mut offset = file.metadata().map_err(io_err(target))?.len();
    let mut w = BufWriter::with_capacity(1 << 16, file);
    let mut results = Vec::with_capacity(jobs.len());
    for block in jobs.chunks(ARK_BLOCK) {
        let computed: Vec<Option<Computed>> = pool.install(|| {
            block
                .par_iter()
                .map(|job| {
                    (cfg.force || !existing.contains(&job.key)).then(|| compute(job, cfg, cache))
                })
                .collect()
        });
        for (job, c) in block.iter().zip(computed) {
            let result = match c {
                None => FileResult::Skipped,
                Some(Err(reason)) => FileResult::Failed(reason),
                Some(Ok((features, seconds))) => {
                    let marker = ark::write_entry(&mut w, offset, &job.key, features.view())
                        .map_err(io_err(target))?;
                    offset += ark::entry_len(&job.key, features.nrows(), features.ncols());
                    scp_lines.push(ark::scp_line(&job.key, &ark_name, marker));
                    FileResult::Extracted {
                        frames: features.nrows(),
                        dims: features.ncols(),
                        seconds,
                    }
                }
            };
            on_file(&job.input, &result);
            results.push((job.input.clone(), result));
        }
    }
    w.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .map_err(io_err(target))?;
    if !appending {
        fs::rename(&tmp_ark, &ark_path).map_err(io_err(&ark_path))?;
    }
    scp_lines.sort();
    write_atomic(&scp_path, 1 << 16, |w| {
        scp_lines.iter().try_for_each(|l| w.write_all(l.as_bytes()))
    })
    .map_err(io_err(&scp_path))?;
    Ok(results)
}

/// Write `manifest.tsv`; skipped rows keep the previous manifest's numbers.
fn write_manifest(out_dir: &Path, results: &[(PathBuf, FileResult)]) -> Result<(), ExtractError> {
    let path = out_dir.join(MANIFEST_NAME);
    let previous = fs::read_to_string(&path)
        .map(|t| manifest::parse(&t))
        .unwrap_or_default();
    let rows: Vec<Row> = results
        .iter()
        .map(|(input, r)| {
            let input = input.to_string_lossy().into_owned();
            match r {
                FileResult::Extracted {
                    frames,
                    dims,
                    seconds,
                } => Row {
                    input,
                    status: Status::Ok,
                    frames: Some(*frames),
                    dims: Some(*dims),
                    seconds: Some(*seconds),
                    error: String::new(),
                },
                FileResult::Skipped => {
                    let old = previous.get(&input);
                    Row {
                        frames: old.and_then(|o| o.frames),
                        dims: old.and_then(|o| o.dims),
                        seconds: old.and_then(|o| o.seconds),
                        input,
                        status: Status::Skipped,
                        error: String::new(),
                    }
                }
                FileResult::Failed(reason) => Row {
                    input,
                    status: Status::Failed,
                    frames: None,
                    dims: None,
                    seconds: None,
                    error: reason.clone(),
                },
            }
        })
        .collect();
    let text = manifest::render(&rows);
    write_atomic(&path, text.len(), |w| w.write_all(text.as_bytes())).map_err(io_err(&path))
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
