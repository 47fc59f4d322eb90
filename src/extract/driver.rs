//! The batch loop: decide what is up to date, then decode, compute and
//! write every other job on a rayon pool, report each file as it finishes,
//! write the manifest at the end.
//!
//! Resume that cannot lie (see [`super::record`] and [`super::manifest`]):
//! the folder's `extract.json` names the configuration that made it, a run
//! under another one stops unless `--force`, and each manifest row records
//! the configuration fingerprint and the input's identity (size,
//! modification time, BLAKE3 for inputs up to [`HASH_LIMIT`] bytes). An
//! output is skipped only when a row of this configuration names it, the
//! input's size and time match (or its time moved and its hash still
//! matches), and the output is there with the size (npy) or the entry header
//! (ark) the row says. Anything else is recomputed, and the manifest's
//! `action` column says why.
//!
//! - `.npy` mode: workers write their own outputs (fully parallel), each
//!   under a temporary name in the same folder, then renamed; the row goes
//!   to the journal after the rename.
//! - `ark` mode: files are computed in parallel in blocks of a few hundred
//!   and appended in input order, so the archive's bytes do not depend on
//!   `--jobs`. After each block the archive is flushed and the block's rows
//!   journalled; the `.scp` is written from the rows at the end (temporary
//!   name, rename), so it never lists a partial entry. Bytes an interrupted
//!   append left at the end of the archive are unreferenced; `--force`
//!   writes a fresh archive (after removing the old `.scp` and manifest, so
//!   nothing points into the archive while it is rewritten).
//! - Interrupted runs: temporary files of this shard's outputs are removed
//!   at the start of the next run; the journal's rows are trusted like the
//!   manifest's.
//! - Dither: each file's generator is seeded from the global seed and the
//!   file's key (blake3), so its numbers do not depend on `--jobs` or on
//!   which other files are in the run.

use super::ark;
use super::config::{ExtractConfig, FrontendPlan, OutputFormat};
use super::inputs::{self, BadInput, Job};
use super::manifest::{self, Action, InputId, Row, Status};
use super::names::{escape, escape_os, os_bytes, os_from_bytes};
use super::npy;
use super::record::{self, Record};
use crate::audio;
use crate::frontend::Frontend;
use crate::nn::rng_from_seed;
use ndarray::Array2;
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Instant, UNIX_EPOCH};

/// Name of the archive and index in ark mode.
pub const ARK_NAME: &str = "feats.ark";
/// Name of the index in ark mode.
pub const SCP_NAME: &str = "feats.scp";
/// Name of the manifest.
pub const MANIFEST_NAME: &str = "manifest.tsv";

/// Files computed per block in ark mode (bounds the features held in memory).
const ARK_BLOCK: usize = 256;

/// Inputs up to this size (bytes) get a content hash in their row: for
/// them it costs a few per cent of the extraction at most (FSDD's files are
/// 5-20 KB), and a touched file is then recognised as unchanged. Larger
/// files are identified by size and modification time only.
pub const HASH_LIMIT: u64 = 256 * 1024;

/// Journal bytes buffered before one append (about 250 rows): a killed run
/// loses at most that many rows' records, which the rerun recomputes.
const JOURNAL_FLUSH: usize = 32 * 1024;

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
    /// Files skipped because their output is proved up to date.
    pub skipped: usize,
    /// Of the extracted files, those that replaced an output (input
    /// changed, output missing or damaged, output without a record).
    pub recomputed: usize,
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
    /// The folder was made by another configuration (and no `--force`).
    #[error(
        "{}: made by another configuration ({old}) than this run's ({new}){diff}; \
         rerun with --force to recompute into it, or choose another --out",
        dir.display()
    )]
    OtherConfiguration {
        /// The output folder.
        dir: PathBuf,
        /// The folder's configuration, described.
        old: String,
        /// This run's, described.
        new: String,
        /// `; first difference: path: a -> b`.
        diff: String,
    },
    /// The record of the configuration cannot be made.
    #[error("extraction configuration: {0}")]
    Record(String),
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

/// `dir/.NAME.tmpPID` for `dir/NAME` (bytes of the name kept).
fn temp_path(path: &Path) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(format!(".tmp{}", process_id()));
    path.with_file_name(name)
}

/// The file `name` (`.NAME.tmpPID`) is a temporary of.
fn temp_target(name: &[u8]) -> Option<Vec<u8>> {
    let rest = name.strip_prefix(b".")?;
    let at = rest.windows(4).rposition(|w| w == b".tmp")?;
    let pid = &rest[at + 4..];
    (!pid.is_empty() && pid.iter().all(u8::is_ascii_digit)).then(|| rest[..at].to_vec())
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
    let tmp = temp_path(path);
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

/// Modification time in nanoseconds since the epoch (negative before it).
fn mtime_ns(meta: &fs::Metadata) -> i128 {
    match meta.modified() {
        Ok(t) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_nanos() as i128,
            Err(e) => -(e.duration().as_nanos() as i128),
        },
        Err(_) => 0,
    }
}

/// BLAKE3 of a file's contents.
fn hash_file(path: &Path) -> io::Result<[u8; 32]> {
    let mut h = blake3::Hasher::new();
    h.update_reader(File::open(path)?)?;
    Ok(*h.finalize().as_bytes())
}

thread_local! {
    /// A worker's reusable buffer: input bytes to hash, `.npy` bytes to write.
    static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The identity of `path` now, with one `open`, one `fstat` and (for a
/// file up to [`HASH_LIMIT`] bytes, hashed when `hash`) one `read` into the
/// worker's reused buffer: four system calls, where `metadata` plus a
/// hashing reader took five and allocated.
///
/// Called before the input is decoded: should the file change in between,
/// the row records the older identity, which the next run sees differ from
/// the file's and so recomputes (recording it after decoding could pair
/// new identity with old features).
fn identify(path: &Path, hash: bool) -> io::Result<InputId> {
    let mut file = File::open(path)?;
    let meta = file.metadata()?;
    let size = meta.len();
    let blake3 = if hash && size <= HASH_LIMIT {
        SCRATCH.with(|buf| -> io::Result<Option<[u8; 32]>> {
            let mut buf = buf.borrow_mut();
            // Plain `read` calls up to the size fstat gave: `read_to_end`
            // would add an fstat, an lseek and a read that only sees EOF.
            // A file that grew since is hashed as far as its old size and
            // recorded with that size, so the next run sees it differ.
            let want = size as usize;
            buf.clear();
            buf.resize(want, 0);
            let mut got = 0;
            while got < want {
                match io::Read::read(&mut file, &mut buf[got..]) {
                    Ok(0) => break,
                    Ok(n) => got += n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            buf.truncate(got);
            Ok(Some(*blake3::hash(&buf).as_bytes()))
        })?
    } else {
        None
    };
    Ok(InputId {
        size: if blake3.is_some() {
            SCRATCH.with(|b| b.borrow().len() as u64)
        } else {
            size
        },
        mtime_ns: mtime_ns(&meta),
        blake3,
    })
}

/// Write a `.npy` of `features` to `path` through a temporary name: the
/// whole file is assembled in the worker's reused buffer and handed to the
/// kernel in one `write` (create, write, close, rename: four system calls,
/// no allocation once the buffer has grown).
fn write_npy_atomic(path: &Path, features: ndarray::ArrayView2<'_, f32>) -> io::Result<()> {
    SCRATCH.with(|buf| {
        let mut buf = buf.borrow_mut();
        buf.clear();
        npy::append(&mut buf, features);
        let tmp = temp_path(path);
        let result = File::create(&tmp)
            .and_then(|mut f| f.write_all(&buf))
            .and_then(|()| fs::rename(&tmp, path));
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    })
}

/// The names of one shard's files in the output folder.
struct Names {
    manifest: PathBuf,
    journal: PathBuf,
    ark: PathBuf,
    scp: PathBuf,
    /// The archive's file name (the manifest's `output` column holds
    /// `ARK_FILE:OFFSET`).
    ark_file: String,
}

impl Names {
    fn of(cfg: &ExtractConfig) -> Names {
        let manifest = cfg.shard.file_name("manifest", "tsv");
        let ark_file = cfg.shard.file_name("feats", "ark");
        Names {
            journal: cfg.out_dir.join(format!("{manifest}.journal")),
            manifest: cfg.out_dir.join(manifest),
            ark: cfg.out_dir.join(&ark_file),
            scp: cfg.out_dir.join(cfg.shard.file_name("feats", "scp")),
            ark_file,
        }
    }
}

/// Rows of the shard's manifest and journal, by key (journal rows win).
fn previous_rows(names: &Names) -> HashMap<String, Row> {
    let mut rows = Vec::new();
    if let Ok(text) = fs::read_to_string(&names.manifest) {
        rows.extend(manifest::parse(&text));
    }
    if let Ok(text) = fs::read_to_string(&names.journal) {
        // Only whole lines: an interrupted append may have torn the last.
        let whole = text.rfind('\n').map_or("", |i| &text[..=i]);
        rows.extend(manifest::parse(whole));
    }
    manifest::by_key(rows)
}

/// Rows appended to `<manifest>.journal` in batches while the run goes.
struct Journal {
    inner: Mutex<(File, String)>,
    path: PathBuf,
}

impl Journal {
    fn open(path: &Path) -> Result<Journal, ExtractError> {
        let file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io_err(path))?;
        Ok(Journal {
            inner: Mutex::new((file, String::with_capacity(JOURNAL_FLUSH + 1024))),
            path: path.to_path_buf(),
        })
    }

    fn push(&self, rows: &[&Row]) -> Result<(), ExtractError> {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (file, buf) = &mut *guard;
        for r in rows {
            manifest::render_row(r, buf);
        }
        if buf.len() >= JOURNAL_FLUSH {
            file.write_all(buf.as_bytes()).map_err(io_err(&self.path))?;
            buf.clear();
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), ExtractError> {
        let mut guard = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (file, buf) = &mut *guard;
        file.write_all(buf.as_bytes()).map_err(io_err(&self.path))?;
        buf.clear();
        Ok(())
    }
}

/// What one input came to: the callback's view and its manifest row.
struct Outcome {
    result: FileResult,
    row: Row,
}

/// Everything a worker needs besides its job.
struct Ctx<'a> {
    cfg: &'a ExtractConfig,
    cache: FrontendCache<'a>,
    previous: HashMap<String, Row>,
    row_key: String,
    journal: Journal,
    on_file: &'a (dyn Fn(&Path, &FileResult) + Sync),
}

/// Why a job is computed, or the row that proves its output up to date.
enum Decision {
    Compute(Action),
    Skip(Row),
}

impl Ctx<'_> {
    /// Decide for `job`; `output_ok(row)` checks that the output a
    /// matching row names is really there.
    fn decide(
        &self,
        job: &Job,
        output: &OsString,
        present: bool,
        output_ok: impl Fn(&Row) -> bool,
    ) -> Decision {
        if self.cfg.force {
            return Decision::Compute(Action::Forced);
        }
        let unrecorded = if present {
            Action::Unrecorded
        } else {
            Action::New
        };
        let Some(row) = self.previous.get(&job.key).filter(|r| {
            r.status != Status::Failed
                && r.config == self.row_key
                && (self.cfg.format == OutputFormat::Ark || &r.output == output)
        }) else {
            return Decision::Compute(unrecorded);
        };
        let (Some(then), Ok(meta)) = (row.id, fs::metadata(&job.input)) else {
            return Decision::Compute(Action::InputChanged);
        };
        if meta.len() != then.size {
            return Decision::Compute(Action::InputChanged);
        }
        let now_ns = mtime_ns(&meta);
        let action = if now_ns == then.mtime_ns {
            Action::Unchanged
        } else {
            match then.blake3 {
                Some(h) if hash_file(&job.input).ok() == Some(h) => Action::UnchangedContent,
                _ => return Decision::Compute(Action::InputChanged),
            }
        };
        if !output_ok(row) {
            return Decision::Compute(Action::OutputMissing);
        }
        let mut kept = row.clone();
        kept.status = Status::Skipped;
        kept.action = Some(action);
        if let Some(id) = kept.id.as_mut() {
            id.mtime_ns = now_ns;
        }
        Decision::Skip(kept)
    }

    /// The row of a computed (or failed) job.
    fn row(
        &self,
        job: &Job,
        output: OsString,
        action: Action,
        result: &FileResult,
        id: Option<InputId>,
    ) -> Row {
        let mut row = Row {
            input: job.input.clone().into_os_string(),
            status: Status::Failed,
            frames: None,
            dims: None,
            seconds: None,
            error: String::new(),
            key: job.key.clone(),
            output: OsString::new(),
            action: None,
            config: String::new(),
            id: None,
        };
        match result {
            FileResult::Extracted {
                frames,
                dims,
                seconds,
            } => {
                row.status = Status::Ok;
                row.frames = Some(*frames);
                row.dims = Some(*dims);
                row.seconds = Some(*seconds);
                row.output = output;
                row.action = Some(action);
                row.config = self.row_key.clone();
                row.id = id;
            }
            FileResult::Skipped => unreachable!("skipped rows come from decide"),
            FileResult::Failed(reason) => row.error = reason.clone(),
        }
        row
    }
}

/// The row of an input that never became a job.
fn bad_row(b: &BadInput) -> Row {
    Row {
        input: b.input.clone().into_os_string(),
        status: Status::Failed,
        frames: None,
        dims: None,
        seconds: None,
        error: b.reason.clone(),
        key: String::new(),
        output: OsString::new(),
        action: None,
        config: String::new(),
        id: None,
    }
}

/// Run the extraction. `on_file` is called once per input (from worker
/// threads, in completion order) with the input path and its result; the
/// caller prints failures and drives a progress bar with it.
///
/// # Errors
/// Run-level failures: output directory, archive or manifest not writable,
/// thread pool, a folder made by another configuration (without `force`).
/// Per-file failures are in the results.
pub fn run(
    cfg: &ExtractConfig,
    on_file: &(dyn Fn(&Path, &FileResult) + Sync),
) -> Result<Summary, ExtractError> {
    let start = Instant::now();
    let (jobs, mut bad) = inputs::collect_all(&cfg.inputs, &cfg.keyed);
    bad.extend(cfg.listed_bad.iter().cloned());
    // Each shard keeps its own keys; bad inputs go by their path's hash so
    // that exactly one shard reports each.
    let jobs: Vec<Job> = jobs
        .into_iter()
        .filter(|j| cfg.shard.owns(&j.key))
        .collect();
    bad.retain(|b| cfg.shard.owns(&escape_os(b.input.as_os_str())));
    fs::create_dir_all(&cfg.out_dir).map_err(io_err(&cfg.out_dir))?;
    let record = Record::of(cfg).map_err(ExtractError::Record)?;
    record::claim(&cfg.out_dir, &record, cfg.force)?;
    let names = Names::of(cfg);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(cfg.jobs)
        .build()
        .map_err(|e| ExtractError::Pool {
            jobs: cfg.jobs,
            reason: e.to_string(),
        })?;
    let previous = if cfg.force {
        HashMap::new()
    } else {
        previous_rows(&names)
    };
    if cfg.force {
        // Nothing may point at outputs while they are rewritten.
        for p in [&names.scp, &names.manifest, &names.journal] {
            match fs::remove_file(p) {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(p)(e)),
                _ => {}
            }
        }
    }
    let ctx = Ctx {
        cfg,
        cache: FrontendCache {
            plan: &cfg.frontend,
            built: RwLock::new(HashMap::new()),
        },
        previous,
        row_key: record.row_key().to_string(),
        journal: Journal::open(&names.journal)?,
        on_file,
    };
    let mut outcomes: Vec<Outcome> = Vec::with_capacity(jobs.len() + bad.len());
    for b in bad {
        let result = FileResult::Failed(b.reason.clone());
        on_file(&b.input, &result);
        outcomes.push(Outcome {
            row: bad_row(&b),
            result,
        });
    }
    let done = match cfg.format {
        OutputFormat::Npy => run_npy(&ctx, &names, &jobs, &pool)?,
        OutputFormat::Ark => run_ark(&ctx, &names, &jobs, &pool)?,
    };
    outcomes.extend(done);
    ctx.journal.flush()?;
    let rows: Vec<Row> = outcomes.iter().map(|o| o.row.clone()).collect();
    let text = manifest::render(&rows);
    write_atomic(&names.manifest, text.len(), |w| {
        w.write_all(text.as_bytes())
    })
    .map_err(io_err(&names.manifest))?;
    drop(ctx);
    fs::remove_file(&names.journal).map_err(io_err(&names.journal))?;
    let mut summary = Summary {
        total: outcomes.len(),
        extracted: 0,
        skipped: 0,
        recomputed: 0,
        failed: 0,
        audio_seconds: 0.0,
        wall_seconds: 0.0,
    };
    for o in &outcomes {
        match &o.result {
            FileResult::Extracted { seconds, .. } => {
                summary.extracted += 1;
                summary.audio_seconds += seconds;
                if matches!(
                    o.row.action,
                    Some(Action::InputChanged | Action::OutputMissing | Action::Unrecorded)
                ) {
                    summary.recomputed += 1;
                }
            }
            FileResult::Skipped => summary.skipped += 1,
            FileResult::Failed(_) => summary.failed += 1,
        }
    }
    summary.wall_seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}

/// Files under `out_dir` (relative paths), listed with one directory walk;
/// temporary files a killed run of this shard left (targets in `own`) are
/// removed on the way. Other shards' temporaries are left alone, whatever
/// their process id says: shards may run on other machines sharing the
/// folder, where a process id means nothing here.
fn existing_outputs(out_dir: &Path, own: &HashSet<&Path>) -> HashSet<PathBuf> {
    let mut found = HashSet::new();
    for e in walkdir::WalkDir::new(out_dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        if !e.file_type().is_file() {
            continue;
        }
        let Ok(rel) = e.path().strip_prefix(out_dir) else {
            continue;
        };
        if let Some(target) = temp_target(&os_bytes(e.file_name())) {
            let target = rel.with_file_name(os_from_bytes(target));
            if own.contains(target.as_path()) {
                let _ = fs::remove_file(e.path());
            }
            continue;
        }
        found.insert(rel.to_path_buf());
    }
    found
}

fn run_npy(
    ctx: &Ctx<'_>,
    names: &Names,
    jobs: &[Job],
    pool: &rayon::ThreadPool,
) -> Result<Vec<Outcome>, ExtractError> {
    let cfg = ctx.cfg;
    // Create the mirrored folders once, up front, instead of per file.
    let folders: BTreeSet<PathBuf> = jobs
        .iter()
        .filter_map(|j| cfg.out_dir.join(&j.rel_out).parent().map(Path::to_path_buf))
        .collect();
    for f in &folders {
        fs::create_dir_all(f).map_err(io_err(f))?;
    }
    let mut own: HashSet<&Path> = jobs.iter().map(|j| j.rel_out.as_path()).collect();
    for p in [&names.manifest, &names.journal] {
        if let Some(n) = p.file_name() {
            own.insert(Path::new(n));
        }
    }
    let existing = existing_outputs(&cfg.out_dir, &own);
    let one = |job: &Job| -> Result<Outcome, ExtractError> {
        let out = cfg.out_dir.join(&job.rel_out);
        let output = job.rel_out.clone().into_os_string();
        let present = existing.contains(&job.rel_out);
        let output_ok = |row: &Row| match (row.frames, row.dims) {
            (Some(r), Some(c)) => {
                present
                    && fs::metadata(&out)
                        .is_ok_and(|m| m.len() == (npy::header_f32(r, c).len() + 4 * r * c) as u64)
            }
            _ => false,
        };
        let (result, row) = match ctx.decide(job, &output, present, output_ok) {
            Decision::Skip(row) => (FileResult::Skipped, row),
            Decision::Compute(action) => {
                let id = identify(&job.input, true).ok();
                let result = match compute(job, cfg, &ctx.cache) {
                    Ok((features, seconds)) => match write_npy_atomic(&out, features.view()) {
                        Ok(()) => FileResult::Extracted {
                            frames: features.nrows(),
                            dims: features.ncols(),
                            seconds,
                        },
                        Err(e) => {
                            FileResult::Failed(format!("cannot write {}: {e}", out.display()))
                        }
                    },
                    Err(reason) => FileResult::Failed(reason),
                };
                let row = ctx.row(job, output, action, &result, id);
                if row.status == Status::Ok {
                    ctx.journal.push(&[&row])?;
                }
                (result, row)
            }
        };
        (ctx.on_file)(&job.input, &result);
        Ok(Outcome { result, row })
    };
    pool.install(|| jobs.par_iter().map(one).collect())
}

/// Whether the archive holds an entry for `key` of shape `(rows, cols)` at
/// `offset` (the binary marker), complete up to its last byte.
fn ark_entry_ok(
    ark: &File,
    ark_len: u64,
    key: &str,
    offset: u64,
    rows: usize,
    cols: usize,
) -> bool {
    let start = offset.checked_sub(key.len() as u64 + 1);
    let Some(start) = start else {
        return false;
    };
    if start + ark::entry_len(key, rows, cols) > ark_len {
        return false;
    }
    let mut head = vec![0u8; key.len() + 1 + 15];
    if read_at(ark, &mut head, start).is_err() {
        return false;
    }
    let mut want = Vec::with_capacity(head.len());
    want.extend_from_slice(key.as_bytes());
    want.push(b' ');
    want.extend_from_slice(b"\0BFM \x04");
    want.extend_from_slice(&(rows as i32).to_le_bytes());
    want.push(4);
    want.extend_from_slice(&(cols as i32).to_le_bytes());
    head == want
}

fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.read_exact_at(buf, offset)
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut f = file.try_clone()?;
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
}

/// `ARK_FILE:OFFSET` of a row, as the offset.
fn row_offset(row: &Row, ark_file: &str) -> Option<u64> {
    let text = row.output.to_str()?;
    let (name, offset) = text.rsplit_once(':')?;
    (name == ark_file).then(|| offset.parse().ok())?
}

fn run_ark(
    ctx: &Ctx<'_>,
    names: &Names,
    jobs: &[Job],
    pool: &rayon::ThreadPool,
) -> Result<Vec<Outcome>, ExtractError> {
    let cfg = ctx.cfg;
    let mut own: HashSet<&Path> = HashSet::new();
    for p in [&names.manifest, &names.journal, &names.ark, &names.scp] {
        if let Some(n) = p.file_name() {
            own.insert(Path::new(n));
        }
    }
    existing_outputs(&cfg.out_dir, &own);
    let ark_abs = fs::canonicalize(&cfg.out_dir)
        .map_err(io_err(&cfg.out_dir))?
        .join(&names.ark_file);
    let ark_text = escape(&os_bytes(ark_abs.as_os_str()));
    let ark_path = &names.ark;
    let file = if cfg.force {
        File::create(ark_path)
    } else {
        fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(ark_path)
    }
    .map_err(io_err(ark_path))?;
    let mut offset = file.metadata().map_err(io_err(ark_path))?.len();
    let reader = File::open(ark_path).map_err(io_err(ark_path))?;
    let ark_len = offset;
    let output_ok = |row: &Row| match (row_offset(row, &names.ark_file), row.frames, row.dims) {
        (Some(o), Some(r), Some(c)) => ark_entry_ok(&reader, ark_len, &row.key, o, r, c),
        _ => false,
    };
    let mut w = BufWriter::with_capacity(1 << 16, file);
    let mut outcomes = Vec::with_capacity(jobs.len());
    for block in jobs.chunks(ARK_BLOCK) {
        let computed: Vec<(Decision, Option<Computed>, Option<InputId>)> = pool.install(|| {
            block
                .par_iter()
                .map(|job| {
                    let no_output = OsString::new();
                    match ctx.decide(job, &no_output, false, output_ok) {
                        d @ Decision::Skip(_) => (d, None, None),
                        d @ Decision::Compute(_) => {
                            let id = identify(&job.input, true).ok();
                            (d, Some(compute(job, cfg, &ctx.cache)), id)
                        }
                    }
                })
                .collect()
        });
        let first = outcomes.len();
        for (job, (decision, c, id)) in block.iter().zip(computed) {
            let (result, row) = match (decision, c) {
                (Decision::Skip(row), _) => (FileResult::Skipped, row),
                (Decision::Compute(action), Some(Ok((features, seconds)))) => {
                    let marker = ark::write_entry(&mut w, offset, &job.key, features.view())
                        .map_err(io_err(ark_path))?;
                    offset += ark::entry_len(&job.key, features.nrows(), features.ncols());
                    let result = FileResult::Extracted {
                        frames: features.nrows(),
                        dims: features.ncols(),
                        seconds,
                    };
                    let output = OsString::from(format!("{}:{marker}", names.ark_file));
                    let row = ctx.row(job, output, action, &result, id);
                    (result, row)
                }
                (Decision::Compute(action), c) => {
                    let reason = match c {
                        Some(Err(reason)) => reason,
                        _ => "not computed".to_string(),
                    };
                    let result = FileResult::Failed(reason);
                    let row = ctx.row(job, OsString::new(), action, &result, None);
                    (result, row)
                }
            };
            (ctx.on_file)(&job.input, &result);
            outcomes.push(Outcome { result, row });
        }
        // The block's entries reach the file before their rows are journalled.
        w.flush().map_err(io_err(ark_path))?;
        let written: Vec<&Row> = outcomes[first..]
            .iter()
            .filter(|o| o.row.status == Status::Ok)
            .map(|o| &o.row)
            .collect();
        ctx.journal.push(&written)?;
    }
    w.into_inner()
        .map_err(|e| e.into_error())
        .and_then(|f| f.sync_all())
        .map_err(io_err(ark_path))?;
    let mut scp_lines: Vec<String> = outcomes
        .iter()
        .filter(|o| o.row.status != Status::Failed)
        .filter_map(|o| {
            row_offset(&o.row, &names.ark_file).map(|off| ark::scp_line(&o.row.key, &ark_text, off))
        })
        .collect();
    scp_lines.sort();
    let scp_path = &names.scp;
    write_atomic(scp_path, 1 << 16, |w| {
        scp_lines.iter().try_for_each(|l| w.write_all(l.as_bytes()))
    })
    .map_err(io_err(scp_path))?;
    Ok(outcomes)
}

#[cfg(test)]
#[path = "driver_tests.rs"]
mod tests;
