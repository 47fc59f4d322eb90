//! Reports: Markdown, JSON and a self-contained HTML page with SVG plots.
//!
//! The `compare` command starts from [`provenance::new_report`] (title,
//! command line, time, crate version and machine filled in), adds the data
//! summary, split and raw per-run results (see [`model`]), and
//! [`write_all`] renders it three ways into a folder:
//!
//! - `report.html`: one page, inline CSS and inline SVG drawn by hand
//!   ([`svg`], [`plot`], [`charts`]), no script and nothing fetched from the network,
//!   so it opens anywhere, offline, years later;
//! - `report.md`: the same tables in Markdown;
//! - `report.json`: the model itself plus the summary numbers, which parses
//!   back into the same [`Report`] ([`json::from_json_str`]).
//!
//! Design decisions:
//! - Aggregates (mean ± std over seeds, per-speaker tables) are computed in
//!   one place ([`summary`]) and formatted in one place ([`mod@format`]), so the
//!   three outputs cannot disagree. NaN prints as "n/a".
//! - SVG is written by hand rather than with a plotting crate: the charts
//!   are simple, the output must be self-contained, and plotters' text
//!   rendering needs fonts at build time (see the crate notes).
//! - Renderers never panic on odd input: empty sections are omitted, ragged
//!   matrices are drawn as far as they go.
//! - Each file is written to a temporary name and renamed, so an interrupted
//!   run never leaves a half-written report.
//!
//! ```no_run
//! use speechfront::report::{synthetic::synthetic_report, write_all};
//! let report = synthetic_report(7);
//! let paths = write_all(std::path::Path::new("reports/demo"), &report).unwrap();
//! println!("{}", paths.html.display());
//! ```

pub mod charts;
pub mod colour;
pub mod figures;
pub mod format;
pub mod html;
pub mod json;
pub mod markdown;
pub mod model;
mod nan_serde;
pub mod plot;
pub mod png;
pub mod provenance;
pub mod scale;
pub mod summary;
pub mod svg;
pub mod synthetic;
pub mod twins;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use model::{
    AblationRow, ConfigResult, DataSummary, DeepVsFatRow, EpochRecord, ExampleFeatures,
    FeatureScaling, HeldOutResult, LearnedStage, Machine, Report, RunResult, SkippedFile,
    StageData, TestPosteriors, Throughput, TwinRow,
};

/// Errors while writing or reading a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file or folder could not be created, written or renamed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// JSON could not be produced or parsed.
    #[error("report JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The files written by [`write_all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenPaths {
    /// `report.html`.
    pub html: PathBuf,
    /// `report.md`.
    pub markdown: PathBuf,
    /// `report.json`.
    pub json: PathBuf,
}

/// Renders `report` as `dir/report.html`, `dir/report.md` and
/// `dir/report.json`, creating `dir` if needed.
///
/// # Errors
/// [`ReportError::Io`] naming the path when the folder or a file cannot be
/// written; [`ReportError::Json`] if serialization fails.
pub fn write_all(dir: &Path, report: &Report) -> Result<WrittenPaths, ReportError> {
    fs::create_dir_all(dir).map_err(|source| ReportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let paths = WrittenPaths {
        html: dir.join("report.html"),
        markdown: dir.join("report.md"),
        json: dir.join("report.json"),
    };
    write_atomic(&paths.json, json::to_json_string(report)?.as_bytes())?;
    write_atomic(&paths.markdown, markdown::render(report).as_bytes())?;
    write_atomic(&paths.html, html::render(report).as_bytes())?;
    for p in [&paths.json, &paths.markdown, &paths.html] {
        remove_stale_temporaries(p);
    }
    Ok(paths)
}

/// Removes the temporaries of `path` (see [`write_atomic`]) that a killed
/// process left behind: those whose process id is not a running process.
/// A temporary of a writer that is still running is left alone. Best
/// effort: a failure here never fails the write that succeeded.
pub fn remove_stale_temporaries(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let prefix = format!(".{}.tmp-", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(|f| f.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !process_alive(pid) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// True when a process with id `pid` exists (or when that cannot be told).
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        // SAFETY: signal 0 only checks that the process exists; nothing is
        // sent.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Writes `bytes` to a temporary file next to `path`, syncs it and renames
/// it over `path`, so readers see either the old file or the whole new one.
///
/// # Errors
/// [`ReportError::Io`] naming the temporary or final path.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| ReportError::Io { path: p, source }
    };
    let mut file = fs::File::create(&tmp).map_err(io(&tmp))?;
    file.write_all(bytes).map_err(io(&tmp))?;
    file.sync_all().map_err(io(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|source| {
        // Best effort: do not leave the temporary behind; the rename error is
        // the one worth reporting.
        let _ = fs::remove_file(&tmp);
        ReportError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_all_writes_three_files_and_no_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("nested/out");
        let paths = write_all(&out, &Report::default()).unwrap();
        for p in [&paths.html, &paths.markdown, &paths.json] {
            assert!(fs::metadata(p).unwrap().len() > 0, "{} empty", p.display());
        }
        let names: Vec<String> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 3, "{names:?}");
        assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    }

    #[cfg(unix)]
    #[test]
    fn temporaries_of_dead_processes_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        // A process id above the kernel's largest (2^22) never runs.
        let dead = dir.path().join(".report.json.tmp-4194999");
        // The parent (whoever started the tests) is running; this process's
        // own temporary name is the one write_all itself renames.
        let live = dir.path().join(format!(
            ".report.json.tmp-{}",
            std::os::unix::process::parent_id()
        ));
        let other = dir.path().join(".notes.txt.tmp-4194999");
        for p in [&dead, &live, &other] {
            fs::write(p, "partial").unwrap();
        }
        write_all(dir.path(), &Report::default()).unwrap();
        assert!(!dead.exists() && live.exists() && other.exists());
    }

    #[test]
    fn write_atomic_replaces_and_names_the_path_on_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "two");
        let bad = dir.path().join("missing-dir/b.txt");
        let err = write_atomic(&bad, b"x").unwrap_err();
        assert!(err.to_string().contains("missing-dir"), "{err}");
    }

    #[test]
    fn write_all_fails_cleanly_when_dir_is_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        fs::write(&file, "x").unwrap();
        let err = write_all(&file, &Report::default()).unwrap_err();
        assert!(matches!(err, ReportError::Io { .. }), "{err}");
    }
}
