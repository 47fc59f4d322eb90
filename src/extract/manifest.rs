//! `manifest.tsv`: one row per input of a run, and the record a rerun
//! trusts. Columns, tab-separated, after one header line:
//!
//! | column | holds |
//! | --- | --- |
//! | `input` | the audio file as given or found |
//! | `status` | `ok` (written by this run), `skipped` (proved up to date), `failed` |
//! | `frames`, `dims` | the feature matrix's shape (empty when failed) |
//! | `seconds` | audio duration, 3 decimals |
//! | `error` | why a failed row failed, empty otherwise |
//! | `key` | the utterance key (ark key, dither seed, shard hash) |
//! | `output` | `.npy` path relative to the folder, or `ARK:OFFSET` in ark mode |
//! | `action` | why: `new`, `forced`, `input changed`, `output missing`, `unrecorded output`, `unchanged`, `unchanged content` |
//! | `config` | the first 16 hex digits of the configuration fingerprint that made the output |
//! | `size`, `mtime_ns`, `blake3` | the input's identity when its output was made (hash empty for inputs over [`super::HASH_LIMIT`] bytes) |
//!
//! Every text field is escaped as [`super::names`] documents (tabs,
//! newlines, backslashes and non-UTF-8 bytes), so paths round-trip exactly.
//! The first six columns are those of earlier versions.
//!
//! While a run is going, rows of finished outputs are appended in batches
//! to `<manifest>.journal` (same row format, no header); the manifest is
//! written (temporary name, rename) at the end and the journal removed. A
//! rerun after an interruption reads both, so work a killed run finished
//! is not redone.

use super::names::{escape, escape_os, unescape, unescape_os};
use std::collections::HashMap;
use std::ffi::OsString;
use std::fmt::Write as _;

/// The header line.
pub const HEADER: &str = "input\tstatus\tframes\tdims\tseconds\terror\tkey\toutput\taction\tconfig\tsize\tmtime_ns\tblake3";

const COLUMNS: usize = 13;

/// What happened to one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Features written by this run.
    Ok,
    /// Output proved up to date; not recomputed.
    Skipped,
    /// Bad input or a write error; no output.
    Failed,
}

impl Status {
    /// The manifest's word.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skipped => "skipped",
            Status::Failed => "failed",
        }
    }

    fn parse(s: &str) -> Option<Status> {
        match s {
            "ok" => Some(Status::Ok),
            "skipped" => Some(Status::Skipped),
            "failed" => Some(Status::Failed),
            _ => None,
        }
    }
}

/// Why an output was written or skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// No earlier output or record.
    New,
    /// `--force`.
    Forced,
    /// The record's input size, time or content differ from the file's.
    InputChanged,
    /// A record matched but its output is gone or has the wrong size.
    OutputMissing,
    /// An output file was present without a record this configuration
    /// made (an interrupted run, an older version, another configuration).
    Unrecorded,
    /// Skipped: input size and modification time as recorded.
    Unchanged,
    /// Skipped: the modification time moved but the content hash matches.
    UnchangedContent,
}

impl Action {
    /// The manifest's words.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::New => "new",
            Action::Forced => "forced",
            Action::InputChanged => "input changed",
            Action::OutputMissing => "output missing",
            Action::Unrecorded => "unrecorded output",
            Action::Unchanged => "unchanged",
            Action::UnchangedContent => "unchanged content",
        }
    }

    fn parse(s: &str) -> Option<Action> {
        [
            Action::New,
            Action::Forced,
            Action::InputChanged,
            Action::OutputMissing,
            Action::Unrecorded,
            Action::Unchanged,
            Action::UnchangedContent,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// An input file's identity when its output was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputId {
    /// Bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub mtime_ns: i128,
    /// BLAKE3 of the contents, for files up to [`super::HASH_LIMIT`] bytes.
    pub blake3: Option<[u8; 32]>,
}

/// One manifest row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Input path (bytes kept).
    pub input: OsString,
    /// Outcome.
    pub status: Status,
    /// Feature rows, when known.
    pub frames: Option<usize>,
    /// Feature columns, when known.
    pub dims: Option<usize>,
    /// Audio duration in seconds, when known.
    pub seconds: Option<f64>,
    /// Error message for failed rows, empty otherwise.
    pub error: String,
    /// Utterance key (already a Kaldi key, see [`super::names::escape_key`]).
    pub key: String,
    /// Output relative to the folder (`.npy` path, or `ARK:OFFSET`).
    pub output: OsString,
    /// Why (absent for failed rows).
    pub action: Option<Action>,
    /// Configuration fingerprint prefix (absent for failed rows).
    pub config: String,
    /// Input identity (absent for failed rows).
    pub id: Option<InputId>,
}

fn opt<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn from_hex(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// One row as a line (with its newline).
pub fn render_row(r: &Row, out: &mut String) {
    let _ = writeln!(
        out,
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        escape_os(&r.input),
        r.status.as_str(),
        opt(r.frames),
        opt(r.dims),
        opt(r.seconds.map(|s| format!("{s:.3}"))),
        escape(r.error.as_bytes()),
        r.key,
        escape_os(&r.output),
        r.action.map(Action::as_str).unwrap_or_default(),
        r.config,
        opt(r.id.map(|i| i.size)),
        opt(r.id.map(|i| i.mtime_ns)),
        r.id.and_then(|i| i.blake3)
            .map(|h| hex(&h))
            .unwrap_or_default(),
    );
}

/// The whole file: header, then rows sorted by input path.
pub fn render(rows: &[Row]) -> String {
    let mut sorted: Vec<&Row> = rows.iter().collect();
    sorted.sort_by(|a, b| a.input.cmp(&b.input).then_with(|| a.key.cmp(&b.key)));
    let mut out = String::with_capacity(96 * (rows.len() + 1));
    out.push_str(HEADER);
    out.push('\n');
    for r in sorted {
        render_row(r, &mut out);
    }
    out
}

/// One line back into a row; `None` when it is not one [`render_row`]
/// wrote (a torn last journal line, an older manifest's six columns).
pub fn parse_row(line: &str) -> Option<Row> {
    let f: Vec<&str> = line.split('\t').collect();
    if f.len() != COLUMNS {
        return None;
    }
    let status = Status::parse(f[1])?;
    let num = |s: &str| -> Option<Option<usize>> {
        if s.is_empty() {
            Some(None)
        } else {
            s.parse().ok().map(Some)
        }
    };
    let id = if f[10].is_empty() {
        None
    } else {
        Some(InputId {
            size: f[10].parse().ok()?,
            mtime_ns: f[11].parse().ok()?,
            blake3: if f[12].is_empty() {
                None
            } else {
                Some(from_hex(f[12])?)
            },
        })
    };
    Some(Row {
        input: unescape_os(f[0])?,
        status,
        frames: num(f[2])?,
        dims: num(f[3])?,
        seconds: if f[4].is_empty() {
            None
        } else {
            Some(f[4].parse().ok()?)
        },
        error: String::from_utf8_lossy(&unescape(f[5])?).into_owned(),
        key: f[6].to_string(),
        output: unescape_os(f[7])?,
        action: if f[8].is_empty() {
            None
        } else {
            Some(Action::parse(f[8])?)
        },
        config: f[9].to_string(),
        id,
    })
}

/// Rows of a manifest (its header skipped) or a journal (no header), in
/// file order; lines that do not parse are ignored.
pub fn parse(text: &str) -> Vec<Row> {
    text.lines()
        .filter(|l| *l != HEADER)
        .filter_map(parse_row)
        .collect()
}

/// The last row of each key among `rows` (later rows win).
pub fn by_key(rows: Vec<Row>) -> HashMap<String, Row> {
    let mut map = HashMap::with_capacity(rows.len());
    for r in rows {
        map.insert(r.key.clone(), r);
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(input: &[u8], status: Status) -> Row {
        Row {
            input: super::super::names::os_from_bytes(input.to_vec()),
            status,
            frames: Some(98),
            dims: Some(13),
            seconds: Some(1.0),
            error: String::new(),
            key: "k".into(),
            output: "k.npy".into(),
            action: Some(Action::New),
            config: "0123456789abcdef".into(),
            id: Some(InputId {
                size: 32_044,
                mtime_ns: -5,
                blake3: Some([7; 32]),
            }),
        }
    }

    #[test]
    fn render_sorts_escapes_and_parses_back() {
        let mut failed = row(b"b\tc\xff.wav", Status::Failed);
        failed.error = "bad\theader\nreally".into();
        failed.frames = None;
        failed.action = None;
        failed.id = None;
        failed.config = String::new();
        let mut ok = row(b"a.wav", Status::Ok);
        ok.id.as_mut().unwrap().blake3 = None;
        let rows = vec![failed.clone(), ok.clone()];
        let text = render(&rows);
        assert_eq!(
            text,
            format!(
                "{HEADER}\n\
                 a.wav\tok\t98\t13\t1.000\t\tk\tk.npy\tnew\t0123456789abcdef\t32044\t-5\t\n\
                 b\\tc\\xff.wav\tfailed\t\t13\t1.000\tbad\\theader\\nreally\tk\tk.npy\t\t\t\t\t\n"
            )
        );
        assert_eq!(parse(&text), vec![ok, failed]);
        let full = row(b"x.wav", Status::Skipped);
        let mut line = String::new();
        render_row(&full, &mut line);
        assert_eq!(parse_row(line.trim_end()), Some(full));
        // A torn line (as an interrupted journal append may leave) is ignored.
        assert_eq!(parse(&line[..line.len() - 9]), vec![]);
        assert_eq!(
            parse("a.wav\tok\t98\t13\t1.000\t"),
            vec![],
            "old six columns"
        );
    }
}
