//! `speechfront merge OUT`: join the shard files of a sharded run into
//! `manifest.tsv` (and `feats.scp` in ark mode), and check the run is whole.
//!
//! Checks, each reported by name: every shard `0..N` has its manifest; no
//! shard left a journal (it was interrupted: rerun it); manifests of only
//! one shard count are present; no key appears twice; every written row was
//! made by the folder's configuration (`extract.json`); no row failed; and,
//! when the run's inputs are given again, every input is listed exactly
//! once. The joined files are written (temporary name, rename) only when
//! every shard is there and no key is duplicated; failed rows are kept in
//! the joined manifest, as in an unsharded run.

use super::driver::{write_atomic, ExtractError};
use super::inputs::{self, KeyedInput};
use super::manifest::{self, Row, Status};
use super::record::Record;
use super::shard::Shard;
use super::{MANIFEST_NAME, SCP_NAME};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What `merge` found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MergeReport {
    /// Shard count of the manifests found (1 for an unsharded folder).
    pub shards: u32,
    /// Rows joined.
    pub rows: usize,
    /// Shards without a manifest.
    pub missing_shards: Vec<u32>,
    /// Shards that left a journal (interrupted).
    pub interrupted_shards: Vec<u32>,
    /// Other shard counts whose manifests are also present (stale layouts).
    pub other_layouts: Vec<u32>,
    /// Keys listed more than once.
    pub duplicate_keys: Vec<String>,
    /// Written rows whose configuration is not the folder's.
    pub stale_rows: Vec<PathBuf>,
    /// Failed rows: input and error.
    pub failed: Vec<(PathBuf, String)>,
    /// Inputs of the run not in any manifest (only when inputs were given).
    pub missing_inputs: Vec<PathBuf>,
    /// Whether the joined files were written.
    pub written: bool,
}

impl MergeReport {
    /// Nothing missing, duplicated, stale or failed.
    pub fn complete(&self) -> bool {
        self.missing_shards.is_empty()
            && self.interrupted_shards.is_empty()
            && self.other_layouts.is_empty()
            && self.duplicate_keys.is_empty()
            && self.stale_rows.is_empty()
            && self.failed.is_empty()
            && self.missing_inputs.is_empty()
    }
}

/// Merge the shard files in `dir`. `inputs`/`keyed` are the run's inputs
/// (as given to `extract`), or empty to skip the per-input check.
///
/// # Errors
/// No manifest at all in `dir`; a file that cannot be read or written.
pub fn merge(
    dir: &Path,
    inputs: &[PathBuf],
    keyed: &[KeyedInput],
) -> Result<MergeReport, ExtractError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ExtractError::Io { path, source }
    };
    let mut layouts: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for e in fs::read_dir(dir).map_err(io(dir))? {
        let e = e.map_err(io(dir))?;
        if let Some(s) = e
            .file_name()
            .to_str()
            .and_then(|n| Shard::from_file_name(n, "manifest", "tsv"))
        {
            layouts.entry(s.count).or_default().insert(s.index);
        }
    }
    let mut report = MergeReport::default();
    // The layout with the most manifests is the run's; others are stale.
    let count = match layouts.iter().max_by_key(|(n, got)| (got.len(), **n)) {
        Some((&n, _)) => n,
        None if dir.join(MANIFEST_NAME).is_file() => 1,
        None => {
            return Err(ExtractError::Io {
                path: dir.join(MANIFEST_NAME),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no manifest.tsv nor shard manifests (manifest.I-of-N.tsv) here",
                ),
            })
        }
    };
    report.shards = count;
    report.other_layouts = layouts.keys().copied().filter(|&n| n != count).collect();
    let shards: Vec<Shard> = (0..count).map(|index| Shard { index, count }).collect();
    let row_key = Record::load(dir).map(|r| r.row_key().to_string());
    let mut rows: Vec<Row> = Vec::new();
    let mut scp: Vec<String> = Vec::new();
    for s in &shards {
        let m = dir.join(s.file_name("manifest", "tsv"));
        if dir
            .join(format!("{}.journal", s.file_name("manifest", "tsv")))
            .exists()
        {
            report.interrupted_shards.push(s.index);
        }
        match fs::read_to_string(&m) {
            Ok(text) => rows.extend(manifest::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                report.missing_shards.push(s.index);
                continue;
            }
            Err(e) => return Err(io(&m)(e)),
        }
        let scp_path = dir.join(s.file_name("feats", "scp"));
        if let Ok(text) = fs::read_to_string(&scp_path) {
            scp.extend(text.lines().map(|l| format!("{l}\n")));
        }
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for r in &rows {
        if !r.key.is_empty() {
            *seen.entry(r.key.as_str()).or_default() += 1;
        }
        let input = PathBuf::from(&r.input);
        match r.status {
            Status::Failed => report.failed.push((input, r.error.clone())),
            _ if row_key.as_deref() != Some(r.config.as_str()) => report.stale_rows.push(input),
            _ => {}
        }
    }
    report.duplicate_keys = seen
        .iter()
        .filter(|(_, &n)| n > 1)
        .map(|(k, _)| k.to_string())
        .collect();
    report.duplicate_keys.sort();
    if !inputs.is_empty() || !keyed.is_empty() {
        let (jobs, bad) = inputs::collect_all(inputs, keyed);
        let listed: BTreeSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        let failed_inputs: BTreeSet<PathBuf> =
            rows.iter().map(|r| PathBuf::from(&r.input)).collect();
        for j in &jobs {
            if !listed.contains(j.key.as_str()) {
                report.missing_inputs.push(j.input.clone());
            }
        }
        for b in &bad {
            if !failed_inputs.contains(&b.input) {
                report.missing_inputs.push(b.input.clone());
            }
        }
    }
    report.rows = rows.len();
    if count > 1 && report.missing_shards.is_empty() && report.duplicate_keys.is_empty() {
        let text = manifest::render(&rows);
        let path = dir.join(MANIFEST_NAME);
        write_atomic(&path, text.len(), |w| w.write_all(text.as_bytes())).map_err(io(&path))?;
        if !scp.is_empty() {
            scp.sort();
            let path = dir.join(SCP_NAME);
            write_atomic(&path, 1 << 16, |w| {
                scp.iter().try_for_each(|l| w.write_all(l.as_bytes()))
            })
            .map_err(io(&path))?;
        }
        report.written = true;
    }
    Ok(report)
}
